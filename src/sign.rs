//! `hotfix sign`: add one more signature to a package (co-signing).
//!
//! The package is rewritten atomically with the new signature; its manifest and payload
//! stay byte for byte. Notes go to stderr; nothing is printed on stdout.

use std::path::PathBuf;

use hotfix_package::CosignError;
use hotfix_sign::SignError;

use crate::cli::{CliError, CmdResult, EXIT_OK, Global, note};

/// Adds a signature by KEY to PACKAGE, atomically. Signing twice with one key is refused.
///
/// Example:
///   hotfix sign dist/HF-7.0.3-0042.zip --key second-approver.key
///   HOTFIX_PKCS11_PIN=... hotfix sign dist/HF-7.0.3-0042.zip \
///     --key 'pkcs11:token=approver;object=hotfix?module-path=/usr/lib/softhsm/libsofthsm2.so'
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    /// Secret key to sign with: a minisign key file or a pkcs11: URI.
    #[arg(long, long_help = crate::pkcs11::KEY_HELP)]
    pub key: PathBuf,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    // A missing package is reported before anyone types a passphrase.
    std::fs::metadata(&args.package).map_err(|e| {
        CliError::io(format!("cannot read {}", args.package.display()), e)
            .hint("check the package path")
    })?;
    let key = crate::passphrase::load_signer(&args.key)?;
    crate::cli::remove_stale_temps(args.package.parent().unwrap_or(std::path::Path::new(".")));
    let reporter = crate::progress::Reporter::new("copying", "copied", false);
    let result = hotfix_package::add_signature_with_progress(
        &args.package,
        key.as_ref(),
        reporter
            .as_ref()
            .map_or(&hotfix_package::progress::NoProgress, |r| r),
    );
    drop(reporter);
    let id = result.map_err(cosign_error)?;
    note(format!(
        "added a signature by key {id} to {}",
        args.package.display()
    ));
    Ok(EXIT_OK)
}

pub(crate) fn cosign_error(err: CosignError) -> CliError {
    let message = err.to_string();
    let hint = match &err {
        CosignError::Read(e) => return crate::inspect::inspect_error_message(e, message),
        CosignError::AlreadySigned { .. } => {
            "each key signs a package once; have another approver sign with their key \
             (`hotfix inspect` lists the signers)"
        }
        CosignError::BadSignatureEntry { .. } | CosignError::UnsupportedEntry { .. } => {
            "the package is damaged or was not made by `hotfix build`; fetch it again or rebuild it"
        }
        CosignError::TooManySignatures { .. } => "no more signatures fit; this package has enough",
        CosignError::Sign { source } if matches!(source.root(), SignError::Device { .. }) => {
            "check that the token is still present and the key may sign; then sign again"
        }
        CosignError::Sign { .. } => {
            "check that --key is a minisign secret key (`hotfix keygen` or `minisign -G`)"
        }
        CosignError::Write { .. } => {
            "check that the package's folder is writable and has free space"
        }
        _ => "see the message above",
    };
    CliError::usage(message).hint(hint)
}
