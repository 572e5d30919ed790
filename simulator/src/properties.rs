//! The properties of `DOMAIN.md` ("What correct means"), each a named pass/fail.
//!
//! "Always" properties must hold at every step; they are checked by the operations'
//! preconditions as each step runs (a broken rule fails the property it protects, see
//! [`crate::ops::RULES`]). "Eventually" properties are checked on the model at the end
//! of each runbook, for its procedure (install or removal).

use crate::model::{Model, SetId, VuId, WsId};
use crate::ops::HotfixInfo;
use crate::runbook::{Procedure, product_at_version};

/// When a property is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// At every step (through the operations' rules).
    Always,
    /// At the end of each runbook.
    Eventually,
}

/// A property: its stable name, when it is checked and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyDef {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

/// Every property, in report order. `model-restored` is checked only when a scenario
/// asks for it (`expect-model-unchanged = true`).
pub const PROPERTIES: &[PropertyDef] = &[
    PropertyDef {
        name: "no-change-in-monitoring-mode",
        kind: Kind::Always,
        description: "no change was made while the IA was in Monitoring mode",
    },
    PropertyDef {
        name: "no-change-on-active-vu",
        kind: Kind::Always,
        description: "no software package was changed on an active virtual unit",
    },
    PropertyDef {
        name: "hotfix-in-base-before-package",
        kind: Kind::Always,
        description: "no hotfix was added to a software package before it was added (and refreshed) in a base installation of the matching support package",
    },
    PropertyDef {
        name: "package-removal-before-base-removal",
        kind: Kind::Always,
        description: "no hotfix was removed from a base installation while a software package still carried it",
    },
    PropertyDef {
        name: "workstation-never-both-versions",
        kind: Kind::Always,
        description: "no workstation was given a second version of a component",
    },
    PropertyDef {
        name: "only-current-hotfixes-extracted",
        kind: Kind::Always,
        description: "no hotfix was extracted that the scenario's release index withdraws or does not list as current",
    },
    PropertyDef {
        name: "steps-accepted",
        kind: Kind::Always,
        description: "every other step was accepted (known objects, reachable nodes, nothing done twice or discarded)",
    },
    PropertyDef {
        name: "instances-updated",
        kind: Kind::Eventually,
        description: "every instance, on every node, of every affected software package carries the hotfix (install) or does not (removal)",
    },
    PropertyDef {
        name: "hotfix-changes-something",
        kind: Kind::Eventually,
        description: "an install changes something: a node on the hotfix's base installation (release and support package) runs one of the software packages it corrects (checked for hotfixes with server packages)",
    },
    PropertyDef {
        name: "base-cleared-after-removal",
        kind: Kind::Eventually,
        description: "after a removal the hotfix is gone from its base installation, unless a software package on a node of that base still carries it",
    },
    PropertyDef {
        name: "base-removal-applied",
        kind: Kind::Eventually,
        description: "a removal applies its changes after removing the hotfix from the base installation (the seed's order ends: remove from the base, then apply)",
    },
    PropertyDef {
        name: "instances-synchronized",
        kind: Kind::Eventually,
        description: "every instance has the software package configuration of the IA model (Synchronize Instances ran after the last change)",
    },
    PropertyDef {
        name: "no-pending-changes",
        kind: Kind::Eventually,
        description: "no node is left with a change that was not applied",
    },
    PropertyDef {
        name: "vus-reactivated",
        kind: Kind::Eventually,
        description: "every virtual unit the procedure inactivated is active again",
    },
    PropertyDef {
        name: "ends-in-monitoring-mode",
        kind: Kind::Eventually,
        description: "the IA ends in Monitoring mode",
    },
    PropertyDef {
        name: "model-saved-after-last-change",
        kind: Kind::Eventually,
        description: "the system model was saved after the last change",
    },
    PropertyDef {
        name: "workstations-updated",
        kind: Kind::Eventually,
        description: "every workstation that ran the component has exactly one version of it: the hotfix's (install) or the one it replaced (removal)",
    },
    PropertyDef {
        name: "model-restored",
        kind: Kind::Eventually,
        description: "the saved model at the end is byte-identical to the one at the start",
    },
];

/// The definition of a property by name.
pub fn property(name: &str) -> Option<&'static PropertyDef> {
    PROPERTIES.iter().find(|p| p.name == name)
}

/// One checked property.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PropertyResult {
    pub name: &'static str,
    pub passed: bool,
    pub kind: Kind,
    /// `install` or `remove`: the runbook it was checked for.
    pub procedure: Procedure,
    /// Why it failed (absent when it passed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The object a failure concerns (`base 7.0 SP3 hotfix HF-...`), when it is one.
    #[serde(skip)]
    pub object: Option<String>,
}

/// What the end-of-runbook checks need besides the model.
#[derive(Debug, Clone)]
pub struct PhaseFacts<'a> {
    pub info: &'a HotfixInfo,
    pub procedure: Procedure,
    /// VUs this runbook inactivated.
    pub inactivated: &'a [VuId],
    /// Step numbers of the last model change and the last save.
    pub last_change: Option<u32>,
    pub last_save: Option<u32>,
    /// Step numbers of the last apply and of the last removal from a base installation.
    pub last_apply: Option<u32>,
    pub last_base_removal: Option<u32>,
    /// For each MSI of the hotfix: workstations that ran the component at the start.
    pub component_users: &'a [Vec<WsId>],
}

/// Workstations running the component `upgrade_code`.
pub fn component_users(model: &Model, upgrade_code: &str) -> Vec<WsId> {
    let mut cache: std::collections::HashMap<SetId, bool> = std::collections::HashMap::new();
    (0..model.workstations.len() as WsId)
        .filter(|&w| {
            let set = model.workstations.installed[w as usize];
            *cache.entry(set).or_insert_with(|| {
                model.product_sets.members(set).iter().any(|&p| {
                    model.msi_products[p as usize]
                        .upgrade_code
                        .eq_ignore_ascii_case(upgrade_code)
                })
            })
        })
        .collect()
}

fn result(name: &'static str, procedure: Procedure, failure: Option<String>) -> PropertyResult {
    PropertyResult {
        name,
        passed: failure.is_none(),
        kind: property(name).map_or(Kind::Eventually, |p| p.kind),
        procedure,
        detail: failure,
        object: None,
    }
}

/// Checks every "eventually" property (but `model-restored`) on the model.
pub fn check_eventually(model: &Model, facts: &PhaseFacts<'_>) -> Vec<PropertyResult> {
    let proc_ = facts.procedure;
    let info = facts.info;
    let h = model.syms.get(&info.id);
    let base = model.base_for(&info.release, &info.support_package);
    let mut out = Vec::new();

    // instances-updated
    let mut wrong = 0u64;
    let mut total = 0u64;
    let mut example: Option<String> = None;
    for v in 0..model.vus.len() as VuId {
        let vu = model.vu(v);
        for (p, slot) in model.vu_packages(v).iter().enumerate() {
            let name = model.syms.str(slot.name);
            let covered = info.covers(name);
            if proc_ == Procedure::Install && !covered {
                continue;
            }
            for (i, &node) in model.vu_nodes(v).iter().enumerate() {
                if proc_ == Procedure::Install && Some(model.nodes.base[node as usize]) != base {
                    continue;
                }
                let applied =
                    model.instance_states[model.state_index(v, i as u32, p as u32)].applied;
                let carries = h.is_some_and(|h| model.sets.contains(applied, h));
                let ok = match proc_ {
                    Procedure::Install => carries,
                    Procedure::Remove => !carries,
                };
                if covered || !ok {
                    total += 1;
                }
                if !ok {
                    wrong += 1;
                    example.get_or_insert_with(|| {
                        format!("{} {name} on {}", vu.name, model.nodes.name(node))
                    });
                }
            }
        }
    }
    out.push(result(
        "instances-updated",
        proc_,
        (wrong > 0).then(|| {
            format!(
                "{wrong} of {total} instance(s) {} hotfix {} (first: {})",
                if proc_ == Procedure::Install {
                    "lack"
                } else {
                    "still carry"
                },
                info.id,
                example.unwrap_or_default()
            )
        }),
    ));

    if proc_ == Procedure::Install && !info.packages.is_empty() {
        // hotfix-changes-something: judged on the model as it ends, which for an install
        // has the same nodes, bases and VUs as at the start.
        let runs = base.is_some_and(|b| {
            (0..model.vus.len() as VuId).any(|v| {
                model
                    .vu_packages(v)
                    .iter()
                    .any(|slot| info.covers(model.syms.str(slot.name)))
                    && model
                        .vu_nodes(v)
                        .iter()
                        .any(|&n| model.nodes.base[n as usize] == b)
            })
        });
        let mut r = result(
            "hotfix-changes-something",
            proc_,
            (!runs).then(|| {
                let names: Vec<&str> = info.packages.iter().map(|(n, _)| n.as_str()).collect();
                format!(
                    "no node on base installation {} runs {}: the hotfix changes no instance",
                    info.base_key(),
                    names.join(" or ")
                )
            }),
        );
        r.object = Some(format!("hotfix {} base {}", info.id, info.base_key()));
        out.push(r);
    }
    if proc_ == Procedure::Remove {
        // base-cleared-after-removal: "remove it from the base installation when
        // appropriate" means when no software package on a node of that base still
        // carries it (then the IA would refuse anyway, and keeping it is right).
        let left = match (base, h) {
            (Some(b), Some(h)) if model.sets.contains(model.bases[b as usize].hotfixes, h) => {
                let in_use = (0..model.vus.len() as VuId).any(|v| {
                    model
                        .vu_nodes(v)
                        .iter()
                        .any(|&n| model.nodes.base[n as usize] == b)
                        && model
                            .vu_packages(v)
                            .iter()
                            .any(|slot| model.sets.contains(slot.hotfixes, h))
                });
                !in_use
            }
            _ => false,
        };
        let mut r = result(
            "base-cleared-after-removal",
            proc_,
            left.then(|| {
                format!(
                    "hotfix {} is still in base installation {} although no software package carries it; remove it from the base after the packages",
                    info.id,
                    info.base_key()
                )
            }),
        );
        r.object = Some(format!("base {} hotfix {}", info.base_key(), info.id));
        out.push(r);
    }

    if proc_ == Procedure::Remove
        && let Some(b) = facts.last_base_removal
    {
        let mut r = result(
            "base-removal-applied",
            proc_,
            facts.last_apply.is_none_or(|a| a < b).then(|| {
                format!(
                    "the hotfix left the base installation at step {b}, but no apply came after it{}; apply the changes after removing it from the base",
                    facts
                        .last_apply
                        .map_or(String::new(), |a| format!(" (last apply at step {a})"))
                )
            }),
        );
        r.object = Some(format!("base {} hotfix {}", info.base_key(), info.id));
        out.push(r);
    }

    // instances-synchronized
    let mut unsynced = 0u64;
    let mut example: Option<String> = None;
    for v in 0..model.vus.len() as VuId {
        for (p, slot) in model.vu_packages(v).iter().enumerate() {
            for (i, &node) in model.vu_nodes(v).iter().enumerate() {
                let s = model.instance_states[model.state_index(v, i as u32, p as u32)];
                if s.staged != slot.hotfixes {
                    unsynced += 1;
                    example.get_or_insert_with(|| {
                        format!(
                            "{} {} on {}",
                            model.vu(v).name,
                            model.syms.str(slot.name),
                            model.nodes.name(node)
                        )
                    });
                }
            }
        }
    }
    out.push(result(
        "instances-synchronized",
        proc_,
        (unsynced > 0).then(|| {
            format!(
                "{unsynced} instance(s) differ from the IA model; Synchronize Instances did not run after the change (first: {})",
                example.unwrap_or_default()
            )
        }),
    ));

    // no-pending-changes
    let pending: Vec<&str> = (0..model.nodes.len() as u32)
        .filter(|&n| model.nodes.pending[n as usize] > 0)
        .map(|n| model.nodes.name(n))
        .collect();
    out.push(result(
        "no-pending-changes",
        proc_,
        (!pending.is_empty()).then(|| {
            format!(
                "{} node(s) with unapplied changes: {}",
                pending.len(),
                crate::ops::name_list(pending.iter().copied())
            )
        }),
    ));

    // vus-reactivated
    let still: Vec<&str> = facts
        .inactivated
        .iter()
        .filter(|&&v| !model.vu(v).active)
        .map(|&v| &*model.vu(v).name)
        .collect();
    out.push(result(
        "vus-reactivated",
        proc_,
        (!still.is_empty()).then(|| {
            format!(
                "{} virtual unit(s) inactivated by the procedure are still inactive: {}",
                still.len(),
                crate::ops::name_list(still.iter().copied())
            )
        }),
    ));

    out.push(result(
        "ends-in-monitoring-mode",
        proc_,
        (model.mode != crate::model::IaMode::Monitoring)
            .then(|| "the IA is still in Deployment mode".to_owned()),
    ));

    let saved = match (facts.last_change, facts.last_save) {
        (None, _) => None,
        (Some(c), Some(s)) if s > c => None,
        (Some(c), Some(s)) => Some(format!("last change at step {c}, last save at step {s}")),
        (Some(c), None) => Some(format!(
            "the model changed (last at step {c}) and was never saved"
        )),
    };
    out.push(result("model-saved-after-last-change", proc_, saved));

    // workstations-updated
    let mut problems: Vec<String> = Vec::new();
    for (k, msi) in info.msis.iter().enumerate() {
        let users = facts
            .component_users
            .get(k)
            .map_or(&[][..], |u| u.as_slice());
        if users.is_empty() {
            continue;
        }
        let target = match proc_ {
            Procedure::Install => model.product_id(&msi.product.product_code),
            Procedure::Remove => {
                product_at_version(model, &msi.product.upgrade_code, &msi.replaces_version)
            }
        };
        let (mut none, mut both, mut other) = (0usize, 0usize, 0usize);
        let mut first: Option<&str> = None;
        for &w in users {
            let present: Vec<u32> = model
                .product_sets
                .members(model.workstations.installed[w as usize])
                .iter()
                .copied()
                .filter(|&p| {
                    model.msi_products[p as usize]
                        .upgrade_code
                        .eq_ignore_ascii_case(&msi.product.upgrade_code)
                })
                .collect();
            let bad = match present.as_slice() {
                [] => {
                    none += 1;
                    true
                }
                [p] if Some(*p) == target => false,
                [_] => {
                    other += 1;
                    true
                }
                _ => {
                    both += 1;
                    true
                }
            };
            if bad {
                first.get_or_insert(&model.workstations.names[w as usize]);
            }
        }
        if none + both + other > 0 {
            problems.push(format!(
                "{}: {none} workstation(s) without it, {both} with two versions, {other} with the wrong version (first: {})",
                msi.product.name,
                first.unwrap_or_default()
            ));
        }
    }
    out.push(result(
        "workstations-updated",
        proc_,
        (!problems.is_empty()).then(|| problems.join("; ")),
    ));
    out
}
