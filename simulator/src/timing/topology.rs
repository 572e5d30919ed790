//! The compact, index-based picture of a system that the timing engine runs on.
//!
//! Only what timing needs: how many nodes, which VUs carry an affected software package
//! and on which nodes their instances sit (CSR arrays), the payload size per affected
//! package, and the workstation count. A million nodes take a few megabytes here. It is
//! built from the simulator's system model, or generated from a few numbers
//! (`[timing.topology]`) for scale runs that have no model file.

use serde::Serialize;
use toml::{Table, Value};

use super::TimingError;
use super::config::{check_keys, invalid, opt_size, opt_str, opt_u32};

/// Largest node or workstation count: indices are packed into 27 bits of an event.
pub const MAX_ITEMS: u32 = (1 << 27) - 1;

/// An affected software package: its name and the bytes synchronized for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageInfo {
    pub name: String,
    pub payload_bytes: u64,
}

/// Nodes, affected VUs (CSR: VU → instance nodes, VU → affected packages), workstations.
///
/// ```
/// use hotfix_sim::timing::{PackageInfo, Topology};
/// // Two VUs on three nodes, one package of 1 MB.
/// let topo = Topology::new(
///     3,
///     vec![PackageInfo { name: "ChatServer".into(), payload_bytes: 1_000_000 }],
///     &[&[0, 1], &[1, 2]],
///     &[&[0], &[0]],
/// ).unwrap();
/// assert_eq!(topo.vu_count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topology {
    pub node_count: u32,
    /// Node names (empty: nodes are called `N<index>`).
    pub node_names: Vec<String>,
    /// Nodes the model marks unreachable (empty: all reachable).
    pub unreachable: Vec<u32>,
    /// The affected packages.
    pub packages: Vec<PackageInfo>,
    /// VU names (empty: VUs are called `VU<index>`).
    pub vu_names: Vec<String>,
    /// CSR offsets into `vu_nodes`, `vu_count() + 1` entries.
    pub vu_node_offsets: Vec<u32>,
    pub vu_nodes: Vec<u32>,
    /// CSR offsets into `vu_packages`, `vu_count() + 1` entries.
    pub vu_package_offsets: Vec<u32>,
    pub vu_packages: Vec<u32>,
    pub workstations: u32,
    /// Workstation names (empty: workstations are called `W<index>`).
    pub workstation_names: Vec<String>,
    /// MSI components in the hotfix (0: no workstation phase).
    pub msi_count: u32,
}

impl Topology {
    /// Builds a topology from per-VU node and package lists, and checks it.
    pub fn new(
        node_count: u32,
        packages: Vec<PackageInfo>,
        vu_nodes: &[&[u32]],
        vu_packages: &[&[u32]],
    ) -> Result<Self, TimingError> {
        if vu_nodes.len() != vu_packages.len() {
            return Err(TimingError::Topology(
                "every VU needs a node list and a package list".into(),
            ));
        }
        let mut t = Topology {
            node_count,
            packages,
            ..Topology::default()
        };
        t.vu_node_offsets.push(0);
        t.vu_package_offsets.push(0);
        for (nodes, pkgs) in vu_nodes.iter().zip(vu_packages) {
            t.vu_nodes.extend_from_slice(nodes);
            t.vu_node_offsets.push(t.vu_nodes.len() as u32);
            t.vu_packages.extend_from_slice(pkgs);
            t.vu_package_offsets.push(t.vu_packages.len() as u32);
        }
        t.validate()?;
        Ok(t)
    }

    /// Number of affected VUs.
    pub fn vu_count(&self) -> u32 {
        self.vu_node_offsets.len().saturating_sub(1) as u32
    }

    /// Instance nodes of VU `v`.
    pub fn nodes_of(&self, v: u32) -> &[u32] {
        let (a, b) = (
            self.vu_node_offsets[v as usize],
            self.vu_node_offsets[v as usize + 1],
        );
        &self.vu_nodes[a as usize..b as usize]
    }

    /// Affected packages of VU `v`.
    pub fn packages_of(&self, v: u32) -> &[u32] {
        let (a, b) = (
            self.vu_package_offsets[v as usize],
            self.vu_package_offsets[v as usize + 1],
        );
        &self.vu_packages[a as usize..b as usize]
    }

    /// Display name of workstation `w`.
    pub fn workstation_name(&self, w: u32) -> String {
        self.workstation_names
            .get(w as usize)
            .cloned()
            .unwrap_or_else(|| format!("W{w}"))
    }

    /// Display name of node `n`.
    pub fn node_name(&self, n: u32) -> String {
        self.node_names
            .get(n as usize)
            .cloned()
            .unwrap_or_else(|| format!("N{n}"))
    }

    /// Display name of VU `v`.
    pub fn vu_name(&self, v: u32) -> String {
        self.vu_names
            .get(v as usize)
            .cloned()
            .unwrap_or_else(|| format!("VU{v}"))
    }

    /// Index of the node called `name`.
    pub fn find_node(&self, name: &str) -> Option<u32> {
        if self.node_names.is_empty() {
            let i: u32 = name.strip_prefix('N')?.parse().ok()?;
            return (i < self.node_count).then_some(i);
        }
        self.node_names
            .iter()
            .position(|n| n == name)
            .map(|i| i as u32)
    }

    /// Checks indices and sizes; every problem is reported with the VU it concerns.
    pub fn validate(&self) -> Result<(), TimingError> {
        let err = |m: String| Err(TimingError::Topology(m));
        if self.node_count > MAX_ITEMS || self.workstations > MAX_ITEMS {
            return err(format!(
                "at most {MAX_ITEMS} nodes and {MAX_ITEMS} workstations"
            ));
        }
        let v = self.vu_count() as usize;
        if self.vu_package_offsets.len() != v + 1 || self.vu_node_offsets.is_empty() {
            return err("VU offset arrays disagree".into());
        }
        for w in [&self.vu_node_offsets, &self.vu_package_offsets] {
            if w[0] != 0 || w.windows(2).any(|p| p[0] > p[1]) {
                return err("CSR offsets must start at 0 and never decrease".into());
            }
        }
        if *self.vu_node_offsets.last().unwrap_or(&0) as usize != self.vu_nodes.len()
            || *self.vu_package_offsets.last().unwrap_or(&0) as usize != self.vu_packages.len()
        {
            return err("CSR offsets do not end at the array length".into());
        }
        for vu in 0..self.vu_count() {
            if let Some(&n) = self.nodes_of(vu).iter().find(|&&n| n >= self.node_count) {
                return err(format!(
                    "{} has an instance on node {n}, but there are {} nodes",
                    self.vu_name(vu),
                    self.node_count
                ));
            }
            if let Some(&p) = self
                .packages_of(vu)
                .iter()
                .find(|&&p| p as usize >= self.packages.len())
            {
                return err(format!(
                    "{} carries package {p}, but there are {} packages",
                    self.vu_name(vu),
                    self.packages.len()
                ));
            }
        }
        if let Some(&n) = self.unreachable.iter().find(|&&n| n >= self.node_count) {
            return err(format!("unreachable node {n} does not exist"));
        }
        if !self.node_names.is_empty() && self.node_names.len() != self.node_count as usize {
            return err("node_names must be empty or name every node".into());
        }
        Ok(())
    }

    /// Heap bytes held (for the memory-per-node figure).
    pub fn heap_bytes(&self) -> usize {
        4 * (self.unreachable.capacity()
            + self.vu_node_offsets.capacity()
            + self.vu_nodes.capacity()
            + self.vu_package_offsets.capacity()
            + self.vu_packages.capacity())
            + self
                .node_names
                .iter()
                .map(|s| s.capacity() + 24)
                .sum::<usize>()
            + self
                .vu_names
                .iter()
                .map(|s| s.capacity() + 24)
                .sum::<usize>()
    }
}

/// Parameters of a generated topology (`[timing.topology]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopologySpec {
    pub nodes: u32,
    pub vus: u32,
    pub instances: u32,
    pub packages: Vec<PackageInfo>,
    pub workstations: u32,
    pub msi: u32,
}

impl TopologySpec {
    pub(crate) fn from_table(t: &Table) -> Result<Self, TimingError> {
        const T: &str = "timing.topology";
        check_keys(
            t,
            T,
            &[
                "nodes",
                "vus",
                "instances",
                "packages",
                "workstations",
                "msi",
            ],
        )?;
        let nodes = opt_u32(t, T, "nodes")?.ok_or_else(|| invalid(T, "nodes", "missing"))?;
        let instances = opt_u32(t, T, "instances")?.unwrap_or(2);
        // By default every node hosts one instance.
        let vus = opt_u32(t, T, "vus")?.unwrap_or((nodes / instances.max(1)).max(1));
        let mut packages = Vec::new();
        match t.get("packages") {
            None => packages.push(PackageInfo {
                name: "Package".into(),
                payload_bytes: 20 << 20,
            }),
            Some(Value::Array(items)) => {
                const P: &str = "timing.topology.packages";
                for item in items {
                    let Value::Table(p) = item else {
                        return Err(invalid(
                            T,
                            "packages",
                            "expected [{ name = \"...\", size = \"20MiB\" }, ...]",
                        ));
                    };
                    check_keys(p, P, &["name", "size"])?;
                    let name = opt_str(p, P, "name")?
                        .ok_or_else(|| invalid(P, "name", "missing"))?
                        .to_owned();
                    let payload_bytes =
                        opt_size(p, P, "size")?.ok_or_else(|| invalid(P, "size", "missing"))?;
                    packages.push(PackageInfo {
                        name,
                        payload_bytes,
                    });
                }
            }
            Some(_) => return Err(invalid(T, "packages", "expected an array of tables")),
        }
        if packages.is_empty() {
            return Err(invalid(T, "packages", "needs at least one package"));
        }
        let spec = TopologySpec {
            nodes,
            vus,
            instances,
            packages,
            workstations: opt_u32(t, T, "workstations")?.unwrap_or(0),
            msi: opt_u32(t, T, "msi")?.unwrap_or(1),
        };
        if spec.nodes == 0 || spec.nodes > MAX_ITEMS {
            return Err(invalid(T, "nodes", format!("must be in 1..={MAX_ITEMS}")));
        }
        if spec.instances == 0 || spec.instances > spec.nodes {
            return Err(invalid(T, "instances", "must be in 1..=nodes"));
        }
        if u64::from(spec.vus) * u64::from(spec.instances) > u64::from(u32::MAX) {
            return Err(invalid(T, "vus", "vus × instances must stay below 2^32"));
        }
        Ok(spec)
    }

    /// The topology these parameters describe. No randomness: VU `v` carries package
    /// `v mod P` and has its instances on nodes `(v·K + j) mod N`, `j < K`, so instances
    /// of one VU are on distinct nodes and the nodes carry an even share.
    pub fn generate(&self) -> Topology {
        let n = self.nodes;
        let k = self.instances;
        let mut t = Topology {
            node_count: n,
            packages: self.packages.clone(),
            workstations: self.workstations,
            msi_count: self.msi,
            ..Topology::default()
        };
        t.vu_node_offsets.reserve(self.vus as usize + 1);
        t.vu_nodes.reserve(self.vus as usize * k as usize);
        t.vu_node_offsets.push(0);
        t.vu_package_offsets.push(0);
        let p = self.packages.len() as u64;
        for v in 0..u64::from(self.vus) {
            for j in 0..u64::from(k) {
                t.vu_nodes
                    .push(((v * u64::from(k) + j) % u64::from(n)) as u32);
            }
            t.vu_node_offsets.push(t.vu_nodes.len() as u32);
            t.vu_packages.push((v % p) as u32);
            t.vu_package_offsets.push(t.vu_packages.len() as u32);
        }
        t
    }
}
