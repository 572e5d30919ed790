//! One simulation: the runbook given is the run that is timed, step by step, and judged.

use hotfix_sim::ops::Action;
use hotfix_sim::run::RunOptions;
use hotfix_sim::runbook::Runbook;
use hotfix_sim::simulation::{Simulation, simulate};
use hotfix_sim::timing::{FaultConfig, NodeRef, Outage, TimingConfig};

use crate::support::*;

fn sim_with(rb: Runbook, installed: bool, cfg: &TimingConfig) -> Simulation {
    let mut m = if installed {
        contact_center_installed()
    } else {
        contact_center()
    };
    simulate(
        &mut m,
        &sample_info(),
        &[rb],
        cfg,
        7,
        &RunOptions::default(),
    )
    .expect("simulates")
}

fn standard_install() -> Runbook {
    hotfix_sim::runbook::standard_install_for(&sample_info(), &contact_center()).expect("derives")
}

fn position(rb: &Runbook, f: impl Fn(&Action) -> bool) -> usize {
    rb.steps.iter().position(|s| f(&s.action)).expect("step")
}

#[test]
fn the_standard_install_converges_in_time_and_passes() {
    let s = sim_with(standard_install(), false, &TimingConfig::default());
    assert!(s.report.passed, "{:#?}", s.report.violations);
    assert_eq!(s.timing.nodes.converged, 5);
    assert_eq!(s.timing.nodes.affected, 5);
    // One span per runbook step, in order, each starting when the previous one ended.
    assert_eq!(s.timing.steps.len(), standard_install().steps.len());
    for w in s.timing.steps.windows(2) {
        assert!(w[0].end_s <= w[1].start_s + 1e-9, "{w:?}");
    }
    let sync = position(&standard_install(), |a| {
        matches!(a, Action::SynchronizeInstances { .. })
    });
    assert_eq!(s.timing.steps[sync].targets, 5);
    assert!(s.timing.steps[sync].end_s > s.timing.steps[sync].start_s);
}

#[test]
fn applying_before_synchronizing_never_converges_in_time() {
    let mut rb = standard_install();
    let apply = position(&rb, |a| *a == Action::ApplyAllChanges);
    let step = rb.steps.remove(apply);
    let sync = position(&rb, |a| matches!(a, Action::SynchronizeInstances { .. }));
    rb.steps.insert(sync, step);
    let s = sim_with(rb, false, &TimingConfig::default());
    assert!(!s.report.passed);
    assert_eq!(s.timing.nodes.converged, 0, "{:?}", s.timing.nodes);
    assert!(!s.timing.passed);
    let rules: Vec<&str> = s
        .report
        .violations
        .iter()
        .map(|v| v.rule.as_str())
        .collect();
    assert!(rules.contains(&"instances-updated"), "{rules:?}");
    assert!(rules.contains(&"timing-nodes-converged"), "{rules:?}");
    // Every violation carries a simulated time.
    assert!(s.report.violations.iter().all(|v| v.time_s.is_some()));
}

#[test]
fn the_same_steps_in_another_order_take_other_times() {
    // Inactivating the VUs just before changing their packages instead of first: same
    // steps, same verdict, shorter service downtime.
    let early = standard_install();
    let mut late = early.clone();
    let inactivations: Vec<_> = late
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::InactivateVu { .. }))
        .cloned()
        .collect();
    late.steps
        .retain(|s| !matches!(s.action, Action::InactivateVu { .. }));
    let first_add = position(&late, |a| matches!(a, Action::AddHotfixToPackage { .. }));
    for (k, st) in inactivations.into_iter().enumerate() {
        late.steps.insert(first_add + k, st);
    }
    let cfg = TimingConfig::default();
    let a = sim_with(early, false, &cfg);
    let b = sim_with(late, false, &cfg);
    assert!(a.report.passed && b.report.passed);
    let down = |s: &Simulation| s.timing.vu_downtime_s.as_ref().expect("downtime").max_s;
    assert!(
        down(&b) + 10.0 < down(&a),
        "late inactivation {} s vs early {} s",
        down(&b),
        down(&a)
    );
    // Applying per node, one after the other, keeps instances mixed longer than one
    // "Apply All Changes to All Hosts".
    let mut per_node = standard_install();
    let apply = position(&per_node, |a| *a == Action::ApplyAllChanges);
    per_node.steps.remove(apply);
    for (k, n) in ["HAC01", "HAC02", "HAC03", "HAC04", "HAC05"]
        .iter()
        .enumerate()
    {
        per_node.steps.insert(
            apply + k,
            hotfix_sim::runbook::Step {
                action: Action::ApplyChanges {
                    node: (*n).to_owned(),
                },
                note: None,
                origin: None,
            },
        );
    }
    let c = sim_with(per_node, false, &cfg);
    assert!(c.report.passed, "{:#?}", c.report.violations);
    let mixed = |s: &Simulation| {
        s.timing
            .mixed_version
            .iter()
            .map(|w| w.window_s)
            .fold(0.0, f64::max)
    };
    assert!(
        mixed(&c) > mixed(&a) + 1.0,
        "{} vs {}",
        mixed(&c),
        mixed(&a)
    );
    assert!(c.timing.makespan_s > a.timing.makespan_s);
}

#[test]
fn a_node_down_from_the_apply_step_is_a_violation_naming_it() {
    let rb = standard_install();
    let apply = position(&rb, |a| *a == Action::ApplyAllChanges) as u32 + 1;
    let cfg = TimingConfig {
        faults: FaultConfig {
            unreachable: vec![Outage {
                node: NodeRef::Name("HAC03".into()),
                from: 0,
                at_step: Some(apply),
            }],
            max_retries: 0,
            ..FaultConfig::default()
        },
        ..TimingConfig::default()
    };
    let s = sim_with(rb, false, &cfg);
    assert!(!s.report.passed);
    let v = s
        .report
        .violations
        .iter()
        .find(|v| v.rule.as_str() == "node-failed")
        .expect("node-failed violation");
    assert_eq!(v.object, "node HAC03");
    assert_eq!(v.step, Some(apply));
    assert_eq!(v.action, "apply-all-changes");
    assert!(v.time_s.is_some_and(|t| t > 0.0));
    assert_eq!(s.timing.failed_nodes.count, 1);
    assert_eq!(s.timing.nodes.converged, 4);
}

#[test]
fn an_msi_install_failing_on_named_workstations_names_them() {
    let cfg = TimingConfig {
        faults: FaultConfig {
            msi_install_fails: vec!["WS0002".into()],
            max_retries: 1,
            ..FaultConfig::default()
        },
        ..TimingConfig::default()
    };
    let s = sim_with(standard_install(), false, &cfg);
    assert!(!s.report.passed);
    let v = s
        .report
        .violations
        .iter()
        .find(|v| v.rule.as_str() == "msi-install-failed")
        .expect("msi-install-failed violation");
    assert_eq!(v.object, "workstation WS0002");
    assert_eq!(v.action, "msi-install");
    assert_eq!(s.timing.failed_workstations.count, 1);
    assert_eq!(
        s.timing.workstations.updated + 1,
        s.timing.workstations.total
    );
}

#[test]
fn a_node_applied_for_one_vu_but_not_synchronized_for_another_is_not_converged() {
    // Synchronize CHAT_VU01 only: HAC01 applies its ChatServer change but its
    // RoutingEngine instance never gets the hotfix.
    let mut rb = standard_install();
    let sync = position(&rb, |a| matches!(a, Action::SynchronizeInstances { .. }));
    rb.steps[sync].action = Action::SynchronizeInstances {
        vu: Some("CHAT_VU01".into()),
    };
    let s = sim_with(rb, false, &TimingConfig::default());
    assert!(!s.report.passed);
    assert_eq!(s.timing.nodes.converged, 1, "{:?}", s.timing.nodes); // HAC02
    assert_eq!(s.timing.nodes.behind, 1, "{:?}", s.timing.nodes); // HAC01
}

#[test]
fn same_seed_same_bytes() {
    let a = sim_with(standard_install(), false, &TimingConfig::default());
    let b = sim_with(standard_install(), false, &TimingConfig::default());
    assert_eq!(
        serde_json::to_string(&a.report).expect("json"),
        serde_json::to_string(&b.report).expect("json")
    );
}

#[test]
fn under_a_group_policy_push_the_runbooks_msi_steps_land_at_the_next_logon() {
    let mut cfg = TimingConfig::default();
    cfg.workstations.logon = Some(hotfix_sim::timing::LogonModel {
        next: hotfix_sim::timing::Dist::fixed(8 * 3600 * 1_000_000),
        off_probability: 0.0,
        off: hotfix_sim::timing::Dist::fixed(0),
    });
    let s = sim_with(standard_install(), false, &cfg);
    assert!(s.report.passed, "{:#?}", s.report.violations);
    let w = &s.timing.workstations;
    assert_eq!((w.updated, w.total), (4, 4));
    // The removal is assigned (no time); removal and install happen at the logon.
    let remove = s
        .step_actions
        .iter()
        .position(|a| *a == "msi-remove")
        .expect("msi-remove");
    let span = &s.timing.steps[remove];
    assert_eq!(span.start_s, span.end_s);
    let install = &s.timing.steps[remove + 1];
    assert!(
        install.end_s - install.start_s >= 8.0 * 3600.0,
        "{install:?}"
    );
    let push = w.push_at_s.expect("push");
    assert!(w.updated_100_s.expect("all") - push >= 8.0 * 3600.0);
    assert!(w.client_server_mixed_s.expect("mixed") >= 8.0 * 3600.0);
}

#[test]
fn nodes_of_the_model_at_a_site_converge_once_the_share_is_there() {
    use hotfix_sim::timing::{SiteNodes, SiteSpec};
    let cfg = TimingConfig {
        sites: vec![SiteSpec {
            name: "branch".into(),
            // 150 kB of payload at 1 kB/s: the share is there 150 s after the first
            // transfer.
            wan_bandwidth: 1_000,
            wan_latency: 0,
            nodes: SiteNodes::Names(vec!["HAC03".into(), "HAC04".into()]),
        }],
        ..TimingConfig::default()
    };
    let s = sim_with(standard_install(), false, &cfg);
    assert!(s.report.passed, "{:#?}", s.report.violations);
    let sites = &s.timing.sites;
    assert_eq!(sites.len(), 2);
    assert_eq!((sites[1].name.as_str(), sites[1].nodes), ("branch", 2));
    assert_eq!(sites[1].converged, 2);
    let sync = s
        .step_actions
        .iter()
        .position(|a| *a == "synchronize-instances")
        .expect("synchronize");
    let share = sites[1].share_at_s.expect("share");
    assert!(
        (share - s.timing.steps[sync].start_s - 150.0).abs() < 1e-6,
        "{share}"
    );
    assert!(sites[1].max_s.expect("max") > share);
    let without = sim_with(standard_install(), false, &TimingConfig::default());
    assert!(s.timing.makespan_s > without.timing.makespan_s + 140.0);
    let json = serde_json::to_value(&s.timing).expect("json");
    assert_eq!(json["sites"][1]["name"], "branch");
}
