//! Co-signing: adding one more signature to an existing package.
//!
//! The new signature covers the same manifest bytes with the same trusted comment format
//! as the build's. The archive is rewritten into a temporary file beside the package and
//! renamed over it only when complete: the manifest entry, every signature (old and new)
//! in key-id order, then every payload entry with its compressed bytes copied verbatim.
//!
//! The package is read with the strict reader `hotfix verify` uses: an archive whose
//! structure breaks a format rule is refused with that rule's id, never "healed" into a
//! clean-looking one (trailing bytes dropped, a gap closed).
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

use crate::archive::{CountingWriter, Head, parent_dir, sign_xml, temp_file_in, zip64_policy};
use crate::format::MAX_SIGNATURES;
use crate::inspect::{InspectError, RawPackage};
use crate::progress::{NoProgress, Phase, Progress};
use crate::reader::ReadError;
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
    add_signature_with_progress(package, key, &NoProgress)
}

/// [`add_signature`], reporting to `progress`: signing, then the copy of every entry
/// (counted in bytes of the package file, each payload file done as it is copied), then
/// the sync.
pub fn add_signature_with_progress(
    package: &Path,
    key: &(impl Signer + ?Sized),
    progress: &dyn Progress,
) -> Result<KeyId, CosignError> {
    let mut raw = RawPackage::open(package)?;
    if let Some(e) = std::mem::take(&mut raw.refused).into_iter().next() {
        return Err(CosignError::Read(InspectError::from_read(package, e)));
    }
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
    progress.phase(Phase::Signing);
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
    let dir = parent_dir(package);
    let mut tmp = temp_file_in(dir).map_err(|source| CosignError::Write {
        path: dir.to_path_buf(),
        source,
    })?;

    crate::testhook::pause("sign-writing");

    let head = Head::from_xml(&raw.manifest_xml, &signatures, modified);
    let mut cd = CentralDirectory::new(zip64_policy());
    for e in &head.entries {
        cd.push(&e.header(modified), e.offset);
    }
    // The copy is about as long as the package; close enough for a bar.
    let total = std::fs::metadata(package).map_or(0, |m| m.len());
    progress.phase(Phase::Payload { total });
    let mut out = CountingWriter::new(io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut()), 0);
    out.write_all(&head.bytes).map_err(werr)?;
    progress.bytes(head.bytes.len() as u64);
    let read_err = |e: ReadError| CosignError::Read(InspectError::from_read(package, e));
    while let Some(next) = raw.reader.next_entry() {
        let entry = next.map_err(read_err)?;
        let unsupported = |entry: &str, reason: &str| CosignError::UnsupportedEntry {
            path: package.to_path_buf(),
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        };
        let rec = entry.record();
        let name = rec.name.clone();
        if validate_entry_name(&name).is_err() {
            return Err(unsupported(&name, "not a valid entry name"));
        }
        // The strict reader has refused every other method, flag and encoding already.
        let header = EntryHeader {
            name: &name,
            method: rec.method,
            crc32: rec.crc32,
            compressed_size: rec.compressed_size,
            size: rec.uncompressed_size,
            modified,
        };
        let offset = out.pos;
        progress.file(&name, header.size);
        let local = local_header(&header, offset, zip64_policy());
        out.write_all(&local).map_err(werr)?;
        progress.bytes(local.len() as u64);
        entry
            .copy_stored_bytes(&mut Reporting {
                inner: &mut out,
                progress,
            })
            .map_err(read_err)?;
        cd.push(&header, offset);
        progress.file_done(&name, header.size);
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
    progress.phase(Phase::Syncing);
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(package).map_err(werr)?;
    Ok(key_id)
}

/// Tells `progress` about every byte written through it (the copy of an entry's data).
struct Reporting<'a, W> {
    inner: W,
    progress: &'a dyn Progress,
}

impl<W: Write> Write for Reporting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.bytes(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
