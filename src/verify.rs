//! `hotfix verify`: signatures and every payload byte against trusted keys.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global, OutputFormat};

/// Verifies PACKAGE: exit 0 if intact and signed by at least N distinct trusted keys.
///
/// Example:
///   hotfix verify dist/HF-7.0.3-0042.zip --trusted keys/ --threshold 2
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    /// A trusted .pub file, or a folder of them.
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: PathBuf,
    /// Distinct trusted signers required.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: u32,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix verify` is not built yet"))
}
