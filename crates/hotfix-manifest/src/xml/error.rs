//! [`ManifestError`]: why a manifest was refused ([`ManifestErrorKind`]) and the line
//! and column where the problem starts.
//!
//! The messages are part of the CLI's output (snapshot tests compare them), so their
//! wording changes only on purpose. This module only describes errors: it must never
//! parse, and it must never echo an unbounded piece of the input (names go through
//! [`shorten`]).

use crate::names::{NameError, shorten};

/// Why a manifest could not be read (or, from
/// [`Manifest::validate`](crate::Manifest::validate), written): what is wrong
/// ([`ManifestErrorKind`]) and, when it comes from the text, the 1-based line and column
/// (counted in characters) where the problem starts.
///
/// Displayed as `manifest line L, column C: ` followed by the kind's message; the kinds
/// that are not about one place in the text (too large, a newer format, a model that
/// cannot be written) read as a sentence of their own.
///
/// ```
/// use hotfix_manifest::{Manifest, ManifestErrorKind};
///
/// let xml = b"<?xml version=\"1.0\"?>\n<hotfix format=\"1\"></hotfix>\n";
/// let err = Manifest::from_xml(xml).unwrap_err();
/// assert_eq!(err.position(), Some((2, 1)));
/// assert!(matches!(
///     err.kind(),
///     ManifestErrorKind::MissingAttribute { attribute, .. } if attribute == "id"
/// ));
/// assert_eq!(
///     err.to_string(),
///     "manifest line 2, column 1: <hotfix> has no 'id' attribute"
/// );
/// ```
#[derive(Debug)]
pub struct ManifestError {
    /// 1-based (line, column); `None` for the kinds that are not about the text.
    position: Option<(u64, u64)>,
    /// Boxed so that `Result<_, ManifestError>` stays small on the path that succeeds.
    kind: Box<ManifestErrorKind>,
}

impl ManifestError {
    /// An error at a place in the text: 1-based `line` and `column` (in characters).
    pub fn at(line: u64, column: u64, kind: ManifestErrorKind) -> Self {
        ManifestError {
            position: Some((line, column)),
            kind: Box::new(kind),
        }
    }

    /// An error about the manifest as a whole, not one place in its text
    /// ([`ManifestErrorKind::TooLarge`], [`ManifestErrorKind::Unrepresentable`]).
    pub fn new(kind: ManifestErrorKind) -> Self {
        ManifestError {
            position: None,
            kind: Box::new(kind),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> &ManifestErrorKind {
        &self.kind
    }

    /// What is wrong, by value.
    pub fn into_kind(self) -> ManifestErrorKind {
        *self.kind
    }

    /// The 1-based (line, column) where the problem is, when it comes from the text.
    pub fn position(&self) -> Option<(u64, u64)> {
        self.position
    }

    /// The 1-based line where the problem is, when it comes from the text.
    pub fn line(&self) -> Option<u64> {
        self.position.map(|(line, _)| line)
    }

    /// The 1-based column (in characters) where the problem is, when it comes from the
    /// text.
    pub fn column(&self) -> Option<u64> {
        self.position.map(|(_, column)| column)
    }
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.position, &*self.kind) {
            // What to do about a newer format matters more than where its attribute is.
            (_, ManifestErrorKind::NewerFormat { .. }) | (None, _) => {
                std::fmt::Display::fmt(&*self.kind, f)
            }
            (Some((line, column)), kind) => {
                write!(f, "manifest line {line}, column {column}: {kind}")
            }
        }
    }
}

impl std::error::Error for ManifestError {
    // The kind's own source (the rule a refused name breaks), not the kind itself: the
    // kind's message is already part of this one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

/// What is wrong with a manifest; [`ManifestError`] adds where. Each message reads after
/// `manifest line L, column C: ` except those of `TooLarge`, `NewerFormat` and
/// `Unrepresentable`, which are whole sentences.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    #[error("manifest is {size} bytes; the limit is {max}")]
    TooLarge { size: u64, max: u64 },

    #[error("{message}")]
    Encoding { message: String },

    /// Not well-formed XML.
    #[error("{message}")]
    Syntax { message: String },

    /// A construct format v1 never uses: DOCTYPE (DTDs, entity declarations), processing
    /// instructions, CDATA sections, a misplaced XML declaration.
    #[error("{construct} is not allowed in a manifest")]
    Forbidden { construct: &'static str },

    /// An entity reference other than the five predefined ones and character references.
    #[error(
        "unknown entity '&{name};' (only &lt; &gt; &amp; &quot; &apos; and character references are allowed)"
    )]
    UnknownEntity { name: String },

    #[error("elements nested deeper than {max}")]
    TooDeep { max: usize },

    #[error("more than {max} payload files")]
    TooManyFiles { max: usize },

    #[error("more than {max} elements")]
    TooManyElements { max: usize },

    #[error("unknown element <{}> in {parent}", shorten(element))]
    UnknownElement { element: String, parent: String },

    /// A known element in the wrong place: out of order, repeated, or a second root.
    #[error("<{element}> in {parent}: {reason}")]
    UnexpectedElement {
        element: String,
        parent: String,
        reason: String,
    },

    #[error("{parent} has no <{element}>")]
    MissingElement { element: String, parent: String },

    #[error("text is not allowed in <{element}>")]
    UnexpectedText { element: String },

    #[error("unknown attribute '{}' on <{element}>", shorten(attribute))]
    UnknownAttribute { element: String, attribute: String },

    #[error("attribute '{}' repeated on <{element}>", shorten(attribute))]
    DuplicateAttribute { element: String, attribute: String },

    #[error("<{element}> has no '{attribute}' attribute")]
    MissingAttribute { element: String, attribute: String },

    /// The manifest was written for a newer format than this build reads.
    #[error(
        "manifest format {found} is newer than this hotfix (reads up to {supported}); upgrade hotfix"
    )]
    NewerFormat { found: u32, supported: u32 },

    /// A value breaks its rule. `attribute` is empty when the value is an element's text.
    #[error("<{element}>{}: {reason}", attr_suffix(attribute))]
    InvalidValue {
        element: String,
        attribute: String,
        reason: String,
    },

    /// A hotfix id, software package name or entry path refused by [`crate::names`].
    #[error("<{element}>{} '{}': {source}", attr_suffix(attribute), shorten(value))]
    InvalidName {
        element: String,
        attribute: String,
        value: String,
        source: NameError,
    },

    /// A payload path outside the folder its element puts it in.
    #[error("<{element}> path '{}' must be {expected}", shorten(path))]
    PathOutsideFolder {
        element: String,
        path: String,
        expected: String,
    },

    /// Two payload paths equal when compared case-insensitively.
    #[error(
        "path '{}' is listed twice (first on line {first_line}; paths are compared case-insensitively)",
        shorten(path)
    )]
    DuplicatePath { path: String, first_line: u64 },

    /// One path is a file and a folder of another path (case-insensitively).
    #[error(
        "path '{}' collides with '{}' (one would be both a file and a folder)",
        shorten(path),
        shorten(other)
    )]
    PathConflict { path: String, other: String },

    /// Two names that differ only in case (software packages, hotfix ids).
    #[error(
        "<{element}> '{}' is listed twice (first on line {first_line}; compared case-insensitively)",
        shorten(value)
    )]
    DuplicateName {
        element: String,
        value: String,
        first_line: u64,
    },

    /// A list out of its required order (see `docs/FORMAT.md`).
    #[error(
        "<{element}> '{}' must come after '{}' (lists are sorted by byte value)",
        shorten(value),
        shorten(previous)
    )]
    NotSorted {
        element: String,
        value: String,
        previous: String,
    },

    /// From [`Manifest::validate`](crate::Manifest::validate): the model does not survive its own XML form.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_the_position_first_except_for_whole_manifest_kinds() {
        let at = ManifestError::at(
            7,
            3,
            ManifestErrorKind::UnknownAttribute {
                element: "base".into(),
                attribute: "colour".into(),
            },
        );
        assert_eq!(
            at.to_string(),
            "manifest line 7, column 3: unknown attribute 'colour' on <base>"
        );
        assert_eq!((at.line(), at.column()), (Some(7), Some(3)));

        let newer = ManifestError::at(
            2,
            1,
            ManifestErrorKind::NewerFormat {
                found: 2,
                supported: 1,
            },
        );
        assert_eq!(
            newer.to_string(),
            "manifest format 2 is newer than this hotfix (reads up to 1); upgrade hotfix"
        );
        assert_eq!(newer.position(), Some((2, 1)));

        let large = ManifestError::new(ManifestErrorKind::TooLarge { size: 9, max: 1 });
        assert_eq!(large.to_string(), "manifest is 9 bytes; the limit is 1");
        assert_eq!(large.position(), None);
    }

    #[test]
    fn source_is_the_refused_name_not_the_kind() {
        use std::error::Error;
        let name = "server/CON";
        let e = ManifestError::at(
            16,
            5,
            ManifestErrorKind::InvalidName {
                element: "file".into(),
                attribute: "path".into(),
                value: name.into(),
                source: crate::names::validate_entry_name(name).expect_err("a device name"),
            },
        );
        let source = e.source().expect("a name error");
        assert!(source.is::<NameError>(), "{source:?}");
        assert!(
            ManifestError::new(ManifestErrorKind::TooLarge { size: 9, max: 1 })
                .source()
                .is_none()
        );
    }
}
