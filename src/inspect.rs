//! `hotfix inspect`: show a package's manifest, clearly marked as not verified.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global, OutputFormat};

/// Shows the manifest of PACKAGE without verifying it.
///
/// Example:
///   hotfix inspect dist/HF-7.0.3-0042.zip --output-format json
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix inspect` is not built yet"))
}
