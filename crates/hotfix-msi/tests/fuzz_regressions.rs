//! Inputs found by the `msi_properties` fuzz target (docs/FUZZING.md), kept so they stay
//! fixed: every file in `tests/data/fuzz-regressions/msi_properties/` must give `Ok` or
//! `Err`, never a panic, an abort or an allocation sized by the file's claims.
//!
//! Bounded allocation cannot be observed from inside a test without a counting global
//! allocator (which needs `unsafe`, forbidden here), so each input is read in a child
//! process (this test binary again) whose address space is capped with `ulimit -v`: an
//! allocation the file talks the reader into fails there and aborts the child.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Address-space cap of the child, in KiB: far more than reading a small MSI needs.
const CHILD_ADDRESS_SPACE_KIB: u64 = 1024 * 1024;

/// Set in the child's environment: the one input file to read.
const CHILD_INPUT_VAR: &str = "HOTFIX_MSI_FUZZ_REGRESSION_INPUT";

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz-regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("read_dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: no inputs", dir.display());
    files
}

fn read(path: &Path) {
    let bytes = std::fs::read(path).expect("read input");
    let result = hotfix_msi::read_properties_from(Cursor::new(&bytes), bytes.len() as u64, path);
    // Either is fine; the point is getting here.
    let _ = result;
}

/// The child half: reads the input named in the environment (no-op in a normal run).
#[test]
fn child_reads_one_input() {
    if let Some(path) = std::env::var_os(CHILD_INPUT_VAR) {
        read(Path::new(&path));
    }
}

#[test]
#[cfg(unix)] // sh and ulimit
fn msi_properties_inputs_return_within_bounded_memory() {
    let exe = std::env::current_exe().expect("current_exe");
    for input in inputs("msi_properties") {
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -v {CHILD_ADDRESS_SPACE_KIB} && exec \"$0\" --exact child_reads_one_input --test-threads=1 --quiet"
            ))
            .arg(&exe)
            .env(CHILD_INPUT_VAR, &input)
            .status()
            .expect("run child");
        assert!(
            status.success(),
            "{}: reading it failed ({status}): a panic, an abort or an unbounded allocation",
            input.display()
        );
    }
}
