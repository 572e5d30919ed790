//! The cross-entry rule on payload paths: no path is listed twice and no path is both a
//! file and a folder of another, compared as the file systems extraction targets
//! compare them ([`names::collision_key`]: case folding, Unicode compatibility
//! normalisation).
//!
//! It must never compare raw strings: two paths a case-insensitive file system treats as
//! one would overwrite each other on extraction.

use std::collections::HashMap;

use super::error::{ManifestError, ManifestErrorKind};
use crate::names;

/// The payload paths read so far and the folders they imply.
#[derive(Debug, Default)]
pub(super) struct PathClaims {
    /// Collision keys of payload paths -> (line first listed on, the path).
    paths: HashMap<String, (u64, String)>,
    /// Collision keys of folders implied by the payload paths -> one path implying each.
    dirs: HashMap<String, String>,
}

impl PathClaims {
    /// Records a payload path, refusing repeats and file/folder clashes under
    /// [`names::collision_key`] (case folding and Unicode compatibility normalisation).
    pub(super) fn claim(
        &mut self,
        path: &str,
        line: u64,
        column: u64,
    ) -> Result<(), ManifestError> {
        let key = names::collision_key(path);
        let conflict = |other: &String| {
            ManifestError::at(
                line,
                column,
                ManifestErrorKind::PathConflict {
                    path: path.into(),
                    other: other.clone(),
                },
            )
        };
        if let Some((first_line, _)) = self.paths.get(&key) {
            return Err(ManifestError::at(
                line,
                column,
                ManifestErrorKind::DuplicatePath {
                    path: path.into(),
                    first_line: *first_line,
                },
            ));
        }
        if let Some(other) = self.dirs.get(&key) {
            return Err(conflict(other));
        }
        let mut folders = Vec::new();
        for (i, _) in key.match_indices('/') {
            let folder = &key[..i];
            if let Some((_, other)) = self.paths.get(folder) {
                return Err(conflict(other));
            }
            folders.push(folder.to_string());
        }
        for f in folders {
            self.dirs.entry(f).or_insert_with(|| path.to_string());
        }
        self.paths.insert(key, (line, path.to_string()));
        Ok(())
    }
}
