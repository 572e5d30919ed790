//! For random models and random reorderings and omissions of the standard install, the
//! one simulation's verdict equals an independent oracle's, and timing convergence never
//! contradicts the logical end state.
//!
//! The oracle knows only the procedure text: every step of the standard runbook is
//! needed, and the ordering rules of `permutations::broken_rule` hold.

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
