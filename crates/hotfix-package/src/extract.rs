//! Safe, atomic extraction into `<install>/Install/hotfixes/<ID>/`.
//!
//! Under the folder's exclusive lock ([`crate::lock`]), extraction:
//! 1. removes what killed runs left (`.tmp-*` folders; `.old-<ID>-*` folders are put
//!    back if their `<ID>` is missing, else removed);
//! 2. verifies the package with [`crate::verify`], passing a sink that writes every
//!    payload byte, as it is verified, into a fresh `.tmp-<ID>-<random>` folder beside
//!    the target (files created with `create_new`) — there is no second read of the
//!    package between checking and writing;
//! 3. applies the installation policy as soon as the manifest is authenticated: same
//!    manifest bytes already installed → nothing to do; lower version than installed,
//!    different package under the same id, superseded by an installed hotfix, or
//!    requiring a hotfix that is not installed → refused unless `force`;
//! 4. only when everything verified: writes `hotfix.xml` and the signatures (so `list
//!    --check` can recheck the folder later), makes the temporary folder durable, and
//!    renames it into place (with `force` over an existing one: old aside, new in, old
//!    removed).
//!
//! Durability (docs/decisions/0003-extract-durability.md): on Linux one `syncfs` of the
//! temporary folder's filesystem, before the rename, writes back every file and folder
//! in it — one journal commit instead of one per file; elsewhere each file is fsynced
//! as it is closed. Either way nothing is renamed into place before all of it is durable.
//!
//! On any failure or cancellation the temporary folder is removed and nothing outside it
//! has been touched. A hard kill leaves at most a `.tmp-*` folder that the next run
//! removes. It never follows or creates symlinks, and never creates anything outside the
//! temporary folder except the lock file and the final rename.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hotfix_manifest::{FileEntry, MANIFEST_ENTRY, MAX_MANIFEST_BYTES, Manifest, names};
use hotfix_sign::TrustSet;
use serde::Serialize;

use crate::lock::InstallLock;
use crate::rules::Rule;
use crate::verify::{
    Authenticated, EntrySink, Signer, SinkError, VerifyError, VerifyReport, verify,
};

/// Prefix of temporary folders, followed by `<ID>-<random>`.
pub const TEMP_PREFIX: &str = ".tmp-";
/// Prefix of folders moved aside during a forced replace, followed by `<ID>-<random>`.
pub const OLD_PREFIX: &str = ".old-";

/// `Install/hotfixes` under an installation directory.
pub fn hotfixes_dir(install_dir: &Path) -> PathBuf {
    install_dir.join("Install").join("hotfixes")
}

/// How to extract.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions<'a> {
    /// Replace an installed hotfix the policy would protect.
    pub force: bool,
    /// Checked between chunks; when set, extraction stops and cleans up.
    pub cancel: Option<&'a AtomicBool>,
}

/// What extraction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A new folder.
    Installed,
    /// An existing folder replaced (with `force`).
    Replaced,
    /// The same manifest was already installed; nothing changed.
    AlreadyInstalled,
}

/// The result of a successful extraction.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractReport {
    pub id: String,
    pub version: u64,
    pub target: PathBuf,
    pub outcome: Outcome,
    /// Version that was installed before a replace.
    pub replaced_version: Option<u64>,
    pub files: u64,
    pub bytes: u64,
    pub trusted_signers: u32,
    pub signers: Vec<Signer>,
}

/// Why nothing was extracted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The package failed verification; the report lists every failure.
    #[error("{} failed verification ({} problem(s))", .0.package, .0.failures.len())]
    Failed(Box<VerifyReport>),
    /// The installation policy refuses the package (use `force` to override).
    #[error("{message} [{rule}]")]
    Refused { rule: Rule, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Interrupted; the temporary folder was removed.
    #[error("interrupted; nothing was changed")]
    Cancelled,
}

impl ExtractError {
    fn io(path: &Path, source: std::io::Error) -> ExtractError {
        ExtractError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The policy or verification rule ids behind this error.
    pub fn rules(&self) -> Vec<&'static str> {
        match self {
            ExtractError::Failed(r) => r.failures.iter().map(|f| f.rule).collect(),
            ExtractError::Refused { rule, .. } => vec![rule.id()],
            _ => Vec::new(),
        }
    }
}

impl From<SinkError> for ExtractError {
    fn from(e: SinkError) -> ExtractError {
        ExtractError::from(VerifyError::Sink(e))
    }
}

impl From<VerifyError> for ExtractError {
    fn from(e: VerifyError) -> ExtractError {
        match e {
            VerifyError::Io { path, source } => ExtractError::Io { path, source },
            VerifyError::Sink(SinkError::Io { path, source }) => ExtractError::Io { path, source },
            VerifyError::Sink(SinkError::Refused { rule, message }) => {
                ExtractError::Refused { rule, message }
            }
            VerifyError::Sink(SinkError::Cancelled) => ExtractError::Cancelled,
            e => ExtractError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            },
        }
    }
}

/// Verifies `package` and extracts it into `<install_dir>/Install/hotfixes/<ID>/`.
/// `install_dir` must exist; `Install/hotfixes` is created if missing.
pub fn extract(
    package: &Path,
    install_dir: &Path,
    trust: &TrustSet,
    threshold: u32,
    options: ExtractOptions<'_>,
) -> Result<ExtractReport, ExtractError> {
    let meta = fs::metadata(install_dir).map_err(|e| ExtractError::io(install_dir, e))?;
    if !meta.is_dir() {
        return Err(ExtractError::io(
            install_dir,
            std::io::Error::other("not a directory"),
        ));
    }
    // Open the package before taking the lock, so a typo does not touch the folder.
    fs::metadata(package).map_err(|e| ExtractError::io(package, e))?;
    let hotfixes = hotfixes_dir(install_dir);
    // Folders this call creates are removed again if it fails, so a refused package
    // leaves a fresh installation exactly as it was (not even an empty lock file).
    let created: Vec<PathBuf> = [install_dir.join("Install"), hotfixes.clone()]
        .into_iter()
        .filter(|d| !d.exists())
        .collect();
    fs::create_dir_all(&hotfixes).map_err(|e| ExtractError::io(&hotfixes, e))?;
    let lock = InstallLock::acquire(&hotfixes).map_err(|e| ExtractError::io(&hotfixes, e))?;
    let result = extract_locked(package, &hotfixes, trust, threshold, options);
    if result.is_err() && !created.is_empty() {
        let lock_path = lock.path().to_path_buf();
        drop(lock);
        // Best effort: only empty folders we made are removed (remove_dir refuses others).
        let _ = fs::remove_file(&lock_path);
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    result
}

/// [`extract`] once the install lock is held.
fn extract_locked(
    package: &Path,
    hotfixes: &Path,
    trust: &TrustSet,
    threshold: u32,
    options: ExtractOptions<'_>,
) -> Result<ExtractReport, ExtractError> {
    clean_stale(hotfixes)?;

    let mut sink = DirSink {
        hotfixes,
        options,
        begun: None,
        current: None,
    };
    let report = verify(package, trust, threshold, &mut sink)?;
    if !report.ok {
        return Err(ExtractError::Failed(Box::new(report)));
    }
    let Some(begun) = sink.begun.take() else {
        // `ok` implies the manifest was authenticated and `begin` ran.
        return Err(ExtractError::Failed(Box::new(report)));
    };
    let (outcome, replaced_version, target) = commit(hotfixes, begun, options)?;
    Ok(ExtractReport {
        id: report.id.clone().unwrap_or_default(),
        version: report.version.unwrap_or_default(),
        target,
        outcome,
        replaced_version,
        files: report.files,
        bytes: report.bytes,
        trusted_signers: report.trusted_signers,
        signers: report.signers,
    })
}

/// What to do once verification succeeds.
#[derive(Debug)]
enum Mode {
    Fresh,
    Replace { version: Option<u64> },
    AlreadyInstalled,
}

#[derive(Debug)]
struct Begun {
    id: String,
    mode: Mode,
    /// `None` for [`Mode::AlreadyInstalled`]: nothing is written.
    staging: Option<Staging>,
    manifest_bytes: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

/// The temporary folder beside the target (removed on drop unless kept) and the
/// folders created in it.
#[derive(Debug)]
struct Staging {
    dir: tempfile::TempDir,
    made: HashSet<PathBuf>,
    /// In creation order, to fsync at the end.
    dirs: Vec<PathBuf>,
}

impl Staging {
    /// Creates `rel`'s parent folders inside the temporary folder; returns the file path.
    fn path_for(&mut self, rel: &str) -> Result<PathBuf, SinkError> {
        let root = self.dir.path();
        // The name was validated by verify; checking again keeps this code safe on its own.
        names::validate_entry_name(rel).map_err(|e| SinkError::Io {
            path: root.to_path_buf(),
            source: std::io::Error::other(format!("{rel}: {e}")),
        })?;
        let mut path = root.to_path_buf();
        let mut parts = rel.split('/').peekable();
        while let Some(part) = parts.next() {
            path.push(part);
            if parts.peek().is_some() && self.made.insert(path.clone()) {
                fs::create_dir(&path).map_err(|source| SinkError::Io {
                    path: path.clone(),
                    source,
                })?;
                self.dirs.push(path.clone());
            }
        }
        Ok(path)
    }

    fn create(&mut self, rel: &str) -> Result<(File, PathBuf), SinkError> {
        let path = self.path_for(rel)?;
        match create_new(&path) {
            Ok(f) => Ok((f, path)),
            Err(source) => Err(SinkError::Io { path, source }),
        }
    }

    fn write_new(&mut self, rel: &str, bytes: &[u8]) -> Result<(), SinkError> {
        let (mut f, path) = self.create(rel)?;
        let io = |source| SinkError::Io {
            path: path.clone(),
            source,
        };
        f.write_all(bytes).map_err(io)?;
        sync_file(&f).map_err(io)
    }
}

struct DirSink<'a> {
    hotfixes: &'a Path,
    options: ExtractOptions<'a>,
    begun: Option<Begun>,
    current: Option<(File, PathBuf)>,
}

fn check_cancel(options: &ExtractOptions<'_>) -> Result<(), SinkError> {
    match options.cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(SinkError::Cancelled),
        _ => Ok(()),
    }
}

fn create_new(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

impl EntrySink for DirSink<'_> {
    fn begin(&mut self, auth: &Authenticated<'_>) -> Result<(), SinkError> {
        check_cancel(&self.options)?;
        let m = auth.manifest;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SinkError::Io { path, source }
        };
        let target = self.hotfixes.join(&m.id);
        let mut mode = Mode::Fresh;
        if fs::symlink_metadata(&target).is_ok() {
            let installed_bytes = read_manifest_file(&target.join(MANIFEST_ENTRY));
            let installed = installed_bytes
                .as_ref()
                .ok()
                .and_then(|b| Manifest::from_xml(b).ok());
            let same = installed_bytes
                .as_ref()
                .is_ok_and(|b| b.as_slice() == auth.manifest_bytes);
            let version = installed.as_ref().map(|i| i.version);
            if same && !self.options.force {
                mode = Mode::AlreadyInstalled;
            } else if !self.options.force {
                let (rule, message) = match &installed {
                    Some(i) if i.version > m.version => (
                        Rule::Rollback,
                        format!(
                            "{} version {} is installed; refusing to go back to version {}",
                            m.id, i.version, m.version
                        ),
                    ),
                    Some(i) => (
                        Rule::InstalledDiffers,
                        format!(
                            "a different package {} (version {}) is installed; this one is version {}",
                            m.id, i.version, m.version
                        ),
                    ),
                    None => (
                        Rule::InstalledDiffers,
                        format!("{} exists but has no readable manifest", target.display()),
                    ),
                };
                return Err(SinkError::Refused { rule, message });
            } else {
                mode = Mode::Replace { version };
            }
        }
        let installed = if self.options.force {
            Vec::new()
        } else {
            installed_manifests(self.hotfixes)
        };
        if !self.options.force
            && let Some(by) = superseded_by(&installed, &m.id)
        {
            return Err(SinkError::Refused {
                rule: Rule::Superseded,
                message: format!("installed hotfix {by} supersedes {}", m.id),
            });
        }
        if !self.options.force
            && !matches!(mode, Mode::AlreadyInstalled)
            && let Some(missing) = missing_requirement(&installed, &m.requires)
        {
            return Err(SinkError::Refused {
                rule: Rule::RequiresMissing,
                message: format!(
                    "{} requires {missing}, which is not installed (nor any hotfix that supersedes it)",
                    m.id
                ),
            });
        }
        let staging = match mode {
            Mode::AlreadyInstalled => None,
            _ => Some(Staging {
                dir: tempfile::Builder::new()
                    .prefix(&format!("{TEMP_PREFIX}{}-", m.id))
                    .tempdir_in(self.hotfixes)
                    .map_err(io(self.hotfixes))?,
                made: HashSet::new(),
                dirs: Vec::new(),
            }),
        };
        self.begun = Some(Begun {
            id: m.id.clone(),
            mode,
            staging,
            manifest_bytes: auth.manifest_bytes.to_vec(),
            signatures: auth.signatures.to_vec(),
        });
        Ok(())
    }

    fn start_file(&mut self, file: &FileEntry) -> Result<(), SinkError> {
        check_cancel(&self.options)?;
        self.current = None;
        if let Some(staging) = self.begun.as_mut().and_then(|b| b.staging.as_mut()) {
            self.current = Some(staging.create(&file.path)?);
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        check_cancel(&self.options)?;
        if let Some((f, path)) = &mut self.current {
            f.write_all(data).map_err(|source| SinkError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn finish_file(&mut self) -> Result<(), SinkError> {
        if let Some((f, path)) = self.current.take() {
            sync_file(&f).map_err(|source| SinkError::Io { path, source })?;
        }
        Ok(())
    }
}

/// Writes the manifest and signatures, fsyncs and renames into place.
fn commit(
    hotfixes: &Path,
    begun: Begun,
    options: ExtractOptions<'_>,
) -> Result<(Outcome, Option<u64>, PathBuf), ExtractError> {
    let Begun {
        id,
        mode,
        staging,
        manifest_bytes,
        signatures,
    } = begun;
    let target = hotfixes.join(&id);
    let Some(mut staging) = staging else {
        return Ok((Outcome::AlreadyInstalled, None, target));
    };
    staging.write_new(MANIFEST_ENTRY, &manifest_bytes)?;
    for (name, bytes) in &signatures {
        staging.write_new(name, bytes)?;
    }
    sync_staged(&staging).map_err(|e| ExtractError::io(staging.dir.path(), e))?;
    check_cancel(&options)?;

    // From here the folder must outlive the TempDir guard; every error path removes it.
    let staged = staging.dir.keep();
    let cleanup = |e: std::io::Error, path: &Path| {
        let _ = fs::remove_dir_all(&staged);
        ExtractError::io(path, e)
    };
    let (outcome, replaced) = match mode {
        Mode::Replace { version } if fs::symlink_metadata(&target).is_ok() => {
            let aside = hotfixes.join(format!("{OLD_PREFIX}{id}-{}", unique_suffix()));
            fs::rename(&target, &aside).map_err(|e| cleanup(e, &target))?;
            if let Err(e) = fs::rename(&staged, &target) {
                let _ = fs::rename(&aside, &target);
                return Err(cleanup(e, &target));
            }
            // The new folder is in place; if removing the old one fails, the next run
            // removes the `.old-*` folder.
            let _ = fs::remove_dir_all(&aside);
            (Outcome::Replaced, version)
        }
        _ => {
            fs::rename(&staged, &target).map_err(|e| cleanup(e, &target))?;
            (Outcome::Installed, None)
        }
    };
    sync_dir(hotfixes).map_err(|e| ExtractError::io(hotfixes, e))?;
    Ok((outcome, replaced, target))
}

/// A suffix no other folder in `Install/hotfixes` has (process id and time).
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}x{nanos}", std::process::id())
}

/// Per-file durability where [`sync_staged`] cannot cover the files: on Linux nothing
/// (the `syncfs` before the rename writes them back), elsewhere `fsync`.
fn sync_file(f: &File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = f;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        f.sync_all()
    }
}

/// Makes everything in the temporary folder durable before it is renamed into place.
/// Linux: one `syncfs(2)` of its filesystem (data, inodes and folder entries of every
/// file written, in one journal commit; writeback errors are reported since Linux 5.8).
/// Elsewhere: the files were fsynced as they were closed; fsync the folders, deepest
/// first.
fn sync_staged(staging: &Staging) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let dir = File::open(staging.dir.path())?;
        rustix::fs::syncfs(&dir).map_err(std::io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        for d in staging.dirs.iter().rev() {
            sync_dir(d)?;
        }
        sync_dir(staging.dir.path())
    }
}

/// Makes a folder's entries durable (Unix); a no-op where folders cannot be opened.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Reads an installed `hotfix.xml`, at most [`MAX_MANIFEST_BYTES`] + 1 bytes: enough for
/// [`Manifest::from_xml`] to refuse a longer one, never the whole of a huge file.
pub(crate) fn read_manifest_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = File::open(path)?;
    let mut out = Vec::new();
    f.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut out)?;
    Ok(out)
}

/// The manifests of the hotfixes in `hotfixes` (folder name, manifest), sorted by folder;
/// dot-folders and folders without a readable manifest are left out.
fn installed_manifests(hotfixes: &Path) -> Vec<(String, Manifest)> {
    let Ok(entries) = fs::read_dir(hotfixes) else {
        return Vec::new();
    };
    let mut found: Vec<(String, Manifest)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .filter_map(|n| {
            let m = read_manifest_file(&hotfixes.join(&n).join(MANIFEST_ENTRY))
                .ok()
                .and_then(|b| Manifest::from_xml(&b).ok())?;
            Some((n, m))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The installed hotfix (other than `id` itself) whose manifest supersedes `id`, if any.
fn superseded_by(installed: &[(String, Manifest)], id: &str) -> Option<String> {
    installed
        .iter()
        .find(|(folder, m)| folder != id && m.supersedes.iter().any(|s| s == id))
        .map(|(folder, _)| folder.clone())
}

/// The first of `requires` (sorted, as the manifest lists them) that is neither installed
/// (a folder whose manifest has that id) nor superseded by an installed hotfix: a
/// cumulative hotfix stands in for the ones it supersedes.
fn missing_requirement(installed: &[(String, Manifest)], requires: &[String]) -> Option<String> {
    let present: HashSet<&str> = installed
        .iter()
        .filter(|(folder, m)| *folder == m.id)
        .flat_map(|(_, m)| std::iter::once(&m.id).chain(&m.supersedes))
        .map(String::as_str)
        .collect();
    requires
        .iter()
        .find(|r| !present.contains(r.as_str()))
        .cloned()
}

/// Removes what interrupted runs left. Called with the lock held, so no other extract is
/// using these folders.
fn clean_stale(hotfixes: &Path) -> Result<(), ExtractError> {
    let entries = fs::read_dir(hotfixes).map_err(|e| ExtractError::io(hotfixes, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ExtractError::io(hotfixes, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            continue;
        }
        if name.starts_with(TEMP_PREFIX) {
            fs::remove_dir_all(&path).map_err(|e| ExtractError::io(&path, e))?;
        } else if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
            // `.old-<ID>-<suffix>`: a forced replace was interrupted between its renames.
            let id = rest.rsplit_once('-').map(|(id, _)| id).unwrap_or(rest);
            let original = hotfixes.join(id);
            if names::validate_hotfix_id(id).is_ok() && fs::symlink_metadata(&original).is_err() {
                fs::rename(&path, &original).map_err(|e| ExtractError::io(&path, e))?;
            } else {
                fs::remove_dir_all(&path).map_err(|e| ExtractError::io(&path, e))?;
            }
        }
    }
    Ok(())
}
