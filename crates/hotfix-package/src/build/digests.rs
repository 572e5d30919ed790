//! The hashing pass ahead of writing: every payload file's SHA-256 (in parallel), so the
//! SBOM can list them before the payload is written, and the SBOM added as an entry.
//! These digests are only ever compared with those of the bytes written, never put in
//! the manifest of a package on their own.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use hotfix_manifest::{FileEntry, Manifest, Sha256};
use rayon::prelude::*;
use sha2::Digest;

use super::{BuildError, PlannedFile};
use crate::sbom::{SBOM_ENTRY, cyclonedx_json};

/// Hashes the planned payload, makes the SBOM of the hashed manifest, and adds it as
/// [`SBOM_ENTRY`]: returns the manifest with every digest (the SBOM's included), the
/// payload files in archive order, and the SBOM's temporary source file (it holds the
/// bytes until the build has written them, and is removed when dropped).
pub(super) fn with_sbom(
    mut manifest: Manifest,
    files: Vec<PlannedFile>,
) -> Result<(Manifest, Vec<PlannedFile>, tempfile::NamedTempFile), BuildError> {
    let digests = files
        .par_iter()
        .map(|f| hash_file(&f.source, f.size))
        .collect::<Result<Vec<_>, _>>()?;
    set_digests(&mut manifest, &files, &digests);
    if manifest.payload().any(|f| f.path == SBOM_ENTRY) {
        let path = files
            .iter()
            .find(|f| f.entry == SBOM_ENTRY)
            .map(|f| f.source.clone())
            .unwrap_or_default();
        return Err(BuildError::ReservedName {
            path,
            name: SBOM_ENTRY,
        });
    }
    let bytes = cyclonedx_json(&manifest, env!("CARGO_PKG_VERSION"));
    let mut file = tempfile::Builder::new()
        .prefix(".hotfix-sbom-")
        .tempfile()
        .map_err(|source| BuildError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    file.write_all(&bytes)
        .and_then(|()| file.flush())
        .map_err(|source| BuildError::Write {
            path: file.path().to_path_buf(),
            source,
        })?;
    manifest.docs.push(FileEntry {
        path: SBOM_ENTRY.to_owned(),
        size: bytes.len() as u64,
        sha256: Sha256(sha2::Sha256::digest(&bytes).into()),
    });
    manifest.sort();
    let mut sources: HashMap<String, PlannedFile> =
        files.into_iter().map(|f| (f.entry.clone(), f)).collect();
    sources.insert(
        SBOM_ENTRY.to_owned(),
        PlannedFile {
            entry: SBOM_ENTRY.to_owned(),
            source: file.path().to_path_buf(),
            size: bytes.len() as u64,
        },
    );
    let files = manifest
        .payload()
        .filter_map(|f| sources.remove(&f.path))
        .collect();
    Ok((manifest, files, file))
}

/// Writes the digests and sizes found while reading into the manifest, in payload order.
pub(super) fn set_digests(
    manifest: &mut Manifest,
    files: &[PlannedFile],
    digests: &[([u8; 32], u64)],
) {
    let entries = manifest
        .software_packages
        .iter_mut()
        .flat_map(|p| p.files.iter_mut())
        .chain(manifest.msis.iter_mut().map(|m| &mut m.file))
        .chain(manifest.docs.iter_mut());
    for ((entry, file), (sha, size)) in entries.zip(files).zip(digests) {
        debug_assert_eq!(entry.path, file.entry);
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

pub(super) fn sha256_reader(r: &mut impl Read) -> io::Result<([u8; 32], u64)> {
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize().into(), n))
}
