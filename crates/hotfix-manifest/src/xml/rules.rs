//! Value rules shared by the manifest reader and the build spec: title, description,
//! short text, version tokens, MSI GUIDs and SHA-256 digests.
//!
//! Each rule answers with the reason a value is refused, in words that fit after
//! `<element> attribute 'x': ` or a spec key; the caller adds the position. The rules
//! must never depend on where a value comes from, so `hotfix.toml` and the manifest can
//! never disagree about what is valid.

use super::{MAX_DESCRIPTION_BYTES, MAX_TITLE_CHARS, MAX_VALUE_CHARS};
use crate::Sha256;

fn bad_char(c: char, allow: &[char]) -> bool {
    (c.is_control() && !allow.contains(&c)) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// One line of text, not blank, at most [`MAX_TITLE_CHARS`] characters.
pub(crate) fn title(t: &str) -> Result<(), String> {
    if t.trim().is_empty() {
        return Err("the title is empty".into());
    }
    if t.chars().count() > MAX_TITLE_CHARS {
        return Err(format!("longer than {MAX_TITLE_CHARS} characters"));
    }
    if let Some(c) = t.chars().find(|&c| bad_char(c, &[])) {
        return Err(format!(
            "control character U+{:04X} (the title is one line)",
            c as u32
        ));
    }
    Ok(())
}

/// Text with `\n` line ends and tabs, no other control characters.
pub(crate) fn description(t: &str) -> Result<(), String> {
    if t.len() > MAX_DESCRIPTION_BYTES {
        return Err(format!("longer than {MAX_DESCRIPTION_BYTES} bytes"));
    }
    if let Some(c) = t.chars().find(|&c| bad_char(c, &['\n', '\t'])) {
        return Err(format!(
            "control character U+{:04X} (only line feeds and tabs are allowed)",
            c as u32
        ));
    }
    Ok(())
}

/// One line of text up to [`MAX_VALUE_CHARS`] characters (e.g. an MSI product name).
pub(crate) fn short_text(t: &str) -> Result<(), String> {
    if t.trim().is_empty() {
        return Err("empty".into());
    }
    if t.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("longer than {MAX_VALUE_CHARS} characters"));
    }
    if let Some(c) = t.chars().find(|&c| bad_char(c, &[])) {
        return Err(format!("control character U+{:04X}", c as u32));
    }
    Ok(())
}

/// Version-like tokens: releases, support packages, package and product versions.
/// ASCII letters, digits and `. _ + -`, starting with a letter or digit, at most 64.
pub(crate) fn version_token(v: &str) -> Result<(), String> {
    let ok_first = v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_first
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
    {
        return Err(format!(
            "'{v}' is not a version: 1 to 64 of A-Z a-z 0-9 . _ + -, starting with a letter or digit"
        ));
    }
    Ok(())
}

/// An MSI GUID: `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`, hex digits.
pub(crate) fn guid(v: &str) -> Result<(), String> {
    let b = v.as_bytes();
    let ok = b.len() == 38
        && b[0] == b'{'
        && b[37] == b'}'
        && b[1..37].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{v}' is not a GUID like {{8F1C2A3B-0000-4000-8000-00AA00BB00CC}}"
        ))
    }
}

/// 64 lower-case hex digits.
pub(crate) fn sha256(v: &str) -> Result<Sha256, String> {
    if v.len() == 64
        && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && let Some(h) = Sha256::from_hex(v)
    {
        return Ok(h);
    }
    Err(format!(
        "'{v}' is not a SHA-256 digest (64 lower-case hex digits)"
    ))
}
