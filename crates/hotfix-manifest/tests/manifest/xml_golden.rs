use hotfix_manifest::Manifest;

use crate::common::{golden, sample};

#[test]
fn writes_the_golden_bytes_for_a_fixed_manifest() {
    let xml = sample().to_xml();
    let text = String::from_utf8(xml).expect("UTF-8");
    if text != golden() {
        // Print the new form so an intended change is easy to review and copy.
        eprintln!("---- to_xml() ----\n{text}---- end ----");
    }
    assert_eq!(text, golden());
}

#[test]
fn reads_the_golden_manifest_back_equal() {
    let m = Manifest::from_xml(golden().as_bytes()).expect("golden manifest reads");
    assert_eq!(m, sample());
}

#[test]
fn golden_manifest_validates() {
    sample().validate().expect("valid");
}

#[test]
fn writing_is_deterministic_and_uses_lf_only() {
    let a = sample().to_xml();
    let b = sample().clone().to_xml();
    assert_eq!(a, b);
    assert!(!a.contains(&b'\r'));
    assert!(a.starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hotfix format=\"1\" "));
    assert!(a.ends_with(b"</hotfix>\n"));
}

#[test]
fn empty_lists_and_description_are_left_out() {
    let mut m = sample();
    m.description.clear();
    m.supersedes.clear();
    m.requires.clear();
    m.docs.clear();
    let text = String::from_utf8(m.to_xml()).expect("UTF-8");
    for absent in ["<description", "<supersedes", "<requires", "<doc "] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    assert_eq!(Manifest::from_xml(text.as_bytes()).expect("reads"), m);
}

#[test]
fn accepts_equivalent_spellings_that_are_not_canonical() {
    // Readers accept what XML allows even though the writer never produces it:
    // attribute order, quotes, comments, empty-element forms, character references.
    let text = golden()
        .replace(
            "<base release=\"7.0\" support-package=\"SP3\"/>",
            "<!-- base level --><base support-package='SP3' release=\"7&#46;0\"></base>",
        )
        .replace("<title>Chat", "<title>&#x43;hat");
    let m = Manifest::from_xml(text.as_bytes()).expect("reads");
    assert_eq!(m, sample());
}

#[test]
fn sort_puts_lists_in_the_required_order() {
    let mut m = sample();
    m.software_packages.reverse();
    m.software_packages[1].files.reverse();
    assert!(m.validate().is_err());
    m.sort();
    assert_eq!(m, sample());
}
