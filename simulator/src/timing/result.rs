//! What a timing run measured. Everything here is derived from integer simulated time,
//! so it serializes to the same bytes on every run with the same inputs.

use serde::Serialize;

use super::config::{Micros, Procedure, Strategy};

/// Seconds from integer microseconds (exactly rounded, hence portable).
pub(crate) fn secs(us: Micros) -> f64 {
    us as f64 / 1e6
}

/// Node outcome counts (affected nodes only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeCounts {
    /// Nodes hosting an instance of an affected VU.
    pub affected: u32,
    /// On the target version at the end.
    pub converged: u32,
    /// Finally failed (transfer or apply, after retries).
    pub failed: u32,
    /// Received the files but were never applied (rollout stopped in between).
    pub pending_change: u32,
    /// Applied in time, but the model ends with an affected instance on the node not at
    /// its target (e.g. one of its VUs was never synchronized): not converged.
    pub behind: u32,
    /// Never attempted (rollout stopped before their turn).
    pub not_attempted: u32,
    /// Converged, then rolled back to the previous version.
    pub rolled_back: u32,
}

/// Per-node convergence time (from the start of the run), over converged nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convergence {
    pub p50_s: f64,
    pub p95_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
}

/// Per-VU downtime: time between its inactivation and its activation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Downtime {
    pub vus: u32,
    pub mean_s: f64,
    pub max_s: f64,
}

/// How long instances of one package disagreed (some nodes on the new version, some not).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixedWindow {
    pub package: String,
    pub nodes: u32,
    /// Total time with mixed versions.
    pub window_s: f64,
    /// First moment of disagreement, if any.
    pub first_s: Option<f64>,
    /// Last moment of disagreement (the end of the run if still open).
    pub last_s: Option<f64>,
    /// Still mixed when the run ended.
    pub open_at_end: bool,
}

/// Retries, by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Retries {
    pub transfer: u64,
    pub apply: u64,
    pub workstation: u64,
}

/// Workstation outcome counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkstationCounts {
    pub total: u32,
    pub updated: u32,
    /// Old version removed, new one failed to install after retries: has neither.
    pub failed: u32,
    /// Never touched (rollout stopped).
    pub not_attempted: u32,
    /// When the first workstation step started (the push, or the group-policy
    /// assignment); absent without workstations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_at_s: Option<f64>,
    /// When 50 %, 95 % and 100 % of the workstations ran the new client (from the start of
    /// the run); absent when never reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_50_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_95_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_100_s: Option<f64>,
    /// How long new servers talked to old clients: from the first node on the new version
    /// to the last workstation updated (the end of the run when some never were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_server_mixed_s: Option<f64>,
    /// Some workstations never got the new client: the window was still open at the end.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_server_mixed_open: bool,
}

/// Convergence of the nodes of one site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteResult {
    /// The site's name (`local`: nodes at the management host's site, no WAN).
    pub name: String,
    /// Affected nodes at the site.
    pub nodes: u32,
    pub converged: u32,
    /// When the distribution share had reached the site (absent: never needed; 0 for
    /// `local`).
    pub share_at_s: Option<f64>,
    /// Convergence times of its converged nodes (from the start of the run).
    pub p50_s: Option<f64>,
    pub max_s: Option<f64>,
}

/// Why and when the rollout stopped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopInfo {
    pub at_s: f64,
    pub reason: String,
    pub rolled_back: bool,
}

/// Time series for the report; not serialized into the result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Nodes converged at the end (runbook runs only; empty for standard plans).
    pub converged_nodes: Vec<u32>,
    /// (time, nodes on the target version), at most a few hundred points.
    pub converged: Vec<(Micros, u32)>,
    /// Downtime per VU.
    pub vu_downtime: Vec<Micros>,
    pub makespan: Micros,
    pub rollout_start: Micros,
    pub rollout_end: Micros,
}

/// The measured outcome of one timing run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimingResult {
    pub seed: u64,
    pub procedure: Procedure,
    pub strategy: Strategy,
    /// Every affected node converged, none is left pending, every workstation updated.
    pub passed: bool,
    pub makespan_s: f64,
    pub rollout_start_s: f64,
    pub rollout_end_s: f64,
    pub waves: u32,
    pub nodes: NodeCounts,
    pub convergence_s: Option<Convergence>,
    pub vu_downtime_s: Option<Downtime>,
    pub mixed_version: Vec<MixedWindow>,
    pub bytes_sent: u64,
    pub retries: Retries,
    pub workstations: WorkstationCounts,
    pub peak_concurrent_transfers: u32,
    pub stopped: Option<StopInfo>,
    /// When each step of the plan ran (for runbook runs: one per runbook step).
    pub steps: Vec<StepSpan>,
    /// Nodes that finally failed (transfer or apply), first ones by name.
    pub failed_nodes: FailedList,
    /// Workstations whose MSI install finally failed, first ones by name.
    pub failed_workstations: FailedList,
    /// Maintenance windows: whether every VU was down only inside one (absent without
    /// `[timing.windows]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<super::windows::WindowResult>,
    /// Per-site convergence (absent without `[[timing.sites]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<SiteResult>,
    #[serde(skip)]
    pub series: Series,
}

/// When one step ran and on how many nodes or workstations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSpan {
    /// 1-based, in execution order.
    pub step: u32,
    pub start_s: f64,
    pub end_s: f64,
    /// Nodes (synchronize, apply, rollout) or workstations it worked on; 0 for IA actions.
    pub targets: u32,
}

/// How many items failed, and the first [`FailedList::MAX_NAMED`] of them by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FailedList {
    pub count: u32,
    pub first: Vec<FailedItem>,
}

impl FailedList {
    /// Items named in a result; the count says how many there are in all.
    pub const MAX_NAMED: usize = 20;
}

/// One failed node or workstation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedItem {
    pub name: String,
    /// What failed: `transfer`, `apply` or `msi-install`.
    pub what: &'static str,
    /// The step during which it failed (1-based).
    pub step: u32,
    pub at_s: f64,
}

impl TimingResult {
    /// The timing properties: `(id, passed, what failed)`, for the property table and the
    /// exit code. Ids are kebab-case like the core's property names.
    pub fn properties(&self) -> Vec<(&'static str, bool, String)> {
        let n = &self.nodes;
        let w = &self.workstations;
        vec![
            (
                "timing-nodes-converged",
                n.converged == n.affected,
                format!(
                    "{} of {} affected nodes on the target version ({} failed, {} rolled back, {} not attempted)",
                    n.converged, n.affected, n.failed, n.rolled_back, n.not_attempted
                ),
            ),
            (
                "timing-no-pending-change",
                n.pending_change == 0,
                format!(
                    "{} nodes received the files but were never applied",
                    n.pending_change
                ),
            ),
            (
                "timing-workstations-updated",
                w.updated == w.total,
                format!(
                    "{} of {} workstations updated ({} failed with neither version, {} not attempted)",
                    w.updated, w.total, w.failed, w.not_attempted
                ),
            ),
            (
                "timing-rollout-completed",
                self.stopped.is_none(),
                self.stopped
                    .as_ref()
                    .map(|s| format!("stopped at {:.3}s: {}", s.at_s, s.reason))
                    .unwrap_or_default(),
            ),
        ]
        .into_iter()
        .chain(self.windows.as_ref().map(|w| {
            (
                "timing-within-windows",
                w.fits,
                format!(
                    "{} VUs down outside a maintenance window ({} windows used)",
                    w.vus_outside, w.windows_needed
                ),
            )
        }))
        .collect()
    }

    /// Scalar metrics by name, for sweeps: integers only (times in microseconds), so a
    /// sweep's per-seed records survive a JSON round trip exactly and `merge` of shards
    /// reproduces a single sweep bit for bit. `None` when not defined (nothing converged).
    pub fn flat_metrics(&self) -> Vec<(&'static str, Option<u64>)> {
        let us = |s: f64| (s * 1e6).round() as u64;
        let conv = self.convergence_s.as_ref();
        let down = self.vu_downtime_s.as_ref();
        let max_window = self
            .mixed_version
            .iter()
            .map(|w| us(w.window_s))
            .max()
            .unwrap_or(0);
        let mut out = vec![
            ("passed", Some(u64::from(self.passed))),
            ("makespan_us", Some(self.series.makespan)),
            (
                "rollout_us",
                Some(self.series.rollout_end - self.series.rollout_start),
            ),
            ("convergence_p50_us", conv.map(|c| us(c.p50_s))),
            ("convergence_p95_us", conv.map(|c| us(c.p95_s))),
            ("convergence_p99_us", conv.map(|c| us(c.p99_s))),
            ("convergence_max_us", conv.map(|c| us(c.max_s))),
            ("vu_downtime_mean_us", down.map(|d| us(d.mean_s))),
            ("vu_downtime_max_us", down.map(|d| us(d.max_s))),
            ("mixed_window_max_us", Some(max_window)),
            ("bytes_sent", Some(self.bytes_sent)),
            (
                "retries",
                Some(self.retries.transfer + self.retries.apply + self.retries.workstation),
            ),
            ("converged_nodes", Some(u64::from(self.nodes.converged))),
            ("failed_nodes", Some(u64::from(self.nodes.failed))),
            (
                "failed_workstations",
                Some(u64::from(self.workstations.failed)),
            ),
            (
                "peak_concurrent_transfers",
                Some(u64::from(self.peak_concurrent_transfers)),
            ),
            ("stopped", Some(u64::from(self.stopped.is_some()))),
        ];
        // Present only when the scenario has the feature, so that older scenarios keep
        // exactly their metrics.
        if !self.sites.is_empty() {
            let latest =
                |f: fn(&SiteResult) -> Option<f64>| self.sites.iter().filter_map(f).map(us).max();
            out.extend([
                ("slowest_site_convergence_max_us", latest(|s| s.max_s)),
                ("latest_site_share_us", latest(|s| s.share_at_s)),
            ]);
        }
        let w = &self.workstations;
        if w.push_at_s.is_some() {
            out.extend([
                ("ws_updated_50_us", w.updated_50_s.map(us)),
                ("ws_updated_95_us", w.updated_95_s.map(us)),
                ("ws_updated_100_us", w.updated_100_s.map(us)),
                ("client_server_mixed_us", w.client_server_mixed_s.map(us)),
            ]);
        }
        if let Some(w) = &self.windows {
            out.extend([
                ("windows_needed", Some(u64::from(w.windows_needed))),
                ("fits_windows", Some(u64::from(w.fits))),
                ("vus_outside_window", Some(u64::from(w.vus_outside))),
            ]);
        }
        out
    }
}
