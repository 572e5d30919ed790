//! For random models and random reorderings and omissions of the standard install and
//! removal, the one simulation's verdict equals an independent oracle's, and timing
//! convergence never contradicts the logical end state.
//!
//! The oracle knows only the procedure text: every step of the standard runbook is
//! needed, and the ordering rules (`permutations::broken_rule` for the install,
//! `broken_removal_rule` here for the removal) hold.

use hotfix_sim::generate::{GenerateParams, generate};
use hotfix_sim::ops::Action;
use hotfix_sim::run::RunOptions;
use hotfix_sim::runbook::Procedure;
use hotfix_sim::simulation::simulate;
use hotfix_sim::timing::TimingConfig;
use proptest::prelude::*;

use crate::permutations::broken_rule;
use crate::support::*;

/// A deterministic shuffle of `0..n` from `seed` (xorshift Fisher–Yates).
fn shuffled(n: usize, mut seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    seed |= 1;
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    v
}

fn passed(report: &hotfix_sim::run::RunReport, name: &str) -> bool {
    report
        .properties
        .iter()
        .filter(|p| p.name == name)
        .all(|p| p.passed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn verdict_equals_the_oracle_and_timing_agrees_with_the_model(
        nodes in 3u32..24,
        vus in 2u32..10,
        instances in 2u32..4,
        workstations in 0u32..5,
        model_seed in any::<u64>(),
        mode in 0u8..4,
        order_seed in any::<u64>(),
        drop_at in proptest::option::of(0usize..64),
    ) {
        let info = sample_info();
        let mut params = GenerateParams {
            nodes,
            vus,
            instances: instances.min(nodes),
            workstations,
            seed: model_seed,
            ..GenerateParams::default()
        };
        params.fit(&info, false);
        let model = generate(&params).expect("model generates");
        let standard = hotfix_sim::runbook::standard_install_for(&info, &model).expect("derives");
        let mut steps: Vec<Action> = standard.steps.into_iter().map(|s| s.action).collect();
        let n = steps.len();
        match mode {
            // As derived, or one adjacent swap, or any order.
            0 => {}
            1 => {
                let i = (order_seed as usize) % (n - 1);
                steps.swap(i, i + 1);
            }
            _ => {
                let order = shuffled(n, order_seed);
                steps = order.iter().map(|&i| steps[i].clone()).collect();
            }
        }
        let dropped = drop_at.map(|d| steps.remove(d % n));
        let oracle = dropped.is_none() && broken_rule(&steps).is_none();

        let mut m = model.clone();
        let sim = simulate(
            &mut m,
            &info,
            &[runbook(Procedure::Install, steps.clone())],
            &TimingConfig::default(),
            model_seed,
            &RunOptions::default(),
        )
        .expect("simulates");
        prop_assert_eq!(
            sim.report.passed,
            oracle,
            "dropped {:?}, broken {:?}, violations {:#?}, steps {:#?}",
            dropped,
            broken_rule(&steps),
            sim.report.violations,
            steps
        );

        // Timing convergence and the model's end state agree.
        let t = &sim.timing.nodes;
        let logical = passed(&sim.report, "instances-updated")
            && passed(&sim.report, "no-pending-changes");
        if t.converged == t.affected && t.affected > 0 {
            prop_assert!(passed(&sim.report, "instances-updated"), "timing converged, model not: {:?}", t);
        }
        if logical {
            prop_assert_eq!(t.converged, t.affected, "model converged, timing not: {:?}", t);
        }
    }
}

/// The removal's ordering rules, from the seed ("delete from the package, synchronize,
/// repeat per VU, remove from the base, apply") and DOMAIN.md; `None` when all hold.
fn broken_removal_rule(steps: &[Action]) -> Option<&'static str> {
    use hotfix_sim::model::IaMode;
    let pos = |f: &dyn Fn(&Action) -> bool| -> Vec<usize> {
        steps
            .iter()
            .enumerate()
            .filter(|(_, a)| f(a))
            .map(|(i, _)| i)
            .collect()
    };
    let before = |a: &dyn Fn(&Action) -> bool, b: &dyn Fn(&Action) -> bool| -> bool {
        match (pos(a).into_iter().max(), pos(b).into_iter().min()) {
            (Some(x), Some(y)) => x < y,
            _ => true,
        }
    };
    let change = |a: &Action| {
        matches!(
            a,
            Action::DeleteHotfixFromPackage { .. }
                | Action::SynchronizeInstances { .. }
                | Action::RemoveHotfixFromBase { .. }
                | Action::ApplyAllChanges
        )
    };
    let deployment = |a: &Action| matches!(a, Action::SetMode(IaMode::Deployment));
    let monitoring = |a: &Action| matches!(a, Action::SetMode(IaMode::Monitoring));
    let delete = |a: &Action| matches!(a, Action::DeleteHotfixFromPackage { .. });
    let sync = |a: &Action| matches!(a, Action::SynchronizeInstances { .. });
    let base = |a: &Action| matches!(a, Action::RemoveHotfixFromBase { .. });
    let apply = |a: &Action| matches!(a, Action::ApplyAllChanges);
    let activate = |a: &Action| matches!(a, Action::ActivateVu { .. });
    let checks: [(&str, bool); 9] = [
        (
            "deployment mode before any change",
            before(&deployment, &change),
        ),
        (
            "every change before monitoring mode again",
            before(&change, &monitoring),
        ),
        (
            "every delete before the base removal",
            before(&delete, &base),
        ),
        (
            "every synchronize before the base removal",
            before(&sync, &base),
        ),
        ("the base removal before the apply", before(&base, &apply)),
        ("every synchronize before the apply", before(&sync, &apply)),
        (
            "the apply before activating any VU",
            before(&apply, &activate),
        ),
        (
            "every change before saving",
            before(&|a| change(a) || activate(a), &|a| {
                matches!(a, Action::SaveModel)
            }),
        ),
        (
            "MSI removal before MSI install",
            before(&|a| matches!(a, Action::MsiRemove { .. }), &|a| {
                matches!(a, Action::MsiInstall { .. })
            }),
        ),
    ];
    if let Some((name, _)) = checks.iter().find(|(_, ok)| !ok) {
        return Some(name);
    }
    // Per VU: inactivated before its delete; its delete before its synchronize.
    for (i, a) in steps.iter().enumerate() {
        if let Action::DeleteHotfixFromPackage { vu, .. } = a {
            let inact = pos(&|s| matches!(s, Action::InactivateVu { vu: v } if v == vu));
            if inact.iter().any(|&p| p > i) {
                return Some("inactivate a VU before deleting from its package");
            }
            let syncs =
                pos(&|s| matches!(s, Action::SynchronizeInstances { vu: Some(v) } if v == vu));
            if syncs.iter().all(|&p| p < i) {
                return Some("synchronize a VU after deleting from its package");
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn removal_verdict_equals_the_oracle(
        nodes in 3u32..16,
        vus in 2u32..8,
        workstations in 0u32..4,
        model_seed in any::<u64>(),
        mode in 0u8..4,
        order_seed in any::<u64>(),
        drop_at in proptest::option::of(0usize..64),
    ) {
        let info = sample_info();
        let mut params = GenerateParams {
            nodes,
            vus,
            instances: 2,
            workstations,
            seed: model_seed,
            ..GenerateParams::default()
        };
        params.fit(&info, false);
        let mut model = generate(&params).expect("model generates");
        let install = hotfix_sim::runbook::standard_install_for(&info, &model).expect("derives");
        let installed = hotfix_sim::run::run(&mut model, &info, &[install], &RunOptions::default());
        prop_assume!(installed.passed);
        let standard = hotfix_sim::runbook::standard_remove_for(&info, &model).expect("derives");
        let mut steps: Vec<Action> = standard.steps.into_iter().map(|s| s.action).collect();
        let n = steps.len();
        match mode {
            0 => {}
            1 => {
                let i = (order_seed as usize) % (n - 1);
                steps.swap(i, i + 1);
            }
            _ => {
                let order = shuffled(n, order_seed);
                steps = order.iter().map(|&i| steps[i].clone()).collect();
            }
        }
        let dropped = drop_at.map(|d| steps.remove(d % n));
        let oracle = dropped.is_none() && broken_removal_rule(&steps).is_none();
        let mut m = model.clone();
        let sim = simulate(
            &mut m,
            &info,
            &[runbook(Procedure::Remove, steps.clone())],
            &TimingConfig::default(),
            model_seed,
            &RunOptions::default(),
        )
        .expect("simulates");
        prop_assert_eq!(
            sim.report.passed,
            oracle,
            "dropped {:?}, broken {:?}, violations {:#?}, steps {:#?}",
            dropped,
            broken_removal_rule(&steps),
            sim.report.violations,
            steps
        );
    }
}
