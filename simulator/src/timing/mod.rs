//! Seeded discrete-event timing model of a hotfix rollout: transfers, applies, IA
//! operations, workstation MSI pushes, faults, retries and rollout strategies.
//!
//! The model runs on a compact [`Topology`] (nodes, affected VUs and their instance
//! nodes) following a [`Plan`] (the steps of the standard install or removal procedure)
//! with a [`TimingConfig`] (the `[timing]`, `[faults]` and `[rollout]` tables) and a seed.
//! Time is integer microseconds and every random draw is a pure function of the seed and
//! what it is for (see `rng`), so the same inputs give the same [`TimingResult`] byte for
//! byte, on any platform and whatever else runs in the process.
//!
//! It must never read the wall clock, use a global RNG or depend on hash order; the
//! engine's own figures (events, events/s, wall time, memory) are kept apart in
//! [`EngineStats`] and never enter the result.
//!
//! ```
//! use hotfix_sim::timing::{self, Plan, TimingConfig, TopologySpec, PackageInfo};
//! let topo = TopologySpec {
//!     nodes: 100, vus: 50, instances: 2,
//!     packages: vec![PackageInfo { name: "ChatServer".into(), payload_bytes: 1 << 20 }],
//!     workstations: 0, msi: 0,
//! }.generate();
//! let result = timing::simulate(&topo, &Plan::install(), &TimingConfig::default(), 7).unwrap();
//! assert_eq!(result.nodes.converged, 100);
//! ```

mod config;
mod engine;
mod from_model;
mod queue;
mod result;
mod rng;
mod scenario;
mod topology;
mod windows;

pub use config::{
    Activation, CanaryUnit, Dist, FaultConfig, IaLatencies, LogonModel, Micros, NodeRef, Outage,
    Procedure, Reaction, RolloutConfig, SECOND, SiteNodes, SiteSpec, Strategy, TimingConfig,
    WaveOrder, WorkstationTiming, parse_bandwidth, parse_duration, parse_size,
};
pub use result::{
    Convergence, Downtime, FailedItem, FailedList, MixedWindow, NodeCounts, Retries, Series,
    SiteResult, StepSpan, StopInfo, TimingResult, WorkstationCounts,
};
pub use scenario::{TimingScenario, digest, tables};
pub use topology::{MAX_ITEMS, PackageInfo, Topology, TopologySpec};
pub use windows::{OutsideWindow, WindowConfig, WindowResult};

use serde::Serialize;

/// Errors of the timing model: bad scenario values, bad topology, unreadable files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimingError {
    #[error("unknown key `{key}` in [{table}] (known keys: {allowed})")]
    UnknownKey {
        table: String,
        key: String,
        allowed: String,
    },
    #[error("[{table}] `{key}`: {message}")]
    InvalidValue {
        table: String,
        key: String,
        message: String,
    },
    #[error("topology: {0}")]
    Topology(String),
    #[error("plan: {0}")]
    Plan(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse {
        path: std::path::PathBuf,
        message: String,
    },
    /// A table error with the place in the scenario file it comes from.
    #[error("{path}:{line}:{column}: {source}")]
    At {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: Box<TimingError>,
    },
}

impl TimingError {
    /// Adds the file, line and column of the key an `UnknownKey` or `InvalidValue` error
    /// names, found in the scenario `text` (the key's line inside its table, or the
    /// table's header). Other errors, and keys not found, come back unchanged.
    pub fn located(self, path: &std::path::Path, text: &str) -> TimingError {
        let (table, key) = match &self {
            TimingError::UnknownKey { table, key, .. }
            | TimingError::InvalidValue { table, key, .. } => (table.clone(), key.clone()),
            _ => return self,
        };
        match locate(text, &table, &key) {
            Some((line, column)) => TimingError::At {
                path: path.to_owned(),
                line,
                column,
                source: Box::new(self),
            },
            None => self,
        }
    }
}

/// 1-based line and column of `key` in `[table]` of a TOML text: the first line after the
/// table's header (or after its parent's, for an inline or dotted table such as
/// `faults.unreachable`) that assigns `key`; else the header itself.
pub fn locate(text: &str, table: &str, key: &str) -> Option<(usize, usize)> {
    let headers = [table, table.split('.').next().unwrap_or(table)];
    for header in headers {
        let open = format!("[{header}]");
        let mut in_table = header == "scenario";
        let mut header_at = None;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with('[') {
                in_table = t.starts_with(&open);
                if in_table {
                    header_at = Some((i + 1, line.len() - t.len() + 1));
                }
                continue;
            }
            if !in_table {
                continue;
            }
            // `key = ...`, also inside an inline table on this line.
            for (at, _) in line.match_indices(key) {
                let before = line[..at].chars().last();
                let after = line[at + key.len()..].trim_start();
                let starts = before.is_none_or(|c| c == ' ' || c == '{' || c == ',' || c == '\t');
                if starts && after.starts_with('=') {
                    return Some((i + 1, at + 1));
                }
            }
        }
        if header_at.is_some() {
            return header_at;
        }
    }
    None
}

/// One step of a procedure as the timing model sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Step {
    /// IA: switch mode (Monitoring ↔ Deployment).
    SetMode,
    /// IA: inactivate every affected VU, one after the other.
    InactivateVus,
    /// IA: add the hotfix to the base installation.
    AddToBase,
    /// IA: remove the hotfix from the base installation.
    RemoveFromBase,
    /// IA: refresh all nodes.
    RefreshAllNodes,
    /// IA: add (install) or delete (removal) the hotfix on every (VU, package) pair.
    ChangePackages,
    /// Synchronize instances and apply changes on every affected node, in waves chosen by
    /// the rollout strategy.
    Rollout,
    /// IA: activate every VU still inactive.
    ActivateVus,
    /// IA: save the system model.
    SaveModel,
    /// Remove the old MSI and install the new one on every workstation.
    Workstations,
    // One step of a runbook as given (see `crate::simulation`): each takes the time of
    // what it does, in the runbook's order.
    /// One IA action.
    Ia(IaOp),
    /// Synchronize Instances: file transfers to the nodes of `Plan::node_lists[i]`.
    Synchronize(u32),
    /// Apply on the nodes of `Plan::node_lists[list]` that hold synchronized files: all
    /// hosts at once (in the waves of the rollout strategy) or one node.
    Apply { list: u32, all_hosts: bool },
    /// Remove the old MSI on the workstations of `Plan::ws_lists[i]`.
    WsRemove(u32),
    /// Install the new MSI on the workstations of `Plan::ws_lists[i]`.
    WsInstall(u32),
    /// A step that takes no simulated time (refused by the IA, or extracting files).
    Idle,
    /// The operator waits this long (an operator check between waves); the IA is busy.
    Wait(Micros),
    /// IA: inactivate the VUs of `Plan::vu_lists[i]` (a rolling wave), one after the other.
    InactivateVuList(u32),
    /// IA: add (install) or delete (removal) the hotfix on every package of the VUs of
    /// `Plan::vu_lists[i]`.
    ChangePackagesList(u32),
    /// IA: activate the VUs of `Plan::vu_lists[i]`.
    ActivateVuList(u32),
}

/// An IA action of a runbook step, for its latency in `[timing.ia]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum IaOp {
    SetMode,
    Inactivate,
    Activate,
    AddToBase,
    RemoveFromBase,
    RefreshAllNodes,
    AddToPackage,
    DeleteFromPackage,
    SaveModel,
}

/// The steps the engine follows, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Plan {
    pub procedure: Procedure,
    pub steps: Vec<Step>,
    /// Node lists of `Synchronize` and `Apply` steps.
    #[serde(skip)]
    pub node_lists: Vec<Vec<u32>>,
    /// Workstation lists (topology indices) of `WsRemove` and `WsInstall` steps.
    #[serde(skip)]
    pub ws_lists: Vec<Vec<u32>>,
    /// VU lists (topology indices) of the `*VuList` steps of a rolling plan.
    #[serde(skip)]
    pub vu_lists: Vec<Vec<u32>>,
}

impl Plan {
    /// The vendor's install procedure (DOMAIN.md steps 2–11, then the workstations).
    pub fn install() -> Self {
        use Step::*;
        Plan {
            procedure: Procedure::Install,
            steps: vec![
                InactivateVus,
                SetMode,
                AddToBase,
                RefreshAllNodes,
                ChangePackages,
                Rollout,
                SetMode,
                ActivateVus,
                SaveModel,
                Workstations,
            ],
            ..Plan::default()
        }
    }

    /// The vendor's removal procedure. Its per-VU "delete, synchronize" pairs are timed as
    /// all deletes, then the synchronize + apply waves (the same work in another order).
    pub fn remove() -> Self {
        use Step::*;
        Plan {
            procedure: Procedure::Remove,
            steps: vec![
                SetMode,
                InactivateVus,
                ChangePackages,
                RemoveFromBase,
                Rollout,
                ActivateVus,
                SetMode,
                SaveModel,
                Workstations,
            ],
            ..Plan::default()
        }
    }

    /// The rolling install on a topology (`strategy = "rolling"`): the base installation
    /// is updated once (all VUs keep running), then each wave of VUs goes through the
    /// per-VU procedure: inactivate (Monitoring mode), Deployment mode, add the hotfix to
    /// its packages, synchronize and apply its nodes, Monitoring mode, activate; then an
    /// operator check of `rollout.pause` before the next wave. The same steps as the
    /// runbook `crate::runbook::rolling_install_for` derives from a model.
    pub fn rolling(topo: &Topology, rollout: &RolloutConfig) -> Self {
        use Step::*;
        let mut plan = Plan {
            procedure: Procedure::Install,
            steps: vec![SetMode, AddToBase, RefreshAllNodes, SetMode],
            ..Plan::default()
        };
        let vus: Vec<u32> = (0..topo.vu_count())
            .filter(|&v| !topo.packages_of(v).is_empty())
            .collect();
        let names: Vec<String> = vus.iter().map(|&v| topo.vu_name(v)).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let waves = rollout.rolling_waves(&refs);
        let mut mark = vec![false; topo.node_count as usize];
        for (w, wave) in waves.iter().enumerate() {
            let list: Vec<u32> = wave.iter().map(|&i| vus[i]).collect();
            let mut nodes: Vec<u32> = Vec::new();
            for &v in &list {
                for &n in topo.nodes_of(v) {
                    if !mark[n as usize] {
                        mark[n as usize] = true;
                        nodes.push(n);
                    }
                }
            }
            for &n in &nodes {
                mark[n as usize] = false;
            }
            let vl = plan.vu_lists.len() as u32;
            plan.vu_lists.push(list);
            let nl = plan.node_lists.len() as u32;
            plan.node_lists.push(nodes);
            plan.steps.extend([
                InactivateVuList(vl),
                SetMode,
                ChangePackagesList(vl),
                Synchronize(nl),
                Apply {
                    list: nl,
                    all_hosts: true,
                },
                SetMode,
                ActivateVuList(vl),
            ]);
            if rollout.pause > 0 && w + 1 < waves.len() {
                plan.steps.push(Wait(rollout.pause));
            }
        }
        plan.steps.extend([SaveModel, Workstations]);
        plan
    }

    /// The standard plan for `procedure`.
    pub fn standard(procedure: Procedure) -> Self {
        match procedure {
            Procedure::Install => Self::install(),
            Procedure::Remove => Self::remove(),
        }
    }
}

/// The engine's own figures: never part of the (deterministic) result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStats {
    pub events: u64,
    pub peak_queue: u64,
    /// The whole engine run: building its state, the event loop, the result.
    pub wall_seconds: f64,
    pub events_per_second: f64,
    /// The event loop alone: what the events cost, without the per-node set-up and the
    /// result's statistics (both linear in nodes, not in events).
    pub loop_seconds: f64,
    pub loop_events_per_second: f64,
    /// Bytes of the engine's per-node state and the topology.
    pub model_bytes: u64,
    /// Peak resident set size of the process (Linux only), bytes.
    pub peak_rss_bytes: Option<u64>,
}

impl std::fmt::Display for EngineStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "engine: {} events in {:.3} s ({:.2} M events/s; event loop {:.3} s, {:.2} M events/s), peak queue {}, model {:.1} MiB",
            self.events,
            self.wall_seconds,
            self.events_per_second / 1e6,
            self.loop_seconds,
            self.loop_events_per_second / 1e6,
            self.peak_queue,
            self.model_bytes as f64 / (1 << 20) as f64
        )?;
        if let Some(rss) = self.peak_rss_bytes {
            write!(f, ", peak RSS {:.1} MiB", rss as f64 / (1 << 20) as f64)?;
        }
        Ok(())
    }
}

/// Runs the timing model. Same inputs, same result, byte for byte.
pub fn simulate(
    topo: &Topology,
    plan: &Plan,
    cfg: &TimingConfig,
    seed: u64,
) -> Result<TimingResult, TimingError> {
    simulate_with_stats(topo, plan, cfg, seed).map(|(r, _)| r)
}

/// [`simulate`], also returning the engine's figures (wall time is measured here, outside
/// the model).
pub fn simulate_with_stats(
    topo: &Topology,
    plan: &Plan,
    cfg: &TimingConfig,
    seed: u64,
) -> Result<(TimingResult, EngineStats), TimingError> {
    topo.validate()?;
    if plan.steps.iter().filter(|s| **s == Step::Rollout).count() > 1 {
        return Err(TimingError::Plan("at most one rollout step".into()));
    }
    for s in &plan.steps {
        let ok = match *s {
            Step::Synchronize(i) | Step::Apply { list: i, .. } => {
                (i as usize) < plan.node_lists.len()
            }
            Step::WsRemove(i) | Step::WsInstall(i) => (i as usize) < plan.ws_lists.len(),
            Step::InactivateVuList(i) | Step::ChangePackagesList(i) | Step::ActivateVuList(i) => {
                (i as usize) < plan.vu_lists.len()
                    && plan.vu_lists[i as usize]
                        .iter()
                        .all(|&v| v < topo.vu_count())
            }
            _ => true,
        };
        if !ok {
            return Err(TimingError::Plan(format!(
                "step {s:?} names a missing list"
            )));
        }
    }
    let started = std::time::Instant::now();
    let (result, counters) = engine::run(topo, plan, cfg, seed)?;
    let wall = started.elapsed().as_secs_f64();
    let stats = EngineStats {
        events: counters.events,
        peak_queue: counters.peak_queue,
        wall_seconds: wall,
        events_per_second: if wall > 0.0 {
            counters.events as f64 / wall
        } else {
            0.0
        },
        loop_seconds: counters.loop_seconds,
        loop_events_per_second: if counters.loop_seconds > 0.0 {
            counters.events as f64 / counters.loop_seconds
        } else {
            0.0
        },
        model_bytes: (counters.state_bytes + topo.heap_bytes()) as u64,
        peak_rss_bytes: peak_rss_bytes(),
    };
    Ok((result, stats))
}

/// Peak resident set size of this process (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
