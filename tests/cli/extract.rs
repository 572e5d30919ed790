//! `hotfix extract` (and `hotfix list`) end to end.

use std::path::Path;

use crate::support::hotfix;
use crate::verify::{Fixture, build_variant, fixture, stderr_of, stdout_of};

fn extract(
    fx: &Fixture,
    package: &Path,
    install: &Path,
    force: bool,
) -> assert_cmd::assert::Assert {
    let mut cmd = hotfix();
    cmd.arg("extract")
        .arg(package)
        .arg("--install-dir")
        .arg(install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer));
    if force {
        cmd.arg("--force");
    }
    cmd.assert()
}

/// Starts `hotfix extract` of the fixture's package in the background, output piped.
fn spawn_extract(fx: &Fixture, install: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("hotfix"))
        .env("NO_COLOR", "1")
        .arg("extract")
        .arg(&fx.package)
        .arg("--install-dir")
        .arg(install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, Vec::new()));
            } else {
                out.push((p.clone(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn extract_prints_the_folder_and_list_shows_it() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let out = extract(&fx, &fx.package, &install, false).code(0);
    let target = install
        .join("Install")
        .join("hotfixes")
        .join("HF-7.0.3-0042");
    assert_eq!(stdout_of(&out).trim_end(), target.display().to_string());
    assert!(target.join("hotfix.xml").is_file());
    assert!(target.join("client/AgentDesktop.msi").is_file());
    let out = hotfix()
        .arg("list")
        .arg("--install-dir")
        .arg(&install)
        .arg("--check")
        .assert()
        .code(0);
    let stdout = stdout_of(&out);
    assert!(
        stdout.starts_with("HF-7.0.3-0042  v3  ok  7.0 SP3  "),
        "{stdout}"
    );
    assert!(stdout.contains("  server: ChatServer 7.0.3.12"), "{stdout}");
    // A changed file makes list --check fail.
    let notes = target.join("docs/RELEASE-NOTES.txt");
    let mut bytes = std::fs::read(&notes).expect("read");
    bytes[0] ^= 0x20;
    std::fs::write(&notes, bytes).expect("write");
    let out = hotfix()
        .args([
            "list",
            "--check",
            "--output-format",
            "json",
            "--install-dir",
        ])
        .arg(&install)
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(v[0]["status"], "modified");
}

#[test]
fn list_with_trusted_keys_rechecks_the_signatures() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(&fx, &fx.package, &install, false).code(0);
    let list = |key: &Path| {
        hotfix()
            .args([
                "list",
                "--check",
                "--output-format",
                "json",
                "--install-dir",
            ])
            .arg(&install)
            .arg("--trusted")
            .arg(Fixture::public(key))
            .env_remove("HOTFIX_TRUSTED")
            .assert()
    };
    let out = list(&fx.signer).code(0);
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(v[0]["status"], "ok");
    assert_eq!(v[0]["trusted_signers"], 1);

    let out = list(&fx.other).code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout_of(&out)).expect("JSON");
    assert_eq!(v[0]["status"], "untrusted");
    assert_eq!(v[0]["trusted_signers"], 0);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("hint: a folder whose hotfix.xml"),
        "{stderr}"
    );

    // --threshold only makes sense with --trusted.
    hotfix()
        .args(["list", "--threshold", "2", "--install-dir"])
        .arg(&install)
        .env_remove("HOTFIX_TRUSTED")
        .assert()
        .code(2);
}

#[test]
fn re_extracting_the_same_package_changes_nothing() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(&fx, &fx.package, &install, false).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &fx.package, &install, false).code(0);
    assert!(
        stderr_of(&out).contains("already installed"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&install), before);
}

#[test]
fn a_lower_version_is_refused_unless_forced() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let v2 = build_variant(fx.dir.path(), "v2", &fx.signer, |t| {
        t.replace("version = 3", "version = 2")
    });
    extract(&fx, &fx.package, &install, false).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &v2, &install, false).code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("install-rollback"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(snapshot(&install), before);
    let out = extract(&fx, &v2, &install, true).code(0);
    assert!(
        stderr_of(&out).contains("replaced v3 with HF-7.0.3-0042 v2"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_superseded_hotfix_is_refused() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let old = build_variant(fx.dir.path(), "old", &fx.signer, |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0040\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    extract(&fx, &fx.package, &install, false).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &old, &install, false).code(1);
    assert!(
        stderr_of(&out).contains("install-superseded"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&install), before);
    extract(&fx, &old, &install, true).code(0);
}

#[test]
fn a_hotfix_whose_requirement_is_not_installed_is_refused_with_a_hint() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let needs = build_variant(fx.dir.path(), "needs", &fx.signer, |t| {
        t.replace("requires = []", "requires = [\"HF-7.0.3-0039\"]")
    });
    let before = snapshot(&install);
    let out = extract(&fx, &needs, &install, false).code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("requires HF-7.0.3-0039"), "{stderr}");
    assert!(stderr.contains("install-requires-missing"), "{stderr}");
    assert!(
        stderr.contains("hint: extract the required hotfix"),
        "{stderr}"
    );
    assert_eq!(snapshot(&install), before);
    extract(&fx, &needs, &install, true).code(0);
}

#[test]
fn a_package_that_fails_verification_extracts_nothing() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let out = hotfix()
        .arg("extract")
        .arg(&fx.package)
        .arg("--install-dir")
        .arg(&install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.other))
        .assert()
        .code(1);
    assert!(
        stdout_of(&out).contains("threshold-not-met"),
        "{}",
        stdout_of(&out)
    );
    assert!(
        stderr_of(&out).contains("nothing was extracted"),
        "{}",
        stderr_of(&out)
    );
    let left: Vec<_> = snapshot(&install)
        .into_iter()
        .filter(|(p, _)| {
            !p.ends_with(".hotfix.lock") && !p.ends_with("hotfixes") && !p.ends_with("Install")
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn extract_into_a_missing_install_dir_exits_2() {
    let fx = fixture();
    let out = extract(&fx, &fx.package, &fx.path("no-such-dir"), false).code(2);
    assert!(
        stderr_of(&out).contains("hint: --install-dir"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn concurrent_extracts_wait_for_the_lock() {
    let fx = fixture();
    let install = fx.path("install");
    let hotfixes = install.join("Install").join("hotfixes");
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    let held = hotfix_package::lock::InstallLock::acquire(&hotfixes).expect("lock");
    let mut first = spawn_extract(&fx, &install);
    let mut second = spawn_extract(&fx, &install);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        first.try_wait().expect("wait").is_none(),
        "extract ran without the lock"
    );
    assert!(
        second.try_wait().expect("wait").is_none(),
        "extract ran without the lock"
    );
    assert!(!hotfixes.join("HF-7.0.3-0042").exists());
    drop(held);
    let a = first.wait_with_output().expect("first");
    let b = second.wait_with_output().expect("second");
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    let notes = format!(
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    assert_eq!(
        notes.matches("extracted HF-7.0.3-0042").count(),
        1,
        "{notes}"
    );
    assert_eq!(notes.matches("already installed").count(), 1, "{notes}");
}

/// Ctrl-C while waiting for the lock: the extract stops before writing anything, exits 2
/// and leaves no temporary folder.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_an_extract_and_leaves_nothing() {
    let fx = fixture();
    let install = fx.path("install");
    let hotfixes = install.join("Install").join("hotfixes");
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    let held = hotfix_package::lock::InstallLock::acquire(&hotfixes).expect("lock");
    let child = spawn_extract(&fx, &install);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    std::thread::sleep(std::time::Duration::from_millis(100));
    drop(held);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("interrupted; nothing was changed"),
        "{stderr}"
    );
    let left: Vec<String> = std::fs::read_dir(&hotfixes)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec![".hotfix.lock".to_owned()]);
}
