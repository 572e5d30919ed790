//! Safe, atomic extraction into `<install>/Install/hotfixes/<ID>/`.
//!
//! Under the installation's exclusive lock ([`crate::lock`], `<install>/.hotfix.lock`),
//! extraction:
//! 1. creates `Install/hotfixes` if missing (and removes what it created if it fails:
//!    the lock is held, so no other run relies on those folders yet);
//! 2. removes what killed runs left (a `.tmp-*` folder whose owner marker no live
//!    process holds, or that has none; `.old-<ID>-*` folders or files are put back if
//!    their `<ID>` is missing, else removed). A leftover it cannot remove is a warning in
//!    the report, never a reason to refuse an unrelated install;
//! 3. verifies the package with [`crate::verify`], passing a sink that writes every
//!    payload byte, as it is verified, into a fresh `.tmp-<ID>-<suffix>` folder beside
//!    the target, guarded by its locked `.tmp-<ID>-<suffix>.owner` marker (files created
//!    with `create_new`) — there is no second read of the package between checking and
//!    writing. Small files are created and written on writer threads once verified
//!    (`extract/writers.rs`), which are joined before the folder is synced, renamed or
//!    removed;
//! 4. applies the installation policy as soon as the manifest is authenticated (see
//!    [`Waivers`]): a higher version replaces the installed one as an ordinary upgrade;
//!    the same manifest bytes already installed → nothing to do; a lower version, the
//!    same version with other bytes, an unreadable `<ID>`, a hotfix an installed one
//!    supersedes, or one requiring a hotfix that is not installed → refused unless the
//!    one flag that names that check is given. A symlink at `<ID>` is always refused;
//! 5. only when everything verified: writes `hotfix.xml` and the signatures (so `list
//!    --check` can recheck the folder later), makes the temporary folder durable, and
//!    renames it into place (over an existing one: old aside, new in, old removed).
//!
//! Durability (docs/decisions/0003-extract-durability.md): on Linux one `syncfs` of the
//! temporary folder's filesystem, before the rename, writes back every file and folder
//! in it — one journal commit instead of one per file; elsewhere each file is fsynced
//! as it is closed. Either way nothing is renamed into place before all of it is durable.
//!
//! On any failure or cancellation the temporary folder is removed and nothing outside it
//! has been touched. A hard kill leaves at most a `.tmp-*` folder, or an `.old-<ID>-*`
//! between the two renames of a replace, which the next run removes or puts back. It
//! never follows or creates symlinks inside `Install/hotfixes`, never opens anything there
//! but regular files (no FIFO can block it), and never creates anything outside the
//! temporary folder except the lock file, `Install/hotfixes` and the final rename.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use hotfix_manifest::{FileEntry, MANIFEST_ENTRY, MAX_MANIFEST_BYTES, Manifest, names};
use hotfix_sign::TrustSet;
use serde::Serialize;

use crate::fsutil;
use crate::lock::{InstallLock, LockError};
use crate::progress::{NoProgress, Phase, Progress};
use crate::rules::Rule;
use crate::testhook;
use crate::verify::{
    Authenticated, EntrySink, Signer, SinkError, VerifyError, VerifyReport, verify_with_progress,
};

mod writers;

/// Prefix of temporary folders, followed by `<ID>-<random>`.
pub const TEMP_PREFIX: &str = ".tmp-";
/// Prefix of folders moved aside during a replace, followed by `<ID>-<random>`.
pub const OLD_PREFIX: &str = ".old-";
/// Suffix of the owner marker beside each temporary folder: `.tmp-<ID>-<random>.owner`.
pub const OWNER_SUFFIX: &str = ".owner";

/// `Install/hotfixes` under an installation directory.
pub fn hotfixes_dir(install_dir: &Path) -> PathBuf {
    install_dir.join("Install").join("hotfixes")
}

/// The installation policy checks an operator may waive, one flag each. Nothing else
/// is ever waived: verification, signatures and names are not policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waivers {
    /// Replace `<ID>` when it holds the same version (identical: re-extract it, which
    /// repairs a modified folder; different bytes: `install-differs`) or something
    /// unreadable (`install-differs`).
    pub reinstall: bool,
    /// Replace a higher installed version with a lower one (`install-rollback`).
    pub allow_downgrade: bool,
    /// Extract a hotfix that an installed one supersedes (`install-superseded`).
    pub allow_superseded: bool,
    /// Extract a hotfix whose required hotfixes are not installed
    /// (`install-requires-missing`).
    pub ignore_missing_requires: bool,
}

impl Waivers {
    /// The command-line flag that waives `rule`, if any.
    pub fn flag_for(rule: Rule) -> Option<&'static str> {
        match rule {
            Rule::AlreadyInstalled | Rule::InstalledDiffers | Rule::InstalledModified => {
                Some("--reinstall")
            }
            Rule::Rollback => Some("--allow-downgrade"),
            Rule::Superseded => Some("--allow-superseded"),
            Rule::RequiresMissing => Some("--ignore-missing-requires"),
            _ => None,
        }
    }

    fn waives(&self, rule: Rule) -> bool {
        match rule {
            Rule::AlreadyInstalled | Rule::InstalledDiffers => self.reinstall,
            Rule::Rollback => self.allow_downgrade,
            Rule::Superseded => self.allow_superseded,
            Rule::RequiresMissing => self.ignore_missing_requires,
            _ => false,
        }
    }
}

/// How to extract.
#[derive(Clone, Copy, Default)]
pub struct ExtractOptions<'a> {
    /// The policy checks to waive.
    pub waivers: Waivers,
    /// Checked while waiting for the lock and between chunks; when set, extraction stops
    /// and cleans up.
    pub cancel: Option<&'a AtomicBool>,
    /// Called once if another run holds the lock, before waiting for it.
    pub on_wait: Option<&'a dyn Fn(&Path)>,
    /// A further check of the authenticated manifest and signatures (a trust policy, a
    /// release index), run before anything is written; an `Err` refuses the package
    /// with that rule and message.
    pub authorize: Option<&'a Authorize<'a>>,
    /// Run once the install lock is held, before anything else (the trust policy and
    /// index records of the installation are checked and updated here); an `Err`
    /// refuses the package before it is read.
    pub prepare: Option<&'a Prepare<'a>>,
    /// Told about the payload as it is verified and written, then the final sync.
    pub progress: Option<&'a dyn Progress>,
}

/// See [`ExtractOptions::prepare`].
pub type Prepare<'a> = dyn Fn() -> Result<(), (Rule, String)> + 'a;

/// See [`ExtractOptions::authorize`].
pub type Authorize<'a> = dyn Fn(&Authenticated<'_>) -> Result<(), (Rule, String)> + 'a;

impl std::fmt::Debug for ExtractOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtractOptions")
            .field("waivers", &self.waivers)
            .field("cancel", &self.cancel)
            .finish_non_exhaustive()
    }
}

/// What extraction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A new folder.
    Installed,
    /// A lower version replaced by this higher one.
    Upgraded,
    /// A higher version replaced by this lower one (`--allow-downgrade`).
    Downgraded,
    /// The same version extracted again (`--reinstall`).
    Reinstalled,
    /// Something unreadable at `<ID>` replaced (`--reinstall`).
    Replaced,
    /// The same manifest was already installed; nothing changed.
    AlreadyInstalled,
}

/// A policy check that refused nothing because its flag waived it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    /// The rule the check would have refused with (serialized as its id).
    pub rule: Rule,
    /// The flag that waived it.
    pub flag: &'static str,
    /// What the check found.
    pub message: String,
}

/// The result of a successful extraction.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractReport {
    pub id: String,
    pub version: u64,
    pub target: PathBuf,
    pub outcome: Outcome,
    /// Version that was installed before a replace (`None` when there was none, or it
    /// was unreadable).
    pub replaced_version: Option<u64>,
    /// Installed hotfixes this one supersedes (they are left in place: the IA removes
    /// them from base installations, not extract).
    pub supersedes_installed: Vec<String>,
    /// Policy checks waived by a flag, each with what it found.
    pub waived: Vec<Waived>,
    /// Things that did not stop the extraction but need an operator's look (leftovers
    /// that could not be removed).
    pub warnings: Vec<String>,
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
    /// The installation policy refuses the package ([`Waivers::flag_for`] names the
    /// flag that waives the rule, if any).
    #[error("{message} [{rule}]")]
    Refused { rule: Rule, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The lock file is not a regular file (a symlink, FIFO, folder...): it is never
    /// followed, replaced or removed.
    #[error("{}: {source}", path.display())]
    LockFile {
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

    /// The policy or verification rules behind this error.
    pub fn rules(&self) -> Vec<Rule> {
        match self {
            ExtractError::Failed(r) => r.failures.iter().map(|f| f.rule).collect(),
            ExtractError::Refused { rule, .. } => vec![*rule],
            _ => Vec::new(),
        }
    }
}

impl From<LockError> for ExtractError {
    fn from(e: LockError) -> ExtractError {
        match e {
            LockError::Cancelled => ExtractError::Cancelled,
            LockError::Io { path, source } if source.kind() == std::io::ErrorKind::InvalidInput => {
                ExtractError::LockFile { path, source }
            }
            LockError::Io { path, source } => ExtractError::Io { path, source },
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
    // Look at the package before taking the lock, so a typo does not touch the folder.
    fs::metadata(package).map_err(|e| ExtractError::io(package, e))?;
    let lock = InstallLock::exclusive(install_dir, options.cancel, &|path: &Path| {
        if let Some(f) = options.on_wait {
            f(path);
        }
    })?;
    if let Some(prepare) = options.prepare {
        prepare().map_err(|(rule, message)| ExtractError::Refused { rule, message })?;
    }
    let hotfixes = hotfixes_dir(install_dir);
    // Folders this call creates are removed again if it fails, so a refused package
    // leaves a fresh installation as it was but for the lock file. That is safe only
    // because the lock is held: a run waiting for it creates them again itself.
    let created: Vec<PathBuf> = [install_dir.join("Install"), hotfixes.clone()]
        .into_iter()
        .filter(|d| fs::symlink_metadata(d).is_err())
        .collect();
    fs::create_dir_all(&hotfixes).map_err(|e| ExtractError::io(&hotfixes, e))?;
    let result = extract_locked(package, &hotfixes, trust, threshold, options);
    if result.is_err() {
        // Best effort: only empty folders are removed (remove_dir refuses others).
        for dir in created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
    drop(lock);
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
    let mut warnings = clean_stale(hotfixes)?;

    let mut sink = DirSink {
        hotfixes,
        options,
        begun: None,
        current: None,
    };
    let progress = options.progress.unwrap_or(&NoProgress);
    let report = verify_with_progress(package, trust, threshold, &mut sink, progress)?;
    if !report.ok {
        return Err(ExtractError::Failed(Box::new(report)));
    }
    let Some(begun) = sink.begun.take() else {
        // `ok` implies the manifest was authenticated and `begin` ran.
        return Err(ExtractError::Failed(Box::new(report)));
    };
    let waived = begun.waived.clone();
    let supersedes_installed = begun.supersedes_installed.clone();
    let (outcome, replaced_version, target) = commit(hotfixes, begun, options, &mut warnings)?;
    Ok(ExtractReport {
        id: report.id.clone().unwrap_or_default(),
        version: report.version.unwrap_or_default(),
        target,
        outcome,
        replaced_version,
        supersedes_installed,
        waived,
        warnings,
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
    /// Over what is at `<ID>`, reported as `outcome`.
    Replace {
        version: Option<u64>,
        outcome: Outcome,
    },
    AlreadyInstalled,
}

#[derive(Debug)]
struct Begun {
    id: String,
    mode: Mode,
    waived: Vec<Waived>,
    supersedes_installed: Vec<String>,
    /// `None` for [`Mode::AlreadyInstalled`]: nothing is written.
    staging: Option<Staging>,
    manifest_bytes: Vec<u8>,
    signatures: Vec<(String, Vec<u8>)>,
}

/// The temporary folder beside the target (removed on drop unless kept) and the
/// folders created in it. Fields drop in order: the writer threads (joined) before the
/// folder, the folder before its owner marker.
#[derive(Debug)]
struct Staging {
    /// Small files are created and written on these threads.
    writers: writers::Writers,
    dir: StagingDir,
    made: HashSet<PathBuf>,
    /// In creation order, to fsync at the end.
    dirs: Vec<PathBuf>,
    _owner: Owner,
}

/// A temporary folder, removed with everything in it on drop unless kept.
#[derive(Debug)]
struct StagingDir {
    path: PathBuf,
    keep: bool,
}

impl StagingDir {
    fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the folder past the guard (it is about to be renamed into place).
    fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The owner marker `.tmp-<ID>-<random>.owner`, exclusively locked (OS advisory lock)
/// for as long as its temporary folder exists. The install lock already keeps other
/// extracts out; the marker makes "this folder belongs to a live run" checkable on its
/// own, so cleanup never depends on that alone (docs/decisions/0004-install-lock.md).
/// Removed on drop, after the folder; the OS drops the lock if the process dies.
#[derive(Debug)]
struct Owner {
    file: File,
    path: PathBuf,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Creates the owner marker, then the temporary folder `.tmp-<ID>-<suffix>` it guards.
fn new_staging(hotfixes: &Path, id: &str) -> std::io::Result<Staging> {
    for attempt in 0u32.. {
        let name = format!("{TEMP_PREFIX}{id}-{}x{attempt}", unique_suffix());
        let marker = hotfixes.join(format!("{name}{OWNER_SUFFIX}"));
        let file = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => continue,
            Err(e) => return Err(e),
        };
        let mut owner = Owner { file, path: marker };
        match fs4::FileExt::try_lock(&owner.file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(std::io::Error::other("a fresh owner marker is locked"));
            }
            Err(fs4::TryLockError::Error(e)) => return Err(e),
        }
        // For people looking at a stuck folder: which process made it.
        let _ = writeln!(owner.file, "{}", std::process::id());
        let path = hotfixes.join(&name);
        match fs::create_dir(&path) {
            Ok(()) => {
                return Ok(Staging {
                    writers: writers::Writers::new(),
                    dir: StagingDir { path, keep: false },
                    made: HashSet::new(),
                    dirs: Vec::new(),
                    _owner: owner,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary folder name"))
}

/// Whether the run that made `marker` still holds it.
fn owner_alive(marker: &Path) -> bool {
    let Ok(file) = fsutil::open_regular_rw(marker, false) else {
        return false;
    };
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {
            let _ = fs4::FileExt::unlock(&file);
            false
        }
        Err(fs4::TryLockError::WouldBlock) => true,
        Err(fs4::TryLockError::Error(_)) => false,
    }
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

impl DirSink<'_> {
    /// Refuses with `rule` unless waived; a waived check is recorded.
    fn check(
        &self,
        rule: Rule,
        message: String,
        waived: &mut Vec<Waived>,
    ) -> Result<(), SinkError> {
        if !self.options.waivers.waives(rule) {
            return Err(SinkError::Refused { rule, message });
        }
        waived.push(Waived {
            rule,
            flag: Waivers::flag_for(rule).unwrap_or_default(),
            message,
        });
        Ok(())
    }

    /// What to do about what is already at `<ID>`.
    fn mode_for(
        &self,
        auth: &Authenticated<'_>,
        waived: &mut Vec<Waived>,
    ) -> Result<Mode, SinkError> {
        let m = auth.manifest;
        let target = self.hotfixes.join(&m.id);
        let meta = match fs::symlink_metadata(&target) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mode::Fresh),
            Err(source) => {
                return Err(SinkError::Io {
                    path: target,
                    source,
                });
            }
        };
        if meta.file_type().is_symlink() {
            // Never followed (it could point anywhere) and never replaced (that would
            // hide from the operator that someone put a link there).
            return Err(SinkError::Refused {
                rule: Rule::InstalledSymlink,
                message: format!(
                    "{} is a symbolic link; extract never follows or replaces links in Install/hotfixes",
                    target.display()
                ),
            });
        }
        let installed = if meta.is_dir() {
            read_manifest_file(&target.join(MANIFEST_ENTRY))
                .ok()
                .and_then(|b| Manifest::from_xml(&b).ok().map(|i| (b, i)))
                .filter(|(_, i)| i.id == m.id)
        } else {
            None
        };
        let Some((bytes, installed)) = installed else {
            let what = if meta.is_dir() {
                "has no readable manifest for this id"
            } else {
                "is not a folder"
            };
            self.check(
                Rule::InstalledDiffers,
                format!("{} exists but {what}", target.display()),
                waived,
            )?;
            return Ok(Mode::Replace {
                version: None,
                outcome: Outcome::Replaced,
            });
        };
        let version = Some(installed.version);
        if bytes.as_slice() == auth.manifest_bytes {
            if !self.options.waivers.reinstall {
                // "Already installed" only when the folder holds exactly what the
                // manifest lists: a modified folder is refused, and --reinstall repairs it.
                let differences = crate::list::folder_differences(&target, m, &bytes);
                if let Some(first) = differences.first() {
                    return Err(SinkError::Refused {
                        rule: Rule::InstalledModified,
                        message: format!(
                            "{} version {} is installed but its folder was modified ({} difference(s); first: {})",
                            m.id,
                            m.version,
                            differences.len(),
                            names::shorten(first)
                        ),
                    });
                }
                return Ok(Mode::AlreadyInstalled);
            }
            self.check(
                Rule::AlreadyInstalled,
                format!("{} version {} is already installed", m.id, m.version),
                waived,
            )?;
            return Ok(Mode::Replace {
                version,
                outcome: Outcome::Reinstalled,
            });
        }
        let outcome = match installed.version.cmp(&m.version) {
            std::cmp::Ordering::Less => Outcome::Upgraded,
            std::cmp::Ordering::Greater => {
                self.check(
                    Rule::Rollback,
                    format!(
                        "{} version {} is installed; this package is the lower version {}",
                        m.id, installed.version, m.version
                    ),
                    waived,
                )?;
                Outcome::Downgraded
            }
            std::cmp::Ordering::Equal => {
                self.check(
                    Rule::InstalledDiffers,
                    format!(
                        "a different package {} version {} is installed (same id and version, other manifest)",
                        m.id, installed.version
                    ),
                    waived,
                )?;
                Outcome::Reinstalled
            }
        };
        Ok(Mode::Replace { version, outcome })
    }
}

impl EntrySink for DirSink<'_> {
    fn begin(&mut self, auth: &Authenticated<'_>) -> Result<(), SinkError> {
        check_cancel(&self.options)?;
        if let Some(authorize) = self.options.authorize {
            authorize(auth).map_err(|(rule, message)| SinkError::Refused { rule, message })?;
        }
        let m = auth.manifest;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SinkError::Io { path, source }
        };
        let mut waived = Vec::new();
        let mode = self.mode_for(auth, &mut waived)?;
        let installed = installed_manifests(self.hotfixes);
        if let Some(by) = superseded_by(&installed, &m.id) {
            self.check(
                Rule::Superseded,
                format!("installed hotfix {by} supersedes {}", m.id),
                &mut waived,
            )?;
        }
        if !matches!(mode, Mode::AlreadyInstalled)
            && let Some(missing) = missing_requirement(&installed, &m.requires)
        {
            self.check(
                Rule::RequiresMissing,
                format!(
                    "{} requires {missing}, which is not installed (nor any hotfix that supersedes it)",
                    m.id
                ),
                &mut waived,
            )?;
        }
        let supersedes_installed = installed
            .iter()
            .filter(|(folder, i)| *folder == i.id && m.supersedes.contains(&i.id))
            .map(|(folder, _)| folder.clone())
            .collect();
        let staging = match mode {
            Mode::AlreadyInstalled => None,
            _ => Some(new_staging(self.hotfixes, &m.id).map_err(io(self.hotfixes))?),
        };
        testhook::pause("staged");
        self.begun = Some(Begun {
            id: m.id.clone(),
            mode,
            waived,
            supersedes_installed,
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

    /// A small verified file: its folders are made here, in archive order; creating
    /// and writing it is left to the writer threads (see `extract/writers.rs`).
    fn whole_file(&mut self, file: &FileEntry, data: Vec<u8>) -> Result<(), SinkError> {
        check_cancel(&self.options)?;
        self.current = None;
        if let Some(staging) = self.begun.as_mut().and_then(|b| b.staging.as_mut()) {
            let path = staging.path_for(&file.path)?;
            staging.writers.submit(path, data)?;
        }
        Ok(())
    }
}

/// Writes the manifest and signatures, fsyncs and renames into place.
fn commit(
    hotfixes: &Path,
    begun: Begun,
    options: ExtractOptions<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Outcome, Option<u64>, PathBuf), ExtractError> {
    let Begun {
        id,
        mode,
        staging,
        manifest_bytes,
        signatures,
        ..
    } = begun;
    let target = hotfixes.join(&id);
    let Some(mut staging) = staging else {
        return Ok((Outcome::AlreadyInstalled, None, target));
    };
    // Every payload file is written before anything else happens to the folder.
    staging.writers.finish()?;
    if let Some(p) = options.progress {
        p.phase(Phase::Syncing);
    }
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
        Mode::Replace { version, outcome } if fs::symlink_metadata(&target).is_ok() => {
            let aside = hotfixes.join(format!("{OLD_PREFIX}{id}-{}", unique_suffix()));
            fs::rename(&target, &aside).map_err(|e| cleanup(e, &target))?;
            testhook::pause("replace-aside");
            if let Err(e) = fs::rename(&staged, &target) {
                let _ = fs::rename(&aside, &target);
                return Err(cleanup(e, &target));
            }
            // The new folder is in place; what cannot be removed of the old one is a
            // warning, and the next run tries again.
            if let Err(e) = remove_any(&aside) {
                warnings.push(leftover_warning(&aside, &e));
            }
            (outcome, version)
        }
        _ => {
            fs::rename(&staged, &target).map_err(|e| cleanup(e, &target))?;
            (Outcome::Installed, None)
        }
    };
    sync_dir(hotfixes).map_err(|e| ExtractError::io(hotfixes, e))?;
    Ok((outcome, replaced, target))
}

/// Removes a folder with everything in it, or a file; never follows a symlink.
fn remove_any(path: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// The warning for a leftover that could not be removed.
fn leftover_warning(path: &Path, e: &std::io::Error) -> String {
    format!(
        "could not remove {} (left by an interrupted or replaced extract): {e}",
        path.display()
    )
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
/// Opened without following a symlink and without blocking on a FIFO: anything but a
/// regular file is an error.
pub(crate) fn read_manifest_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = fsutil::open_regular(path)?;
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
        // Only real folders: a linked `<ID>` could make any manifest count as installed.
        .filter(|n| fs::symlink_metadata(hotfixes.join(n)).is_ok_and(|m| m.is_dir()))
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
/// using these entries. Returns a warning per leftover it could not remove: those never
/// stop an extraction (a stuck `.old-*` of one hotfix must not block every other).
fn clean_stale(hotfixes: &Path) -> Result<Vec<String>, ExtractError> {
    let mut warnings = Vec::new();
    let entries = fs::read_dir(hotfixes).map_err(|e| ExtractError::io(hotfixes, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ExtractError::io(hotfixes, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if name.starts_with(TEMP_PREFIX) {
            // A temporary folder goes only with its owner gone: a marker nobody holds, or
            // no marker at all (a run killed before making one, or an older version).
            let result = if let Some(folder) = name.strip_suffix(OWNER_SUFFIX) {
                if owner_alive(&path) {
                    continue;
                }
                let folder = hotfixes.join(folder);
                match fs::symlink_metadata(&folder) {
                    Ok(_) => remove_any(&folder).map_err(|e| (folder, e)),
                    Err(_) => Ok(()),
                }
                .and_then(|()| fs::remove_file(&path).map_err(|e| (path.clone(), e)))
            } else if fs::symlink_metadata(hotfixes.join(format!("{name}{OWNER_SUFFIX}"))).is_ok() {
                continue; // handled with its marker
            } else {
                remove_any(&path).map_err(|e| (path.clone(), e))
            };
            if let Err((path, e)) = result {
                warnings.push(leftover_warning(&path, &e));
            }
        } else if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
            // `.old-<ID>-<suffix>`: a replace was interrupted between its renames (put it
            // back), or its old folder could not be removed (remove it now).
            let id = rest.rsplit_once('-').map(|(id, _)| id).unwrap_or(rest);
            let original = hotfixes.join(id);
            let result = if names::validate_hotfix_id(id).is_ok()
                && fs::symlink_metadata(&original).is_err()
            {
                fs::rename(&path, &original)
            } else {
                remove_any(&path)
            };
            if let Err(e) = result {
                warnings.push(leftover_warning(&path, &e));
            }
        }
    }
    Ok(warnings)
}
