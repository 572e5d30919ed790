//! `hotfix extract`: verify while writing, then rename into Install/hotfixes/<ID>/.
//!
//! A higher version of an installed hotfix is an ordinary upgrade. Each installation
//! policy check is waived only by its own flag (`--reinstall`, `--allow-downgrade`,
//! `--allow-superseded`, `--ignore-missing-requires`), and every waiver is printed and
//! in the JSON report. `--force`, which used to waive them all at once, is a usage error
//! naming those flags (docs/decisions/0005-upgrades-and-waivers.md).
//!
//! SIGINT/SIGTERM set a flag the extraction checks while waiting for the lock, before
//! each file and between chunks; it then removes its temporary folder and exits 130/143
//! with nothing changed. A hard kill leaves at most a `.tmp-*` folder (or an `.old-*`
//! one between the two renames of a replace), which the next extract cleans up.

use std::path::{Path, PathBuf};

use hotfix_package::extract::{ExtractError, ExtractOptions, Outcome, Waivers, extract};
use hotfix_package::rules::Rule;
use hotfix_package::verify::Authenticated;

use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, print_json};
use crate::json::{Problem, Signer};
use crate::verify::{check_package_readable, print_failures, print_hints};

/// `hotfix extract --output-format json` after an extraction (docs/schema/extract.schema.json).
#[derive(Debug, serde::Serialize)]
struct ExtractJson<'a> {
    ok: bool,
    package: String,
    id: &'a str,
    version: u64,
    /// The installed folder, `Install/hotfixes/<ID>`.
    path: &'a Path,
    outcome: Outcome,
    replaced_version: Option<u64>,
    supersedes_installed: &'a [String],
    waived: &'a [hotfix_package::extract::Waived],
    warnings: &'a [String],
    files: u64,
    bytes: u64,
    trusted_signers: u32,
    signers: Vec<Signer>,
    problems: [Problem; 0],
}

impl<'a> ExtractJson<'a> {
    fn new(package: &Path, r: &'a hotfix_package::extract::ExtractReport) -> ExtractJson<'a> {
        ExtractJson {
            ok: true,
            package: package.display().to_string(),
            id: &r.id,
            version: r.version,
            path: &r.target,
            outcome: r.outcome,
            replaced_version: r.replaced_version,
            supersedes_installed: &r.supersedes_installed,
            waived: &r.waived,
            warnings: &r.warnings,
            files: r.files,
            bytes: r.bytes,
            trusted_signers: r.trusted_signers,
            signers: r.signers.iter().map(Signer::verified).collect(),
            problems: [],
        }
    }
}

/// Verifies and extracts PACKAGE into <install-dir>/Install/hotfixes/<ID>/, atomically.
///
/// A higher version replaces the installed one; anything the installation policy
/// refuses needs the one flag that waives that check.
///
/// Examples:
///   hotfix extract dist/HF-7.0.3-0042.zip --install-dir /opt/contact --trusted keys/
///   hotfix extract dist/HF-7.0.3-0042.zip --install-dir /opt/contact --trusted keys/ --reinstall
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    /// Installation directory (the folder holding Install/).
    #[arg(long)]
    pub install_dir: PathBuf,
    /// A trusted .pub file, a folder of them, or a signed trust policy (docs/TRUST.md).
    /// The installation remembers the newest policy it accepted and refuses older ones.
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: PathBuf,
    /// Distinct trusted signers required (with a policy: at least the policy's).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: u32,
    /// A signed release index: refuse a withdrawn, unlisted or different build, and an
    /// index older than one this installation saw (needs a policy in --trusted).
    #[arg(long, value_name = "INDEX")]
    pub index: Option<PathBuf>,
    /// Accept an expired release index (reported on stderr).
    #[arg(long, requires = "index")]
    pub allow_stale_index: bool,
    /// Extract again when this version is already installed (repairs a modified folder),
    /// or replace a different package with the same id and version, or an unreadable one.
    #[arg(long)]
    pub reinstall: bool,
    /// Replace a higher installed version with this lower one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Extract although an installed hotfix supersedes this one.
    #[arg(long)]
    pub allow_superseded: bool,
    /// Extract although a hotfix this one requires is not installed.
    #[arg(long)]
    pub ignore_missing_requires: bool,
    /// Removed: use the flag that waives the one check you mean.
    #[arg(long, hide = true)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

/// The flags that replaced `--force`, for its error message.
const WAIVER_FLAGS: &str =
    "--reinstall, --allow-downgrade, --allow-superseded, --ignore-missing-requires";

pub fn run(args: Args, _global: &Global) -> CmdResult {
    if args.force {
        return Err(CliError::usage(
            "--force was removed: it waived every installation check at once",
        )
        .detail(format!("each check now has its own flag: {WAIVER_FLAGS}"))
        .hint(
            "an upgrade to a higher version needs no flag; use --reinstall to extract the same \
             version again, --allow-downgrade to go back to a lower one",
        ));
    }
    check_package_readable(&args.package)?;
    let trusted =
        crate::trusted::load(&args.trusted, args.index.as_deref(), args.allow_stale_index)?;
    let trust = &trusted.keys;
    let authorize = |auth: &Authenticated<'_>| trusted.authorize(auth, args.threshold);
    // Under the lock, before the package is read: a newer policy or index is recorded
    // even if this package is then refused, so an older one cannot come back.
    let prepare = || trusted.settle_with_installation(&args.install_dir);
    crate::signals::cooperate();
    let on_wait = |lock: &Path| {
        crate::cli::note(format!(
            "waiting for another hotfix command to finish (it holds {})",
            lock.display()
        ));
    };
    let json = args.output_format == OutputFormat::Json;
    let reporter = crate::progress::Reporter::new("extracting", "extracted", json);
    let options = ExtractOptions {
        waivers: Waivers {
            reinstall: args.reinstall,
            allow_downgrade: args.allow_downgrade,
            allow_superseded: args.allow_superseded,
            ignore_missing_requires: args.ignore_missing_requires,
        },
        cancel: Some(crate::signals::cancel_flag()),
        on_wait: Some(&on_wait),
        authorize: Some(&authorize),
        prepare: Some(&prepare),
        progress: reporter.as_ref().map(|r| r as _),
    };
    let result = extract(
        &args.package,
        &args.install_dir,
        trust,
        trusted.verifier_threshold(args.threshold),
        options,
    );
    drop(reporter);
    let report = match result {
        Ok(r) => r,
        Err(ExtractError::Failed(report)) => {
            match args.output_format {
                OutputFormat::Json => print_json(&crate::verify::VerifyJson::from(&*report))?,
                OutputFormat::Text => print_failures(&report),
            }
            print_hints(&report, trust);
            crate::verify::explain_refused_signers(&report, &trusted);
            crate::verify::print_hint("nothing was extracted");
            return Ok(EXIT_FAILED);
        }
        Err(ExtractError::Refused {
            rule: rule @ Rule::Trust(_),
            message,
        }) => {
            crate::verify::refused_by_trust(&args.package, args.output_format, rule, &message)?;
            crate::verify::print_hint("nothing was extracted");
            return Ok(EXIT_FAILED);
        }
        Err(e) => {
            if let (OutputFormat::Json, ExtractError::Refused { rule, message }) =
                (args.output_format, &e)
            {
                print_json(&serde_json::json!({
                    "ok": false,
                    "package": args.package.display().to_string(),
                    "problems": [Problem::new(rule, message.clone()).hint(refusal_hint(*rule))],
                }))?;
            }
            return Err(extract_error(e));
        }
    };
    for w in &report.waived {
        crate::cli::warn(format!("waived {} ({}): {}", w.rule, w.flag, w.message));
    }
    for w in &report.warnings {
        crate::cli::warn(w);
    }
    if !report.warnings.is_empty() {
        crate::verify::print_hint(
            "a leftover does not affect the installed hotfixes; remove it by hand if the next \
             extract cannot either (check its permissions and attributes, e.g. read-only or \
             immutable files)",
        );
    }
    match args.output_format {
        OutputFormat::Json => print_json(&ExtractJson::new(&args.package, &report))?,
        OutputFormat::Text => {
            let what = format!("{} v{}", report.id, report.version);
            let old = report
                .replaced_version
                .map(|v| format!("v{v}"))
                .unwrap_or_else(|| "the folder".to_owned());
            let line = match report.outcome {
                Outcome::Installed => format!("extracted {what}"),
                Outcome::Upgraded => format!("upgraded {} {old} to v{}", report.id, report.version),
                Outcome::Downgraded => {
                    format!("downgraded {} {old} to v{}", report.id, report.version)
                }
                Outcome::Reinstalled => format!("reinstalled {what} (replaced {old})"),
                Outcome::Replaced => format!("replaced {old} with {what}"),
                Outcome::AlreadyInstalled => format!("{what} is already installed"),
            };
            crate::cli::note(format!(
                "{line} ({} files, {} bytes verified)",
                report.files, report.bytes
            ));
            for id in &report.supersedes_installed {
                crate::cli::note(format!(
                    "{} supersedes the installed {id}, left in place: remove it from the base \
                     installation in the IA when the procedure says so",
                    report.id
                ));
            }
            crate::outln!("{}", report.target.display());
        }
    }
    crate::verify::note_file_name(&args.package, &report.id);
    Ok(EXIT_OK)
}

/// An extraction error as the user sees it, with what to do (a package that failed
/// verification, or that a trust policy refused, is printed as a report instead).
pub(crate) fn extract_error(e: ExtractError) -> CliError {
    match e {
        ExtractError::Failed(report) => CliError::failed(format!(
            "{} failed verification ({} problem(s)); nothing was extracted",
            report.package,
            report.failures.len()
        ))
        .hint("`hotfix verify` lists every problem; do not install this package, fetch it again"),
        ExtractError::Refused { rule, message } => CliError::failed(format!("refused: {message}"))
            .detail(format!("rule: {rule}"))
            .hint(refusal_hint(rule)),
        ExtractError::Cancelled => {
            crate::signals::interrupted(crate::signals::exit_code(), "; nothing was changed")
        }
        ExtractError::LockFile { path, source } => {
            CliError::usage(format!("{}: {source}", path.display())).hint(format!(
                "the lock file must be a regular file; remove {} (extract creates it again)",
                path.display()
            ))
        }
        e @ ExtractError::Io { .. } => CliError::usage(e.to_string()).hint(
            "--install-dir must be an existing folder (the one holding Install/), writable by you",
        ),
        e => CliError::usage(e.to_string()).hint(
            "--install-dir must be an existing folder (the one holding Install/), writable by you",
        ),
    }
}

pub(crate) fn refusal_hint(rule: Rule) -> String {
    match rule {
        Rule::Rollback => {
            "a newer version is installed; --allow-downgrade goes back to this one on purpose"
                .to_owned()
        }
        Rule::Superseded => "the installed hotfix already contains this one; \
             --allow-superseded extracts it anyway"
            .to_owned(),
        Rule::RequiresMissing => "extract the required hotfix (or one that supersedes it) first; \
             `hotfix list` shows what is installed; --ignore-missing-requires extracts this one anyway"
            .to_owned(),
        Rule::InstalledSymlink => "remove the link (extract never follows it) and extract again"
            .to_owned(),
        Rule::InstalledModified => "`hotfix list --check` shows what changed; --reinstall \
             extracts the package again and repairs the folder"
            .to_owned(),
        Rule::InstalledDiffers => "`hotfix list --check` shows what is installed; --reinstall \
             replaces it with this package"
            .to_owned(),
        _ => format!("the flags that waive installation checks: {WAIVER_FLAGS}"),
    }
}
