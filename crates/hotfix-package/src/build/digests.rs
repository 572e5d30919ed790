//! The SBOM and the digests it needs. The build reads each payload file once, as it
//! writes it, and makes the SBOM (which lists every file's SHA-256) when its turn in
//! archive order comes; only the files after it are hashed ahead ([`SbomSlot`]), and
//! their digests are compared with those of the bytes written, never put in a manifest
//! on their own. [`hash_all`] hashes everything ahead for `plan_manifest`, which writes
//! nothing.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use hotfix_manifest::{FileEntry, Manifest, Sha256};
use rayon::prelude::*;
use sha2::Digest;

use super::{BuildError, PlannedFile};
use crate::sbom::{SBOM_ENTRY, cyclonedx_json};

/// Hashes every planned file (in parallel), makes the SBOM from those digests and
/// adds it: the manifest with every digest (the SBOM's included) and the payload files
/// in archive order, the SBOM's with an empty source. Writes nothing.
pub(super) fn hash_all(
    mut manifest: Manifest,
    files: Vec<PlannedFile>,
) -> Result<(Manifest, Vec<PlannedFile>), BuildError> {
    let (files, slot) = place_sbom(&mut manifest, files)?;
    let mut digests = files[..slot.index]
        .par_iter()
        .map(|f| hash_file(&f.source, f.size))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = slot.bytes(digests.iter().copied());
    digests.push((sha2::Sha256::digest(&bytes).into(), bytes.len() as u64));
    digests.extend_from_slice(&slot.ahead);
    set_digests(&mut manifest, &files, &digests);
    Ok((manifest, files))
}

/// Where the build's SBOM goes and what it needs to be made while the payload is written:
/// the entries before it in archive order are hashed as they are written, so only the
/// ones after it (few: `docs/` names after [`SBOM_ENTRY`]) are hashed ahead. Every other
/// file is read once.
pub(super) struct SbomSlot {
    /// The SBOM's index among the payload files.
    pub index: usize,
    /// The manifest without the SBOM (zero digests), to make the SBOM from.
    manifest: Manifest,
    /// Digests of the files after the SBOM, read ahead.
    ahead: Vec<([u8; 32], u64)>,
}

/// Adds the SBOM's entry to the planned manifest (its size is known before any digest:
/// digests are fixed-length hex) and hashes the files that come after it. Returns the
/// payload files in archive order (the SBOM's with an empty source) and its slot.
pub(super) fn place_sbom(
    manifest: &mut Manifest,
    files: Vec<PlannedFile>,
) -> Result<(Vec<PlannedFile>, SbomSlot), BuildError> {
    if let Some(f) = files.iter().find(|f| f.entry == SBOM_ENTRY) {
        return Err(BuildError::ReservedName {
            path: f.source.clone(),
            name: SBOM_ENTRY,
        });
    }
    let without = manifest.clone();
    let len = cyclonedx_json(&without, env!("CARGO_PKG_VERSION")).len() as u64;
    manifest.docs.push(FileEntry {
        path: SBOM_ENTRY.to_owned(),
        size: len,
        sha256: Sha256([0; 32]),
    });
    manifest.sort();
    let index = manifest
        .payload()
        .position(|f| f.path == SBOM_ENTRY)
        .unwrap_or(files.len());
    let ahead = files[index..]
        .par_iter()
        .map(|f| hash_file(&f.source, f.size))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = files;
    files.insert(
        index,
        PlannedFile {
            entry: SBOM_ENTRY.to_owned(),
            source: Default::default(),
            size: len,
        },
    );
    let slot = SbomSlot {
        index,
        manifest: without,
        ahead,
    };
    Ok((files, slot))
}

impl SbomSlot {
    /// The SBOM, made from the digests of the entries written before it (in order) and
    /// those read ahead, in a temporary file (removed when dropped) so that it is
    /// compressed exactly as any payload file.
    pub fn make(
        &self,
        written: impl Iterator<Item = ([u8; 32], u64)>,
    ) -> Result<tempfile::NamedTempFile, BuildError> {
        sbom_file(&self.bytes(written))
    }

    /// The SBOM's bytes, from the digests of the entries before it and those read ahead.
    fn bytes(&self, before: impl Iterator<Item = ([u8; 32], u64)>) -> Vec<u8> {
        let digests: Vec<([u8; 32], u64)> = before
            .take(self.index)
            .chain(self.ahead.iter().copied())
            .collect();
        let mut manifest = self.manifest.clone();
        set_digests_in_order(&mut manifest, &digests);
        cyclonedx_json(&manifest, env!("CARGO_PKG_VERSION"))
    }

    /// The index of the first entry written after the SBOM whose digest differs from the
    /// one read ahead (the SBOM lists the earlier one): its file changed during the build.
    pub fn changed_after(&self, written: impl Iterator<Item = ([u8; 32], u64)>) -> Option<usize> {
        written
            .skip(self.index + 1)
            .zip(&self.ahead)
            .position(|(w, a)| w != *a)
            .map(|k| self.index + 1 + k)
    }
}

/// A temporary file holding the SBOM's bytes.
fn sbom_file(bytes: &[u8]) -> Result<tempfile::NamedTempFile, BuildError> {
    let mut file = tempfile::Builder::new()
        .prefix(".hotfix-sbom-")
        .tempfile()
        .map_err(|source| BuildError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|source| BuildError::Write {
            path: file.path().to_path_buf(),
            source,
        })?;
    Ok(file)
}

/// Writes the digests and sizes found while reading into the manifest, in payload order.
pub(super) fn set_digests(
    manifest: &mut Manifest,
    files: &[PlannedFile],
    digests: &[([u8; 32], u64)],
) {
    debug_assert!(
        manifest
            .payload()
            .zip(files)
            .all(|(e, f)| e.path == f.entry)
    );
    set_digests_in_order(manifest, digests);
}

/// Writes digests and sizes into the manifest's payload entries, in payload order.
fn set_digests_in_order(manifest: &mut Manifest, digests: &[([u8; 32], u64)]) {
    let entries = manifest
        .software_packages
        .iter_mut()
        .flat_map(|p| p.files.iter_mut())
        .chain(manifest.msis.iter_mut().map(|m| &mut m.file))
        .chain(manifest.docs.iter_mut());
    for (entry, (sha, size)) in entries.zip(digests) {
        entry.sha256 = Sha256(*sha);
        entry.size = *size;
    }
}

fn hash_file(path: &Path, expected: u64) -> Result<([u8; 32], u64), BuildError> {
    let rerr = |source| BuildError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(rerr)?;
    let (sha, n) = sha256_reader(&mut file.take(expected.saturating_add(1))).map_err(rerr)?;
    if n != expected {
        return Err(BuildError::FileChanged {
            path: path.to_path_buf(),
        });
    }
    Ok((sha, n))
}

thread_local! {
    /// One read buffer per thread for the whole build: allocating (and zeroing) 1 MiB per
    /// file cost more than hashing a small file.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 1 << 20]);
}

pub(super) fn sha256_reader(r: &mut impl Read) -> io::Result<([u8; 32], u64)> {
    READ_BUFFER.with_borrow_mut(|buf| {
        let mut h = sha2::Sha256::new();
        let mut n = 0u64;
        loop {
            let k = match r.read(buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(&buf[..k]);
            n += k as u64;
        }
        Ok((h.finalize().into(), n))
    })
}
