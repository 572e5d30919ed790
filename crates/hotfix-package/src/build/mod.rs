//! Building a package: source folder (a [`BuildSpec`]) + secret key → signed,
//! reproducible `<ID>.zip` laid out exactly as [`crate::format`] says.
//!
//! How a build runs:
//! 1. [`plan_manifest`]'s planning step walks the source (files only; symlinks and special
//!    files are errors), validates every entry name and checks for names that collide on
//!    case-insensitive file systems, reads the MSI properties, and sorts everything into
//!    manifest order. File sizes come from the file system at this point.
//! 2. The SBOM ([`crate::sbom`], `docs/sbom.cdx.json`) lists every file's SHA-256. Its
//!    entry (and length: digests are fixed-length hex) goes into the manifest now; the
//!    SBOM itself is made when its turn in archive order comes, from the digests of the
//!    entries written before it. The few files after it (`docs/` names that sort after
//!    it) are hashed ahead, and must hash the same when written
//!    ([`BuildError::FileChanged`] if a source file changed in between).
//! 3. The payload is compressed and hashed in parallel (rayon), one read pass per file,
//!    with a bounded window of files in flight; finished entries are written in manifest
//!    order right after space reserved for the manifest and the signature. Their length is
//!    known before any hash is: the manifest's length depends only on names and sizes.
//! 4. The manifest gets its hashes, is validated, signed, and written into the reserved
//!    space; the central directory closes the archive. Everything goes to a temporary file
//!    beside the output, which is renamed into place only when complete, never over an
//!    existing file.
//!
//! A build must never put a hash in the manifest other than that of the bytes it wrote
//! (digests read ahead are only checked against them), never hold the whole payload in
//! memory, and never leave a partial output.
//!
//! Files: `plan.rs` (walking the source into a manifest), `digests.rs` (the SBOM and the
//! digests it needs), `payload.rs` (compressing, hashing and writing entries in order,
//! with `compress.rs` per file), `output.rs` (the output file's creation and rename),
//! `epoch.rs` (the recorded time); the head, signing and temporary files are shared with
//! `cosign` in `archive.rs`.

mod compress;
mod digests;
mod epoch;
mod output;
mod payload;
mod plan;
#[cfg(test)]
mod tests;

#[cfg(test)]
thread_local! {
    /// Tests set this to make the head reservation wrong, to exercise the fallback.
    static MISRESERVE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use hotfix_manifest::{BuildSpec, Manifest, ManifestError, NameError, Sha256};
use hotfix_sign::{KeyId, SignError, Signer};
use serde::Serialize;

use crate::archive::{CountingWriter, Head, parent_dir, sign_xml, temp_file_in, zip64_policy};
use crate::format::{METHOD_DEFLATE, METHOD_STORED};
use crate::progress::{NoProgress, Phase, Progress};
use crate::zipwrite::{CentralDirectory, DosDateTime};

use digests::{place_sbom, set_digests, sha256_reader};
pub use epoch::parse_source_date_epoch;
use epoch::{created_at, now_truncated};
use output::{persist_new, refuse_existing};
use payload::write_payload;
use plan::plan;
pub use plan::plan_manifest;

/// Why a package could not be built. Every variant names the file, folder or entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A source file or folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The output (or a temporary file beside it) could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file or folder the build spec names does not exist.
    #[error("{what} {} does not exist", path.display())]
    Missing { what: &'static str, path: PathBuf },
    /// A path that must be a folder is something else.
    #[error("{} is not a folder", path.display())]
    NotADirectory { path: PathBuf },
    /// A path that must be a regular file is something else.
    #[error("{} is not a regular file", path.display())]
    NotAFile { path: PathBuf },
    /// Packages hold only regular files.
    #[error("{} is a symbolic link; a package holds only regular files", path.display())]
    Symlink { path: PathBuf },
    /// A device, pipe or socket in a payload folder.
    #[error("{} is a special file (device, pipe or socket); a package holds only regular files", path.display())]
    SpecialFile { path: PathBuf },
    /// A file name that is not valid UTF-8 cannot be an entry name.
    #[error("{}: the name is not valid UTF-8", path.display())]
    NonUtf8Name { path: PathBuf },
    /// The entry name a file would get is not allowed in a package.
    #[error("{}: entry name {name:?} is not allowed: {source}", path.display())]
    InvalidName {
        path: PathBuf,
        name: String,
        #[source]
        source: NameError,
    },
    /// Two files (or a file and a folder) whose names differ only in case or Unicode form
    /// would overwrite each other on Windows and macOS.
    #[error(
        "{} and {} would be the same file on a case-insensitive file system (entries {first:?} and {second:?})",
        first_path.display(),
        second_path.display()
    )]
    NameCollision {
        first: String,
        first_path: PathBuf,
        second: String,
        second_path: PathBuf,
    },
    /// A software package folder without any file.
    #[error("software package {name} has no files in {}", dir.display())]
    EmptySoftwarePackage { name: String, dir: PathBuf },
    /// Neither server files nor MSIs.
    #[error("the hotfix has no payload: no server files and no MSI")]
    NoPayload,
    /// A file given as an MSI is not a readable MSI package.
    #[error("{source}")]
    Msi {
        path: PathBuf,
        #[source]
        source: hotfix_msi::MsiError,
    },
    /// A file's size or content changed while the package was being built.
    #[error("{}: {name} is reserved: the build writes the package's SBOM there", path.display())]
    ReservedName { path: PathBuf, name: &'static str },
    #[error("{} changed while the package was being built", path.display())]
    FileChanged { path: PathBuf },
    /// The output exists; builds never overwrite.
    #[error("{} already exists; refusing to overwrite it", path.display())]
    OutputExists { path: PathBuf },
    /// `SOURCE_DATE_EPOCH` is not a usable Unix time.
    #[error("SOURCE_DATE_EPOCH={value:?} is invalid: {reason}")]
    InvalidSourceDateEpoch { value: String, reason: &'static str },
    /// The manifest built from the source breaks a format rule (a bad id, version text...).
    #[error("the manifest built from the source is not valid: {source}")]
    Manifest {
        #[source]
        source: ManifestError,
    },
    /// Signing failed.
    #[error("cannot sign the manifest: {source}")]
    Sign {
        #[source]
        source: SignError,
    },
}

/// One payload file of a planned package: where it comes from and its entry name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Entry name in the archive, e.g. `server/ChatServer/bin/chat.dll`.
    pub entry: String,
    /// The source file.
    pub source: PathBuf,
    /// Size in bytes when the source was walked.
    pub size: u64,
}

/// How [`build`] runs. `output` is the exact file to create (`…/<ID>.zip`).
#[non_exhaustive]
pub struct BuildOptions<'a> {
    /// The package file to create; it must not exist.
    pub output: PathBuf,
    /// `SOURCE_DATE_EPOCH`: the creation time to record; `None` means now.
    /// See [`parse_source_date_epoch`].
    pub source_date_epoch: Option<i64>,
    /// Whether to compute the SHA-256 of the finished package for the report (one more
    /// read of the output).
    pub hash_output: bool,
    /// Told about the phases (signing, payload, syncing, hashing), the payload bytes
    /// processed now and then, and each file as it is written into the package.
    pub progress: Option<&'a dyn Progress>,
}

impl std::fmt::Debug for BuildOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("output", &self.output)
            .field("source_date_epoch", &self.source_date_epoch)
            .field("hash_output", &self.hash_output)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a> BuildOptions<'a> {
    /// Options to build into `output`, timestamped now, without progress.
    pub fn new(output: impl Into<PathBuf>) -> Self {
        BuildOptions {
            output: output.into(),
            source_date_epoch: None,
            hash_output: false,
            progress: None,
        }
    }

    /// Records `epoch` (seconds since 1970, UTC) as the creation time.
    pub fn source_date_epoch(mut self, epoch: Option<i64>) -> Self {
        self.source_date_epoch = epoch;
        self
    }

    /// Computes the package's SHA-256 for [`BuildReport::sha256`].
    pub fn hash_output(mut self, yes: bool) -> Self {
        self.hash_output = yes;
        self
    }

    /// Reports the build's phases, payload bytes and files to `progress`.
    pub fn progress(mut self, progress: &'a dyn Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

/// What [`build`] made. Serialized as the `hotfix build --output-format json` report.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub id: String,
    pub version: u64,
    /// The package file written.
    pub path: PathBuf,
    /// Size of the package file in bytes.
    pub size: u64,
    /// SHA-256 of the package file, when [`BuildOptions::hash_output`] was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// Number of payload files.
    pub files: usize,
    /// Sum of the payload file sizes.
    pub payload_bytes: u64,
    /// Payload entries stored as they are (incompressible) and deflated.
    pub stored: usize,
    pub deflated: usize,
    /// The manifest's creation time (RFC 3339, UTC).
    pub created: String,
    /// Key id of the signature made.
    #[serde(serialize_with = "serialize_key_id")]
    pub signer: KeyId,
}

pub(crate) fn serialize_key_id<S: serde::Serializer>(id: &KeyId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

/// Builds and signs the package `spec` describes into `options.output`.
///
/// Same spec and payload bytes, same `source_date_epoch` and same key give a
/// byte-identical file. See the module documentation for how it works.
pub fn build(
    spec: &BuildSpec,
    key: &(impl Signer + ?Sized),
    options: &BuildOptions<'_>,
) -> Result<BuildReport, BuildError> {
    let output = options.output.as_path();
    refuse_existing(output)?;
    let created = match options.source_date_epoch {
        Some(epoch) => created_at(epoch).ok_or_else(|| BuildError::InvalidSourceDateEpoch {
            value: epoch.to_string(),
            reason: "the time is outside the years 0 to 9999",
        })?,
        None => now_truncated(),
    };
    let (mut manifest, files) = plan(spec, created)?;
    let (files, sbom) = place_sbom(&mut manifest, files)?;
    let modified = DosDateTime::from_utc(created);

    let dir = parent_dir(output);
    let temp_err = |source| BuildError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let mut tmp = temp_file_in(dir).map_err(temp_err)?;
    crate::testhook::pause("build-writing");
    let werr = |source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    };

    let progress = options.progress.unwrap_or(&NoProgress);
    // The manifest's length does not depend on the hashes (always 64 hex digits), and a
    // signature's length does not depend on what it signs: reserve the head now.
    progress.phase(Phase::Signing);
    let reserved = Head::new(&manifest, &[sign_manifest(&manifest, key)?], modified)
        .bytes
        .len() as u64;
    #[cfg(test)]
    let reserved = reserved + MISRESERVE.get();
    tmp.as_file_mut()
        .seek(SeekFrom::Start(reserved))
        .map_err(werr)?;

    let total = manifest.payload_bytes();
    let mut sink = CountingWriter::new(BufWriter::with_capacity(1 << 20, tmp.as_file()), reserved);
    let written = write_payload(
        &mut sink,
        output,
        &files,
        modified,
        dir,
        progress,
        Some(&sbom),
    )?;
    let payload_end = sink.pos;
    sink.inner.flush().map_err(werr)?;
    drop(sink);

    let digests: Vec<([u8; 32], u64)> = written.iter().map(|w| (w.sha256, w.size)).collect();
    set_digests(&mut manifest, &files, &digests);
    // The SBOM lists the files after it as they were read ahead: what was written must be
    // the same. (It lists the others as they were written.)
    if let Some(i) = sbom.changed_after(digests.iter().copied()) {
        return Err(BuildError::FileChanged {
            path: files[i].source.clone(),
        });
    }
    manifest
        .validate()
        .map_err(|source| BuildError::Manifest { source })?;
    progress.phase(Phase::Signing);
    let signature = sign_manifest(&manifest, key)?;
    let signer = signature.0;
    let head = Head::new(&manifest, &[signature], modified);

    let mut cd = CentralDirectory::new(zip64_policy());
    for e in &head.entries {
        cd.push(&e.header(modified), e.offset);
    }
    let shift = head.bytes.len() as u64 as i128 - reserved as i128;
    if shift == 0 {
        for w in &written {
            cd.push(&w.header(&files, modified), w.offset);
        }
        let file = tmp.as_file_mut();
        file.seek(SeekFrom::Start(payload_end)).map_err(werr)?;
        file.write_all(&cd.finish(payload_end)).map_err(werr)?;
        file.seek(SeekFrom::Start(0)).map_err(werr)?;
        file.write_all(&head.bytes).map_err(werr)?;
    } else {
        // Not expected (the reservation is exact by construction), but never worth a
        // broken package: move the payload behind the real head instead.
        let mut moved = temp_file_in(dir).map_err(temp_err)?;
        let start = head.bytes.len() as u64;
        for w in &written {
            cd.push(&w.header(&files, modified), w.offset - reserved + start);
        }
        let src = tmp.as_file_mut();
        src.seek(SeekFrom::Start(reserved)).map_err(werr)?;
        let dst = moved.as_file_mut();
        dst.write_all(&head.bytes).map_err(werr)?;
        let len = payload_end - reserved;
        let copied = io::copy(&mut src.take(len), dst).map_err(werr)?;
        if copied != len {
            return Err(werr(io::ErrorKind::UnexpectedEof.into()));
        }
        dst.write_all(&cd.finish(start + len)).map_err(werr)?;
        tmp = moved;
    }
    progress.phase(Phase::Syncing);
    tmp.as_file().sync_all().map_err(werr)?;
    let size = tmp.as_file().metadata().map_err(werr)?.len();
    let sha256 = if options.hash_output {
        progress.phase(Phase::Hashing);
        let f = tmp.as_file_mut();
        f.seek(SeekFrom::Start(0)).map_err(werr)?;
        Some(Sha256(sha256_reader(f).map_err(werr)?.0))
    } else {
        None
    };
    persist_new(tmp, output)?;

    Ok(BuildReport {
        id: manifest.id.clone(),
        version: manifest.version,
        path: output.to_path_buf(),
        size,
        sha256,
        files: files.len(),
        payload_bytes: total,
        stored: written.iter().filter(|w| w.method == METHOD_STORED).count(),
        deflated: written
            .iter()
            .filter(|w| w.method == METHOD_DEFLATE)
            .count(),
        created: manifest.created.clone(),
        signer,
    })
}

/// Signs the manifest's XML with the package's trusted comment: (key id, `.minisig` text).
fn sign_manifest(
    manifest: &Manifest,
    key: &(impl Signer + ?Sized),
) -> Result<(KeyId, String), BuildError> {
    sign_xml(&manifest.to_xml(), &manifest.id, manifest.version, key)
        .map_err(|source| BuildError::Sign { source })
}
