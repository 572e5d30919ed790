//! Runbooks: ordered lists of IA and workstation actions.
//!
//! The standard install and removal runbooks are derived from a hotfix (what it
//! corrects: software packages, MSIs, base installation) and a model (which VUs hold
//! those packages, which workstations run the component), following the vendor
//! procedure step by step. Custom runbooks are TOML files (or inline `[[step]]` tables
//! in a scenario) so QA can write a wrong procedure and watch the simulator catch it:
//!
//! ```toml
//! procedure = "install"        # or "remove": which end state the properties expect
//! on-violation = "stop"        # or "continue" (default)
//!
//! [[step]]
//! action = "inactivate-vu"
//! vu = "CS_VU01"
//!
//! [[step]]
//! action = "add-hotfix-to-package"
//! vu = "CS_VU01"
//! package = "ChatServer"       # hotfix = defaults to the scenario's package id
//! ```
//!
//! Deriving or parsing never touches the model; only [`crate::run`] executes steps.

use std::path::Path;

use crate::model::{IaMode, Model, ProductId, VuId};
use crate::ops::{ACTION_NAMES, Action, HotfixInfo};
use crate::toml_util::{Doc, TomlError, Value};

/// Which end state a runbook aims for; the "eventually" properties check it, and the
/// timing engine sizes its transfers by it (one type for both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Procedure {
    #[default]
    Install,
    Remove,
}

impl Procedure {
    pub fn as_str(self) -> &'static str {
        match self {
            Procedure::Install => "install",
            Procedure::Remove => "remove",
        }
    }
}

/// What a run does after a step broke a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnViolation {
    /// Report and go on with the next step (the default: shows every problem).
    #[default]
    Continue,
    /// Report and stop, as an operator would when the IA refuses a step.
    Stop,
}

impl OnViolation {
    pub fn parse(s: &str) -> Option<OnViolation> {
        match s {
            "continue" => Some(OnViolation::Continue),
            "stop" => Some(OnViolation::Stop),
            _ => None,
        }
    }
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub action: Action,
    /// Why the step is there (checklist text), if anything beyond the action.
    pub note: Option<String>,
    /// `file:line` of a step from a runbook file.
    pub origin: Option<String>,
}

impl Step {
    fn new(action: Action) -> Step {
        Step {
            action,
            note: None,
            origin: None,
        }
    }

    fn noted(action: Action, note: impl Into<String>) -> Step {
        Step {
            action,
            note: Some(note.into()),
            origin: None,
        }
    }
}

/// An ordered list of steps with its goal and violation policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    /// `standard-install`, `standard-remove`, or the file / scenario it came from.
    pub name: String,
    pub procedure: Procedure,
    pub on_violation: OnViolation,
    pub steps: Vec<Step>,
    /// Remarks from deriving the runbook (VUs skipped and why, missing MSI versions).
    pub remarks: Vec<String>,
}

/// Why a standard runbook cannot be derived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeriveError {
    #[error("the model has no base installation {base}, which hotfix {hotfix} is built for")]
    NoMatchingBase { hotfix: String, base: String },
}

/// VUs holding a package the hotfix corrects, on nodes of its base installation, with
/// the names of those packages. VUs wholly on other bases are returned separately.
fn affected_vus(
    info: &HotfixInfo,
    model: &Model,
    base: u32,
) -> (Vec<(VuId, Vec<String>)>, Vec<String>) {
    let mut hit = Vec::new();
    let mut other_base = Vec::new();
    for v in 0..model.vus.len() as VuId {
        let names: Vec<String> = model
            .vu_packages(v)
            .iter()
            .map(|p| model.syms.str(p.name))
            .filter(|n| info.covers(n))
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            continue;
        }
        if model
            .vu_nodes(v)
            .iter()
            .any(|&n| model.nodes.base[n as usize] == base)
        {
            hit.push((v, names));
        } else {
            other_base.push(model.vu(v).name.to_string());
        }
    }
    (hit, other_base)
}

/// Products of the component `upgrade_code` that some workstation has installed.
fn installed_in_family(model: &Model, upgrade_code: &str) -> Vec<ProductId> {
    let mut seen = vec![false; model.msi_products.len()];
    let mut sets_done = std::collections::HashSet::new();
    for &set in &model.workstations.installed {
        if !sets_done.insert(set) {
            continue;
        }
        for &p in model.product_sets.members(set) {
            if model.msi_products[p as usize]
                .upgrade_code
                .eq_ignore_ascii_case(upgrade_code)
            {
                seen[p as usize] = true;
            }
        }
    }
    (0..model.msi_products.len() as ProductId)
        .filter(|&p| seen[p as usize])
        .collect()
}

/// The product of a component at a version, from the model's MSI catalogue.
pub fn product_at_version(model: &Model, upgrade_code: &str, version: &str) -> Option<ProductId> {
    model
        .msi_products
        .iter()
        .position(|p| p.upgrade_code.eq_ignore_ascii_case(upgrade_code) && p.version == version)
        .map(|i| i as ProductId)
}

/// The standard install runbook for a manifest on a model.
pub fn standard_install(
    manifest: &hotfix_manifest::Manifest,
    model: &Model,
) -> Result<Runbook, DeriveError> {
    standard_install_for(&HotfixInfo::from_manifest(manifest), model)
}

/// The standard removal runbook for a manifest on a model.
pub fn standard_remove(
    manifest: &hotfix_manifest::Manifest,
    model: &Model,
) -> Result<Runbook, DeriveError> {
    standard_remove_for(&HotfixInfo::from_manifest(manifest), model)
}

/// The vendor install procedure (`DOMAIN.md`, steps 1–11, then the workstations).
pub fn standard_install_for(info: &HotfixInfo, model: &Model) -> Result<Runbook, DeriveError> {
    let base_key = info.base_key();
    let base = model
        .base_for(&info.release, &info.support_package)
        .ok_or_else(|| DeriveError::NoMatchingBase {
            hotfix: info.id.clone(),
            base: base_key.clone(),
        })?;
    let mut steps = Vec::new();
    let mut remarks = Vec::new();
    let (vus, other) = affected_vus(info, model, base);
    if !other.is_empty() {
        remarks.push(format!(
            "not affected (no node on base installation {base_key}): {}",
            crate::ops::name_list(other.iter().map(String::as_str))
        ));
    }
    if model.extracted(&info.id).is_none() {
        steps.push(Step::new(Action::Extract(Box::new(info.clone()))));
    }
    let server = !info.packages.is_empty();
    if server {
        if model.mode != IaMode::Monitoring {
            steps.push(Step::noted(
                Action::SetMode(IaMode::Monitoring),
                "start the IA in Monitoring mode",
            ));
        }
        let inactivated: Vec<VuId> = vus
            .iter()
            .map(|(v, _)| *v)
            .filter(|&v| model.vu(v).active)
            .collect();
        for &v in &inactivated {
            steps.push(Step::new(Action::InactivateVu {
                vu: model.vu(v).name.to_string(),
            }));
        }
        steps.push(Step::new(Action::SetMode(IaMode::Deployment)));
        if !model.sets.contains(
            model.bases[base as usize].hotfixes,
            model.syms.get(&info.id).unwrap_or(u32::MAX),
        ) {
            steps.push(Step::new(Action::AddHotfixToBase {
                base: base_key.clone(),
                hotfix: info.id.clone(),
            }));
        }
        steps.push(Step::noted(
            Action::RefreshAllNodes,
            "so that every node sees the new hotfix",
        ));
        let h = model.syms.get(&info.id);
        for (v, names) in &vus {
            for name in names {
                let carries = model
                    .vu_package_index(*v, name)
                    .map(|p| model.vu_packages(*v)[p as usize].hotfixes)
                    .is_some_and(|set| h.is_some_and(|h| model.sets.contains(set, h)));
                if !carries {
                    steps.push(Step::new(Action::AddHotfixToPackage {
                        vu: model.vu(*v).name.to_string(),
                        package: name.clone(),
                        hotfix: info.id.clone(),
                    }));
                }
            }
        }
        steps.push(Step::noted(
            Action::SynchronizeInstances { vu: None },
            "pushes the change to every HAC node where a changed package has instances",
        ));
        steps.push(Step::noted(
            Action::ApplyAllChanges,
            "commits the change on every node (or apply per node)",
        ));
        steps.push(Step::new(Action::SetMode(IaMode::Monitoring)));
        for &v in &inactivated {
            steps.push(Step::new(Action::ActivateVu {
                vu: model.vu(v).name.to_string(),
            }));
        }
        steps.push(Step::new(Action::SaveModel));
    }
    for msi in &info.msis {
        let installed = installed_in_family(model, &msi.product.upgrade_code);
        if installed.is_empty() {
            remarks.push(format!(
                "no workstation runs {}; the MSI step is left out",
                msi.product.name
            ));
            continue;
        }
        for p in installed {
            let old = &model.msi_products[p as usize];
            if old
                .product_code
                .eq_ignore_ascii_case(&msi.product.product_code)
            {
                continue;
            }
            steps.push(Step::noted(
                Action::MsiRemove {
                    product_code: old.product_code.clone(),
                    workstation: None,
                },
                format!("remove the previous version, {} {}", old.name, old.version),
            ));
        }
        steps.push(Step::noted(
            Action::MsiInstall {
                product_code: msi.product.product_code.clone(),
                workstation: None,
            },
            format!("install {} {}", msi.product.name, msi.product.version),
        ));
    }
    Ok(Runbook {
        name: "standard-install".into(),
        procedure: Procedure::Install,
        on_violation: OnViolation::Continue,
        steps,
        remarks,
    })
}

/// The rolling install (`[rollout] strategy = "rolling"`): the vendor procedure of
/// [`standard_install_for`], with its per-VU steps done wave by wave (docs/SIMULATOR.md,
/// "Rolling rollouts"):
///
/// 1. extract; Deployment mode; add the hotfix to the base installation; Refresh All
///    Nodes; Monitoring mode. No VU is down yet: the base only registers the hotfix.
/// 2. per wave of VUs (`wave_size` or `wave_percent`, in `order`): inactivate them (in
///    Monitoring mode, as procedure step 2 says); Deployment mode; add the hotfix to each
///    of their affected packages; Synchronize Instances; Apply All Changes to All Hosts;
///    Monitoring mode; activate them; then, when `pause` is set and a wave follows, an
///    operator check of that long.
/// 3. save the model; the workstations as in the standard install.
///
/// Synchronize Instances and Apply All Changes touch only what is pending, so in a wave
/// they reach exactly the nodes of the wave's VUs (the other VUs' packages are unchanged
/// in the IA) and never need an active VU inactive; the rules check that on every run.
pub fn rolling_install_for(
    info: &HotfixInfo,
    model: &Model,
    rollout: &crate::timing::RolloutConfig,
) -> Result<Runbook, DeriveError> {
    let std = standard_install_for(info, model)?;
    let base = model
        .base_for(&info.release, &info.support_package)
        .ok_or_else(|| DeriveError::NoMatchingBase {
            hotfix: info.id.clone(),
            base: info.base_key(),
        })?;
    let (vus, _) = affected_vus(info, model, base);
    let mut steps = Vec::new();
    let mut rest = std.steps.into_iter().peekable();
    // The standard runbook's prefix (extract, a first Monitoring mode) is kept.
    while let Some(s) = rest.next_if(|s| {
        matches!(s.action, Action::Extract(_))
            || (matches!(s.action, Action::SetMode(IaMode::Monitoring)))
    }) {
        steps.push(s);
    }
    let server = !info.packages.is_empty();
    if server {
        steps.push(Step::noted(
            Action::SetMode(IaMode::Deployment),
            "register the hotfix once; every VU keeps running",
        ));
        let h = model.syms.get(&info.id);
        if !h.is_some_and(|h| model.sets.contains(model.bases[base as usize].hotfixes, h)) {
            steps.push(Step::new(Action::AddHotfixToBase {
                base: info.base_key(),
                hotfix: info.id.clone(),
            }));
        }
        steps.push(Step::noted(
            Action::RefreshAllNodes,
            "so that every node sees the new hotfix",
        ));
        steps.push(Step::new(Action::SetMode(IaMode::Monitoring)));
        let names: Vec<&str> = vus.iter().map(|(v, _)| &*model.vu(*v).name).collect();
        let waves = rollout.rolling_waves(&names);
        let total = waves.len();
        for (w, wave) in waves.iter().enumerate() {
            let label = format!("wave {} of {total}", w + 1);
            let mut first = true;
            let mut down = Vec::new();
            for &i in wave {
                let v = vus[i].0;
                if model.vu(v).active {
                    let mut s = Step::new(Action::InactivateVu {
                        vu: model.vu(v).name.to_string(),
                    });
                    if first {
                        s.note = Some(format!("{label}: its VUs go down, the others keep running"));
                        first = false;
                    }
                    steps.push(s);
                    down.push(v);
                }
            }
            steps.push(Step::noted(
                Action::SetMode(IaMode::Deployment),
                label.clone(),
            ));
            for &i in wave {
                let (v, pkgs) = &vus[i];
                for name in pkgs {
                    let carries = model
                        .vu_package_index(*v, name)
                        .map(|p| model.vu_packages(*v)[p as usize].hotfixes)
                        .is_some_and(|set| h.is_some_and(|h| model.sets.contains(set, h)));
                    if !carries {
                        steps.push(Step::new(Action::AddHotfixToPackage {
                            vu: model.vu(*v).name.to_string(),
                            package: name.clone(),
                            hotfix: info.id.clone(),
                        }));
                    }
                }
            }
            steps.push(Step::noted(
                Action::SynchronizeInstances { vu: None },
                format!("{label}: reaches only the nodes of this wave's VUs"),
            ));
            steps.push(Step::noted(
                Action::ApplyAllChanges,
                format!("{label}: only this wave's nodes have pending changes"),
            ));
            steps.push(Step::new(Action::SetMode(IaMode::Monitoring)));
            for v in down {
                steps.push(Step::new(Action::ActivateVu {
                    vu: model.vu(v).name.to_string(),
                }));
            }
            if rollout.pause > 0 && w + 1 < total {
                steps.push(Step::noted(
                    Action::OperatorCheck {
                        wait_us: rollout.pause,
                    },
                    format!("before wave {} of {total}", w + 2),
                ));
            }
        }
        steps.push(Step::new(Action::SaveModel));
    }
    // The workstation steps of the standard runbook, unchanged.
    steps.extend(rest.filter(|s| {
        matches!(
            s.action,
            Action::MsiRemove { .. } | Action::MsiInstall { .. }
        )
    }));
    Ok(Runbook {
        name: "rolling-install".into(),
        procedure: Procedure::Install,
        on_violation: OnViolation::Continue,
        steps,
        remarks: std.remarks,
    })
}

/// The vendor removal procedure: packages first, then the base installation.
pub fn standard_remove_for(info: &HotfixInfo, model: &Model) -> Result<Runbook, DeriveError> {
    let base_key = info.base_key();
    model
        .base_for(&info.release, &info.support_package)
        .ok_or_else(|| DeriveError::NoMatchingBase {
            hotfix: info.id.clone(),
            base: base_key.clone(),
        })?;
    let mut steps = Vec::new();
    let mut remarks = Vec::new();
    let h = model.syms.get(&info.id);
    // VUs where the hotfix is installed, with the packages carrying it.
    let mut carrying: Vec<(VuId, Vec<String>)> = Vec::new();
    if let Some(h) = h {
        for v in 0..model.vus.len() as VuId {
            let names: Vec<String> = model
                .vu_packages(v)
                .iter()
                .filter(|p| model.sets.contains(p.hotfixes, h))
                .map(|p| model.syms.str(p.name).to_owned())
                .collect();
            if !names.is_empty() {
                carrying.push((v, names));
            }
        }
    }
    let bases: Vec<String> = model
        .bases
        .iter()
        .filter(|b| h.is_some_and(|h| model.sets.contains(b.hotfixes, h)))
        .map(|b| b.key())
        .collect();
    let server = !carrying.is_empty() || !bases.is_empty();
    if server {
        steps.push(Step::noted(
            Action::SetMode(IaMode::Deployment),
            "start the IA and switch to Deployment mode",
        ));
        let inactivated: Vec<VuId> = carrying
            .iter()
            .map(|(v, _)| *v)
            .filter(|&v| model.vu(v).active)
            .collect();
        for &v in &inactivated {
            steps.push(Step::new(Action::InactivateVu {
                vu: model.vu(v).name.to_string(),
            }));
        }
        for (v, names) in &carrying {
            let vu = model.vu(*v).name.to_string();
            for name in names {
                steps.push(Step::new(Action::DeleteHotfixFromPackage {
                    vu: vu.clone(),
                    package: name.clone(),
                    hotfix: info.id.clone(),
                }));
            }
            steps.push(Step::new(Action::SynchronizeInstances { vu: Some(vu) }));
        }
        for base in bases {
            steps.push(Step::noted(
                Action::RemoveHotfixFromBase {
                    base,
                    hotfix: info.id.clone(),
                },
                "only after every software package is rid of it",
            ));
        }
        steps.push(Step::new(Action::ApplyAllChanges));
        for &v in &inactivated {
            steps.push(Step::new(Action::ActivateVu {
                vu: model.vu(v).name.to_string(),
            }));
        }
        steps.push(Step::new(Action::SetMode(IaMode::Monitoring)));
        steps.push(Step::noted(
            Action::SaveModel,
            "not in the vendor text, but the model must be saved after the last change",
        ));
    } else {
        remarks.push(format!(
            "no base installation or software package carries {}; no IA step is needed",
            info.id
        ));
    }
    for msi in &info.msis {
        let installed = installed_in_family(model, &msi.product.upgrade_code);
        let Some(new) = model.product_id(&msi.product.product_code) else {
            continue;
        };
        if !installed.contains(&new) {
            continue;
        }
        steps.push(Step::noted(
            Action::MsiRemove {
                product_code: msi.product.product_code.clone(),
                workstation: None,
            },
            format!("remove {} {}", msi.product.name, msi.product.version),
        ));
        match product_at_version(model, &msi.product.upgrade_code, &msi.replaces_version) {
            Some(old) => {
                let old = &model.msi_products[old as usize];
                steps.push(Step::noted(
                    Action::MsiInstall {
                        product_code: old.product_code.clone(),
                        workstation: None,
                    },
                    format!("reinstall the previous version, {} {}", old.name, old.version),
                ));
            }
            None => remarks.push(format!(
                "the previous version {} of {} is not in the model's MSI catalogue; workstations would end without it",
                msi.replaces_version, msi.product.name
            )),
        }
    }
    Ok(Runbook {
        name: "standard-remove".into(),
        procedure: Procedure::Remove,
        on_violation: OnViolation::Continue,
        steps,
        remarks,
    })
}

// ---------------------------------------------------------------------------------
// Custom runbooks (TOML)

/// A step as written in a runbook file, before defaults are filled in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepSpec {
    pub action: &'static str,
    pub vu: Option<String>,
    pub package: Option<String>,
    pub hotfix: Option<String>,
    pub base: Option<String>,
    pub node: Option<String>,
    pub mode: Option<IaMode>,
    pub workstation: Option<String>,
    pub product_code: Option<String>,
    /// `operator-check`: how long the operator checks, in microseconds.
    pub wait_us: Option<u64>,
    pub note: Option<String>,
    /// `file:line`.
    pub origin: String,
}

/// A custom runbook as written, before it is resolved against a hotfix and a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookSpec {
    pub name: String,
    pub procedure: Procedure,
    pub on_violation: Option<OnViolation>,
    pub steps: Vec<StepSpec>,
}

/// Keys a step may have for an action: (required, optional). `action` and `note` are
/// always allowed.
fn step_keys(action: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match action {
        "set-mode" => (&["mode"], &[]),
        "inactivate-vu" | "activate-vu" => (&["vu"], &[]),
        "add-hotfix-to-base" | "remove-hotfix-from-base" => (&[], &["base", "hotfix"]),
        "add-hotfix-to-package" | "delete-hotfix-from-package" => (&["vu", "package"], &["hotfix"]),
        "synchronize-instances" => (&[], &["vu"]),
        "apply-changes" => (&["node"], &[]),
        "msi-remove" | "msi-install" => (&[], &["product-code", "workstation"]),
        "operator-check" => (&[], &["wait"]),
        _ => (&[], &[]),
    }
}

/// Reads a runbook file.
pub fn load_runbook(path: &Path) -> Result<RunbookSpec, TomlError> {
    let text = crate::scenario::read_text(path)?;
    parse_runbook(path, &text)
}

/// Parses a runbook file's text; `path` is used in messages.
pub fn parse_runbook(path: &Path, text: &str) -> Result<RunbookSpec, TomlError> {
    let (doc, table) = Doc::parse(path, text)?;
    doc.only_keys(
        &table,
        "",
        &["name", "description", "procedure", "on-violation", "step"],
    )?;
    let mut spec = RunbookSpec {
        name: path.display().to_string(),
        procedure: Procedure::Install,
        on_violation: None,
        steps: Vec::new(),
    };
    for (k, v) in doc.entries(&table) {
        let key = k.get_ref().as_ref();
        match key {
            "name" => spec.name = doc.str(v, key)?.to_owned(),
            "description" => {
                doc.str(v, key)?;
            }
            "procedure" => spec.procedure = parse_procedure(&doc, v, key)?,
            "on-violation" => spec.on_violation = Some(parse_on_violation(&doc, v, key)?),
            "step" => spec.steps = parse_steps(&doc, v, "step")?,
            _ => {}
        }
    }
    if spec.steps.is_empty() {
        return Err(doc
            .error(0..0, "step", "a runbook needs at least one [[step]]")
            .with_hint("add [[step]] tables with `action = \"...\"`"));
    }
    Ok(spec)
}

pub(crate) fn parse_procedure(
    doc: &Doc<'_>,
    v: &Value<'_>,
    key: &str,
) -> Result<Procedure, TomlError> {
    match doc.str(v, key)? {
        "install" => Ok(Procedure::Install),
        "remove" => Ok(Procedure::Remove),
        other => Err(doc.error(
            v.span(),
            key,
            format!("`{other}` is not a procedure; use \"install\" or \"remove\""),
        )),
    }
}

pub(crate) fn parse_on_violation(
    doc: &Doc<'_>,
    v: &Value<'_>,
    key: &str,
) -> Result<OnViolation, TomlError> {
    let s = doc.str(v, key)?;
    OnViolation::parse(s).ok_or_else(|| {
        doc.error(
            v.span(),
            key,
            format!("`{s}` is not allowed; use \"continue\" or \"stop\""),
        )
    })
}

/// Parses an array of `[[step]]` tables.
pub(crate) fn parse_steps(
    doc: &Doc<'_>,
    value: &Value<'_>,
    prefix: &str,
) -> Result<Vec<StepSpec>, TomlError> {
    let mut steps = Vec::new();
    for (i, item) in doc.array(value, prefix)?.into_iter().enumerate() {
        let key_prefix = format!("{prefix}[{}]", i + 1);
        let t = doc.table(item, &key_prefix)?;
        let Some(action_v) = t.get("action") else {
            return Err(doc
                .error(item.span(), &format!("{key_prefix}.action"), "missing key")
                .with_hint(format!("actions: {}", ACTION_NAMES.join(", "))));
        };
        let akey = format!("{key_prefix}.action");
        let action_s = doc.str(action_v, &akey)?;
        let Some(&action) = ACTION_NAMES.iter().find(|a| **a == action_s) else {
            return Err(doc
                .error(
                    action_v.span(),
                    &akey,
                    format!("unknown action `{action_s}`"),
                )
                .with_hint(format!("actions: {}", ACTION_NAMES.join(", "))));
        };
        let (required, optional) = step_keys(action);
        let mut allowed: Vec<&str> = vec!["action", "note"];
        allowed.extend_from_slice(required);
        allowed.extend_from_slice(optional);
        for (k, _) in doc.entries(t) {
            let kname = k.get_ref().as_ref();
            if !allowed.contains(&kname) {
                return Err(doc
                    .error(
                        k.span(),
                        &format!("{key_prefix}.{kname}"),
                        format!("unknown key for action `{action}`"),
                    )
                    .with_hint(format!("`{action}` takes: {}", allowed.join(", "))));
            }
        }
        for req in required {
            if !t.contains_key(*req) {
                return Err(doc.error(
                    item.span(),
                    &format!("{key_prefix}.{req}"),
                    format!("action `{action}` needs `{req}`"),
                ));
            }
        }
        let mut s = StepSpec {
            action,
            origin: doc.origin(action_v.span()),
            ..StepSpec::default()
        };
        for (k, v) in doc.entries(t) {
            let kname = k.get_ref().as_ref();
            let full = format!("{key_prefix}.{kname}");
            let text = || doc.str(v, &full).map(str::to_owned);
            match kname {
                "vu" => s.vu = Some(text()?),
                "package" => s.package = Some(text()?),
                "hotfix" => s.hotfix = Some(text()?),
                "base" => s.base = Some(text()?),
                "node" => s.node = Some(text()?),
                "workstation" => s.workstation = Some(text()?),
                "product-code" => s.product_code = Some(text()?),
                "note" => s.note = Some(text()?),
                "wait" => {
                    let d = doc.str(v, &full)?;
                    s.wait_us = Some(crate::timing::parse_duration(d).map_err(|m| {
                        doc.error(v.span(), &full, m)
                            .with_hint("a duration with a unit: \"10m\", \"30s\"")
                    })?);
                }
                "mode" => {
                    let m = doc.str(v, &full)?;
                    s.mode = Some(IaMode::parse(m).ok_or_else(|| {
                        doc.error(
                            v.span(),
                            &full,
                            format!("`{m}` is not a mode; use \"monitoring\" or \"deployment\""),
                        )
                    })?);
                }
                _ => {}
            }
        }
        steps.push(s);
    }
    Ok(steps)
}

impl RunbookSpec {
    /// Fills in defaults (the hotfix id and base of `info`, MSI product codes from the
    /// model's catalogue) and makes a runbook.
    pub fn resolve(&self, info: &HotfixInfo, model: &Model) -> Runbook {
        let new_code = info.msis.first().map(|m| m.product.product_code.clone());
        let old_code = info.msis.first().and_then(|m| {
            product_at_version(model, &m.product.upgrade_code, &m.replaces_version)
                .map(|p| model.msi_products[p as usize].product_code.clone())
        });
        let (install_default, remove_default) = match self.procedure {
            Procedure::Install => (new_code, old_code),
            Procedure::Remove => (old_code, new_code),
        };
        let steps = self
            .steps
            .iter()
            .map(|s| {
                let hotfix = s.hotfix.clone().unwrap_or_else(|| info.id.clone());
                let base = s.base.clone().unwrap_or_else(|| info.base_key());
                let vu = s.vu.clone().unwrap_or_default();
                let package = s.package.clone().unwrap_or_default();
                let action = match s.action {
                    "extract" => Action::Extract(Box::new(info.clone())),
                    "set-mode" => Action::SetMode(s.mode.unwrap_or(IaMode::Deployment)),
                    "inactivate-vu" => Action::InactivateVu { vu },
                    "activate-vu" => Action::ActivateVu { vu },
                    "add-hotfix-to-base" => Action::AddHotfixToBase { base, hotfix },
                    "remove-hotfix-from-base" => Action::RemoveHotfixFromBase { base, hotfix },
                    "refresh-all-nodes" => Action::RefreshAllNodes,
                    "add-hotfix-to-package" => Action::AddHotfixToPackage {
                        vu,
                        package,
                        hotfix,
                    },
                    "delete-hotfix-from-package" => Action::DeleteHotfixFromPackage {
                        vu,
                        package,
                        hotfix,
                    },
                    "synchronize-instances" => Action::SynchronizeInstances { vu: s.vu.clone() },
                    "apply-changes" => Action::ApplyChanges {
                        node: s.node.clone().unwrap_or_default(),
                    },
                    "apply-all-changes" => Action::ApplyAllChanges,
                    "msi-remove" => Action::MsiRemove {
                        product_code: s
                            .product_code
                            .clone()
                            .or_else(|| remove_default.clone())
                            .unwrap_or_default(),
                        workstation: s.workstation.clone(),
                    },
                    "msi-install" => Action::MsiInstall {
                        product_code: s
                            .product_code
                            .clone()
                            .or_else(|| install_default.clone())
                            .unwrap_or_default(),
                        workstation: s.workstation.clone(),
                    },
                    "operator-check" => Action::OperatorCheck {
                        wait_us: s.wait_us.unwrap_or(0),
                    },
                    _ => Action::SaveModel,
                };
                Step {
                    action,
                    note: s.note.clone(),
                    origin: Some(s.origin.clone()),
                }
            })
            .collect();
        Runbook {
            name: self.name.clone(),
            procedure: self.procedure,
            on_violation: self.on_violation.unwrap_or_default(),
            steps,
            remarks: Vec::new(),
        }
    }
}
