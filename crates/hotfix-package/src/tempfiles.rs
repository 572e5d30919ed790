//! Temporary files that commands write beside their output (`.hotfix-*.tmp`): who owns
//! them, removing them on SIGINT/SIGTERM, and removing the ones a killed run left.
//!
//! A temporary file made by [`create_in`] is locked (an OS advisory lock via fs4) for as
//! long as its writer lives, and its path is registered until it is persisted or
//! dropped. The CLI's signal thread calls [`remove_registered`] before it exits, so an
//! interrupted build or co-signing leaves nothing. A run killed outright (SIGKILL, power
//! loss) leaves its file; the next run in that folder calls [`remove_stale`], which
//! removes a file of ours only when no live process holds its lock AND it has not been
//! modified for [`STALE_AFTER`] (the age closes the moment between another run creating
//! its file and locking it).
//!
//! This must never remove anything that does not carry our prefix and suffix, anything
//! that is not a regular file, or a file whose lock is held.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Prefix of every temporary file hotfix writes beside an output.
pub const PREFIX: &str = ".hotfix-";
/// Suffix of every temporary file hotfix writes beside an output.
pub const SUFFIX: &str = ".tmp";
/// A temporary file untouched for this long, with no live owner, is stale.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A registered, locked temporary file; see the module comment.
#[derive(Debug)]
pub struct OwnedTemp {
    file: Option<tempfile::NamedTempFile>,
    path: PathBuf,
}

/// Creates `<dir>/.hotfix-<name><random>.tmp`, locks it and registers it.
pub fn create_in(dir: &Path, name: &str, mode: Option<u32>) -> std::io::Result<OwnedTemp> {
    let mut b = tempfile::Builder::new();
    let prefix = format!("{PREFIX}{name}");
    b.prefix(&prefix).suffix(SUFFIX);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let file = b.tempfile_in(dir)?;
    // Held until the file is closed, that is until this process ends at the latest.
    let _ = fs4::FileExt::try_lock(file.as_file());
    let path = file.path().to_path_buf();
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.clone());
    }
    Ok(OwnedTemp {
        file: Some(file),
        path,
    })
}

impl OwnedTemp {
    fn inner(&self) -> &tempfile::NamedTempFile {
        // `file` is only taken by `persist*`, which consume `self`.
        self.file.as_ref().expect("temporary file present")
    }

    pub fn as_file(&self) -> &File {
        self.inner().as_file()
    }

    pub fn as_file_mut(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("temporary file present")
            .as_file_mut()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `to`, failing if `to` exists.
    pub fn persist_noclobber(mut self, to: &Path) -> std::io::Result<()> {
        let file = self.file.take().expect("temporary file present");
        file.persist_noclobber(to).map(drop).map_err(|e| e.error)
    }

    /// Renames the file to `to`, replacing it.
    pub fn persist(mut self, to: &Path) -> std::io::Result<()> {
        let file = self.file.take().expect("temporary file present");
        file.persist(to).map(drop).map_err(|e| e.error)
    }
}

impl Drop for OwnedTemp {
    fn drop(&mut self) {
        // Deregister only after the file is gone (persisted or removed), so a signal in
        // between still finds it.
        drop(self.file.take());
        if let Ok(mut live) = LIVE.lock() {
            live.retain(|p| *p != self.path);
        }
    }
}

/// Removes every registered temporary file (for the signal thread, just before exit).
pub fn remove_registered() {
    // Never wait for the lock: the thread holding it may be the one being stopped.
    if let Ok(live) = LIVE.try_lock() {
        for p in live.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes the stale temporary files of ours in `dir` (see the module comment) and
/// returns their paths. Errors are ignored: this is housekeeping, never a reason to fail.
pub fn remove_stale(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return removed;
    };
    let now = SystemTime::now();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if !meta.file_type().is_file() || !old {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if fs4::FileExt::try_lock(&file).is_ok() && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_file_is_not_stale_and_an_unlocked_old_one_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = create_in(dir.path(), "x-", None).expect("create");
        let old = SystemTime::now() - Duration::from_secs(3600);
        live.as_file().set_modified(old).expect("mtime");
        let other = dir.path().join("keep.tmp");
        std::fs::write(&other, b"not ours").expect("write");
        assert!(remove_stale(dir.path()).is_empty());
        let dead = dir.path().join(".hotfix-dead.tmp");
        std::fs::write(&dead, b"left by a killed run").expect("write");
        File::options()
            .write(true)
            .open(&dead)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
        assert_eq!(remove_stale(dir.path()), vec![dead]);
        assert!(live.path().exists() && other.exists());
    }
}
