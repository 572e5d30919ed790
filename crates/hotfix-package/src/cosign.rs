//! Co-signing: adding one more signature to an existing package.
//!
//! The new signature covers the same manifest bytes with the same trusted comment format
//! as the build's. The archive is rewritten into a temporary file beside the package and
//! renamed over it only when complete: the manifest entry, every signature (old and new)
//! in key-id order, then every payload entry with its compressed bytes copied verbatim.
//!
//! Co-signing must never change the payload or the manifest, and never leave a package
//! half written. It does not verify the existing signatures: approvers run
//! `hotfix verify` (and read `hotfix inspect`) before they sign.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use hotfix_manifest::{Manifest, validate_entry_name};
use hotfix_sign::{KeyId, SignError, Signer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::build::{CountingWriter, Head, sign_xml, temp_file_in, zip64_policy};
use crate::format::{MAX_SIGNATURES, METHOD_DEFLATE, METHOD_STORED};
use crate::inspect::{InspectError, RawPackage};
use crate::zipwrite::{CentralDirectory, DosDateTime, EntryHeader, local_header};

/// Why a signature could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CosignError {
    /// The package could not be read or is not a hotfix package.
    #[error(transparent)]
    Read(#[from] InspectError),
    /// The package already carries a signature by this key.
    #[error("{} is already signed by key {key_id}", path.display())]
    AlreadySigned { path: PathBuf, key_id: KeyId },
    /// An existing signature entry is damaged.
    #[error("{}: signature entry {entry}: {reason}", path.display())]
    BadSignatureEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    /// The package already has the most signatures a package may have.
    #[error("{} already has {max} signatures, the most a package may have", path.display())]
    TooManySignatures { path: PathBuf, max: usize },
    /// A payload entry this writer cannot copy into a v1 package.
    #[error("{}: entry {entry:?}: {reason}", path.display())]
    UnsupportedEntry {
        path: PathBuf,
        entry: String,
        reason: String,
    },
    /// Signing failed.
    #[error("cannot sign the manifest: {source}")]
    Sign {
        #[source]
        source: SignError,
    },
    /// The rewritten package could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Adds a signature by `key` to `package`, atomically. Returns the new signer's key id.
///
/// Refused when `key` has signed already; the file is then left untouched.
pub fn add_signature(package: &Path, key: &(impl Signer + ?Sized)) -> Result<KeyId, CosignError> {
    let mut raw = RawPackage::open(package)?;
    let manifest =
        Manifest::from_xml(&raw.manifest_xml).map_err(|source| InspectError::Manifest {
            path: package.to_path_buf(),
            source: Box::new(source),
        })?;
    let key_id = key.key_id();
    let mut signatures = Vec::with_capacity(raw.signatures.len() + 1);
    for s in &raw.signatures {
        let sig = s.parse().map_err(|reason| CosignError::BadSignatureEntry {
            path: package.to_path_buf(),
            entry: s.name.clone(),
            reason,
        })?;
        if sig.key_id() == key_id {
            return Err(CosignError::AlreadySigned {
                path: package.to_path_buf(),
                key_id,
            });
        }
        // The original text, not a re-serialization: what was signed stays byte for byte.
        signatures.push((sig.key_id(), String::from_utf8_lossy(&s.bytes).into_owned()));
    }
    if signatures.len() >= MAX_SIGNATURES {
        return Err(CosignError::TooManySignatures {
            path: package.to_path_buf(),
            max: MAX_SIGNATURES,
        });
    }
    signatures.push(
        sign_xml(&raw.manifest_xml, &manifest.id, manifest.version, key)
            .map_err(|source| CosignError::Sign { source })?,
    );

    let modified = OffsetDateTime::parse(&manifest.created, &Rfc3339)
        .map(DosDateTime::from_utc)
        .unwrap_or(DosDateTime::MIN);
    let werr = |source| CosignError::Write {
        path: package.to_path_buf(),
        source,
    };
    let dir = match package.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = temp_file_in(dir).map_err(|e| match e {
        crate::build::BuildError::Write { source, .. } => werr(source),
        other => werr(io::Error::other(other.to_string())),
    })?;

    let head = Head::from_xml(&raw.manifest_xml, &signatures, modified);
    let mut cd = CentralDirectory::new(zip64_policy());
    for e in &head.entries {
        cd.push(&e.header(modified), e.offset);
    }
    let mut out = CountingWriter::new(io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut()), 0);
    out.write_all(&head.bytes).map_err(werr)?;
    for index in raw.payload_from..raw.archive.len() {
        let unsupported = |entry: &str, reason: &str| CosignError::UnsupportedEntry {
            path: package.to_path_buf(),
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        };
        let mut entry = raw.archive.by_index_raw(index).map_err(|e| {
            CosignError::Read(InspectError::NotAPackage {
                path: package.to_path_buf(),
                reason: format!("cannot read entry {index} ({e})"),
            })
        })?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if std::str::from_utf8(entry.name_raw()).is_err() || validate_entry_name(&name).is_err() {
            return Err(unsupported(&name, "not a valid entry name"));
        }
        if entry.encrypted() {
            return Err(unsupported(&name, "encrypted"));
        }
        let method = match entry.compression() {
            zip::CompressionMethod::Stored => METHOD_STORED,
            zip::CompressionMethod::Deflated => METHOD_DEFLATE,
            other => {
                return Err(unsupported(
                    &name,
                    &format!("unsupported compression {other}"),
                ));
            }
        };
        let header = EntryHeader {
            name: &name,
            method,
            crc32: entry.crc32(),
            compressed_size: entry.compressed_size(),
            size: entry.size(),
            modified,
        };
        let offset = out.pos;
        out.write_all(&local_header(&header, offset, zip64_policy()))
            .map_err(werr)?;
        let copied = io::copy(&mut entry, &mut out).map_err(werr)?;
        if copied != header.compressed_size {
            return Err(unsupported(
                &name,
                "its data is shorter than its header says",
            ));
        }
        cd.push(&header, offset);
    }
    let cd_offset = out.pos;
    out.write_all(&cd.finish(cd_offset)).map_err(werr)?;
    out.flush().map_err(werr)?;
    drop(out);
    // Close the original before replacing it (Windows refuses to rename over open files).
    drop(raw);

    if let Ok(meta) = std::fs::metadata(package) {
        // Keep the package's permissions; best effort.
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(package).map_err(|e| werr(e.error))?;
    Ok(key_id)
}
