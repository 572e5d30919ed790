//! The package SBOM is valid CycloneDX 1.5 (checked against the shipped JSON schema and
//! round-tripped through the `cyclonedx-bom` crate) and lists what the manifest says.

use std::path::Path;

use hotfix_manifest::{Base, FileEntry, Manifest, MsiComponent, Sha256, SoftwarePackage};
use hotfix_package::sbom::{SBOM_ENTRY, cyclonedx_json};
use serde_json::Value;

fn file(path: &str, byte: u8) -> FileEntry {
    FileEntry {
        path: path.into(),
        size: 1000 + u64::from(byte),
        sha256: Sha256([byte; 32]),
    }
}

fn manifest() -> Manifest {
    Manifest {
        format: 1,
        id: "HF-7.0.3-0042".into(),
        version: 2,
        title: "Chat routing fix".into(),
        description: String::new(),
        base: Base {
            release: "7.0".into(),
            support_package: "SP3".into(),
        },
        created: "2025-11-25T00:00:00Z".into(),
        supersedes: vec!["HF-7.0.3-0040".into()],
        requires: vec!["HF-7.0.3-0031".into()],
        software_packages: vec![SoftwarePackage {
            name: "ChatServer".into(),
            version: "7.0.3.12".into(),
            files: vec![
                file("server/ChatServer/bin/chat.dll", 1),
                file("server/ChatServer/lib/route.jar", 2),
            ],
        }],
        msis: vec![MsiComponent {
            file: file("client/AgentDesktop.msi", 3),
            product_code: "{8F1C0A77-8C1E-4A8E-9E55-0C3A3F3B9E01}".into(),
            upgrade_code: "{0D5E8A54-5E1B-4B1F-8C0E-5B1C5D8B2C77}".into(),
            product_version: "7.0.3.5".into(),
            product_name: "Agent Desktop".into(),
            replaces_version: "7.0.3.4".into(),
        }],
        docs: vec![file("docs/README.txt", 4), file(SBOM_ENTRY, 5)],
    }
}

fn schema_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cyclonedx"))
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(name)).expect("schema file");
    serde_json::from_str(&text).expect("schema JSON")
}

fn validator() -> jsonschema::Validator {
    let base = "http://cyclonedx.org/schema/";
    let registry = jsonschema::Registry::new()
        .add(
            format!("{base}spdx.SNAPSHOT.schema.json"),
            load("spdx.schema.json"),
        )
        .expect("spdx schema")
        .add(
            format!("{base}jsf-0.82.SNAPSHOT.schema.json"),
            load("jsf-0.82.schema.json"),
        )
        .expect("jsf schema")
        .prepare()
        .expect("registry");
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .with_registry(&registry)
        .build(&load("bom-1.5.schema.json"))
        .expect("the CycloneDX schema compiles")
}

fn sbom() -> Value {
    serde_json::from_slice(&cyclonedx_json(&manifest(), "0.1.0")).expect("SBOM is JSON")
}

#[test]
fn the_sbom_is_valid_cyclonedx_1_5() {
    let v = validator();
    let bom = sbom();
    let errors: Vec<String> = v
        .iter_errors(&bom)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_schema_check_can_fail() {
    let mut bom = sbom();
    bom["components"][0]["hashes"] = serde_json::json!([{ "alg": "SHA-256", "content": "xyz" }]);
    bom["specVersion"] = Value::from(15);
    assert!(!validator().is_valid(&bom));
}

#[test]
fn the_sbom_round_trips_through_the_cyclonedx_crate() {
    use cyclonedx_bom::models::bom::Bom;
    use cyclonedx_bom::prelude::Validate;
    let bytes = cyclonedx_json(&manifest(), "0.1.0");
    let bom = Bom::parse_from_json_v1_5(bytes.as_slice()).expect("cyclonedx-bom reads it");
    let result = bom.validate();
    assert!(result.passed(), "{result:?}");
    let mut again = Vec::new();
    bom.output_as_json_v1_5(&mut again).expect("write");
    let a: Value = serde_json::from_slice(&bytes).expect("json");
    let b: Value = serde_json::from_slice(&again).expect("json");
    assert_eq!(a["serialNumber"], b["serialNumber"]);
    assert_eq!(a["components"], b["components"]);
    assert_eq!(a["dependencies"], b["dependencies"]);
}

#[test]
fn the_sbom_lists_packages_files_msis_and_relations() {
    let bom = sbom();
    let text = bom.to_string();
    assert_eq!(bom["metadata"]["component"]["name"], "HF-7.0.3-0042");
    assert_eq!(bom["metadata"]["component"]["version"], "2");
    let chat = &bom["components"][0];
    assert_eq!(chat["name"], "ChatServer");
    assert_eq!(chat["version"], "7.0.3.12");
    assert_eq!(
        chat["components"][1]["name"],
        "server/ChatServer/lib/route.jar"
    );
    assert_eq!(
        chat["components"][1]["hashes"][0]["content"],
        "02".repeat(32)
    );
    let msi = &bom["components"][1];
    assert_eq!(msi["name"], "Agent Desktop");
    assert_eq!(msi["version"], "7.0.3.5");
    assert!(text.contains("{8F1C0A77-8C1E-4A8E-9E55-0C3A3F3B9E01}"));
    assert!(text.contains("{0D5E8A54-5E1B-4B1F-8C0E-5B1C5D8B2C77}"));
    assert!(text.contains("docs/README.txt"));
    assert!(!text.contains(SBOM_ENTRY), "an SBOM does not list itself");
    let deps = bom["dependencies"][0]["dependsOn"].to_string();
    assert!(deps.contains("hotfix:HF-7.0.3-0031"), "{deps}");
    assert!(
        text.contains("\"scope\":\"excluded\""),
        "the superseded hotfix is listed"
    );
}

#[test]
fn the_same_manifest_gives_the_same_bytes() {
    assert_eq!(
        cyclonedx_json(&manifest(), "0.1.0"),
        cyclonedx_json(&manifest(), "0.1.0")
    );
    let mut other = manifest();
    other.version = 3;
    let a = sbom();
    let b: Value = serde_json::from_slice(&cyclonedx_json(&other, "0.1.0")).expect("json");
    assert_ne!(a["serialNumber"], b["serialNumber"]);
}
