//! Helpers shared by the CLI tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `hotfix` binary under test.
pub fn hotfix() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("hotfix").expect("hotfix binary");
    cmd.env_remove("HOTFIX_PASSPHRASE")
        .env_remove("HOTFIX_TRUSTED")
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
