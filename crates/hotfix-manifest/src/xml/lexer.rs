//! Pass 1 of reading: lexical structure and limits, whatever the elements are called.
//!
//! Enforces the bounds (depth, element count, payload-file count) and refuses forbidden
//! constructs (DOCTYPE, processing instructions, CDATA, a misplaced declaration, text
//! outside the root) before the schema pass builds anything. It must never allocate in
//! proportion to what it counts, and never look at element names beyond counting
//! payload files.

use quick_xml::events::Event;

use super::error::{ManifestError, ManifestErrorKind};
use super::position::LineCursor;
use super::reader::Limits;
use super::syntax::{is_xml_char, is_xml_space, new_reader, resolve_ref, syntax_error};

/// Pass 1: lexical structure and limits, whatever the elements are.
pub(super) struct Lexer<'a> {
    pub(super) text: &'a str,
    pub(super) limits: Limits,
    pub(super) lines: LineCursor,
}

impl Lexer<'_> {
    fn at(&self, offset: u64) -> (u64, u64) {
        self.lines.at(self.text, offset)
    }

    pub(super) fn scan(&self) -> Result<(), ManifestError> {
        let mut r = new_reader(self.text);
        let mut depth = 0usize;
        let mut elements = 0usize;
        let mut files = 0usize;
        let mut root_seen = false;
        let mut first = true;
        loop {
            let start = r.buffer_position();
            let event = r
                .read_event()
                .map_err(|e| syntax_error(self.text, r.error_position(), &e))?;
            let (line, column) = self.at(start);
            let here = |kind: ManifestErrorKind| ManifestError::at(line, column, kind);
            let was_first = std::mem::replace(&mut first, false);
            match event {
                Event::Decl(d) => {
                    if !was_first || start != 0 {
                        return Err(here(ManifestErrorKind::Forbidden {
                            construct: "an XML declaration after the start of the document",
                        }));
                    }
                    self.check_decl(&d, line, column)?;
                }
                Event::DocType(_) => {
                    return Err(here(ManifestErrorKind::Forbidden {
                        construct: "a DOCTYPE declaration (DTD, entity declarations)",
                    }));
                }
                Event::PI(_) => {
                    return Err(here(ManifestErrorKind::Forbidden {
                        construct: "a processing instruction",
                    }));
                }
                Event::CData(_) => {
                    return Err(here(ManifestErrorKind::Forbidden {
                        construct: "a CDATA section",
                    }));
                }
                Event::GeneralRef(g) => {
                    if depth == 0 {
                        return Err(here(ManifestErrorKind::Syntax {
                            message: "text outside the root element".into(),
                        }));
                    }
                    match resolve_ref(&g) {
                        Ok(_) => {}
                        Err(Some(name)) => {
                            return Err(here(ManifestErrorKind::UnknownEntity { name }));
                        }
                        Err(None) => {
                            return Err(here(ManifestErrorKind::Syntax {
                                message: format!("'&{};' is not a character XML allows", &*g),
                            }));
                        }
                    }
                }
                Event::Text(t) => {
                    if depth == 0 && !is_xml_space(&t) {
                        return Err(here(ManifestErrorKind::Syntax {
                            message: "text outside the root element".into(),
                        }));
                    }
                    if let Some(c) = t.chars().find(|&c| !is_xml_char(c)) {
                        return Err(here(ManifestErrorKind::Syntax {
                            message: format!("character U+{:04X} is not allowed in XML", c as u32),
                        }));
                    }
                }
                Event::Comment(_) => {}
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let is_start = matches!(event, Event::Start(_));
                    if depth == 0 {
                        if root_seen {
                            return Err(here(ManifestErrorKind::UnexpectedElement {
                                element: e.name().as_ref().to_string(),
                                parent: "the document".into(),
                                reason: "a document has one root element".into(),
                            }));
                        }
                        root_seen = true;
                    }
                    if depth + 1 > self.limits.max_depth {
                        return Err(here(ManifestErrorKind::TooDeep {
                            max: self.limits.max_depth,
                        }));
                    }
                    elements += 1;
                    if elements > self.limits.max_elements {
                        return Err(here(ManifestErrorKind::TooManyElements {
                            max: self.limits.max_elements,
                        }));
                    }
                    if matches!(e.name().as_ref(), "file" | "msi" | "doc") {
                        files += 1;
                        if files > self.limits.max_files {
                            return Err(here(ManifestErrorKind::TooManyFiles {
                                max: self.limits.max_files,
                            }));
                        }
                    }
                    if is_start {
                        depth += 1;
                    }
                }
                Event::End(_) => {
                    depth = depth.saturating_sub(1);
                }
                Event::Eof => {
                    if depth != 0 {
                        return Err(here(ManifestErrorKind::Syntax {
                            message: "document ends inside an element".into(),
                        }));
                    }
                    if !root_seen {
                        return Err(here(ManifestErrorKind::MissingElement {
                            element: "hotfix".into(),
                            parent: "the document".into(),
                        }));
                    }
                    return Ok(());
                }
            }
        }
    }

    fn check_decl(
        &self,
        d: &quick_xml::events::BytesDecl<'_>,
        line: u64,
        column: u64,
    ) -> Result<(), ManifestError> {
        let bad = |message: String| {
            ManifestError::at(line, column, ManifestErrorKind::Syntax { message })
        };
        let version = d
            .version()
            .map_err(|e| bad(format!("bad XML declaration: {e}")))?;
        if &*version != "1.0" {
            return Err(bad(format!(
                "XML version '{version}' (manifests are XML 1.0)"
            )));
        }
        if let Some(enc) = d.encoding() {
            let enc = enc.map_err(|e| bad(format!("bad XML declaration: {e}")))?;
            if !enc.eq_ignore_ascii_case("UTF-8") {
                return Err(bad(format!("encoding '{enc}' (manifests are UTF-8)")));
            }
        }
        Ok(())
    }
}
