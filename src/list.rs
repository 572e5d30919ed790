//! `hotfix list`: hotfixes present in <install-dir>/Install/hotfixes.
//!
//! Exit 0 when every folder is intact, 1 when one is modified, has missing files, an
//! unreadable manifest, (with --trusted) too few valid trusted signatures, is not a
//! folder, or is an interrupted replacement; 2 when the installation or the trusted keys
//! cannot be read. Leftovers extract could not remove are warnings (exit unchanged).
//! While an extract holds the installation's lock, list waits for it.

use std::path::PathBuf;

use hotfix_package::list::{Installed, ListError, ListOptions, Status, list};

use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, print_json};
use crate::json::{Base, Problem};
use crate::verify::printable;

/// `hotfix list --output-format json` (docs/schema/list.schema.json).
#[derive(Debug, serde::Serialize)]
struct ListJson<'a> {
    ok: bool,
    install_dir: &'a std::path::Path,
    /// Whether file contents were rehashed (`--check`).
    checked: bool,
    hotfixes: Vec<ItemJson<'a>>,
}

/// One folder in `Install/hotfixes`.
#[derive(Debug, serde::Serialize)]
struct ItemJson<'a> {
    folder: &'a str,
    /// The folder's path.
    path: &'a std::path::Path,
    id: Option<&'a str>,
    version: Option<u64>,
    title: Option<&'a str>,
    base: Option<Base>,
    supersedes: &'a [String],
    software_packages: &'a [hotfix_package::list::PackageRef],
    msis: &'a [hotfix_package::list::MsiRef],
    status: Status,
    checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_signers: Option<u32>,
    problems: Vec<Problem>,
    leftovers: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
}

impl<'a> From<&'a Installed> for ItemJson<'a> {
    fn from(i: &'a Installed) -> ItemJson<'a> {
        // A folder's problems are the lines that explain its status: each carries the
        // status's rule id and the hint for that status.
        let rule = status_rule(i.status);
        let hint = status_hint(i.status);
        ItemJson {
            folder: &i.folder,
            path: &i.path,
            id: i.id.as_deref(),
            version: i.version,
            title: i.title.as_deref(),
            base: i.base.as_ref().map(Base::from),
            supersedes: &i.supersedes,
            software_packages: &i.software_packages,
            msis: &i.msis,
            status: i.status,
            checked: i.checked,
            trusted_signers: i.trusted_signers,
            problems: i
                .problems
                .iter()
                .map(|p| {
                    let problem = Problem::new(rule, p.clone());
                    match hint {
                        Some(h) => problem.hint(h),
                        None => problem,
                    }
                })
                .collect(),
            leftovers: &i.leftovers,
            manifest_sha256: i.manifest_sha256.as_deref(),
            index: i.index.as_deref(),
        }
    }
}

/// The rule id of a folder's problems: `installed-<status>` (`installed-note` for an
/// intact folder with a remark, such as what a release index says of it).
fn status_rule(status: Status) -> &'static str {
    match status {
        Status::Ok => "installed-note",
        Status::Modified => "installed-modified",
        Status::MissingFiles => "installed-missing-files",
        Status::UnreadableManifest => "installed-unreadable-manifest",
        Status::Untrusted => "installed-untrusted",
        Status::NotAFolder => "installed-not-a-folder",
        Status::ReplaceInterrupted => "installed-replace-interrupted",
    }
}

/// What to do about a folder in this state (the same hints the text output prints).
fn status_hint(status: Status) -> Option<&'static str> {
    match status {
        Status::Ok => None,
        Status::Modified | Status::MissingFiles | Status::UnreadableManifest => {
            Some("extract the package again with --reinstall to restore the folder")
        }
        Status::Untrusted => Some(UNTRUSTED_HINT),
        Status::NotAFolder => Some(NOT_A_FOLDER_HINT),
        Status::ReplaceInterrupted => Some(INTERRUPTED_HINT),
    }
}

const INTERRUPTED_HINT: &str = "a replacement was interrupted: run `hotfix extract` again (any \
     package, or the same one) to put the previous folder back and finish";
const NOT_A_FOLDER_HINT: &str = "something other than a folder sits where a hotfix folder \
     belongs: remove it (it is never followed) and extract the package again";
const UNTRUSTED_HINT: &str = "a folder whose hotfix.xml is not signed by enough trusted keys \
     cannot be trusted: extract the signed package again with --reinstall, or add the \
     signer's .pub to --trusted if you trust it";

/// Lists the hotfixes in an installation.
///
/// Examples:
///   hotfix list --install-dir /opt/contact
///   hotfix list --install-dir /opt/contact --check --trusted keys/
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub install_dir: PathBuf,
    /// Rehash every file and report folders that no longer match their manifest.
    #[arg(long)]
    pub check: bool,
    /// Also check each hotfix.xml's signatures again against these trusted keys (a .pub
    /// file, a folder of them, or a signed trust policy); with --check this proves every
    /// folder holds what trusted keys signed.
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: Option<PathBuf>,
    /// Distinct trusted signers required (with --trusted).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), requires = "trusted")]
    pub threshold: u32,
    /// A signed release index: mark installed hotfixes that were withdrawn (exit 1) or
    /// superseded by a newer build (needs a policy in --trusted).
    #[arg(long, value_name = "INDEX", requires = "trusted")]
    pub index: Option<PathBuf>,
    /// Accept an expired release index (reported on stderr).
    #[arg(long, requires = "index")]
    pub allow_stale_index: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let trusted = args
        .trusted
        .as_deref()
        .map(|t| crate::trusted::load(t, args.index.as_deref(), args.allow_stale_index))
        .transpose()?;
    let on_wait = |lock: &std::path::Path| {
        crate::cli::note(format!(
            "waiting for an extract to finish (it holds {})",
            lock.display()
        ));
    };
    let json = args.output_format == OutputFormat::Json;
    let reporter = args
        .check
        .then(|| crate::progress::Reporter::new("checking", "checked", json))
        .flatten();
    // With a policy, the signatures of each folder are judged as `verify` judges a
    // package's (roles, validity windows, revocations, the policy's threshold).
    let judge = |auth: &hotfix_package::verify::Authenticated<'_>| match &trusted {
        Some(t) => t.judge_signers(auth, args.threshold),
        None => Ok(()),
    };
    let options = ListOptions {
        check: args.check,
        trust: trusted
            .as_ref()
            .map(|t| (&t.keys, t.verifier_threshold(args.threshold))),
        authorize: Some(&judge),
        cancel: Some(crate::signals::cancel_flag()),
        on_wait: Some(&on_wait),
        progress: reporter.as_ref().map(|r| r as _),
    };
    let result = list(&args.install_dir, options);
    drop(reporter);
    let mut items = result.map_err(list_error)?;
    let index_action = match &trusted {
        Some(t) => t.mark_installed(&args.install_dir, &mut items)?,
        None => false,
    };
    let ok = !index_action && items.iter().all(|i| i.status == Status::Ok);
    match args.output_format {
        OutputFormat::Json => print_json(&ListJson {
            ok,
            install_dir: &args.install_dir,
            checked: args.check,
            hotfixes: items.iter().map(ItemJson::from).collect(),
        })?,
        OutputFormat::Text => print_text(&args, &items),
    }
    if index_action {
        crate::verify::print_hint(
            "the release index withdraws (or lists another build of) an installed hotfix: \
             follow the removal procedure for it (`hotfix sim plan` with a removal runbook)",
        );
    }
    let leftovers: Vec<&str> = items
        .iter()
        .flat_map(|i| i.leftovers.iter().map(String::as_str))
        .collect();
    if !leftovers.is_empty() {
        crate::cli::warn(format!(
            "leftovers of interrupted or replaced extracts in Install/hotfixes: {}",
            leftovers.join(", ")
        ));
        crate::verify::print_hint(
            "the next extract removes them; if one stays, remove it by hand (check its \
             permissions and attributes, e.g. read-only or immutable files)",
        );
    }
    let has = |s: Status| items.iter().any(|i| i.status == s);
    if has(Status::ReplaceInterrupted) {
        crate::verify::print_hint(INTERRUPTED_HINT);
    }
    if has(Status::NotAFolder) {
        crate::verify::print_hint(NOT_A_FOLDER_HINT);
    }
    if has(Status::Untrusted) {
        crate::verify::print_hint(UNTRUSTED_HINT);
    }
    let damaged = [
        Status::Modified,
        Status::MissingFiles,
        Status::UnreadableManifest,
    ];
    if damaged.into_iter().any(has) {
        let rehash = if args.check {
            ""
        } else {
            "; --check also rehashes every file"
        };
        crate::verify::print_hint(&format!(
            "extract the package again with --reinstall to restore a folder{rehash}"
        ));
    }
    if ok { Ok(EXIT_OK) } else { Ok(EXIT_FAILED) }
}

/// A listing that failed as a whole, with what to do about it.
pub(crate) fn list_error(e: ListError) -> CliError {
    match e {
        ListError::LockFile { path, source } => CliError::usage(format!(
            "cannot list hotfixes: {}: {source}",
            path.display()
        ))
        .hint(format!(
            "the lock file must be a regular file; remove {} (extract creates it again)",
            path.display()
        )),
        ListError::Cancelled => crate::signals::interrupted(crate::signals::exit_code(), ""),
        e => CliError::usage(format!("cannot list hotfixes: {e}"))
            .hint("--install-dir must be the existing folder that holds Install/"),
    }
}

fn print_text(args: &Args, items: &[Installed]) {
    if items.is_empty() {
        crate::cli::note(format!(
            "no hotfixes in {}",
            hotfix_package::extract::hotfixes_dir(&args.install_dir).display()
        ));
        return;
    }
    for i in items {
        let id = i.id.as_deref().unwrap_or(&i.folder);
        let version = i
            .version
            .map(|v| format!("v{v}"))
            .unwrap_or_else(|| "v?".into());
        crate::outln!(
            "{id}  {version}  {}  {}  {}",
            i.status.as_str(),
            i.base
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            printable(i.title.as_deref().unwrap_or(""))
        );
        for p in &i.software_packages {
            crate::outln!("  server: {} {}", p.name, p.version);
        }
        for m in &i.msis {
            crate::outln!(
                "  client: {} ({} {})",
                m.file,
                m.product_name,
                m.product_version
            );
        }
        if !i.supersedes.is_empty() {
            crate::outln!("  supersedes: {}", i.supersedes.join(", "));
        }
        for p in &i.problems {
            crate::outln!("  problem: {}", printable(p));
        }
        for l in &i.leftovers {
            crate::outln!("  leftover: {}", printable(l));
        }
    }
}
