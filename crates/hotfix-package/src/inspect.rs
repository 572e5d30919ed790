//! Looking inside a package WITHOUT verifying it: the manifest and who claims to have
//! signed it. For people and scripts that want to see what a package says before (or
//! instead of) checking it; `hotfix verify` is what decides whether to trust it.
//!
//! Nothing here may be used to decide trust: signatures are parsed, not checked, and the
//! payload is not read at all. Inputs are untrusted: every read is bounded (manifest by
//! [`MAX_MANIFEST_BYTES`], signatures by [`MAX_SIGNATURE_BYTES`] and [`MAX_SIGNATURES`]),
//! and no input may make this panic.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use hotfix_manifest::{
    MANIFEST_ENTRY, MAX_MANIFEST_BYTES, Manifest, ManifestError, SIGNATURES_DIR,
};
use hotfix_sign::{KeyId, Signature};
use serde::Serialize;

use crate::format::{MAX_SIGNATURE_BYTES, MAX_SIGNATURES, signature_entry_name};

/// Why a package could not be inspected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Not a zip archive, or not laid out like a hotfix package.
    #[error("{} is not a hotfix package: {reason}", path.display())]
    NotAPackage { path: PathBuf, reason: String },
    /// The manifest entry is larger than any manifest may be.
    #[error("{}: the manifest is larger than {max} bytes", path.display())]
    ManifestTooLarge { path: PathBuf, max: u64 },
    /// The manifest is not a valid format v1 manifest.
    #[error("{}: {source}", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: Box<ManifestError>,
    },
}

/// A claimed signer: parsed from a signature entry, not checked.
#[derive(Debug, Clone, Serialize)]
pub struct Signer {
    #[serde(serialize_with = "crate::build::serialize_key_id")]
    pub key_id: KeyId,
    /// The signature's entry name, `signatures/<KEYID>.minisig`.
    pub entry: String,
    /// The trusted comment as written (unchecked).
    pub trusted_comment: String,
}

/// What a package says about itself. Serialized as `hotfix inspect --output-format json`.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// Always `false`: nothing was verified.
    pub verified: bool,
    /// The package file.
    pub path: PathBuf,
    pub manifest: Manifest,
    /// SHA-256 of the exact `hotfix.xml` bytes (what a release index lists), lower-case hex.
    pub manifest_sha256: String,
    /// Signature entries that parse, in archive order.
    pub signers: Vec<Signer>,
    /// Signature entries that do not parse or do not match their name.
    pub problems: Vec<String>,
}

/// Reads the manifest and signature entries of `package` without verifying anything.
pub fn inspect(package: &Path) -> Result<Inspection, InspectError> {
    let raw = RawPackage::open(package)?;
    let manifest =
        Manifest::from_xml(&raw.manifest_xml).map_err(|source| InspectError::Manifest {
            path: package.to_path_buf(),
            source: Box::new(source),
        })?;
    let mut signers = Vec::new();
    let mut problems = Vec::new();
    for s in &raw.signatures {
        match s.parse() {
            Ok(sig) => signers.push(Signer {
                key_id: sig.key_id(),
                entry: s.name.clone(),
                trusted_comment: sig.trusted_comment().to_owned(),
            }),
            Err(reason) => problems.push(format!("{}: {reason}", s.name)),
        }
    }
    Ok(Inspection {
        verified: false,
        path: package.to_path_buf(),
        manifest,
        manifest_sha256: hotfix_manifest::Sha256(
            <sha2::Sha256 as sha2::Digest>::digest(&raw.manifest_xml).into(),
        )
        .to_hex(),
        signers,
        problems,
    })
}

/// A signature entry as found (bytes read, bounded).
#[derive(Debug)]
pub(crate) struct RawSignature {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl RawSignature {
    /// Parses the signature and checks that its entry name matches its key id.
    pub fn parse(&self) -> Result<Signature, String> {
        let text = std::str::from_utf8(&self.bytes).map_err(|_| "not UTF-8 text".to_owned())?;
        let sig = Signature::parse(text).map_err(|e| e.to_string())?;
        let expected = signature_entry_name(sig.key_id());
        if self.name != expected {
            return Err(format!(
                "holds a signature by key {}, which belongs in {expected}",
                sig.key_id()
            ));
        }
        Ok(sig)
    }
}

/// The head of a package: manifest bytes and signature entries, plus the open archive.
pub(crate) struct RawPackage {
    pub archive: zip::ZipArchive<File>,
    pub manifest_xml: Vec<u8>,
    pub signatures: Vec<RawSignature>,
    /// Index of the first payload entry.
    pub payload_from: usize,
}

impl RawPackage {
    pub fn open(path: &Path) -> Result<RawPackage, InspectError> {
        let not = |reason: String| InspectError::NotAPackage {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|source| InspectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| not(format!("not a readable zip archive ({e})")))?;
        if archive.is_empty() {
            return Err(not("the archive is empty".into()));
        }

        let manifest_xml = {
            let entry = archive
                .by_index(0)
                .map_err(|e| not(format!("cannot read the first entry ({e})")))?;
            if entry.name_raw() != MANIFEST_ENTRY.as_bytes() {
                return Err(not(format!(
                    "the first entry is {:?}, not {MANIFEST_ENTRY}",
                    String::from_utf8_lossy(entry.name_raw())
                )));
            }
            if entry.size() > MAX_MANIFEST_BYTES {
                return Err(InspectError::ManifestTooLarge {
                    path: path.to_path_buf(),
                    max: MAX_MANIFEST_BYTES,
                });
            }
            read_bounded(entry, MAX_MANIFEST_BYTES).map_err(|e| match e {
                Bounded::TooLarge => InspectError::ManifestTooLarge {
                    path: path.to_path_buf(),
                    max: MAX_MANIFEST_BYTES,
                },
                Bounded::Io(e) => not(format!("cannot read {MANIFEST_ENTRY} ({e})")),
            })?
        };

        let mut signatures = Vec::new();
        let mut index = 1;
        while index < archive.len() {
            let entry = archive
                .by_index(index)
                .map_err(|e| not(format!("cannot read entry {index} ({e})")))?;
            if !entry.name_raw().starts_with(SIGNATURES_DIR.as_bytes()) {
                break;
            }
            if signatures.len() == MAX_SIGNATURES {
                return Err(not(format!("more than {MAX_SIGNATURES} signature entries")));
            }
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            let bytes = read_bounded(entry, MAX_SIGNATURE_BYTES).map_err(|e| match e {
                Bounded::TooLarge => {
                    not(format!("{name} is larger than {MAX_SIGNATURE_BYTES} bytes"))
                }
                Bounded::Io(e) => not(format!("cannot read {name} ({e})")),
            })?;
            signatures.push(RawSignature { name, bytes });
            index += 1;
        }
        Ok(RawPackage {
            archive,
            manifest_xml,
            signatures,
            payload_from: index,
        })
    }
}

enum Bounded {
    TooLarge,
    Io(io::Error),
}

/// Reads at most `max` bytes; more is an error whatever the entry's header claims.
fn read_bounded(r: impl Read, max: u64) -> Result<Vec<u8>, Bounded> {
    let mut out = Vec::new();
    r.take(max + 1).read_to_end(&mut out).map_err(Bounded::Io)?;
    if out.len() as u64 > max {
        return Err(Bounded::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.zip");
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"PK\x05\x06".to_vec(),
            b"PK\x03\x04garbage".to_vec(),
            vec![0xFF; 4096],
        ];
        // An empty but valid zip, and one whose first entry is not the manifest.
        let mut eocd = vec![0x50, 0x4b, 0x05, 0x06];
        eocd.extend([0u8; 18]);
        inputs.push(eocd);
        for input in inputs {
            std::fs::write(&path, &input).expect("write");
            let err = inspect(&path).expect_err("garbage is refused");
            assert!(err.to_string().contains("x.zip"), "{err}");
        }
        let err = inspect(&dir.path().join("missing.zip")).expect_err("missing");
        assert!(matches!(err, InspectError::Read { .. }));
    }
}
