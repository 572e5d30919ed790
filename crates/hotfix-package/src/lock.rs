//! The lock that serializes changes to one installation's `Install/hotfixes` folder.
//!
//! The lock file is `<install-dir>/.hotfix.lock`, beside `Install/` rather than in
//! `Install/hotfixes`: the IA scans that folder for hotfixes and never sees it, and an
//! extract can take the lock *before* it creates `Install/hotfixes`, so a first extract
//! that fails can remove the folders it created without pulling them from under a
//! waiting one (docs/decisions/0004-install-lock.md).
//!
//! Extract holds it exclusively (an OS advisory lock via fs4: `flock` on Unix,
//! `LockFileEx` on Windows) from before it looks at the folder until after its rename;
//! `list` holds it shared, so it never sees a replacement half done. The lock file is
//! never deleted (deleting it would let two processes lock two different files of the
//! same name) and never followed: a symlink, FIFO or anything but a regular file there
//! is refused. The OS releases the lock when the process dies, so a killed run never
//! blocks the next one. Waiting polls a cancel flag, so Ctrl-C or SIGTERM stops a
//! waiting command at once.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::fsutil;
use crate::testhook;

/// Name of the lock file inside the installation directory.
pub const LOCK_FILE: &str = ".hotfix.lock";

/// How often a waiting run tries again and looks at its cancel flag.
const POLL: Duration = Duration::from_millis(25);

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The cancel flag was set while waiting.
    #[error("interrupted while waiting for the lock")]
    Cancelled,
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct InstallLock {
    file: File,
    path: PathBuf,
}

/// The lock file of an installation.
pub fn lock_path(install_dir: &Path) -> PathBuf {
    install_dir.join(LOCK_FILE)
}

impl InstallLock {
    /// Takes the exclusive lock, creating the lock file if needed. When another process
    /// holds it, calls `on_wait` once, then waits until it is free or `cancel` is set.
    pub fn exclusive(
        install_dir: &Path,
        cancel: Option<&AtomicBool>,
        on_wait: &dyn Fn(&Path),
    ) -> Result<InstallLock, LockError> {
        let path = lock_path(install_dir);
        let file = fsutil::open_regular_rw(&path, true).map_err(|source| LockError::Io {
            path: path.clone(),
            source,
        })?;
        wait_for(&file, &path, false, cancel, on_wait)?;
        Ok(InstallLock { file, path })
    }

    /// Takes the shared lock if the lock file exists (`Ok(None)` if no extract ever ran
    /// here: nothing is created). Waits like [`InstallLock::exclusive`].
    pub fn shared(
        install_dir: &Path,
        cancel: Option<&AtomicBool>,
        on_wait: &dyn Fn(&Path),
    ) -> Result<Option<InstallLock>, LockError> {
        let path = lock_path(install_dir);
        let file = match fsutil::open_regular(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(LockError::Io { path, source }),
        };
        wait_for(&file, &path, true, cancel, on_wait)?;
        Ok(Some(InstallLock { file, path }))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn try_lock(file: &File, shared: bool) -> Result<bool, std::io::Error> {
    // Named explicitly: `File::lock` from std would shadow the trait methods on newer
    // toolchains, and the workspace's minimum Rust does not have them.
    let r = if shared {
        fs4::FileExt::try_lock_shared(file)
    } else {
        fs4::FileExt::try_lock(file)
    };
    match r {
        Ok(()) => Ok(true),
        Err(fs4::TryLockError::WouldBlock) => Ok(false),
        Err(fs4::TryLockError::Error(e)) => Err(e),
    }
}

fn wait_for(
    file: &File,
    path: &Path,
    shared: bool,
    cancel: Option<&AtomicBool>,
    on_wait: &dyn Fn(&Path),
) -> Result<(), LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if try_lock(file, shared).map_err(io)? {
        testhook::pause(if shared { "shared-locked" } else { "locked" });
        return Ok(());
    }
    on_wait(path);
    testhook::pause("lock-busy");
    // Polling rather than one blocking call: a blocked flock cannot be interrupted
    // without unsafe signal plumbing, and a waiting operator must be able to give up.
    loop {
        if cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err(LockError::Cancelled);
        }
        if try_lock(file, shared).map_err(io)? {
            testhook::pause(if shared { "shared-locked" } else { "locked" });
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        // Closing the handle releases it too; unlocking first makes the order explicit.
        let _ = fs4::FileExt::unlock(&self.file);
    }
}
