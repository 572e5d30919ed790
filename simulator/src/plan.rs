//! The operator checklist: a runbook as numbered steps an operator follows in the real
//! IA, naming the actual VUs, software packages, base installation and nodes, and for
//! MSI components the per-workstation `msiexec` commands (quiet, no restart) that suit
//! a group-policy or software-distribution push.
//!
//! The checklist comes from a dry run on a copy of the model, so the node lists are the
//! nodes each step really touches, and a runbook that breaks a rule says so up front.

use std::fmt::Write as _;

use crate::model::{IaMode, Model};
use crate::ops::{Action, HotfixInfo};
use crate::run::{RunOptions, Violation, run};
use crate::runbook::Runbook;

/// Most names listed per item in JSON (the total is always given).
pub const MAX_JSON_NAMES: usize = 1000;
/// Most names listed per item in text and Markdown.
pub const MAX_TEXT_NAMES: usize = 12;

/// One numbered checklist item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub number: u32,
    pub action: &'static str,
    /// What to do, in the IA's words.
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Nodes the step touches (at most [`MAX_JSON_NAMES`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub nodes_total: usize,
    /// Workstations the step touches (at most [`MAX_JSON_NAMES`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workstations: Vec<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub workstations_total: usize,
    /// Commands to run (on each workstation, for MSI steps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A checklist for one or more runbooks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Checklist {
    pub hotfix: String,
    pub title: String,
    pub base: String,
    /// Runbook names, in order.
    pub runbooks: Vec<String>,
    pub items: Vec<Item>,
    /// Remarks from deriving the runbooks.
    pub remarks: Vec<String>,
    /// Rules the runbook breaks on this model (from the dry run); empty when it is sound.
    pub violations: Vec<Violation>,
    /// Whether the dry run passed every property.
    pub passed: bool,
}

fn names<'a>(all: impl ExactSizeIterator<Item = &'a str>, max: usize) -> (Vec<String>, usize) {
    let total = all.len();
    (all.take(max).map(str::to_owned).collect(), total)
}

fn product_label(model: &Model, code: &str) -> String {
    match model.product_id(code) {
        Some(p) => {
            let p = &model.msi_products[p as usize];
            format!("{} {}", p.name, p.version)
        }
        None => code.to_owned(),
    }
}

fn describe(model: &Model, action: &Action) -> (String, Vec<String>) {
    let mut cmds = Vec::new();
    let text = match action {
        Action::Extract(h) => {
            let mut covers: Vec<String> =
                h.packages.iter().map(|(n, v)| format!("{n} {v}")).collect();
            covers.extend(
                h.msis
                    .iter()
                    .map(|m| format!("MSI {} {}", m.product.name, m.product.version)),
            );
            cmds.push(format!(
                "hotfix extract {}.zip --install-dir <install-dir> --trusted <keys>",
                h.id
            ));
            format!(
                "Extract hotfix {} into <install-dir>\\Install\\hotfixes\\ and check what it covers: {}.",
                h.id,
                covers.join(", ")
            )
        }
        Action::SetMode(IaMode::Deployment) => "Set the IA to Deployment mode.".into(),
        Action::SetMode(IaMode::Monitoring) => "Set the IA to Monitoring mode.".into(),
        Action::InactivateVu { vu } => format!("Inactivate virtual unit {vu}."),
        Action::ActivateVu { vu } => format!("Activate virtual unit {vu}."),
        Action::AddHotfixToBase { base, hotfix } => format!(
            "Add hotfix {hotfix} to base installation {base}: choose base installation {base}, choose {hotfix} from the list (not listed: browse to Install\\hotfixes), OK."
        ),
        Action::RemoveHotfixFromBase { base, hotfix } => format!(
            "Remove hotfix {hotfix} from base installation {base}: choose base installation {base}, choose {hotfix}, OK."
        ),
        Action::RefreshAllNodes => "Right-click HAC Nodes and choose Refresh All Nodes.".into(),
        Action::AddHotfixToPackage {
            vu,
            package,
            hotfix,
        } => format!(
            "Virtual unit {vu}, Software, {}: right-click, Add Hotfixes, choose {hotfix}, OK.",
            package_label(model, vu, package)
        ),
        Action::DeleteHotfixFromPackage {
            vu,
            package,
            hotfix,
        } => format!(
            "Virtual unit {vu}, Software, {}: right-click, Delete Hotfix, choose {hotfix}, OK.",
            package_label(model, vu, package)
        ),
        Action::SynchronizeInstances { vu: None } => {
            "Right-click Virtual Units and choose Synchronize Instances.".into()
        }
        Action::SynchronizeInstances { vu: Some(vu) } => {
            format!(
                "Synchronize Instances (virtual unit {vu}): right-click Virtual Units, Synchronize Instances."
            )
        }
        Action::ApplyChanges { node } => {
            format!("On HAC node {node}: Apply Changes to Local System.")
        }
        Action::ApplyAllChanges => {
            "Right-click HAC Nodes and choose Apply All Changes to All Hosts.".into()
        }
        Action::SaveModel => "Save the system model.".into(),
        Action::OperatorCheck { wait_us } => format!(
            "Check the virtual units just activated (alarms, calls, chats) for {}; go on with the next wave only if they are healthy.",
            crate::sweep::human_duration_us(*wait_us)
        ),
        Action::MsiRemove {
            product_code,
            workstation,
        } => {
            cmds.push(format!("msiexec /x {product_code} /qn /norestart"));
            format!(
                "Remove {} ({product_code}) from {}.",
                product_label(model, product_code),
                workstation
                    .as_deref()
                    .map_or("every workstation that has it".to_owned(), |w| format!(
                        "workstation {w}"
                    ))
            )
        }
        Action::MsiInstall {
            product_code,
            workstation,
        } => {
            let file = model
                .product_id(product_code)
                .and_then(|p| model.msi_products[p as usize].file.clone())
                .unwrap_or_else(|| format!("{product_code}.msi"));
            cmds.push(format!("msiexec /i {file} /qn /norestart"));
            format!(
                "Install {} from {file} on {} (group policy: assign {file} from the distribution share to these computers, after the removal above).",
                product_label(model, product_code),
                workstation.as_deref().map_or(
                    "every workstation running the component".to_owned(),
                    |w| format!("workstation {w}")
                )
            )
        }
    };
    (text, cmds)
}

fn package_label(model: &Model, vu: &str, package: &str) -> String {
    model
        .vu_id(vu)
        .and_then(|v| {
            let p = model.vu_package_index(v, package)?;
            Some(format!(
                "{package} {}",
                model.syms.str(model.vu_packages(v)[p as usize].version)
            ))
        })
        .unwrap_or_else(|| package.to_owned())
}

/// Builds the checklist by a dry run of the runbooks on a copy of the model.
pub fn checklist(model: &Model, info: &HotfixInfo, runbooks: &[Runbook]) -> Checklist {
    let mut copy = model.clone();
    // Texts use the model as each step finds it, so describe before running each step.
    let mut texts = Vec::new();
    {
        let mut scratch = model.clone();
        let mut session = crate::ops::Session::default();
        for rb in runbooks {
            for step in &rb.steps {
                texts.push(describe(&scratch, &step.action));
                crate::ops::execute(&mut scratch, &mut session, &step.action);
            }
        }
    }
    let report = run(
        &mut copy,
        info,
        runbooks,
        &RunOptions {
            record_trace: true,
            ..RunOptions::default()
        },
    );
    let mut items = Vec::new();
    let mut n = 0u32;
    for (rb_i, rb) in runbooks.iter().enumerate() {
        for (s_i, step) in rb.steps.iter().enumerate() {
            n += 1;
            let (text, commands) = texts.get(n as usize - 1).cloned().unwrap_or_default();
            let tr = report
                .trace
                .get(n as usize - 1)
                .filter(|t| t.step == n && t.phase == rb_i as u32);
            let mut item = Item {
                number: n,
                action: step.action.name(),
                text,
                note: step.note.clone(),
                nodes: Vec::new(),
                nodes_total: 0,
                workstations: Vec::new(),
                workstations_total: 0,
                commands,
            };
            let _ = s_i;
            if let Some(tr) = tr {
                let list = match &step.action {
                    Action::SynchronizeInstances { .. } => &tr.synced_nodes,
                    Action::ApplyChanges { .. } | Action::ApplyAllChanges => &tr.applied_nodes,
                    _ => &Vec::new(),
                };
                (item.nodes, item.nodes_total) =
                    names(list.iter().map(|&x| copy.nodes.name(x)), MAX_JSON_NAMES);
                (item.workstations, item.workstations_total) = names(
                    tr.workstations
                        .iter()
                        .map(|&w| &*copy.workstations.names[w as usize]),
                    MAX_JSON_NAMES,
                );
            }
            if let Action::InactivateVu { vu } | Action::ActivateVu { vu } = &step.action
                && let Some(v) = model.vu_id(vu)
            {
                (item.nodes, item.nodes_total) = names(
                    model.vu_nodes(v).iter().map(|&x| model.nodes.name(x)),
                    MAX_JSON_NAMES,
                );
            }
            items.push(item);
        }
    }
    Checklist {
        hotfix: info.id.clone(),
        title: info.title.clone(),
        base: info.base_key(),
        runbooks: runbooks.iter().map(|r| r.name.clone()).collect(),
        items,
        remarks: runbooks
            .iter()
            .flat_map(|r| r.remarks.iter().cloned())
            .collect(),
        violations: report.violations,
        passed: report.passed,
    }
}

fn short_list(list: &[String], total: usize) -> String {
    let shown: Vec<&str> = list
        .iter()
        .take(MAX_TEXT_NAMES)
        .map(String::as_str)
        .collect();
    if total > shown.len() {
        format!("{} and {} more", shown.join(", "), total - shown.len())
    } else {
        shown.join(", ")
    }
}

fn where_line(item: &Item) -> Option<String> {
    let mut parts = Vec::new();
    if item.nodes_total > 0 {
        let what = match item.action {
            "inactivate-vu" | "activate-vu" => "instances on",
            "synchronize-instances" => "sends the change to",
            _ => "on",
        };
        parts.push(format!(
            "{what} {} node(s): {}",
            item.nodes_total,
            short_list(&item.nodes, item.nodes_total)
        ));
    }
    if item.workstations_total > 0 {
        parts.push(format!(
            "{} workstation(s): {}",
            item.workstations_total,
            short_list(&item.workstations, item.workstations_total)
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Plain text, one numbered item per step.
pub fn render_text(c: &Checklist) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Hotfix {} — {} (base installation {})",
        c.hotfix, c.title, c.base
    );
    let _ = writeln!(out, "Runbook: {}", c.runbooks.join(", then "));
    out.push('\n');
    let width = c.items.len().to_string().len();
    for item in &c.items {
        let _ = writeln!(out, "{:>width$}. [ ] {}", item.number, item.text);
        let pad = " ".repeat(width + 6);
        if let Some(note) = &item.note {
            let _ = writeln!(out, "{pad}({note})");
        }
        if let Some(w) = where_line(item) {
            let _ = writeln!(out, "{pad}{w}");
        }
        for cmd in &item.commands {
            let _ = writeln!(out, "{pad}$ {cmd}");
        }
    }
    if !c.remarks.is_empty() {
        out.push_str("\nRemarks:\n");
        for r in &c.remarks {
            let _ = writeln!(out, "- {r}");
        }
    }
    if !c.violations.is_empty() {
        out.push_str("\nWARNING: on this model the runbook breaks rules:\n");
        for v in &c.violations {
            let step = v.step.map_or("end".to_owned(), |s| format!("step {s}"));
            let _ = writeln!(out, "- {step}: {} — {}", v.rule, v.message);
        }
    }
    out
}

/// Markdown with task-list checkboxes.
pub fn render_markdown(c: &Checklist) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Hotfix {}: {}\n", c.hotfix, c.title);
    let _ = writeln!(
        out,
        "Base installation **{}**. Runbook: {}.\n",
        c.base,
        c.runbooks.join(", then ")
    );
    for item in &c.items {
        let _ = writeln!(out, "{}. [ ] {}", item.number, item.text);
        if let Some(note) = &item.note {
            let _ = writeln!(out, "   - _{note}_");
        }
        if let Some(w) = where_line(item) {
            let _ = writeln!(out, "   - {w}");
        }
        for cmd in &item.commands {
            let _ = writeln!(out, "   - `{cmd}`");
        }
    }
    if !c.remarks.is_empty() {
        out.push_str("\n## Remarks\n\n");
        for r in &c.remarks {
            let _ = writeln!(out, "- {r}");
        }
    }
    if !c.violations.is_empty() {
        out.push_str("\n## Warning: this runbook breaks rules on this model\n\n");
        for v in &c.violations {
            let step = v.step.map_or("end".to_owned(), |s| format!("step {s}"));
            let _ = writeln!(out, "- {step}: `{}` — {}", v.rule, v.message);
        }
    }
    out
}
