//! The example scenarios in `simulator/scenarios/` and the scenario/runbook formats.

use std::path::Path;

use hotfix_sim::run::{RunOptions, RunReport, run};
use hotfix_sim::scenario::{ModelSource, PackageRef, RunbookSource, Scenario, prepare};

use crate::support::*;

/// Runs a scenario with the sample hotfix (the CLI resolves the package; here it is the
/// same hotfix built in code).
fn run_scenario(name: &str) -> RunReport {
    let sc = Scenario::load(&scenarios_dir().join(name)).expect("scenario parses");
    let info = sample_info();
    let (mut model, runbooks) = prepare(&sc, &info).expect("prepares");
    run(
        &mut model,
        &info,
        &runbooks,
        &RunOptions {
            on_violation: None,
            expect_model_unchanged: sc.expect_model_unchanged,
            record_trace: false,
        },
    )
}

#[test]
fn install_standard_passes() {
    assert_outcome(&run_scenario("install-standard.toml"), &[], &[]);
}

#[test]
fn install_rolling_passes() {
    assert_outcome(&run_scenario("install-rolling.toml"), &[], &[]);
}

#[test]
fn remove_standard_passes() {
    assert_outcome(&run_scenario("remove-standard.toml"), &[], &[]);
}

#[test]
fn install_then_remove_passes_and_restores_the_model() {
    let r = run_scenario("install-then-remove.toml");
    assert_outcome(&r, &[], &[]);
    assert!(
        r.properties
            .iter()
            .any(|p| p.name == "model-restored" && p.passed)
    );
    assert_eq!(r.metrics.steps.as_ref().expect("steps").nodes, 1000);
}

#[test]
fn add_before_base_fails_with_hotfix_not_in_base() {
    let r = run_scenario("add-before-base.toml");
    assert_eq!(r.step_rules(), ["hotfix-not-in-base"]);
    assert_eq!(r.violations[0].step, Some(4));
    assert!(
        r.violations[0]
            .origin
            .as_deref()
            .is_some_and(|o| o.ends_with("add-before-base.toml:21"))
    );
}

#[test]
fn remove_base_first_fails_with_base_removal_while_in_use() {
    let r = run_scenario("remove-base-first.toml");
    assert_eq!(r.step_rules(), ["base-removal-while-in-use"]);
    assert_eq!(r.violations[0].step, Some(3));
}

#[test]
fn change_in_monitoring_fails_with_monitoring_mode_read_only() {
    let r = run_scenario("change-in-monitoring.toml");
    assert_eq!(r.step_rules(), ["monitoring-mode-read-only"]);
}

#[test]
fn forget_synchronize_fails_at_the_end() {
    assert_outcome(
        &run_scenario("forget-synchronize.toml"),
        &[],
        &["instances-synchronized", "instances-updated"],
    );
}

#[test]
fn forget_activate_fails_with_vus_reactivated() {
    assert_outcome(
        &run_scenario("forget-activate.toml"),
        &[],
        &["vus-reactivated"],
    );
}

#[test]
fn same_scenario_same_json() {
    let a = serde_json::to_string(&run_scenario("install-standard.toml")).expect("json");
    let b = serde_json::to_string(&run_scenario("install-standard.toml")).expect("json");
    assert_eq!(a, b);
}

fn parse(text: &str) -> Result<Scenario, hotfix_sim::scenario::ScenarioError> {
    Scenario::parse(&scenarios_dir().join("test.toml"), text)
}

const HEAD: &str =
    "model = \"models/contact-center.xml\"\npackage = \"../../packages/HF-7.0.3-0042\"\n";

#[test]
fn unknown_top_level_key_names_file_line_and_key() {
    let e = parse(&format!(
        "{HEAD}runbook = \"standard-install\"\nrunbok = 3\n"
    ))
    .expect_err("unknown key");
    assert_eq!((e.line, e.column, e.key.as_str()), (4, 1, "runbok"));
    assert!(
        e.to_string()
            .contains("test.toml:4:1: key `runbok`: unknown key"),
        "{e}"
    );
    assert!(e.hint.is_some());
}

#[test]
fn unknown_generator_parameter_is_named() {
    let e = parse("model = { nodes = 10, vus = 2, nodez = 3 }\npackage = \"../../packages/HF-7.0.3-0042\"\nrunbook = \"standard-install\"\n")
        .expect_err("unknown key");
    assert_eq!((e.line, e.key.as_str()), (1, "model.nodez"));
}

#[test]
fn bad_generator_parameter_is_named() {
    let e = parse("model = { nodes = 10, vus = 2, instances = 1 }\npackage = \"../../packages/HF-7.0.3-0042\"\nrunbook = \"standard-install\"\n")
        .expect_err("bad instances");
    assert_eq!(e.key, "model.instances");
}

#[test]
fn unknown_step_action_and_key_are_named() {
    let e = parse(&format!("{HEAD}\n[[step]]\naction = \"set-mode\"\nmode = \"deployment\"\n\n[[step]]\naction = \"reboot\"\n"))
        .expect_err("unknown action");
    assert_eq!((e.line, e.key.as_str()), (9, "step[2].action"));
    assert!(e.message.contains("unknown action `reboot`"));
    let e = parse(&format!(
        "{HEAD}\n[[step]]\naction = \"set-mode\"\nmode = \"deployment\"\nvu = \"X\"\n"
    ))
    .expect_err("key not for action");
    assert_eq!((e.line, e.key.as_str()), (7, "step[1].vu"));
    let e =
        parse(&format!("{HEAD}\n[[step]]\naction = \"inactivate-vu\"\n")).expect_err("missing vu");
    assert_eq!(e.key, "step[1].vu");
}

#[test]
fn runbook_file_errors_name_the_runbook_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rb = dir.path().join("bad.toml");
    std::fs::write(
        &rb,
        "procedure = \"install\"\n[[step]]\naction = \"set-mode\"\nmood = \"x\"\n",
    )
    .expect("write");
    let e = hotfix_sim::runbook::load_runbook(&rb).expect_err("bad key");
    assert_eq!(e.file, rb);
    assert_eq!((e.line, e.key.as_str()), (4, "step[1].mood"));
}

#[test]
fn missing_model_file_is_named() {
    let e = parse("model = \"models/nope.xml\"\npackage = \"../../packages/HF-7.0.3-0042\"\nrunbook = \"standard-install\"\n")
        .expect_err("missing");
    assert_eq!((e.line, e.key.as_str()), (1, "model"));
}

#[test]
fn reserved_timing_tables_pass_through() {
    let sc = parse(&format!(
        "{HEAD}runbook = \"standard-install\"\n[timing]\nbandwidth = \"1 Gbit/s\"\n[faults]\nnode-unreachable = {{ p = 0.01 }}\n[rollout]\nstrategy = \"canary\"\n"
    ))
    .expect("parses");
    let t = &sc.timing_tables;
    assert_eq!(
        t.timing
            .as_ref()
            .and_then(|t| t.get("bandwidth"))
            .and_then(|v| v.as_str()),
        Some("1 Gbit/s")
    );
    assert!(
        t.faults
            .as_ref()
            .is_some_and(|f| f.contains_key("node-unreachable"))
    );
    assert!(t.rollout.is_some());
}

#[test]
fn scenario_forms_are_recognized() {
    let sc = parse(&format!(
        "{HEAD}runbook = [\"standard-install\", \"runbooks/remove-base-first.toml\"]\nseed = 5\n"
    ))
    .expect("parses");
    assert!(matches!(sc.model, ModelSource::File(_)));
    assert!(matches!(sc.package, PackageRef::Source(_)));
    assert!(matches!(sc.runbooks[0], RunbookSource::StandardInstall));
    assert!(
        matches!(&sc.runbooks[1], RunbookSource::File(p) if p.ends_with(Path::new("runbooks/remove-base-first.toml")))
    );
    assert_eq!(sc.seed, 5);
}
