//! Manifest XML, format v1: deterministic writer and strict, bounded reader.

use crate::Manifest;

/// Manifests larger than this are refused before parsing (and before signature checks
/// read them into memory).
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("manifest line {line}, column {column}: {message}")]
    Syntax { line: u64, column: u64, message: String },
}

impl Manifest {
    /// The exact bytes that are signed.
    pub fn to_xml(&self) -> Vec<u8> {
        unimplemented!("filled in by the manifest work")
    }

    /// Parses and validates a manifest.
    pub fn from_xml(_bytes: &[u8]) -> Result<Manifest, ManifestError> {
        unimplemented!("filled in by the manifest work")
    }
}
