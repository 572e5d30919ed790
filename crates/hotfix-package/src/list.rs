//! What is extracted in `<install>/Install/hotfixes`, and whether it is still intact.
//!
//! Each `<ID>/` folder holds the payload plus the `hotfix.xml` and signatures extract
//! wrote beside it. Without `check`, a folder is compared with its manifest by file
//! existence and size; with `check`, every file is rehashed (streamed, fixed buffer) and
//! files the manifest does not list are reported too. With a trust set, the signatures
//! are checked again over the folder's `hotfix.xml`, exactly as verify checks them, so
//! `check` plus a trust set proves the folder holds what trusted keys signed (a manifest
//! edited to match edited files no longer passes).
//!
//! With `check`, every file under `signatures/` must also be a signature of this very
//! manifest: parseable, named after its key id, with a trusted comment that binds this
//! manifest's id, version and SHA-256 (and, with a trust set, a valid signature when
//! its key is trusted). Anything else there is `modified`: extract writes nothing else.
//!
//! Listing holds the installation's lock shared ([`crate::lock`]), so it never reads a
//! folder an extract is replacing; an `.old-<ID>-*` without its `<ID>` is a replacement
//! that was interrupted, reported as such (the next extract puts it back). Listing never
//! changes anything, never follows a symlink inside `Install/hotfixes` (an `<ID>` that is
//! a link or a file is `not-a-folder`, exactly as extract sees it; a symlink where a file
//! should be is `modified`), never opens anything but regular files (a FIFO cannot block
//! it), and reports the dot-entries extract uses for its own work only as leftovers.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use hotfix_manifest::{FileEntry, MANIFEST_ENTRY, Manifest, SIGNATURES_DIR, names};
use hotfix_sign::{Signature, TrustSet};
use serde::Serialize;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::extract::{OLD_PREFIX, TEMP_PREFIX, hotfixes_dir, read_manifest_file};
use crate::format::{MAX_SIGNATURE_BYTES, MAX_SIGNATURES, trusted_comment_for};
use crate::fsutil;
use crate::lock::{InstallLock, LockError};
use crate::progress::{NoProgress, Phase, Progress};
use crate::verify::{SignatureCheck, check_signature};

/// A folder's state against its manifest, worst first when several apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every file present with the manifest's size (and hash, when checked).
    Ok,
    /// A file differs in size or hash, is not a regular file, or is not in the manifest.
    Modified,
    /// A file the manifest lists is missing.
    MissingFiles,
    /// `hotfix.xml` is missing or cannot be parsed.
    UnreadableManifest,
    /// Fewer valid signatures by distinct trusted keys than required over `hotfix.xml`
    /// (only when signatures are checked).
    Untrusted,
    /// `<ID>` is a symbolic link, a file or another non-folder: never followed or read.
    NotAFolder,
    /// A replacement of `<ID>` was interrupted between moving the old folder aside and
    /// renaming the new one in: only `.old-<ID>-*` is there. The next extract puts it back.
    ReplaceInterrupted,
}

impl Status {
    /// `ok`, `modified`, `missing-files`, `unreadable-manifest`, `untrusted`,
    /// `not-a-folder`, `replace-interrupted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAFolder => "not-a-folder",
            Status::ReplaceInterrupted => "replace-interrupted",
            Status::Ok => "ok",
            Status::Modified => "modified",
            Status::MissingFiles => "missing-files",
            Status::UnreadableManifest => "unreadable-manifest",
            Status::Untrusted => "untrusted",
        }
    }
}

/// A server software package a hotfix corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
}

/// A client MSI a hotfix carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsiRef {
    pub file: String,
    pub product_name: String,
    pub product_version: String,
}

/// One folder in `Install/hotfixes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installed {
    /// The folder name (the hotfix id when intact).
    pub folder: String,
    pub path: PathBuf,
    pub id: Option<String>,
    pub version: Option<u64>,
    pub title: Option<String>,
    /// The base installation, e.g. release `7.0`, support package `SP3`.
    pub base: Option<hotfix_manifest::Base>,
    pub supersedes: Vec<String>,
    pub software_packages: Vec<PackageRef>,
    pub msis: Vec<MsiRef>,
    pub status: Status,
    /// Whether file contents were rehashed.
    pub checked: bool,
    /// Distinct trusted keys with a valid signature over `hotfix.xml` for this id and
    /// version; `None` when signatures were not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_signers: Option<u32>,
    /// One line per problem, starting with the file concerned.
    pub problems: Vec<String>,
    /// Entries extract left for this id and could not remove yet (`.old-<ID>-*`,
    /// `.tmp-<ID>-*`): not part of the hotfix, removed by the next extract when it can.
    pub leftovers: Vec<String>,
    /// SHA-256 of the installed `hotfix.xml` (what a release index lists), lower-case hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// What a release index says of this hotfix (`current`, `superseded`, `withdrawn`,
    /// `mismatch`, `not-listed`), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}

/// Why listing failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The lock file is not a regular file (a symlink, FIFO, folder...).
    #[error("{}: {source}", path.display())]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The cancel flag was set while waiting for an extract to finish.
    #[error("interrupted while waiting for an extract to finish")]
    Cancelled,
}

impl From<LockError> for ListError {
    fn from(e: LockError) -> ListError {
        match e {
            LockError::Cancelled => ListError::Cancelled,
            LockError::Io { path, source } if source.kind() == std::io::ErrorKind::InvalidInput => {
                ListError::LockFile { path, source }
            }
            LockError::Io { path, source } => ListError::Io { path, source },
        }
    }
}

/// How closely [`list`] looks at each folder.
#[derive(Clone, Copy, Default)]
pub struct ListOptions<'a> {
    /// Rehash every file, and report files the manifest does not list and signature
    /// files that are not signatures of the manifest.
    pub check: bool,
    /// Check the signatures over each `hotfix.xml` again: at least `threshold` distinct
    /// keys of the trust set must have signed it for its own id and version.
    pub trust: Option<(&'a TrustSet, u32)>,
    /// Checked while waiting for an extract to finish.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
    /// Called once if an extract holds the lock, before waiting for it.
    pub on_wait: Option<&'a dyn Fn(&Path)>,
    /// With `check`: told about the rehashing, file by file (named `<folder>/<path>`).
    pub progress: Option<&'a dyn Progress>,
    /// With `trust`: a further judgement of a folder whose signatures met the threshold
    /// (a trust policy's roles, validity windows, revocations and package threshold), as
    /// `extract` judges the package; an `Err` makes the folder `untrusted`.
    pub authorize: Option<&'a crate::extract::Authorize<'a>>,
}

impl std::fmt::Debug for ListOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListOptions")
            .field("check", &self.check)
            .field("trust", &self.trust.map(|(_, n)| n))
            .finish_non_exhaustive()
    }
}

/// Lists the hotfix folders of an installation, sorted by folder name. An installation
/// without `Install/hotfixes` has none; a missing `install_dir` is an error.
pub fn list(install_dir: &Path, options: ListOptions<'_>) -> Result<Vec<Installed>, ListError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ListError::Io { path, source }
    };
    fs::metadata(install_dir).map_err(io(install_dir))?;
    let _lock = InstallLock::shared(install_dir, options.cancel, &|path: &Path| {
        if let Some(f) = options.on_wait {
            f(path);
        }
    })?;
    let hotfixes = hotfixes_dir(install_dir);
    let entries = match fs::read_dir(&hotfixes) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&hotfixes)(e)),
    };
    let entries = entries
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(&hotfixes))?;
    if options.check
        && let Some(progress) = options.progress
    {
        progress.phase(Phase::Payload {
            total: bytes_to_rehash(&entries),
        });
    }
    let mut out = Vec::new();
    // Leftovers by the id they belong to.
    let mut leftovers: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for entry in entries {
        let folder = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if folder.starts_with('.') {
            if let Some(id) = leftover_id(&folder) {
                leftovers.entry(id.to_owned()).or_default().push(folder);
            }
            continue;
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => out.push(inspect_folder(folder, path, options)),
            Ok(m) => {
                let what = fsutil::describe(m.file_type());
                let mut item = Installed::empty(folder, path, options.check);
                item.status = Status::NotAFolder;
                item.problems.push(format!(
                    "{}: {what}, not a hotfix folder; not followed",
                    item.folder
                ));
                out.push(item);
            }
            Err(e) => return Err(io(&path)(e)),
        }
    }
    for (id, mut names) in leftovers {
        names.sort();
        if let Some(item) = out.iter_mut().find(|i| i.folder == id) {
            item.leftovers = names;
            continue;
        }
        // No `<ID>` but its old folder aside: a replacement stopped between its renames.
        if let Some(old) = names.iter().find(|n| n.starts_with(OLD_PREFIX)) {
            let mut item = Installed::empty(id.clone(), hotfixes.join(&id), options.check);
            item.status = Status::ReplaceInterrupted;
            item.problems.push(format!(
                "{id}: missing; {old} holds the folder a replacement moved aside before it was interrupted"
            ));
            item.leftovers = names;
            out.push(item);
        }
    }
    out.sort_by(|a, b| a.folder.cmp(&b.folder));
    Ok(out)
}

/// What a check will rehash: the payload bytes of every hotfix folder's readable
/// manifest (each manifest is read again when its folder is checked; it is small).
fn bytes_to_rehash(entries: &[fs::DirEntry]) -> u64 {
    entries
        .iter()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter(|e| fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_dir()))
        .filter_map(|e| read_manifest(&e.path().join(MANIFEST_ENTRY)).ok())
        .map(|(_, m)| m.payload_bytes())
        .sum()
}

/// The hotfix id an extract's work entry (`.tmp-<ID>-<random>`, `.old-<ID>-<suffix>`)
/// belongs to.
fn leftover_id(name: &str) -> Option<&str> {
    let rest = name
        .strip_prefix(OLD_PREFIX)
        .or_else(|| name.strip_prefix(TEMP_PREFIX))?;
    let (id, _) = rest.rsplit_once('-')?;
    names::validate_hotfix_id(id).ok().map(|()| id)
}

impl Installed {
    fn empty(folder: String, path: PathBuf, checked: bool) -> Installed {
        Installed {
            folder,
            path,
            id: None,
            version: None,
            title: None,
            base: None,
            supersedes: Vec::new(),
            software_packages: Vec::new(),
            msis: Vec::new(),
            status: Status::Ok,
            checked,
            trusted_signers: None,
            problems: Vec::new(),
            leftovers: Vec::new(),
            manifest_sha256: None,
            index: None,
        }
    }
}

fn inspect_folder(folder: String, path: PathBuf, options: ListOptions<'_>) -> Installed {
    let check = options.check;
    let mut item = Installed::empty(folder, path, check);
    let (manifest_bytes, manifest) = match read_manifest(&item.path.join(MANIFEST_ENTRY)) {
        Ok(m) => m,
        Err(msg) => {
            item.status = Status::UnreadableManifest;
            item.problems.push(format!("{MANIFEST_ENTRY}: {msg}"));
            return item;
        }
    };
    item.id = Some(manifest.id.clone());
    item.version = Some(manifest.version);
    item.manifest_sha256 =
        Some(hotfix_manifest::Sha256(sha2::Sha256::digest(&manifest_bytes).into()).to_hex());
    item.title = Some(manifest.title.clone());
    item.base = Some(manifest.base.clone());
    item.supersedes = manifest.supersedes.clone();
    item.software_packages = manifest
        .software_packages
        .iter()
        .map(|p| PackageRef {
            name: p.name.clone(),
            version: p.version.clone(),
        })
        .collect();
    item.msis = manifest
        .msis
        .iter()
        .map(|m| MsiRef {
            file: m.file.path.clone(),
            product_name: m.product_name.clone(),
            product_version: m.product_version.clone(),
        })
        .collect();
    let mut worst = Status::Ok;
    if manifest.id != item.folder {
        worst = worst.max(Status::Modified);
        item.problems.push(format!(
            "{MANIFEST_ENTRY}: the manifest is for {}, not {}",
            manifest.id, item.folder
        ));
    }
    let progress = options.progress.filter(|_| check);
    for file in manifest.payload() {
        let shown = progress.map(|p| {
            let shown = format!("{}/{}", item.folder, file.path);
            p.file(&shown, file.size);
            (p, shown)
        });
        let counted = progress.unwrap_or(&NoProgress);
        match check_file(&item.path, file, check, counted) {
            Some((status, msg)) => {
                worst = worst.max(status);
                item.problems.push(format!("{}: {msg}", file.path));
            }
            None => {
                if let Some((p, shown)) = shown {
                    p.file_done(&shown, file.size);
                }
            }
        }
    }
    if check {
        for extra in unexpected_files(&item.path, &manifest) {
            worst = worst.max(Status::Modified);
            item.problems.push(format!("{extra}: not in the manifest"));
        }
        let trust = options.trust.map(|(t, _)| t);
        for problem in foreign_signature_files(&item.path, &manifest_bytes, &manifest, trust) {
            worst = worst.max(Status::Modified);
            item.problems.push(problem);
        }
    }
    if let Some((trust, threshold)) = options.trust {
        let checked = check_signatures(&item.path, &manifest_bytes, &manifest, trust);
        let signers = checked.signers;
        item.problems.extend(checked.problems);
        if signers < threshold {
            worst = worst.max(Status::Untrusted);
            item.problems.push(format!(
                "{MANIFEST_ENTRY}: {signers} valid signature(s) from distinct trusted keys, \
                 {threshold} required"
            ));
        }
        // Judged below the threshold too: the judgement says why a signer did not
        // count (a revoked key, a key outside its validity window).
        if let Some(authorize) = options.authorize {
            let auth = crate::verify::Authenticated {
                manifest: &manifest,
                manifest_bytes: &manifest_bytes,
                signatures: &checked.well_formed,
            };
            if let Err((rule, message)) = authorize(&auth) {
                worst = worst.max(Status::Untrusted);
                item.problems
                    .push(format!("{MANIFEST_ENTRY}: {message} [{}]", rule.id()));
            }
        }
        item.trusted_signers = Some(signers);
    }
    item.status = worst;
    item
}

fn read_manifest(path: &Path) -> Result<(Vec<u8>, Manifest), String> {
    let bytes = read_manifest_file(path).map_err(|e| e.to_string())?;
    let manifest = Manifest::from_xml(&bytes).map_err(|e| e.to_string())?;
    Ok((bytes, manifest))
}

/// What [`check_signatures`] found.
#[derive(Default)]
struct SignatureFindings {
    /// Distinct trusted keys that signed this manifest for its own id and version.
    signers: u32,
    /// One line per signature that is wrong.
    problems: Vec<String>,
    /// Every well-formed signature file: (name, text), as a package's signature
    /// entries are handed to an authorize check.
    well_formed: Vec<(String, Vec<u8>)>,
}

/// Checks the folder's `signatures/*.minisig` over the manifest bytes (untrusted keys are
/// not checked and count for nothing, as in verify).
fn check_signatures(
    root: &Path,
    manifest_bytes: &[u8],
    manifest: &Manifest,
    trust: &TrustSet,
) -> SignatureFindings {
    let sha: [u8; 32] = sha2::Sha256::digest(manifest_bytes).into();
    let mut found = SignatureFindings::default();
    let problems = &mut found.problems;
    let dir = match signatures_dir(root) {
        Ok(Some(dir)) => dir,
        Ok(None) => return found,
        Err(msg) => {
            problems.push(msg);
            return found;
        }
    };
    let mut names: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".minisig"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut keys = std::collections::BTreeSet::new();
    for name in names.iter().take(MAX_SIGNATURES) {
        let shown = format!("{SIGNATURES_DIR}{name}");
        let path = dir.join(name);
        let text = match read_signature_file(&path) {
            Ok(text) => text,
            Err(e) => {
                problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        let sig = match Signature::parse(&text).map_err(|e| e.to_string()) {
            Ok(sig) => {
                found
                    .well_formed
                    .push((format!("{SIGNATURES_DIR}{name}"), text.into_bytes()));
                sig
            }
            Err(e) => {
                problems.push(format!("{shown}: {e}"));
                continue;
            }
        };
        match check_signature(trust, &sig, manifest_bytes, &sha) {
            SignatureCheck::Untrusted => {}
            SignatureCheck::Valid { id, version }
                if id == manifest.id && version == manifest.version =>
            {
                keys.insert(sig.key_id());
            }
            SignatureCheck::Valid { id, version } => problems.push(format!(
                "{shown}: signed for {id} version {version}, the manifest is {} version {}",
                manifest.id, manifest.version
            )),
            SignatureCheck::Invalid(rule, message) => {
                problems.push(format!("{shown}: {message} [{rule}]"));
            }
        }
    }
    found.signers = u32::try_from(keys.len()).unwrap_or(u32::MAX);
    found
}

/// The problem with one listed file, if any.
/// What differs between an installed folder and its (identical) manifest: every payload
/// file rehashed, files not in the manifest, and signature files that are not
/// signatures of it. Empty when the folder holds exactly what the manifest lists.
pub(crate) fn folder_differences(
    root: &Path,
    manifest: &Manifest,
    manifest_bytes: &[u8],
) -> Vec<String> {
    let mut out: Vec<String> = manifest
        .payload()
        .filter_map(|f| {
            check_file(root, f, true, &NoProgress).map(|(_, msg)| format!("{}: {msg}", f.path))
        })
        .collect();
    out.extend(
        unexpected_files(root, manifest)
            .into_iter()
            .map(|extra| format!("{extra}: not in the manifest")),
    );
    out.extend(foreign_signature_files(
        root,
        manifest_bytes,
        manifest,
        None,
    ));
    out
}

fn check_file(
    root: &Path,
    file: &FileEntry,
    rehash: bool,
    progress: &dyn Progress,
) -> Option<(Status, String)> {
    if let Err(e) = names::validate_entry_name(&file.path) {
        return Some((
            Status::Modified,
            format!("unsafe name in the manifest: {e}"),
        ));
    }
    let path = match no_links_below(root, &file.path) {
        Ok(path) => path,
        Err(msg) => return Some((Status::Modified, msg)),
    };
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some((Status::MissingFiles, "missing".into()));
        }
        Err(e) => return Some((Status::Modified, format!("cannot read: {e}"))),
    };
    if !meta.is_file() {
        return Some((Status::Modified, "not a regular file".into()));
    }
    if meta.len() != file.size {
        return Some((
            Status::Modified,
            format!("{} bytes, the manifest says {}", meta.len(), file.size),
        ));
    }
    if rehash {
        match sha256_file(&path, progress) {
            Ok(d) if bool::from(d.ct_eq(&file.sha256.0)) => {}
            Ok(_) => return Some((Status::Modified, "content differs (SHA-256)".into())),
            Err(e) => return Some((Status::Modified, format!("cannot read: {e}"))),
        }
    }
    None
}

/// A signature file's text: a regular file of at most [`MAX_SIGNATURE_BYTES`], UTF-8.
fn read_signature_file(path: &Path) -> Result<String, String> {
    let f = fsutil::open_regular(path).map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    if len > MAX_SIGNATURE_BYTES {
        return Err(format!("{len} bytes, too large for a signature"));
    }
    let mut text = String::new();
    f.take(MAX_SIGNATURE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(text)
}

/// One line per file under `signatures/` that is not a signature of this manifest:
/// extract writes only `<key-id>.minisig` files holding a signature, by that key, whose
/// trusted comment binds these manifest bytes. Without the signer's public key the
/// signature itself cannot be checked; with a trust set that has it, it is.
fn foreign_signature_files(
    root: &Path,
    manifest_bytes: &[u8],
    manifest: &Manifest,
    trust: Option<&TrustSet>,
) -> Vec<String> {
    let sha: [u8; 32] = sha2::Sha256::digest(manifest_bytes).into();
    let expected_comment = trusted_comment_for(&manifest.id, manifest.version, &sha);
    let mut problems = Vec::new();
    let dir = match signatures_dir(root) {
        Ok(Some(dir)) => dir,
        Ok(None) => return problems,
        Err(msg) => {
            problems.push(msg);
            return problems;
        }
    };
    let mut names: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    for name in names {
        let shown = format!("{SIGNATURES_DIR}{name}");
        let path = dir.join(&name);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue; // its files are reported by `unexpected_files`
        }
        if !name.ends_with(".minisig") {
            continue; // reported by `unexpected_files`
        }
        let sig = match read_signature_file(&path)
            .and_then(|t| Signature::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(sig) => sig,
            Err(e) => {
                problems.push(format!("{shown}: not a signature: {e}"));
                continue;
            }
        };
        if name != format!("{}.minisig", sig.key_id()) {
            problems.push(format!(
                "{shown}: a signature by key {} under another name",
                sig.key_id()
            ));
        } else if sig.trusted_comment() != expected_comment {
            problems.push(format!(
                "{shown}: its trusted comment does not bind this manifest ({} version {})",
                manifest.id, manifest.version
            ));
        } else if let Some(trust) = trust
            && let SignatureCheck::Invalid(rule, message) =
                check_signature(trust, &sig, manifest_bytes, &sha)
        {
            problems.push(format!("{shown}: {message} [{rule}]"));
        }
    }
    problems
}

/// `root/rel` after checking that no folder on the way below `root` is a symlink or a
/// non-folder: `symlink_metadata` and `O_NOFOLLOW` only refuse a link as the last
/// component, and a linked folder would let list read files from anywhere.
fn no_links_below(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut path = root.to_path_buf();
    let mut parts = rel.split('/').peekable();
    while let Some(part) = parts.next() {
        path.push(part);
        if parts.peek().is_none() {
            break;
        }
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(m) => {
                let shown = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                return Err(format!(
                    "{shown} is {}, not a folder; not followed",
                    fsutil::describe(m.file_type())
                ));
            }
            // A missing folder: the file is missing, which the caller reports.
            Err(_) => break,
        }
    }
    Ok(path)
}

/// The folder's `signatures/`, if it is a real folder; a problem line if it is a link
/// or anything but a folder.
fn signatures_dir(root: &Path) -> Result<Option<PathBuf>, String> {
    let dir = root.join(SIGNATURES_DIR.trim_end_matches('/'));
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(Some(dir)),
        Ok(m) => Err(format!(
            "{SIGNATURES_DIR}: {}, not a folder; not followed",
            fsutil::describe(m.file_type())
        )),
        Err(_) => Ok(None),
    }
}

fn sha256_file(path: &Path, progress: &dyn Progress) -> std::io::Result<[u8; 32]> {
    let mut f = fsutil::open_regular(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
        progress.bytes(n as u64);
    }
}

/// Files under the folder that are neither payload, the manifest nor a signature.
fn unexpected_files(root: &Path, manifest: &Manifest) -> Vec<String> {
    let listed: std::collections::HashSet<&str> =
        manifest.payload().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_type().is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let rel: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = rel.join("/");
        let is_signature = rel
            .strip_prefix(SIGNATURES_DIR)
            .is_some_and(|n| !n.contains('/') && n.ends_with(".minisig"));
        if rel != MANIFEST_ENTRY && !is_signature && !listed.contains(rel.as_str()) {
            out.push(rel);
        }
    }
    out
}
