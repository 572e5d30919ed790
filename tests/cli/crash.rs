//! Crash safety: `hotfix extract` (a first install and an upgrade), `sign` and `build`
//! killed with SIGKILL at many points leave no partial result where users look, and the
//! next run succeeds.
//!
//! Kill points come from a fixed-seed generator, so a failure replays; the seed and the
//! delay are in every assertion message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::hotfix;

const SEED: u64 = 0x5EED_C0DE;
const ID: &str = "HF-CRASH-1";

/// xorshift64*: tiny, deterministic, good enough for kill delays and filler bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A source folder with `files` incompressible files of `size` bytes each.
fn make_source(dir: &Path, files: usize, size: usize) -> PathBuf {
    let src = dir.join("src");
    let data = src.join("server/ChatServer/lib");
    std::fs::create_dir_all(&data).expect("mkdir");
    let mut rng = Rng(SEED);
    for i in 0..files {
        let bytes: Vec<u8> = (0..size / 8)
            .flat_map(|_| rng.next().to_le_bytes())
            .collect();
        std::fs::write(data.join(format!("part{i:02}.bin")), bytes).expect("write payload");
    }
    std::fs::write(
        src.join("hotfix.toml"),
        format!(
            "id = \"{ID}\"\nversion = 1\ntitle = \"crash test\"\nrelease = \"7.0\"\n\
             support-package = \"SP3\"\n\n[[software-package]]\nname = \"ChatServer\"\n\
             version = \"7.0.3.12\"\ndir = \"server/ChatServer\"\n"
        ),
    )
    .expect("write spec");
    src
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let prefix = dir.join(name);
    hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&prefix)
        .assert()
        .success();
    prefix
}

fn bin() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("hotfix"));
    cmd.env("NO_COLOR", "1")
        .env_remove("HOTFIX_PASSPHRASE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// How long one uninterrupted run of `cmd` takes (after `reset`).
fn duration_of(mut cmd: Command, reset: &dyn Fn()) -> Duration {
    reset();
    let start = Instant::now();
    let status = cmd.status().expect("run");
    assert!(status.success(), "the uninterrupted run must succeed");
    start.elapsed()
}

/// Starts `cmd`, kills it after `delay` (if still running), and waits for it.
fn run_and_kill(mut cmd: Command, delay: Duration) {
    let mut child = cmd.spawn().expect("spawn");
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL on Unix; an error means it already finished
    let _ = child.wait();
}

/// Kill delays spread over `0..=1.2 * full`, deterministic for the seed.
fn delays(full: Duration, n: usize) -> Vec<Duration> {
    let mut rng = Rng(SEED ^ 0xA5A5);
    let max_us = (full.as_micros() as u64 * 6 / 5).max(1);
    (0..n)
        .map(|_| Duration::from_micros(rng.next() % max_us))
        .collect()
}

fn verify_ok(pkg: &Path, trusted: &Path) -> bool {
    bin()
        .arg("verify")
        .arg(pkg)
        .arg("--trusted")
        .arg(trusted)
        .status()
        .expect("verify")
        .success()
}

fn hotfix_entries(install: &Path) -> Vec<String> {
    match std::fs::read_dir(install.join("Install/hotfixes")) {
        Ok(rd) => rd
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".hotfix.lock")
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn extract_killed_at_any_point_leaves_no_partial_folder_and_the_next_run_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = make_source(dir.path(), 12, 2 << 20);
    let key = keygen(dir.path(), "release");
    let pkg = dir.path().join("pkg.zip");
    hotfix()
        .arg("build")
        .arg(&src)
        .arg("--key")
        .arg(key.with_extension("key"))
        .arg("--output")
        .arg(&pkg)
        .assert()
        .success();
    let trusted = key.with_extension("pub");
    let install = dir.path().join("install");
    let extract = || {
        let mut c = bin();
        c.arg("extract")
            .arg(&pkg)
            .arg("--install-dir")
            .arg(&install)
            .arg("--trusted")
            .arg(&trusted);
        c
    };
    let reset = || {
        let _ = std::fs::remove_dir_all(&install);
        std::fs::create_dir(&install).expect("mkdir install");
    };
    let full = duration_of(extract(), &reset);
    for (i, delay) in delays(full, 12).into_iter().enumerate() {
        reset();
        run_and_kill(extract(), delay);
        let ctx = format!("seed {SEED:#x}, kill {i} after {delay:?} of {full:?}");
        // Visible result: nothing, or the complete, verified folder. Temp folders are
        // hidden (`.tmp-*`) and cleaned by the next run.
        for name in hotfix_entries(&install) {
            assert!(
                name == ID || name.starts_with(".tmp-"),
                "{ctx}: unexpected {name}"
            );
        }
        if install.join("Install/hotfixes").join(ID).exists() {
            let out = hotfix()
                .args([
                    "list",
                    "--check",
                    "--output-format",
                    "json",
                    "--install-dir",
                ])
                .arg(&install)
                .output()
                .expect("list");
            let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(
                listed["hotfixes"][0]["status"], "ok",
                "{ctx}: a visible folder must be complete"
            );
        }
        // The next run succeeds and leaves no temporary folder behind.
        let status = extract().status().expect("extract again");
        assert!(status.success(), "{ctx}: the next extract must succeed");
        assert_eq!(hotfix_entries(&install), vec![ID.to_string()], "{ctx}");
    }
}

/// An upgrade (v1 installed, v2 extracted) killed at any point: `list` shows v1 or v2
/// complete, or — between the two renames — `replace-interrupted`, never "no hotfixes";
/// the next extract repairs it and installs v2.
#[test]
fn upgrade_killed_at_any_point_is_seen_whole_or_as_interrupted_and_then_repaired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = make_source(dir.path(), 12, 2 << 20);
    let key = keygen(dir.path(), "release");
    let build = |out: &Path| {
        hotfix()
            .arg("build")
            .arg(&src)
            .arg("--key")
            .arg(key.with_extension("key"))
            .arg("--output")
            .arg(out)
            .assert()
            .success();
    };
    let v1 = dir.path().join("v1.zip");
    build(&v1);
    let spec = src.join("hotfix.toml");
    let text = std::fs::read_to_string(&spec).expect("spec");
    std::fs::write(&spec, text.replace("version = 1", "version = 2")).expect("spec");
    let v2 = dir.path().join("v2.zip");
    build(&v2);
    let trusted = key.with_extension("pub");
    let install = dir.path().join("install");
    let extract = |pkg: &Path| {
        let mut c = bin();
        c.arg("extract")
            .arg(pkg)
            .arg("--install-dir")
            .arg(&install)
            .arg("--trusted")
            .arg(&trusted);
        c
    };
    let reset = || {
        let _ = std::fs::remove_dir_all(&install);
        std::fs::create_dir(&install).expect("mkdir install");
        assert!(extract(&v1).status().expect("v1").success());
    };
    let listed = || {
        let out = hotfix()
            .args([
                "list",
                "--check",
                "--output-format",
                "json",
                "--install-dir",
            ])
            .arg(&install)
            .output()
            .expect("list");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (
            v["hotfixes"][0]["status"].clone(),
            v["hotfixes"][0]["version"].clone(),
        )
    };
    let full = duration_of(extract(&v2), &reset);
    for (i, delay) in delays(full, 10).into_iter().enumerate() {
        reset();
        run_and_kill(extract(&v2), delay);
        let ctx = format!("seed {SEED:#x}, kill {i} after {delay:?} of {full:?}");
        let (status, version) = listed();
        assert!(
            (status == "ok" && (version == 1 || version == 2)) || status == "replace-interrupted",
            "{ctx}: list shows {status} v{version}"
        );
        let status = extract(&v2).status().expect("extract again");
        assert!(status.success(), "{ctx}: the next extract must succeed");
        let (status, version) = listed();
        assert_eq!((status, version), ("ok".into(), 2.into()), "{ctx}");
        assert_eq!(hotfix_entries(&install), vec![ID.to_string()], "{ctx}");
    }
}

#[test]
fn sign_killed_at_any_point_leaves_a_package_that_still_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = make_source(dir.path(), 8, 2 << 20);
    let first = keygen(dir.path(), "first");
    let second = keygen(dir.path(), "second");
    let built = dir.path().join("built.zip");
    hotfix()
        .arg("build")
        .arg(&src)
        .arg("--key")
        .arg(first.with_extension("key"))
        .arg("--output")
        .arg(&built)
        .assert()
        .success();
    let pkg = dir.path().join("pkg.zip");
    let sign = || {
        let mut c = bin();
        c.arg("sign")
            .arg(&pkg)
            .arg("--key")
            .arg(second.with_extension("key"));
        c
    };
    let reset = || {
        std::fs::copy(&built, &pkg).expect("copy package");
    };
    let full = duration_of(sign(), &reset);
    let original = std::fs::read(&built).expect("read");
    for (i, delay) in delays(full, 10).into_iter().enumerate() {
        reset();
        run_and_kill(sign(), delay);
        let ctx = format!("seed {SEED:#x}, kill {i} after {delay:?} of {full:?}");
        let now = std::fs::read(&pkg).expect("the package must still exist");
        // Either untouched, or completely co-signed.
        assert!(verify_ok(&pkg, &first.with_extension("pub")), "{ctx}");
        if now != original {
            assert!(
                verify_ok(&pkg, &second.with_extension("pub")),
                "{ctx}: a changed package must carry the second signature"
            );
        }
    }
}

#[test]
fn build_killed_at_any_point_leaves_no_partial_package_and_the_next_run_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = make_source(dir.path(), 12, 2 << 20);
    let key = keygen(dir.path(), "release");
    let out = dir.path().join("dist");
    let pkg = out.join(format!("{ID}.zip"));
    let build = || {
        let mut c = bin();
        c.arg("build")
            .arg(&src)
            .arg("--key")
            .arg(key.with_extension("key"))
            .arg("--output")
            .arg(&out);
        c
    };
    let reset = || {
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir(&out).expect("mkdir dist");
    };
    let full = duration_of(build(), &reset);
    for (i, delay) in delays(full, 10).into_iter().enumerate() {
        reset();
        run_and_kill(build(), delay);
        let ctx = format!("seed {SEED:#x}, kill {i} after {delay:?} of {full:?}");
        if pkg.exists() {
            assert!(
                verify_ok(&pkg, &key.with_extension("pub")),
                "{ctx}: a visible package must be complete"
            );
        } else {
            let status = build().status().expect("build again");
            assert!(status.success(), "{ctx}: the next build must succeed");
            assert!(verify_ok(&pkg, &key.with_extension("pub")), "{ctx}");
        }
    }
}
