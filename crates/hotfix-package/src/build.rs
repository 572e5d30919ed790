//! Building a package: source folder (a [`BuildSpec`]) + secret key → signed,
//! reproducible `<ID>.zip` laid out exactly as [`crate::format`] says.
//!
//! How a build runs:
//! 1. [`plan_manifest`]'s planning step walks the source (files only; symlinks and special
//!    files are errors), validates every entry name and checks for names that collide on
//!    case-insensitive file systems, reads the MSI properties, and sorts everything into
//!    manifest order. File sizes come from the file system at this point.
//! 2. The SBOM ([`crate::sbom`], `docs/sbom.cdx.json`) lists every file's SHA-256, so
//!    the payload is hashed once ahead (in parallel), the SBOM made from that manifest
//!    and added to the payload like any document. After writing, the hashes of what was
//!    written must equal the ones the SBOM lists ([`BuildError::FileChanged`] if a
//!    source file changed in between).
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
//! (the SBOM's first pass is only checked against them), never hold the whole payload in
//! memory, and never leave a partial output.

mod compress;
#[cfg(test)]
mod tests;

#[cfg(test)]
thread_local! {
    /// Tests set this to make the head reservation wrong, to exercise the fallback.
    static MISRESERVE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// ZIP64 forms only where needed; unit tests may force them everywhere
/// (`format::FORCE_ZIP64`, which makes the reader expect them too).
pub(crate) fn zip64_policy() -> Zip64 {
    if format::zip64_forced() {
        return Zip64::ALWAYS;
    }
    Zip64::WHEN_NEEDED
}

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hotfix_manifest::names::collision_key;
use hotfix_manifest::{
    Base, BuildSpec, FORMAT_VERSION, FileEntry, MANIFEST_ENTRY, Manifest, ManifestError,
    MsiComponent, NameError, Sha256, SoftwarePackage, validate_entry_name,
};
use hotfix_sign::{KeyId, SignError, Signer};
use rayon::prelude::*;
use serde::Serialize;
use sha2::Digest;
use time::OffsetDateTime;

use crate::format::{self, METHOD_DEFLATE, METHOD_STORED};
use crate::progress::{NoProgress, Phase, Progress};
use crate::sbom::{SBOM_ENTRY, cyclonedx_json};
use crate::zipwrite::{CentralDirectory, DosDateTime, EntryHeader, Zip64, local_header};

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

/// Parses a `SOURCE_DATE_EPOCH` value: an integer number of seconds since 1970-01-01 UTC
/// (as `date +%s` prints it), giving a year from 0 to 9999.
pub fn parse_source_date_epoch(value: &str) -> Result<i64, BuildError> {
    let bad = |reason| BuildError::InvalidSourceDateEpoch {
        value: value.to_owned(),
        reason,
    };
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "expected an integer number of seconds since 1970-01-01 UTC",
        ));
    }
    let epoch: i64 = value
        .parse()
        .map_err(|_| bad("the number is out of range"))?;
    created_at(epoch).ok_or_else(|| bad("the time is outside the years 0 to 9999"))?;
    Ok(epoch)
}

/// The creation time a build records: `epoch`, or now truncated to seconds.
fn created_at(epoch: i64) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::from_unix_timestamp(epoch).ok()?;
    (0..=9999).contains(&t.year()).then_some(t)
}

fn now_truncated() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap_or(now)
}

/// RFC 3339 UTC with whole seconds, e.g. `2023-11-14T22:13:20Z`.
fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Derives the manifest of the package `spec` describes, hashing every payload file
/// (in parallel), without writing anything. Returns the payload files in archive order;
/// the SBOM the build adds ([`SBOM_ENTRY`]) is among them with an empty source path.
///
/// The simulator uses this to model a package straight from a source folder.
pub fn plan_manifest(
    spec: &BuildSpec,
    created: OffsetDateTime,
) -> Result<(Manifest, Vec<PlannedFile>), BuildError> {
    let created = OffsetDateTime::from_unix_timestamp(created.unix_timestamp()).unwrap_or(created);
    let (manifest, files) = plan(spec, created)?;
    let (manifest, mut files, _sbom) = with_sbom(manifest, files)?;
    // The SBOM has no source file: the build makes it from the manifest.
    for f in files.iter_mut().filter(|f| f.entry == SBOM_ENTRY) {
        f.source = PathBuf::new();
    }
    manifest
        .validate()
        .map_err(|source| BuildError::Manifest { source })?;
    Ok((manifest, files))
}

/// Hashes the planned payload, makes the SBOM of the hashed manifest, and adds it as
/// [`SBOM_ENTRY`]: returns the manifest with every digest (the SBOM's included), the
/// payload files in archive order, and the SBOM's temporary source file (it holds the
/// bytes until the build has written them, and is removed when dropped).
fn with_sbom(
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
    let (manifest, files) = plan(spec, created)?;
    let (mut manifest, files, sbom) = with_sbom(manifest, files)?;
    let expected = manifest.clone();
    let modified = DosDateTime::from_utc(created);

    let dir = parent_dir(output);
    let mut tmp = temp_file_in(dir)?;
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
    let written = write_payload(&mut sink, output, &files, modified, dir, total, progress)?;
    let payload_end = sink.pos;
    sink.inner.flush().map_err(werr)?;
    drop(sink);

    let digests: Vec<([u8; 32], u64)> = written.iter().map(|w| (w.sha256, w.size)).collect();
    set_digests(&mut manifest, &files, &digests);
    drop(sbom);
    // The SBOM lists the hashes of the first pass: what was written must be the same.
    if let Some((_, f)) = expected
        .payload()
        .zip(manifest.payload())
        .zip(&files)
        .find(|((a, b), _)| a != b)
    {
        return Err(BuildError::FileChanged {
            path: f.source.clone(),
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
        let mut moved = temp_file_in(dir)?;
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

// ---------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------

/// The manifest (with zero digests) and the payload files in archive order.
fn plan(
    spec: &BuildSpec,
    created: OffsetDateTime,
) -> Result<(Manifest, Vec<PlannedFile>), BuildError> {
    let mut sources: HashMap<String, (PathBuf, u64)> = HashMap::new();
    let mut names = NameSet::default();
    let mut add = |entry: String, path: PathBuf, size: u64| -> Result<FileEntry, BuildError> {
        validate_entry_name(&entry).map_err(|source| BuildError::InvalidName {
            path: path.clone(),
            name: entry.clone(),
            source,
        })?;
        names.insert(&entry, &path)?;
        sources.insert(entry.clone(), (path, size));
        Ok(FileEntry {
            path: entry,
            size,
            sha256: Sha256([0; 32]),
        })
    };

    let mut software_packages = Vec::with_capacity(spec.software_packages.len());
    for p in &spec.software_packages {
        let found = walk_folder(&p.dir, "software package folder")?;
        if found.is_empty() {
            return Err(BuildError::EmptySoftwarePackage {
                name: p.name.clone(),
                dir: p.dir.clone(),
            });
        }
        let mut files = Vec::with_capacity(found.len());
        for (rel, path, size) in found {
            files.push(add(format!("server/{}/{rel}", p.name), path, size)?);
        }
        software_packages.push(SoftwarePackage {
            name: p.name.clone(),
            version: p.version.clone(),
            files,
        });
    }

    let mut msis = Vec::with_capacity(spec.msis.len());
    for m in &spec.msis {
        let size = regular_file_size(&m.file, "MSI file")?;
        let name =
            m.file
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| BuildError::NonUtf8Name {
                    path: m.file.clone(),
                })?;
        let props = hotfix_msi::read_properties(&m.file).map_err(|source| BuildError::Msi {
            path: m.file.clone(),
            source,
        })?;
        msis.push(MsiComponent {
            file: add(format!("client/{name}"), m.file.clone(), size)?,
            product_code: props.product_code,
            upgrade_code: props.upgrade_code,
            product_version: props.product_version,
            product_name: props.product_name,
            replaces_version: m.replaces_version.clone(),
        });
    }

    let mut docs = Vec::new();
    if let Some(dir) = &spec.docs {
        for (rel, path, size) in walk_folder(dir, "docs folder")? {
            docs.push(add(format!("docs/{rel}"), path, size)?);
        }
    }
    if software_packages.iter().all(|p| p.files.is_empty()) && msis.is_empty() {
        return Err(BuildError::NoPayload);
    }

    let mut manifest = Manifest {
        format: FORMAT_VERSION,
        id: spec.id.clone(),
        version: spec.version,
        title: spec.title.clone(),
        description: spec.description.clone(),
        base: Base {
            release: spec.release.clone(),
            support_package: spec.support_package.clone(),
        },
        created: rfc3339(created),
        supersedes: spec.supersedes.clone(),
        requires: spec.requires.clone(),
        software_packages,
        msis,
        docs,
    };
    manifest.sort();
    let files = manifest
        .payload()
        .map(|f| {
            let (source, size) = sources.remove(&f.path).unwrap_or_default();
            PlannedFile {
                entry: f.path.clone(),
                source,
                size,
            }
        })
        .collect();
    Ok((manifest, files))
}

/// Every regular file under `dir` as (`/`-joined relative name, path, size), sorted by
/// name. Empty folders are dropped (packages have no folder entries).
fn walk_folder(dir: &Path, what: &'static str) -> Result<Vec<(String, PathBuf, u64)>, BuildError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(BuildError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BuildError::Missing {
                what,
                path: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(BuildError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let mut out = Vec::new();
    for item in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let item = item.map_err(|e| BuildError::Read {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        if item.depth() == 0 {
            continue;
        }
        let ft = item.file_type();
        let path = item.path();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            return Err(BuildError::Symlink {
                path: path.to_path_buf(),
            });
        }
        if !ft.is_file() {
            return Err(BuildError::SpecialFile {
                path: path.to_path_buf(),
            });
        }
        let size = item
            .metadata()
            .map_err(|e| BuildError::Read {
                path: path.to_path_buf(),
                source: e.into(),
            })?
            .len();
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let mut name = String::new();
        for c in rel.components() {
            let Component::Normal(part) = c else {
                return Err(BuildError::NonUtf8Name {
                    path: path.to_path_buf(),
                });
            };
            let part = part.to_str().ok_or_else(|| BuildError::NonUtf8Name {
                path: path.to_path_buf(),
            })?;
            if !name.is_empty() {
                name.push('/');
            }
            name.push_str(part);
        }
        out.push((name, path.to_path_buf(), size));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Size of a file that must exist and be a regular file (not a symlink).
fn regular_file_size(path: &Path, what: &'static str) -> Result<u64, BuildError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(BuildError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(m) if m.is_file() => Ok(m.len()),
        Ok(_) => Err(BuildError::NotAFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BuildError::Missing {
            what,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(BuildError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Entry names and their folder prefixes by collision key, to refuse two names that one
/// file system would treat as the same file (or a file that is also a folder).
#[derive(Default)]
struct NameSet {
    seen: HashMap<String, (String, PathBuf, bool)>,
}

impl NameSet {
    fn insert(&mut self, entry: &str, path: &Path) -> Result<(), BuildError> {
        let mut check = |name: &str, is_file: bool| -> Result<(), BuildError> {
            let key = collision_key(name);
            match self.seen.get(&key) {
                Some((other, _, other_is_file)) if other == name && !is_file && !*other_is_file => {
                    Ok(())
                }
                Some((other, other_path, _)) => Err(BuildError::NameCollision {
                    first: other.clone(),
                    first_path: other_path.clone(),
                    second: name.to_owned(),
                    second_path: path.to_path_buf(),
                }),
                None => {
                    self.seen
                        .insert(key, (name.to_owned(), path.to_path_buf(), is_file));
                    Ok(())
                }
            }
        };
        for (i, _) in entry.match_indices('/') {
            check(&entry[..i], false)?;
        }
        check(entry, true)
    }
}

/// Writes the digests and sizes found while reading into the manifest, in payload order.
fn set_digests(manifest: &mut Manifest, files: &[PlannedFile], digests: &[([u8; 32], u64)]) {
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

fn sha256_reader(r: &mut impl Read) -> io::Result<([u8; 32], u64)> {
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

// ---------------------------------------------------------------------------------------
// Head: manifest and signature entries
// ---------------------------------------------------------------------------------------

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

/// The untrusted comment of every signature this tool makes. Deterministic (no time):
/// builds must be reproducible.
pub(crate) fn untrusted_comment(id: &str, version: u64) -> String {
    format::untrusted_comment_for(id, version)
}

/// Signs the manifest's XML with the package's trusted comment: (key id, `.minisig` text).
fn sign_manifest(
    manifest: &Manifest,
    key: &(impl Signer + ?Sized),
) -> Result<(KeyId, String), BuildError> {
    sign_xml(&manifest.to_xml(), &manifest.id, manifest.version, key)
        .map_err(|source| BuildError::Sign { source })
}

pub(crate) fn sign_xml(
    xml: &[u8],
    id: &str,
    version: u64,
    key: &(impl Signer + ?Sized),
) -> Result<(KeyId, String), SignError> {
    let digest: [u8; 32] = sha2::Sha256::digest(xml).into();
    let trusted = format::trusted_comment_for(id, version, &digest);
    let sig = hotfix_sign::sign(key, xml, &trusted, &untrusted_comment(id, version))?;
    Ok((sig.key_id(), sig.to_file_text()))
}

// ---------------------------------------------------------------------------------------
// Payload
// ---------------------------------------------------------------------------------------

/// A payload entry as written.
#[derive(Debug)]
struct Written {
    index: usize,
    method: u16,
    crc32: u32,
    sha256: [u8; 32],
    size: u64,
    compressed_size: u64,
    offset: u64,
}

impl Written {
    fn header<'a>(&self, files: &'a [PlannedFile], modified: DosDateTime) -> EntryHeader<'a> {
        EntryHeader {
            name: &files[self.index].entry,
            method: self.method,
            crc32: self.crc32,
            compressed_size: self.compressed_size,
            size: self.size,
            modified,
        }
    }
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

/// Most files whose results may wait to be written at once, per worker thread. With
/// in-memory results capped at [`compress::IN_MEMORY_MAX`] this bounds memory use.
const WINDOW_PER_THREAD: usize = 4;

/// At most this many files in flight whatever the core count (about 2 MiB each at most:
/// read data plus deflated data held in memory).
const MAX_WINDOW: usize = 64;

/// Compresses and hashes `files` in parallel and writes them in order to `out`.
fn write_payload<W: Write>(
    out: &mut CountingWriter<W>,
    output: &Path,
    files: &[PlannedFile],
    modified: DosDateTime,
    spool_dir: &Path,
    total: u64,
    progress: &dyn Progress,
) -> Result<Vec<Written>, BuildError> {
    let window =
        (WINDOW_PER_THREAD * rayon::current_num_threads()).clamp(WINDOW_PER_THREAD, MAX_WINDOW);
    let done = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let in_pool = rayon::current_thread_index().is_some();
    let mut written = Vec::with_capacity(files.len());
    // Payload bytes reported so far.
    let mut reported = 0;

    let result = rayon::in_place_scope(|scope| -> Result<(), BuildError> {
        let (tx, rx) = mpsc::channel::<(usize, Result<Option<compress::Prepared>, BuildError>)>();
        let mut ready: std::collections::BTreeMap<usize, compress::Prepared> = Default::default();
        let (mut next_spawn, mut next_write) = (0usize, 0usize);
        let mut last_report = Instant::now();
        progress.phase(Phase::Payload { total });
        while next_write < files.len() {
            while next_spawn < files.len() && next_spawn - next_write < window {
                let (tx, f, done, cancel) = (tx.clone(), &files[next_spawn], &done, &cancel);
                let i = next_spawn;
                scope.spawn(move |_| {
                    let r = compress::prepare(&f.source, f.size, spool_dir, done, cancel);
                    let _ = tx.send((i, r));
                });
                next_spawn += 1;
            }
            let received = if in_pool {
                // On a pool thread, help with the queued work instead of blocking it.
                match rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(_) => {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        None
                    }
                }
            } else {
                rx.recv_timeout(Duration::from_millis(100)).ok()
            };
            if let Some((i, r)) = received {
                match r {
                    Ok(Some(p)) => {
                        ready.insert(i, p);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        cancel.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            while let Some(p) = ready.remove(&next_write) {
                let file = &files[next_write];
                progress.file(&file.entry, file.size);
                let w = write_entry(out, output, file, next_write, p, modified)
                    .inspect_err(|_| cancel.store(true, Ordering::Relaxed))?;
                progress.file_done(&file.entry, w.size);
                written.push(w);
                next_write += 1;
            }
            if last_report.elapsed() >= Duration::from_millis(50) {
                // `done` counts bytes read by the workers, which run ahead of the writes.
                let now = done.load(Ordering::Relaxed).min(total);
                progress.bytes(now.saturating_sub(reported));
                reported = reported.max(now);
                last_report = Instant::now();
            }
        }
        Ok(())
    });
    result?;
    progress.bytes(total.saturating_sub(reported));
    Ok(written)
}

fn write_entry<W: Write>(
    out: &mut CountingWriter<W>,
    output: &Path,
    file: &PlannedFile,
    index: usize,
    p: compress::Prepared,
    modified: DosDateTime,
) -> Result<Written, BuildError> {
    let werr = |source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    };
    let w = Written {
        index,
        method: p.method,
        crc32: p.crc32,
        sha256: p.sha256,
        size: p.size,
        compressed_size: p.compressed_size,
        offset: out.pos,
    };
    let header = EntryHeader {
        name: &file.entry,
        method: w.method,
        crc32: w.crc32,
        compressed_size: w.compressed_size,
        size: w.size,
        modified,
    };
    out.write_all(&local_header(&header, w.offset, zip64_policy()))
        .map_err(werr)?;
    p.write_data(out, output, &file.source)?;
    Ok(w)
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn refuse_existing(output: &Path) -> Result<(), BuildError> {
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

/// A temporary file in `dir` (so the final rename stays on one file system), readable
/// like any file the user creates (the umask applies); locked and registered so that an
/// interrupted run removes it and a killed one's is removed by the next run.
pub(crate) fn temp_file_in(dir: &Path) -> Result<crate::tempfiles::OwnedTemp, BuildError> {
    crate::tempfiles::create_in(dir, "", Some(0o644)).map_err(|source| BuildError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Renames the finished temporary file to `output`, failing if `output` appeared meanwhile.
fn persist_new(tmp: crate::tempfiles::OwnedTemp, output: &Path) -> Result<(), BuildError> {
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
