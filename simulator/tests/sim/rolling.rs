//! Rolling per-VU rollouts: the runbook a rolling strategy derives, its rules, its waves
//! and its VU downtime against the standard all-at-once install.

use hotfix_sim::generate::{GenerateParams, generate};
use hotfix_sim::model::Model;
use hotfix_sim::ops::Action;
use hotfix_sim::run::RunOptions;
use hotfix_sim::runbook::{Runbook, rolling_install_for, standard_install_for};
use hotfix_sim::simulation::{Simulation, simulate};
use hotfix_sim::timing::{RolloutConfig, Strategy, TimingConfig, WaveOrder};

use crate::support::*;

fn rollout(text: &str) -> RolloutConfig {
    let t: toml::Table = toml::from_str(text).expect("toml");
    RolloutConfig::from_table(&t).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn simulate_on(model: &Model, rb: Runbook, rollout: &RolloutConfig) -> Simulation {
    let mut m = model.clone();
    let cfg = TimingConfig {
        rollout: rollout.clone(),
        ..TimingConfig::default()
    };
    simulate(
        &mut m,
        &sample_info(),
        &[rb],
        &cfg,
        3,
        &RunOptions::default(),
    )
    .expect("simulates")
}

fn generated(nodes: u32, vus: u32) -> Model {
    let info = sample_info();
    let mut p = GenerateParams {
        nodes,
        vus,
        instances: 2,
        workstations: 20,
        seed: 5,
        ..GenerateParams::default()
    };
    p.fit(&info, false);
    generate(&p).expect("generates")
}

/// VU names of the inactivate steps, wave by wave (a wave ends at its apply).
fn waves_of(rb: &Runbook) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for s in &rb.steps {
        match &s.action {
            Action::InactivateVu { vu } => out.last_mut().expect("wave").push(vu.clone()),
            Action::ApplyAllChanges => out.push(Vec::new()),
            _ => {}
        }
    }
    out.retain(|w| !w.is_empty());
    out
}

#[test]
fn the_rolling_install_breaks_no_rule_and_goes_one_wave_at_a_time() {
    let model = contact_center();
    let r = rollout("strategy = \"rolling\"\nwave_size = 1\npause = \"5m\"");
    let rb = rolling_install_for(&sample_info(), &model, &r).expect("derives");
    assert_eq!(rb.name, "rolling-install");
    assert_eq!(
        waves_of(&rb),
        [["CHAT_VU01"], ["CHAT_VU02"], ["ROUTING_VU01"]]
    );
    // Each VU is activated before the next one goes down, and the base is updated once,
    // before any VU goes down.
    let at = |f: &dyn Fn(&Action) -> bool| rb.steps.iter().position(|s| f(&s.action));
    let base = at(&|a| matches!(a, Action::AddHotfixToBase { .. })).expect("base");
    let first_down = at(&|a| matches!(a, Action::InactivateVu { .. })).expect("down");
    assert!(base < first_down);
    let up1 = at(&|a| matches!(a, Action::ActivateVu { vu } if vu == "CHAT_VU01")).expect("up");
    let down2 =
        at(&|a| matches!(a, Action::InactivateVu { vu } if vu == "CHAT_VU02")).expect("down");
    assert!(up1 < down2);
    // Operator checks between waves only.
    let checks = rb
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s.action,
                Action::OperatorCheck {
                    wait_us: 300_000_000
                }
            )
        })
        .count();
    assert_eq!(checks, 2);

    let s = simulate_on(&model, rb, &r);
    assert!(s.report.passed, "{:#?}", s.report.violations);
    assert_eq!(s.timing.strategy, Strategy::Rolling);
    assert_eq!(s.timing.waves, 3);
    assert_eq!(s.timing.nodes.converged, s.timing.nodes.affected);
    // The two checks are on the clock.
    let std = simulate_on(
        &model,
        standard_install_for(&sample_info(), &model).expect("derives"),
        &RolloutConfig::default(),
    );
    assert!(s.timing.makespan_s > std.timing.makespan_s + 600.0);
    let (roll, all) = (
        s.timing.vu_downtime_s.as_ref().expect("downtime"),
        std.timing.vu_downtime_s.as_ref().expect("downtime"),
    );
    assert_eq!(roll.vus, all.vus);
    assert!(roll.max_s < all.max_s, "{} !< {}", roll.max_s, all.max_s);
}

#[test]
fn on_a_larger_model_rolling_cuts_the_worst_vu_downtime_many_times() {
    let model = generated(400, 120);
    let r = rollout("strategy = \"rolling\"\nwave_percent = 10");
    let rb = rolling_install_for(&sample_info(), &model, &r).expect("derives");
    let vus = rb
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::InactivateVu { .. }))
        .count();
    let waves = waves_of(&rb);
    assert_eq!(waves.len(), vus.div_ceil(vus.div_ceil(10)), "{waves:?}");
    let s = simulate_on(&model, rb, &r);
    assert!(s.report.passed, "{:#?}", s.report.violations);
    let std = simulate_on(
        &model,
        standard_install_for(&sample_info(), &model).expect("derives"),
        &RolloutConfig::default(),
    );
    assert!(std.report.passed);
    let (roll, all) = (
        s.timing.vu_downtime_s.as_ref().expect("downtime"),
        std.timing.vu_downtime_s.as_ref().expect("downtime"),
    );
    assert!(
        roll.max_s * 3.0 < all.max_s,
        "rolling max {} vs all-at-once max {}",
        roll.max_s,
        all.max_s
    );
    assert!(roll.mean_s * 3.0 < all.mean_s);
}

#[test]
fn waves_follow_the_order_key() {
    let names = ["C", "A", "B", "D"];
    let r = rollout(
        "strategy = \"rolling\"\nwave_size = 2\norder = \"least-loaded\"\n[load]\nC = 5\nA = 9\nB = 1",
    );
    // D has no load (0), B 1, C 5, A 9.
    assert_eq!(r.rolling_waves(&names), [vec![3, 2], vec![0, 1]]);
    let r = rollout("strategy = \"rolling\"\norder = \"name\"\nwave_percent = 50");
    assert_eq!(r.rolling_waves(&names), [vec![1, 2], vec![0, 3]]);
    let r = rollout("strategy = \"rolling\"\norder = [\"D\", \"B\"]\nwave_size = 3");
    assert_eq!(r.order, WaveOrder::Given(vec!["D".into(), "B".into()]));
    assert_eq!(r.rolling_waves(&names), [vec![3, 2, 0], vec![1]]);
    // The default: one VU per wave, as listed.
    let r = rollout("strategy = \"rolling\"");
    assert_eq!(r.rolling_waves(&names).len(), 4);
}

#[test]
fn the_scenario_strategy_chooses_the_runbook() {
    let sc = hotfix_sim::scenario::Scenario::load(&scenarios_dir().join("install-rolling.toml"))
        .expect("loads");
    let (model, runbooks) = hotfix_sim::scenario::prepare(&sc, &sample_info()).expect("prepares");
    assert_eq!(runbooks[0].name, "rolling-install");
    // least-loaded: CHAT_VU02 (35) before CHAT_VU01 (120) before ROUTING_VU01 (800).
    assert_eq!(
        waves_of(&runbooks[0]),
        [["CHAT_VU02"], ["CHAT_VU01"], ["ROUTING_VU01"]]
    );
    // The same scenario under another strategy: the standard install.
    let (_, std) =
        hotfix_sim::scenario::prepare_with(&sc, &sample_info(), &RolloutConfig::default())
            .expect("prepares");
    assert_eq!(std[0].name, "standard-install");
    drop(model);
}

#[test]
fn a_list_of_strategies_deserializes_like_the_rollout_table() {
    #[derive(serde::Deserialize)]
    struct Grid {
        strategy: Vec<RolloutConfig>,
    }
    let g: Grid = toml::from_str(
        r#"
[[strategy]]
strategy = "all-at-once"
[[strategy]]
strategy = "batches"
batch_percent = 10
[[strategy]]
strategy = "rolling"
wave_size = 5
pause = "2m"
"#,
    )
    .expect("deserializes");
    assert_eq!(g.strategy.len(), 3);
    assert_eq!(g.strategy[2].strategy, Strategy::Rolling);
    assert_eq!(g.strategy[2].wave_size, Some(5));
    assert_eq!(g.strategy[2].pause, 120_000_000);
    // The same checks as a scenario's [rollout]: a typo is an error naming the key.
    let err = toml::from_str::<Grid>("[[strategy]]\nstrategy = \"rolling\"\nwave_sise = 2\n")
        .err()
        .expect("fails")
        .to_string();
    assert!(err.contains("wave_sise"), "{err}");
}

#[test]
fn rolling_keys_are_checked() {
    for (text, needle) in [
        (
            "strategy = \"batches\"\nbatch_size = 2\nwave_size = 2",
            "only with strategy",
        ),
        (
            "strategy = \"rolling\"\nbatch_size = 2",
            "not used by strategy",
        ),
        ("strategy = \"rolling\"\nwave_size = 0", "at least 1"),
        ("strategy = \"rolling\"\nwave_percent = 150", "(0, 100]"),
        (
            "strategy = \"rolling\"\nwave_size = 1\nwave_percent = 5",
            "not both",
        ),
        (
            "strategy = \"rolling\"\norder = \"least-loaded\"",
            "[rollout.load]",
        ),
        ("strategy = \"rolling\"\norder = \"busiest\"", "as-listed"),
        ("strategy = \"rolling\"\norder = [1, 2]", "VU names"),
        ("strategy = \"rollin\"", "\"rolling\""),
    ] {
        let t: toml::Table = toml::from_str(text).expect("toml");
        let err = RolloutConfig::from_table(&t).expect_err(text).to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn an_operator_check_in_a_runbook_file_waits_and_changes_nothing() {
    let spec = hotfix_sim::runbook::parse_runbook(
        std::path::Path::new("check.toml"),
        "[[step]]\naction = \"operator-check\"\nwait = \"90s\"\nnote = \"look at the chat queue\"\n",
    )
    .expect("parses");
    let rb = spec.resolve(&sample_info(), &contact_center());
    assert_eq!(
        rb.steps[0].action,
        Action::OperatorCheck {
            wait_us: 90_000_000
        }
    );
    let err = hotfix_sim::runbook::parse_runbook(
        std::path::Path::new("check.toml"),
        "[[step]]\naction = \"operator-check\"\nwait = \"90\"\n",
    )
    .expect_err("no unit");
    assert!(err.to_string().contains("step[1].wait"), "{err}");
}
