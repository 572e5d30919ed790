//! XML 1.0 as both passes read it: the quick-xml reader configured once, its errors as
//! [`ManifestError`], and the character-level rules (whitespace, the `Char` production,
//! entity and character references).
//!
//! Only the five predefined entities and character references to allowed characters
//! resolve; this module must never resolve anything else (no DTD, no external or custom
//! entities), and never decide what an element means: that is the schema's job.

use quick_xml::escape::resolve_xml_entity;
use quick_xml::reader::Reader;

use super::error::{ManifestError, ManifestErrorKind};
use super::position::line_col;

pub(super) fn new_reader(text: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(text);
    let c = r.config_mut();
    c.check_end_names = true;
    c.check_comments = true;
    c.expand_empty_elements = false;
    c.trim_text(false);
    r
}

pub(super) fn syntax_error(text: &str, offset: u64, e: &quick_xml::Error) -> ManifestError {
    let (line, column) = line_col(text, offset);
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            ManifestError::at(
                line,
                column,
                ManifestErrorKind::UnknownEntity { name: name.clone() },
            )
        }
        e => ManifestError::at(
            line,
            column,
            ManifestErrorKind::Syntax {
                message: e.to_string(),
            },
        ),
    }
}

pub(super) fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A character XML 1.0 allows at all (`Char` production).
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Resolves a general reference (`lt`, `#x41`, ...) to its text, or says why not.
pub(super) fn resolve_ref(name: &str) -> Result<String, Option<String>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix('x') {
            if hex.is_empty() || hex.len() > 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(None);
            }
            u32::from_str_radix(hex, 16).map_err(|_| None)?
        } else {
            if num.is_empty() || num.len() > 10 || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(None);
            }
            num.parse::<u32>().map_err(|_| None)?
        };
        match char::from_u32(code) {
            Some(c) if is_xml_char(c) => Ok(c.to_string()),
            _ => Err(None),
        }
    } else {
        resolve_xml_entity(name)
            .map(str::to_string)
            .ok_or_else(|| Some(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_refs_resolve_only_to_xml_chars() {
        assert_eq!(resolve_ref("#x41"), Ok("A".into()));
        assert_eq!(resolve_ref("#65"), Ok("A".into()));
        assert_eq!(resolve_ref("lt"), Ok("<".into()));
        assert_eq!(resolve_ref("#1"), Err(None));
        assert_eq!(resolve_ref("#xD800"), Err(None));
        assert_eq!(resolve_ref("#xFFFF"), Err(None));
        assert_eq!(resolve_ref("nbsp"), Err(Some("nbsp".into())));
    }
}
