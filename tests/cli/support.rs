//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `hotfix` binary under test.
pub fn hotfix() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("hotfix").expect("hotfix binary");
    cmd.env_remove("HOTFIX_PASSPHRASE")
        .env_remove("HOTFIX_TRUSTED")
        .env_remove("HOTFIX_PKCS11_PIN")
        .env_remove("HOTFIX_PKCS11_MODULE")
        .env("NO_COLOR", "1");
    cmd
}

/// Repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample hotfix source in `packages/`.
pub fn sample_source() -> PathBuf {
    repo_root().join("packages").join("HF-7.0.3-0042")
}

/// Whether an external tool is on PATH. With `HOTFIX_REQUIRE_INTEROP=1` (set by
/// `scripts/test` and CI) a missing tool fails the test instead of skipping it.
pub fn have_tool(name: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false);
    if !found && std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
        panic!("{name} is required (HOTFIX_REQUIRE_INTEROP is set) but not on PATH");
    }
    found
}

/// Reads a file that must exist.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A folder of FIFOs named after pause points, passed to one `hotfix` process as
/// `HOTFIX_TEST_HOOK` (see `hotfix_package::testhook`). One folder per process, so each
/// pauses only where its test wants it to.
#[cfg(unix)]
pub struct Hooks {
    pub dir: PathBuf,
}

#[cfg(unix)]
impl Hooks {
    pub fn new(parent: &Path, name: &str) -> Hooks {
        let dir = parent.join(format!("hooks-{name}"));
        std::fs::create_dir_all(&dir).expect("mkdir hooks");
        Hooks { dir }
    }

    /// Makes the FIFO for `point` and returns its path.
    pub fn point(&self, point: &str) -> PathBuf {
        let path = self.dir.join(point);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(status.success(), "mkfifo {}", path.display());
        path
    }
}

/// Waits until `child` is paused at the point whose FIFO is `fifo`, and returns the
/// handle that keeps it there: drop it to let the child go on. If the child exits
/// before reaching the point, panics with its output. The loop only waits for whichever
/// of the two events comes first; no outcome depends on how long anything takes.
#[cfg(unix)]
pub fn reach(child: &mut std::process::Child, fifo: &Path) -> std::fs::File {
    use std::os::unix::fs::OpenOptionsExt;
    const ENXIO: i32 = 6;
    loop {
        // Opening a FIFO for writing without blocking succeeds only once a reader has it
        // open, i.e. once the child is at the point.
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(0o4000) // O_NONBLOCK on Linux
            .open(fifo)
        {
            Ok(f) => return f,
            Err(e) if e.raw_os_error() == Some(ENXIO) => {}
            Err(e) => panic!("open {}: {e}", fifo.display()),
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut out = String::new();
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut s) = child.stdout.take() {
                let _ = s.read_to_string(&mut out);
            }
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            panic!(
                "the process exited ({status}) before reaching {}\nstdout: {out}\nstderr: {err}",
                fifo.display()
            );
        }
        std::thread::yield_now();
    }
}

/// Sends `signal` (e.g. "TERM") to `child`.
#[cfg(unix)]
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal}");
}

/// A `hotfix` process with piped output, for running in the background.
pub fn spawn_hotfix(args: &[&std::ffi::OsStr], hooks: Option<&Path>) -> std::process::Child {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("hotfix"));
    cmd.env("NO_COLOR", "1")
        .env_remove("HOTFIX_TRUSTED")
        .env_remove("HOTFIX_TEST_HOOK")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(dir) = hooks {
        cmd.env("HOTFIX_TEST_HOOK", dir);
    }
    cmd.spawn().expect("spawn hotfix")
}

/// The JSON Schema `docs/schema/<name>.schema.json`.
pub fn schema(name: &str) -> serde_json::Value {
    let path = repo_root()
        .join("docs/schema")
        .join(format!("{name}.schema.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// Checks a command's real JSON output against its published schema
/// (`docs/schema/<name>.schema.json`, draft 2020-12) and returns it parsed. Every
/// schema is used by at least one call (`tests/cli/schema.rs` checks that).
pub fn check_schema(name: &str, stdout: &[u8]) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    });
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap_or_else(|e| panic!("docs/schema/{name}.schema.json does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "output does not match docs/schema/{name}.schema.json: {errors:#?}\n{json:#}"
    );
    json
}
