//! `hotfix extract` (and `hotfix list`) end to end.

use std::path::Path;

use crate::support::hotfix;
use crate::verify::{Fixture, build_variant, fixture, stderr_of, stdout_of};

/// `hotfix extract` with the fixture's signer trusted and `flags` (waivers).
fn extract(
    fx: &Fixture,
    package: &Path,
    install: &Path,
    flags: &[&str],
) -> assert_cmd::assert::Assert {
    let mut cmd = hotfix();
    cmd.arg("extract")
        .arg(package)
        .arg("--install-dir")
        .arg(install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .args(flags);
    cmd.assert()
}

/// Starts `hotfix extract` of the fixture's package in the background, output piped,
/// with the pause points in `hooks`.
#[cfg(unix)]
fn spawn_extract(fx: &Fixture, install: &Path, hooks: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("hotfix"))
        .env("NO_COLOR", "1")
        .env("HOTFIX_TEST_HOOK", hooks)
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

/// Every file and folder under `root`. With `root` an installation, its lock file is
/// left out: a refused first extract leaves it behind by design (it is never deleted).
fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p == root.join(".hotfix.lock") {
                continue;
            }
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
    let out = extract(&fx, &fx.package, &install, &[]).code(0);
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
    let v = crate::support::check_schema("list", &out.get_output().stdout);
    assert_eq!(v["hotfixes"][0]["status"], "modified");
}

#[test]
fn list_with_trusted_keys_rechecks_the_signatures() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(&fx, &fx.package, &install, &[]).code(0);
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
    let v = crate::support::check_schema("list", &out.get_output().stdout);
    assert_eq!(v["hotfixes"][0]["status"], "ok");
    assert_eq!(v["hotfixes"][0]["trusted_signers"], 1);

    let out = list(&fx.other).code(1);
    let v = crate::support::check_schema("list", &out.get_output().stdout);
    assert_eq!(v["hotfixes"][0]["status"], "untrusted");
    assert_eq!(v["hotfixes"][0]["trusted_signers"], 0);
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
    extract(&fx, &fx.package, &install, &[]).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &fx.package, &install, &[]).code(0);
    assert!(
        stderr_of(&out).contains("already installed"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&install), before);
}

#[test]
fn extract_over_a_modified_installation_is_refused_and_reinstall_repairs_it() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(&fx, &fx.package, &install, &[]).code(0);
    let folder = install.join("Install/hotfixes/HF-7.0.3-0042");
    let edited = folder.join("docs/RELEASE-NOTES.txt");
    let original = std::fs::read(&edited).expect("read");
    std::fs::write(&edited, b"edited by hand\n").expect("write");
    let before = snapshot(&install);
    let out = extract(&fx, &fx.package, &install, &[]).code(1);
    let (stdout, stderr) = (stdout_of(&out), stderr_of(&out));
    assert!(
        stderr.contains("install-modified") && stderr.contains("docs/RELEASE-NOTES.txt"),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("--reinstall"), "{stderr}");
    assert!(!stderr.contains("already installed"), "{stderr}");
    assert_eq!(snapshot(&install), before, "a refusal changes nothing");
    extract(&fx, &fx.package, &install, &["--reinstall"]).code(0);
    assert_eq!(std::fs::read(&edited).expect("read"), original);
    // Repaired: a plain extract is "already installed" again.
    extract(&fx, &fx.package, &install, &[]).code(0);
}

#[test]
fn a_lower_version_is_refused_unless_downgrade_is_allowed() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let v2 = build_variant(fx.dir.path(), "v2", &fx.signer, |t| {
        t.replace("version = 3", "version = 2")
    });
    extract(&fx, &fx.package, &install, &[]).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &v2, &install, &[]).code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("install-rollback"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert_eq!(snapshot(&install), before);
    let out = extract(&fx, &v2, &install, &["--allow-downgrade"]).code(0);
    assert!(
        stderr_of(&out).contains("downgraded HF-7.0.3-0042 v3 to v2"),
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
    extract(&fx, &fx.package, &install, &[]).code(0);
    let before = snapshot(&install);
    let out = extract(&fx, &old, &install, &[]).code(1);
    assert!(
        stderr_of(&out).contains("install-superseded"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(snapshot(&install), before);
    extract(&fx, &old, &install, &["--allow-superseded"]).code(0);
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
    let out = extract(&fx, &needs, &install, &[]).code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("requires HF-7.0.3-0039"), "{stderr}");
    assert!(stderr.contains("install-requires-missing"), "{stderr}");
    assert!(
        stderr.contains("hint: extract the required hotfix"),
        "{stderr}"
    );
    assert_eq!(snapshot(&install), before);
    extract(&fx, &needs, &install, &["--ignore-missing-requires"]).code(0);
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
    // Nothing but the lock file, which is never deleted (it lives beside Install/).
    assert!(snapshot(&install).is_empty());
    assert!(install.join(".hotfix.lock").is_file());
}

#[test]
fn extract_into_a_missing_install_dir_exits_2() {
    let fx = fixture();
    let out = extract(&fx, &fx.package, &fx.path("no-such-dir"), &[]).code(2);
    assert!(
        stderr_of(&out).contains("hint: --install-dir"),
        "{}",
        stderr_of(&out)
    );
}

/// Two extracts started while a third party holds the lock: both wait, then run one
/// after the other (one extracts, the other finds it already installed).
#[cfg(unix)]
#[test]
fn concurrent_extracts_wait_for_the_lock() {
    use crate::support::{Hooks, reach};
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir_all(&install).expect("mkdir");
    let held = hotfix_package::lock::InstallLock::exclusive(&install, None, &|_| {}).expect("lock");
    let mut waiting = Vec::new();
    for name in ["first", "second"] {
        let hooks = Hooks::new(fx.dir.path(), name);
        let busy = hooks.point("lock-busy");
        let mut child = spawn_extract(&fx, &install, &hooks.dir);
        drop(reach(&mut child, &busy));
        waiting.push(child);
    }
    // Both are past the point where they found the lock held; nothing is written yet.
    assert!(!install.join("Install").exists());
    drop(held);
    let outs: Vec<_> = waiting
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    assert!(outs.iter().all(|o| o.status.success()), "{outs:?}");
    let notes: String = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(
        notes.matches("waiting for another hotfix command").count(),
        2,
        "{notes}"
    );
    assert_eq!(
        notes.matches("extracted HF-7.0.3-0042").count(),
        1,
        "{notes}"
    );
    assert_eq!(notes.matches("already installed").count(), 1, "{notes}");
}
