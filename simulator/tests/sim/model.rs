//! The system model file: round trip, consistency problems, generation, size.

use hotfix_sim::generate::{GenerateParams, generate};
use hotfix_sim::model_xml::{load_str, save_string};
use hotfix_sim::run::{RunOptions, run};

use crate::support::*;

#[test]
fn committed_models_are_canonical() {
    for name in ["contact-center.xml", "contact-center-installed.xml"] {
        let path = scenarios_dir().join("models").join(name);
        let text = std::fs::read_to_string(&path).expect("read");
        let m = load_str(&text).expect("loads");
        assert_eq!(save_string(&m), text, "{name} is not in canonical form");
    }
}

/// `contact-center-installed.xml` is what the standard install leaves; set
/// `UPDATE_FIXTURES=1` to rewrite it after changing the model or the procedure.
#[test]
fn installed_model_is_what_the_standard_install_saves() {
    let mut m = contact_center();
    let info = sample_info();
    let rb = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    assert!(run_one(&mut m, &info, rb).passed);
    let path = scenarios_dir().join("models/contact-center-installed.xml");
    let xml = save_string(&m);
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &xml).expect("write fixture");
    }
    assert_eq!(std::fs::read_to_string(&path).expect("read"), xml);
}

#[test]
fn reports_every_consistency_problem_with_its_location() {
    let text =
        std::fs::read_to_string(data_dir().join("every-consistency-problem.xml")).expect("read");
    let problems = load_str(&text).expect_err("broken model");
    let got: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let want = [
        "8:11: bad node name `hac-2`: use A-Z, 0-9 and _ (at most 64)",
        "9:11: duplicate node name `HAC01`",
        "10:24: unknown base installation `7.0 SP9`",
        "14:5: virtual unit `CHAT_VU01` has 1 instance(s); a VU needs instances on at least 2 HAC nodes",
        "21:17: virtual unit `ROUTING_VU01`: unknown node `HAC77` referenced",
        "24:9: duplicate virtual unit name `CHAT_VU01` (first at 14:5)",
        "30:3: unknown element <gadgets> in <system-model>",
    ];
    assert_eq!(got, want, "{got:#?}");
}

/// Attribute-level problems (unknown attributes, bad list items, control characters,
/// attributes after a line break or a tab, `name = "…"` with spaces) keep the exact
/// positions and messages the reader has always given; the expected lines are the
/// reader's output before its allocation-free rewrite.
#[test]
fn reports_every_attribute_problem_at_the_same_place() {
    let dir = data_dir();
    let text = std::fs::read_to_string(dir.join("every-attribute-problem.xml")).expect("read");
    let want = std::fs::read_to_string(dir.join("every-attribute-problem.txt")).expect("read");
    let problems = load_str(&text).expect_err("broken model");
    let got: String = problems.iter().map(|p| format!("{p}\n")).collect();
    assert_eq!(got, want);
}

#[test]
fn refuses_entities_and_deep_nesting() {
    let entity = "<?xml version=\"1.0\"?>\n<!DOCTYPE m [<!ENTITY x \"y\">]>\n<system-model format=\"1\" ia-mode=\"monitoring\"/>";
    assert!(
        load_str(entity).expect_err("dtd")[0]
            .message
            .contains("DTD")
    );
    let deep = format!(
        "<system-model format=\"1\" ia-mode=\"monitoring\">{}{}</system-model>",
        "<nodes>".repeat(20),
        "</nodes>".repeat(20)
    );
    assert!(
        load_str(&deep)
            .expect_err("deep")
            .iter()
            .any(|p| p.message.contains("deeper"))
    );
}

#[test]
fn generated_model_round_trips_byte_for_byte() {
    let m = generate(&GenerateParams {
        nodes: 300,
        vus: 80,
        instances: 3,
        workstations: 20,
        unreachable: 1,
        seed: 42,
        ..GenerateParams::default()
    })
    .expect("generates");
    let xml = save_string(&m);
    let back = load_str(&xml).expect("loads");
    assert_eq!(save_string(&back), xml);
}

#[test]
fn install_then_remove_on_1000_nodes_restores_the_model() {
    let info = sample_info();
    let mut params = GenerateParams {
        nodes: 1000,
        vus: 200,
        instances: 2,
        workstations: 50,
        seed: 7,
        ..GenerateParams::default()
    };
    params.fit(&info, true);
    let mut m = generate(&params).expect("generates");
    let before = save_string(&m);
    let install = hotfix_sim::runbook::standard_install_for(&info, &m).expect("derives");
    let r = run(&mut m, &info, &[install], &RunOptions::default());
    assert_outcome(&r, &[], &[]);
    assert_ne!(save_string(&m), before);
    let remove = hotfix_sim::runbook::standard_remove_for(&info, &m).expect("derives");
    let r = run(&mut m, &info, &[remove], &RunOptions::default());
    assert_outcome(&r, &[], &[]);
    assert_eq!(save_string(&m), before);
}

#[test]
fn a_node_costs_well_under_two_kilobytes() {
    let m = generate(&GenerateParams {
        nodes: 20_000,
        vus: 8_000,
        instances: 3,
        ..GenerateParams::default()
    })
    .expect("generates");
    let per_node = m.approx_heap_bytes() / m.nodes.len();
    assert!(per_node < 512, "{per_node} bytes per node");
}

mod hostile_xml {
    use proptest::prelude::*;

    fn base_text() -> String {
        std::fs::read_to_string(
            crate::support::scenarios_dir().join("models/contact-center-installed.xml"),
        )
        .expect("read")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Truncated or corrupted model files give problems, never a panic; whatever
        /// loads saves back canonically.
        #[test]
        fn corrupted_models_never_panic(cut in 0usize..4000, at in 0usize..4000, byte in any::<u8>()) {
            let text = base_text();
            let mut bytes = text.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            bytes.truncate(cut.max(1) * bytes.len() / 4000 + 1);
            if let Ok(s) = String::from_utf8(bytes)
                && let Ok(m) = hotfix_sim::model_xml::load_str(&s)
            {
                let saved = hotfix_sim::model_xml::save_string(&m);
                let again = hotfix_sim::model_xml::load_str(&saved).expect("saved model loads");
                prop_assert_eq!(hotfix_sim::model_xml::save_string(&again), saved);
            }
        }
    }
}
