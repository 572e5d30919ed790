//! Operations: each action of the Infrastructure Administrator (IA) and of the client
//! workstation rollout, with its preconditions as named rules.
//!
//! An operation whose precondition does not hold is *refused*, as the IA refuses it: the
//! model is left unchanged and the outcome names the rule. Two rules are different: their
//! action is carried out and its effect is the problem (`refresh-discards-pending`: the
//! refresh throws unapplied changes away; `msi-both-versions`: the installer puts a second
//! version beside the first). Nothing here panics on any action against a consistent model.
//!
//! This module must never do I/O or read a clock: a run is a pure function of the model
//! and the runbook.

use std::collections::HashMap;

use crate::model::{IaMode, Model, MsiProduct, NodeId, ProductId, SetId, Sym, VuId, WsId};

/// Stable rule ids. A rule id names one precondition; [`RULES`] maps each to the
/// property of `DOMAIN.md` ("What correct means") it protects.
pub mod rule {
    use crate::rules::RuleId;

    /// No configuration change while the IA is in Monitoring mode.
    pub const MONITORING_MODE_READ_ONLY: RuleId = RuleId::MonitoringModeReadOnly;
    /// Software packages of a VU change only while the VU is inactive.
    pub const VU_MUST_BE_INACTIVE: RuleId = RuleId::VuMustBeInactive;
    /// A hotfix is added to a base installation only from `Install/hotfixes`.
    pub const HOTFIX_NOT_EXTRACTED: RuleId = RuleId::HotfixNotExtracted;
    /// A hotfix goes to the base installation of the support package it was built for.
    pub const SUPPORT_PACKAGE_MISMATCH: RuleId = RuleId::SupportPackageMismatch;
    /// Hotfixes the package requires must be in the base installation first.
    pub const REQUIRED_HOTFIX_MISSING: RuleId = RuleId::RequiredHotfixMissing;
    /// Only a hotfix already in the base installation can be added to a software package.
    pub const HOTFIX_NOT_IN_BASE: RuleId = RuleId::HotfixNotInBase;
    /// Nodes must be refreshed after the base installation changed, before Add Hotfix.
    pub const REFRESH_BEFORE_ADD: RuleId = RuleId::RefreshBeforeAdd;
    /// A hotfix is added only to a software package it carries corrections for.
    pub const HOTFIX_NOT_FOR_PACKAGE: RuleId = RuleId::HotfixNotForPackage;
    /// A hotfix is not removed from a base installation while a package carries it.
    pub const BASE_REMOVAL_WHILE_IN_USE: RuleId = RuleId::BaseRemovalWhileInUse;
    /// A hotfix is removed from a base installation only after Synchronize Instances took
    /// its deletion to every instance (the removal order: delete, synchronize, base).
    pub const BASE_REMOVAL_BEFORE_SYNCHRONIZE: RuleId = RuleId::BaseRemovalBeforeSynchronize;
    /// The hotfix is already in the base installation.
    pub const HOTFIX_ALREADY_IN_BASE: RuleId = RuleId::HotfixAlreadyInBase;
    /// Removing a hotfix the base installation does not have.
    pub const HOTFIX_NOT_REGISTERED: RuleId = RuleId::HotfixNotRegistered;
    /// The software package already carries the hotfix.
    pub const HOTFIX_ALREADY_IN_PACKAGE: RuleId = RuleId::HotfixAlreadyInPackage;
    /// Deleting a hotfix the software package does not carry.
    pub const HOTFIX_NOT_IN_PACKAGE: RuleId = RuleId::HotfixNotInPackage;
    /// "Refresh All Nodes" discarded synchronized changes that were not applied yet.
    pub const REFRESH_DISCARDS_PENDING: RuleId = RuleId::RefreshDiscardsPending;
    /// The IA cannot reach the node's agent.
    pub const NODE_UNREACHABLE: RuleId = RuleId::NodeUnreachable;
    /// A VU, package, node, base, workstation or product not in the model.
    pub const UNKNOWN_OBJECT: RuleId = RuleId::UnknownObject;
    /// Removing an MSI product the workstation does not have.
    pub const MSI_NOT_INSTALLED: RuleId = RuleId::MsiNotInstalled;
    /// Installing an MSI that is not on the distribution share.
    pub const MSI_NOT_AVAILABLE: RuleId = RuleId::MsiNotAvailable;
    /// The workstation already has exactly this product.
    pub const MSI_ALREADY_INSTALLED: RuleId = RuleId::MsiAlreadyInstalled;
    /// Installing a version while another version of the component is still there.
    pub const MSI_BOTH_VERSIONS: RuleId = RuleId::MsiBothVersions;
    /// The scenario's signed release index withdraws the hotfix being extracted.
    pub const HOTFIX_WITHDRAWN: RuleId = RuleId::HotfixWithdrawn;
    /// The release index lists another build (a newer version, another manifest) or
    /// does not list the hotfix being extracted.
    pub const HOTFIX_NOT_CURRENT: RuleId = RuleId::HotfixNotCurrent;
}

/// A rule: its id, the property it protects and a one-line summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: crate::rules::RuleId,
    /// Name of the "always" property in [`crate::properties::PROPERTIES`].
    pub property: &'static str,
    pub summary: &'static str,
}

/// Every precondition rule, in documentation order.
pub const RULES: &[Rule] = &[
    Rule {
        id: rule::HOTFIX_WITHDRAWN,
        property: "only-current-hotfixes-extracted",
        summary: "the hotfix extracted is withdrawn by the scenario's release index",
    },
    Rule {
        id: rule::HOTFIX_NOT_CURRENT,
        property: "only-current-hotfixes-extracted",
        summary: "the hotfix extracted is not the build the scenario's release index lists as current",
    },
    Rule {
        id: rule::MONITORING_MODE_READ_ONLY,
        property: "no-change-in-monitoring-mode",
        summary: "a configuration change was attempted while the IA was in Monitoring mode",
    },
    Rule {
        id: rule::VU_MUST_BE_INACTIVE,
        property: "no-change-on-active-vu",
        summary: "a software package of an active virtual unit was changed (add/delete hotfix, apply)",
    },
    Rule {
        id: rule::HOTFIX_NOT_EXTRACTED,
        property: "hotfix-in-base-before-package",
        summary: "the hotfix was added to a base installation but is not in Install/hotfixes",
    },
    Rule {
        id: rule::SUPPORT_PACKAGE_MISMATCH,
        property: "hotfix-in-base-before-package",
        summary: "the hotfix was added to a base installation of another release or support package",
    },
    Rule {
        id: rule::REQUIRED_HOTFIX_MISSING,
        property: "hotfix-in-base-before-package",
        summary: "a hotfix the package requires is not in the base installation",
    },
    Rule {
        id: rule::HOTFIX_NOT_IN_BASE,
        property: "hotfix-in-base-before-package",
        summary: "the hotfix was added to a software package before it was in the nodes' base installation",
    },
    Rule {
        id: rule::REFRESH_BEFORE_ADD,
        property: "hotfix-in-base-before-package",
        summary: "the hotfix was added to a software package before Refresh All Nodes made the nodes see it",
    },
    Rule {
        id: rule::BASE_REMOVAL_WHILE_IN_USE,
        property: "package-removal-before-base-removal",
        summary: "the hotfix was removed from a base installation while a software package still carried it",
    },
    Rule {
        id: rule::BASE_REMOVAL_BEFORE_SYNCHRONIZE,
        property: "package-removal-before-base-removal",
        summary: "the hotfix was removed from a base installation while instances still carried it (Synchronize Instances had not run after the delete)",
    },
    Rule {
        id: rule::MSI_BOTH_VERSIONS,
        property: "workstation-never-both-versions",
        summary: "an MSI was installed while another version of the component was still on the workstation",
    },
    Rule {
        id: rule::HOTFIX_NOT_FOR_PACKAGE,
        property: "steps-accepted",
        summary: "the hotfix carries no correction for that software package",
    },
    Rule {
        id: rule::HOTFIX_ALREADY_IN_BASE,
        property: "steps-accepted",
        summary: "the base installation already has the hotfix",
    },
    Rule {
        id: rule::HOTFIX_NOT_REGISTERED,
        property: "steps-accepted",
        summary: "the hotfix to remove is not in the base installation",
    },
    Rule {
        id: rule::HOTFIX_ALREADY_IN_PACKAGE,
        property: "steps-accepted",
        summary: "the software package already carries the hotfix",
    },
    Rule {
        id: rule::HOTFIX_NOT_IN_PACKAGE,
        property: "steps-accepted",
        summary: "the hotfix to delete is not on the software package",
    },
    Rule {
        id: rule::REFRESH_DISCARDS_PENDING,
        property: "steps-accepted",
        summary: "Refresh All Nodes discarded synchronized changes that were not applied",
    },
    Rule {
        id: rule::NODE_UNREACHABLE,
        property: "steps-accepted",
        summary: "a node the step needed could not be reached",
    },
    Rule {
        id: rule::UNKNOWN_OBJECT,
        property: "steps-accepted",
        summary: "the step names a VU, package, node, base, workstation or product the model lacks",
    },
    Rule {
        id: rule::MSI_NOT_INSTALLED,
        property: "steps-accepted",
        summary: "the MSI product to remove is not on the workstation(s)",
    },
    Rule {
        id: rule::MSI_NOT_AVAILABLE,
        property: "steps-accepted",
        summary: "the MSI to install is not on the distribution share",
    },
    Rule {
        id: rule::MSI_ALREADY_INSTALLED,
        property: "steps-accepted",
        summary: "the workstation already has this MSI product",
    },
];

/// The property a rule protects (`steps-accepted` for unknown ids).
pub fn property_of(rule_id: crate::rules::RuleId) -> &'static str {
    RULES
        .iter()
        .find(|r| r.id == rule_id)
        .map_or("steps-accepted", |r| r.property)
}

/// What the simulator needs to know about a hotfix package (from its manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotfixInfo {
    pub id: String,
    pub title: String,
    pub release: String,
    pub support_package: String,
    /// Software packages it corrects: (name, version after the hotfix).
    pub packages: Vec<(String, String)>,
    pub requires: Vec<String>,
    /// Client components.
    pub msis: Vec<MsiInfo>,
    /// Payload bytes per software package name (for transfer models), same order as
    /// `packages`.
    pub package_bytes: Vec<u64>,
    /// What the scenario's signed release index says of this build, if it has one.
    pub standing: IndexStanding,
}

/// What a signed release index says of the hotfix a scenario installs. The simulator
/// does not read indexes: the CLI verifies the index under the trust policy and hands
/// over its verdict, as `hotfix extract --index` would judge the package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IndexStanding {
    /// The scenario names no release index.
    #[default]
    Unchecked,
    /// The index lists exactly this build as current.
    Current,
    /// The index withdraws the hotfix.
    Withdrawn { reason: String },
    /// The index lists a newer version or another manifest, or does not list it.
    NotCurrent { message: String },
}

/// A client component of a hotfix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsiInfo {
    /// The new product (its `file` is the MSI's file name).
    pub product: MsiProduct,
    /// The component version it replaces on workstations.
    pub replaces_version: String,
    pub bytes: u64,
}

impl HotfixInfo {
    /// Reads what the simulator needs from a manifest.
    pub fn from_manifest(m: &hotfix_manifest::Manifest) -> HotfixInfo {
        HotfixInfo {
            standing: IndexStanding::Unchecked,
            id: m.id.clone(),
            title: m.title.clone(),
            release: m.base.release.clone(),
            support_package: m.base.support_package.clone(),
            packages: m
                .software_packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
            package_bytes: m
                .software_packages
                .iter()
                .map(|p| p.files.iter().map(|f| f.size).sum())
                .collect(),
            requires: m.requires.clone(),
            msis: m
                .msis
                .iter()
                .map(|c| MsiInfo {
                    product: MsiProduct {
                        product_code: c.product_code.clone(),
                        upgrade_code: c.upgrade_code.clone(),
                        name: c.product_name.clone(),
                        version: c.product_version.clone(),
                        file: Some(
                            c.file
                                .path
                                .rsplit('/')
                                .next()
                                .unwrap_or(&c.file.path)
                                .to_owned(),
                        ),
                    },
                    replaces_version: c.replaces_version.clone(),
                    bytes: c.file.size,
                })
                .collect(),
        }
    }

    /// `7.0 SP3`.
    pub fn base_key(&self) -> String {
        format!("{} {}", self.release, self.support_package)
    }

    /// Whether the hotfix corrects the software package `name`.
    pub fn covers(&self, name: &str) -> bool {
        self.packages.iter().any(|(n, _)| n == name)
    }
}

/// One action of a runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Extract the package into `Install/hotfixes` (procedure step 1).
    Extract(Box<HotfixInfo>),
    SetMode(IaMode),
    InactivateVu {
        vu: String,
    },
    ActivateVu {
        vu: String,
    },
    AddHotfixToBase {
        base: String,
        hotfix: String,
    },
    RemoveHotfixFromBase {
        base: String,
        hotfix: String,
    },
    RefreshAllNodes,
    AddHotfixToPackage {
        vu: String,
        package: String,
        hotfix: String,
    },
    DeleteHotfixFromPackage {
        vu: String,
        package: String,
        hotfix: String,
    },
    /// "Synchronize Instances" on every VU (`None`) or on one.
    SynchronizeInstances {
        vu: Option<String>,
    },
    /// "Apply Changes to Local System" on one node.
    ApplyChanges {
        node: String,
    },
    /// "Apply All Changes to All Hosts".
    ApplyAllChanges,
    SaveModel,
    /// The operator waits `wait_us` and checks the VUs just activated before going on
    /// (between the waves of a rolling rollout). Changes nothing in the model.
    OperatorCheck {
        wait_us: u64,
    },
    /// Remove an MSI product from one workstation or from every workstation having it.
    MsiRemove {
        product_code: String,
        workstation: Option<String>,
    },
    /// Install an MSI from the distribution share on one workstation, or on every
    /// workstation running that component (same UpgradeCode) or from which it was
    /// removed during this run (a group-policy push).
    MsiInstall {
        product_code: String,
        workstation: Option<String>,
    },
}

/// Every action name, as written in runbooks.
pub const ACTION_NAMES: &[&str] = &[
    "extract",
    "set-mode",
    "inactivate-vu",
    "activate-vu",
    "add-hotfix-to-base",
    "remove-hotfix-from-base",
    "refresh-all-nodes",
    "add-hotfix-to-package",
    "delete-hotfix-from-package",
    "synchronize-instances",
    "apply-changes",
    "apply-all-changes",
    "save-model",
    "msi-remove",
    "msi-install",
    "operator-check",
];

impl Action {
    /// The action's name in runbooks and reports, e.g. `add-hotfix-to-package`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Extract(_) => "extract",
            Action::SetMode(_) => "set-mode",
            Action::InactivateVu { .. } => "inactivate-vu",
            Action::ActivateVu { .. } => "activate-vu",
            Action::AddHotfixToBase { .. } => "add-hotfix-to-base",
            Action::RemoveHotfixFromBase { .. } => "remove-hotfix-from-base",
            Action::RefreshAllNodes => "refresh-all-nodes",
            Action::AddHotfixToPackage { .. } => "add-hotfix-to-package",
            Action::DeleteHotfixFromPackage { .. } => "delete-hotfix-from-package",
            Action::SynchronizeInstances { .. } => "synchronize-instances",
            Action::ApplyChanges { .. } => "apply-changes",
            Action::ApplyAllChanges => "apply-all-changes",
            Action::SaveModel => "save-model",
            Action::OperatorCheck { .. } => "operator-check",
            Action::MsiRemove { .. } => "msi-remove",
            Action::MsiInstall { .. } => "msi-install",
        }
    }

    /// The object acted on, for reports: `vu CS_VU01 package ChatServer`.
    pub fn object(&self) -> String {
        match self {
            Action::Extract(h) => format!("hotfix {}", h.id),
            Action::SetMode(m) => format!("ia {}", m.as_str()),
            Action::InactivateVu { vu } | Action::ActivateVu { vu } => format!("vu {vu}"),
            Action::AddHotfixToBase { base, hotfix }
            | Action::RemoveHotfixFromBase { base, hotfix } => {
                format!("base {base} hotfix {hotfix}")
            }
            Action::RefreshAllNodes | Action::ApplyAllChanges => "all nodes".into(),
            Action::AddHotfixToPackage {
                vu,
                package,
                hotfix,
            }
            | Action::DeleteHotfixFromPackage {
                vu,
                package,
                hotfix,
            } => {
                format!("vu {vu} package {package} hotfix {hotfix}")
            }
            Action::SynchronizeInstances { vu } => match vu {
                Some(v) => format!("vu {v}"),
                None => "all virtual units".into(),
            },
            Action::ApplyChanges { node } => format!("node {node}"),
            Action::SaveModel => "system model".into(),
            Action::OperatorCheck { .. } => "operator".into(),
            Action::MsiRemove {
                product_code,
                workstation,
            }
            | Action::MsiInstall {
                product_code,
                workstation,
            } => match workstation {
                Some(w) => format!("workstation {w} product {product_code}"),
                None => format!("workstations product {product_code}"),
            },
        }
    }

    /// Whether the action changes the IA's system model (and so needs Deployment mode,
    /// and a later save).
    pub fn is_model_change(&self) -> bool {
        matches!(
            self,
            Action::AddHotfixToBase { .. }
                | Action::RemoveHotfixFromBase { .. }
                | Action::AddHotfixToPackage { .. }
                | Action::DeleteHotfixFromPackage { .. }
                | Action::SynchronizeInstances { .. }
                | Action::ApplyChanges { .. }
                | Action::ApplyAllChanges
        )
    }
}

/// A broken precondition (or a harmful effect) of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub rule: crate::rules::RuleId,
    pub message: String,
}

/// What one action did. Node and workstation lists are what a timing model needs:
/// which nodes received files, which applied, which workstations ran an installer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Broken rules; empty when the action went through cleanly.
    pub refusals: Vec<Refusal>,
    /// Whether the action was carried out (also true for partial success).
    pub performed: bool,
    /// Whether the IA system model changed (for "saved after the last change").
    pub model_changed: bool,
    /// Nodes that received synchronized changes (file transfers).
    pub synced_nodes: Vec<NodeId>,
    /// Nodes where changes were applied.
    pub applied_nodes: Vec<NodeId>,
    /// (instance state index, applied set before): every applied change.
    pub applied_changes: Vec<(u32, SetId)>,
    /// VU whose active state changed, and its new state.
    pub vu_state: Option<(VuId, bool)>,
    /// Workstations whose installed products changed.
    pub workstations: Vec<WsId>,
}

impl Outcome {
    fn refuse(rule: crate::rules::RuleId, message: impl Into<String>) -> Outcome {
        Outcome {
            refusals: vec![Refusal {
                rule,
                message: message.into(),
            }],
            ..Outcome::default()
        }
    }

    fn done() -> Outcome {
        Outcome {
            performed: true,
            ..Outcome::default()
        }
    }
}

/// State that belongs to a run rather than to the model: which workstations had a
/// component removed (a group-policy push reinstalls there).
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Upper-case UpgradeCode → workstations it was removed from during this run.
    removed: HashMap<String, Vec<WsId>>,
}

/// Lists up to five names and says how many more.
pub fn name_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.into_iter().collect();
    let shown: Vec<&str> = all.iter().take(5).copied().collect();
    if all.len() > shown.len() {
        format!("{} and {} more", shown.join(", "), all.len() - shown.len())
    } else {
        shown.join(", ")
    }
}

fn deployment(model: &Model, action: &Action) -> Option<Outcome> {
    (model.mode == IaMode::Monitoring).then(|| {
        Outcome::refuse(
            rule::MONITORING_MODE_READ_ONLY,
            format!(
                "`{}` changes the system model, but the IA is in Monitoring mode (read-only); switch to Deployment mode first",
                action.name()
            ),
        )
    })
}

fn find_vu(model: &Model, vu: &str) -> Result<VuId, Refusal> {
    model.vu_id(vu).ok_or_else(|| Refusal {
        rule: rule::UNKNOWN_OBJECT,
        message: format!("no virtual unit `{vu}` in the model"),
    })
}

fn find_package(model: &Model, v: VuId, vu: &str, package: &str) -> Result<u32, Refusal> {
    model.vu_package_index(v, package).ok_or_else(|| Refusal {
        rule: rule::UNKNOWN_OBJECT,
        message: format!("virtual unit `{vu}` has no software package `{package}`"),
    })
}

impl From<Refusal> for Outcome {
    fn from(r: Refusal) -> Outcome {
        Outcome {
            refusals: vec![r],
            ..Outcome::default()
        }
    }
}

/// Carries out one action on the model.
pub fn execute(model: &mut Model, session: &mut Session, action: &Action) -> Outcome {
    match action {
        Action::Extract(info) => extract(model, info),
        Action::SetMode(mode) => {
            if model.mode == *mode {
                return Outcome::done();
            }
            model.mode = *mode;
            Outcome::done()
        }
        Action::InactivateVu { vu } | Action::ActivateVu { vu } => {
            let active = matches!(action, Action::ActivateVu { .. });
            let v = match find_vu(model, vu) {
                Ok(v) => v,
                Err(r) => return r.into(),
            };
            let mut out = Outcome::done();
            if model.vus[v as usize].active != active {
                model.vus[v as usize].active = active;
                out.vu_state = Some((v, active));
            }
            out
        }
        Action::AddHotfixToBase { base, hotfix } => add_to_base(model, action, base, hotfix),
        Action::RemoveHotfixFromBase { base, hotfix } => {
            remove_from_base(model, action, base, hotfix)
        }
        Action::RefreshAllNodes => refresh(model),
        Action::AddHotfixToPackage {
            vu,
            package,
            hotfix,
        } => add_to_package(model, action, vu, package, hotfix),
        Action::DeleteHotfixFromPackage {
            vu,
            package,
            hotfix,
        } => delete_from_package(model, action, vu, package, hotfix),
        Action::SynchronizeInstances { vu } => synchronize(model, action, vu.as_deref()),
        Action::ApplyChanges { node } => {
            if let Some(o) = deployment(model, action) {
                return o;
            }
            let Some(n) = model.node_id(node) else {
                return Outcome::refuse(
                    rule::UNKNOWN_OBJECT,
                    format!("no HAC node `{node}` in the model"),
                );
            };
            apply_nodes(model, std::iter::once(n), true)
        }
        Action::ApplyAllChanges => {
            if let Some(o) = deployment(model, action) {
                return o;
            }
            let nodes: Vec<NodeId> = (0..model.nodes.len() as NodeId)
                .filter(|&n| model.nodes.pending[n as usize] > 0)
                .collect();
            apply_nodes(model, nodes.into_iter(), false)
        }
        Action::SaveModel | Action::OperatorCheck { .. } => Outcome::done(),
        Action::MsiRemove {
            product_code,
            workstation,
        } => msi_remove(model, session, product_code, workstation.as_deref()),
        Action::MsiInstall {
            product_code,
            workstation,
        } => msi_install(model, session, product_code, workstation.as_deref()),
    }
}

fn extract(model: &mut Model, info: &HotfixInfo) -> Outcome {
    // `hotfix extract --index` refuses these builds; the folder is never written.
    match &info.standing {
        IndexStanding::Withdrawn { reason } => {
            return Outcome::refuse(
                rule::HOTFIX_WITHDRAWN,
                format!("{} is withdrawn by the release index: {reason}", info.id),
            );
        }
        IndexStanding::NotCurrent { message } => {
            return Outcome::refuse(rule::HOTFIX_NOT_CURRENT, message.clone());
        }
        IndexStanding::Unchecked | IndexStanding::Current => {}
    }
    if model.extracted(&info.id).is_none() {
        let id = model.syms.intern(&info.id);
        let mut packages: Vec<Sym> = info
            .packages
            .iter()
            .map(|(n, _)| model.syms.intern(n))
            .collect();
        packages.sort_unstable();
        packages.dedup();
        let mut requires: Vec<Sym> = info.requires.iter().map(|r| model.syms.intern(r)).collect();
        requires.sort_unstable();
        requires.dedup();
        let mut msis: Vec<String> = info
            .msis
            .iter()
            .map(|m| m.product.product_code.clone())
            .collect();
        msis.sort_unstable();
        msis.dedup();
        model.extracted.push(crate::model::ExtractedHotfix {
            id,
            release: info.release.clone(),
            support_package: info.support_package.clone(),
            packages,
            requires,
            msis,
        });
    }
    // The MSIs land in the hotfix folder, from where they are pushed to workstations.
    for msi in &info.msis {
        match model.product_id(&msi.product.product_code) {
            Some(p) => {
                let p = &mut model.msi_products[p as usize];
                if p.file.is_none() {
                    p.file.clone_from(&msi.product.file);
                }
            }
            None => model.msi_products.push(msi.product.clone()),
        }
    }
    Outcome::done()
}

fn add_to_base(model: &mut Model, action: &Action, base: &str, hotfix: &str) -> Outcome {
    if let Some(o) = deployment(model, action) {
        return o;
    }
    let Some(b) = model.base_id(base) else {
        return Outcome::refuse(
            rule::UNKNOWN_OBJECT,
            format!("no base installation `{base}` in the model"),
        );
    };
    let Some(info) = model.extracted(hotfix).cloned() else {
        return Outcome::refuse(
            rule::HOTFIX_NOT_EXTRACTED,
            format!(
                "hotfix `{hotfix}` is not in Install/hotfixes; extract the package there first"
            ),
        );
    };
    let b_ref = &model.bases[b as usize];
    if info.release != b_ref.release || info.support_package != b_ref.support_package {
        return Outcome::refuse(
            rule::SUPPORT_PACKAGE_MISMATCH,
            format!(
                "hotfix `{hotfix}` is built for {} {}, not for base installation `{base}`",
                info.release, info.support_package
            ),
        );
    }
    if model.sets.contains(b_ref.hotfixes, info.id) {
        return Outcome::refuse(
            rule::HOTFIX_ALREADY_IN_BASE,
            format!("base installation `{base}` already has hotfix `{hotfix}`"),
        );
    }
    let missing: Vec<&str> = info
        .requires
        .iter()
        .filter(|&&r| !model.sets.contains(b_ref.hotfixes, r))
        .map(|&r| model.syms.str(r))
        .collect();
    if !missing.is_empty() {
        return Outcome::refuse(
            rule::REQUIRED_HOTFIX_MISSING,
            format!(
                "hotfix `{hotfix}` requires {} in base installation `{base}` first",
                name_list(missing)
            ),
        );
    }
    let set = model.bases[b as usize].hotfixes;
    model.bases[b as usize].hotfixes = model.sets.with(set, info.id);
    Outcome {
        model_changed: true,
        ..Outcome::done()
    }
}

fn remove_from_base(model: &mut Model, action: &Action, base: &str, hotfix: &str) -> Outcome {
    if let Some(o) = deployment(model, action) {
        return o;
    }
    let Some(b) = model.base_id(base) else {
        return Outcome::refuse(
            rule::UNKNOWN_OBJECT,
            format!("no base installation `{base}` in the model"),
        );
    };
    let h = model.syms.get(hotfix);
    let set = model.bases[b as usize].hotfixes;
    let Some(h) = h.filter(|&h| model.sets.contains(set, h)) else {
        return Outcome::refuse(
            rule::HOTFIX_NOT_REGISTERED,
            format!("base installation `{base}` has no hotfix `{hotfix}`"),
        );
    };
    // Refused while any software package on a node of this base still carries it.
    let mut users: Vec<String> = Vec::new();
    for v in 0..model.vus.len() as VuId {
        if !model
            .vu_nodes(v)
            .iter()
            .any(|&n| model.nodes.base[n as usize] == b)
        {
            continue;
        }
        for p in model.vu_packages(v) {
            if model.sets.contains(p.hotfixes, h) {
                users.push(format!("{}/{}", model.vu(v).name, model.syms.str(p.name)));
            }
        }
    }
    if !users.is_empty() {
        return Outcome::refuse(
            rule::BASE_REMOVAL_WHILE_IN_USE,
            format!(
                "hotfix `{hotfix}` is still on software package(s) {}; delete it from every package (and synchronize) first",
                name_list(users.iter().map(String::as_str))
            ),
        );
    }
    // The seed's order is delete, synchronize, then base: instances that still carry
    // the hotfix in their synchronized configuration mean Synchronize Instances has not
    // run since the delete. The IA carries the removal out; the order is the mistake.
    let mut stale: Vec<NodeId> = Vec::new();
    for v in 0..model.vus.len() as VuId {
        let vu = model.vu(v);
        for (i, &n) in model.vu_nodes(v).iter().enumerate() {
            if model.nodes.base[n as usize] != b {
                continue;
            }
            let carries = (0..vu.pkg_len).any(|p| {
                let s = model.instance_states[model.state_index(v, i as u32, p)];
                model.sets.contains(s.staged, h)
            });
            if carries && !stale.contains(&n) {
                stale.push(n);
            }
        }
    }
    model.bases[b as usize].hotfixes = model.sets.without(set, h);
    let mut out = Outcome {
        model_changed: true,
        ..Outcome::done()
    };
    if !stale.is_empty() {
        stale.sort_unstable();
        out.refusals.push(Refusal {
            rule: rule::BASE_REMOVAL_BEFORE_SYNCHRONIZE,
            message: format!(
                "hotfix `{hotfix}` removed from base installation `{base}` while instances on {} node(s) still carry it ({}); run Synchronize Instances after deleting it from the packages, then remove it from the base",
                stale.len(),
                name_list(stale.iter().map(|&n| model.nodes.name(n)))
            ),
        });
    }
    // A hotfix gone from the base installation is no longer available to its nodes.
    for n in 0..model.nodes.len() {
        if model.nodes.base[n] == b {
            let seen = model.nodes.seen[n];
            model.nodes.seen[n] = model.sets.without(seen, h);
        }
    }
    out
}

fn refresh(model: &mut Model) -> Outcome {
    let mut out = Outcome::done();
    let mut unreachable: Vec<NodeId> = Vec::new();
    let mut discarded_nodes = 0usize;
    let mut discarded = 0u64;
    for n in 0..model.nodes.len() as NodeId {
        let ni = n as usize;
        if !model.nodes.reachable[ni] {
            unreachable.push(n);
            continue;
        }
        model.nodes.seen[ni] = model.bases[model.nodes.base[ni] as usize].hotfixes;
        if model.nodes.pending[ni] > 0 {
            discarded_nodes += 1;
            discarded += u64::from(model.nodes.pending[ni]);
            let list: Vec<u32> = model.node_instance_list(n).to_vec();
            for inst in list {
                let v = model.instance_vu[inst as usize];
                let vu = model.vu(v);
                let i = inst - vu.inst_start;
                for p in 0..vu.pkg_len {
                    let idx = model.state_index(v, i, p);
                    let s = &mut model.instance_states[idx];
                    s.staged = s.applied;
                }
            }
            model.nodes.pending_total = model
                .nodes
                .pending_total
                .saturating_sub(u64::from(model.nodes.pending[ni]));
            model.nodes.pending[ni] = 0;
        }
    }
    if discarded > 0 {
        out.model_changed = true;
        out.refusals.push(Refusal {
            rule: rule::REFRESH_DISCARDS_PENDING,
            message: format!(
                "Refresh All Nodes discarded {discarded} synchronized but unapplied change(s) on {discarded_nodes} node(s); apply changes before refreshing"
            ),
        });
    }
    if !unreachable.is_empty() {
        out.refusals.push(unreachable_refusal(
            model,
            &unreachable,
            "were not refreshed",
        ));
    }
    out
}

fn unreachable_refusal(model: &Model, nodes: &[NodeId], what: &str) -> Refusal {
    Refusal {
        rule: rule::NODE_UNREACHABLE,
        message: format!(
            "{} node(s) unreachable and {what}: {}",
            nodes.len(),
            name_list(nodes.iter().map(|&n| model.nodes.name(n)))
        ),
    }
}

/// The preconditions every change to a VU's software package shares: Deployment mode,
/// the VU and package exist, and the VU is inactive.
fn editable_package(
    model: &Model,
    action: &Action,
    vu: &str,
    package: &str,
) -> Result<(VuId, u32), Box<Outcome>> {
    if let Some(o) = deployment(model, action) {
        return Err(Box::new(o));
    }
    let v = find_vu(model, vu).map_err(|r| Box::new(Outcome::from(r)))?;
    let p = find_package(model, v, vu, package).map_err(|r| Box::new(Outcome::from(r)))?;
    if model.vu(v).active {
        return Err(Box::new(Outcome::refuse(
            rule::VU_MUST_BE_INACTIVE,
            format!("virtual unit `{vu}` is active; inactivate it before changing its software"),
        )));
    }
    Ok((v, p))
}

fn add_to_package(
    model: &mut Model,
    action: &Action,
    vu: &str,
    package: &str,
    hotfix: &str,
) -> Outcome {
    let (v, p) = match editable_package(model, action, vu, package) {
        Ok(found) => found,
        Err(o) => return *o,
    };
    let pkg_sym = model.vu_packages(v)[p as usize].name;
    if let Some(info) = model.extracted(hotfix)
        && info.packages.binary_search(&pkg_sym).is_err()
    {
        return Outcome::refuse(
            rule::HOTFIX_NOT_FOR_PACKAGE,
            format!("hotfix `{hotfix}` carries no correction for software package `{package}`"),
        );
    }
    let h = model.syms.get(hotfix);
    let nodes = model.vu_nodes(v);
    let not_in_base: Vec<NodeId> = nodes
        .iter()
        .copied()
        .filter(|&n| {
            let base = &model.bases[model.nodes.base[n as usize] as usize];
            !h.is_some_and(|h| model.sets.contains(base.hotfixes, h))
        })
        .collect();
    if !not_in_base.is_empty() {
        let bases: Vec<String> = not_in_base
            .iter()
            .map(|&n| model.bases[model.nodes.base[n as usize] as usize].key())
            .collect();
        return Outcome::refuse(
            rule::HOTFIX_NOT_IN_BASE,
            format!(
                "hotfix `{hotfix}` is not in base installation `{}` of node(s) {}; add it to the base installation first",
                bases[0],
                name_list(not_in_base.iter().map(|&n| model.nodes.name(n)))
            ),
        );
    }
    let Some(h) = h else {
        return Outcome::refuse(rule::UNKNOWN_OBJECT, format!("unknown hotfix `{hotfix}`"));
    };
    let unseen: Vec<NodeId> = nodes
        .iter()
        .copied()
        .filter(|&n| !model.sets.contains(model.nodes.seen[n as usize], h))
        .collect();
    if !unseen.is_empty() {
        return Outcome::refuse(
            rule::REFRESH_BEFORE_ADD,
            format!(
                "node(s) {} have not seen hotfix `{hotfix}` yet; run Refresh All Nodes after adding it to the base installation",
                name_list(unseen.iter().map(|&n| model.nodes.name(n)))
            ),
        );
    }
    let slot = (model.vu(v).pkg_start + p) as usize;
    let set = model.packages[slot].hotfixes;
    if model.sets.contains(set, h) {
        return Outcome::refuse(
            rule::HOTFIX_ALREADY_IN_PACKAGE,
            format!("software package `{package}` of `{vu}` already carries hotfix `{hotfix}`"),
        );
    }
    model.packages[slot].hotfixes = model.sets.with(set, h);
    Outcome {
        model_changed: true,
        ..Outcome::done()
    }
}

fn delete_from_package(
    model: &mut Model,
    action: &Action,
    vu: &str,
    package: &str,
    hotfix: &str,
) -> Outcome {
    let (v, p) = match editable_package(model, action, vu, package) {
        Ok(found) => found,
        Err(o) => return *o,
    };
    let slot = (model.vu(v).pkg_start + p) as usize;
    let set = model.packages[slot].hotfixes;
    let Some(h) = model
        .syms
        .get(hotfix)
        .filter(|&h| model.sets.contains(set, h))
    else {
        return Outcome::refuse(
            rule::HOTFIX_NOT_IN_PACKAGE,
            format!("software package `{package}` of `{vu}` does not carry hotfix `{hotfix}`"),
        );
    };
    model.packages[slot].hotfixes = model.sets.without(set, h);
    Outcome {
        model_changed: true,
        ..Outcome::done()
    }
}

fn synchronize(model: &mut Model, action: &Action, vu: Option<&str>) -> Outcome {
    if let Some(o) = deployment(model, action) {
        return o;
    }
    let range = match vu {
        Some(name) => match find_vu(model, name) {
            Ok(v) => v..v + 1,
            Err(r) => return r.into(),
        },
        None => 0..model.vus.len() as VuId,
    };
    let mut out = Outcome::done();
    let mut unreachable: Vec<NodeId> = Vec::new();
    let mut synced = vec![];
    for v in range {
        let vu = model.vus[v as usize].clone();
        for i in 0..vu.inst_len {
            let node = model.instance_nodes[(vu.inst_start + i) as usize];
            let mut touched = false;
            for p in 0..vu.pkg_len {
                let configured = model.packages[(vu.pkg_start + p) as usize].hotfixes;
                let idx = (vu.state_start + i * vu.pkg_len + p) as usize;
                let s = model.instance_states[idx];
                if s.staged == configured {
                    continue;
                }
                if !model.nodes.reachable[node as usize] {
                    touched = false;
                    unreachable.push(node);
                    break;
                }
                let was_pending = s.staged != s.applied;
                let now_pending = configured != s.applied;
                model.instance_states[idx].staged = configured;
                let c = &mut model.nodes.pending[node as usize];
                match (was_pending, now_pending) {
                    (false, true) => {
                        *c += 1;
                        model.nodes.pending_total += 1;
                    }
                    (true, false) => {
                        *c = c.saturating_sub(1);
                        model.nodes.pending_total = model.nodes.pending_total.saturating_sub(1);
                    }
                    _ => {}
                }
                touched = true;
            }
            if touched {
                synced.push(node);
            }
        }
    }
    synced.sort_unstable();
    synced.dedup();
    unreachable.sort_unstable();
    unreachable.dedup();
    out.model_changed = !synced.is_empty();
    out.synced_nodes = synced;
    if !unreachable.is_empty() {
        out.refusals.push(unreachable_refusal(
            model,
            &unreachable,
            "did not receive the change",
        ));
    }
    out
}

fn apply_nodes(model: &mut Model, nodes: impl Iterator<Item = NodeId>, one: bool) -> Outcome {
    let mut out = Outcome::done();
    let mut unreachable: Vec<NodeId> = Vec::new();
    let mut active_hits: Vec<(NodeId, VuId)> = Vec::new();
    for n in nodes {
        let ni = n as usize;
        if model.nodes.pending[ni] == 0 {
            continue;
        }
        if !model.nodes.reachable[ni] {
            unreachable.push(n);
            continue;
        }
        // Refused on this node if a changed package belongs to an active VU.
        let list: Vec<u32> = model.node_instance_list(n).to_vec();
        let active_vu = list.iter().find_map(|&inst| {
            let v = model.instance_vu[inst as usize];
            let vu = model.vu(v);
            let i = inst - vu.inst_start;
            let changed = (0..vu.pkg_len).any(|p| {
                let s = model.instance_states[model.state_index(v, i, p)];
                s.staged != s.applied
            });
            (changed && vu.active).then_some(v)
        });
        if let Some(v) = active_vu {
            active_hits.push((n, v));
            continue;
        }
        for inst in list {
            let v = model.instance_vu[inst as usize];
            let vu = model.vu(v);
            let i = inst - vu.inst_start;
            for p in 0..vu.pkg_len {
                let idx = model.state_index(v, i, p);
                let s = model.instance_states[idx];
                if s.staged != s.applied {
                    out.applied_changes.push((idx as u32, s.applied));
                    model.instance_states[idx].applied = s.staged;
                }
            }
        }
        model.nodes.pending_total = model
            .nodes
            .pending_total
            .saturating_sub(u64::from(model.nodes.pending[ni]));
        model.nodes.pending[ni] = 0;
        out.applied_nodes.push(n);
    }
    out.model_changed = !out.applied_nodes.is_empty();
    if !unreachable.is_empty() {
        out.refusals.push(unreachable_refusal(
            model,
            &unreachable,
            "did not apply their changes",
        ));
    }
    if !active_hits.is_empty() {
        // A VU with instances on several nodes is named once.
        let mut vu_ids: Vec<VuId> = active_hits.iter().map(|&(_, v)| v).collect();
        vu_ids.sort_unstable();
        vu_ids.dedup();
        let vus: Vec<&str> = vu_ids.iter().map(|&v| &*model.vu(v).name).collect();
        out.refusals.push(Refusal {
            rule: rule::VU_MUST_BE_INACTIVE,
            message: format!(
                "changes of active virtual unit(s) {} were not applied on {} node(s) ({}); inactivate the VU first",
                name_list(vus),
                active_hits.len(),
                name_list(active_hits.iter().map(|&(n, _)| model.nodes.name(n)))
            ),
        });
    }
    if one && !unreachable.is_empty() {
        out.performed = false;
    }
    out
}

fn family_of(model: &Model, p: ProductId) -> String {
    model.msi_products[p as usize]
        .upgrade_code
        .to_ascii_uppercase()
}

fn msi_remove(model: &mut Model, session: &mut Session, code: &str, ws: Option<&str>) -> Outcome {
    let Some(p) = model.product_id(code) else {
        return Outcome::refuse(
            rule::UNKNOWN_OBJECT,
            format!("no MSI product `{code}` in the model"),
        );
    };
    let targets: Vec<WsId> = match ws {
        Some(name) => {
            let Some(w) = model.ws_id(name) else {
                return Outcome::refuse(
                    rule::UNKNOWN_OBJECT,
                    format!("no workstation `{name}` in the model"),
                );
            };
            if !model
                .product_sets
                .contains(model.workstations.installed[w as usize], p)
            {
                return Outcome::refuse(
                    rule::MSI_NOT_INSTALLED,
                    format!("workstation `{name}` does not have MSI product `{code}`"),
                );
            }
            vec![w]
        }
        None => (0..model.workstations.len() as WsId)
            .filter(|&w| {
                model
                    .product_sets
                    .contains(model.workstations.installed[w as usize], p)
            })
            .collect(),
    };
    if targets.is_empty() {
        return Outcome::refuse(
            rule::MSI_NOT_INSTALLED,
            format!("no workstation has MSI product `{code}`"),
        );
    }
    let family = family_of(model, p);
    let removed = session.removed.entry(family).or_default();
    for &w in &targets {
        let set = model.workstations.installed[w as usize];
        model.workstations.installed[w as usize] = model.product_sets.without(set, p);
        removed.push(w);
    }
    removed.sort_unstable();
    removed.dedup();
    Outcome {
        workstations: targets,
        ..Outcome::done()
    }
}

fn msi_install(model: &mut Model, session: &mut Session, code: &str, ws: Option<&str>) -> Outcome {
    let Some(p) = model
        .product_id(code)
        .filter(|&p| model.msi_products[p as usize].file.is_some())
    else {
        return Outcome::refuse(
            rule::MSI_NOT_AVAILABLE,
            format!("MSI product `{code}` is not on the distribution share (no file for it)"),
        );
    };
    let family = family_of(model, p);
    let in_family = |model: &Model, w: WsId| -> Vec<ProductId> {
        model
            .product_sets
            .members(model.workstations.installed[w as usize])
            .iter()
            .copied()
            .filter(|&q| family_of(model, q) == family)
            .collect()
    };
    let targets: Vec<WsId> = match ws {
        Some(name) => match model.ws_id(name) {
            Some(w) => vec![w],
            None => {
                return Outcome::refuse(
                    rule::UNKNOWN_OBJECT,
                    format!("no workstation `{name}` in the model"),
                );
            }
        },
        None => {
            let removed = session.removed.get(&family);
            (0..model.workstations.len() as WsId)
                .filter(|&w| {
                    !in_family(model, w).is_empty()
                        || removed.is_some_and(|r| r.binary_search(&w).is_ok())
                })
                .collect()
        }
    };
    let mut out = Outcome::done();
    let mut already: Vec<WsId> = Vec::new();
    let mut both: Vec<WsId> = Vec::new();
    for w in targets {
        let present = in_family(model, w);
        if present.contains(&p) {
            already.push(w);
            continue;
        }
        if !present.is_empty() {
            both.push(w);
        }
        let set = model.workstations.installed[w as usize];
        model.workstations.installed[w as usize] = model.product_sets.with(set, p);
        out.workstations.push(w);
    }
    let names = |ws: &[WsId]| name_list(ws.iter().map(|&w| &*model.workstations.names[w as usize]));
    if !both.is_empty() {
        out.refusals.push(Refusal {
            rule: rule::MSI_BOTH_VERSIONS,
            message: format!(
                "{} workstation(s) now have two versions of `{}` ({}); remove the previous version first",
                both.len(),
                model.msi_products[p as usize].name,
                names(&both)
            ),
        });
    }
    if !already.is_empty() {
        out.refusals.push(Refusal {
            rule: rule::MSI_ALREADY_INSTALLED,
            message: format!(
                "{} workstation(s) already have `{code}` ({})",
                already.len(),
                names(&already)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_is_unique_and_kebab_case() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        for id in ids {
            assert!(
                id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{id}"
            );
        }
    }
}
