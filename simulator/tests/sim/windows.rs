//! Maintenance windows: steps that take a VU down start only inside one, and a VU down
//! outside its window is a violation naming it.

use hotfix_sim::run::RunOptions;
use hotfix_sim::scenario::{Scenario, prepare};
use hotfix_sim::simulation::{Simulation, simulate, timing_config};

use crate::support::*;

fn run_scenario(name: &str) -> Simulation {
    let sc = Scenario::load(&scenarios_dir().join(name)).expect("scenario parses");
    let info = sample_info();
    let (mut model, runbooks) = prepare(&sc, &info).expect("prepares");
    let cfg = timing_config(&sc).expect("timing config");
    simulate(
        &mut model,
        &info,
        &runbooks,
        &cfg,
        sc.seed,
        &RunOptions::default(),
    )
    .expect("simulates")
}

#[test]
fn a_window_too_short_for_the_rollout_names_every_vu_left_down() {
    let s = run_scenario("install-window-too-short.toml");
    assert!(!s.report.passed);
    let w = s.timing.windows.as_ref().expect("windows judged");
    assert!(!w.fits);
    assert_eq!(w.windows_needed, 1);
    assert_eq!(w.start, "2026-12-05T21:50+01:00");
    let mut outside: Vec<&str> = w.outside.iter().map(|o| o.vu.as_str()).collect();
    outside.sort_unstable();
    assert_eq!(outside, ["CHAT_VU01", "CHAT_VU02", "ROUTING_VU01"]);
    // From the window's close (22:02, 12 minutes after the start).
    assert!(
        w.outside
            .iter()
            .all(|o| o.from_s == 720.0 && o.until_s > 720.0)
    );
    let rules: Vec<String> = s
        .report
        .violations
        .iter()
        .map(|v| v.rule.to_string())
        .collect();
    assert_eq!(
        rules,
        [
            "vu-down-outside-window",
            "vu-down-outside-window",
            "vu-down-outside-window",
            "timing-within-windows"
        ]
    );
    // The VUs went down only once the window opened (22:00, 600 s after the start).
    let i = s
        .step_actions
        .iter()
        .position(|a| *a == "inactivate-vu")
        .expect("an inactivation");
    assert!(s.timing.steps[i].end_s >= 600.0, "{:?}", s.timing.steps[i]);
    assert!(s.timing.steps[i.saturating_sub(1)].end_s < 600.0);
    assert!(
        s.report
            .properties
            .iter()
            .any(|p| p.name == "timing-within-windows" && !p.passed)
    );
}

#[test]
fn a_rolling_install_waits_for_the_next_window_and_fits() {
    let s = run_scenario("install-rolling-window.toml");
    assert!(s.report.passed, "{:#?}", s.report.violations);
    let w = s.timing.windows.as_ref().expect("windows judged");
    assert!(w.fits);
    assert_eq!(w.windows_needed, 2);
    assert_eq!(w.vus_outside, 0);
    // Started Saturday 18:00; the first window is Sunday 02:00, the second Monday 02:00.
    assert!(
        s.timing.makespan_s > 32.0 * 3600.0,
        "{}",
        s.timing.makespan_s
    );
    assert!(w.end.starts_with("2026-12-07T02:"), "{}", w.end);
    let flat: Vec<&str> = s.timing.flat_metrics().iter().map(|m| m.0).collect();
    assert!(flat.contains(&"windows_needed") && flat.contains(&"fits_windows"));
}

#[test]
fn without_windows_nothing_about_them_is_reported() {
    let s = run_scenario("install-standard.toml");
    assert!(s.timing.windows.is_none());
    let json = serde_json::to_value(&s.timing).expect("json");
    assert!(json.get("windows").is_none());
    assert!(
        !s.timing
            .flat_metrics()
            .iter()
            .any(|m| m.0 == "windows_needed")
    );
}
