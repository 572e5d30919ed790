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
//! Listing never changes anything, never follows symlinks inside a hotfix folder (a
//! symlink where a file should be is reported as modified) and skips the dot-folders
//! extract uses for its own work.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use hotfix_manifest::{FileEntry, MANIFEST_ENTRY, Manifest, SIGNATURES_DIR, names};
use hotfix_sign::{Signature, TrustSet};
use serde::Serialize;
use sha2::Digest;
use subtle::ConstantTimeEq;

use crate::extract::{hotfixes_dir, read_manifest_file};
use crate::format::{MAX_SIGNATURE_BYTES, MAX_SIGNATURES};
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
}

impl Status {
    /// `ok`, `modified`, `missing-files`, `unreadable-manifest`, `untrusted`.
    pub fn as_str(self) -> &'static str {
        match self {
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
    /// e.g. `7.0 SP3`.
    pub base: Option<String>,
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
}

/// How closely [`list`] looks at each folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListOptions<'a> {
    /// Rehash every file, and report files the manifest does not list.
    pub check: bool,
    /// Check the signatures over each `hotfix.xml` again: at least `threshold` distinct
    /// keys of the trust set must have signed it for its own id and version.
    pub trust: Option<(&'a TrustSet, u32)>,
}

/// Lists the hotfix folders of an installation, sorted by folder name. An installation
/// without `Install/hotfixes` has none; a missing `install_dir` is an error.
pub fn list(install_dir: &Path, options: ListOptions<'_>) -> Result<Vec<Installed>, ListError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ListError::Io { path, source }
    };
    fs::metadata(install_dir).map_err(io(install_dir))?;
    let hotfixes = hotfixes_dir(install_dir);
    let entries = match fs::read_dir(&hotfixes) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&hotfixes)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&hotfixes))?;
        let folder = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if folder.starts_with('.') || !fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        out.push(inspect_folder(folder, path, options));
    }
    out.sort_by(|a, b| a.folder.cmp(&b.folder));
    Ok(out)
}

fn inspect_folder(folder: String, path: PathBuf, options: ListOptions<'_>) -> Installed {
    let check = options.check;
    let mut item = Installed {
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
        checked: check,
        trusted_signers: None,
        problems: Vec::new(),
    };
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
    item.title = Some(manifest.title.clone());
    item.base = Some(manifest.base.to_string());
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
    for file in manifest.payload() {
        if let Some((status, msg)) = check_file(&item.path, file, check) {
            worst = worst.max(status);
            item.problems.push(format!("{}: {msg}", file.path));
        }
    }
    if check {
        for extra in unexpected_files(&item.path, &manifest) {
            worst = worst.max(Status::Modified);
            item.problems.push(format!("{extra}: not in the manifest"));
        }
    }
    if let Some((trust, threshold)) = options.trust {
        let (signers, problems) = check_signatures(&item.path, &manifest_bytes, &manifest, trust);
        item.problems.extend(problems);
        if signers < threshold {
            worst = worst.max(Status::Untrusted);
            item.problems.push(format!(
                "{MANIFEST_ENTRY}: {signers} valid signature(s) from distinct trusted keys, \
                 {threshold} required"
            ));
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

/// Checks the folder's `signatures/*.minisig` over the manifest bytes: the number of
/// distinct trusted keys that signed this manifest for its own id and version, and a
/// line per signature that is wrong (untrusted keys are not checked and count for
/// nothing, as in verify).
fn check_signatures(
    root: &Path,
    manifest_bytes: &[u8],
    manifest: &Manifest,
    trust: &TrustSet,
) -> (u32, Vec<String>) {
    let sha: [u8; 32] = sha2::Sha256::digest(manifest_bytes).into();
    let dir = root.join(SIGNATURES_DIR.trim_end_matches('/'));
    let mut names: Vec<String> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".minisig"))
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut problems = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    for name in names.iter().take(MAX_SIGNATURES) {
        let shown = format!("{SIGNATURES_DIR}{name}");
        let path = dir.join(name);
        let text = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() <= MAX_SIGNATURE_BYTES => {
                fs::read_to_string(&path).map_err(|e| e.to_string())
            }
            Ok(m) if m.is_file() => Err(format!("{} bytes, too large", m.len())),
            Ok(_) => Err("not a regular file".to_owned()),
            Err(e) => Err(e.to_string()),
        };
        let sig = match text.and_then(|t| Signature::parse(&t).map_err(|e| e.to_string())) {
            Ok(sig) => sig,
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
    (u32::try_from(keys.len()).unwrap_or(u32::MAX), problems)
}

/// The problem with one listed file, if any.
fn check_file(root: &Path, file: &FileEntry, rehash: bool) -> Option<(Status, String)> {
    if let Err(e) = names::validate_entry_name(&file.path) {
        return Some((
            Status::Modified,
            format!("unsafe name in the manifest: {e}"),
        ));
    }
    let path = file
        .path
        .split('/')
        .fold(root.to_path_buf(), |p, c| p.join(c));
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
        match sha256_file(&path) {
            Ok(d) if bool::from(d.ct_eq(&file.sha256.0)) => {}
            Ok(_) => return Some((Status::Modified, "content differs (SHA-256)".into())),
            Err(e) => return Some((Status::Modified, format!("cannot read: {e}"))),
        }
    }
    None
}

fn sha256_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut f = File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
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
