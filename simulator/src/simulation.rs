//! One simulation: the runbooks given run against the model, and the same steps, in the
//! same order, run through the timing engine; one [`RunReport`] and one verdict.
//!
//! The logical run (`crate::run`) decides what each step does (which nodes receive files,
//! which apply, which workstations change); this module turns those steps into a timing
//! [`Plan`] (one engine step per runbook step), runs the engine, and joins the two: every
//! violation gets the simulated time of its step, every node or workstation the engine saw
//! fail becomes a violation naming it, and a node counts as converged only when the
//! engine applied it *and* the model ends with every affected instance on it at its
//! target. So "timing converged" can never contradict the logical end state.
//!
//! It must never read a clock or open a file: a simulation is a pure function of the
//! model, the hotfix, the runbooks, the timing configuration and the seed.

use std::collections::HashMap;

use crate::model::{Model, VuId};
use crate::ops::{Action, HotfixInfo};
use crate::properties::{Kind, PropertyResult};
use crate::rules::RuleId;
use crate::run::{RunOptions, RunReport, StepTrace, Violation, run};
use crate::runbook::{Procedure, Runbook};
use crate::timing::{
    self, Downtime, EngineStats, FailedList, IaOp, Plan, Step, TimingConfig, TimingError,
    TimingResult, Topology,
};

/// Everything a simulation produced.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The one result: properties, violations (with step, time and object), metrics
    /// (`metrics.timing` holds the timing result).
    pub report: RunReport,
    /// The timing result, joined with the logical end state.
    pub timing: TimingResult,
    /// The engine's own figures (never part of the result).
    pub stats: EngineStats,
    /// What the timing engine ran on, and the plan it followed (for the report).
    pub topology: Topology,
    pub plan: Plan,
    /// Per plan step: the runbook step's action name.
    pub step_actions: Vec<&'static str>,
}

/// Runs `runbooks` against `model` (changed in place) and through the timing engine.
pub fn simulate(
    model: &mut Model,
    info: &HotfixInfo,
    runbooks: &[Runbook],
    cfg: &TimingConfig,
    seed: u64,
    opts: &RunOptions,
) -> Result<Simulation, TimingError> {
    let procedure = runbooks.first().map_or(Procedure::Install, |r| r.procedure);
    let topology = Topology::from_model(model, info, procedure)?;
    let opts = RunOptions {
        record_trace: true,
        ..opts.clone()
    };
    let mut report = run(model, info, runbooks, &opts);
    let plan = plan_from_trace(&report.trace, &topology, model, procedure);
    let (mut result, stats) = timing::simulate_with_stats(&topology, &plan, cfg, seed)?;
    let step_actions: Vec<&'static str> = report.trace.iter().map(|t| t.action).collect();
    // The end state is judged against the last runbook (install then remove ends removed).
    let last = runbooks.last().map_or(procedure, |r| r.procedure);
    join(
        &mut report,
        &mut result,
        &topology,
        model,
        info,
        last,
        cfg.windows.as_ref(),
    );
    Ok(Simulation {
        report,
        timing: result,
        stats,
        topology,
        plan,
        step_actions,
    })
}

/// One engine step per runbook step that ran, with the nodes and workstations the
/// logical run says it touched.
pub fn plan_from_trace(
    trace: &[StepTrace],
    topo: &Topology,
    model: &Model,
    procedure: timing::Procedure,
) -> Plan {
    let ws_index: HashMap<&str, u32> = topo
        .workstation_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i as u32))
        .collect();
    let mut plan = Plan {
        procedure,
        ..Plan::default()
    };
    for t in trace {
        let step = match &t.detail {
            Action::Extract(_) => Step::Idle,
            Action::SetMode(_) => Step::Ia(IaOp::SetMode),
            Action::InactivateVu { .. } => Step::Ia(IaOp::Inactivate),
            Action::ActivateVu { .. } => Step::Ia(IaOp::Activate),
            Action::AddHotfixToBase { .. } => Step::Ia(IaOp::AddToBase),
            Action::RemoveHotfixFromBase { .. } => Step::Ia(IaOp::RemoveFromBase),
            Action::RefreshAllNodes => Step::Ia(IaOp::RefreshAllNodes),
            Action::AddHotfixToPackage { .. } => Step::Ia(IaOp::AddToPackage),
            Action::DeleteHotfixFromPackage { .. } => Step::Ia(IaOp::DeleteFromPackage),
            Action::SaveModel => Step::Ia(IaOp::SaveModel),
            Action::OperatorCheck { wait_us } => Step::Wait(*wait_us),
            Action::SynchronizeInstances { .. } => {
                plan.node_lists.push(t.synced_nodes.clone());
                Step::Synchronize(plan.node_lists.len() as u32 - 1)
            }
            Action::ApplyChanges { .. } | Action::ApplyAllChanges => {
                plan.node_lists.push(t.applied_nodes.clone());
                Step::Apply {
                    list: plan.node_lists.len() as u32 - 1,
                    all_hosts: matches!(t.detail, Action::ApplyAllChanges),
                }
            }
            Action::MsiRemove { .. } | Action::MsiInstall { .. } => {
                let list: Vec<u32> = t
                    .workstations
                    .iter()
                    .filter_map(|&w| {
                        ws_index
                            .get(&*model.workstations.names[w as usize])
                            .copied()
                    })
                    .collect();
                plan.ws_lists.push(list);
                let i = plan.ws_lists.len() as u32 - 1;
                if matches!(t.detail, Action::MsiRemove { .. }) {
                    Step::WsRemove(i)
                } else {
                    Step::WsInstall(i)
                }
            }
        };
        plan.steps.push(step);
    }
    plan
}

/// Per node: whether every affected instance on it ends at its target (carries the
/// hotfix after an install, does not after a removal). Nodes without one are `true`.
fn nodes_at_target(model: &Model, info: &HotfixInfo, procedure: Procedure) -> Vec<bool> {
    let mut ok = vec![true; model.nodes.len()];
    let h = model.syms.get(&info.id);
    for v in 0..model.vus.len() as VuId {
        for (p, slot) in model.vu_packages(v).iter().enumerate() {
            if !info.covers(model.syms.str(slot.name)) {
                continue;
            }
            for (i, &n) in model.vu_nodes(v).iter().enumerate() {
                let applied =
                    model.instance_states[model.state_index(v, i as u32, p as u32)].applied;
                let carries = h.is_some_and(|h| model.sets.contains(applied, h));
                let at = match procedure {
                    Procedure::Install => carries,
                    Procedure::Remove => !carries,
                };
                if !at {
                    ok[n as usize] = false;
                }
            }
        }
    }
    ok
}

fn failed_violations(
    list: &FailedList,
    kind: &str,
    rule: RuleId,
    actions: &[&'static str],
    trace: &[StepTrace],
) -> Vec<Violation> {
    let mut out: Vec<Violation> = list
        .first
        .iter()
        .map(|f| {
            let t = trace.get(f.step as usize - 1);
            Violation {
                step: Some(t.map_or(f.step, |t| t.step)),
                action: actions
                    .get(f.step as usize - 1)
                    .copied()
                    .unwrap_or("timing")
                    .to_owned(),
                object: format!("{kind} {}", f.name),
                rule,
                message: match f.what {
                    "msi-install" => format!(
                        "the MSI install failed on {kind} {} after the old version was removed: it has neither version",
                        f.name
                    ),
                    what => format!("{what} failed on {kind} {}: the change did not reach it", f.name),
                },
                origin: None,
                time_s: Some(f.at_s),
            }
        })
        .collect();
    let named = list.first.len() as u32;
    if list.count > named {
        out.push(Violation {
            step: None,
            action: "timing".into(),
            object: format!("{} more {kind}s", list.count - named),
            rule,
            message: format!(
                "{} {kind}s failed in all; the first {named} are named above",
                list.count
            ),
            origin: None,
            time_s: None,
        });
    }
    out
}

/// Joins the timing result into the logical report (see the module comment).
fn join(
    report: &mut RunReport,
    result: &mut TimingResult,
    topo: &Topology,
    model: &Model,
    info: &HotfixInfo,
    procedure: Procedure,
    windows: Option<&timing::WindowConfig>,
) {
    // Converged in time and at target in the model, or not converged.
    let at_target = nodes_at_target(model, info, procedure);
    let behind = result
        .series
        .converged_nodes
        .iter()
        .filter(|&&n| !at_target.get(n as usize).copied().unwrap_or(true))
        .count() as u32;
    result.nodes.converged -= behind;
    result.nodes.behind = behind;

    // VU downtime in simulated time, from the runbook's own inactivate/activate steps.
    let end_of = |i: usize| -> f64 { result.steps.get(i).map_or(result.makespan_s, |s| s.end_s) };
    let mut down_since: HashMap<VuId, f64> = HashMap::new();
    let mut downtimes: Vec<f64> = Vec::new();
    let mut per_vu: HashMap<VuId, f64> = HashMap::new();
    // (VU, down from, up at), in the order they came up: for the windows.
    let mut intervals: Vec<(VuId, f64, f64)> = Vec::new();
    for (i, t) in report.trace.iter().enumerate() {
        if let Some((v, active)) = t.vu_state {
            if active {
                if let Some(since) = down_since.remove(&v) {
                    downtimes.push(end_of(i) - since);
                    *per_vu.entry(v).or_default() += end_of(i) - since;
                    intervals.push((v, since, end_of(i)));
                }
            } else {
                down_since.entry(v).or_insert(end_of(i));
            }
        }
    }
    let mut still: Vec<(VuId, f64)> = down_since.into_iter().collect();
    still.sort_by_key(|&(v, _)| v);
    for (v, since) in still {
        downtimes.push(result.makespan_s - since);
        *per_vu.entry(v).or_default() += result.makespan_s - since;
        intervals.push((v, since, result.makespan_s));
    }
    if let Some(w) = windows {
        let us = |s: f64| (s * 1e6).round() as u64;
        result.windows = Some(
            w.evaluate(
                intervals
                    .iter()
                    .map(|&(v, a, b)| (model.vu(v).name.to_string(), us(a), us(b))),
                result.series.makespan,
            ),
        );
    }
    // The report's downtime chart: one bar per VU of the topology, in its order.
    result.series.vu_downtime = topo
        .vu_names
        .iter()
        .map(|name| {
            let d = model.vu_id(name).and_then(|v| per_vu.get(&v)).copied();
            (d.unwrap_or(0.0) * 1e6).round() as u64
        })
        .collect();
    if !downtimes.is_empty() {
        let max = downtimes.iter().copied().fold(0.0, f64::max);
        result.vu_downtime_s = Some(Downtime {
            vus: downtimes.len() as u32,
            mean_s: downtimes.iter().sum::<f64>() / downtimes.len() as f64,
            max_s: max,
        });
    }

    let n = &result.nodes;
    let w = &result.workstations;
    result.passed = n.converged == n.affected
        && n.pending_change == 0
        && w.updated == w.total
        && result.stopped.is_none()
        && result.windows.as_ref().is_none_or(|w| w.fits);

    // Times of the logical violations.
    for v in &mut report.violations {
        v.time_s = Some(match v.step {
            Some(s) => report
                .trace
                .iter()
                .position(|t| t.step == s)
                .map_or(result.makespan_s, end_of),
            None => result.makespan_s,
        });
    }
    let actions: Vec<&'static str> = report.trace.iter().map(|t| t.action).collect();
    let trace = std::mem::take(&mut report.trace);
    add_timing(report, result, &actions, &trace, procedure);
    report.trace = trace;
}

/// The timing configuration of a scenario with a model: its `[timing]`, `[faults]` and
/// `[rollout]` tables. `[timing.topology]` and `[timing] procedure` belong to scenarios
/// without a model (here the model is the topology and the runbook the procedure).
pub fn timing_config(scenario: &crate::scenario::Scenario) -> Result<TimingConfig, TimingError> {
    let located = |e: TimingError| match std::fs::read_to_string(&scenario.path) {
        Ok(text) => e.located(&scenario.path, &text),
        Err(_) => e,
    };
    timing_config_inner(scenario).map_err(located)
}

fn timing_config_inner(scenario: &crate::scenario::Scenario) -> Result<TimingConfig, TimingError> {
    let t = &scenario.timing_tables;
    let cfg = TimingConfig::from_tables(t.timing.as_ref(), t.faults.as_ref(), t.rollout.as_ref())?;
    if cfg.topology.is_some() {
        return Err(TimingError::InvalidValue {
            table: "timing".into(),
            key: "topology".into(),
            message: "only for scenarios without a model: the topology comes from the model".into(),
        });
    }
    if cfg.procedure.is_some() {
        return Err(TimingError::InvalidValue {
            table: "timing".into(),
            key: "procedure".into(),
            message: "only for scenarios without a model: the runbook's steps are what is timed"
                .into(),
        });
    }
    Ok(cfg)
}

/// A timing-only scenario (no model: a generated topology and the standard plan) as the
/// same one result: the timing properties, a violation per failure, `metrics.timing`.
pub fn timing_only(
    topology: Topology,
    plan: Plan,
    cfg: &TimingConfig,
    seed: u64,
) -> Result<Simulation, TimingError> {
    let (result, stats) = timing::simulate_with_stats(&topology, &plan, cfg, seed)?;
    let procedure = plan.procedure;
    let step_actions: Vec<&'static str> = plan.steps.iter().map(step_name).collect();
    let mut report = RunReport {
        passed: true,
        properties: Vec::new(),
        violations: Vec::new(),
        metrics: crate::run::Metrics::default(),
        trace: Vec::new(),
    };
    let mut result = result;
    add_timing(&mut report, &mut result, &step_actions, &[], procedure);
    Ok(Simulation {
        report,
        timing: result,
        stats,
        topology,
        plan,
        step_actions,
    })
}

/// The name of a standard plan step, as in results.
pub fn step_name(s: &Step) -> &'static str {
    match s {
        Step::SetMode => "set-mode",
        Step::InactivateVus => "inactivate-vus",
        Step::AddToBase => "add-to-base",
        Step::RemoveFromBase => "remove-from-base",
        Step::RefreshAllNodes => "refresh-all-nodes",
        Step::ChangePackages => "change-packages",
        Step::Rollout => "rollout",
        Step::ActivateVus => "activate-vus",
        Step::SaveModel => "save-model",
        Step::Workstations => "workstations",
        Step::Ia(_) => "ia-action",
        Step::Synchronize(_) => "synchronize-instances",
        Step::Apply { .. } => "apply",
        Step::WsRemove(_) => "msi-remove",
        Step::WsInstall(_) => "msi-install",
        Step::Idle => "idle",
        Step::Wait(_) => "operator-check",
        Step::InactivateVuList(_) => "inactivate-vus",
        Step::ChangePackagesList(_) => "change-packages",
        Step::ActivateVuList(_) => "activate-vus",
    }
}

/// Adds what only the timing engine saw to `report`: a violation per failed node or
/// workstation and per failed timing property, the timing properties, `metrics.timing`,
/// and the one verdict.
fn add_timing(
    report: &mut RunReport,
    result: &mut TimingResult,
    actions: &[&'static str],
    trace: &[StepTrace],
    procedure: Procedure,
) {
    // Failures only the timing engine sees.
    let mut extra = failed_violations(
        &result.failed_nodes,
        "node",
        RuleId::NodeFailed,
        actions,
        trace,
    );
    extra.extend(failed_violations(
        &result.failed_workstations,
        "workstation",
        RuleId::MsiInstallFailed,
        actions,
        trace,
    ));
    if let Some(w) = &result.windows {
        for o in &w.outside {
            extra.push(Violation {
                step: None,
                action: "timing".into(),
                object: format!("vu {}", o.vu),
                rule: RuleId::VuDownOutsideWindow,
                message: format!(
                    "virtual unit {} is down outside a maintenance window from {:.0} s to {:.0} s",
                    o.vu, o.from_s, o.until_s
                ),
                origin: None,
                time_s: Some(o.from_s),
            });
        }
        let named = w.outside.len() as u32;
        if w.vus_outside > named {
            extra.push(Violation {
                step: None,
                action: "timing".into(),
                object: format!("{} more vus", w.vus_outside - named),
                rule: RuleId::VuDownOutsideWindow,
                message: format!(
                    "{} VUs were down outside a window in all; the first {named} are named above",
                    w.vus_outside
                ),
                origin: None,
                time_s: None,
            });
        }
    }
    if let Some(stop) = &result.stopped {
        extra.push(Violation {
            step: None,
            action: "timing".into(),
            object: "rollout".into(),
            rule: RuleId::RolloutStopped,
            message: stop.reason.clone(),
            origin: None,
            time_s: Some(stop.at_s),
        });
    }
    for (name, passed, detail) in result.properties() {
        // A stopped rollout is already a violation of its own.
        if !passed && name != "timing-rollout-completed" {
            extra.push(Violation {
                step: None,
                action: "end-of-run".into(),
                object: match name {
                    "timing-workstations-updated" => "workstations".into(),
                    "timing-within-windows" => "maintenance windows".into(),
                    _ => "nodes".into(),
                },
                rule: RuleId::parse(name).unwrap_or(RuleId::TimingNodesConverged),
                message: detail.clone(),
                origin: None,
                time_s: Some(result.makespan_s),
            });
        }
        report.properties.push(PropertyResult {
            name,
            passed,
            kind: Kind::Eventually,
            procedure,
            detail: (!passed).then_some(detail),
            object: None,
        });
    }
    report.metrics.timing = Some(result.clone());
    report.violations.extend(extra);
    report.metrics.violations = report.violations.len() as u64;
    report.passed = report.properties.iter().all(|p| p.passed) && report.violations.is_empty();
}
