//! Wrong procedures written outside the project, each caught with the rule it breaks and
//! the object it concerns (never a pass).

use hotfix_sim::run::{RunOptions, RunReport, run};
use hotfix_sim::scenario::{Scenario, prepare};

use crate::support::*;

fn run_scenario(name: &str) -> RunReport {
    let sc = Scenario::load(&scenarios_dir().join(name)).expect("scenario parses");
    let info = sample_info();
    let (mut model, runbooks) = prepare(&sc, &info).expect("prepares");
    run(&mut model, &info, &runbooks, &RunOptions::default())
}

#[test]
fn removal_that_never_removes_from_the_base_fails_naming_the_base() {
    let r = run_scenario("remove-forget-base.toml");
    assert_outcome(&r, &[], &["base-cleared-after-removal"]);
    let v = r
        .violations
        .iter()
        .find(|v| v.rule.as_str() == "base-cleared-after-removal")
        .expect("violation");
    assert_eq!(v.object, "base 7.0 SP3 hotfix HF-7.0.3-0042");
}

#[test]
fn removal_that_deletes_from_the_base_before_synchronize_fails_at_that_step() {
    let r = run_scenario("remove-base-before-synchronize.toml");
    assert_outcome(&r, &["base-removal-before-synchronize"], &[]);
    let v = &r.violations[0];
    assert_eq!(v.step, Some(8));
    assert_eq!(v.object, "base 7.0 SP3 hotfix HF-7.0.3-0042");
    assert!(v.message.contains("HAC01"), "{}", v.message);
}

#[test]
fn install_whose_base_runs_none_of_its_packages_fails() {
    let r = run_scenario("install-no-matching-base.toml");
    assert_outcome(&r, &[], &["hotfix-changes-something"]);
    let v = r
        .violations
        .iter()
        .find(|v| v.rule.as_str() == "hotfix-changes-something")
        .expect("violation");
    assert_eq!(v.object, "hotfix HF-7.0.3-0042 base 7.0 SP3");
}

#[test]
fn the_standard_removal_removes_from_the_base_and_passes() {
    let r = run_scenario("remove-standard.toml");
    assert_outcome(&r, &[], &[]);
}

#[test]
fn removal_that_applies_before_removing_from_the_base_fails_naming_the_base() {
    let r = run_scenario("remove-apply-before-base.toml");
    assert_outcome(&r, &[], &["base-removal-applied"]);
    let v = r
        .violations
        .iter()
        .find(|v| v.rule.as_str() == "base-removal-applied")
        .expect("violation");
    assert_eq!(v.object, "base 7.0 SP3 hotfix HF-7.0.3-0042");
    assert!(v.message.contains("step 12"), "{}", v.message);
}
