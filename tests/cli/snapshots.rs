//! Snapshot tests (insta) of the messages people read most during an incident: each
//! failure's `error:`/`FAILED:` line, its reasons and its `hint:`. Inputs are committed
//! fixtures with fixed keys, and commands run with relative paths, so the text is stable.

use std::path::Path;

use crate::support::{hotfix, repo_root};

/// Runs `hotfix` in `dir` and renders exit code, stdout and stderr for a snapshot.
fn render(dir: &Path, args: &[&str]) -> String {
    let out = hotfix()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run hotfix");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn hostile_dir() -> std::path::PathBuf {
    repo_root().join("tests/data/hostile")
}

#[test]
fn verify_signed_by_an_untrusted_key() {
    let msg = render(
        &repo_root().join("tests/data"),
        &[
            "verify",
            "hostile/good.zip",
            "--trusted",
            "keys/untrusted-other.pub",
        ],
    );
    insta::assert_snapshot!(msg);
}

#[test]
fn verify_of_a_tampered_stored_payload() {
    let msg = render(
        &hostile_dir(),
        &[
            "verify",
            "tampered-payload-stored.zip",
            "--trusted",
            "trusted.pub",
        ],
    );
    insta::assert_snapshot!(msg);
}

#[test]
fn verify_of_a_truncated_archive() {
    let msg = render(
        &hostile_dir(),
        &[
            "verify",
            "truncated-archive.zip",
            "--trusted",
            "trusted.pub",
        ],
    );
    insta::assert_snapshot!(msg);
}

#[test]
fn extract_of_an_entry_escaping_the_target() {
    let install = tempfile::tempdir().expect("tempdir");
    let pkg = hostile_dir().join("name-traversal.zip");
    let trusted = hostile_dir().join("trusted.pub");
    let msg = render(
        install.path(),
        &[
            "extract",
            pkg.to_str().expect("utf-8 path"),
            "--install-dir",
            ".",
            "--trusted",
            trusted.to_str().expect("utf-8 path"),
        ],
    )
    .replace(&hostile_dir().display().to_string(), "[HOSTILE]");
    insta::assert_snapshot!(msg);
    // As it was, but for the lock file, which is never deleted.
    let left: Vec<String> = std::fs::read_dir(install.path())
        .expect("read install")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec![".hotfix.lock"],
        "a refused extract must leave the install dir as it was"
    );
}

#[test]
fn build_with_a_misspelled_key_in_hotfix_toml() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("hotfix.toml"),
        "id = \"HF-1\"\nversion = 1\ntitel = \"typo\"\nrelease = \"7.0\"\nsupport-package = \"SP3\"\n",
    )
    .expect("write spec");
    let key = repo_root().join("tests/data/keys/untrusted-other.pub");
    let msg = render(
        dir.path(),
        &[
            "build",
            ".",
            "--key",
            key.to_str().expect("utf-8"),
            "--output",
            "out/",
        ],
    );
    insta::assert_snapshot!(msg);
}

#[test]
fn keygen_refusing_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("release.key"), "keep me").expect("write");
    let msg = render(
        dir.path(),
        &["keygen", "--output", "release", "--no-passphrase"],
    );
    insta::assert_snapshot!(msg);
    assert_eq!(
        std::fs::read(dir.path().join("release.key")).expect("read"),
        b"keep me"
    );
}

#[test]
fn sim_run_with_an_unknown_scenario_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("scenario.toml"),
        "model = { nodes = 10, vus = 4 }\nrunbok = \"standard-install\"\n",
    )
    .expect("write scenario");
    let msg = render(dir.path(), &["sim", "run", "scenario.toml"]);
    insta::assert_snapshot!(msg);
}
