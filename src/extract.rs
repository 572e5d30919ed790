//! `hotfix extract`: verify while writing, then rename into Install/hotfixes/<ID>/.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global, OutputFormat};

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

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix extract` is not built yet"))
}
