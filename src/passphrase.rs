//! Where secret key passphrases come from: `HOTFIX_PASSPHRASE`, else a prompt on the
//! terminal. Passphrases are zeroized after use. Also the one place that loads a secret
//! key for a command and turns `hotfix_sign` errors into messages with a `hint:`, so
//! `keygen`, `build` and `sign` word them alike; a `--key` that is a `pkcs11:` URI is
//! handed to `crate::pkcs11`. Never prints or logs a passphrase.

use std::io::IsTerminal;
use std::path::Path;

use hotfix_sign::{SecretKey, SignError, Signer};
use zeroize::Zeroizing;

use crate::cli::CliError;

/// Environment variable holding the passphrase for non-interactive use.
pub const ENV: &str = "HOTFIX_PASSPHRASE";

/// Reads the passphrase to unlock an existing key.
pub fn for_unlock(key_path: &std::path::Path) -> Result<Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var(ENV) {
        return Ok(Zeroizing::new(p));
    }
    prompt(&format!("Passphrase for {}: ", key_path.display()))
}

/// Reads a new passphrase (asked twice on a terminal).
pub fn for_new_key() -> Result<Zeroizing<String>, CliError> {
    if let Ok(p) = std::env::var(ENV) {
        if p.is_empty() {
            return Err(CliError::usage(format!("{ENV} is set but empty"))
                .hint("set a passphrase, or pass --no-passphrase for an unencrypted key"));
        }
        return Ok(Zeroizing::new(p));
    }
    let first = prompt("New passphrase: ")?;
    let second = prompt("Repeat passphrase: ")?;
    if *first != *second {
        return Err(CliError::usage("the two passphrases differ").hint("run the command again"));
    }
    if first.is_empty() {
        return Err(CliError::usage("empty passphrase")
            .hint("type a passphrase, or pass --no-passphrase for an unencrypted key"));
    }
    Ok(first)
}

/// The `pkcs11:` URI `key` is, if it is one.
pub fn as_pkcs11_uri(key: &Path) -> Option<&str> {
    key.to_str().filter(|k| hotfix_pkcs11::is_pkcs11_uri(k))
}

/// The signer `--key` names: a key in a PKCS#11 token (a `pkcs11:` URI, see
/// `crate::pkcs11`) or a minisign secret key file (see [`unlock_secret_key`]).
pub fn load_signer(key: &Path) -> Result<Box<dyn Signer>, CliError> {
    match as_pkcs11_uri(key) {
        Some(uri) => Ok(Box::new(crate::pkcs11::open_key(uri)?)),
        None => Ok(Box::new(unlock_secret_key(key)?)),
    }
}

/// Loads the secret key at `path`, asking for its passphrase (see [`for_unlock`]) only
/// when the file is encrypted. A `pkcs11:` URI is refused with a hint: the commands that
/// call this sign through formats that take a key file only.
pub fn unlock_secret_key(path: &Path) -> Result<SecretKey, CliError> {
    if as_pkcs11_uri(path).is_some() {
        return Err(CliError::usage(format!(
            "{} is a PKCS#11 key; this command signs with a minisign key file only",
            crate::pkcs11::key_text(&path.to_string_lossy())
        ))
        .hint(
            "sign with a key file here; PKCS#11 keys sign packages (`hotfix build`, `hotfix sign`)",
        ));
    }
    let encrypted = SecretKey::file_is_encrypted(path).map_err(sign_error)?;
    if !encrypted {
        return SecretKey::from_file(path, None).map_err(sign_error);
    }
    let passphrase = for_unlock(path)?;
    SecretKey::from_file(path, Some(passphrase.as_bytes())).map_err(sign_error)
}

/// A `hotfix_sign` error as the user sees it. Failed signature checks exit 1; bad
/// input, keys and passphrases exit 2.
pub fn sign_error(err: SignError) -> CliError {
    if matches!(err.root(), SignError::Policy { .. }) {
        return crate::trust::policy_error(err);
    }
    let message = err.to_string();
    let failed = |hint: &str| CliError::failed(message.clone()).hint(hint);
    let usage = |hint: &str| CliError::usage(message.clone()).hint(hint);
    match err.root() {
        SignError::WrongPassphrase => usage(&format!(
            "check the passphrase ({ENV} or the prompt) is the one this key was made with"
        )),
        SignError::PassphraseRequired => usage(&format!(
            "set {ENV}, or run on a terminal to be asked for the passphrase"
        )),
        SignError::InvalidPassphrase { .. } => {
            usage("choose a passphrase of 1 to 1024 bytes, or use --no-passphrase")
        }
        SignError::UnsupportedKdfParams { .. } => {
            usage("re-encrypt the key with minisign's default settings (`minisign -C -s KEY`)")
        }
        SignError::Malformed { .. } | SignError::UnsupportedAlgorithm { .. } => usage(
            "check that the file is a minisign key or signature (as `hotfix keygen` or `minisign -G` writes)",
        ),
        SignError::FileTooLarge { .. } => {
            usage("check the path: key and signature files are a few hundred bytes")
        }
        SignError::InvalidComment { .. } => usage("use one line of printable text for the comment"),
        SignError::Io { .. } => usage("check that the path exists and is readable"),
        SignError::Write { .. } => {
            usage("check that the folder exists, is writable and has free space")
        }
        SignError::AlreadyExists { .. } => usage(
            "choose another path, or remove the existing file if you really mean to replace it",
        ),
        SignError::NoKeysInFolder { .. } => {
            usage("put the trusted public keys (*.pub) in that folder, or name one .pub file")
        }
        SignError::DuplicateKey { .. } => {
            usage("remove one of the two files: a key id must name one key only")
        }
        SignError::Random { .. } => usage("the system random generator failed; try again"),
        SignError::Device { .. } => usage(
            "check that the token is still present and the key may sign (CKA_SIGN); then try again",
        ),
        SignError::KeyIdMismatch { .. } | SignError::UnknownKey { .. } => {
            failed("check that the right public key is trusted for this signer")
        }
        SignError::BadSignature { .. } | SignError::BadGlobalSignature { .. } => {
            failed("do not use this file: it is not what the key holder signed")
        }
        _ => CliError::usage(message.clone()),
    }
}

fn prompt(text: &str) -> Result<Zeroizing<String>, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(
            CliError::usage("a passphrase is needed but there is no terminal to ask on")
                .hint(format!("set {ENV} in the environment")),
        );
    }
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| CliError::io("cannot read the passphrase", e))
}
