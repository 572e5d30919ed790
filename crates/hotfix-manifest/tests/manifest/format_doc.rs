//! Keeps docs/FORMAT.md honest: its full example is a valid manifest in canonical form
//! that describes the sample hotfix's files, and its sample error reads as documented.

use std::path::{Path, PathBuf};

use hotfix_manifest::Manifest;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example_manifest() -> String {
    let doc = std::fs::read_to_string(repo_root().join("docs/FORMAT.md")).expect("FORMAT.md");
    let start = doc
        .find("<!-- example-manifest:begin -->")
        .expect("begin marker");
    let end = doc
        .find("<!-- example-manifest:end -->")
        .expect("end marker");
    let block = &doc[start..end];
    let xml_start = block.find("```xml\n").expect("xml block") + "```xml\n".len();
    let xml_end = block.rfind("```").expect("block end");
    block[xml_start..xml_end].to_string()
}

#[test]
fn format_doc_example_is_a_canonical_manifest_of_the_sample() {
    let xml = example_manifest();
    let m = Manifest::from_xml(xml.as_bytes()).expect("the documented example reads");
    assert_eq!(
        String::from_utf8(m.to_xml()).expect("UTF-8"),
        xml,
        "not canonical"
    );
    assert_eq!(m.id, "HF-7.0.3-0042");
    let sample = repo_root().join("packages/HF-7.0.3-0042");
    for f in m.payload() {
        let on_disk = std::fs::metadata(sample.join(&f.path))
            .unwrap_or_else(|e| panic!("{}: {e}", f.path))
            .len();
        assert_eq!(
            on_disk, f.size,
            "{} changed: update FORMAT.md section 3.7",
            f.path
        );
    }
    let files_in_sample = walk(&sample).len() - 1; // all but hotfix.toml
    assert_eq!(
        m.payload().count(),
        files_in_sample,
        "FORMAT.md example lists every file"
    );
}

#[test]
fn format_doc_error_example_matches_the_reader() {
    let xml = example_manifest().replace(
        "server/RoutingEngine/lib/librouting.so",
        "server/ChatServer/lib/librouting.so",
    );
    let e = Manifest::from_xml(xml.as_bytes()).expect_err("refused");
    let doc = std::fs::read_to_string(repo_root().join("docs/FORMAT.md")).expect("FORMAT.md");
    assert!(
        doc.contains(&e.to_string()),
        "FORMAT.md 3.8 should show: {e}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
