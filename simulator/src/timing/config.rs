//! The `[timing]`, `[faults]` and `[rollout]` tables of a scenario: parsing, defaults
//! and validation.
//!
//! Every key is optional and has a documented default (docs/SIMULATOR-TIMING.md); an
//! unknown key is an error that names the table and the key, so a typo never silently
//! falls back to a default. Durations are strings with a unit (`"250ms"`, `"1.5s"`,
//! `"2m"`), bandwidths are strings like `"1Gbit/s"` or `"50MB/s"` (or integer bytes per
//! second), sizes are `"20MiB"` (or integer bytes). Everything is converted to integers
//! (microseconds, bytes) at once so the engine never does float time arithmetic.

use serde::Serialize;
use toml::{Table, Value};

use super::TimingError;
use super::rng::{self, Stream};
use super::topology::TopologySpec;

/// Time in microseconds since the start of the run.
pub type Micros = u64;

/// One second in [`Micros`].
pub const SECOND: Micros = 1_000_000;

/// A duration distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Dist {
    /// Always `value`.
    Fixed { value: Micros },
    /// Uniform over `[min, max]` (integer microseconds).
    Uniform { min: Micros, max: Micros },
    /// `median * e^(sigma * N(0,1))`, capped at `max` when given.
    LogNormal {
        median: Micros,
        sigma: f64,
        max: Option<Micros>,
    },
}

impl Dist {
    /// A fixed duration.
    pub const fn fixed(value: Micros) -> Self {
        Dist::Fixed { value }
    }

    /// Draws one duration for `(stream, index, attempt)` of run `seed`.
    pub(crate) fn sample(&self, seed: u64, stream: Stream, index: u32, attempt: u32) -> Micros {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => {
                let span = max - min;
                if span == 0 {
                    min
                } else {
                    let x = rng::draw(seed, stream, index, attempt);
                    min + ((u128::from(x) * (u128::from(span) + 1)) >> 64) as u64
                }
            }
            Dist::LogNormal { median, sigma, max } => {
                let mut r = rng::rng_for(seed, stream, index, attempt);
                let z = rng::normal(&mut r);
                let v = median as f64 * rng::exp(sigma * z);
                let v = if v.is_finite() && v < 1.8e19 {
                    (v + 0.5) as u64 // v >= 0: rounds half up, inline
                } else {
                    u64::MAX / 4
                };
                match max {
                    Some(m) => v.min(m),
                    None => v,
                }
            }
        }
    }

    /// The mean (for documentation and the hand-computed tests), in microseconds.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value as f64,
            Dist::Uniform { min, max } => (min as f64 + max as f64) / 2.0,
            Dist::LogNormal { median, sigma, .. } => median as f64 * rng::exp(sigma * sigma / 2.0),
        }
    }
}

/// Which procedure the timing plan follows: the runbooks' own type.
pub use crate::runbook::Procedure;

/// When inactivated VUs are activated again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// After the whole rollout, as in the vendor procedure (step 10).
    End,
    /// As soon as every instance node of the VU has converged (a what-if).
    WhenConverged,
}

/// Latencies of the operator's IA actions (each one is sequential on the IA).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IaLatencies {
    pub set_mode: Dist,
    pub inactivate: Dist,
    pub activate: Dist,
    pub add_to_base: Dist,
    pub remove_from_base: Dist,
    pub refresh_all_nodes: Dist,
    pub add_to_package: Dist,
    pub delete_from_package: Dist,
    pub save_model: Dist,
}

/// Client workstations: MSI remove and install, pushed to `concurrency` at a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkstationTiming {
    pub remove: Dist,
    pub install: Dist,
    pub concurrency: u32,
    /// A group-policy push: each workstation installs at its next logon or reboot
    /// (`[timing.workstations.logon]`); `None`: pushed at once, `concurrency` at a time.
    pub logon: Option<LogonModel>,
}

/// A site: nodes behind a WAN link over which the distribution share reaches them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteSpec {
    pub name: String,
    /// WAN bandwidth to the site, bytes per second.
    pub wan_bandwidth: u64,
    /// WAN latency (one set-up of the replication).
    pub wan_latency: Micros,
    pub nodes: SiteNodes,
}

/// Which nodes a site holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteNodes {
    /// These nodes, by name.
    Names(Vec<String>),
    /// Every node whose name starts with this.
    Prefix(String),
    /// This fraction of the nodes, in node order after the sites before it (generated
    /// topologies, whose nodes have no names).
    Share(f64),
}

/// When workstations log on after a group-policy assignment (or after a failed install).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogonModel {
    /// Time from the assignment (or a failed attempt) to the workstation's next logon or
    /// reboot, drawn per workstation and attempt.
    pub next: Dist,
    /// Probability that a workstation is switched off when the assignment is made.
    pub off_probability: f64,
    /// How long such a workstation stays off (added before its first logon).
    pub off: Dist,
}

/// What the runbook does when a node or workstation has finally failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reaction {
    /// Retry with backoff (up to `max_retries`), then skip and report.
    Retry,
    /// Mark it failed, report it, go on with the others.
    Skip,
    /// Start nothing new; let work in flight finish; close the procedure.
    Stop,
    /// Stop, then roll every converged node back to the previous version.
    Rollback,
}

/// One node made unreachable at a given time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    /// Node index in the topology (names are resolved when the topology has them).
    pub node: NodeRef,
    pub from: Micros,
    /// Down from the start of this step (1-based, in the order the run executes them)
    /// instead of from a time: "the node goes down at step N".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_step: Option<u32>,
}

/// A node named in a scenario: by index or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum NodeRef {
    Index(u32),
    Name(String),
}

/// The `[faults]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultConfig {
    pub node_unreachable_probability: f64,
    pub node_unreachable_from: Micros,
    pub unreachable: Vec<Outage>,
    pub transfer_failure_probability: f64,
    pub apply_failure_probability: f64,
    pub workstation_failure_probability: f64,
    /// Workstations (by name, or `W<index>` without names) whose MSI install always
    /// fails: the old version is removed, the new one never installs.
    pub msi_install_fails: Vec<String>,
    pub on_failure: Reaction,
    pub max_retries: u32,
    pub backoff: Micros,
    pub backoff_factor: u32,
    pub max_backoff: Micros,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            node_unreachable_probability: 0.0,
            node_unreachable_from: 0,
            unreachable: Vec::new(),
            transfer_failure_probability: 0.0,
            apply_failure_probability: 0.0,
            workstation_failure_probability: 0.0,
            msi_install_fails: Vec::new(),
            on_failure: Reaction::Retry,
            max_retries: 3,
            backoff: 5 * SECOND,
            backoff_factor: 2,
            max_backoff: 120 * SECOND,
        }
    }
}

impl FaultConfig {
    /// Delay before retry number `retry` (1-based): `backoff * factor^(retry-1)`, capped.
    pub fn backoff_for(&self, retry: u32) -> Micros {
        let mut d = self.backoff;
        for _ in 1..retry {
            d = d.saturating_mul(u64::from(self.backoff_factor));
            if d >= self.max_backoff {
                break;
            }
        }
        d.min(self.max_backoff)
    }
}

/// Rollout strategy for synchronize + apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    AllAtOnce,
    Batches,
    Canary,
    /// Waves of VUs, each going through the whole per-VU procedure (inactivate, add the
    /// hotfix to its packages, synchronize, apply, activate) while the others keep
    /// running. It changes the runbook, not only the apply waves.
    Rolling,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::AllAtOnce => "all-at-once",
            Strategy::Batches => "batches",
            Strategy::Canary => "canary",
            Strategy::Rolling => "rolling",
        }
    }
}

/// The order in which a rolling rollout takes the affected VUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaveOrder {
    /// As the model (or the topology) lists them.
    AsListed,
    /// By VU name.
    Name,
    /// Lowest `load` first (VUs without a load count 0); ties as listed.
    LeastLoaded,
    /// These VUs first, in this order; the others after them, as listed.
    Given(Vec<String>),
}

/// The unit of a canary wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CanaryUnit {
    /// The first affected node.
    Node,
    /// Every instance node of the first affected VU.
    Vu,
}

/// The `[rollout]` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutConfig {
    pub strategy: Strategy,
    pub batch_size: Option<u32>,
    pub batch_percent: Option<f64>,
    pub pause: Micros,
    pub canary: CanaryUnit,
    pub canary_wait: Micros,
    pub max_failures: Option<u32>,
    pub max_failure_percent: Option<f64>,
    /// Rolling: VUs per wave (default 1 when neither this nor `wave_percent` is given).
    pub wave_size: Option<u32>,
    /// Rolling: percent of the affected VUs per wave (rounded up, at least one VU).
    pub wave_percent: Option<f64>,
    /// Rolling: which VUs go first.
    pub order: WaveOrder,
    /// Rolling with `order = "least-loaded"`: load per VU name.
    pub load: std::collections::BTreeMap<String, f64>,
}

impl RolloutConfig {
    /// Splits the affected VUs (`names`, in the model's or topology's order) into the
    /// waves of a rolling rollout: indices into `names`, wave by wave. Deterministic:
    /// ties keep the listed order.
    pub fn rolling_waves(&self, names: &[&str]) -> Vec<Vec<usize>> {
        let mut idx: Vec<usize> = (0..names.len()).collect();
        match &self.order {
            WaveOrder::AsListed => {}
            WaveOrder::Name => idx.sort_by(|&a, &b| names[a].cmp(names[b])),
            WaveOrder::LeastLoaded => {
                let load = |i: usize| self.load.get(names[i]).copied().unwrap_or(0.0);
                idx.sort_by(|&a, &b| load(a).total_cmp(&load(b)));
            }
            WaveOrder::Given(first) => {
                let rank = |i: usize| {
                    first
                        .iter()
                        .position(|f| f == names[i])
                        .unwrap_or(first.len())
                };
                idx.sort_by_key(|&i| rank(i));
            }
        }
        let n = idx.len();
        let size = match (self.wave_size, self.wave_percent) {
            (Some(k), _) => k as usize,
            (None, Some(p)) => ((n as f64 * p / 100.0).ceil() as usize).max(1),
            (None, None) => 1,
        }
        .max(1);
        idx.chunks(size).map(<[usize]>::to_vec).collect()
    }

    /// Parses a `[rollout]` table (a scenario's, or one entry of a list of strategies).
    ///
    /// ```
    /// let t: toml::Table = toml::from_str("strategy = \"rolling\"\nwave_size = 2").unwrap();
    /// let r = hotfix_sim::timing::RolloutConfig::from_table(&t).unwrap();
    /// assert_eq!(r.rolling_waves(&["A", "B", "C"]), vec![vec![0, 1], vec![2]]);
    /// ```
    pub fn from_table(t: &Table) -> Result<Self, TimingError> {
        parse_rollout(t)
    }
}

/// A `[rollout]` table deserializes through [`RolloutConfig::from_table`], with the same
/// checks and messages, so a list of strategies (`[[strategy]]` tables in another file)
/// reads exactly like a scenario's `[rollout]`.
impl<'de> serde::Deserialize<'de> for RolloutConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = Table::deserialize(d)?;
        parse_rollout(&t).map_err(serde::de::Error::custom)
    }
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            strategy: Strategy::AllAtOnce,
            batch_size: None,
            batch_percent: None,
            pause: 0,
            canary: CanaryUnit::Node,
            canary_wait: 300 * SECOND,
            max_failures: None,
            max_failure_percent: None,
            wave_size: None,
            wave_percent: None,
            order: WaveOrder::AsListed,
            load: std::collections::BTreeMap::new(),
        }
    }
}

/// Everything the timing engine needs besides the topology, the plan and the seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingConfig {
    /// Overrides the procedure derived from the runbook (standalone scenarios).
    pub procedure: Option<Procedure>,
    pub activate: Activation,
    /// Management-host uplink, bytes per second, shared by all transfers in progress.
    pub uplink_bandwidth: u64,
    /// Per-node link, bytes per second: no single transfer is faster.
    pub link_bandwidth: u64,
    /// Connection set-up time of each transfer attempt.
    pub latency: Micros,
    /// Transfers in progress at once (0 = unlimited).
    pub max_parallel_transfers: u32,
    /// Applies in progress at once (0 = unlimited).
    pub max_parallel_applies: u32,
    /// How long a transfer or apply to an unreachable node takes to fail.
    pub transfer_timeout: Micros,
    pub apply: Dist,
    /// Bytes synchronized per node by a removal (no payload, only the model change).
    pub removal_bytes: u64,
    pub ia: IaLatencies,
    pub workstations: WorkstationTiming,
    pub faults: FaultConfig,
    pub rollout: RolloutConfig,
    /// A generated topology for scenarios without a system model (`[timing.topology]`).
    #[serde(skip)]
    pub topology: Option<TopologySpec>,
    /// Maintenance windows (`[timing.windows]`): steps that take a VU down start only
    /// inside one.
    pub windows: Option<super::windows::WindowConfig>,
    /// Sites (`[[timing.sites]]`): nodes behind WAN links; the others are at the
    /// management host's site.
    pub sites: Vec<SiteSpec>,
}

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            procedure: None,
            activate: Activation::End,
            uplink_bandwidth: 125_000_000,
            link_bandwidth: 12_500_000,
            latency: 20_000,
            max_parallel_transfers: 32,
            max_parallel_applies: 0,
            transfer_timeout: 30 * SECOND,
            apply: Dist::LogNormal {
                median: 45 * SECOND,
                sigma: 0.3,
                max: None,
            },
            removal_bytes: 64 * 1024,
            ia: IaLatencies {
                set_mode: Dist::fixed(2 * SECOND),
                inactivate: Dist::fixed(5 * SECOND),
                activate: Dist::fixed(10 * SECOND),
                add_to_base: Dist::fixed(3 * SECOND),
                remove_from_base: Dist::fixed(3 * SECOND),
                refresh_all_nodes: Dist::fixed(15 * SECOND),
                add_to_package: Dist::fixed(2 * SECOND),
                delete_from_package: Dist::fixed(2 * SECOND),
                save_model: Dist::fixed(5 * SECOND),
            },
            workstations: WorkstationTiming {
                remove: Dist::Uniform {
                    min: 20 * SECOND,
                    max: 40 * SECOND,
                },
                install: Dist::Uniform {
                    min: 40 * SECOND,
                    max: 90 * SECOND,
                },
                concurrency: 50,
                logon: None,
            },
            faults: FaultConfig::default(),
            rollout: RolloutConfig::default(),
            topology: None,
            windows: None,
            sites: Vec::new(),
        }
    }
}

impl TimingConfig {
    /// Parses the three raw tables of a scenario (each may be absent).
    ///
    /// ```
    /// let timing: toml::Table = toml::from_str(r#"latency = "5ms""#).unwrap();
    /// let cfg = hotfix_sim::timing::TimingConfig::from_tables(Some(&timing), None, None).unwrap();
    /// assert_eq!(cfg.latency, 5_000);
    /// ```
    pub fn from_tables(
        timing: Option<&Table>,
        faults: Option<&Table>,
        rollout: Option<&Table>,
    ) -> Result<Self, TimingError> {
        let mut cfg = TimingConfig::default();
        if let Some(t) = timing {
            cfg.parse_timing(t)?;
        }
        if let Some(t) = faults {
            cfg.faults = parse_faults(t)?;
        }
        if let Some(t) = rollout {
            cfg.rollout = parse_rollout(t)?;
        }
        Ok(cfg)
    }

    fn parse_timing(&mut self, t: &Table) -> Result<(), TimingError> {
        const TABLE: &str = "timing";
        check_keys(
            t,
            TABLE,
            &[
                "procedure",
                "activate",
                "uplink_bandwidth",
                "link_bandwidth",
                "latency",
                "max_parallel_transfers",
                "max_parallel_applies",
                "transfer_timeout",
                "apply",
                "removal_bytes",
                "ia",
                "workstations",
                "topology",
                "windows",
                "sites",
            ],
        )?;
        if let Some(s) = opt_str(t, TABLE, "procedure")? {
            self.procedure = Some(match s {
                "install" => Procedure::Install,
                "remove" => Procedure::Remove,
                _ => {
                    return Err(invalid(
                        TABLE,
                        "procedure",
                        "expected \"install\" or \"remove\"",
                    ));
                }
            });
        }
        if let Some(s) = opt_str(t, TABLE, "activate")? {
            self.activate = match s {
                "end" => Activation::End,
                "when-converged" => Activation::WhenConverged,
                _ => {
                    return Err(invalid(
                        TABLE,
                        "activate",
                        "expected \"end\" or \"when-converged\"",
                    ));
                }
            };
        }
        if let Some(v) = opt_bandwidth(t, TABLE, "uplink_bandwidth")? {
            self.uplink_bandwidth = v;
        }
        if let Some(v) = opt_bandwidth(t, TABLE, "link_bandwidth")? {
            self.link_bandwidth = v;
        }
        if let Some(v) = opt_duration(t, TABLE, "latency")? {
            self.latency = v;
        }
        if let Some(v) = opt_u32(t, TABLE, "max_parallel_transfers")? {
            self.max_parallel_transfers = v;
        }
        if let Some(v) = opt_u32(t, TABLE, "max_parallel_applies")? {
            self.max_parallel_applies = v;
        }
        if let Some(v) = opt_duration(t, TABLE, "transfer_timeout")? {
            self.transfer_timeout = v;
        }
        if let Some(v) = opt_dist(t, TABLE, "apply")? {
            self.apply = v;
        }
        if let Some(v) = opt_size(t, TABLE, "removal_bytes")? {
            self.removal_bytes = v;
        }
        if let Some(ia) = opt_table(t, TABLE, "ia")? {
            const T: &str = "timing.ia";
            check_keys(
                ia,
                T,
                &[
                    "set_mode",
                    "inactivate",
                    "activate",
                    "add_to_base",
                    "remove_from_base",
                    "refresh_all_nodes",
                    "add_to_package",
                    "delete_from_package",
                    "save_model",
                ],
            )?;
            let l = &mut self.ia;
            for (key, slot) in [
                ("set_mode", &mut l.set_mode),
                ("inactivate", &mut l.inactivate),
                ("activate", &mut l.activate),
                ("add_to_base", &mut l.add_to_base),
                ("remove_from_base", &mut l.remove_from_base),
                ("refresh_all_nodes", &mut l.refresh_all_nodes),
                ("add_to_package", &mut l.add_to_package),
                ("delete_from_package", &mut l.delete_from_package),
                ("save_model", &mut l.save_model),
            ] {
                if let Some(d) = opt_dist(ia, T, key)? {
                    *slot = d;
                }
            }
        }
        if let Some(ws) = opt_table(t, TABLE, "workstations")? {
            const T: &str = "timing.workstations";
            check_keys(ws, T, &["remove", "install", "concurrency", "logon"])?;
            if let Some(l) = opt_table(ws, T, "logon")? {
                const L: &str = "timing.workstations.logon";
                check_keys(l, L, &["next", "off_probability", "off"])?;
                let next = opt_dist(l, L, "next")?.ok_or_else(|| {
                    invalid(
                        L,
                        "next",
                        "missing: time to the next logon, e.g. { dist = \"lognormal\", median = \"8h\", sigma = 0.8 }",
                    )
                })?;
                self.workstations.logon = Some(LogonModel {
                    next,
                    off_probability: opt_probability(l, L, "off_probability")?.unwrap_or(0.0),
                    off: opt_dist(l, L, "off")?.unwrap_or(Dist::Uniform {
                        min: 86_400 * SECOND,
                        max: 7 * 86_400 * SECOND,
                    }),
                });
            }
            if let Some(d) = opt_dist(ws, T, "remove")? {
                self.workstations.remove = d;
            }
            if let Some(d) = opt_dist(ws, T, "install")? {
                self.workstations.install = d;
            }
            if let Some(c) = opt_u32(ws, T, "concurrency")? {
                if c == 0 {
                    return Err(invalid(T, "concurrency", "must be at least 1"));
                }
                self.workstations.concurrency = c;
            }
        }
        if let Some(v) = t.get("sites") {
            self.sites = parse_sites(v)?;
        }
        if let Some(w) = opt_table(t, TABLE, "windows")? {
            self.windows = Some(super::windows::WindowConfig::from_table(w)?);
        }
        if let Some(topo) = opt_table(t, TABLE, "topology")? {
            self.topology = Some(TopologySpec::from_table(topo)?);
        }
        if self.uplink_bandwidth == 0 || self.link_bandwidth == 0 {
            return Err(invalid(
                TABLE,
                "uplink_bandwidth",
                "bandwidths must be positive",
            ));
        }
        Ok(())
    }
}

fn parse_sites(v: &Value) -> Result<Vec<SiteSpec>, TimingError> {
    const T: &str = "timing.sites";
    let shape = "expected [[timing.sites]] tables: name, wan_bandwidth, wan_latency, and nodes, prefix or share";
    let Value::Array(items) = v else {
        return Err(invalid("timing", "sites", shape));
    };
    let mut out: Vec<SiteSpec> = Vec::new();
    let mut share_sum = 0.0;
    for item in items {
        let Value::Table(s) = item else {
            return Err(invalid("timing", "sites", shape));
        };
        check_keys(
            s,
            T,
            &[
                "name",
                "wan_bandwidth",
                "wan_latency",
                "nodes",
                "prefix",
                "share",
            ],
        )?;
        let name = opt_str(s, T, "name")?
            .ok_or_else(|| invalid(T, "name", "missing: every site has a name"))?
            .to_owned();
        if out.iter().any(|o| o.name == name) {
            return Err(invalid(
                T,
                "name",
                format!("site `{name}` is declared twice"),
            ));
        }
        let wan_bandwidth = opt_bandwidth(s, T, "wan_bandwidth")?
            .ok_or_else(|| invalid(T, "wan_bandwidth", format!("site `{name}`: missing")))?;
        let wan_latency = opt_duration(s, T, "wan_latency")?.unwrap_or(0);
        let given = ["nodes", "prefix", "share"]
            .iter()
            .filter(|k| s.contains_key(**k))
            .count();
        if given != 1 {
            return Err(invalid(
                T,
                "nodes",
                format!("site `{name}`: give exactly one of nodes, prefix or share"),
            ));
        }
        let nodes = if let Some(v) = s.get("nodes") {
            let names = match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>(),
                _ => None,
            };
            SiteNodes::Names(
                names.ok_or_else(|| invalid(T, "nodes", "expected an array of node names"))?,
            )
        } else if let Some(p) = opt_str(s, T, "prefix")? {
            SiteNodes::Prefix(p.to_owned())
        } else {
            let f = opt_f64(s, T, "share")?.unwrap_or(0.0);
            share_sum += f;
            if !(f > 0.0 && f <= 1.0) || share_sum > 1.0 + 1e-9 {
                return Err(invalid(
                    T,
                    "share",
                    "a fraction in (0, 1]; the shares of all sites add up to at most 1",
                ));
            }
            SiteNodes::Share(f)
        };
        out.push(SiteSpec {
            name,
            wan_bandwidth,
            wan_latency,
            nodes,
        });
    }
    Ok(out)
}

fn parse_faults(t: &Table) -> Result<FaultConfig, TimingError> {
    const TABLE: &str = "faults";
    check_keys(
        t,
        TABLE,
        &[
            "node_unreachable_probability",
            "node_unreachable_from",
            "unreachable",
            "transfer_failure_probability",
            "apply_failure_probability",
            "workstation_failure_probability",
            "msi_install_fails",
            "on_failure",
            "max_retries",
            "backoff",
            "backoff_factor",
            "max_backoff",
        ],
    )?;
    let mut f = FaultConfig::default();
    for (key, slot) in [
        (
            "node_unreachable_probability",
            &mut f.node_unreachable_probability,
        ),
        (
            "transfer_failure_probability",
            &mut f.transfer_failure_probability,
        ),
        (
            "apply_failure_probability",
            &mut f.apply_failure_probability,
        ),
        (
            "workstation_failure_probability",
            &mut f.workstation_failure_probability,
        ),
    ] {
        if let Some(p) = opt_probability(t, TABLE, key)? {
            *slot = p;
        }
    }
    if let Some(v) = opt_duration(t, TABLE, "node_unreachable_from")? {
        f.node_unreachable_from = v;
    }
    if let Some(v) = t.get("unreachable") {
        let Value::Array(items) = v else {
            return Err(invalid(
                TABLE,
                "unreachable",
                "expected an array of { node = ..., from = \"...\" }",
            ));
        };
        for item in items {
            let Value::Table(it) = item else {
                return Err(invalid(
                    TABLE,
                    "unreachable",
                    "expected an array of { node = ..., from = \"...\" }",
                ));
            };
            const T: &str = "faults.unreachable";
            check_keys(it, T, &["node", "from", "at_step"])?;
            let node = match it.get("node") {
                Some(Value::Integer(i)) if *i >= 0 && *i <= i64::from(u32::MAX) => {
                    NodeRef::Index(*i as u32)
                }
                Some(Value::String(s)) => NodeRef::Name(s.clone()),
                _ => return Err(invalid(T, "node", "expected a node index or a node name")),
            };
            let at_step = opt_u32(it, T, "at_step")?;
            if at_step.is_some() && it.contains_key("from") {
                return Err(invalid(T, "at_step", "give `from` or `at_step`, not both"));
            }
            if at_step == Some(0) {
                return Err(invalid(T, "at_step", "steps are numbered from 1"));
            }
            let from = opt_duration(it, T, "from")?.unwrap_or(0);
            f.unreachable.push(Outage {
                node,
                from,
                at_step,
            });
        }
    }
    if let Some(v) = t.get("msi_install_fails") {
        let names = match v {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>(),
            _ => None,
        };
        f.msi_install_fails = names.ok_or_else(|| {
            invalid(
                TABLE,
                "msi_install_fails",
                "expected an array of workstation names",
            )
        })?;
    }
    if let Some(s) = opt_str(t, TABLE, "on_failure")? {
        f.on_failure = match s {
            "retry" => Reaction::Retry,
            "skip" => Reaction::Skip,
            "stop" => Reaction::Stop,
            "rollback" => Reaction::Rollback,
            _ => {
                return Err(invalid(
                    TABLE,
                    "on_failure",
                    "expected \"retry\", \"skip\", \"stop\" or \"rollback\"",
                ));
            }
        };
    }
    // Only `retry` retries by default; the others may opt in with max_retries.
    f.max_retries = match opt_u32(t, TABLE, "max_retries")? {
        Some(n) => n,
        None if f.on_failure == Reaction::Retry => 3,
        None => 0,
    };
    if let Some(v) = opt_duration(t, TABLE, "backoff")? {
        f.backoff = v;
    }
    if let Some(v) = opt_u32(t, TABLE, "backoff_factor")? {
        if v == 0 {
            return Err(invalid(TABLE, "backoff_factor", "must be at least 1"));
        }
        f.backoff_factor = v;
    }
    if let Some(v) = opt_duration(t, TABLE, "max_backoff")? {
        f.max_backoff = v;
    }
    if f.max_retries > 200 {
        return Err(invalid(TABLE, "max_retries", "at most 200"));
    }
    Ok(f)
}

fn parse_rollout(t: &Table) -> Result<RolloutConfig, TimingError> {
    const TABLE: &str = "rollout";
    check_keys(
        t,
        TABLE,
        &[
            "strategy",
            "batch_size",
            "batch_percent",
            "pause",
            "canary",
            "canary_wait",
            "max_failures",
            "max_failure_percent",
            "wave_size",
            "wave_percent",
            "order",
            "load",
        ],
    )?;
    let mut r = RolloutConfig::default();
    if let Some(s) = opt_str(t, TABLE, "strategy")? {
        r.strategy = match s {
            "all-at-once" => Strategy::AllAtOnce,
            "batches" => Strategy::Batches,
            "canary" => Strategy::Canary,
            "rolling" => Strategy::Rolling,
            _ => {
                return Err(invalid(
                    TABLE,
                    "strategy",
                    "expected \"all-at-once\", \"batches\", \"canary\" or \"rolling\"",
                ));
            }
        };
    }
    parse_rolling(t, &mut r)?;
    r.batch_size = opt_u32(t, TABLE, "batch_size")?;
    if r.batch_size == Some(0) {
        return Err(invalid(TABLE, "batch_size", "must be at least 1"));
    }
    r.batch_percent = opt_f64(t, TABLE, "batch_percent")?;
    if r.batch_percent.is_some_and(|p| !(p > 0.0 && p <= 100.0)) {
        return Err(invalid(TABLE, "batch_percent", "must be in (0, 100]"));
    }
    if r.batch_size.is_some() && r.batch_percent.is_some() {
        return Err(invalid(
            TABLE,
            "batch_percent",
            "give batch_size or batch_percent, not both",
        ));
    }
    if r.strategy == Strategy::Batches && r.batch_size.is_none() && r.batch_percent.is_none() {
        return Err(invalid(
            TABLE,
            "strategy",
            "\"batches\" needs batch_size or batch_percent",
        ));
    }
    if let Some(v) = opt_duration(t, TABLE, "pause")? {
        r.pause = v;
    }
    if let Some(s) = opt_str(t, TABLE, "canary")? {
        r.canary = match s {
            "node" => CanaryUnit::Node,
            "vu" => CanaryUnit::Vu,
            _ => return Err(invalid(TABLE, "canary", "expected \"node\" or \"vu\"")),
        };
    }
    if let Some(v) = opt_duration(t, TABLE, "canary_wait")? {
        r.canary_wait = v;
    }
    r.max_failures = opt_u32(t, TABLE, "max_failures")?;
    r.max_failure_percent = opt_f64(t, TABLE, "max_failure_percent")?;
    if r.max_failure_percent
        .is_some_and(|p| !(0.0..=100.0).contains(&p))
    {
        return Err(invalid(TABLE, "max_failure_percent", "must be in [0, 100]"));
    }
    Ok(r)
}

/// The rolling strategy's keys: `wave_size`, `wave_percent`, `order`, `load`. They are
/// refused with another strategy, so that a table never says more than it does.
fn parse_rolling(t: &Table, r: &mut RolloutConfig) -> Result<(), TimingError> {
    const TABLE: &str = "rollout";
    if r.strategy != Strategy::Rolling {
        for key in ["wave_size", "wave_percent", "order", "load"] {
            if t.contains_key(key) {
                return Err(invalid(
                    TABLE,
                    key,
                    "only with strategy = \"rolling\" (batch_size and batch_percent size the other strategies' waves)",
                ));
            }
        }
        return Ok(());
    }
    for key in ["batch_size", "batch_percent", "canary", "canary_wait"] {
        if t.contains_key(key) {
            return Err(invalid(
                TABLE,
                key,
                "not used by strategy = \"rolling\": its waves are wave_size or wave_percent VUs",
            ));
        }
    }
    r.wave_size = opt_u32(t, TABLE, "wave_size")?;
    if r.wave_size == Some(0) {
        return Err(invalid(TABLE, "wave_size", "must be at least 1"));
    }
    r.wave_percent = opt_f64(t, TABLE, "wave_percent")?;
    if r.wave_percent.is_some_and(|p| !(p > 0.0 && p <= 100.0)) {
        return Err(invalid(TABLE, "wave_percent", "must be in (0, 100]"));
    }
    if r.wave_size.is_some() && r.wave_percent.is_some() {
        return Err(invalid(
            TABLE,
            "wave_percent",
            "give wave_size or wave_percent, not both",
        ));
    }
    match t.get("order") {
        None => {}
        Some(Value::String(s)) => {
            r.order = match s.as_str() {
                "as-listed" => WaveOrder::AsListed,
                "name" => WaveOrder::Name,
                "least-loaded" => WaveOrder::LeastLoaded,
                _ => {
                    return Err(invalid(
                        TABLE,
                        "order",
                        "expected \"as-listed\", \"name\", \"least-loaded\" or an array of VU names",
                    ));
                }
            }
        }
        Some(Value::Array(items)) => {
            let names = items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| invalid(TABLE, "order", "an array of VU names (strings)"))?;
            r.order = WaveOrder::Given(names);
        }
        Some(_) => {
            return Err(invalid(
                TABLE,
                "order",
                "expected a string or an array of VU names",
            ));
        }
    }
    if let Some(l) = opt_table(t, TABLE, "load")? {
        for (name, v) in l {
            let x = match v {
                Value::Float(f) if f.is_finite() => *f,
                Value::Integer(i) => *i as f64,
                _ => return Err(invalid("rollout.load", name, "expected a number")),
            };
            r.load.insert(name.clone(), x);
        }
    }
    if r.order == WaveOrder::LeastLoaded && r.load.is_empty() {
        return Err(invalid(
            TABLE,
            "order",
            "\"least-loaded\" needs a [rollout.load] table: VU name = load (e.g. sessions or calls)",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Small typed getters. Each names the table and key in its error.

pub(crate) fn invalid(table: &str, key: &str, message: impl Into<String>) -> TimingError {
    TimingError::InvalidValue {
        table: table.to_owned(),
        key: key.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn check_keys(t: &Table, table: &str, allowed: &[&str]) -> Result<(), TimingError> {
    for key in t.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(TimingError::UnknownKey {
                table: table.to_owned(),
                key: key.clone(),
                allowed: allowed.join(", "),
            });
        }
    }
    Ok(())
}

pub(crate) fn opt_table<'a>(
    t: &'a Table,
    table: &str,
    key: &str,
) -> Result<Option<&'a Table>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Table(x)) => Ok(Some(x)),
        Some(_) => Err(invalid(table, key, "expected a table")),
    }
}

pub(crate) fn opt_str<'a>(
    t: &'a Table,
    table: &str,
    key: &str,
) -> Result<Option<&'a str>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(table, key, "expected a string")),
    }
}

pub(crate) fn opt_u32(t: &Table, table: &str, key: &str) -> Result<Option<u32>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Integer(i)) => u32::try_from(*i)
            .map(Some)
            .map_err(|_| invalid(table, key, "expected a non-negative integer below 2^32")),
        Some(_) => Err(invalid(table, key, "expected an integer")),
    }
}

pub(crate) fn opt_f64(t: &Table, table: &str, key: &str) -> Result<Option<f64>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
        Some(Value::Integer(i)) => Ok(Some(*i as f64)),
        Some(_) => Err(invalid(table, key, "expected a number")),
    }
}

fn opt_probability(t: &Table, table: &str, key: &str) -> Result<Option<f64>, TimingError> {
    let p = opt_f64(t, table, key)?;
    if p.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        return Err(invalid(table, key, "a probability must be in [0, 1]"));
    }
    Ok(p)
}

pub(crate) fn opt_duration(
    t: &Table,
    table: &str,
    key: &str,
) -> Result<Option<Micros>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => parse_duration(s)
            .map(Some)
            .map_err(|m| invalid(table, key, m)),
        Some(Value::Integer(0)) => Ok(Some(0)),
        Some(_) => Err(invalid(
            table,
            key,
            "expected a duration string with a unit, e.g. \"250ms\", \"30s\", \"2m\"",
        )),
    }
}

pub(crate) fn opt_bandwidth(t: &Table, table: &str, key: &str) -> Result<Option<u64>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Integer(i)) if *i > 0 => Ok(Some(*i as u64)),
        Some(Value::String(s)) => parse_bandwidth(s)
            .map(Some)
            .map_err(|m| invalid(table, key, m)),
        Some(_) => Err(invalid(
            table,
            key,
            "expected bytes per second or a string like \"1Gbit/s\", \"50MB/s\"",
        )),
    }
}

pub(crate) fn opt_size(t: &Table, table: &str, key: &str) -> Result<Option<u64>, TimingError> {
    match t.get(key) {
        None => Ok(None),
        Some(Value::Integer(i)) if *i >= 0 => Ok(Some(*i as u64)),
        Some(Value::String(s)) => parse_size(s).map(Some).map_err(|m| invalid(table, key, m)),
        Some(_) => Err(invalid(
            table,
            key,
            "expected bytes or a string like \"20MiB\"",
        )),
    }
}

/// A distribution: a duration string (fixed) or a table with `dist`.
pub(crate) fn opt_dist(t: &Table, table: &str, key: &str) -> Result<Option<Dist>, TimingError> {
    let Some(v) = t.get(key) else {
        return Ok(None);
    };
    let name = format!("{table}.{key}");
    match v {
        Value::String(_) | Value::Integer(0) => {
            Ok(opt_duration(t, table, key)?.map(|value| Dist::Fixed { value }))
        }
        Value::Table(d) => {
            let kind = opt_str(d, &name, "dist")?.ok_or_else(|| {
                invalid(
                    &name,
                    "dist",
                    "missing: \"fixed\", \"uniform\" or \"lognormal\"",
                )
            })?;
            let need = |k: &str| -> Result<Micros, TimingError> {
                opt_duration(d, &name, k)?.ok_or_else(|| invalid(&name, k, "missing"))
            };
            match kind {
                "fixed" => {
                    check_keys(d, &name, &["dist", "value"])?;
                    Ok(Some(Dist::Fixed {
                        value: need("value")?,
                    }))
                }
                "uniform" => {
                    check_keys(d, &name, &["dist", "min", "max"])?;
                    let (min, max) = (need("min")?, need("max")?);
                    if min > max {
                        return Err(invalid(&name, "max", "must not be below min"));
                    }
                    Ok(Some(Dist::Uniform { min, max }))
                }
                "lognormal" => {
                    check_keys(d, &name, &["dist", "median", "sigma", "max"])?;
                    let median = need("median")?;
                    let sigma = opt_f64(d, &name, "sigma")?
                        .ok_or_else(|| invalid(&name, "sigma", "missing"))?;
                    if !(0.0..=5.0).contains(&sigma) {
                        return Err(invalid(&name, "sigma", "must be in [0, 5]"));
                    }
                    let max = opt_duration(d, &name, "max")?;
                    Ok(Some(Dist::LogNormal { median, sigma, max }))
                }
                _ => Err(invalid(
                    &name,
                    "dist",
                    "expected \"fixed\", \"uniform\" or \"lognormal\"",
                )),
            }
        }
        _ => Err(invalid(
            table,
            key,
            "expected a duration (\"30s\") or a table { dist = ..., ... }",
        )),
    }
}

/// Splits `"1.5 s"` into an exact decimal `(digits, scale)` and the unit: 15, 1, "s".
fn split_number(s: &str) -> Result<(u128, u32, &str), String> {
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    if num.is_empty() {
        return Err(format!("`{s}` does not start with a number"));
    }
    let mut digits: u128 = 0;
    let mut scale = 0u32;
    let mut seen_dot = false;
    for c in num.chars() {
        match c {
            '_' => {}
            '.' if !seen_dot => seen_dot = true,
            '.' => return Err(format!("`{s}` has two decimal points")),
            _ => {
                digits = digits
                    .checked_mul(10)
                    .and_then(|d| d.checked_add(u128::from(c as u8 - b'0')))
                    .ok_or_else(|| format!("`{s}` is too large"))?;
                if seen_dot {
                    scale += 1;
                }
            }
        }
    }
    if scale > 9 {
        return Err(format!("`{s}` has more than 9 decimals"));
    }
    Ok((digits, scale, unit.trim()))
}

fn scaled(s: &str, digits: u128, scale: u32, num: u128, den: u128) -> Result<u64, String> {
    let v = digits * num / (10u128.pow(scale) * den);
    u64::try_from(v).map_err(|_| format!("`{s}` is too large"))
}

/// `"250ms"` → 250_000 µs. Units: us, ms, s, m (or min), h, d.
pub fn parse_duration(s: &str) -> Result<Micros, String> {
    let (d, sc, unit) = split_number(s)?;
    let mul: u128 = match unit {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        "" if d == 0 => 1,
        _ => {
            return Err(format!(
                "`{s}`: unknown or missing duration unit (use us, ms, s, m, h, d)"
            ));
        }
    };
    scaled(s, d, sc, mul, 1)
}

/// `"1Gbit/s"` → 125_000_000 bytes/s.
pub fn parse_bandwidth(s: &str) -> Result<u64, String> {
    let (d, sc, unit) = split_number(s)?;
    let (num, den): (u128, u128) = match unit {
        "bit/s" | "bps" => (1, 8),
        "kbit/s" | "kbps" => (1_000, 8),
        "Mbit/s" | "Mbps" => (1_000_000, 8),
        "Gbit/s" | "Gbps" => (1_000_000_000, 8),
        "B/s" | "" => (1, 1),
        "kB/s" | "KB/s" => (1_000, 1),
        "MB/s" => (1_000_000, 1),
        "GB/s" => (1_000_000_000, 1),
        "KiB/s" => (1 << 10, 1),
        "MiB/s" => (1 << 20, 1),
        "GiB/s" => (1 << 30, 1),
        _ => {
            return Err(format!(
                "`{s}`: unknown bandwidth unit (use bit/s, Mbit/s, Gbit/s, B/s, MB/s, MiB/s, ...)"
            ));
        }
    };
    let v = scaled(s, d, sc, num, den)?;
    if v == 0 {
        return Err(format!("`{s}`: bandwidth must be positive"));
    }
    Ok(v)
}

/// `"20MiB"` → 20_971_520 bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (d, sc, unit) = split_number(s)?;
    let mul: u128 = match unit {
        "B" | "" => 1,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "`{s}`: unknown size unit (use B, kB, MB, GB, KiB, MiB, GiB)"
            ));
        }
    };
    scaled(s, d, sc, mul, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration("250 ms"), Ok(250_000));
        assert_eq!(parse_duration("2m"), Ok(120_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("30").is_err());
        assert_eq!(parse_bandwidth("1Gbit/s"), Ok(125_000_000));
        assert_eq!(parse_bandwidth("100 Mbit/s"), Ok(12_500_000));
        assert_eq!(parse_bandwidth("10MiB/s"), Ok(10_485_760));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
    }

    #[test]
    fn unknown_keys_are_named() {
        let t: Table = toml::from_str("latnecy = \"5ms\"").expect("toml");
        let err = TimingConfig::from_tables(Some(&t), None, None).expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("latnecy") && msg.contains("[timing]"), "{msg}");
        let t: Table = toml::from_str("apply = { dist = \"uniform\", min = \"1s\", mx = \"2s\" }")
            .expect("toml");
        let msg = TimingConfig::from_tables(Some(&t), None, None)
            .expect_err("must fail")
            .to_string();
        assert!(msg.contains("mx"), "{msg}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let f = FaultConfig {
            backoff: 1,
            backoff_factor: 3,
            max_backoff: 20,
            ..FaultConfig::default()
        };
        assert_eq!(
            (1..=5).map(|r| f.backoff_for(r)).collect::<Vec<_>>(),
            vec![1, 3, 9, 20, 20]
        );
    }

    #[test]
    fn uniform_and_lognormal_samples_stay_in_range_and_repeat() {
        let u = Dist::Uniform { min: 10, max: 20 };
        for i in 0..1000 {
            let v = u.sample(7, Stream::Apply, i, 0);
            assert!((10..=20).contains(&v));
            assert_eq!(v, u.sample(7, Stream::Apply, i, 0));
        }
        let l = Dist::LogNormal {
            median: 1_000_000,
            sigma: 0.5,
            max: Some(3_000_000),
        };
        let mut below = 0;
        for i in 0..2000 {
            let v = l.sample(7, Stream::Apply, i, 0);
            assert!(v <= 3_000_000);
            if v < 1_000_000 {
                below += 1;
            }
        }
        // The median splits the samples roughly in half.
        assert!((800..1200).contains(&below), "{below}");
    }
}
