//! Any reordering of the correct install runbook that breaks an ordering rule of the
//! procedure (DOMAIN.md, "Install procedure") is caught: the run does not pass.
//!
//! The ordering rules are written here independently of the simulator, as "step kind A
//! must come before step kind B", so the property checks the simulator against the
//! procedure text rather than against itself.

use hotfix_sim::model::IaMode;
use hotfix_sim::ops::Action;
use hotfix_sim::runbook::Procedure;
use proptest::prelude::*;

use crate::support::*;

/// Positions of the steps in `steps` that match `f`.
fn positions(steps: &[Action], f: impl Fn(&Action) -> bool) -> Vec<usize> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, a)| f(a))
        .map(|(i, _)| i)
        .collect()
}

/// Every step matching `a` comes before every step matching `b`.
fn before(steps: &[Action], a: impl Fn(&Action) -> bool, b: impl Fn(&Action) -> bool) -> bool {
    let last_a = positions(steps, a).into_iter().max();
    let first_b = positions(steps, b).into_iter().min();
    match (last_a, first_b) {
        (Some(x), Some(y)) => x < y,
        _ => true,
    }
}

fn is_change(a: &Action) -> bool {
    matches!(
        a,
        Action::AddHotfixToBase { .. }
            | Action::RefreshAllNodes
            | Action::AddHotfixToPackage { .. }
            | Action::SynchronizeInstances { .. }
            | Action::ApplyChanges { .. }
            | Action::ApplyAllChanges
    )
}

/// The first ordering rule `steps` breaks, by name, if any.
pub fn broken_rule(steps: &[Action]) -> Option<&'static str> {
    let deployment = |a: &Action| matches!(a, Action::SetMode(IaMode::Deployment));
    let monitoring = |a: &Action| matches!(a, Action::SetMode(IaMode::Monitoring));
    let to_base = |a: &Action| matches!(a, Action::AddHotfixToBase { .. });
    let to_package = |a: &Action| matches!(a, Action::AddHotfixToPackage { .. });
    let sync = |a: &Action| matches!(a, Action::SynchronizeInstances { .. });
    let apply = |a: &Action| matches!(a, Action::ApplyAllChanges | Action::ApplyChanges { .. });
    let checks: [(&str, bool); 12] = [
        (
            "extract before adding to the base",
            before(steps, |a| matches!(a, Action::Extract(_)), to_base),
        ),
        (
            "deployment mode before any change",
            before(steps, deployment, is_change),
        ),
        (
            "every change before monitoring mode again",
            before(steps, is_change, monitoring),
        ),
        ("base before package", before(steps, to_base, to_package)),
        (
            "base before the refresh (so nodes see it)",
            before(steps, to_base, |a| matches!(a, Action::RefreshAllNodes)),
        ),
        (
            "refresh before adding to packages",
            before(steps, |a| matches!(a, Action::RefreshAllNodes), to_package),
        ),
        (
            "packages before synchronize",
            before(steps, to_package, sync),
        ),
        ("synchronize before apply", before(steps, sync, apply)),
        (
            "every change before saving",
            before(
                steps,
                |a| is_change(a) || matches!(a, Action::ActivateVu { .. }),
                |a| matches!(a, Action::SaveModel),
            ),
        ),
        (
            "extract before the MSI install (the MSI comes with the package)",
            before(
                steps,
                |a| matches!(a, Action::Extract(_)),
                |a| matches!(a, Action::MsiInstall { .. }),
            ),
        ),
        (
            "apply before activating any VU",
            before(steps, apply, |a| matches!(a, Action::ActivateVu { .. })),
        ),
        (
            "MSI removal before MSI install",
            before(
                steps,
                |a| matches!(a, Action::MsiRemove { .. }),
                |a| matches!(a, Action::MsiInstall { .. }),
            ),
        ),
    ];
    if let Some((name, _)) = checks.iter().find(|(_, ok)| !ok) {
        return Some(name);
    }
    // Per VU: inactivated before its package changes, activated after them.
    for (i, a) in steps.iter().enumerate() {
        if let Action::AddHotfixToPackage { vu, .. } = a {
            let inact = positions(
                steps,
                |s| matches!(s, Action::InactivateVu { vu: v } if v == vu),
            );
            let act = positions(
                steps,
                |s| matches!(s, Action::ActivateVu { vu: v } if v == vu),
            );
            if inact.iter().any(|&p| p > i) {
                return Some("inactivate a VU before changing its package");
            }
            if act.iter().any(|&p| p < i) {
                return Some("activate a VU only after changing its package");
            }
        }
    }
    None
}

fn standard_steps() -> Vec<Action> {
    let m = contact_center();
    let rb = hotfix_sim::runbook::standard_install_for(&sample_info(), &m).expect("derives");
    rb.steps.into_iter().map(|s| s.action).collect()
}

#[test]
fn the_oracle_accepts_the_standard_runbook() {
    assert_eq!(broken_rule(&standard_steps()), None);
    // And it is not vacuous: moving synchronize after apply, or the base step after the
    // package steps, is flagged.
    let steps = standard_steps();
    let find = |f: &dyn Fn(&Action) -> bool| steps.iter().position(f).expect("step present");
    let sync = find(&|a| matches!(a, Action::SynchronizeInstances { .. }));
    let apply = find(&|a| matches!(a, Action::ApplyAllChanges));
    let mut swapped = steps.clone();
    swapped.swap(sync, apply);
    assert_eq!(broken_rule(&swapped), Some("synchronize before apply"));
    let base = find(&|a| matches!(a, Action::AddHotfixToBase { .. }));
    let mut late_base = steps.clone();
    let b = late_base.remove(base);
    late_base.insert(sync, b);
    assert_eq!(broken_rule(&late_base), Some("base before package"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_reordering_that_breaks_an_ordering_rule_is_caught(
        order in Just((0..standard_steps().len()).collect::<Vec<usize>>()).prop_shuffle()
    ) {
        let steps = standard_steps();
        let permuted: Vec<Action> = order.iter().map(|&i| steps[i].clone()).collect();
        if let Some(rule) = broken_rule(&permuted) {
            let mut m = contact_center();
            let report = run_one(&mut m, &sample_info(), runbook(Procedure::Install, permuted));
            prop_assert!(
                !report.passed,
                "breaks '{}' but passed; order {:?}", rule, order
            );
        }
    }

    /// Swapping two adjacent steps is the likeliest operator slip; most such swaps are
    /// harmless, the rest must be caught.
    #[test]
    fn any_adjacent_swap_that_breaks_an_ordering_rule_is_caught(at in 0usize..64) {
        let mut steps = standard_steps();
        let i = at % (steps.len() - 1);
        steps.swap(i, i + 1);
        let broken = broken_rule(&steps);
        let mut m = contact_center();
        let report = run_one(&mut m, &sample_info(), runbook(Procedure::Install, steps));
        if let Some(rule) = broken {
            prop_assert!(!report.passed, "swap at {} breaks '{}' but passed", i, rule);
        }
    }
}
