//! `hotfix sign`: add one more signature to a package (co-signing).

use std::path::PathBuf;

use crate::cli::{CmdResult, Global};

/// Adds a signature by KEY to PACKAGE, atomically. Signing twice with one key is refused.
///
/// Example:
///   hotfix sign dist/HF-7.0.3-0042.zip --key second-approver.key
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    #[arg(long)]
    pub key: PathBuf,
}

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix sign` is not built yet"))
}
