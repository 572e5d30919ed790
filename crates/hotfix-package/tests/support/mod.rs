//! Helpers shared by the package tests: a raw zip writer, the hostile corpus, snapshots.
#![allow(dead_code)]

pub mod corpus;
pub mod rawzip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file and folder under `root` with file contents, for before/after comparisons.
///
/// The installation's lock file (`<install>/.hotfix.lock`) is left out: a refused first
/// extract leaves it behind by design (it is never deleted, docs/decisions/0004).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry.expect("walk");
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("prefix")
            .to_path_buf();
        if rel.as_os_str() == hotfix_package::lock::LOCK_FILE {
            continue;
        }
        let content = if entry.file_type().is_file() {
            Some(std::fs::read(entry.path()).expect("read"))
        } else {
            None
        };
        out.insert(rel, content);
    }
    out
}

/// Writes `bytes` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}
