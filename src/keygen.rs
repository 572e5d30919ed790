//! `hotfix keygen`: a new minisign-compatible key pair.
//!
//! Writes both files atomically and never over an existing file; the secret key is
//! readable by its owner only (unix). The key id goes to stdout, notes to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use hotfix_sign::{KeyPairPaths, SecretKey, SignError};

use crate::cli::{CliError, CmdResult, EXIT_OK, Global, note};
use crate::passphrase;

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

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let paths = KeyPairPaths::from_prefix(&args.output);
    // Refuse before asking for a passphrase; the write itself checks again.
    if let Some(existing) = paths.existing() {
        return Err(exists_error(existing));
    }
    if let Some(comment) = &args.comment {
        hotfix_sign::check_untrusted_comment(comment).map_err(passphrase::sign_error)?;
    }
    let passphrase = if args.no_passphrase {
        None
    } else {
        Some(passphrase::for_new_key()?)
    };

    let key = SecretKey::generate().map_err(passphrase::sign_error)?;
    let id = key.key_id();
    let public_comment = args
        .comment
        .clone()
        .unwrap_or_else(|| format!("hotfix public key {id}"));
    let secret_comment = args.comment.as_deref().unwrap_or("hotfix secret key");
    if passphrase.is_some() {
        note("encrypting the secret key (scrypt: a few seconds and 1 GiB of memory)...");
    }
    crate::cli::remove_stale_temps(args.output.parent().unwrap_or(std::path::Path::new(".")));
    let secret_text = key
        .to_file_text(secret_comment, passphrase.as_ref().map(|p| p.as_bytes()))
        .map_err(passphrase::sign_error)?;
    let public_text = key.public_key().to_file_text(&public_comment);
    hotfix_sign::write_keypair_files(&paths, &secret_text, &public_text).map_err(|e| match e {
        SignError::AlreadyExists { path } => exists_error(&path),
        other => passphrase::sign_error(other),
    })?;

    let protection = if passphrase.is_some() {
        "passphrase-protected"
    } else {
        "NOT encrypted"
    };
    note(format!(
        "wrote secret key {} ({protection}); keep it secret",
        paths.secret.display()
    ));
    note(format!(
        "wrote public key {} (key id {id})",
        paths.public.display()
    ));
    writeln!(std::io::stdout(), "{id}").map_err(|e| CliError::io("cannot write to stdout", e))?;
    Ok(EXIT_OK)
}

fn exists_error(path: &Path) -> CliError {
    CliError::usage(format!(
        "{} already exists; refusing to overwrite it",
        path.display()
    ))
    .hint(format!(
        "pick another --output prefix, or remove {} if you really mean to replace that key",
        path.display()
    ))
}
