//! The exclusive lock that serializes changes to one `Install/hotfixes` folder.
//!
//! Every extract holds `Install/hotfixes/.hotfix.lock` (an OS advisory lock via fs4:
//! `flock` on Unix, `LockFileEx` on Windows) from before it looks at the folder until
//! after its rename. The lock file itself is never deleted: deleting it would let two
//! processes lock two different files of the same name. The OS releases the lock when
//! the process dies, so a killed run never blocks the next one.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Name of the lock file inside `Install/hotfixes`.
pub const LOCK_FILE: &str = ".hotfix.lock";

/// A held lock; released on drop.
#[derive(Debug)]
pub struct InstallLock {
    file: File,
    path: PathBuf,
}

impl InstallLock {
    /// Blocks until the exclusive lock on `hotfixes/.hotfix.lock` is held.
    pub fn acquire(hotfixes: &Path) -> std::io::Result<InstallLock> {
        let path = hotfixes.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        // Named explicitly: `File::lock` from std would shadow the trait method on newer
        // toolchains, and the workspace's minimum Rust does not have it.
        fs4::FileExt::lock(&file)?;
        Ok(InstallLock { file, path })
    }

    /// Tries once; `Ok(None)` if another process holds it.
    pub fn try_acquire(hotfixes: &Path) -> std::io::Result<Option<InstallLock>> {
        let path = hotfixes.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(InstallLock { file, path })),
            Err(fs4::TryLockError::WouldBlock) => Ok(None),
            Err(fs4::TryLockError::Error(e)) => Err(e),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        // Closing the handle releases it too; unlocking first makes the order explicit.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}
