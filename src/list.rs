//! `hotfix list`: hotfixes present in <install-dir>/Install/hotfixes.
//!
//! Exit 0 when every folder is intact, 1 when one is modified, has missing files or an
//! unreadable manifest, 2 when the installation cannot be read.

use std::path::PathBuf;

use hotfix_package::list::{Installed, Status, list};

use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, print_json};
use crate::verify::printable;

/// Lists the hotfixes in an installation.
///
/// Example:
///   hotfix list --install-dir /opt/contact --check
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    pub install_dir: PathBuf,
    /// Rehash every file and report folders that no longer match their manifest.
    #[arg(long)]
    pub check: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let items = list(&args.install_dir, args.check).map_err(|e| {
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
        if !args.check {
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
