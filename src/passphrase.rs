//! Where secret key passphrases come from: `HOTFIX_PASSPHRASE`, else a prompt on the
//! terminal. Passphrases are zeroized after use.

use std::io::IsTerminal;

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

fn prompt(text: &str) -> Result<Zeroizing<String>, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage("a passphrase is needed but there is no terminal to ask on")
            .hint(format!("set {ENV} in the environment")));
    }
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .map_err(|e| CliError::io("cannot read the passphrase", e))
}
