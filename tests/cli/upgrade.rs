//! Upgrades are ordinary extracts that keep every check; each policy check is waived
//! only by its own flag, and every waiver shows in the output.

use std::path::{Path, PathBuf};

use crate::support::hotfix;
use crate::verify::{Fixture, build_variant, fixture, stderr_of};

const ID: &str = "HF-7.0.3-0042";

fn extract(fx: &Fixture, package: &Path, install: &Path, flags: &[&str]) -> assert_cmd::Command {
    let mut cmd = hotfix();
    cmd.arg("extract")
        .arg(package)
        .arg("--install-dir")
        .arg(install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .args(flags);
    cmd
}

/// `hotfix extract --output-format json`, checked against its schema.
fn json(out: &assert_cmd::assert::Assert) -> serde_json::Value {
    crate::support::check_schema("extract", &out.get_output().stdout)
}

fn variant(fx: &Fixture, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    build_variant(fx.dir.path(), name, &fx.signer, edit)
}

fn with_installed(fx: &Fixture) -> PathBuf {
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(fx, &fx.package, &install, &[]).assert().code(0);
    install
}

fn installed_version(install: &Path) -> u64 {
    let out = hotfix()
        .args(["list", "--output-format", "json", "--install-dir"])
        .arg(install)
        .assert();
    crate::support::check_schema("list", &out.get_output().stdout)["hotfixes"][0]["version"]
        .as_u64()
        .expect("version")
}

#[test]
fn a_higher_version_is_an_ordinary_extract_that_records_what_it_replaced() {
    let fx = fixture();
    let install = with_installed(&fx);
    let v4 = variant(&fx, "v4", |t| t.replace("version = 3", "version = 4"));
    let out = extract(&fx, &v4, &install, &[]).assert().code(0);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("upgraded {ID} v3 to v4")),
        "{stderr}"
    );
    assert_eq!(installed_version(&install), 4);

    let v5 = variant(&fx, "v5", |t| t.replace("version = 3", "version = 5"));
    let out = extract(&fx, &v5, &install, &["--output-format", "json"])
        .assert()
        .code(0);
    let v = json(&out);
    assert_eq!(v["outcome"], "upgraded", "{v}");
    assert_eq!(v["replaced_version"], 4, "{v}");
    assert_eq!(v["waived"], serde_json::json!([]), "{v}");
}

#[test]
fn an_upgrade_keeps_the_requires_and_supersedes_checks() {
    let fx = fixture();
    let install = with_installed(&fx);
    let needs = variant(&fx, "v4-needs", |t| {
        t.replace("version = 3", "version = 4")
            .replace("requires = []", "requires = [\"HF-7.0.3-0039\"]")
    });
    let out = extract(&fx, &needs, &install, &[]).assert().code(1);
    assert!(
        stderr_of(&out).contains("install-requires-missing"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(installed_version(&install), 3);
}

#[test]
fn a_hotfix_that_supersedes_installed_ones_records_them() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let old = variant(&fx, "0040", |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0040\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    extract(&fx, &old, &install, &[]).assert().code(0);
    let out = extract(&fx, &fx.package, &install, &["--output-format", "json"])
        .assert()
        .code(0);
    let v = json(&out);
    assert_eq!(v["outcome"], "installed", "{v}");
    assert_eq!(
        v["supersedes_installed"],
        serde_json::json!(["HF-7.0.3-0040"]),
        "{v}"
    );
    let again = fx.path("again");
    std::fs::create_dir(&again).expect("mkdir");
    extract(&fx, &old, &again, &[]).assert().code(0);
    let out = extract(&fx, &fx.package, &again, &[]).assert().code(0);
    assert!(
        stderr_of(&out).contains("supersedes the installed HF-7.0.3-0040"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn allow_downgrade_waives_only_the_rollback_check_and_says_so() {
    let fx = fixture();
    let install = with_installed(&fx);
    let v2 = variant(&fx, "v2", |t| t.replace("version = 3", "version = 2"));
    extract(&fx, &v2, &install, &[]).assert().code(1);
    // A downgrade that also misses a requirement needs both flags.
    let v2_needs = variant(&fx, "v2-needs", |t| {
        t.replace("version = 3", "version = 2")
            .replace("requires = []", "requires = [\"HF-7.0.3-0039\"]")
    });
    let out = extract(&fx, &v2_needs, &install, &["--allow-downgrade"])
        .assert()
        .code(1);
    assert!(stderr_of(&out).contains("install-requires-missing"));
    assert_eq!(installed_version(&install), 3);

    let out = extract(&fx, &v2, &install, &["--allow-downgrade"])
        .assert()
        .code(0);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("waived install-rollback (--allow-downgrade)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("downgraded {ID} v3 to v2")),
        "{stderr}"
    );
    assert_eq!(installed_version(&install), 2);

    let install = with_installed_again(&fx, "json");
    let out = extract(
        &fx,
        &v2,
        &install,
        &["--allow-downgrade", "--output-format", "json"],
    )
    .assert()
    .code(0);
    let v = json(&out);
    assert_eq!(v["outcome"], "downgraded", "{v}");
    assert_eq!(v["waived"][0]["rule"], "install-rollback", "{v}");
    assert_eq!(v["waived"][0]["flag"], "--allow-downgrade", "{v}");
    assert_eq!(v["waived"].as_array().map(Vec::len), Some(1), "{v}");
}

fn with_installed_again(fx: &Fixture, name: &str) -> PathBuf {
    let install = fx.path(name);
    std::fs::create_dir(&install).expect("mkdir");
    extract(fx, &fx.package, &install, &[]).assert().code(0);
    install
}

#[test]
fn ignore_missing_requires_waives_only_the_requires_check() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let needs = variant(&fx, "needs", |t| {
        t.replace("requires = []", "requires = [\"HF-7.0.3-0039\"]")
    });
    extract(&fx, &needs, &install, &["--allow-downgrade", "--reinstall"])
        .assert()
        .code(1);
    let out = extract(
        &fx,
        &needs,
        &install,
        &["--ignore-missing-requires", "--output-format", "json"],
    )
    .assert()
    .code(0);
    let v = json(&out);
    assert_eq!(v["waived"][0]["rule"], "install-requires-missing", "{v}");
    assert_eq!(v["waived"][0]["flag"], "--ignore-missing-requires", "{v}");
}

#[test]
fn allow_superseded_waives_only_the_superseded_check() {
    let fx = fixture();
    let install = with_installed(&fx);
    let old = variant(&fx, "0040", |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0040\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    let out = extract(&fx, &old, &install, &["--allow-downgrade"])
        .assert()
        .code(1);
    assert!(stderr_of(&out).contains("install-superseded"));
    let out = extract(&fx, &old, &install, &["--allow-superseded"])
        .assert()
        .code(0);
    assert!(
        stderr_of(&out).contains("waived install-superseded (--allow-superseded)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn reinstall_rewrites_the_same_version_and_repairs_a_modified_folder() {
    let fx = fixture();
    let install = with_installed(&fx);
    let notes = install
        .join("Install/hotfixes")
        .join(ID)
        .join("docs/RELEASE-NOTES.txt");
    std::fs::write(&notes, b"edited").expect("write");
    // Without the flag a modified folder is not "already installed": it is refused, and
    // nothing changes.
    let out = extract(&fx, &fx.package, &install, &[]).assert().code(1);
    assert!(
        stderr_of(&out).contains("install-modified"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(&notes).expect("read"), b"edited");
    let out = extract(
        &fx,
        &fx.package,
        &install,
        &["--reinstall", "--output-format", "json"],
    )
    .assert()
    .code(0);
    let v = json(&out);
    assert_eq!(v["outcome"], "reinstalled", "{v}");
    assert_eq!(v["waived"][0]["flag"], "--reinstall", "{v}");
    hotfix()
        .args(["list", "--check", "--install-dir"])
        .arg(&install)
        .assert()
        .code(0);

    // A different package under the same id and version needs --reinstall, and no
    // other flag stands in for it.
    let other = variant(&fx, "v3-other", |t| {
        t.replace("title = \"", "title = \"Other ")
    });
    for flags in [&["--allow-downgrade"][..], &["--allow-superseded"], &[]] {
        let out = extract(&fx, &other, &install, flags).assert().code(1);
        assert!(
            stderr_of(&out).contains("install-differs"),
            "{}",
            stderr_of(&out)
        );
    }
    extract(&fx, &other, &install, &["--reinstall"])
        .assert()
        .code(0);
}

#[test]
fn force_is_a_usage_error_that_names_the_flags_replacing_it() {
    let fx = fixture();
    let install = with_installed(&fx);
    let out = extract(&fx, &fx.package, &install, &["--force"])
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    for flag in [
        "--reinstall",
        "--allow-downgrade",
        "--allow-superseded",
        "--ignore-missing-requires",
    ] {
        assert!(stderr.contains(flag), "{stderr}");
    }
    assert!(stderr.contains("hint: "), "{stderr}");
}
