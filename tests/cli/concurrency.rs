//! Extract and list against each other and against signals, ordered with pause points
//! (`HOTFIX_TEST_HOOK`, see `support::Hooks`) instead of sleeps.
#![cfg(unix)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};

use sha2::Digest;

use crate::support::{Hooks, reach, send_signal, spawn_hotfix};
use crate::verify::{Fixture, build_variant, fixture};

const ID: &str = "HF-7.0.3-0042";

fn extract_args<'a>(package: &'a Path, install: &'a Path, key: &'a Path) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("extract"),
        package.as_os_str(),
        OsStr::new("--install-dir"),
        install.as_os_str(),
        OsStr::new("--trusted"),
        key.as_os_str(),
    ]
}

fn list_args(install: &Path) -> Vec<&OsStr> {
    vec![
        OsStr::new("list"),
        OsStr::new("--output-format"),
        OsStr::new("json"),
        OsStr::new("--install-dir"),
        install.as_os_str(),
    ]
}

fn finish(child: Child) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn hotfixes(install: &Path) -> PathBuf {
    install.join("Install").join("hotfixes")
}

fn install_dir(fx: &Fixture, name: &str) -> PathBuf {
    let install = fx.path(name);
    std::fs::create_dir(&install).expect("mkdir install");
    install
}

fn v4(fx: &Fixture) -> PathBuf {
    build_variant(fx.dir.path(), "v4", &fx.signer, |t| {
        t.replace("version = 3", "version = 4")
    })
}

#[test]
fn a_failing_first_extract_does_not_pull_the_folder_from_under_a_waiting_one() {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let signer = Fixture::public(&fx.signer);
    let other = Fixture::public(&fx.other);
    // A: a first extract into an empty installation that will fail (wrong key), paused
    // once it holds the lock.
    let hooks_a = Hooks::new(fx.dir.path(), "a");
    let locked = hooks_a.point("locked");
    let mut a = spawn_hotfix(
        &extract_args(&fx.package, &install, &other),
        Some(&hooks_a.dir),
    );
    let hold_a = reach(&mut a, &locked);
    // B: a good extract that has found the lock held and is about to wait for it.
    let hooks_b = Hooks::new(fx.dir.path(), "b");
    let busy = hooks_b.point("lock-busy");
    let mut b = spawn_hotfix(
        &extract_args(&fx.package, &install, &signer),
        Some(&hooks_b.dir),
    );
    drop(reach(&mut b, &busy));
    drop(hold_a);
    let (code_a, _, err_a) = finish(a);
    assert_eq!(code_a, Some(1), "{err_a}");
    let (code_b, _, err_b) = finish(b);
    assert_eq!(code_b, Some(0), "the waiting extract must succeed: {err_b}");
    assert!(err_b.contains(&format!("extracted {ID}")), "{err_b}");
    // The IA sees exactly the hotfix: the lock lives beside Install/, not in it.
    assert_eq!(entries(&hotfixes(&install)), vec![ID.to_owned()]);
    assert_eq!(entries(&install), vec![".hotfix.lock", "Install"]);
}

#[test]
fn a_refused_first_extract_leaves_only_the_lock_file() {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let other = Fixture::public(&fx.other);
    let (code, _, err) = finish(spawn_hotfix(
        &extract_args(&fx.package, &install, &other),
        None,
    ));
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(entries(&install), vec![".hotfix.lock"]);
}

#[test]
fn list_waits_for_a_replacement_in_progress() {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let signer = Fixture::public(&fx.signer);
    let (code, _, err) = finish(spawn_hotfix(
        &extract_args(&fx.package, &install, &signer),
        None,
    ));
    assert_eq!(code, Some(0), "{err}");
    let newer = v4(&fx);
    // The upgrade pauses between moving v3 aside and renaming v4 in.
    let hooks_e = Hooks::new(fx.dir.path(), "e");
    let aside = hooks_e.point("replace-aside");
    let mut e = spawn_hotfix(&extract_args(&newer, &install, &signer), Some(&hooks_e.dir));
    let hold_e = reach(&mut e, &aside);
    // list must find the lock held rather than read the half-replaced folder.
    let hooks_l = Hooks::new(fx.dir.path(), "l");
    let busy = hooks_l.point("lock-busy");
    let mut l = spawn_hotfix(&list_args(&install), Some(&hooks_l.dir));
    drop(reach(&mut l, &busy));
    drop(hold_e);
    let (code_e, _, err_e) = finish(e);
    assert_eq!(code_e, Some(0), "{err_e}");
    let (code_l, out_l, err_l) = finish(l);
    assert_eq!(code_l, Some(0), "{out_l}{err_l}");
    let v: serde_json::Value = serde_json::from_str(&out_l).expect("JSON");
    assert_eq!(v["hotfixes"][0]["folder"], ID, "{out_l}");
    assert_eq!(v["hotfixes"][0]["version"], 4, "{out_l}");
    assert_eq!(v["hotfixes"][0]["status"], "ok", "{out_l}");
}

#[test]
fn an_interrupted_replacement_is_reported_by_list_and_repaired_by_the_next_extract() {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let signer = Fixture::public(&fx.signer);
    let (code, _, err) = finish(spawn_hotfix(
        &extract_args(&fx.package, &install, &signer),
        None,
    ));
    assert_eq!(code, Some(0), "{err}");
    let newer = v4(&fx);
    let hooks = Hooks::new(fx.dir.path(), "e");
    let aside = hooks.point("replace-aside");
    let mut e = spawn_hotfix(&extract_args(&newer, &install, &signer), Some(&hooks.dir));
    let hold = reach(&mut e, &aside);
    // Killed hard between its two renames: only `.old-<ID>-*` is left.
    e.kill().expect("kill");
    let _ = e.wait();
    drop(hold);
    assert!(!hotfixes(&install).join(ID).exists());

    let (code, out, err) = finish(spawn_hotfix(&list_args(&install), None));
    assert_eq!(code, Some(1), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["hotfixes"][0]["folder"], ID, "{out}");
    assert_eq!(v["hotfixes"][0]["status"], "replace-interrupted", "{out}");
    assert!(
        err.contains("hint: ") && err.contains("hotfix extract"),
        "{err}"
    );

    let (code, _, err) = finish(spawn_hotfix(&extract_args(&newer, &install, &signer), None));
    assert_eq!(code, Some(0), "{err}");
    let (code, out, err) = finish(spawn_hotfix(&list_args(&install), None));
    assert_eq!(code, Some(0), "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["hotfixes"][0]["version"], 4, "{out}");
    assert_eq!(entries(&hotfixes(&install)), vec![ID.to_owned()]);
}

/// A command waiting for the lock stops at once on a signal, with 128 + the signal
/// number, and leaves nothing behind.
fn waiting_command_stops_on(signal: &str, code: i32, list: bool) {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let signer = Fixture::public(&fx.signer);
    // Make the lock file exist (list only waits on an existing one), then hold it.
    std::fs::write(install.join(".hotfix.lock"), b"").expect("lock file");
    let held = hotfix_package::lock::InstallLock::exclusive(&install, None, &|_| {}).expect("lock");
    let hooks = Hooks::new(fx.dir.path(), "w");
    let busy = hooks.point("lock-busy");
    let args = if list {
        list_args(&install)
    } else {
        extract_args(&fx.package, &install, &signer)
    };
    let mut child = spawn_hotfix(&args, Some(&hooks.dir));
    drop(reach(&mut child, &busy));
    send_signal(&child, signal);
    let (status, out, err) = finish(child);
    assert_eq!(status, Some(code), "{out}{err}");
    assert!(err.contains("interrupted"), "{err}");
    drop(held);
    assert_eq!(entries(&install), vec![".hotfix.lock"]);
}

#[test]
fn sigterm_stops_an_extract_waiting_for_the_lock_with_exit_143() {
    waiting_command_stops_on("TERM", 143, false);
}

#[test]
fn ctrl_c_stops_an_extract_waiting_for_the_lock_with_exit_130() {
    waiting_command_stops_on("INT", 130, false);
}

#[test]
fn sigterm_stops_a_list_waiting_for_the_lock_with_exit_143() {
    waiting_command_stops_on("TERM", 143, true);
}

/// SIGTERM while an extract is writing its temporary folder: it stops at its next
/// check, removes the folder and its owner marker, exits 143 and changes nothing.
#[test]
fn sigterm_during_an_extract_removes_its_temporary_folder_and_exits_143() {
    let fx = fixture();
    let install = install_dir(&fx, "install");
    let signer = Fixture::public(&fx.signer);
    let hooks = Hooks::new(fx.dir.path(), "e");
    let staged = hooks.point("staged");
    let signalled = hooks.point("signalled");
    let mut child = spawn_hotfix(
        &extract_args(&fx.package, &install, &signer),
        Some(&hooks.dir),
    );
    let hold = reach(&mut child, &staged);
    assert!(
        entries(&hotfixes(&install))
            .iter()
            .any(|n| n.starts_with(".tmp-")),
        "the temporary folder exists while the extract is paused"
    );
    send_signal(&child, "TERM");
    // The signal has been taken (the cancel flag is set) before the extract goes on.
    drop(reach(&mut child, &signalled));
    drop(hold);
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(143), "{out}{err}");
    assert!(
        err.contains("interrupted (SIGTERM); nothing was changed"),
        "{err}"
    );
    assert_eq!(entries(&install), vec![".hotfix.lock"]);
}

fn build_args<'a>(src: &'a Path, key: &'a Path, out: &'a Path) -> Vec<&'a OsStr> {
    vec![
        OsStr::new("build"),
        src.as_os_str(),
        OsStr::new("--key"),
        key.as_os_str(),
        OsStr::new("--output"),
        out.as_os_str(),
    ]
}

/// Temporary files of hotfix's own in `dir`.
fn temps(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.starts_with(".hotfix-") && n.ends_with(".tmp"))
        .collect()
}

/// Makes `file` look untouched for an hour.
fn age(file: &Path) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .expect("open");
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .expect("set mtime");
}

/// A build paused with its temporary package file open.
fn paused_build(fx: &Fixture, name: &str, out: &Path) -> (Child, std::fs::File) {
    let hooks = Hooks::new(fx.dir.path(), name);
    let point = hooks.point("build-writing");
    let src = crate::support::sample_source();
    let mut child = spawn_hotfix(&build_args(&src, &fx.signer, out), Some(&hooks.dir));
    let hold = reach(&mut child, &point);
    (child, hold)
}

fn interrupted_build_removes_its_temporary_file(signal: &str, code: i32) {
    let fx = fixture();
    let out = fx.path("dist-interrupted");
    let (child, hold) = paused_build(&fx, signal, &out);
    assert_eq!(temps(&out).len(), 1, "{:?}", entries(&out));
    send_signal(&child, signal);
    let (status, stdout, err) = finish(child);
    drop(hold);
    assert_eq!(status, Some(code), "{stdout}{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert_eq!(entries(&out), Vec::<String>::new());
}

#[test]
fn sigterm_during_a_build_removes_its_temporary_file_and_exits_143() {
    interrupted_build_removes_its_temporary_file("TERM", 143);
}

#[test]
fn ctrl_c_during_a_build_removes_its_temporary_file_and_exits_130() {
    interrupted_build_removes_its_temporary_file("INT", 130);
}

#[test]
fn the_next_build_removes_a_stale_temporary_file_but_not_a_live_one() {
    let fx = fixture();
    let out = fx.path("dist-stale");
    // A build killed outright leaves its temporary file.
    let (mut dead, hold) = paused_build(&fx, "dead", &out);
    dead.kill().expect("kill");
    dead.wait().expect("wait");
    drop(hold);
    let stale = temps(&out);
    assert_eq!(stale.len(), 1, "{:?}", entries(&out));
    // A live build, paused with its temporary file open (it leaves the dead build's
    // file alone: that one is still recent).
    let (live, hold) = paused_build(&fx, "live", &out.join("live.zip"));
    let live_tmp: Vec<String> = temps(&out).into_iter().filter(|n| *n != stale[0]).collect();
    assert_eq!(live_tmp.len(), 1, "{:?}", entries(&out));
    age(&out.join(&stale[0]));
    age(&out.join(&live_tmp[0]));

    let (src, dist) = (crate::support::sample_source(), out.join("next.zip"));
    let next = crate::support::hotfix()
        .args(build_args(&src, &fx.signer, &dist))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&next.stderr).into_owned();
    assert!(next.status.success(), "{err}");
    assert!(err.contains("removed a stale temporary file"), "{err}");
    assert_eq!(
        temps(&out),
        live_tmp,
        "only the dead build's file is removed"
    );

    drop(hold);
    let (status, stdout, err) = finish(live);
    assert_eq!(status, Some(0), "{stdout}{err}");
    assert_eq!(temps(&out), Vec::<String>::new());
}

#[test]
fn sigterm_during_a_cosigning_removes_its_temporary_file_and_leaves_the_package() {
    let fx = fixture();
    let before = std::fs::read(&fx.package).expect("read");
    let hooks = Hooks::new(fx.dir.path(), "sign");
    let point = hooks.point("sign-writing");
    let args = [
        OsStr::new("sign"),
        fx.package.as_os_str(),
        OsStr::new("--key"),
        fx.other.as_os_str(),
    ];
    let mut child = spawn_hotfix(&args, Some(&hooks.dir));
    let hold = reach(&mut child, &point);
    let dir = fx.package.parent().expect("dir");
    assert_eq!(temps(dir).len(), 1, "{:?}", entries(dir));
    send_signal(&child, "TERM");
    let (status, stdout, err) = finish(child);
    drop(hold);
    assert_eq!(status, Some(143), "{stdout}{err}");
    assert_eq!(temps(dir), Vec::<String>::new());
    assert!(std::fs::read(&fx.package).expect("read") == before);
}

/// A source whose docs sort on both sides of the SBOM the build adds
/// (`docs/sbom.cdx.json`): `docs/a-notes.txt` before it, `docs/upgrade.txt` after it.
fn source_around_the_sbom(fx: &Fixture) -> PathBuf {
    let root = fx.path("src-around-sbom");
    std::fs::create_dir_all(root.join("server/ChatServer")).expect("mkdir");
    std::fs::create_dir_all(root.join("docs")).expect("mkdir");
    std::fs::write(
        root.join("server/ChatServer/chat.properties"),
        "retries=3\n".repeat(50),
    )
    .expect("write");
    std::fs::write(root.join("docs/a-notes.txt"), "notes, first edition\n").expect("write");
    std::fs::write(root.join("docs/upgrade.txt"), "upgrade, first edition\n").expect("write");
    std::fs::write(
        root.join("hotfix.toml"),
        "id = \"HF-TEST-0002\"\nversion = 1\ntitle = \"Test\"\nrelease = \"7.0\"\n\
         support-package = \"SP3\"\ndocs = \"docs\"\n\n[[software-package]]\n\
         name = \"ChatServer\"\nversion = \"7.0.3.1\"\ndir = \"server/ChatServer\"\n",
    )
    .expect("write toml");
    root
}

/// Runs a build of `src` into `out`, changing `file` to `text` (same length) while the
/// build is paused after planning, before any payload is written.
fn build_changing(
    fx: &Fixture,
    name: &str,
    src: &Path,
    out: &Path,
    file: &str,
    text: &str,
) -> (Option<i32>, String, String) {
    let hooks = Hooks::new(fx.dir.path(), name);
    let point = hooks.point("build-writing");
    let mut child = spawn_hotfix(&build_args(src, &fx.signer, out), Some(&hooks.dir));
    let hold = reach(&mut child, &point);
    let path = src.join(file);
    assert_eq!(std::fs::read(&path).expect("read").len(), text.len());
    std::fs::write(&path, text).expect("change the file");
    drop(hold);
    finish(child)
}

#[test]
fn a_file_after_the_sbom_that_changes_during_the_build_is_refused_by_name() {
    let fx = fixture();
    let src = source_around_the_sbom(&fx);
    let out = fx.path("dist-changed-after");
    let (code, stdout, err) = build_changing(
        &fx,
        "changed-after",
        &src,
        &out,
        "docs/upgrade.txt",
        "upgrade, other edition\n",
    );
    assert_eq!(code, Some(2), "{stdout}{err}");
    assert!(
        err.contains("upgrade.txt changed while the package was being built")
            && err.contains("hint:"),
        "{err}"
    );
    assert_eq!(entries(&out), Vec::<String>::new());
}

#[test]
fn a_file_before_the_sbom_is_read_once_and_packaged_as_written() {
    let fx = fixture();
    let src = source_around_the_sbom(&fx);
    let out = fx.path("dist-changed-before");
    let (code, stdout, err) = build_changing(
        &fx,
        "changed-before",
        &src,
        &out,
        "docs/a-notes.txt",
        "notes, later edition\n",
    );
    assert_eq!(code, Some(0), "{stdout}{err}");
    let package = out.join("HF-TEST-0002.zip");
    let verified = crate::support::hotfix()
        .arg("verify")
        .arg(&package)
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    // The manifest (and the SBOM) list the bytes written: the later edition.
    let listed = crate::support::hotfix()
        .args(["inspect", "--output-format", "json"])
        .arg(&package)
        .output()
        .expect("inspect");
    let later = sha2::Sha256::digest(b"notes, later edition\n");
    let hex: String = later.iter().map(|b| format!("{b:02x}")).collect();
    let json = String::from_utf8_lossy(&listed.stdout);
    assert!(json.contains(&hex), "{json}");
}
