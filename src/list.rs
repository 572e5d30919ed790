//! `hotfix list`: hotfixes present in <install-dir>/Install/hotfixes.
//!
//! Exit 0 when every folder is intact, 1 when one is modified, has missing files, an
//! unreadable manifest or (with --trusted) too few valid trusted signatures, 2 when the
//! installation or the trusted keys cannot be read.

use std::path::PathBuf;

use hotfix_package::list::{Installed, ListOptions, Status, list};

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
    /// file or a folder of them); with --check this proves every folder holds what
    /// trusted keys signed.
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: Option<PathBuf>,
    /// Distinct trusted signers required (with --trusted).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), requires = "trusted")]
    pub threshold: u32,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let trust = args
        .trusted
        .as_deref()
        .map(crate::verify::load_trust)
        .transpose()?;
    let options = ListOptions {
        check: args.check,
        trust: trust.as_ref().map(|t| (t, args.threshold)),
    };
    let items = list(&args.install_dir, options).map_err(|e| {
        CliError::usage(format!("cannot list hotfixes: {e}"))
            .hint("--install-dir must be the existing folder that holds Install/")
    })?;
    match args.output_format {
        OutputFormat::Json => print_json(&items)?,
        OutputFormat::Text => print_text(&args, &items),
    }
    if items.iter().all(|i| i.status == Status::Ok) {
        Ok(EXIT_OK)
    } else {
        if items.iter().any(|i| i.status == Status::Untrusted) {
            crate::verify::print_hint(
                "a folder whose hotfix.xml is not signed by enough trusted keys cannot be \
                 trusted: extract the signed package again with --force, or add the \
                 signer's .pub to --trusted if you trust it",
            );
        } else if !args.check {
            crate::verify::print_hint(
                "extract the package again with --force to restore a folder; \
                 --check also rehashes every file",
            );
        } else {
            crate::verify::print_hint("extract the package again with --force to restore a folder");
        }
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
        println!(
            "{id}  {version}  {}  {}  {}",
            i.status.as_str(),
            i.base.as_deref().unwrap_or("-"),
            printable(i.title.as_deref().unwrap_or(""))
        );
        for p in &i.software_packages {
            println!("  server: {} {}", p.name, p.version);
        }
        for m in &i.msis {
            println!(
                "  client: {} ({} {})",
                m.file, m.product_name, m.product_version
            );
        }
        if !i.supersedes.is_empty() {
            println!("  supersedes: {}", i.supersedes.join(", "));
        }
        for p in &i.problems {
            println!("  problem: {}", printable(p));
        }
    }
}
