//! Shared fixtures: the sample hotfix as the simulator sees it, the committed models.
#![allow(dead_code)]

use std::path::PathBuf;

use hotfix_sim::model::{IaMode, Model, MsiProduct};
use hotfix_sim::ops::{Action, HotfixInfo, MsiInfo};
use hotfix_sim::run::{RunOptions, RunReport, run};
use hotfix_sim::runbook::{OnViolation, Procedure, Runbook, Step};

pub const HF: &str = "HF-7.0.3-0042";
pub const OLD_DESKTOP: &str = "{3C5B7A91-2D4E-4F60-8172-93A4B5C6D7E8}";
pub const NEW_DESKTOP: &str = "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}";

/// `packages/HF-7.0.3-0042` as its manifest describes it (see packages/README.md).
pub fn sample_info() -> HotfixInfo {
    HotfixInfo {
        id: HF.into(),
        title: "Chat messages lost on failover".into(),
        release: "7.0".into(),
        support_package: "SP3".into(),
        packages: vec![
            ("ChatServer".into(), "7.0.3.12".into()),
            ("RoutingEngine".into(), "7.0.3.8".into()),
        ],
        package_bytes: vec![100_000, 50_000],
        standing: Default::default(),
        requires: vec![],
        msis: vec![MsiInfo {
            product: MsiProduct {
                product_code: NEW_DESKTOP.into(),
                upgrade_code: "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}".into(),
                name: "Agent Desktop".into(),
                version: "7.0.3.5".into(),
                file: Some("AgentDesktop.msi".into()),
            },
            replaces_version: "7.0.3.4".into(),
            bytes: 20_000,
        }],
    }
}

pub fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
}

/// The committed 6-node contact-center model (HF-7.0.3-0040 installed, 0042 not extracted).
pub fn contact_center() -> Model {
    hotfix_sim::model_xml::load_file(&scenarios_dir().join("models/contact-center.xml"))
        .expect("model loads")
}

/// The same model with HF-7.0.3-0042 installed.
pub fn contact_center_installed() -> Model {
    hotfix_sim::model_xml::load_file(&scenarios_dir().join("models/contact-center-installed.xml"))
        .expect("model loads")
}

pub fn runbook(procedure: Procedure, steps: Vec<Action>) -> Runbook {
    Runbook {
        name: "test".into(),
        procedure,
        on_violation: OnViolation::Continue,
        steps: steps
            .into_iter()
            .map(|action| Step {
                action,
                note: None,
                origin: None,
            })
            .collect(),
        remarks: vec![],
    }
}

pub fn run_one(model: &mut Model, info: &HotfixInfo, rb: Runbook) -> RunReport {
    run(model, info, &[rb], &RunOptions::default())
}

/// The standard install runbook with the steps matching `drop` left out.
pub fn install_without(
    model: &Model,
    info: &HotfixInfo,
    drop: impl Fn(&Action) -> bool,
) -> Runbook {
    let mut rb = hotfix_sim::runbook::standard_install_for(info, model).expect("derives");
    rb.steps.retain(|s| !drop(&s.action));
    rb
}

pub fn remove_without(model: &Model, info: &HotfixInfo, drop: impl Fn(&Action) -> bool) -> Runbook {
    let mut rb = hotfix_sim::runbook::standard_remove_for(info, model).expect("derives");
    rb.steps.retain(|s| !drop(&s.action));
    rb
}

pub fn vu(name: &str) -> String {
    name.to_owned()
}

pub fn deploy() -> Action {
    Action::SetMode(IaMode::Deployment)
}

pub fn monitor() -> Action {
    Action::SetMode(IaMode::Monitoring)
}

pub fn extract(info: &HotfixInfo) -> Action {
    Action::Extract(Box::new(info.clone()))
}

pub fn add_to_base(info: &HotfixInfo) -> Action {
    Action::AddHotfixToBase {
        base: "7.0 SP3".into(),
        hotfix: info.id.clone(),
    }
}

pub fn add_to_package(v: &str, p: &str) -> Action {
    Action::AddHotfixToPackage {
        vu: v.into(),
        package: p.into(),
        hotfix: HF.into(),
    }
}

pub fn inactivate(v: &str) -> Action {
    Action::InactivateVu { vu: v.into() }
}

/// Asserts the exact set of rules broken at steps and of properties failed at the end.
#[track_caller]
pub fn assert_outcome(report: &RunReport, step_rules: &[&str], end_failures: &[&str]) {
    let mut end: Vec<&str> = report
        .violations
        .iter()
        .filter(|v| v.step.is_none())
        .map(|v| v.rule.as_str())
        .collect();
    end.sort_unstable();
    end.dedup();
    let mut want_end = end_failures.to_vec();
    want_end.sort_unstable();
    let mut want_steps = step_rules.to_vec();
    want_steps.sort_unstable();
    assert_eq!(
        report.step_rules(),
        want_steps,
        "step rules; violations: {:#?}",
        report.violations
    );
    assert_eq!(
        end, want_end,
        "end-of-run failures; violations: {:#?}",
        report.violations
    );
    assert_eq!(
        report.passed,
        step_rules.is_empty() && end_failures.is_empty()
    );
}
