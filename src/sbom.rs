//! `hotfix sbom`: print a package's CycloneDX 1.5 SBOM (JSON) to stdout.
//!
//! The SBOM is made from the package's manifest by the same function `hotfix build`
//! uses to put `docs/sbom.cdx.json` into the package, so for a package built with one
//! the output is byte for byte the file inside it; for older packages it is what that
//! file would have been. Like `inspect`, this reads the manifest without verifying it:
//! run `hotfix verify` before trusting what it lists.

use std::io::Write as _;
use std::path::PathBuf;

use crate::cli::{CliError, CmdResult, EXIT_OK, note};

/// Prints the CycloneDX SBOM of PACKAGE (not verified: run `hotfix verify` first).
///
/// Example:
///   hotfix sbom dist/HF-7.0.3-0042.zip > HF-7.0.3-0042.cdx.json
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
}

pub fn run(args: Args) -> CmdResult {
    let seen = hotfix_package::inspect(&args.package).map_err(|e| {
        let message = e.to_string();
        crate::inspect::inspect_error_message(&e, message)
    })?;
    let sbom = hotfix_package::sbom::cyclonedx_json(&seen.manifest, env!("CARGO_PKG_VERSION"));
    note("the SBOM lists what the package's manifest claims; `hotfix verify` proves it");
    crate::cli::out()
        .write_all(&sbom)
        .map_err(|e| CliError::io("cannot write to stdout", e))?;
    Ok(EXIT_OK)
}
