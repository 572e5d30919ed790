//! Odd things in an installation or on the command line: symlinks, FIFOs, leftovers the
//! tool cannot remove, files slipped into a hotfix folder, a closed stdout.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::hotfix;
use crate::verify::{Fixture, build_variant, fixture, stderr_of, stdout_of};

const ID: &str = "HF-7.0.3-0042";
/// Long enough for any run on a loaded machine; only reached when a command hangs.
const HANG: Duration = Duration::from_secs(120);

fn extract(fx: &Fixture, package: &Path, install: &Path) -> assert_cmd::Command {
    let mut cmd = hotfix();
    cmd.arg("extract")
        .arg(package)
        .arg("--install-dir")
        .arg(install)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .timeout(HANG);
    cmd
}

fn list(install: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = hotfix();
    cmd.arg("list")
        .args(extra)
        .args(["--output-format", "json", "--install-dir"])
        .arg(install)
        .timeout(HANG);
    cmd
}

/// `hotfix list --output-format json`, checked against its schema.
fn json(out: &assert_cmd::assert::Assert) -> serde_json::Value {
    crate::support::check_schema("list", &out.get_output().stdout)
}

fn installed(fx: &Fixture) -> (PathBuf, PathBuf) {
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    extract(fx, &fx.package, &install).assert().code(0);
    let folder = install.join("Install/hotfixes").join(ID);
    (install, folder)
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_dangling_lock_symlink_is_refused_and_nothing_is_created_at_its_target() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let target = fx.path("elsewhere-lock");
    std::os::unix::fs::symlink(&target, install.join(".hotfix.lock")).expect("symlink");
    let out = extract(&fx, &fx.package, &install).assert().code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains(".hotfix.lock"), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(!target.exists(), "extract created the symlink's target");
    assert!(!install.join("Install").exists());
    list(&install, &[]).assert().code(2);

    // A dangling symlink where older versions kept the lock is never followed either.
    let second = fx.path("second");
    let hotfixes = second.join("Install/hotfixes");
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    let old_target = fx.path("elsewhere-old-lock");
    std::os::unix::fs::symlink(&old_target, hotfixes.join(".hotfix.lock")).expect("symlink");
    extract(&fx, &fx.package, &second).assert().code(0);
    assert!(!old_target.exists(), "extract created the symlink's target");
}

#[cfg(unix)]
#[test]
fn a_symlinked_hotfix_folder_is_refused_by_extract_and_reported_by_list() {
    let fx = fixture();
    let (_, real) = installed(&fx);
    let install = fx.path("linked");
    let hotfixes = install.join("Install/hotfixes");
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    std::os::unix::fs::symlink(&real, hotfixes.join(ID)).expect("symlink");

    let out = extract(&fx, &fx.package, &install).assert().code(1);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("install-symlink"), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");

    let out = list(&install, &[]).assert().code(1);
    let v = json(&out);
    assert_eq!(v["hotfixes"][0]["folder"], ID, "{v}");
    assert_eq!(v["hotfixes"][0]["status"], "not-a-folder", "{v}");
}

#[cfg(unix)]
#[test]
fn a_fifo_as_an_installed_manifest_hangs_neither_list_nor_extract() {
    let fx = fixture();
    let install = fx.path("install");
    let odd = install.join("Install/hotfixes/HF-7.0.3-0099");
    std::fs::create_dir_all(&odd).expect("mkdir");
    mkfifo(&odd.join("hotfix.xml"));
    let out = list(&install, &[]).assert().code(1);
    let v = json(&out);
    assert_eq!(v["hotfixes"][0]["status"], "unreadable-manifest", "{v}");
    assert!(
        v["hotfixes"][0]["problems"][0]["message"]
            .as_str()
            .is_some_and(|p| p.contains("not a regular file")),
        "{v}"
    );
    // An unrelated extract reads every installed manifest for its policies.
    extract(&fx, &fx.package, &install).assert().code(0);
}

#[cfg(unix)]
#[test]
fn a_fifo_as_trusted_keys_is_refused_without_hanging() {
    let fx = fixture();
    let fifo = fx.path("keys.pub");
    mkfifo(&fifo);
    let out = hotfix()
        .arg("verify")
        .arg(&fx.package)
        .arg("--trusted")
        .arg(&fifo)
        .timeout(HANG)
        .assert()
        .code(2);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("not a regular file"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_fifo_as_the_package_is_refused_without_hanging() {
    let fx = fixture();
    let fifo = fx.path("HF-7.0.3-0042.zip");
    mkfifo(&fifo);
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    for cmd in ["verify", "extract"] {
        let mut c = hotfix();
        c.arg(cmd).arg(&fifo);
        if cmd == "extract" {
            c.arg("--install-dir").arg(&install);
        }
        let out = c
            .arg("--trusted")
            .arg(Fixture::public(&fx.signer))
            .timeout(HANG)
            .assert()
            .code(2);
        let stderr = stderr_of(&out);
        assert!(stderr.contains("not a regular file"), "{cmd}: {stderr}");
    }
}

/// Makes `path` impossible to delete, even for root, for as long as the guard lives.
/// `None` where the file system or the process cannot (no `chattr`, no capability).
#[cfg(target_os = "linux")]
struct Immutable(PathBuf);

#[cfg(target_os = "linux")]
impl Immutable {
    fn set(path: &Path) -> Option<Immutable> {
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Immutable(path.to_path_buf()))
    }
}

#[cfg(target_os = "linux")]
impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_undeletable_leftover_is_reported_and_blocks_no_other_install() {
    let fx = fixture();
    let (install, _) = installed(&fx);
    let leftover = install
        .join("Install/hotfixes")
        .join(format!(".old-{ID}-1x2"));
    std::fs::create_dir_all(leftover.join("lib")).expect("mkdir");
    std::fs::write(leftover.join("lib/stuck.dll"), b"x").expect("write");
    let Some(_guard) = Immutable::set(&leftover.join("lib/stuck.dll")) else {
        eprintln!("skipped: chattr +i is not available here");
        return;
    };
    let other = build_variant(fx.dir.path(), "0050", &fx.signer, |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0050\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    let out = extract(&fx, &other, &install).assert().code(0);
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("warning: ") && stderr.contains(&format!(".old-{ID}-1x2")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: "), "{stderr}");

    let out = list(&install, &[]).assert().code(0);
    let v = json(&out);
    assert_eq!(v["hotfixes"][0]["folder"], ID, "{v}");
    assert_eq!(
        v["hotfixes"][0]["leftovers"][0],
        format!(".old-{ID}-1x2"),
        "{v}"
    );
    let stderr = stderr_of(&out);
    assert!(stderr.contains("hint: "), "{stderr}");
    let text = hotfix()
        .args(["list", "--install-dir"])
        .arg(&install)
        .assert()
        .code(0);
    assert!(
        stdout_of(&text).contains(&format!("leftover: .old-{ID}-1x2")),
        "{}",
        stdout_of(&text)
    );
}

#[test]
fn leftover_old_files_are_cleaned_like_folders() {
    let fx = fixture();
    let (install, _) = installed(&fx);
    let hotfixes = install.join("Install/hotfixes");
    let stale = hotfixes.join(format!(".old-{ID}-1x2"));
    std::fs::write(&stale, b"was a file").expect("write");
    let other = build_variant(fx.dir.path(), "0050", &fx.signer, |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0050\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    extract(&fx, &other, &install).assert().code(0);
    assert!(!stale.exists(), "a stale .old-* file was left");
}

#[test]
fn list_check_flags_files_in_signatures_that_are_not_signatures_of_the_manifest() {
    let fx = fixture();
    let (install, folder) = installed(&fx);
    let sigs = folder.join("signatures");
    let real = std::fs::read_dir(&sigs)
        .expect("signatures")
        .next()
        .expect("one signature")
        .expect("entry")
        .path();
    list(&install, &["--check"]).assert().code(0);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("run.minisig", vec![b'#'; 1 << 20]),
        (
            "0123456789ABCDEF.minisig",
            std::fs::read(&real).expect("read"),
        ),
        ("notes.txt", b"hello".to_vec()),
    ];
    for (name, bytes) in cases {
        let path = sigs.join(name);
        std::fs::write(&path, &bytes).expect("write");
        let out = list(&install, &["--check"]).assert().code(1);
        let v = json(&out);
        assert_eq!(v["hotfixes"][0]["status"], "modified", "{name}: {v}");
        let problems = v["hotfixes"][0]["problems"].to_string();
        assert!(
            problems.contains(&format!("signatures/{name}")),
            "{name}: {problems}"
        );
        std::fs::remove_file(&path).expect("rm");
    }
    list(&install, &["--check"]).assert().code(0);
}

/// Runs `hotfix ARGS` with stdout on a pipe whose reading end is already closed.
fn with_closed_stdout(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    std::process::Command::new(assert_cmd::cargo::cargo_bin("hotfix"))
        .env("NO_COLOR", "1")
        .env_remove("HOTFIX_TRUSTED")
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run")
}

#[test]
fn a_closed_stdout_changes_no_outcome() {
    let fx = fixture();
    let install = fx.path("install");
    std::fs::create_dir(&install).expect("mkdir");
    let key = Fixture::public(&fx.signer);
    let other_key = Fixture::public(&fx.other);
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    let runs: Vec<(&str, Vec<&std::ffi::OsStr>, i32)> = vec![
        (
            "extract",
            vec![
                os("extract"),
                fx.package.as_os_str(),
                os("--install-dir"),
                install.as_os_str(),
                os("--trusted"),
                key.as_os_str(),
            ],
            0,
        ),
        (
            "verify",
            vec![
                os("verify"),
                fx.package.as_os_str(),
                os("--trusted"),
                key.as_os_str(),
            ],
            0,
        ),
        (
            "list",
            vec![os("list"), os("--install-dir"), install.as_os_str()],
            0,
        ),
        (
            "list json",
            vec![
                os("list"),
                os("--output-format"),
                os("json"),
                os("--install-dir"),
                install.as_os_str(),
            ],
            0,
        ),
        ("inspect", vec![os("inspect"), fx.package.as_os_str()], 0),
        ("completions", vec![os("completions"), os("bash")], 0),
        ("man", vec![os("man")], 0),
        (
            "inspect json",
            vec![
                os("inspect"),
                fx.package.as_os_str(),
                os("--output-format"),
                os("json"),
            ],
            0,
        ),
        (
            "verify with the wrong key",
            vec![
                os("verify"),
                fx.package.as_os_str(),
                os("--trusted"),
                other_key.as_os_str(),
            ],
            1,
        ),
    ];
    for (what, args, code) in runs {
        let out = with_closed_stdout(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
    assert!(
        install
            .join("Install/hotfixes")
            .join(ID)
            .join("hotfix.xml")
            .is_file()
    );
}

/// A folder inside an installed hotfix replaced by a symlink to an identical copy
/// elsewhere: list never reads through it, with or without --check or --trusted.
#[cfg(unix)]
#[test]
fn a_symlinked_folder_inside_a_hotfix_is_never_followed() {
    let fx = fixture();
    let (install, folder) = installed(&fx);
    let outside = fx.path("outside");
    std::fs::create_dir(&outside).expect("mkdir");
    for sub in ["server", "signatures"] {
        std::fs::rename(folder.join(sub), outside.join(sub)).expect("move");
        std::os::unix::fs::symlink(outside.join(sub), folder.join(sub)).expect("symlink");
    }
    let trusted = Fixture::public(&fx.signer);
    for extra in [
        vec![],
        vec!["--check"],
        vec!["--trusted", trusted.to_str().expect("utf-8")],
    ] {
        let out = list(&install, &extra).assert().code(1);
        let v = json(&out);
        assert_ne!(v["hotfixes"][0]["status"], "ok", "{extra:?}: {v}");
        let problems = v["hotfixes"][0]["problems"].to_string();
        assert!(problems.contains("symbolic link"), "{extra:?}: {problems}");
    }
}

/// A symlinked `<ID>` counts as nothing for the policies: it does not satisfy a
/// requirement (nor supersede anything).
#[cfg(unix)]
#[test]
fn a_symlinked_hotfix_folder_does_not_satisfy_a_requirement() {
    let fx = fixture();
    let required = build_variant(fx.dir.path(), "0039", &fx.signer, |t| {
        t.replace("id = \"HF-7.0.3-0042\"", "id = \"HF-7.0.3-0039\"")
            .replace("supersedes = [\"HF-7.0.3-0040\"]", "supersedes = []")
    });
    let elsewhere = fx.path("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    extract(&fx, &required, &elsewhere).assert().code(0);
    let install = fx.path("install");
    let hotfixes = install.join("Install/hotfixes");
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    std::os::unix::fs::symlink(
        elsewhere.join("Install/hotfixes/HF-7.0.3-0039"),
        hotfixes.join("HF-7.0.3-0039"),
    )
    .expect("symlink");
    let needs = build_variant(fx.dir.path(), "needs", &fx.signer, |t| {
        t.replace("requires = []", "requires = [\"HF-7.0.3-0039\"]")
    });
    let out = extract(&fx, &needs, &install).assert().code(1);
    assert!(
        stderr_of(&out).contains("install-requires-missing"),
        "{}",
        stderr_of(&out)
    );
}
