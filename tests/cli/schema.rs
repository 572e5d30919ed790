//! The published JSON Schemas (`docs/schema/`, docs/JSON.md): each is a valid draft
//! 2020-12 schema, each is checked against real output by at least one test, and every
//! command that prints JSON has one. Real outputs of the success and failure cases the
//! other modules do not print as JSON are checked here.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{check_schema, hotfix, repo_root, schema};
use crate::verify::{Fixture, fixture};

const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of each command (path of subcommand names) that takes
/// `--output-format json`. `sim merge` prints what `sim sweep` prints.
const SCHEMAS: &[(&str, &str)] = &[
    ("build", "build"),
    ("verify", "verify"),
    ("inspect", "inspect"),
    ("extract", "extract"),
    ("list", "list"),
    ("trust show", "trust-show"),
    ("trust verify", "trust-verify"),
    ("index show", "index-show"),
    ("sim run", "sim-run"),
    ("sim plan", "sim-plan"),
    ("sim model check", "sim-model-check"),
    ("sim sweep", "sim-sweep"),
    ("sim merge", "sim-sweep"),
    ("sim compare", "sim-compare"),
];

/// Every `*.schema.json` in docs/schema/, by name (`verify` for verify.schema.json).
fn schema_files() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("docs/schema"))
        .expect("docs/schema")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .map(|name| {
            name.strip_suffix(".schema.json")
                .unwrap_or_else(|| panic!("docs/schema/{name}: not a *.schema.json file"))
                .to_owned()
        })
        .collect()
}

/// The documents a schema describes: the schema itself, or each branch of its `anyOf`.
fn documents(s: &serde_json::Value) -> Vec<&serde_json::Value> {
    match s["anyOf"].as_array() {
        Some(branches) => branches.iter().collect(),
        None => vec![s],
    }
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema_of_the_shared_vocabulary() {
    let names = schema_files();
    assert!(!names.is_empty());
    let mut shared: std::collections::BTreeMap<&str, (String, serde_json::Value)> =
        Default::default();
    let schemas: Vec<(String, serde_json::Value)> =
        names.iter().map(|n| (n.clone(), schema(n))).collect();
    for (name, s) in &schemas {
        assert_eq!(s["$schema"], DRAFT, "{name}: not draft 2020-12");
        if let Err(e) = jsonschema::meta::validate(s) {
            panic!("{name}: not a valid schema: {e} at {}", e.instance_path());
        }
        jsonschema::draft202012::new(s).unwrap_or_else(|e| panic!("{name}: does not compile: {e}"));
        assert!(
            s["$id"]
                .as_str()
                .is_some_and(|id| id.ends_with(&format!("/v1/{name}.schema.json"))),
            "{name}: $id must name the file and schema version 1"
        );
        // Every document: an object with schema_version 1 and ok, closed (docs/JSON.md).
        for doc in documents(s) {
            assert_eq!(doc["type"], "object", "{name}");
            assert_eq!(doc["properties"]["schema_version"]["const"], 1, "{name}");
            assert!(doc["properties"]["ok"].is_object(), "{name}");
            let required = doc["required"].as_array().expect("required");
            for field in ["schema_version", "ok"] {
                assert!(required.iter().any(|r| r == field), "{name}: {field}");
            }
            assert_eq!(doc["additionalProperties"], false, "{name}");
        }
        // Problems always have a kebab-case rule and a message; signers and base
        // installations have one shape everywhere.
        let defs = s["$defs"].as_object().expect("$defs");
        if let Some(problem) = defs.get("problem") {
            let required = problem["required"].as_array().expect("required");
            assert!(
                required.iter().any(|r| r == "rule") && required.iter().any(|r| r == "message")
            );
            assert_eq!(
                problem["properties"]["rule"]["$ref"], "#/$defs/rule",
                "{name}"
            );
            assert_eq!(problem["properties"]["hint"]["type"], "string", "{name}");
        }
        for def in ["rule", "signer", "base"] {
            let this = defs
                .get(def)
                .unwrap_or_else(|| panic!("{name}: $defs.{def}"));
            match shared.get(def) {
                None => {
                    shared.insert(def, (name.clone(), this.clone()));
                }
                Some((first, that)) => {
                    assert_eq!(this, that, "$defs.{def} differs between {first} and {name}")
                }
            }
        }
    }
}

#[test]
fn every_schema_is_checked_against_real_output_by_a_test() {
    let dir = repo_root().join("tests/cli");
    let mut sources = String::new();
    for entry in std::fs::read_dir(&dir).expect("tests/cli") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            sources.push_str(&std::fs::read_to_string(&path).expect("read"));
        }
    }
    for name in schema_files() {
        assert!(
            sources.contains(&format!("check_schema(\"{name}\"")),
            "docs/schema/{name}.schema.json is not checked against any command's output"
        );
    }
    for (command, name) in SCHEMAS {
        assert!(
            schema_files().contains(*name),
            "`hotfix {command}` names docs/schema/{name}.schema.json, which does not exist"
        );
    }
}

/// Subcommand names of `hotfix <path> --help` (its "Commands:" section, without `help`).
fn subcommands(path: &[String]) -> Vec<String> {
    let out = hotfix().args(path).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let Some((_, rest)) = text.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect()
}

/// Whether `hotfix <path> --help` offers `--output-format json`.
fn prints_json(path: &[String]) -> bool {
    let out = hotfix().args(path).arg("--help").output().expect("help");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let Some((_, after)) = text.split_once("--output-format") else {
        return false;
    };
    after
        .lines()
        .find(|l| l.contains("possible values:"))
        .is_some_and(|l| l.contains("json"))
}

#[test]
fn every_command_with_a_json_output_has_a_schema() {
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut with_json = BTreeSet::new();
    while let Some(path) = todo.pop() {
        for sub in subcommands(&path) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
        if !path.is_empty() && prints_json(&path) {
            with_json.insert(path.join(" "));
        }
    }
    assert!(with_json.contains("verify"), "{with_json:?}");
    let listed: BTreeSet<String> = SCHEMAS.iter().map(|(c, _)| (*c).to_owned()).collect();
    assert_eq!(
        with_json, listed,
        "commands with --output-format json and commands with a schema differ"
    );
}

fn run(args: &[&str], cwd: &Path) -> std::process::Output {
    hotfix()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("run hotfix")
}

fn trusted(fx: &Fixture) -> String {
    Fixture::public(&fx.signer).display().to_string()
}

#[test]
fn verify_extract_and_list_print_what_their_schemas_say_on_success_and_failure() {
    let fx = fixture();
    let dir = fx.dir.path();
    let pkg = fx.package.display().to_string();
    let keys = trusted(&fx);
    let json = ["--output-format", "json"];

    // verify: intact; then a truncated copy (problems without a trusted signer).
    let ok = run(
        &[&["verify", &pkg, "--trusted", &keys][..], &json].concat(),
        dir,
    );
    assert_eq!(ok.status.code(), Some(0));
    let v = check_schema("verify", &ok.stdout);
    assert_eq!(
        (v["ok"].clone(), v["signers"][0]["valid"].clone()),
        (true.into(), true.into())
    );
    let bytes = std::fs::read(&fx.package).expect("package");
    let cut = dir.join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).expect("write");
    let cut = cut.display().to_string();
    let bad = run(
        &[&["verify", &cut, "--trusted", &keys][..], &json].concat(),
        dir,
    );
    assert_eq!(bad.status.code(), Some(1));
    let v = check_schema("verify", &bad.stdout);
    assert_eq!(v["ok"], false);
    assert!(
        !v["problems"].as_array().expect("problems").is_empty(),
        "{v}"
    );

    // extract: refused by verification, extracted, then refused by the installation
    // policy (a lower version), with the rule and hint in the document.
    let install = dir.join("install");
    std::fs::create_dir(&install).expect("mkdir");
    let install = install.display().to_string();
    let extract = |p: &str| {
        run(
            &[
                &["extract", p, "--install-dir", &install, "--trusted", &keys][..],
                &json,
            ]
            .concat(),
            dir,
        )
    };
    let failed = extract(&cut);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(check_schema("extract", &failed.stdout)["ok"], false);
    let done = extract(&pkg);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let v = check_schema("extract", &done.stdout);
    assert_eq!(
        v["path"],
        format!("{install}/Install/hotfixes/HF-7.0.3-0042")
    );
    let lower = crate::verify::build_variant(dir, "lower", &fx.signer, |t| {
        t.replace("version = 3", "version = 2")
    });
    let refused = extract(&lower.display().to_string());
    assert_eq!(refused.status.code(), Some(1));
    let v = check_schema("extract", &refused.stdout);
    assert_eq!(v["problems"][0]["rule"], "install-rollback", "{v}");
    assert!(v["problems"][0]["hint"].is_string(), "{v}");

    // list: intact, then one file changed.
    let list = || {
        run(
            &[&["list", "--install-dir", &install, "--check"][..], &json].concat(),
            dir,
        )
    };
    let v = check_schema("list", &list().stdout);
    assert_eq!(v["ok"], true);
    assert_eq!(v["hotfixes"][0]["base"]["support_package"], "SP3");
    let conf = Path::new(&install)
        .join("Install/hotfixes/HF-7.0.3-0042/server/ChatServer/conf/chat.properties");
    std::fs::write(&conf, "changed").expect("write");
    let out = list();
    assert_eq!(out.status.code(), Some(1));
    let v = check_schema("list", &out.stdout);
    let problem = &v["hotfixes"][0]["problems"][0];
    assert_eq!(problem["rule"], "installed-modified", "{v}");
    assert!(problem["hint"].is_string(), "{v}");
}

#[test]
fn inspect_of_a_broken_archive_names_each_problem_with_its_rule() {
    // The manifest and signatures come before the gap: shown, with the problem.
    let file = repo_root().join("tests/data/hostile/gap-between-entries.zip");
    let out = run(
        &[
            "inspect",
            &file.display().to_string(),
            "--output-format",
            "json",
        ],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let v = check_schema("inspect", &out.stdout);
    assert_eq!(
        (v["ok"].clone(), v["verified"].clone()),
        (false.into(), false.into())
    );
    assert_eq!(v["problems"][0]["rule"], "entries-gap", "{v}");
}

#[test]
fn model_check_and_trust_verify_print_their_schemas_on_failure_and_success() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("model.xml");
    std::fs::write(&model, "<model format=\"1\"><node name=\"a\"/></mode>").expect("write");
    let out = run(
        &[
            "sim",
            "model",
            "check",
            &model.display().to_string(),
            "--output-format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = check_schema("sim-model-check", &out.stdout);
    assert_eq!(v["problems"][0]["rule"], "model-invalid", "{v}");
    assert!(v["problems"][0]["line"].is_u64(), "{v}");

    for name in ["root", "release"] {
        hotfix()
            .current_dir(dir.path())
            .args(["keygen", "--no-passphrase", "--output", name])
            .assert()
            .success();
    }
    let trust = |args: &[&str]| run(&[&["trust"][..], args].concat(), dir.path());
    let init = trust(&[
        "init",
        "--root",
        "root.pub",
        "--root-threshold",
        "1",
        "--output",
        "p.toml",
    ]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    assert!(
        trust(&["sign", "p.toml", "--key", "root.key"])
            .status
            .success()
    );
    let out = trust(&["verify", "p.toml", "--output-format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = check_schema("trust-verify", &out.stdout);
    assert_eq!(v["problems"], serde_json::json!([]));
}
