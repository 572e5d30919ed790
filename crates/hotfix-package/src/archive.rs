//! Archive writing shared by `build` and `cosign`: the head (manifest and signature
//! entries at the start of the archive), signing the manifest bytes with the package's
//! comments, the positioned writer entries are written through, and the temporary file a
//! package is written into before it is renamed into place.
//!
//! [`crate::zipwrite`] turns entry metadata into header bytes; this module decides what
//! the head holds and in which order, and owns the files being written. It returns plain
//! `io::Error`s and [`SignError`]s: each caller names the path and picks its own error
//! variant. It must never decide the payload's layout (build and cosign do) and never
//! write anywhere but the temporary file it was given.

use std::io::{self, Write};
use std::path::Path;

use hotfix_manifest::{MANIFEST_ENTRY, Manifest};
use hotfix_sign::{KeyId, SignError, Signer};
use sha2::Digest;

use crate::format::{self, METHOD_STORED};
use crate::tempfiles::OwnedTemp;
use crate::zipwrite::{DosDateTime, EntryHeader, Zip64, local_header};

/// ZIP64 forms only where needed; unit tests may force them everywhere
/// (`format::FORCE_ZIP64`, which makes the reader expect them too).
pub(crate) fn zip64_policy() -> Zip64 {
    if format::zip64_forced() {
        return Zip64::ALWAYS;
    }
    Zip64::WHEN_NEEDED
}

/// A stored entry of the head (manifest or signature) at a known offset.
#[derive(Debug, Clone)]
pub(crate) struct HeadEntry {
    pub name: String,
    pub crc32: u32,
    pub size: u64,
    pub offset: u64,
}

impl HeadEntry {
    pub fn header(&self, modified: DosDateTime) -> EntryHeader<'_> {
        EntryHeader {
            name: &self.name,
            method: METHOD_STORED,
            crc32: self.crc32,
            compressed_size: self.size,
            size: self.size,
            modified,
        }
    }
}

/// The bytes of the archive's start: `hotfix.xml`, then the signatures by key id.
#[derive(Debug)]
pub(crate) struct Head {
    pub bytes: Vec<u8>,
    pub entries: Vec<HeadEntry>,
}

impl Head {
    /// `signatures` as (key id, `.minisig` text), in any order.
    pub fn new(manifest: &Manifest, signatures: &[(KeyId, String)], modified: DosDateTime) -> Head {
        Head::from_xml(&manifest.to_xml(), signatures, modified)
    }

    pub fn from_xml(xml: &[u8], signatures: &[(KeyId, String)], modified: DosDateTime) -> Head {
        let mut sigs: Vec<&(KeyId, String)> = signatures.iter().collect();
        sigs.sort_by(|a, b| format::key_id_order(&a.0, &b.0));
        let mut head = Head {
            bytes: Vec::with_capacity(xml.len() + 1024),
            entries: Vec::new(),
        };
        head.push(MANIFEST_ENTRY.to_owned(), xml, modified);
        for (id, text) in sigs {
            head.push(format::signature_entry_name(*id), text.as_bytes(), modified);
        }
        head
    }

    fn push(&mut self, name: String, data: &[u8], modified: DosDateTime) {
        let entry = HeadEntry {
            name,
            crc32: crc32fast::hash(data),
            size: data.len() as u64,
            offset: self.bytes.len() as u64,
        };
        self.bytes.extend_from_slice(&local_header(
            &entry.header(modified),
            entry.offset,
            zip64_policy(),
        ));
        self.bytes.extend_from_slice(data);
        self.entries.push(entry);
    }
}

/// Signs manifest bytes with the package's trusted comment (bound to `id`, `version`
/// and the bytes' SHA-256) and its deterministic untrusted comment (no time: builds must
/// be reproducible). Returns (key id, `.minisig` text).
pub(crate) fn sign_xml(
    xml: &[u8],
    id: &str,
    version: u64,
    key: &(impl Signer + ?Sized),
) -> Result<(KeyId, String), SignError> {
    let digest: [u8; 32] = sha2::Sha256::digest(xml).into();
    let trusted = format::trusted_comment_for(id, version, &digest);
    let sig = hotfix_sign::sign(
        key,
        xml,
        &trusted,
        &format::untrusted_comment_for(id, version),
    )?;
    Ok((sig.key_id(), sig.to_file_text()))
}

/// A writer that knows its absolute position in the output file.
pub(crate) struct CountingWriter<W> {
    pub inner: W,
    pub pos: u64,
}

impl<W: Write> CountingWriter<W> {
    pub fn new(inner: W, pos: u64) -> Self {
        CountingWriter { inner, pos }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The folder a package file is in (`.` for a bare file name): its temporary file goes
/// there.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary file in `dir` (so the final rename stays on one file system), readable
/// like any file the user creates (the umask applies); locked and registered so that an
/// interrupted run removes it and a killed one's is removed by the next run.
pub(crate) fn temp_file_in(dir: &Path) -> io::Result<OwnedTemp> {
    crate::tempfiles::create_in(dir, "", Some(0o644))
}
