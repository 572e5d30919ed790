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
use crate::verify::printable;

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
    let mut items = result.map_err(|e| match e {
        ListError::LockFile { path, source } => CliError::usage(format!(
            "cannot list hotfixes: {}: {source}",
            path.display()
        ))
        .hint(format!(
            "the lock file must be a regular file; remove {} (extract creates it again)",
            path.display()
        )),
        ListError::Cancelled => {
            let code = crate::signals::exit_code();
            CliError::new(code, crate::signals::interrupted_message(code))
        }
        e => CliError::usage(format!("cannot list hotfixes: {e}"))
            .hint("--install-dir must be the existing folder that holds Install/"),
    })?;
    let index_action = match &trusted {
        Some(t) => t.mark_installed(&args.install_dir, &mut items)?,
        None => false,
    };
    match args.output_format {
        OutputFormat::Json => print_json(&items)?,
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
        crate::verify::print_hint(
            "a replacement was interrupted: run `hotfix extract` again (any package, or the \
             same one) to put the previous folder back and finish",
        );
    }
    if has(Status::NotAFolder) {
        crate::verify::print_hint(
            "something other than a folder sits where a hotfix folder belongs: remove it \
             (it is never followed) and extract the package again",
        );
    }
    if has(Status::Untrusted) {
        crate::verify::print_hint(
            "a folder whose hotfix.xml is not signed by enough trusted keys cannot be \
             trusted: extract the signed package again with --reinstall, or add the \
             signer's .pub to --trusted if you trust it",
        );
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
    if !index_action && items.iter().all(|i| i.status == Status::Ok) {
        Ok(EXIT_OK)
    } else {
        Ok(EXIT_FAILED)
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
            i.base.as_deref().unwrap_or("-"),
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
