//! [`ManifestError`]: why a manifest was refused, with the line and column where the
//! problem starts.
//!
//! The messages are part of the CLI's output (snapshot tests compare them), so their
//! wording changes only on purpose. This module only describes errors: it must never
//! parse, and it must never echo an unbounded piece of the input (names go through
//! [`shorten`]).

use crate::names::{NameError, shorten};

/// Why a manifest could not be read (or, from [`Manifest::validate`](crate::Manifest::validate), written).
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
