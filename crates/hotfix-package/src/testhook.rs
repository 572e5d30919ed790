//! Named pause points that let tests order concurrent runs without sleeping.
//!
//! With `HOTFIX_TEST_HOOK=<dir>` in the environment, reaching point `P` opens `<dir>/P`
//! for reading *if it is a FIFO* and reads it to its end. A test that made the FIFO
//! learns that the process reached the point when its own open-for-writing returns, and
//! lets it go on by closing its end. Without the variable, or without a FIFO of that
//! name, a point does nothing. A point must never change what the code does, only when
//! it does it; it is not an interface for anything but tests.

use std::path::Path;

/// The environment variable naming the folder of FIFOs.
pub const HOOK_ENV: &str = "HOTFIX_TEST_HOOK";

/// Waits at `point` while a test holds it (see the module comment).
pub fn pause(point: &str) {
    let Some(dir) = std::env::var_os(HOOK_ENV) else {
        return;
    };
    wait_on(&Path::new(&dir).join(point));
}

#[cfg(unix)]
fn wait_on(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
        && let Ok(mut f) = std::fs::File::open(path)
    {
        let _ = std::io::copy(&mut f, &mut std::io::sink());
    }
}

#[cfg(not(unix))]
fn wait_on(_path: &Path) {}
