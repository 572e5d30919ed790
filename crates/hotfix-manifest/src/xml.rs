//! Manifest XML, format v1: deterministic writer and strict, bounded reader.
//!
//! The writer produces the exact bytes that are signed, so it is a fixed template: fixed
//! element and attribute order, two-space indentation, `\n` line ends, UTF-8, no BOM.
//! The reader accepts only what format v1 describes (see `docs/FORMAT.md`) and refuses
//! everything else with an error that carries the line and column: no DOCTYPE (so no DTD,
//! no custom or external entities), no processing instructions, no CDATA, no unknown
//! elements or attributes, nesting and counts bounded. It must never allocate in
//! proportion to anything but the (size-capped) input, and never panic on any input.
//!
//! Reading is two passes over the same bytes: a lexical pass that enforces the
//! structural limits (depth, counts, forbidden constructs) whatever the elements are
//! called, then a schema pass that builds the [`Manifest`] and checks every value.

use std::cell::Cell;
use std::collections::HashMap;

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::names::{self, NameError, shorten};
use crate::{Base, FORMAT_VERSION, FileEntry, Manifest, MsiComponent, SoftwarePackage};

/// Manifests larger than this are refused before parsing (and before signature checks
/// read them into memory).
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest element nesting accepted (format v1 itself needs 3).
pub const MAX_DEPTH: usize = 8;

/// Most payload files (`file`, `msi` and `doc` elements together) in one manifest.
pub const MAX_FILES: usize = 1_000_000;

/// Most elements of any kind in one manifest.
pub const MAX_ELEMENTS: usize = 2 * MAX_FILES + 64;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 256;

/// Longest description (release notes), in bytes of UTF-8.
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;

/// Longest product name, version or other short attribute value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// Why a manifest could not be read (or, from [`Manifest::validate`], written).
///
/// Every variant that comes from the text carries the 1-based `line` and `column`
/// (counted in characters) where the problem starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("manifest is {size} bytes; the limit is {max}")]
    TooLarge { size: u64, max: u64 },

    #[error("manifest line {line}, column {column}: {message}")]
    Encoding {
        line: u64,
        column: u64,
        message: String,
    },

    /// Not well-formed XML.
    #[error("manifest line {line}, column {column}: {message}")]
    Syntax {
        line: u64,
        column: u64,
        message: String,
    },

    /// A construct format v1 never uses: DOCTYPE (DTDs, entity declarations), processing
    /// instructions, CDATA sections, a misplaced XML declaration.
    #[error("manifest line {line}, column {column}: {construct} is not allowed in a manifest")]
    Forbidden {
        line: u64,
        column: u64,
        construct: &'static str,
    },

    /// An entity reference other than the five predefined ones and character references.
    #[error(
        "manifest line {line}, column {column}: unknown entity '&{name};' (only &lt; &gt; &amp; &quot; &apos; and character references are allowed)"
    )]
    UnknownEntity {
        line: u64,
        column: u64,
        name: String,
    },

    #[error("manifest line {line}, column {column}: elements nested deeper than {max}")]
    TooDeep { line: u64, column: u64, max: usize },

    #[error("manifest line {line}, column {column}: more than {max} payload files")]
    TooManyFiles { line: u64, column: u64, max: usize },

    #[error("manifest line {line}, column {column}: more than {max} elements")]
    TooManyElements { line: u64, column: u64, max: usize },

    #[error(
        "manifest line {line}, column {column}: unknown element <{}> in {parent}",
        shorten(element)
    )]
    UnknownElement {
        line: u64,
        column: u64,
        element: String,
        parent: String,
    },

    /// A known element in the wrong place: out of order, repeated, or a second root.
    #[error("manifest line {line}, column {column}: <{element}> in {parent}: {reason}")]
    UnexpectedElement {
        line: u64,
        column: u64,
        element: String,
        parent: String,
        reason: String,
    },

    #[error("manifest line {line}, column {column}: {parent} has no <{element}>")]
    MissingElement {
        line: u64,
        column: u64,
        element: String,
        parent: String,
    },

    #[error("manifest line {line}, column {column}: text is not allowed in <{element}>")]
    UnexpectedText {
        line: u64,
        column: u64,
        element: String,
    },

    #[error(
        "manifest line {line}, column {column}: unknown attribute '{}' on <{element}>",
        shorten(attribute)
    )]
    UnknownAttribute {
        line: u64,
        column: u64,
        element: String,
        attribute: String,
    },

    #[error(
        "manifest line {line}, column {column}: attribute '{}' repeated on <{element}>",
        shorten(attribute)
    )]
    DuplicateAttribute {
        line: u64,
        column: u64,
        element: String,
        attribute: String,
    },

    #[error("manifest line {line}, column {column}: <{element}> has no '{attribute}' attribute")]
    MissingAttribute {
        line: u64,
        column: u64,
        element: String,
        attribute: String,
    },

    /// The manifest was written for a newer format than this build reads.
    #[error(
        "manifest format {found} is newer than this hotfix (reads up to {supported}); upgrade hotfix"
    )]
    NewerFormat {
        line: u64,
        column: u64,
        found: u32,
        supported: u32,
    },

    /// A value breaks its rule. `attribute` is empty when the value is an element's text.
    #[error(
        "manifest line {line}, column {column}: <{element}>{}: {reason}",
        attr_suffix(attribute)
    )]
    InvalidValue {
        line: u64,
        column: u64,
        element: String,
        attribute: String,
        reason: String,
    },

    /// A hotfix id, software package name or entry path refused by [`crate::names`].
    #[error(
        "manifest line {line}, column {column}: <{element}>{} '{}': {source}",
        attr_suffix(attribute),
        shorten(value)
    )]
    InvalidName {
        line: u64,
        column: u64,
        element: String,
        attribute: String,
        value: String,
        source: NameError,
    },

    /// A payload path outside the folder its element puts it in.
    #[error(
        "manifest line {line}, column {column}: <{element}> path '{}' must be {expected}",
        shorten(path)
    )]
    PathOutsideFolder {
        line: u64,
        column: u64,
        element: String,
        path: String,
        expected: String,
    },

    /// Two payload paths equal when compared case-insensitively.
    #[error(
        "manifest line {line}, column {column}: path '{}' is listed twice (first on line {first_line}; paths are compared case-insensitively)",
        shorten(path)
    )]
    DuplicatePath {
        line: u64,
        column: u64,
        path: String,
        first_line: u64,
    },

    /// One path is a file and a folder of another path (case-insensitively).
    #[error(
        "manifest line {line}, column {column}: path '{}' collides with '{}' (one would be both a file and a folder)",
        shorten(path),
        shorten(other)
    )]
    PathConflict {
        line: u64,
        column: u64,
        path: String,
        other: String,
    },

    /// Two names that differ only in case (software packages, hotfix ids).
    #[error(
        "manifest line {line}, column {column}: <{element}> '{}' is listed twice (first on line {first_line}; compared case-insensitively)",
        shorten(value)
    )]
    DuplicateName {
        line: u64,
        column: u64,
        element: String,
        value: String,
        first_line: u64,
    },

    /// A list out of its required order (see `docs/FORMAT.md`).
    #[error(
        "manifest line {line}, column {column}: <{element}> '{}' must come after '{}' (lists are sorted by byte value)",
        shorten(value),
        shorten(previous)
    )]
    NotSorted {
        line: u64,
        column: u64,
        element: String,
        value: String,
        previous: String,
    },

    /// From [`Manifest::validate`]: the model does not survive its own XML form.
    #[error("manifest cannot be written faithfully: {message}")]
    Unrepresentable { message: String },
}

fn attr_suffix(attribute: &str) -> String {
    if attribute.is_empty() {
        String::new()
    } else {
        format!(" attribute '{attribute}'")
    }
}

impl ManifestError {
    /// The 1-based (line, column) where the problem is, when it comes from the text.
    pub fn position(&self) -> Option<(u64, u64)> {
        use ManifestError::*;
        match self {
            TooLarge { .. } | Unrepresentable { .. } => None,
            Encoding { line, column, .. }
            | Syntax { line, column, .. }
            | Forbidden { line, column, .. }
            | UnknownEntity { line, column, .. }
            | TooDeep { line, column, .. }
            | TooManyFiles { line, column, .. }
            | TooManyElements { line, column, .. }
            | UnknownElement { line, column, .. }
            | UnexpectedElement { line, column, .. }
            | MissingElement { line, column, .. }
            | UnexpectedText { line, column, .. }
            | UnknownAttribute { line, column, .. }
            | DuplicateAttribute { line, column, .. }
            | MissingAttribute { line, column, .. }
            | NewerFormat { line, column, .. }
            | InvalidValue { line, column, .. }
            | InvalidName { line, column, .. }
            | PathOutsideFolder { line, column, .. }
            | DuplicatePath { line, column, .. }
            | PathConflict { line, column, .. }
            | DuplicateName { line, column, .. }
            | NotSorted { line, column, .. } => Some((*line, *column)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

impl Manifest {
    /// The exact bytes that are signed.
    ///
    /// Deterministic: the same model always gives the same bytes. Lists are written in
    /// the order they are in; a manifest that [`Manifest::validate`] accepts (call
    /// [`Manifest::sort`] first) reads back equal with [`Manifest::from_xml`].
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = String::with_capacity(1024 + 160 * self.payload().count());
        w.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        w.push_str("<hotfix");
        attr(&mut w, "format", &self.format.to_string());
        attr(&mut w, "id", &self.id);
        attr(&mut w, "version", &self.version.to_string());
        w.push_str(">\n");

        text_element(&mut w, "title", &self.title);
        if !self.description.is_empty() {
            text_element(&mut w, "description", &self.description);
        }
        w.push_str("  <base");
        attr(&mut w, "release", &self.base.release);
        attr(&mut w, "support-package", &self.base.support_package);
        w.push_str("/>\n");
        text_element(&mut w, "created", &self.created);
        id_list(&mut w, "supersedes", &self.supersedes);
        id_list(&mut w, "requires", &self.requires);

        for p in &self.software_packages {
            w.push_str("  <software-package");
            attr(&mut w, "name", &p.name);
            attr(&mut w, "version", &p.version);
            w.push_str(">\n");
            for f in &p.files {
                w.push_str("    <file");
                file_attrs(&mut w, f);
                w.push_str("/>\n");
            }
            w.push_str("  </software-package>\n");
        }
        for m in &self.msis {
            w.push_str("  <msi");
            file_attrs(&mut w, &m.file);
            attr(&mut w, "product-code", &m.product_code);
            attr(&mut w, "upgrade-code", &m.upgrade_code);
            attr(&mut w, "product-version", &m.product_version);
            attr(&mut w, "product-name", &m.product_name);
            attr(&mut w, "replaces-version", &m.replaces_version);
            w.push_str("/>\n");
        }
        for d in &self.docs {
            w.push_str("  <doc");
            file_attrs(&mut w, d);
            w.push_str("/>\n");
        }
        w.push_str("</hotfix>\n");
        w.into_bytes()
    }
}

fn attr(w: &mut String, name: &str, value: &str) {
    w.push(' ');
    w.push_str(name);
    w.push_str("=\"");
    for c in value.chars() {
        match c {
            '&' => w.push_str("&amp;"),
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            '"' => w.push_str("&quot;"),
            // Raw whitespace in attributes is normalised to spaces by readers; keep it.
            '\t' => w.push_str("&#9;"),
            '\n' => w.push_str("&#10;"),
            '\r' => w.push_str("&#13;"),
            c => w.push(c),
        }
    }
    w.push('"');
}

fn file_attrs(w: &mut String, f: &FileEntry) {
    attr(w, "path", &f.path);
    attr(w, "size", &f.size.to_string());
    attr(w, "sha256", &f.sha256.to_hex());
}

fn text_element(w: &mut String, name: &str, text: &str) {
    w.push_str("  <");
    w.push_str(name);
    w.push('>');
    for c in text.chars() {
        match c {
            '&' => w.push_str("&amp;"),
            '<' => w.push_str("&lt;"),
            '>' => w.push_str("&gt;"),
            // A raw CR would be turned into LF by any reader.
            '\r' => w.push_str("&#13;"),
            c => w.push(c),
        }
    }
    w.push_str("</");
    w.push_str(name);
    w.push_str(">\n");
}

fn id_list(w: &mut String, name: &str, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    w.push_str("  <");
    w.push_str(name);
    w.push_str(">\n");
    for id in ids {
        w.push_str("    <hotfix");
        attr(w, "id", id);
        w.push_str("/>\n");
    }
    w.push_str("  </");
    w.push_str(name);
    w.push_str(">\n");
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// Bounds applied while reading; the public constants in production, smaller in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_bytes: u64,
    pub max_depth: usize,
    pub max_files: usize,
    pub max_elements: usize,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits {
        max_bytes: MAX_MANIFEST_BYTES,
        max_depth: MAX_DEPTH,
        max_files: MAX_FILES,
        max_elements: MAX_ELEMENTS,
    };
}

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// Strict and bounded: see the module documentation and `docs/FORMAT.md` for every
    /// rule. The input is not trusted; this never panics and refuses inputs larger than
    /// [`MAX_MANIFEST_BYTES`] before looking at them.
    pub fn from_xml(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        from_xml_with(bytes, Limits::DEFAULT)
    }

    /// Checks that this manifest obeys every rule of format v1 and reads back unchanged
    /// from [`Manifest::to_xml`]. Builders call this before signing, so nothing is ever
    /// signed that a reader would refuse. Line numbers in errors refer to `to_xml()`.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let parsed = Manifest::from_xml(&self.to_xml())?;
        if parsed != *self {
            return Err(ManifestError::Unrepresentable {
                message: "reading the written XML gives a different manifest".into(),
            });
        }
        Ok(())
    }
}

pub(crate) fn from_xml_with(bytes: &[u8], limits: Limits) -> Result<Manifest, ManifestError> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ManifestError::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // The valid prefix is text; point just after it.
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col(valid, valid.len() as u64);
            return Err(ManifestError::Encoding {
                line,
                column,
                message: "not valid UTF-8".into(),
            });
        }
    };
    if text.starts_with('\u{feff}') {
        return Err(ManifestError::Encoding {
            line: 1,
            column: 1,
            message: "byte order mark before the XML declaration (manifests are UTF-8 without BOM)"
                .into(),
        });
    }
    Lexer {
        text,
        limits,
        lines: LineCursor::default(),
    }
    .scan()?;
    SchemaReader::new(text).read()
}

/// [`line_col`] for offsets that mostly grow, as a parser asks for them: it counts on
/// from the previous answer, so a whole pass costs one scan of the text instead of one
/// scan per event (which made parsing a 20,000-file manifest quadratic).
#[derive(Debug, Default)]
struct LineCursor {
    /// (byte offset on a character boundary, its 1-based line, its 1-based column).
    last: Cell<(usize, u64, u64)>,
}

impl LineCursor {
    fn at(&self, text: &str, offset: u64) -> (u64, u64) {
        let mut off = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        let (prev, line, column) = match self.last.get() {
            (0, 0, 0) => (0, 1, 1),
            (p, _, _) if p > off => (0, 1, 1),
            l => l,
        };
        let between = &text[prev..off];
        let (line, column) = match between.rfind('\n') {
            None => (line, column + between.chars().count() as u64),
            Some(i) => (
                line + between.bytes().filter(|&b| b == b'\n').count() as u64,
                between[i + 1..].chars().count() as u64 + 1,
            ),
        };
        self.last.set((off, line, column));
        (line, column)
    }
}

/// 1-based line and column (in characters) of a byte offset into `text`.
fn line_col(text: &str, offset: u64) -> (u64, u64) {
    let mut off = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}

fn new_reader(text: &str) -> Reader<&[u8]> {
    let mut r = Reader::from_str(text);
    let c = r.config_mut();
    c.check_end_names = true;
    c.check_comments = true;
    c.expand_empty_elements = false;
    c.trim_text(false);
    r
}

fn syntax_error(text: &str, offset: u64, e: &quick_xml::Error) -> ManifestError {
    let (line, column) = line_col(text, offset);
    match e {
        quick_xml::Error::Escape(quick_xml::escape::EscapeError::UnrecognizedEntity(_, name)) => {
            ManifestError::UnknownEntity {
                line,
                column,
                name: name.clone(),
            }
        }
        e => ManifestError::Syntax {
            line,
            column,
            message: e.to_string(),
        },
    }
}

fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// A character XML 1.0 allows at all (`Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Resolves a general reference (`lt`, `#x41`, ...) to its text, or says why not.
fn resolve_ref(name: &str) -> Result<String, Option<String>> {
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

/// Pass 1: lexical structure and limits, whatever the elements are.
struct Lexer<'a> {
    text: &'a str,
    limits: Limits,
    lines: LineCursor,
}

impl Lexer<'_> {
    fn at(&self, offset: u64) -> (u64, u64) {
        self.lines.at(self.text, offset)
    }

    fn scan(&self) -> Result<(), ManifestError> {
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
            let was_first = std::mem::replace(&mut first, false);
            match event {
                Event::Decl(d) => {
                    if !was_first || start != 0 {
                        return Err(ManifestError::Forbidden {
                            line,
                            column,
                            construct: "an XML declaration after the start of the document",
                        });
                    }
                    self.check_decl(&d, line, column)?;
                }
                Event::DocType(_) => {
                    return Err(ManifestError::Forbidden {
                        line,
                        column,
                        construct: "a DOCTYPE declaration (DTD, entity declarations)",
                    });
                }
                Event::PI(_) => {
                    return Err(ManifestError::Forbidden {
                        line,
                        column,
                        construct: "a processing instruction",
                    });
                }
                Event::CData(_) => {
                    return Err(ManifestError::Forbidden {
                        line,
                        column,
                        construct: "a CDATA section",
                    });
                }
                Event::GeneralRef(g) => {
                    if depth == 0 {
                        return Err(ManifestError::Syntax {
                            line,
                            column,
                            message: "text outside the root element".into(),
                        });
                    }
                    match resolve_ref(&g) {
                        Ok(_) => {}
                        Err(Some(name)) => {
                            return Err(ManifestError::UnknownEntity { line, column, name });
                        }
                        Err(None) => {
                            return Err(ManifestError::Syntax {
                                line,
                                column,
                                message: format!("'&{};' is not a character XML allows", &*g),
                            });
                        }
                    }
                }
                Event::Text(t) => {
                    if depth == 0 && !is_xml_space(&t) {
                        return Err(ManifestError::Syntax {
                            line,
                            column,
                            message: "text outside the root element".into(),
                        });
                    }
                    if let Some(c) = t.chars().find(|&c| !is_xml_char(c)) {
                        return Err(ManifestError::Syntax {
                            line,
                            column,
                            message: format!("character U+{:04X} is not allowed in XML", c as u32),
                        });
                    }
                }
                Event::Comment(_) => {}
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let is_start = matches!(event, Event::Start(_));
                    if depth == 0 {
                        if root_seen {
                            return Err(ManifestError::UnexpectedElement {
                                line,
                                column,
                                element: e.name().as_ref().to_string(),
                                parent: "the document".into(),
                                reason: "a document has one root element".into(),
                            });
                        }
                        root_seen = true;
                    }
                    if depth + 1 > self.limits.max_depth {
                        return Err(ManifestError::TooDeep {
                            line,
                            column,
                            max: self.limits.max_depth,
                        });
                    }
                    elements += 1;
                    if elements > self.limits.max_elements {
                        return Err(ManifestError::TooManyElements {
                            line,
                            column,
                            max: self.limits.max_elements,
                        });
                    }
                    if matches!(e.name().as_ref(), "file" | "msi" | "doc") {
                        files += 1;
                        if files > self.limits.max_files {
                            return Err(ManifestError::TooManyFiles {
                                line,
                                column,
                                max: self.limits.max_files,
                            });
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
                        return Err(ManifestError::Syntax {
                            line,
                            column,
                            message: "document ends inside an element".into(),
                        });
                    }
                    if !root_seen {
                        return Err(ManifestError::MissingElement {
                            line,
                            column,
                            element: "hotfix".into(),
                            parent: "the document".into(),
                        });
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
        let bad = |message: String| ManifestError::Syntax {
            line,
            column,
            message,
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

/// Where each kind of child of `<hotfix>` may appear, in order.
const HOTFIX_CHILDREN: &[(&str, bool)] = &[
    // (name, may repeat)
    ("title", false),
    ("description", false),
    ("base", false),
    ("created", false),
    ("supersedes", false),
    ("requires", false),
    ("software-package", true),
    ("msi", true),
    ("doc", true),
];

/// An element as the schema pass sees it.
enum Node<'a> {
    Open(BytesStart<'a>, u64),
    Empty(BytesStart<'a>, u64),
    Close,
}

/// Attribute values of one element, looked up by the names the schema allows.
struct Attrs {
    element: &'static str,
    offset: u64,
    values: Vec<(&'static str, String)>,
}

/// Pass 2: the schema, every value rule, and the cross-entry rules.
struct SchemaReader<'a> {
    text: &'a str,
    r: Reader<&'a [u8]>,
    /// Collision keys of payload paths -> (line first listed on, the path).
    paths: HashMap<String, (u64, String)>,
    /// Collision keys of folders implied by the payload paths -> one path implying each.
    dirs: HashMap<String, String>,
    lines: LineCursor,
}

impl<'a> SchemaReader<'a> {
    fn new(text: &'a str) -> Self {
        SchemaReader {
            text,
            r: new_reader(text),
            paths: HashMap::new(),
            dirs: HashMap::new(),
            lines: LineCursor::default(),
        }
    }

    fn at(&self, offset: u64) -> (u64, u64) {
        self.lines.at(self.text, offset)
    }

    fn line(&self, offset: u64) -> u64 {
        self.at(offset).0
    }

    /// Next element event, skipping comments, the declaration and whitespace.
    fn next_node(&mut self, parent: &str) -> Result<Option<Node<'a>>, ManifestError> {
        loop {
            let start = self.r.buffer_position();
            let event = self
                .r
                .read_event()
                .map_err(|e| syntax_error(self.text, self.r.error_position(), &e))?;
            match event {
                Event::Start(e) => return Ok(Some(Node::Open(e, start))),
                Event::Empty(e) => return Ok(Some(Node::Empty(e, start))),
                Event::End(_) => return Ok(Some(Node::Close)),
                Event::Eof => return Ok(None),
                Event::Text(t) if is_xml_space(&t) => {}
                Event::Comment(_) | Event::Decl(_) => {}
                Event::Text(_) | Event::GeneralRef(_) | Event::CData(_) => {
                    let (line, column) = self.at(start);
                    return Err(ManifestError::UnexpectedText {
                        line,
                        column,
                        element: parent.to_string(),
                    });
                }
                Event::DocType(_) | Event::PI(_) => {
                    // Refused by the lexical pass already.
                    let (line, column) = self.at(start);
                    return Err(ManifestError::Forbidden {
                        line,
                        column,
                        construct: "a DOCTYPE declaration or processing instruction",
                    });
                }
            }
        }
    }

    /// After an element opened with a start tag that must have no children.
    fn expect_close(&mut self, element: &str) -> Result<(), ManifestError> {
        match self.next_node(element)? {
            Some(Node::Close) | None => Ok(()),
            Some(Node::Open(e, off)) | Some(Node::Empty(e, off)) => {
                Err(self.unknown_element(&e, off, element))
            }
        }
    }

    fn unknown_element(&self, e: &BytesStart<'_>, off: u64, parent: &str) -> ManifestError {
        let (line, column) = self.at(off);
        ManifestError::UnknownElement {
            line,
            column,
            element: e.name().as_ref().to_string(),
            parent: format!("<{parent}>"),
        }
    }

    /// Reads the attributes of `e`, refusing unknown and repeated ones.
    fn attrs(
        &self,
        e: &BytesStart<'_>,
        element: &'static str,
        allowed: &[&'static str],
        offset: u64,
    ) -> Result<Attrs, ManifestError> {
        let (line, column) = self.at(offset);
        let mut values: Vec<(&'static str, String)> = Vec::with_capacity(allowed.len());
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Unknown attributes are reported after `format`, so a newer format's new
        // attributes produce the clearer "newer format" message instead.
        let mut unknown: Option<String> = None;
        // quick-xml's own repeat check reports only positions; ours names the attribute.
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| ManifestError::Syntax {
                line,
                column,
                message: format!("in <{element}>: {err}"),
            })?;
            let key = a.key.as_ref();
            if !seen.insert(key.to_string()) {
                return Err(ManifestError::DuplicateAttribute {
                    line,
                    column,
                    element: element.into(),
                    attribute: key.into(),
                });
            }
            let value = a
                .normalized_value_with(XmlVersion::Implicit1_0, 1, resolve_xml_entity)
                .map_err(|err| match err {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => ManifestError::UnknownEntity { line, column, name },
                    err => ManifestError::Syntax {
                        line,
                        column,
                        message: format!("attribute '{key}' of <{element}>: {err}"),
                    },
                })?;
            match allowed.iter().find(|n| **n == key) {
                Some(name) => values.push((name, value.into_owned())),
                None => {
                    if unknown.is_none() {
                        unknown = Some(key.to_string());
                    }
                }
            }
        }
        let attrs = Attrs {
            element,
            offset,
            values,
        };
        if let Some(attribute) = unknown {
            // Let the root check its format first.
            if element == "hotfix"
                && let Some(v) = attrs.get("format")
            {
                self.check_format(v, offset)?;
            }
            return Err(ManifestError::UnknownAttribute {
                line,
                column,
                element: element.into(),
                attribute,
            });
        }
        Ok(attrs)
    }

    fn required<'b>(&self, attrs: &'b Attrs, name: &'static str) -> Result<&'b str, ManifestError> {
        attrs.get(name).ok_or_else(|| {
            let (line, column) = self.at(attrs.offset);
            ManifestError::MissingAttribute {
                line,
                column,
                element: attrs.element.into(),
                attribute: name.into(),
            }
        })
    }

    fn invalid(
        &self,
        offset: u64,
        element: &str,
        attribute: &str,
        reason: String,
    ) -> ManifestError {
        let (line, column) = self.at(offset);
        ManifestError::InvalidValue {
            line,
            column,
            element: element.into(),
            attribute: attribute.into(),
            reason,
        }
    }

    fn invalid_name(
        &self,
        offset: u64,
        element: &str,
        attribute: &str,
        value: &str,
        source: NameError,
    ) -> ManifestError {
        let (line, column) = self.at(offset);
        ManifestError::InvalidName {
            line,
            column,
            element: element.into(),
            attribute: attribute.into(),
            value: value.into(),
            source,
        }
    }

    fn check_format(&self, v: &str, offset: u64) -> Result<u32, ManifestError> {
        let format: u32 = parse_uint(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                self.invalid(
                    offset,
                    "hotfix",
                    "format",
                    format!("'{v}' is not a format number"),
                )
            })?;
        if format > FORMAT_VERSION {
            let (line, column) = self.at(offset);
            return Err(ManifestError::NewerFormat {
                line,
                column,
                found: format,
                supported: FORMAT_VERSION,
            });
        }
        if format == 0 {
            return Err(self.invalid(offset, "hotfix", "format", "format 0 does not exist".into()));
        }
        Ok(format)
    }

    fn read(mut self) -> Result<Manifest, ManifestError> {
        let (root, root_off) = match self.next_node("the document")? {
            Some(Node::Open(e, off)) => (e, off),
            Some(Node::Empty(e, off)) => {
                // Same checks as an open root, then "no <title>".
                if e.name().as_ref() != "hotfix" {
                    return Err(self.unknown_element(&e, off, "document"));
                }
                let attrs = self.attrs(&e, "hotfix", &["format", "id", "version"], off)?;
                self.check_format(self.required(&attrs, "format")?, off)?;
                let (line, column) = self.at(off);
                return Err(ManifestError::MissingElement {
                    line,
                    column,
                    element: "title".into(),
                    parent: "<hotfix>".into(),
                });
            }
            _ => {
                let (line, column) = self.at(0);
                return Err(ManifestError::MissingElement {
                    line,
                    column,
                    element: "hotfix".into(),
                    parent: "the document".into(),
                });
            }
        };
        if root.name().as_ref() != "hotfix" {
            let (line, column) = self.at(root_off);
            return Err(ManifestError::UnknownElement {
                line,
                column,
                element: root.name().as_ref().to_string(),
                parent: "the document (the root is <hotfix>)".into(),
            });
        }
        let attrs = self.attrs(&root, "hotfix", &["format", "id", "version"], root_off)?;
        let format = self.check_format(self.required(&attrs, "format")?, root_off)?;
        let id = self.required(&attrs, "id")?.to_string();
        names::validate_hotfix_id(&id)
            .map_err(|e| self.invalid_name(root_off, "hotfix", "id", &id, e))?;
        let version = self.version_number(self.required(&attrs, "version")?, root_off)?;

        let mut m = Manifest {
            format,
            id,
            version,
            title: String::new(),
            description: String::new(),
            base: Base {
                release: String::new(),
                support_package: String::new(),
            },
            created: String::new(),
            supersedes: Vec::new(),
            requires: Vec::new(),
            software_packages: Vec::new(),
            msis: Vec::new(),
            docs: Vec::new(),
        };
        let mut slot = 0usize;
        let mut seen = [false; HOTFIX_CHILDREN.len()];
        // Hotfix ids named anywhere (lower case) -> line, to refuse repeats across lists.
        let mut refs: HashMap<String, u64> = HashMap::new();
        let mut package_names: HashMap<String, u64> = HashMap::new();

        loop {
            let (e, off, open) = match self.next_node("hotfix")? {
                Some(Node::Close) | None => break,
                Some(Node::Open(e, off)) => (e, off, true),
                Some(Node::Empty(e, off)) => (e, off, false),
            };
            let name = e.name().as_ref().to_string();
            let Some(idx) = HOTFIX_CHILDREN.iter().position(|(n, _)| *n == name) else {
                return Err(self.unknown_element(&e, off, "hotfix"));
            };
            let repeats = HOTFIX_CHILDREN[idx].1;
            if idx < slot || (seen[idx] && !repeats) {
                let (line, column) = self.at(off);
                let reason = if seen[idx] && !repeats {
                    "may appear only once".to_string()
                } else {
                    format!(
                        "out of order: it must come before <{}>",
                        HOTFIX_CHILDREN[slot].0
                    )
                };
                return Err(ManifestError::UnexpectedElement {
                    line,
                    column,
                    element: name,
                    parent: "<hotfix>".into(),
                    reason,
                });
            }
            slot = idx;
            seen[idx] = true;
            match HOTFIX_CHILDREN[idx].0 {
                "title" => {
                    self.no_attrs(&e, "title", off)?;
                    let t = self.text_content(open, "title", off)?;
                    self.check_title(&t, off)?;
                    m.title = t;
                }
                "description" => {
                    self.no_attrs(&e, "description", off)?;
                    let t = self.text_content(open, "description", off)?;
                    self.check_description(&t, off)?;
                    m.description = t;
                }
                "base" => {
                    let a = self.attrs(&e, "base", &["release", "support-package"], off)?;
                    let release = self.required(&a, "release")?.to_string();
                    self.check_token(&release, "base", "release", off)?;
                    let sp = self.required(&a, "support-package")?.to_string();
                    self.check_token(&sp, "base", "support-package", off)?;
                    m.base = Base {
                        release,
                        support_package: sp,
                    };
                    if open {
                        self.expect_close("base")?;
                    }
                }
                "created" => {
                    self.no_attrs(&e, "created", off)?;
                    let t = self.text_content(open, "created", off)?;
                    if !is_rfc3339_utc(&t) {
                        return Err(self.invalid(
                            off,
                            "created",
                            "",
                            format!("'{t}' is not a UTC time like 2026-11-25T00:00:00Z"),
                        ));
                    }
                    m.created = t;
                }
                "supersedes" | "requires" => {
                    let list = HOTFIX_CHILDREN[idx].0;
                    self.no_attrs(&e, list, off)?;
                    let ids = if open {
                        self.id_list(list, &m.id, &mut refs)?
                    } else {
                        Vec::new()
                    };
                    if list == "supersedes" {
                        m.supersedes = ids;
                    } else {
                        m.requires = ids;
                    }
                }
                "software-package" => {
                    let p = self.software_package(&e, off, open, &mut package_names, &m)?;
                    m.software_packages.push(p);
                }
                "msi" => {
                    let msi = self.msi(&e, off, &m)?;
                    if open {
                        self.expect_close("msi")?;
                    }
                    m.msis.push(msi);
                }
                "doc" => {
                    let a = self.attrs(&e, "doc", &["path", "size", "sha256"], off)?;
                    let f = self.file_entry(&a, "doc", off)?;
                    if !f.path.starts_with("docs/") {
                        return Err(self.outside(off, "doc", &f.path, "under 'docs/'".into()));
                    }
                    self.claim_path(&f.path, off)?;
                    if let Some(prev) = m.docs.last() {
                        self.check_order(off, "doc", &f.path, &prev.path)?;
                    }
                    if open {
                        self.expect_close("doc")?;
                    }
                    m.docs.push(f);
                }
                _ => unreachable!("every listed child is handled"),
            }
        }

        for (idx, (name, _)) in HOTFIX_CHILDREN.iter().enumerate() {
            if matches!(*name, "title" | "base" | "created") && !seen[idx] {
                let (line, column) = self.at(root_off);
                return Err(ManifestError::MissingElement {
                    line,
                    column,
                    element: (*name).into(),
                    parent: "<hotfix>".into(),
                });
            }
        }
        if m.software_packages.is_empty() && m.msis.is_empty() {
            let (line, column) = self.at(root_off);
            return Err(ManifestError::MissingElement {
                line,
                column,
                element: "software-package> or <msi".into(),
                parent: "<hotfix>".into(),
            });
        }
        // Trailing comments and whitespace only; the lexical pass refused anything else.
        Ok(m)
    }

    fn no_attrs(
        &self,
        e: &BytesStart<'_>,
        element: &'static str,
        off: u64,
    ) -> Result<(), ManifestError> {
        self.attrs(e, element, &[], off).map(|_| ())
    }

    /// Text of an element that holds only text (character references resolved).
    fn text_content(
        &mut self,
        open: bool,
        element: &str,
        off: u64,
    ) -> Result<String, ManifestError> {
        let mut out = String::new();
        if !open {
            return Ok(out);
        }
        loop {
            let start = self.r.buffer_position();
            let event = self
                .r
                .read_event()
                .map_err(|e| syntax_error(self.text, self.r.error_position(), &e))?;
            match event {
                Event::Text(t) => out.push_str(&t.xml10_content()),
                Event::GeneralRef(g) => match resolve_ref(&g) {
                    Ok(s) => out.push_str(&s),
                    Err(name) => {
                        let (line, column) = self.at(start);
                        return Err(match name {
                            Some(name) => ManifestError::UnknownEntity { line, column, name },
                            None => ManifestError::Syntax {
                                line,
                                column,
                                message: format!("'&{};' is not a character XML allows", &*g),
                            },
                        });
                    }
                },
                Event::Comment(_) => {}
                Event::End(_) => return Ok(out),
                Event::Start(e) | Event::Empty(e) => {
                    return Err(self.unknown_element(&e, start, element));
                }
                Event::Eof => {
                    let (line, column) = self.at(off);
                    return Err(ManifestError::Syntax {
                        line,
                        column,
                        message: format!("<{element}> is not closed"),
                    });
                }
                Event::CData(_) | Event::DocType(_) | Event::PI(_) | Event::Decl(_) => {
                    let (line, column) = self.at(start);
                    return Err(ManifestError::Forbidden {
                        line,
                        column,
                        construct: "markup other than elements, text and comments",
                    });
                }
            }
        }
    }

    fn check_title(&self, t: &str, off: u64) -> Result<(), ManifestError> {
        if let Err(reason) = rules::title(t) {
            return Err(self.invalid(off, "title", "", reason));
        }
        Ok(())
    }

    fn check_description(&self, t: &str, off: u64) -> Result<(), ManifestError> {
        if let Err(reason) = rules::description(t) {
            return Err(self.invalid(off, "description", "", reason));
        }
        Ok(())
    }

    fn check_token(
        &self,
        v: &str,
        element: &str,
        attribute: &str,
        off: u64,
    ) -> Result<(), ManifestError> {
        rules::version_token(v).map_err(|reason| self.invalid(off, element, attribute, reason))
    }

    fn version_number(&self, v: &str, off: u64) -> Result<u64, ManifestError> {
        match parse_uint(v) {
            Some(0) => Err(self.invalid(off, "hotfix", "version", "versions start at 1".into())),
            Some(n) => Ok(n),
            None => Err(self.invalid(
                off,
                "hotfix",
                "version",
                format!("'{v}' is not a whole number (decimal digits, no leading zeros)"),
            )),
        }
    }

    fn id_list(
        &mut self,
        list: &'static str,
        own_id: &str,
        refs: &mut HashMap<String, u64>,
    ) -> Result<Vec<String>, ManifestError> {
        let mut ids: Vec<String> = Vec::new();
        loop {
            let (e, off, open) = match self.next_node(list)? {
                Some(Node::Close) | None => return Ok(ids),
                Some(Node::Open(e, off)) => (e, off, true),
                Some(Node::Empty(e, off)) => (e, off, false),
            };
            if e.name().as_ref() != "hotfix" {
                return Err(self.unknown_element(&e, off, list));
            }
            let a = self.attrs(&e, "hotfix", &["id"], off)?;
            let id = self.required(&a, "id")?.to_string();
            names::validate_hotfix_id(&id)
                .map_err(|err| self.invalid_name(off, "hotfix", "id", &id, err))?;
            if id.eq_ignore_ascii_case(own_id) {
                return Err(self.invalid(
                    off,
                    "hotfix",
                    "id",
                    format!("a hotfix cannot name itself in <{list}>"),
                ));
            }
            let key = id.to_ascii_lowercase();
            if let Some(&first_line) = refs.get(&key) {
                let (line, column) = self.at(off);
                return Err(ManifestError::DuplicateName {
                    line,
                    column,
                    element: format!("{list}/hotfix"),
                    value: id,
                    first_line,
                });
            }
            refs.insert(key, self.line(off));
            if let Some(prev) = ids.last() {
                self.check_order(off, "hotfix", &id, prev)?;
            }
            if open {
                self.expect_close("hotfix")?;
            }
            ids.push(id);
        }
    }

    fn software_package(
        &mut self,
        e: &BytesStart<'_>,
        off: u64,
        open: bool,
        names_seen: &mut HashMap<String, u64>,
        m: &Manifest,
    ) -> Result<SoftwarePackage, ManifestError> {
        let a = self.attrs(e, "software-package", &["name", "version"], off)?;
        let name = self.required(&a, "name")?.to_string();
        names::validate_software_package_name(&name)
            .map_err(|err| self.invalid_name(off, "software-package", "name", &name, err))?;
        let version = self.required(&a, "version")?.to_string();
        self.check_token(&version, "software-package", "version", off)?;
        let key = names::collision_key(&name);
        if let Some(&first_line) = names_seen.get(&key) {
            let (line, column) = self.at(off);
            return Err(ManifestError::DuplicateName {
                line,
                column,
                element: "software-package".into(),
                value: name,
                first_line,
            });
        }
        names_seen.insert(key, self.line(off));
        if let Some(prev) = m.software_packages.last() {
            self.check_order(off, "software-package", &name, &prev.name)?;
        }

        let prefix = format!("server/{name}/");
        let mut files: Vec<FileEntry> = Vec::new();
        if open {
            loop {
                let (fe, foff, fopen) = match self.next_node("software-package")? {
                    Some(Node::Close) | None => break,
                    Some(Node::Open(fe, foff)) => (fe, foff, true),
                    Some(Node::Empty(fe, foff)) => (fe, foff, false),
                };
                if fe.name().as_ref() != "file" {
                    return Err(self.unknown_element(&fe, foff, "software-package"));
                }
                let fa = self.attrs(&fe, "file", &["path", "size", "sha256"], foff)?;
                let f = self.file_entry(&fa, "file", foff)?;
                if !f.path.starts_with(&prefix) {
                    return Err(self.outside(
                        foff,
                        "file",
                        &f.path,
                        format!("under '{prefix}' (the folder of its software package)"),
                    ));
                }
                self.claim_path(&f.path, foff)?;
                if let Some(prev) = files.last() {
                    self.check_order(foff, "file", &f.path, &prev.path)?;
                }
                if fopen {
                    self.expect_close("file")?;
                }
                files.push(f);
            }
        }
        if files.is_empty() {
            let (line, column) = self.at(off);
            return Err(ManifestError::MissingElement {
                line,
                column,
                element: "file".into(),
                parent: format!("<software-package name=\"{name}\">"),
            });
        }
        Ok(SoftwarePackage {
            name,
            version,
            files,
        })
    }

    fn msi(
        &mut self,
        e: &BytesStart<'_>,
        off: u64,
        m: &Manifest,
    ) -> Result<MsiComponent, ManifestError> {
        let a = self.attrs(
            e,
            "msi",
            &[
                "path",
                "size",
                "sha256",
                "product-code",
                "upgrade-code",
                "product-version",
                "product-name",
                "replaces-version",
            ],
            off,
        )?;
        let file = self.file_entry(&a, "msi", off)?;
        let rest = file.path.strip_prefix("client/").unwrap_or("");
        let lower = rest.to_ascii_lowercase();
        if rest.contains('/') || lower.len() <= 4 || !lower.ends_with(".msi") {
            return Err(self.outside(
                off,
                "msi",
                &file.path,
                "'client/<name>.msi' (directly in client/, ending in .msi)".into(),
            ));
        }
        let product_code = self.required(&a, "product-code")?.to_string();
        rules::guid(&product_code).map_err(|r| self.invalid(off, "msi", "product-code", r))?;
        let upgrade_code = self.required(&a, "upgrade-code")?.to_string();
        rules::guid(&upgrade_code).map_err(|r| self.invalid(off, "msi", "upgrade-code", r))?;
        let product_version = self.required(&a, "product-version")?.to_string();
        self.check_token(&product_version, "msi", "product-version", off)?;
        let product_name = self.required(&a, "product-name")?.to_string();
        rules::short_text(&product_name)
            .map_err(|r| self.invalid(off, "msi", "product-name", r))?;
        let replaces_version = self.required(&a, "replaces-version")?.to_string();
        self.check_token(&replaces_version, "msi", "replaces-version", off)?;
        self.claim_path(&file.path, off)?;
        if let Some(prev) = m.msis.last() {
            self.check_order(off, "msi", &file.path, &prev.file.path)?;
        }
        Ok(MsiComponent {
            file,
            product_code,
            upgrade_code,
            product_version,
            product_name,
            replaces_version,
        })
    }

    fn file_entry(&self, a: &Attrs, element: &str, off: u64) -> Result<FileEntry, ManifestError> {
        let path = self.required(a, "path")?.to_string();
        names::validate_entry_name(&path)
            .map_err(|err| self.invalid_name(off, element, "path", &path, err))?;
        let size_text = self.required(a, "size")?;
        let size = parse_uint(size_text).ok_or_else(|| {
            self.invalid(
                off,
                element,
                "size",
                format!("'{size_text}' is not a byte count (decimal digits, no leading zeros)"),
            )
        })?;
        let hex = self.required(a, "sha256")?;
        let sha256 = rules::sha256(hex).map_err(|r| self.invalid(off, element, "sha256", r))?;
        Ok(FileEntry { path, size, sha256 })
    }

    fn outside(&self, off: u64, element: &str, path: &str, expected: String) -> ManifestError {
        let (line, column) = self.at(off);
        ManifestError::PathOutsideFolder {
            line,
            column,
            element: element.into(),
            path: path.into(),
            expected,
        }
    }

    fn check_order(
        &self,
        off: u64,
        element: &str,
        value: &str,
        previous: &str,
    ) -> Result<(), ManifestError> {
        // Repeats are caught (case-insensitively) before this, with a clearer error.
        if value > previous {
            return Ok(());
        }
        let (line, column) = self.at(off);
        Err(ManifestError::NotSorted {
            line,
            column,
            element: element.into(),
            value: value.into(),
            previous: previous.into(),
        })
    }

    /// Records a payload path, refusing repeats and file/folder clashes under
    /// [`names::collision_key`] (case folding and Unicode compatibility normalisation).
    fn claim_path(&mut self, path: &str, off: u64) -> Result<(), ManifestError> {
        let key = names::collision_key(path);
        let (line, column) = self.at(off);
        if let Some((first_line, _)) = self.paths.get(&key) {
            return Err(ManifestError::DuplicatePath {
                line,
                column,
                path: path.into(),
                first_line: *first_line,
            });
        }
        if let Some(other) = self.dirs.get(&key) {
            return Err(ManifestError::PathConflict {
                line,
                column,
                path: path.into(),
                other: other.clone(),
            });
        }
        let mut folders = Vec::new();
        for (i, _) in key.match_indices('/') {
            let folder = &key[..i];
            if let Some((_, other)) = self.paths.get(folder) {
                return Err(ManifestError::PathConflict {
                    line,
                    column,
                    path: path.into(),
                    other: other.clone(),
                });
            }
            folders.push(folder.to_string());
        }
        for f in folders {
            self.dirs.entry(f).or_insert_with(|| path.to_string());
        }
        self.paths.insert(key, (line, path.to_string()));
        Ok(())
    }
}

impl Attrs {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decimal digits without sign, spaces or leading zeros, within u64.
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SSZ`, a real date and time.
fn is_rfc3339_utc(s: &str) -> bool {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    s.len() == 20 && time::PrimitiveDateTime::parse(s, &fmt).is_ok()
}

/// Value rules shared by the manifest reader and the build spec.
pub(crate) mod rules {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_cursor_agrees_with_line_col_in_any_order() {
        let t = "ab\ncdé\nf\n\nghé";
        let c = LineCursor::default();
        for off in (0..=t.len() as u64 + 3)
            .chain((0..=t.len() as u64).rev())
            .chain([5, 2, 9, 9, 0])
        {
            assert_eq!(c.at(t, off), line_col(t, off), "offset {off}");
        }
    }

    #[test]
    fn line_col_counts_characters_from_one() {
        let t = "ab\ncdé\nf";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 7), (2, 4));
        assert_eq!(line_col(t, 6), (2, 3)); // inside 'é': the character's start
        assert_eq!(line_col(t, 8), (3, 1));
        assert_eq!(line_col(t, 1000), (3, 2));
    }

    #[test]
    fn parse_uint_is_canonical_decimal() {
        assert_eq!(parse_uint("0"), Some(0));
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0x10",
            "18446744073709551616",
        ] {
            assert_eq!(parse_uint(bad), None, "{bad:?}");
        }
    }

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

    fn deep(n: usize) -> String {
        let mut s = String::from("<?xml version=\"1.0\"?>\n");
        for _ in 0..n {
            s.push_str("<a>");
        }
        for _ in 0..n {
            s.push_str("</a>");
        }
        s
    }

    #[test]
    fn limits_apply_before_the_schema() {
        let lim = Limits {
            max_bytes: 1 << 20,
            max_depth: 4,
            max_files: 2,
            max_elements: 100,
        };
        let err = from_xml_with(deep(5).as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                err,
                ManifestError::TooDeep {
                    line: 2,
                    column: 13,
                    max: 4
                }
            ),
            "{err:?}"
        );

        let files = "<?xml version=\"1.0\"?>\n<hotfix>\n<doc/>\n<doc/>\n<msi/>\n</hotfix>\n";
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                err,
                ManifestError::TooManyFiles {
                    line: 5,
                    column: 1,
                    max: 2
                }
            ),
            "{err:?}"
        );

        let lim = Limits {
            max_elements: 3,
            ..lim
        };
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(err, ManifestError::TooManyElements { line: 5, .. }),
            "{err:?}"
        );

        let lim = Limits {
            max_bytes: 10,
            ..lim
        };
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(err, ManifestError::TooLarge { max: 10, .. }),
            "{err:?}"
        );
    }
}
