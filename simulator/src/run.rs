//! Running runbooks against a model: steps, violations, properties and logical metrics.
//!
//! A run is a pure function of (model, hotfix, runbooks, options): no clock, no
//! randomness, so the same input gives the same [`RunReport`], byte for byte, in JSON.
//! Logical metrics count steps, not seconds; the timing engine (`crate::timing`) turns
//! the recorded [`StepTrace`] into durations and adds its own metrics.

use std::collections::BTreeSet;

use crate::model::{Model, NodeId, SetId, VuId, WsId};
use crate::ops::{self, Action, HotfixInfo, Session};
use crate::properties::{self, Kind, PhaseFacts, PropertyResult};
use crate::rules::RuleId;
use crate::runbook::{OnViolation, Procedure, Runbook};

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides every runbook's own `on-violation`.
    pub on_violation: Option<OnViolation>,
    /// Also check `model-restored`: the model ends byte-identical to how it began.
    pub expect_model_unchanged: bool,
    /// Keep a [`StepTrace`] per step (for the timing engine).
    pub record_trace: bool,
}

/// A broken rule or a failed "eventually" property.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// 1-based step number across all runbooks of the run; `None` for a property that
    /// failed at the end of a runbook.
    pub step: Option<u32>,
    /// Action name, or `end-of-run` for a failed "eventually" property.
    pub action: String,
    /// The object acted on (`vu CS_VU01 package ChatServer hotfix HF-...`).
    pub object: String,
    /// What was broken: a step rule, an end-of-run property or a timing failure.
    pub rule: RuleId,
    pub message: String,
    /// `file:line` of the step, for steps from a runbook file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Simulated time (seconds) when it happened: the end of its step, or of the run for
    /// an end-of-run property; `None` when no timing ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_s: Option<f64>,
}

/// What one step did, for the timing engine: which nodes received files (synchronize),
/// which applied, which VU changed state, which workstations ran an installer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTrace {
    pub step: u32,
    /// Index of the runbook (phase) in the run.
    pub phase: u32,
    pub action: &'static str,
    /// The step's action (for fields such as the VU or the MSI product).
    pub detail: Action,
    /// False when the step was refused.
    pub performed: bool,
    pub synced_nodes: Vec<NodeId>,
    pub applied_nodes: Vec<NodeId>,
    pub vu_state: Option<(VuId, bool)>,
    pub workstations: Vec<WsId>,
}

/// The result of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// True when every property holds.
    pub passed: bool,
    pub properties: Vec<PropertyResult>,
    pub violations: Vec<Violation>,
    /// Logical metrics and, when timing ran, the timing result (`docs/SIMULATOR.md`).
    pub metrics: Metrics,
    /// Per-step effects, when [`RunOptions::record_trace`] is set.
    #[serde(skip)]
    pub trace: Vec<StepTrace>,
}

/// What a run measured. Counted in steps (the logical part, absent for a timing-only
/// scenario) and in simulated time (`timing`). Fields in alphabetical order, as they
/// appear in the JSON result.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub steps: Option<StepMetrics>,
    /// The timing result of the same steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<crate::timing::TimingResult>,
    /// Violations in all (step, end-of-run and timing).
    pub violations: u64,
}

/// Metrics counted in runbook steps; they mean the same whatever the starting model.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StepMetrics {
    /// Step after which every affected instance was at its target with nothing pending
    /// (`None`: never, or undone later).
    pub converged_at_step: Option<u32>,
    /// (Instance, package) changes applied.
    pub instances_changed: u64,
    /// Steps after which instances of an affected package disagreed.
    pub mixed_version_steps: u64,
    pub nodes: u64,
    pub nodes_applied: u64,
    pub nodes_synchronized: u64,
    pub steps: u32,
    pub steps_planned: u64,
    pub stopped_at_step: Option<u32>,
    pub vu_downtime_steps_max: u32,
    pub vu_downtime_steps_total: u64,
    pub vus: u64,
    pub vus_inactivated: u64,
    pub workstations_changed: u64,
}

/// Tracks, per affected software package slot, how many instances carry the hotfix, to
/// measure the mixed-version window and convergence in steps.
struct Convergence {
    /// The hotfix's symbol; `None` until the model knows the hotfix (it is interned when
    /// the runbook extracts it, after this tracker was made).
    hotfix: Option<u32>,
    hotfix_id: String,
    procedure: Procedure,
    /// Per package slot: whether it is affected, and how many instances carry the hotfix.
    affected: Vec<bool>,
    carry: Vec<u32>,
    inst_len: Vec<u32>,
    mixed: u64,
    /// Affected (instance, slot) pairs and how many are at their target.
    total: u64,
    at_target: u64,
}

impl Convergence {
    fn new(model: &Model, info: &HotfixInfo, procedure: Procedure) -> Convergence {
        let hotfix = model.syms.get(&info.id);
        let slots = model.packages.len();
        let mut c = Convergence {
            hotfix,
            hotfix_id: info.id.clone(),
            procedure,
            affected: vec![false; slots],
            carry: vec![0; slots],
            inst_len: vec![0; slots],
            mixed: 0,
            total: 0,
            at_target: 0,
        };
        for v in 0..model.vus.len() as VuId {
            let vu = model.vu(v);
            for (p, slot) in model.vu_packages(v).iter().enumerate() {
                if !info.covers(model.syms.str(slot.name)) {
                    continue;
                }
                let k = (vu.pkg_start as usize) + p;
                c.affected[k] = true;
                c.inst_len[k] = vu.inst_len;
                for i in 0..vu.inst_len {
                    let applied = model.instance_states[model.state_index(v, i, p as u32)].applied;
                    if c.carries(model, applied) {
                        c.carry[k] += 1;
                    }
                }
                c.total += u64::from(vu.inst_len);
                c.at_target += u64::from(c.target_count(k));
                if c.is_mixed(k) {
                    c.mixed += 1;
                }
            }
        }
        c
    }

    fn carries(&self, model: &Model, set: SetId) -> bool {
        self.hotfix.is_some_and(|h| model.sets.contains(set, h))
    }

    fn target_count(&self, k: usize) -> u32 {
        match self.procedure {
            Procedure::Install => self.carry[k],
            Procedure::Remove => self.inst_len[k] - self.carry[k],
        }
    }

    fn is_mixed(&self, k: usize) -> bool {
        self.carry[k] > 0 && self.carry[k] < self.inst_len[k]
    }

    fn applied(&mut self, model: &Model, state_idx: u32, old: SetId) {
        if self.hotfix.is_none() {
            self.hotfix = model.syms.get(&self.hotfix_id);
        }
        if self.hotfix.is_none() {
            return;
        }
        let new = model.instance_states[state_idx as usize].applied;
        let (was, now) = (self.carries(model, old), self.carries(model, new));
        if was == now {
            return;
        }
        // The VU whose state range holds this index (VUs are laid out in order).
        let v = model.vus.partition_point(|vu| vu.state_start <= state_idx);
        let Some(vu) = v.checked_sub(1).and_then(|v| model.vus.get(v)) else {
            return;
        };
        let p = (state_idx - vu.state_start) % vu.pkg_len.max(1);
        let k = (vu.pkg_start + p) as usize;
        if !self.affected[k] {
            return;
        }
        let (mixed_before, target_before) = (self.is_mixed(k), self.target_count(k));
        if now {
            self.carry[k] += 1;
        } else {
            self.carry[k] = self.carry[k].saturating_sub(1);
        }
        match (mixed_before, self.is_mixed(k)) {
            (false, true) => self.mixed += 1,
            (true, false) => self.mixed -= 1,
            _ => {}
        }
        self.at_target =
            self.at_target - u64::from(target_before) + u64::from(self.target_count(k));
    }

    fn converged(&self, model: &Model) -> bool {
        self.at_target == self.total && model.nodes.pending_total == 0
    }
}

/// Runs the runbooks in order against the model (changed in place).
pub fn run(
    model: &mut Model,
    info: &HotfixInfo,
    runbooks: &[Runbook],
    opts: &RunOptions,
) -> RunReport {
    let start_xml = opts
        .expect_model_unchanged
        .then(|| crate::model_xml::save_string(model));
    let mut session = Session::default();
    let mut violations: Vec<Violation> = Vec::new();
    let mut props: Vec<PropertyResult> = Vec::new();
    let mut trace: Vec<StepTrace> = Vec::new();
    let mut step_no = 0u32;
    let mut stopped_at: Option<u32> = None;
    let planned: usize = runbooks.iter().map(|r| r.steps.len()).sum();

    let mut synced = vec![false; model.nodes.len()];
    let mut applied = vec![false; model.nodes.len()];
    let mut ws_changed = vec![false; model.workstations.len()];
    let mut instances_changed = 0u64;
    let mut inactive_since: Vec<Option<u32>> = vec![None; model.vus.len()];
    let mut downtimes: Vec<u32> = Vec::new();
    let mut vus_inactivated = 0u64;
    let mut mixed_steps = 0u64;
    let mut converged_at: Option<u32> = None;

    for (phase, rb) in runbooks.iter().enumerate() {
        if stopped_at.is_some() {
            break;
        }
        let on_violation = opts.on_violation.unwrap_or(rb.on_violation);
        let users: Vec<Vec<WsId>> = info
            .msis
            .iter()
            .map(|m| properties::component_users(model, &m.product.upgrade_code))
            .collect();
        let mut conv = Convergence::new(model, info, rb.procedure);
        let mut inactivated: Vec<VuId> = Vec::new();
        let mut was_inactivated = vec![false; model.vus.len()];
        let mut last_change: Option<u32> = None;
        let mut last_save: Option<u32> = None;
        let mut last_apply: Option<u32> = None;
        let mut last_base_removal: Option<u32> = None;
        let mut broken: BTreeSet<RuleId> = BTreeSet::new();
        converged_at = conv.converged(model).then_some(step_no);

        for step in &rb.steps {
            step_no += 1;
            let out = ops::execute(model, &mut session, &step.action);
            if out.model_changed || out.vu_state.is_some() {
                last_change = Some(step_no);
            }
            if matches!(step.action, Action::SaveModel) && out.performed {
                last_save = Some(step_no);
            }
            if matches!(
                step.action,
                Action::ApplyAllChanges | Action::ApplyChanges { .. }
            ) && out.performed
            {
                last_apply = Some(step_no);
            }
            if matches!(step.action, Action::RemoveHotfixFromBase { .. }) && out.performed {
                last_base_removal = Some(step_no);
            }
            for &n in &out.synced_nodes {
                synced[n as usize] = true;
            }
            for &n in &out.applied_nodes {
                applied[n as usize] = true;
            }
            for &w in &out.workstations {
                ws_changed[w as usize] = true;
            }
            instances_changed += out.applied_changes.len() as u64;
            for &(idx, old) in &out.applied_changes {
                conv.applied(model, idx, old);
            }
            if let Some((v, active)) = out.vu_state {
                let vi = v as usize;
                if active {
                    if let Some(since) = inactive_since[vi].take() {
                        downtimes.push(step_no - since);
                    }
                } else {
                    inactive_since[vi] = Some(step_no);
                    vus_inactivated += 1;
                    if !was_inactivated[vi] {
                        was_inactivated[vi] = true;
                        inactivated.push(v);
                    }
                }
            }
            if conv.mixed > 0 {
                mixed_steps += 1;
            }
            match (conv.converged(model), converged_at) {
                (true, None) => converged_at = Some(step_no),
                (false, Some(_)) => converged_at = None,
                _ => {}
            }
            let refused = !out.refusals.is_empty();
            for r in out.refusals {
                broken.insert(r.rule);
                violations.push(Violation {
                    step: Some(step_no),
                    action: step.action.name().to_owned(),
                    object: step.action.object(),
                    rule: r.rule,
                    message: r.message,
                    origin: step.origin.clone(),
                    time_s: None,
                });
            }
            if opts.record_trace {
                trace.push(StepTrace {
                    step: step_no,
                    phase: phase as u32,
                    action: step.action.name(),
                    detail: step.action.clone(),
                    performed: out.performed,
                    synced_nodes: out.synced_nodes,
                    applied_nodes: out.applied_nodes,
                    vu_state: out.vu_state,
                    workstations: out.workstations,
                });
            }
            if refused && on_violation == OnViolation::Stop {
                stopped_at = Some(step_no);
                break;
            }
        }

        for def in properties::PROPERTIES
            .iter()
            .filter(|p| p.kind == Kind::Always)
        {
            let mut rules: Vec<&str> = broken
                .iter()
                .copied()
                .filter(|&r| ops::property_of(r) == def.name)
                .map(RuleId::as_str)
                .collect();
            rules.sort_unstable();
            props.push(PropertyResult {
                name: def.name,
                passed: rules.is_empty(),
                kind: Kind::Always,
                procedure: rb.procedure,
                detail: (!rules.is_empty()).then(|| format!("broken: {}", rules.join(", "))),
                object: None,
            });
        }
        let facts = PhaseFacts {
            info,
            procedure: rb.procedure,
            inactivated: &inactivated,
            last_change,
            last_save,
            last_apply,
            last_base_removal,
            component_users: &users,
        };
        for p in properties::check_eventually(model, &facts) {
            if !p.passed {
                violations.push(Violation {
                    step: None,
                    action: "end-of-run".into(),
                    object: p.object.clone().unwrap_or_else(|| {
                        format!("{} runbook {}", rb.procedure.as_str(), rb.name)
                    }),
                    rule: RuleId::parse(p.name).unwrap_or(RuleId::InstancesUpdated),
                    message: p.detail.clone().unwrap_or_default(),
                    origin: None,
                    time_s: None,
                });
            }
            props.push(p);
        }
    }

    if let Some(start) = start_xml {
        let end = crate::model_xml::save_string(model);
        let detail = (start != end).then(|| {
            let line = start
                .lines()
                .zip(end.lines())
                .position(|(a, b)| a != b)
                .map_or(start.lines().count().min(end.lines().count()) + 1, |i| {
                    i + 1
                });
            format!("the saved model differs from the start, first at line {line}")
        });
        if let Some(d) = &detail {
            violations.push(Violation {
                step: None,
                action: "end-of-run".into(),
                object: "system model".into(),
                rule: RuleId::ModelRestored,
                message: d.clone(),
                origin: None,
                time_s: None,
            });
        }
        props.push(PropertyResult {
            name: "model-restored",
            passed: detail.is_none(),
            kind: Kind::Eventually,
            procedure: runbooks.last().map_or(Procedure::Install, |r| r.procedure),
            detail,
            object: None,
        });
    }

    // VUs never reactivated count their downtime up to the last step.
    for since in inactive_since.into_iter().flatten() {
        downtimes.push(step_no + 1 - since);
    }
    let count = |v: &[bool]| v.iter().filter(|b| **b).count() as u64;
    let metrics = Metrics {
        steps: Some(StepMetrics {
            converged_at_step: converged_at,
            instances_changed,
            mixed_version_steps: mixed_steps,
            nodes: model.nodes.len() as u64,
            nodes_applied: count(&applied),
            nodes_synchronized: count(&synced),
            steps: step_no,
            steps_planned: planned as u64,
            stopped_at_step: stopped_at,
            vu_downtime_steps_max: downtimes.iter().max().copied().unwrap_or(0),
            vu_downtime_steps_total: downtimes.iter().map(|&d| u64::from(d)).sum(),
            vus: model.vus.len() as u64,
            vus_inactivated,
            workstations_changed: count(&ws_changed),
        }),
        timing: None,
        violations: violations.len() as u64,
    };
    RunReport {
        passed: props.iter().all(|p| p.passed),
        properties: props,
        violations,
        metrics,
        trace,
    }
}

impl RunReport {
    /// Distinct rule ids of step violations, sorted.
    pub fn step_rules(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .violations
            .iter()
            .filter(|v| v.step.is_some())
            .map(|v| v.rule.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Names of failed properties, sorted.
    pub fn failed_properties(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .properties
            .iter()
            .filter(|p| !p.passed)
            .map(|p| p.name)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}
