//! `hotfix sim`: simulate installing and removing hotfixes on a system model.

use crate::cli::{CmdResult, Global};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run a scenario.
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub scenario: std::path::PathBuf,
}

pub fn run(cmd: Command, global: &Global) -> CmdResult {
    let _ = (&cmd, global);
    Err(crate::cli::CliError::usage("`hotfix sim` is not built yet"))
}
