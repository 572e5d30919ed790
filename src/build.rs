//! `hotfix build`: source folder + key → signed, reproducible package.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global, OutputFormat};

/// Builds OUT/<ID>.zip from SOURCE (a folder holding hotfix.toml, or the toml itself).
///
/// Set SOURCE_DATE_EPOCH for byte-reproducible output.
///
/// Example:
///   hotfix build packages/HF-7.0.3-0042 --key release.key --output dist/
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding hotfix.toml, or the hotfix.toml file.
    pub source: PathBuf,
    /// Secret key to sign with (minisign format).
    #[arg(long)]
    pub key: PathBuf,
    /// Output folder (writes <ID>.zip in it) or a .zip path; never overwritten.
    #[arg(long, short)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix build` is not built yet"))
}
