//! Logical metrics mean the same whatever the starting model.

use hotfix_sim::ops::Action;
use hotfix_sim::runbook::{Runbook, Step};

use crate::support::*;

fn apply_per_node_without(rb: &mut Runbook, skip: &str) {
    let at = rb
        .steps
        .iter()
        .position(|s| s.action == Action::ApplyAllChanges)
        .expect("apply");
    rb.steps.remove(at);
    let nodes = ["HAC01", "HAC02", "HAC03", "HAC04", "HAC05"];
    for (k, n) in nodes.iter().filter(|n| **n != skip).enumerate() {
        rb.steps.insert(
            at + k,
            Step {
                action: Action::ApplyChanges {
                    node: (*n).to_owned(),
                },
                note: None,
                origin: None,
            },
        );
    }
}

#[test]
fn the_standard_install_converges_at_its_apply_step_on_a_model_new_to_the_hotfix() {
    let mut m = contact_center();
    let info = sample_info();
    assert!(
        m.syms.get(&info.id).is_none(),
        "the model does not mention it"
    );
    let rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let apply = rb
        .steps
        .iter()
        .position(|s| s.action == Action::ApplyAllChanges)
        .expect("apply") as u64
        + 1;
    let r = run_one(&mut m, &info, rb);
    assert_outcome(&r, &[], &[]);
    assert_eq!(
        r.metrics.steps.as_ref().expect("steps").converged_at_step,
        Some(apply as u32)
    );
    assert_eq!(
        r.metrics.steps.as_ref().expect("steps").mixed_version_steps,
        0
    );
}

#[test]
fn a_forgotten_node_gives_the_same_metrics_whether_or_not_the_model_knew_the_hotfix() {
    let info = sample_info();
    // Model A does not mention the hotfix; model B has it extracted already.
    let a = contact_center();
    let mut b = contact_center();
    let mut s = hotfix_sim::ops::Session::default();
    hotfix_sim::ops::execute(&mut b, &mut s, &extract(&info));
    let mut rb_a = hotfix_sim::runbook::standard_install_for(&info, &a).expect("derives");
    let mut rb_b = hotfix_sim::runbook::standard_install_for(&info, &b).expect("derives");
    assert_eq!(
        rb_a.steps.len(),
        rb_b.steps.len() + 1,
        "B has no extract step"
    );
    apply_per_node_without(&mut rb_a, "HAC05");
    apply_per_node_without(&mut rb_b, "HAC05");
    let (mut ma, mut mb) = (a, b);
    let ra = run_one(&mut ma, &info, rb_a);
    let rb = run_one(&mut mb, &info, rb_b);
    assert!(!ra.passed && !rb.passed);
    assert_eq!(
        ra.metrics.steps.as_ref().expect("steps").converged_at_step,
        None
    );
    assert_eq!(
        rb.metrics.steps.as_ref().expect("steps").converged_at_step,
        None
    );
    // From the first per-node apply to the end, instances of RoutingEngine disagree
    // (HAC05 never applied): the same count on both models.
    let mixed = ra
        .metrics
        .steps
        .as_ref()
        .expect("steps")
        .mixed_version_steps;
    assert!(mixed > 0);
    assert_eq!(
        rb.metrics
            .steps
            .as_ref()
            .expect("steps")
            .mixed_version_steps,
        mixed
    );
}
