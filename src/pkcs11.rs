//! Keys in PKCS#11 tokens for `keygen`, `build` and `sign`: where the module and the
//! PIN come from, and how token errors read (with a `hint:`, exit 2).
//!
//! The module is the URI's `module-path=`, else `HOTFIX_PKCS11_MODULE`. The PIN is read
//! from the URI's `pin-source=` file, else `HOTFIX_PKCS11_PIN`, else a prompt on the
//! terminal; never from the command line. A PIN is zeroized after use and never printed.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use hotfix_pkcs11::{Module, Pkcs11Error, Pkcs11Key, Pkcs11Uri, Token};
use zeroize::Zeroizing;

use crate::cli::CliError;

/// Environment variable naming the PKCS#11 module when the URI has no `module-path=`.
pub const MODULE_ENV: &str = "HOTFIX_PKCS11_MODULE";
/// Environment variable holding the token's user PIN for non-interactive use.
pub const PIN_ENV: &str = "HOTFIX_PKCS11_PIN";

/// A PIN file is one line; anything larger is not a PIN file.
const MAX_PIN_FILE: u64 = 4096;

/// The help text shared by every `--key` that takes a token key.
pub const KEY_HELP: &str = "Secret key: a minisign key file, or a PKCS#11 key as an RFC 7512 URI \
     (pkcs11:token=LABEL;object=KEY?module-path=/path/to/module.so). The module may instead \
     come from HOTFIX_PKCS11_MODULE; the PIN comes from the URI's pin-source=file:PATH, \
     else HOTFIX_PKCS11_PIN, else a prompt. A file whose name starts with pkcs11: is \
     written ./pkcs11:...";

/// Opens the key the URI names, logged in and ready to sign.
pub fn open_key(uri_text: &str) -> Result<Pkcs11Key, CliError> {
    let (uri, token) = open_token(uri_text)?;
    let pin = pin_for(&uri, &token)?;
    token
        .login(pin.as_ref().map(|p| p.as_str()), false)
        .and_then(|s| s.find_key(&uri))
        .map_err(|e| error(e, &uri))
}

/// Generates a new Ed25519 key on the token under the URI's `object=` (and `id=`).
pub fn generate_key(uri_text: &str) -> Result<Pkcs11Key, CliError> {
    let (uri, token) = open_token(uri_text)?;
    let pin = pin_for(&uri, &token)?;
    token
        .login(pin.as_ref().map(|p| p.as_str()), true)
        .and_then(|s| s.generate_key(&uri))
        .map_err(|e| error(e, &uri))
}

/// The parsed URI without module or PIN source, for messages and key comments.
pub fn key_text(uri_text: &str) -> String {
    Pkcs11Uri::parse(uri_text)
        .map(|u| u.key_text())
        .unwrap_or_else(|_| "pkcs11 key".to_owned())
}

fn open_token(uri_text: &str) -> Result<(Pkcs11Uri, Token), CliError> {
    let uri = Pkcs11Uri::parse(uri_text).map_err(|e| error(e, &Pkcs11Uri::default()))?;
    let module = module_path(&uri)?;
    let module = Module::load(&module).map_err(|e| error(e, &uri))?;
    let token = module.token(&uri).map_err(|e| error(e, &uri))?;
    Ok((uri, token))
}

fn module_path(uri: &Pkcs11Uri) -> Result<PathBuf, CliError> {
    if let Some(path) = &uri.module_path {
        return Ok(path.clone());
    }
    match std::env::var_os(MODULE_ENV) {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => Err(CliError::usage(format!(
            "no PKCS#11 module for {}: the URI has no module-path and {MODULE_ENV} is not set",
            uri.key_text()
        ))
        .hint(format!(
            "add ?module-path=/path/to/module.so to the URI or set {MODULE_ENV} \
             (SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so)"
        ))),
    }
}

fn pin_for(uri: &Pkcs11Uri, token: &Token) -> Result<Option<Zeroizing<String>>, CliError> {
    if !token.needs_pin() {
        return Ok(None);
    }
    if let Some(source) = &uri.pin_source {
        return read_pin_source(source).map(Some);
    }
    if let Some(pin) = std::env::var_os(PIN_ENV) {
        let pin = Zeroizing::new(pin.into_string().map_err(|_| {
            CliError::usage(format!("{PIN_ENV} is not valid UTF-8"))
                .hint("set the PIN as the token expects it, in UTF-8")
        })?);
        if pin.is_empty() {
            return Err(CliError::usage(format!("{PIN_ENV} is set but empty"))
                .hint("set it to the token's user PIN, or unset it to be asked"));
        }
        return Ok(Some(pin));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "PKCS#11 token {:?} needs a PIN and there is no terminal to ask on",
            token.label()
        ))
        .hint(format!(
            "set {PIN_ENV}, or add ?pin-source=file:/path/to/pin-file to the URI"
        )));
    }
    rpassword::prompt_password(format!("PIN for PKCS#11 token {:?}: ", token.label()))
        .map(|p| Some(Zeroizing::new(p)))
        .map_err(|e| CliError::io("cannot read the PIN", e))
}

/// Reads the PIN from a `pin-source` (RFC 7512): a `file:` URI or a path.
fn read_pin_source(source: &str) -> Result<Zeroizing<String>, CliError> {
    let path = if let Some(rest) = source.strip_prefix("file://") {
        // Only local files: file:///abs has an empty authority.
        rest.to_owned()
    } else if let Some(rest) = source.strip_prefix("file:") {
        rest.to_owned()
    } else if source.contains(':') && !source.starts_with('/') {
        return Err(CliError::usage(format!(
            "unsupported pin-source {source:?}: only file: sources are read"
        ))
        .hint("write the PIN to a file readable only by you and use pin-source=file:/path/to/it"));
    } else {
        source.to_owned()
    };
    let path = Path::new(&path);
    let bad = |e: std::io::Error| {
        CliError::io(format!("cannot read the PIN file {}", path.display()), e)
            .hint("check the pin-source path in the URI")
    };
    let file = std::fs::File::open(path).map_err(bad)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_PIN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(bad)?;
    if bytes.len() as u64 > MAX_PIN_FILE {
        return Err(CliError::usage(format!(
            "the PIN file {} is larger than {MAX_PIN_FILE} bytes",
            path.display()
        ))
        .hint("a PIN file holds the PIN on one line"));
    }
    // One trailing line break is how editors and `echo` end a file, not part of the PIN.
    let mut end = bytes.len();
    if bytes[..end].ends_with(b"\n") {
        end -= 1;
        if bytes[..end].ends_with(b"\r") {
            end -= 1;
        }
    }
    let pin = std::str::from_utf8(&bytes[..end]).map_err(|_| {
        CliError::usage(format!("the PIN file {} is not UTF-8", path.display()))
            .hint("write the PIN as text")
    })?;
    if pin.is_empty() {
        return Err(
            CliError::usage(format!("the PIN file {} is empty", path.display()))
                .hint("write the token's user PIN into it"),
        );
    }
    Ok(Zeroizing::new(pin.to_owned()))
}

/// A token error as the user sees it: all are bad input (exit 2).
pub fn error(err: Pkcs11Error, uri: &Pkcs11Uri) -> CliError {
    let message = err.to_string();
    let hint = match &err {
        Pkcs11Error::InvalidUri { .. } => "write it as pkcs11:token=LABEL;object=KEY?module-path=/path/to/module.so \
             (RFC 7512; percent-encode spaces as %20)"
            .to_owned(),
        Pkcs11Error::PinInUri { .. } => format!(
            "remove pin-value; give the PIN in {PIN_ENV}, a pin-source=file:PATH, or at the prompt"
        ),
        Pkcs11Error::ModuleLoad { .. } => format!(
            "check the module-path (or {MODULE_ENV}) names the token's PKCS#11 library \
             (SoftHSM2 on Debian: /usr/lib/softhsm/libsofthsm2.so)"
        ),
        Pkcs11Error::NoToken { .. } => {
            "check token= against the labels found (`pkcs11-tool --module MODULE --list-token-slots`)"
                .to_owned()
        }
        Pkcs11Error::AmbiguousToken { .. } => {
            "add serial= or slot-id= to the URI to pick one token".to_owned()
        }
        Pkcs11Error::WrongPin { .. } => format!(
            "check the user PIN ({PIN_ENV}, the pin-source file or the prompt); \
             repeated wrong PINs lock the token"
        ),
        Pkcs11Error::PinLocked { .. } => {
            "have the security officer unlock or reset the user PIN".to_owned()
        }
        Pkcs11Error::NoKey { .. } => {
            "check object= and id= against the keys on the token \
             (`pkcs11-tool --module MODULE --login --list-objects --type privkey`), \
             or make one with `hotfix keygen --key URI`"
                .to_owned()
        }
        Pkcs11Error::AmbiguousKey { .. } => {
            "add id= (or a more specific object=) to the URI to pick one key".to_owned()
        }
        Pkcs11Error::NoPublicKey { .. } => {
            "import the public key object with the same CKA_ID as the private key".to_owned()
        }
        Pkcs11Error::NotEd25519 { .. } | Pkcs11Error::BadPublicKey { .. } => {
            "minisign signatures need an Ed25519 key: make one with `hotfix keygen --key URI` \
             or `pkcs11-tool --keypairgen --key-type EC:edwards25519`"
                .to_owned()
        }
        Pkcs11Error::KeyExists { .. } => {
            "choose another object= label (and id=), or use the existing key with --existing"
                .to_owned()
        }
        Pkcs11Error::Unsupported { .. } => {
            "use a token (or a newer module) that supports Ed25519 (PKCS#11 3.0 EdDSA)".to_owned()
        }
        _ => format!(
            "check the token is present and the module works (`pkcs11-tool --module MODULE -L`); key {}",
            uri.key_text()
        ),
    };
    CliError::usage(message).hint(hint)
}
