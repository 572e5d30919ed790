//! `hotfix`: build, sign, verify, extract and simulate hotfix packages.
//!
//! This binary only parses arguments and wires them to the library crates; every
//! subcommand lives in its own module with an `Args` struct and a `run` function.
//! Exit codes: 0 success, 1 verification failed / property violated, 2 usage or I/O error,
//! 130 / 143 interrupted by SIGINT / SIGTERM.
// The doc comments of argument structs are also the `--help` text, where `<ID>` and
// `<install-dir>` are placeholders as every CLI writes them, not HTML tags.
#![allow(rustdoc::invalid_html_tags)]

mod build;
mod cli;
#[cfg(test)]
mod error_walk;
mod extract;
mod help;
mod index;
mod inspect;
mod json;
mod keygen;
mod list;
mod outfile;
mod passphrase;
mod pkcs11;
mod progress;
mod sbom;
mod sign;
mod signals;
mod sim;
mod trust;
mod trusted;
mod verify;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::cli::{CliError, Global};

/// Build, sign, verify, extract and simulate hotfix packages.
#[derive(Debug, Parser)]
#[command(
    name = "hotfix",
    version = cli::LONG_VERSION,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 verification failed or property violated, 2 usage or I/O error, \
                  130/143 interrupted (SIGINT/SIGTERM).\n\
                  Run `hotfix <command> --help` for examples."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a new minisign-compatible signing key pair.
    Keygen(keygen::Args),
    /// Build and sign a hotfix package from a source folder holding hotfix.toml.
    Build(build::Args),
    /// Add one more signature to a package (co-signing).
    Sign(sign::Args),
    /// Check a package's signatures and every payload byte against trusted keys.
    Verify(verify::Args),
    /// Show a package's manifest without verifying it.
    Inspect(inspect::Args),
    /// Verify and extract a package into <install-dir>/Install/hotfixes/<ID>/, atomically.
    Extract(extract::Args),
    /// List the hotfixes extracted into an installation.
    List(list::Args),
    /// Simulate installing and removing hotfixes on a system model.
    #[command(subcommand)]
    Sim(sim::Command),
    /// Manage the signed trust policy: root keys, signing keys, revocations, rotation.
    #[command(subcommand)]
    Trust(trust::Command),
    /// Print a package's CycloneDX SBOM (JSON) to stdout.
    Sbom(sbom::Args),
    /// Publish the signed release index: current hotfixes and withdrawn ones.
    #[command(subcommand)]
    Index(index::Command),
    /// Print shell completions for SHELL to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of hotfix or of one command, or write them all.
    Man(ManArgs),
}

#[derive(Debug, clap::Args)]
struct ManArgs {
    /// The command whose page to print (e.g. `build`, `sim run`); none: the top page.
    command: Vec<String>,
    /// Write every page (hotfix.1, hotfix-build.1, hotfix-sim-run.1, ...) into DIR
    /// instead, creating it if needed.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    output_dir: Option<std::path::PathBuf>,
}

/// The command line definition with every command's examples and environment.
fn cli_command() -> clap::Command {
    help::decorate(Cli::command())
}

/// `hotfix man`: one page to stdout, or every page into a folder.
fn man(args: ManArgs) -> cli::CmdResult {
    let mut cmd = cli_command().disable_help_subcommand(true);
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map_err(|e| {
                CliError::io(
                    format!("cannot write the man pages to {}", dir.display()),
                    e,
                )
                .hint("give --output-dir a folder you can write to")
            })?;
        cli::note(format!("wrote the man pages to {}", dir.display()));
        return Ok(cli::EXIT_OK);
    }
    cmd.build();
    let mut page = &cmd;
    for word in &args.command {
        page = page.find_subcommand(word).ok_or_else(|| {
            CliError::usage(format!("no command `hotfix {}`", args.command.join(" ")))
                .hint("`hotfix --help` lists the commands; e.g. `hotfix man sim run`")
        })?;
    }
    clap_mangen::Man::new(page.clone())
        .render(&mut cli::out())
        .map(|()| cli::EXIT_OK)
        .map_err(|e| CliError::io("cannot write the man page", e))
}

fn main() -> std::process::ExitCode {
    // First, before any thread exists: every thread must inherit the blocked signals.
    signals::install();
    let cli = match Cli::from_arg_matches(&cli_command().get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    cli.global.init();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args, &cli.global),
        Command::Build(args) => build::run(args, &cli.global),
        Command::Sign(args) => sign::run(args, &cli.global),
        Command::Verify(args) => verify::run(args, &cli.global),
        Command::Inspect(args) => inspect::run(args, &cli.global),
        Command::Extract(args) => extract::run(args, &cli.global),
        Command::List(args) => list::run(args, &cli.global),
        Command::Sim(cmd) => sim::run(cmd, &cli.global),
        Command::Trust(cmd) => trust::run(cmd),
        Command::Index(cmd) => index::run(cmd),
        Command::Sbom(args) => sbom::run(args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "hotfix", &mut cli::out());
            Ok(cli::EXIT_OK)
        }
        Command::Man(args) => man(args),
    };
    let result = match (result, cli::stdout_error()) {
        (Ok(cli::EXIT_OK), Some(err)) => Err(err),
        (result, _) => result,
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            err.print();
            std::process::ExitCode::from(err.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        cli_command().debug_assert();
    }

    #[test]
    fn version_names_the_package_format_this_build_writes() {
        let expected = format!("(package format v{})", hotfix_manifest::FORMAT_VERSION);
        assert!(
            cli::LONG_VERSION.ends_with(&expected),
            "{}",
            cli::LONG_VERSION
        );
    }
}
