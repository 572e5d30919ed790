//! `hotfix keygen`: a new minisign-compatible key pair, in files or in a PKCS#11 token.
//!
//! Writes both files atomically and never over an existing file; the secret key is
//! readable by its owner only (unix). With `--key pkcs11:...` the key pair is made on
//! the token (the private key never leaves it) and only the `.pub` file is written. The
//! key id goes to stdout, notes to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use hotfix_sign::{KeyPairPaths, SecretKey, SignError, Signer};

use crate::cli::{CliError, CmdResult, EXIT_OK, Global, note};
use crate::passphrase;

/// Writes PREFIX.key (secret) and PREFIX.pub (public) in the minisign formats.
///
/// Examples:
///   HOTFIX_PASSPHRASE=... hotfix keygen --output keys/release --comment "release 2026"
///   hotfix keygen --output /tmp/test --no-passphrase
///   HOTFIX_PKCS11_PIN=... hotfix keygen --output keys/release \
///     --key 'pkcs11:token=release;object=hotfix?module-path=/usr/lib/softhsm/libsofthsm2.so'
///
/// The minisign key id of a token key is the first 8 bytes of BLAKE2b-512 over its
/// 32-byte Ed25519 public key; keygen also stores it as the key's CKA_ID when the URI
/// has no id=.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path prefix: writes PREFIX.key and PREFIX.pub; refuses to overwrite either.
    #[arg(long, short)]
    pub output: PathBuf,
    /// Untrusted comment stored in both files.
    #[arg(long)]
    pub comment: Option<String>,
    /// Write an unencrypted secret key (for tests and throw-away keys only).
    #[arg(long, conflicts_with = "key")]
    pub no_passphrase: bool,
    /// Make the key pair in a PKCS#11 token instead and write only PREFIX.pub: an RFC
    /// 7512 URI naming the token and the new key's label, as
    /// pkcs11:token=LABEL;object=KEY?module-path=/path/to/module.so. The module may
    /// instead come from HOTFIX_PKCS11_MODULE; the PIN comes from the URI's
    /// pin-source=file:PATH, else HOTFIX_PKCS11_PIN, else a prompt.
    #[arg(long, value_name = "PKCS11_URI")]
    pub key: Option<String>,
    /// With --key: do not generate; write PREFIX.pub for the Ed25519 key already on the
    /// token (made by an earlier keygen or by pkcs11-tool).
    #[arg(long, requires = "key")]
    pub existing: bool,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let paths = KeyPairPaths::from_prefix(&args.output);
    // Refuse before asking for a passphrase or PIN; the write itself checks again.
    let existing = if args.key.is_some() {
        std::fs::symlink_metadata(&paths.public)
            .is_ok()
            .then_some(paths.public.as_path())
    } else {
        paths.existing()
    };
    if let Some(existing) = existing {
        return Err(exists_error(existing));
    }
    if let Some(comment) = &args.comment {
        hotfix_sign::check_untrusted_comment(comment).map_err(passphrase::sign_error)?;
    }
    if let Some(uri) = &args.key {
        return token_keygen(&args, uri, &paths.public);
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

/// keygen for a token key: the key pair on the token, the `.pub` file here.
fn token_keygen(args: &Args, uri: &str, public_path: &Path) -> CmdResult {
    if !hotfix_pkcs11::is_pkcs11_uri(uri) {
        return Err(CliError::usage(format!("--key {uri:?} is not a pkcs11: URI"))
            .hint("name the token key as pkcs11:token=LABEL;object=KEY?module-path=MODULE, or leave --key out to write a key file"));
    }
    let key = if args.existing {
        crate::pkcs11::open_key(uri)?
    } else {
        crate::pkcs11::generate_key(uri)?
    };
    let id = key.key_id();
    let comment = args
        .comment
        .clone()
        .unwrap_or_else(|| format!("hotfix public key {id} in {}", crate::pkcs11::key_text(uri)));
    let public_text = key.public_key().to_file_text(&comment);
    hotfix_sign::write_public_file(public_path, public_text.as_bytes(), false).map_err(
        |e| match e {
            SignError::AlreadyExists { path } => exists_error(&path),
            other => passphrase::sign_error(other),
        },
    )?;
    let made = if args.existing { "found" } else { "generated" };
    note(format!(
        "{made} Ed25519 key {} on PKCS#11 token {:?}; it stays there",
        key.name(),
        key.token()
    ));
    note(format!(
        "wrote public key {} (key id {id})",
        public_path.display()
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
