//! Strict, bounded reading of the line-based minisign file texts, and the checks on
//! comments that go into them. Everything here handles untrusted input: it must never
//! panic, never allocate more than the caps below, and never accept a text that
//! `minisign` itself would read differently.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::SignError;

pub(crate) const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
pub(crate) const TRUSTED_PREFIX: &str = "trusted comment: ";

/// Longest untrusted comment (bytes). minisign reads the comment line into a 1024-byte
/// buffer, so a longer line would be split and misread by it.
pub const MAX_UNTRUSTED_COMMENT: usize = 1000;
/// Longest trusted comment (bytes); minisign's buffer is 8192 bytes.
pub const MAX_TRUSTED_COMMENT: usize = 8000;
/// Largest key or signature file read (bytes): far above any valid one.
pub(crate) const MAX_FILE_BYTES: u64 = 16 * 1024;

/// Reads a small text file, refusing anything larger than [`MAX_FILE_BYTES`] or not UTF-8.
/// The buffer is zeroized on drop because secret key files go through here too.
pub(crate) fn read_text_file(
    path: &Path,
    what: &'static str,
) -> Result<Zeroizing<String>, SignError> {
    let io_err = |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(1024));
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(SignError::FileTooLarge {
            path: path.to_path_buf(),
            what,
            limit: MAX_FILE_BYTES,
        });
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(e) => Err(SignError::malformed(what, format!("not UTF-8 text ({e})")).in_file(path)),
    }
}

/// `text` without a leading UTF-8 byte order mark (Windows editors add one).
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Splits `text` into exactly `count` lines. Lines end with `\n` (an optional `\r`
/// before it is dropped, as minisign does); the final newline and trailing empty lines
/// are optional, any other extra line is an error. A leading byte order mark is ignored.
pub(crate) fn lines<'a>(
    text: &'a str,
    count: usize,
    what: &'static str,
) -> Result<Vec<&'a str>, SignError> {
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(SignError::malformed(
            what,
            format!("the text is larger than {MAX_FILE_BYTES} bytes"),
        ));
    }
    let mut out: Vec<&str> = Vec::with_capacity(count);
    for (index, raw) in strip_bom(text).split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if index < count {
            out.push(line);
        } else if !line.is_empty() {
            return Err(SignError::malformed(
                what,
                format!(
                    "unexpected text on line {} (expected {count} lines)",
                    index + 1
                ),
            ));
        }
    }
    if out.len() < count {
        return Err(SignError::malformed(
            what,
            format!("{} line(s) where {count} are expected", out.len()),
        ));
    }
    Ok(out)
}

/// The text after `prefix` on a comment line, checked like a comment we would write.
pub(crate) fn comment_line<'a>(
    line: &'a str,
    prefix: &str,
    max: usize,
    what: &'static str,
    comment: &'static str,
) -> Result<&'a str, SignError> {
    let Some(rest) = line.strip_prefix(prefix) else {
        return Err(SignError::malformed(
            what,
            format!("the {comment} line does not start with {prefix:?}"),
        ));
    };
    check_comment(rest, max, comment).map_err(|e| match e {
        SignError::InvalidComment { reason, .. } => SignError::malformed(what, reason),
        other => other,
    })?;
    Ok(rest)
}

/// A comment must fit minisign's buffers and hold no line break or control character
/// (a tab is allowed: minisign's own default trusted comment uses tabs).
pub(crate) fn check_comment(text: &str, max: usize, what: &'static str) -> Result<(), SignError> {
    if text.len() > max {
        return Err(SignError::InvalidComment {
            what,
            reason: format!(
                "the {what} is {} bytes long, at most {max} are allowed",
                text.len()
            ),
        });
    }
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(SignError::InvalidComment {
            what,
            reason: format!("the {what} contains the control character {c:?}"),
        });
    }
    Ok(())
}

/// Decodes a base64 line (standard alphabet, canonical padding, no whitespace) of exactly
/// `N` bytes into `out`.
pub(crate) fn decode_exact<const N: usize>(
    line: &str,
    out: &mut [u8; N],
    what: &'static str,
    field: &str,
) -> Result<(), SignError> {
    let expected_chars = N.div_ceil(3) * 4;
    if line.len() != expected_chars {
        return Err(SignError::malformed(
            what,
            format!(
                "the {field} is {} characters of base64, expected {expected_chars}",
                line.len()
            ),
        ));
    }
    match STANDARD.decode_slice(line.as_bytes(), out) {
        Ok(n) if n == N => Ok(()),
        Ok(n) => Err(SignError::malformed(
            what,
            format!("the {field} decodes to {n} bytes, expected {N}"),
        )),
        Err(e) => Err(SignError::malformed(
            what,
            format!("the {field} is not valid base64 ({e})"),
        )),
    }
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Printable form of a two-byte algorithm identifier for messages.
pub(crate) fn show_alg(bytes: [u8; 2]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}
