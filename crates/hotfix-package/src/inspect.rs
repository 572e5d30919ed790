//! Looking inside a package WITHOUT verifying it: the manifest and who claims to have
//! signed it. For people and scripts that want to see what a package says before (or
//! instead of) checking it; `hotfix verify` is what decides whether to trust it.
//!
//! Nothing here may be used to decide trust: signatures are parsed, not checked, and the
//! payload's data is not read at all. The archive is read with the same strict reader as
//! `hotfix verify`, so a package whose structure verify refuses is refused (or, when the
//! manifest could be read, shown with its problems) here with the same rule ids. Inputs are untrusted: every read is bounded (manifest by
//! [`MAX_MANIFEST_BYTES`], signatures by [`MAX_SIGNATURE_BYTES`] and [`MAX_SIGNATURES`]),
//! and no input may make this panic.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use hotfix_manifest::{
    MANIFEST_ENTRY, MAX_MANIFEST_BYTES, Manifest, ManifestError, SIGNATURES_DIR,
};
use hotfix_sign::{KeyId, Signature};
use serde::Serialize;

use crate::format::{MAX_SIGNATURE_BYTES, MAX_SIGNATURES, signature_entry_name};
use crate::reader::{PackageReader, ReadError};
use crate::rules::Rule;

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
    /// The archive breaks a rule of the package format (the strict reader's `rule` id,
    /// the same `hotfix verify` reports) so that nothing of it can be shown.
    #[error("{}: {message}", path.display())]
    Format {
        path: PathBuf,
        rule: Rule,
        message: String,
    },
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

impl InspectError {
    /// The strict reader's error reading `path`: a broken rule, or an I/O error.
    pub(crate) fn from_read(path: &Path, e: ReadError) -> InspectError {
        match e {
            ReadError::Io(source) => InspectError::Read {
                path: path.to_path_buf(),
                source,
            },
            e @ ReadError::Format { rule, .. } => InspectError::Format {
                path: path.to_path_buf(),
                rule,
                message: e.to_string(),
            },
        }
    }
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

/// One thing inspect found wrong while showing what it could: the entry concerned (if
/// any), the rule it breaks and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub entry: Option<String>,
    #[serde(serialize_with = "serialize_rule")]
    pub rule: Rule,
    pub message: String,
}

fn serialize_rule<S: serde::Serializer>(rule: &Rule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.id())
}

impl std::fmt::Display for Problem {
    /// `entry: message [rule-id]`, as the text output shows it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(entry) = &self.entry {
            write!(f, "{entry}: ")?;
        }
        write!(f, "{} [{}]", self.message, self.rule)
    }
}

impl From<&ReadError> for Problem {
    fn from(e: &ReadError) -> Problem {
        match e {
            ReadError::Format {
                rule,
                entry,
                message,
                ..
            } => Problem {
                entry: entry.clone(),
                rule: *rule,
                message: message.clone(),
            },
            // The strict reader refuses what it cannot read as a cut-short archive.
            ReadError::Io(e) => Problem {
                entry: None,
                rule: Rule::Truncated,
                message: format!("cannot read the package: {e}"),
            },
        }
    }
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
    /// Signature entries that do not parse or do not match their name, and every rule
    /// of the archive's structure the strict reader finds broken (with the rule ids
    /// `hotfix verify` uses).
    pub problems: Vec<Problem>,
    /// Whether the archive's structure breaks a format rule (then `problems` says which).
    #[serde(skip)]
    pub broken: bool,
}

/// Reads the manifest and signature entries of `package` without verifying anything.
pub fn inspect(package: &Path) -> Result<Inspection, InspectError> {
    let mut raw = RawPackage::open(package)?;
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
            Err(reason) => problems.push(Problem {
                entry: Some(s.name.clone()),
                rule: Rule::SignatureMalformed,
                message: reason,
            }),
        }
    }
    let mut broken: Vec<ReadError> = std::mem::take(&mut raw.refused);
    broken.extend(raw.structure_problems());
    problems.extend(broken.iter().map(Problem::from));
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
        broken: !broken.is_empty(),
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

/// The head of a package: manifest bytes and signature entries, plus the strict reader
/// positioned at the first payload entry.
pub(crate) struct RawPackage {
    pub reader: PackageReader<File>,
    pub manifest_xml: Vec<u8>,
    pub signatures: Vec<RawSignature>,
    /// Signature entries the strict reader refused (not fatal: the walk went on), as
    /// `entry: message [rule]`.
    pub refused: Vec<ReadError>,
}

impl RawPackage {
    /// Opens `path` with the strict reader and reads the manifest and signature entries.
    /// A problem that leaves nothing to show (the archive's outer shape, the manifest
    /// entry) is an error carrying the reader's rule.
    pub fn open(path: &Path) -> Result<RawPackage, InspectError> {
        let not = |reason: String| InspectError::NotAPackage {
            path: path.to_path_buf(),
            reason,
        };
        let format = |e: ReadError| InspectError::from_read(path, e);
        let file = File::open(path).map_err(|source| InspectError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = PackageReader::open(file).map_err(format)?;
        match reader.peek().map_err(format)? {
            None => return Err(not("the archive is empty".into())),
            Some(first) if first.name != MANIFEST_ENTRY => {
                return Err(not(format!(
                    "the first entry is {:?}, not {MANIFEST_ENTRY}",
                    first.name
                )));
            }
            Some(first) if first.uncompressed_size > MAX_MANIFEST_BYTES => {
                return Err(InspectError::ManifestTooLarge {
                    path: path.to_path_buf(),
                    max: MAX_MANIFEST_BYTES,
                });
            }
            Some(_) => {}
        }
        let manifest_xml = match reader.next_entry() {
            Some(Ok(mut entry)) => entry.read_to_vec(MAX_MANIFEST_BYTES).map_err(format)?,
            Some(Err(e)) => return Err(format(e)),
            None => return Err(not("the archive is empty".into())),
        };

        let mut signatures = Vec::new();
        let mut refused = Vec::new();
        loop {
            match reader.peek().map_err(format)? {
                Some(rec) if rec.name.starts_with(SIGNATURES_DIR) => {}
                _ => break,
            }
            if signatures.len() + refused.len() == MAX_SIGNATURES {
                return Err(not(format!("more than {MAX_SIGNATURES} signature entries")));
            }
            match reader.next_entry() {
                Some(Ok(mut entry)) => {
                    let name = entry.name().to_owned();
                    match entry.read_to_vec(MAX_SIGNATURE_BYTES) {
                        Ok(bytes) => signatures.push(RawSignature { name, bytes }),
                        Err(e) if e.is_fatal() => return Err(format(e)),
                        Err(e) => refused.push(e),
                    }
                }
                Some(Err(e)) if e.is_fatal() => return Err(format(e)),
                Some(Err(e)) => refused.push(e),
                None => break,
            }
        }
        Ok(RawPackage {
            reader,
            manifest_xml,
            signatures,
            refused,
        })
    }

    /// Walks the remaining entries' headers without reading their data, and returns every
    /// structure problem the strict reader finds (the walk stops at a fatal one).
    pub fn structure_problems(&mut self) -> Vec<ReadError> {
        let mut out = Vec::new();
        while let Some(next) = self.reader.next_entry() {
            if let Err(e) = next {
                out.push(e);
            }
        }
        out
    }
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
