//! Build spec (`hotfix.toml`) loading: the sample, and one test per refusal.

use std::path::{Path, PathBuf};

use hotfix_manifest::{BuildSpec, SpecError};
use tempfile::TempDir;

const GOOD: &str = r#"id = "HF-7.0.3-0042"
version = 3
title = "Chat messages lost on failover"
release = "7.0"
support-package = "SP3"
supersedes = ["HF-7.0.3-0040"]
docs = "docs"

[[software-package]]
name = "ChatServer"
version = "7.0.3.12"
dir = "server/ChatServer"

[[msi]]
file = "client/AgentDesktop.msi"
replaces-version = "7.0.3.4"
"#;

/// A source folder with the files `GOOD` names, and `hotfix.toml` = `toml`.
fn source(toml: &str) -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for d in [
        "server/ChatServer/bin",
        "server/RoutingEngine",
        "client",
        "docs",
    ] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::write(root.join("server/ChatServer/bin/chat.jar"), b"jar").expect("write");
    std::fs::write(root.join("client/AgentDesktop.msi"), b"msi").expect("write");
    std::fs::write(root.join("client/Other.msi"), b"msi").expect("write");
    std::fs::write(root.join("docs/NOTES.md"), b"Line one\r\nLine two\r\n").expect("write");
    std::fs::write(root.join("hotfix.toml"), toml).expect("write");
    dir
}

fn load(toml: &str) -> Result<BuildSpec, SpecError> {
    let dir = source(toml);
    BuildSpec::load(dir.path())
}

fn refuse(toml: &str) -> SpecError {
    match load(toml) {
        Ok(s) => panic!("accepted:\n{toml}\n{s:#?}"),
        Err(e) => e,
    }
}

/// `GOOD` with `from` replaced by `to` exactly once.
fn with(from: &str, to: &str) -> String {
    assert_eq!(GOOD.matches(from).count(), 1, "{from:?} must occur once");
    GOOD.replace(from, to)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn loads_a_good_spec_from_its_folder_or_its_file() {
    let dir = source(GOOD);
    for p in [dir.path().to_path_buf(), dir.path().join("hotfix.toml")] {
        let s = BuildSpec::load(&p).expect("loads");
        assert_eq!(s.id, "HF-7.0.3-0042");
        assert_eq!(s.version, 3);
        assert_eq!(s.support_package, "SP3");
        assert_eq!(s.supersedes, ["HF-7.0.3-0040"]);
        assert!(s.requires.is_empty());
        assert_eq!(s.description, "");
        assert_eq!(s.software_packages.len(), 1);
        assert_eq!(
            s.software_packages[0].dir,
            dir.path().join("server/ChatServer")
        );
        assert_eq!(s.msis[0].file, dir.path().join("client/AgentDesktop.msi"));
        assert_eq!(s.msis[0].entry_name(), "client/AgentDesktop.msi");
        assert_eq!(s.docs.as_deref(), Some(dir.path().join("docs").as_path()));
    }
}

#[test]
fn loads_the_sample_hotfix_source() {
    let s = BuildSpec::load(&repo_root().join("packages/HF-7.0.3-0042")).expect("sample loads");
    assert_eq!(s.id, "HF-7.0.3-0042");
    assert_eq!(s.release, "7.0");
    assert_eq!(s.support_package, "SP3");
    assert_eq!(s.supersedes, ["HF-7.0.3-0040"]);
    let names: Vec<_> = s
        .software_packages
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["ChatServer", "RoutingEngine"]);
    assert_eq!(s.msis.len(), 1);
    assert!(!s.description.is_empty());
}

#[test]
fn sorts_lists_and_reads_description_file_with_lf_line_ends() {
    let toml = with(
        "supersedes = [\"HF-7.0.3-0040\"]",
        "supersedes = [\"HF-7.0.3-0041\", \"HF-7.0.3-0040\"]\ndescription-file = \"docs/NOTES.md\"",
    ) + "\n[[software-package]]\nname = \"AaaServer\"\nversion = \"1.0\"\ndir = \"server/RoutingEngine\"\n";
    let s = load(&toml).expect("loads");
    assert_eq!(s.supersedes, ["HF-7.0.3-0040", "HF-7.0.3-0041"]);
    assert_eq!(s.software_packages[0].name, "AaaServer");
    assert_eq!(s.description, "Line one\nLine two\n");
}

#[test]
fn unknown_key_names_key_table_and_line() {
    let e = refuse(&with("version = \"7.0.3.12\"", "verison = \"7.0.3.12\""));
    assert!(
        matches!(&e, SpecError::UnknownKey { line: 11, key, table, .. }
            if key == "verison" && table == "[[software-package]]"),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with("hotfix.toml:11: unknown key 'verison' in [[software-package]]"),
        "{e}"
    );
}

#[test]
fn unknown_top_level_key_and_table() {
    let e = refuse(&with("docs = \"docs\"", "doc = \"docs\""));
    assert!(
        matches!(&e, SpecError::UnknownKey { line: 7, key, table, .. } if key == "doc" && table == "the top-level table"),
        "{e:?}"
    );
    let e = refuse(&format!("{GOOD}\n[signing]\nkey = \"x\"\n"));
    assert!(
        matches!(&e, SpecError::UnknownKey { line: 18, key, .. } if key == "signing"),
        "{e:?}"
    );
}

#[test]
fn missing_key_names_the_table_and_its_line() {
    let e = refuse(&with("replaces-version = \"7.0.3.4\"\n", ""));
    assert!(
        matches!(&e, SpecError::MissingKey { line: 14, key, table, .. }
            if key == "replaces-version" && table == "[[msi]]"),
        "{e:?}"
    );
    let e = refuse(&with("title = \"Chat messages lost on failover\"\n", ""));
    assert!(
        matches!(&e, SpecError::MissingKey { line: 1, key, table, .. } if key == "title" && table == "the top-level table"),
        "{e:?}"
    );
}

#[test]
fn wrong_type_names_the_key_and_line() {
    let e = refuse(&with("version = 3", "version = \"3\""));
    assert!(
        matches!(&e, SpecError::WrongType { line: 2, key, .. } if key == "version"),
        "{e:?}"
    );
    let e = refuse(&with("version = 3", "version = -3"));
    assert!(matches!(&e, SpecError::WrongType { line: 2, .. }), "{e:?}");
    let e = refuse(&with(
        "supersedes = [\"HF-7.0.3-0040\"]",
        "supersedes = \"HF-7.0.3-0040\"",
    ));
    assert!(
        matches!(&e, SpecError::WrongType { line: 6, key, .. } if key == "supersedes"),
        "{e:?}"
    );
}

#[test]
fn duplicate_key_is_refused() {
    let e = refuse(&with("version = 3", "version = 3\nversion = 4"));
    assert!(
        matches!(&e, SpecError::DuplicateKey { line: 3, .. }),
        "{e:?}"
    );
}

#[test]
fn toml_syntax_error_has_a_line() {
    let e = refuse(&with("release = \"7.0\"", "release = 7.0\""));
    assert!(matches!(&e, SpecError::Syntax { line: 4, .. }), "{e:?}");
}

#[test]
fn invalid_ids_and_names_are_refused() {
    let e = refuse(&with("id = \"HF-7.0.3-0042\"", "id = \"../HF\""));
    assert!(
        matches!(&e, SpecError::InvalidName { line: 1, key, .. } if key == "id"),
        "{e:?}"
    );
    let e = refuse(&with("name = \"ChatServer\"", "name = \"Chat Server\""));
    assert!(
        matches!(&e, SpecError::InvalidName { line: 10, key, .. } if key == "name"),
        "{e:?}"
    );
    let e = refuse(&with("[\"HF-7.0.3-0040\"]", "[\"HF-7.0.3-0040\", \"CON\"]"));
    assert!(
        matches!(&e, SpecError::InvalidName { line: 6, .. }),
        "{e:?}"
    );
}

#[test]
fn invalid_values_are_refused() {
    let e = refuse(&with("version = 3", "version = 0"));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 2, .. }),
        "{e:?}"
    );
    let e = refuse(&with("\"7.0.3.12\"", "\"7.0.3.12 final\""));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 11, .. }),
        "{e:?}"
    );
    let e = refuse(&with(
        "title = \"Chat messages lost on failover\"",
        "title = \"  \"",
    ));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 3, .. }),
        "{e:?}"
    );
    let e = refuse(&with(
        "support-package = \"SP3\"",
        "support-package = \"SP 3\"",
    ));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 5, .. }),
        "{e:?}"
    );
}

#[test]
fn paths_must_stay_inside_the_source_folder() {
    for bad in [
        "../server",
        "/etc",
        "server/../../x",
        "C:/x",
        "server\\ChatServer",
        "",
    ] {
        let e = refuse(&with(
            "dir = \"server/ChatServer\"",
            &format!("dir = {bad:?}"),
        ));
        assert!(
            matches!(&e, SpecError::PathOutsideSource { line: 12, key, .. } if key == "dir"),
            "{bad}: {e:?}"
        );
    }
}

#[cfg(unix)]
#[test]
fn symbolic_link_out_of_the_source_folder_is_refused() {
    let outside = tempfile::tempdir().expect("temp dir");
    let dir = source(&with(
        "dir = \"server/ChatServer\"",
        "dir = \"server/Linked\"",
    ));
    std::os::unix::fs::symlink(outside.path(), dir.path().join("server/Linked")).expect("symlink");
    let e = BuildSpec::load(dir.path()).expect_err("refused");
    assert!(
        matches!(&e, SpecError::PathOutsideSource { line: 12, .. }),
        "{e:?}"
    );
}

#[test]
fn missing_folders_and_files_are_refused() {
    let e = refuse(&with(
        "dir = \"server/ChatServer\"",
        "dir = \"server/VoiceServer\"",
    ));
    assert!(
        matches!(
            &e,
            SpecError::NotFound {
                line: 12,
                expected: "folder",
                ..
            }
        ),
        "{e:?}"
    );
    let e = refuse(&with("client/AgentDesktop.msi", "client/Missing.msi"));
    assert!(
        matches!(
            &e,
            SpecError::NotFound {
                line: 15,
                expected: "file",
                ..
            }
        ),
        "{e:?}"
    );
    let e = refuse(&with(
        "docs = \"docs\"",
        "docs = \"client/AgentDesktop.msi\"",
    ));
    assert!(
        matches!(
            &e,
            SpecError::NotFound {
                line: 7,
                expected: "folder",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn msi_must_be_an_msi_file() {
    let e = refuse(&with(
        "file = \"client/AgentDesktop.msi\"",
        "file = \"docs/NOTES.md\"",
    ));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 15, key, .. } if key == "file"),
        "{e:?}"
    );
}

#[test]
fn at_least_one_software_package_or_msi() {
    let toml = GOOD
        .split("[[software-package]]")
        .next()
        .expect("head")
        .to_string();
    let e = refuse(&toml);
    assert!(matches!(&e, SpecError::NoPayload { .. }), "{e:?}");
    // An MSI alone is enough, and so is a software package alone.
    let msi_only = GOOD.replace(
        "[[software-package]]\nname = \"ChatServer\"\nversion = \"7.0.3.12\"\ndir = \"server/ChatServer\"\n",
        "",
    );
    load(&msi_only).expect("MSI-only hotfix");
}

#[test]
fn duplicate_packages_msis_and_ids_are_refused() {
    let e = refuse(&format!(
        "{GOOD}\n[[software-package]]\nname = \"chatserver\"\nversion = \"1\"\ndir = \"server/RoutingEngine\"\n"
    ));
    assert!(
        matches!(
            &e,
            SpecError::Duplicate {
                line: 19,
                first_line: 10,
                what: "software package",
                ..
            }
        ),
        "{e:?}"
    );
    let e = refuse(&format!(
        "{GOOD}\n[[msi]]\nfile = \"client/AgentDesktop.msi\"\nreplaces-version = \"1\"\n"
    ));
    assert!(
        matches!(
            &e,
            SpecError::Duplicate {
                line: 19,
                first_line: 15,
                ..
            }
        ),
        "{e:?}"
    );
    let e = refuse(&with(
        "supersedes = [\"HF-7.0.3-0040\"]",
        "supersedes = [\"HF-7.0.3-0040\"]\nrequires = [\"hf-7.0.3-0040\"]",
    ));
    assert!(
        matches!(
            &e,
            SpecError::Duplicate {
                line: 7,
                first_line: 6,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_hotfix_cannot_supersede_itself() {
    let e = refuse(&with("[\"HF-7.0.3-0040\"]", "[\"HF-7.0.3-0042\"]"));
    assert!(
        matches!(&e, SpecError::InvalidValue { line: 6, .. }),
        "{e:?}"
    );
}

#[test]
fn description_and_description_file_are_exclusive() {
    let e = refuse(&with(
        "docs = \"docs\"",
        "docs = \"docs\"\ndescription = \"x\"\ndescription-file = \"docs/NOTES.md\"",
    ));
    assert!(
        matches!(&e, SpecError::DescriptionTwice { line: 9, .. }),
        "{e:?}"
    );
}

#[test]
fn missing_spec_is_an_io_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = BuildSpec::load(dir.path()).expect_err("refused");
    assert!(
        matches!(&e, SpecError::Io { path, .. } if path.ends_with("hotfix.toml")),
        "{e:?}"
    );
}

#[test]
fn parse_of_the_text_agrees_with_load_of_the_file() {
    let dir = source(GOOD);
    let file = dir.path().join("hotfix.toml");
    let loaded = BuildSpec::load(&file).expect("loads");
    let parsed = BuildSpec::parse(GOOD.as_bytes(), &file).expect("parses");
    assert_eq!(format!("{parsed:?}"), format!("{loaded:?}"));

    // The same refusals, naming the same file and line.
    let bad = with("version = 3", "version = 0");
    std::fs::write(&file, &bad).expect("write");
    let from_load = BuildSpec::load(&file).expect_err("refused");
    let from_parse = BuildSpec::parse(bad.as_bytes(), &file).expect_err("refused");
    assert_eq!(from_parse.to_string(), from_load.to_string());
    assert!(
        matches!(&from_parse, SpecError::InvalidValue { path, line: 2, .. } if path == &file),
        "{from_parse:?}"
    );
}

#[test]
fn invalid_utf8_and_oversized_specs_are_refused_by_parse_and_load() {
    let dir = source(GOOD);
    let file = dir.path().join("hotfix.toml");

    let mut bytes = GOOD.as_bytes().to_vec();
    bytes.extend_from_slice(b"# \xff\n");
    let bad_line = GOOD.lines().count() as u64 + 1;
    let e = BuildSpec::parse(&bytes, &file).expect_err("refused");
    assert!(
        matches!(&e, SpecError::Syntax { line, message, .. }
            if *line == bad_line && message.contains("UTF-8")),
        "{e:?}"
    );

    let big = vec![b'#'; hotfix_manifest::MAX_SPEC_BYTES as usize + 1];
    let e = BuildSpec::parse(&big, &file).expect_err("refused");
    assert!(matches!(&e, SpecError::TooLarge { .. }), "{e:?}");
    std::fs::write(&file, &big).expect("write");
    let e = BuildSpec::load(&file).expect_err("refused");
    assert!(matches!(&e, SpecError::TooLarge { .. }), "{e:?}");
}
