//! One test per rule of DOMAIN.md: breaking it yields exactly that violation.

use hotfix_sim::model::IaMode;
use hotfix_sim::ops::Action;
use hotfix_sim::runbook::{OnViolation, Procedure};

use crate::support::*;

#[test]
fn standard_install_holds_every_property() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let report = run_one(&mut m, &info, rb);
    assert_outcome(&report, &[], &[]);
    assert_eq!(
        report
            .metrics
            .steps
            .as_ref()
            .expect("steps")
            .vus_inactivated,
        3
    );
    assert_eq!(
        report.metrics.steps.as_ref().expect("steps").nodes_applied,
        5
    );
    assert_eq!(
        report
            .metrics
            .steps
            .as_ref()
            .expect("steps")
            .workstations_changed,
        4
    );
    assert!(report.properties.iter().all(|p| p.passed));
}

#[test]
fn standard_remove_holds_every_property_and_restores_the_model() {
    let info = sample_info();
    let before = contact_center();
    let mut m = before.clone();
    let install = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    assert_outcome(&run_one(&mut m, &info, install), &[], &[]);
    let remove = hotfix_sim::runbook::standard_remove_for(&info, &m).expect("derives");
    assert_outcome(&run_one(&mut m, &info, remove), &[], &[]);
    // Removal does not delete the extracted folder nor the MSI it brought, so compare
    // with the start model after the same extraction.
    let mut expected = before;
    let mut s = hotfix_sim::ops::Session::default();
    hotfix_sim::ops::execute(&mut expected, &mut s, &extract(&info));
    assert_eq!(
        hotfix_sim::model_xml::save_string(&m),
        hotfix_sim::model_xml::save_string(&expected)
    );
}

#[test]
fn change_in_monitoring_mode_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = install_without(&m, &info, |a| {
        matches!(a, Action::SetMode(IaMode::Deployment))
    });
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["monitoring-mode-read-only"]);
    assert_eq!(r.violations[0].action, "add-hotfix-to-base");
    assert!(
        r.failed_properties()
            .contains(&"no-change-in-monitoring-mode")
    );
}

#[test]
fn changing_software_of_an_active_vu_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = install_without(
        &m,
        &info,
        |a| matches!(a, Action::InactivateVu { vu } if vu == "CHAT_VU02"),
    );
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["vu-must-be-inactive"]);
    assert!(r.violations[0].object.contains("CHAT_VU02"));
}

#[test]
fn applying_after_reactivation_is_refused_on_the_active_vu() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    // Move "activate CHAT_VU01" before the apply step.
    let at = rb
        .steps
        .iter()
        .position(|s| matches!(&s.action, Action::ActivateVu { vu } if vu == "CHAT_VU01"))
        .expect("activate step");
    let step = rb.steps.remove(at);
    let apply = rb
        .steps
        .iter()
        .position(|s| s.action == Action::ApplyAllChanges)
        .expect("apply step");
    rb.steps.insert(apply, step);
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["vu-must-be-inactive"]);
    assert_eq!(r.violations[0].action, "apply-all-changes");
    // CHAT_VU01 has instances on two nodes; the message names it once.
    let msg = &r.violations[0].message;
    assert_eq!(msg.matches("CHAT_VU01").count(), 1, "{msg}");
    assert!(msg.contains("HAC01") && msg.contains("HAC02"), "{msg}");
}

#[test]
fn adding_a_hotfix_that_was_not_extracted_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = install_without(&m, &info, |a| matches!(a, Action::Extract(_)));
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["hotfix-not-extracted"]);
}

#[test]
fn a_build_the_index_does_not_list_as_current_is_refused_at_extract() {
    let mut m = contact_center();
    let mut info = sample_info();
    info.standing = hotfix_sim::ops::IndexStanding::NotCurrent {
        message: "the index lists version 4".into(),
    };
    let rb = runbook(Procedure::Install, vec![extract(&info)]);
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["hotfix-not-current"]);
    // Nothing was extracted: the folder an index refuses is never written.
    assert!(m.extracted(&info.id).is_none());
}

#[test]
fn extracting_a_withdrawn_hotfix_is_refused() {
    let mut m = contact_center();
    let mut info = sample_info();
    info.standing = hotfix_sim::ops::IndexStanding::Withdrawn {
        reason: "breaks chat routing".into(),
    };
    let rb = runbook(Procedure::Install, vec![extract(&info)]);
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["hotfix-withdrawn"]);
    // A current build extracts as before.
    info.standing = hotfix_sim::ops::IndexStanding::Current;
    let rb = runbook(Procedure::Install, vec![extract(&info)]);
    assert!(run_one(&mut m, &info, rb).step_rules().is_empty());
}

#[test]
fn adding_to_a_base_of_another_support_package_is_refused() {
    let mut m = contact_center();
    let mut info = sample_info();
    info.support_package = "SP2".into();
    let rb = runbook(
        Procedure::Install,
        vec![extract(&info), deploy(), add_to_base(&info)],
    );
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["support-package-mismatch"]);
}

#[test]
fn adding_before_a_required_hotfix_is_refused() {
    let mut m = contact_center();
    let mut info = sample_info();
    info.requires = vec!["HF-7.0.3-0041".into()];
    let rb = runbook(
        Procedure::Install,
        vec![extract(&info), deploy(), add_to_base(&info)],
    );
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["required-hotfix-missing"]);
}

#[test]
fn adding_to_a_package_before_the_base_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = runbook(
        Procedure::Install,
        vec![
            extract(&info),
            inactivate("CHAT_VU01"),
            deploy(),
            add_to_package("CHAT_VU01", "ChatServer"),
        ],
    );
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["hotfix-not-in-base"]);
    assert_eq!(r.violations[0].step, Some(4));
}

#[test]
fn adding_to_a_package_before_refresh_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = install_without(&m, &info, |a| *a == Action::RefreshAllNodes);
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["refresh-before-add"]);
}

#[test]
fn adding_to_a_package_the_hotfix_does_not_cover_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = runbook(
        Procedure::Install,
        vec![
            extract(&info),
            inactivate("EMAIL_VU01"),
            deploy(),
            add_to_base(&info),
            Action::RefreshAllNodes,
            add_to_package("EMAIL_VU01", "EmailServer"),
        ],
    );
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["hotfix-not-for-package"]);
}

#[test]
fn removing_from_the_base_while_a_package_carries_it_is_refused() {
    let mut m = contact_center_installed();
    let info = sample_info();
    let mut rb = hotfix_sim::runbook::standard_remove_for(&info, &m).expect("derives");
    let at = rb
        .steps
        .iter()
        .position(|s| matches!(s.action, Action::RemoveHotfixFromBase { .. }))
        .expect("base step");
    let step = rb.steps.remove(at);
    rb.steps.insert(1, step);
    rb.on_violation = OnViolation::Stop;
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["base-removal-while-in-use"]);
    assert!(
        r.failed_properties()
            .contains(&"package-removal-before-base-removal")
    );
}

#[test]
fn forgetting_synchronize_leaves_instances_without_the_hotfix() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| {
        matches!(a, Action::SynchronizeInstances { .. })
    });
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["instances-synchronized", "instances-updated"]);
}

#[test]
fn forgetting_apply_leaves_pending_changes() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| *a == Action::ApplyAllChanges);
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["no-pending-changes", "instances-updated"]);
}

#[test]
fn forgetting_activate_leaves_vus_down() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| matches!(a, Action::ActivateVu { .. }));
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["vus-reactivated"]);
}

#[test]
fn forgetting_monitoring_mode_is_caught() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| *a == Action::SetMode(IaMode::Monitoring));
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["ends-in-monitoring-mode"]);
}

#[test]
fn forgetting_to_save_the_model_is_caught() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| *a == Action::SaveModel);
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["model-saved-after-last-change"]);
}

#[test]
fn removal_forgetting_synchronize_leaves_the_hotfix_on_nodes() {
    let mut m = contact_center_installed();
    let info = sample_info();
    let rb = remove_without(&m, &info, |a| {
        matches!(a, Action::SynchronizeInstances { .. })
    });
    let r = run_one(&mut m, &info, rb);
    // Without Synchronize Instances the base removal also comes before it.
    assert_outcome(
        &r,
        &["base-removal-before-synchronize"],
        &["instances-synchronized", "instances-updated"],
    );
}

#[test]
fn refresh_with_unapplied_changes_discards_them() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let apply = rb
        .steps
        .iter()
        .position(|s| s.action == Action::ApplyAllChanges)
        .expect("apply");
    rb.steps.insert(
        apply,
        hotfix_sim::runbook::Step {
            action: Action::RefreshAllNodes,
            note: None,
            origin: None,
        },
    );
    let r = run_one(&mut m, &info, rb);
    assert_outcome(
        &r,
        &["refresh-discards-pending"],
        &["instances-synchronized", "instances-updated"],
    );
}

#[test]
fn unreachable_node_is_reported_and_left_behind() {
    let mut m = contact_center();
    let n = m.node_id("HAC04").expect("node");
    m.nodes.reachable[n as usize] = false;
    let info = sample_info();
    let rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let r = run_one(&mut m, &info, rb);
    // HAC04 misses the refresh, so CHAT_VU02 (on HAC03 and HAC04) cannot get the hotfix.
    assert_eq!(r.step_rules(), ["node-unreachable", "refresh-before-add"]);
    assert!(r.failed_properties().contains(&"instances-updated"));
    assert!(r.violations.iter().any(|v| v.message.contains("HAC04")));
}

#[test]
fn unknown_objects_are_violations_not_panics() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = runbook(
        Procedure::Install,
        vec![
            deploy(),
            inactivate("NO_SUCH_VU"),
            add_to_package("CHAT_VU01", "NoSuchPackage"),
            Action::ApplyChanges {
                node: "HAC99".into(),
            },
            Action::MsiInstall {
                product_code: "{00000000-0000-0000-0000-000000000000}".into(),
                workstation: Some("WS0001".into()),
            },
            monitor(),
        ],
    );
    let r = run_one(&mut m, &info, rb);
    assert_eq!(r.step_rules(), ["msi-not-available", "unknown-object"]);
    assert_eq!(r.violations.iter().filter(|v| v.step.is_some()).count(), 4);
}

#[test]
fn installing_the_msi_before_removing_the_old_one_is_caught() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let n = rb.steps.len();
    rb.steps.swap(n - 2, n - 1);
    let r = run_one(&mut m, &info, rb);
    // Both versions for a while; the removal then leaves only the new one.
    assert_outcome(&r, &["msi-both-versions"], &[]);
}

#[test]
fn forgetting_the_msi_removal_leaves_two_versions() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| matches!(a, Action::MsiRemove { .. }));
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &["msi-both-versions"], &["workstations-updated"]);
}

#[test]
fn forgetting_the_msi_install_leaves_workstations_without_the_component() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = install_without(&m, &info, |a| matches!(a, Action::MsiInstall { .. }));
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &["workstations-updated"]);
}

#[test]
fn stop_policy_ends_the_run_at_the_first_violation() {
    let mut m = contact_center();
    let info = sample_info();
    let mut rb = install_without(&m, &info, |a| {
        matches!(a, Action::SetMode(IaMode::Deployment))
    });
    rb.on_violation = OnViolation::Continue;
    let cont = run_one(&mut m.clone(), &info, rb.clone());
    rb.on_violation = OnViolation::Stop;
    let stop = run_one(&mut m, &info, rb);
    assert!(cont.violations.iter().filter(|v| v.step.is_some()).count() > 1);
    assert_eq!(
        stop.violations.iter().filter(|v| v.step.is_some()).count(),
        1
    );
    assert_eq!(
        stop.metrics.steps.as_ref().expect("steps").stopped_at_step,
        stop.violations[0].step
    );
}

mod random_runbooks {
    use super::*;
    use proptest::prelude::*;

    fn action(i: u8, j: u8) -> Action {
        let vus = [
            "CHAT_VU01",
            "CHAT_VU02",
            "ROUTING_VU01",
            "EMAIL_VU01",
            "NOPE",
        ];
        let pkgs = ["ChatServer", "RoutingEngine", "EmailServer"];
        let nodes = ["HAC01", "HAC03", "HAC06", "HAC99"];
        let v = vus[j as usize % vus.len()].to_owned();
        match i % 15 {
            0 => Action::Extract(Box::new(sample_info())),
            1 => Action::SetMode(if j.is_multiple_of(2) {
                IaMode::Deployment
            } else {
                IaMode::Monitoring
            }),
            2 => Action::InactivateVu { vu: v },
            3 => Action::ActivateVu { vu: v },
            4 => add_to_base(&sample_info()),
            5 => Action::RemoveHotfixFromBase {
                base: "7.0 SP3".into(),
                hotfix: HF.into(),
            },
            6 => Action::RefreshAllNodes,
            7 => Action::AddHotfixToPackage {
                vu: v,
                package: pkgs[j as usize % 3].into(),
                hotfix: HF.into(),
            },
            8 => Action::DeleteHotfixFromPackage {
                vu: v,
                package: pkgs[j as usize % 3].into(),
                hotfix: HF.into(),
            },
            9 => Action::SynchronizeInstances {
                vu: (j.is_multiple_of(2)).then_some(v),
            },
            10 => Action::ApplyChanges {
                node: nodes[j as usize % nodes.len()].into(),
            },
            11 => Action::ApplyAllChanges,
            12 => Action::SaveModel,
            13 => Action::MsiRemove {
                product_code: if j.is_multiple_of(2) {
                    OLD_DESKTOP
                } else {
                    NEW_DESKTOP
                }
                .into(),
                workstation: (j.is_multiple_of(3)).then(|| "WS0001".into()),
            },
            _ => Action::MsiInstall {
                product_code: if j.is_multiple_of(2) {
                    OLD_DESKTOP
                } else {
                    NEW_DESKTOP
                }
                .into(),
                workstation: (j.is_multiple_of(3)).then(|| "WS0002".into()),
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any sequence of actions: no panic, the saved model loads back, and the
        /// derived pending counters match the instance states.
        #[test]
        fn any_runbook_keeps_the_model_consistent(steps in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..40)) {
            let mut m = contact_center();
            let info = sample_info();
            let rb = runbook(Procedure::Install, steps.iter().map(|&(i, j)| action(i, j)).collect());
            let _ = run_one(&mut m, &info, rb);
            let xml = hotfix_sim::model_xml::save_string(&m);
            let back = hotfix_sim::model_xml::load_str(&xml).expect("saved model loads");
            prop_assert_eq!(&back.nodes.pending, &m.nodes.pending);
            prop_assert_eq!(back.nodes.pending_total, m.nodes.pending_total);
            prop_assert_eq!(hotfix_sim::model_xml::save_string(&back), xml);
        }
    }
}

#[test]
fn docs_list_every_rule_and_property() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/SIMULATOR.md"),
    )
    .expect("docs/SIMULATOR.md");
    for r in hotfix_sim::ops::RULES {
        assert!(
            docs.contains(&format!("`{}`", r.id)),
            "rule {} undocumented",
            r.id
        );
    }
    for p in hotfix_sim::properties::PROPERTIES {
        assert!(
            docs.contains(&format!("`{}`", p.name)),
            "property {} undocumented",
            p.name
        );
    }
    for a in hotfix_sim::ops::ACTION_NAMES {
        assert!(docs.contains(&format!("`{a}`")), "action {a} undocumented");
    }
}

#[test]
fn doing_a_step_twice_or_undoing_what_is_not_there_is_refused() {
    let mut m = contact_center();
    let info = sample_info();
    let twice = |a: Action| vec![a.clone(), a];
    let mut steps = vec![extract(&info), deploy()];
    steps.extend(twice(add_to_base(&info)));
    steps.push(Action::RefreshAllNodes);
    steps.push(Action::RemoveHotfixFromBase {
        base: "7.0 SP3".into(),
        hotfix: "HF-7.0.3-0001".into(),
    });
    steps.push(inactivate("CHAT_VU01"));
    steps.extend(twice(add_to_package("CHAT_VU01", "ChatServer")));
    steps.push(inactivate("ROUTING_VU01"));
    steps.push(Action::DeleteHotfixFromPackage {
        vu: "ROUTING_VU01".into(),
        package: "RoutingEngine".into(),
        hotfix: HF.into(),
    });
    steps.push(Action::MsiRemove {
        product_code: NEW_DESKTOP.into(),
        workstation: Some("WS0001".into()),
    });
    steps.push(Action::MsiInstall {
        product_code: OLD_DESKTOP.into(),
        workstation: Some("WS0001".into()),
    });
    let r = run_one(&mut m, &info, runbook(Procedure::Install, steps));
    assert_eq!(
        r.step_rules(),
        [
            "hotfix-already-in-base",
            "hotfix-already-in-package",
            "hotfix-not-in-package",
            "hotfix-not-registered",
            "msi-already-installed",
            "msi-not-installed",
        ]
    );
}

#[test]
fn rules_table_matches_the_rule_enum() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("../docs/SIMULATOR.md")).expect("docs");
    let section = docs
        .split("\n## Rules\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a `## Rules` section");
    let mut ids: Vec<String> = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let id = cells[0].trim_start_matches("| `").trim_end_matches('`');
        let rule = hotfix_sim::rules::RuleId::parse(id)
            .unwrap_or_else(|| panic!("docs list `{id}`, which is no rule id"));
        let family = serde_json::to_value(rule.family()).expect("family");
        assert_eq!(cells[1], family.as_str().expect("str"), "family of {id}");
        // Every scenario named as breaking a rule exists.
        let last = cells[cells.len() - 1];
        for name in last.split('`').filter(|n| n.ends_with(".toml")) {
            assert!(
                root.join("scenarios").join(name).is_file(),
                "{id}: scenario {name} does not exist"
            );
        }
        ids.push(id.to_owned());
    }
    let want: Vec<&str> = hotfix_sim::rules::RuleId::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(
        ids, want,
        "the table lists every rule id once, in enum order"
    );
}
