//! `hotfix list`: hotfixes present in <install-dir>/Install/hotfixes.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global, OutputFormat};

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

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix list` is not built yet"))
}
