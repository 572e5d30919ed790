//! `hotfix extract`: verify while writing, then rename into Install/hotfixes/<ID>/.
//!
//! Ctrl-C sets a flag the extraction checks between chunks; it then removes its
//! temporary folder and exits 2 with nothing changed. A hard kill leaves at most a
//! `.tmp-*` folder, which the next extract removes under the lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use hotfix_package::extract::{ExtractError, ExtractOptions, Outcome, extract};
use hotfix_package::rules::Rule;

use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, print_json};
use crate::verify::{check_package_readable, load_trust, print_failures, print_hints};

/// Verifies and extracts PACKAGE into <install-dir>/Install/hotfixes/<ID>/, atomically.
///
/// Example:
///   hotfix extract dist/HF-7.0.3-0042.zip --install-dir /opt/contact --trusted keys/
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    /// Installation directory (the folder holding Install/).
    #[arg(long)]
    pub install_dir: PathBuf,
    /// A trusted .pub file, or a folder of them.
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: PathBuf,
    /// Distinct trusted signers required.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: u32,
    /// Replace a different package with the same id, a newer version, or a superseding one.
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

/// Set by the Ctrl-C handler; extraction polls it.
static CANCEL: AtomicBool = AtomicBool::new(false);

pub fn run(args: Args, _global: &Global) -> CmdResult {
    check_package_readable(&args.package)?;
    let trust = load_trust(&args.trusted)?;
    // If a handler is already installed (tests calling run twice), the flag still works.
    let _ = ctrlc::set_handler(|| CANCEL.store(true, Ordering::SeqCst));
    let options = ExtractOptions {
        force: args.force,
        cancel: Some(&CANCEL),
    };
    let result = extract(
        &args.package,
        &args.install_dir,
        &trust,
        args.threshold,
        options,
    );
    let report = match result {
        Ok(r) => r,
        Err(ExtractError::Failed(report)) => {
            match args.output_format {
                OutputFormat::Json => print_json(&report)?,
                OutputFormat::Text => print_failures(&report),
            }
            print_hints(&report, &trust);
            crate::verify::print_hint("nothing was extracted");
            return Ok(EXIT_FAILED);
        }
        Err(ExtractError::Refused { rule, message }) => {
            let hint = match rule {
                Rule::Rollback => {
                    "a newer version is installed; use --force only to roll back on purpose"
                }
                Rule::Superseded => {
                    "the installed hotfix already contains this one; use --force to extract it anyway"
                }
                Rule::RequiresMissing => {
                    "extract the required hotfix (or one that supersedes it) first; `hotfix list` shows what is installed; --force extracts this one anyway"
                }
                _ => "use --force to replace the installed folder",
            };
            return Err(CliError::failed(format!("refused: {message}"))
                .detail(format!("rule: {rule}"))
                .hint(hint));
        }
        Err(ExtractError::Cancelled) => {
            return Err(CliError::usage("interrupted; nothing was changed"));
        }
        Err(e @ ExtractError::Io { .. }) => {
            return Err(CliError::usage(e.to_string()).hint(
                "--install-dir must be an existing folder (the one holding Install/), writable by you",
            ));
        }
        Err(e) => return Err(CliError::usage(e.to_string())),
    };
    match args.output_format {
        OutputFormat::Json => print_json(&report)?,
        OutputFormat::Text => {
            let what = format!("{} v{}", report.id, report.version);
            let line = match (report.outcome, report.replaced_version) {
                (Outcome::Installed, _) => format!("extracted {what}"),
                (Outcome::Replaced, Some(old)) => format!("replaced v{old} with {what}"),
                (Outcome::Replaced, None) => format!("replaced the folder with {what}"),
                (Outcome::AlreadyInstalled, _) => format!("{what} is already installed"),
            };
            crate::cli::note(format!(
                "{line} ({} files, {} bytes verified)",
                report.files, report.bytes
            ));
            println!("{}", report.target.display());
        }
    }
    crate::verify::note_file_name(&args.package, &report.id);
    Ok(EXIT_OK)
}
