//! `hotfix keygen`: a new minisign-compatible key pair.

use std::path::PathBuf;

use crate::cli::{CmdResult, Global};

/// Writes PREFIX.key (secret) and PREFIX.pub (public) in the minisign formats.
///
/// Examples:
///   HOTFIX_PASSPHRASE=... hotfix keygen --output keys/release --comment "release 2026"
///   hotfix keygen --output /tmp/test --no-passphrase
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path prefix: writes PREFIX.key and PREFIX.pub; refuses to overwrite either.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Untrusted comment stored in both files.
    #[arg(long)]
    pub comment: Option<String>,
    /// Write an unencrypted secret key (for tests and throw-away keys only).
    #[arg(long)]
    pub no_passphrase: bool,
}

pub fn run(args: Args, global: &Global) -> CmdResult {
    let _ = (&args, global);
    Err(crate::cli::CliError::usage("`hotfix keygen` is not built yet"))
}
