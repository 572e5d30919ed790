//! The output file: refused if it exists before the build starts, and created only by
//! renaming the finished temporary file, never over a file that appeared meanwhile.

use std::io;
use std::path::Path;

use super::BuildError;
use crate::tempfiles::OwnedTemp;

pub(super) fn refuse_existing(output: &Path) -> Result<(), BuildError> {
    match std::fs::symlink_metadata(output) {
        Ok(_) => Err(BuildError::OutputExists {
            path: output.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BuildError::Write {
            path: output.to_path_buf(),
            source,
        }),
    }
}

/// Renames the finished temporary file to `output`, failing if `output` appeared meanwhile.
pub(super) fn persist_new(tmp: OwnedTemp, output: &Path) -> Result<(), BuildError> {
    match tmp.persist_noclobber(output) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(BuildError::OutputExists {
            path: output.to_path_buf(),
        }),
        Err(e) => Err(BuildError::Write {
            path: output.to_path_buf(),
            source: e,
        }),
    }
}
