//! One constructed value of every [`SpecError`] variant, for the CLI's test that every
//! error it can print names what is wrong and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! The list is checked against an exhaustive `match` here: a new variant does not
//! compile until it has an arm, and the list fails its check until it has an example.

use std::path::PathBuf;

use crate::spec::SpecError;

/// A value and a piece of text its rendering must contain (what is wrong, or where).
pub type Example = (SpecError, &'static str);

fn index(e: &SpecError) -> usize {
    match e {
        SpecError::Io { .. } => 0,
        SpecError::TooLarge { .. } => 1,
        SpecError::Syntax { .. } => 2,
        SpecError::UnknownKey { .. } => 3,
        SpecError::MissingKey { .. } => 4,
        SpecError::DuplicateKey { .. } => 5,
        SpecError::WrongType { .. } => 6,
        SpecError::InvalidValue { .. } => 7,
        SpecError::InvalidName { .. } => 8,
        SpecError::PathOutsideSource { .. } => 9,
        SpecError::NotFound { .. } => 10,
        SpecError::Duplicate { .. } => 11,
        SpecError::DescriptionTwice { .. } => 12,
        SpecError::NoPayload { .. } => 13,
    }
}
const COUNT: usize = 14;

/// Every [`SpecError`] variant.
pub fn spec_errors() -> Vec<Example> {
    let path = || PathBuf::from("pkg/hotfix.toml");
    let s = |t: &str| t.to_owned();
    let all: Vec<Example> = vec![
        (
            SpecError::Io {
                path: path(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
            },
            "pkg/hotfix.toml",
        ),
        (
            SpecError::TooLarge {
                path: path(),
                size: 9,
                max: 1,
            },
            "pkg/hotfix.toml",
        ),
        (
            SpecError::Syntax {
                path: path(),
                line: 3,
                message: s("expected `=`"),
            },
            "expected `=`",
        ),
        (
            SpecError::UnknownKey {
                path: path(),
                line: 4,
                key: s("titel"),
                table: s("[hotfix]"),
            },
            "titel",
        ),
        (
            SpecError::MissingKey {
                path: path(),
                line: 1,
                key: s("id"),
                table: s("[hotfix]"),
            },
            "'id'",
        ),
        (
            SpecError::DuplicateKey {
                path: path(),
                line: 5,
                key: s("version"),
            },
            "version",
        ),
        (
            SpecError::WrongType {
                path: path(),
                line: 6,
                key: s("version"),
                message: s("expected an integer"),
            },
            "expected an integer",
        ),
        (
            SpecError::InvalidValue {
                path: path(),
                line: 7,
                key: s("id"),
                message: s("bad id"),
            },
            "bad id",
        ),
        (
            SpecError::InvalidName {
                path: path(),
                line: 8,
                key: s("path"),
                value: s("CON"),
                source: crate::names::validate_entry_name("CON")
                    .expect_err("CON is a reserved device name"),
            },
            "CON",
        ),
        (
            SpecError::PathOutsideSource {
                path: path(),
                line: 9,
                key: s("path"),
                value: s("../x"),
                reason: s("leaves the folder"),
            },
            "../x",
        ),
        (
            SpecError::NotFound {
                path: path(),
                line: 10,
                key: s("dir"),
                value: s("server/Chat"),
                expected: "folder",
            },
            "server/Chat",
        ),
        (
            SpecError::Duplicate {
                path: path(),
                line: 11,
                what: "software package",
                value: s("ChatServer"),
                first_line: 3,
            },
            "ChatServer",
        ),
        (
            SpecError::DescriptionTwice {
                path: path(),
                line: 12,
            },
            "description",
        ),
        (SpecError::NoPayload { path: path() }, "nothing to ship"),
    ];
    let seen: std::collections::BTreeSet<usize> = all.iter().map(|(e, _)| index(e)).collect();
    assert_eq!(
        seen,
        (0..COUNT).collect(),
        "SpecError: a variant has no example"
    );
    all
}
