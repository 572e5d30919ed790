//! One constructed value of every [`SpecError`] variant and of every
//! [`ManifestErrorKind`], for the CLI's test that every error it can print names what is
//! wrong and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! Each list is checked against an exhaustive `match` here: a new variant does not
//! compile until it has an arm, and the list fails its check until it has an example.

use std::path::PathBuf;

use crate::names::validate_entry_name;
use crate::spec::SpecError;
use crate::xml::{ManifestError, ManifestErrorKind};

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
                source: validate_entry_name("CON").expect_err("CON is a reserved device name"),
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

/// A manifest error and a piece of text its rendering must contain.
pub type ManifestExample = (ManifestError, &'static str);

fn manifest_index(e: &ManifestErrorKind) -> usize {
    use ManifestErrorKind as K;
    match e {
        K::TooLarge { .. } => 0,
        K::Encoding { .. } => 1,
        K::Syntax { .. } => 2,
        K::Forbidden { .. } => 3,
        K::UnknownEntity { .. } => 4,
        K::TooDeep { .. } => 5,
        K::TooManyFiles { .. } => 6,
        K::TooManyElements { .. } => 7,
        K::UnknownElement { .. } => 8,
        K::UnexpectedElement { .. } => 9,
        K::MissingElement { .. } => 10,
        K::UnexpectedText { .. } => 11,
        K::UnknownAttribute { .. } => 12,
        K::DuplicateAttribute { .. } => 13,
        K::MissingAttribute { .. } => 14,
        K::NewerFormat { .. } => 15,
        K::InvalidValue { .. } => 16,
        K::InvalidName { .. } => 17,
        K::PathOutsideFolder { .. } => 18,
        K::DuplicatePath { .. } => 19,
        K::PathConflict { .. } => 20,
        K::DuplicateName { .. } => 21,
        K::NotSorted { .. } => 22,
        K::Unrepresentable { .. } => 23,
    }
}
const MANIFEST_COUNT: usize = 24;

/// Every [`ManifestErrorKind`], placed in the text where the reader would report it
/// (the kinds that are about the manifest as a whole have no position).
pub fn manifest_errors() -> Vec<ManifestExample> {
    use ManifestErrorKind as K;
    let s = |t: &str| t.to_owned();
    let at = ManifestError::at;
    let all: Vec<ManifestExample> = vec![
        (
            ManifestError::new(K::TooLarge {
                size: 17_000_000,
                max: 16_777_216,
            }),
            "17000000",
        ),
        (
            at(
                1,
                1,
                K::Encoding {
                    message: s("not valid UTF-8"),
                },
            ),
            "UTF-8",
        ),
        (
            at(
                3,
                9,
                K::Syntax {
                    message: s("document ends inside an element"),
                },
            ),
            "ends inside",
        ),
        (
            at(
                2,
                1,
                K::Forbidden {
                    construct: "a DOCTYPE declaration (DTD, entity declarations)",
                },
            ),
            "DOCTYPE",
        ),
        (at(3, 10, K::UnknownEntity { name: s("xxe") }), "&xxe;"),
        (at(3, 13, K::TooDeep { max: 8 }), "nested deeper"),
        (
            at(9, 3, K::TooManyFiles { max: 1_000_000 }),
            "payload files",
        ),
        (at(9, 3, K::TooManyElements { max: 2_000_064 }), "elements"),
        (
            at(
                8,
                3,
                K::UnknownElement {
                    element: s("script"),
                    parent: s("<hotfix>"),
                },
            ),
            "<script>",
        ),
        (
            at(
                8,
                3,
                K::UnexpectedElement {
                    element: s("base"),
                    parent: s("<hotfix>"),
                    reason: s("may appear only once"),
                },
            ),
            "only once",
        ),
        (
            at(
                2,
                1,
                K::MissingElement {
                    element: s("created"),
                    parent: s("<hotfix>"),
                },
            ),
            "<created>",
        ),
        (
            at(
                17,
                5,
                K::UnexpectedText {
                    element: s("software-package"),
                },
            ),
            "text is not allowed",
        ),
        (
            at(
                7,
                3,
                K::UnknownAttribute {
                    element: s("base"),
                    attribute: s("colour"),
                },
            ),
            "colour",
        ),
        (
            at(
                7,
                3,
                K::DuplicateAttribute {
                    element: s("base"),
                    attribute: s("release"),
                },
            ),
            "repeated",
        ),
        (
            at(
                17,
                5,
                K::MissingAttribute {
                    element: s("file"),
                    attribute: s("sha256"),
                },
            ),
            "sha256",
        ),
        (
            at(
                2,
                1,
                K::NewerFormat {
                    found: 2,
                    supported: 1,
                },
            ),
            "newer",
        ),
        (
            at(
                2,
                1,
                K::InvalidValue {
                    element: s("hotfix"),
                    attribute: s("version"),
                    reason: s("versions start at 1"),
                },
            ),
            "versions start at 1",
        ),
        (
            at(
                16,
                5,
                K::InvalidName {
                    element: s("file"),
                    attribute: s("path"),
                    value: s("server/ChatServer/CON"),
                    source: validate_entry_name("server/ChatServer/CON")
                        .expect_err("CON is a reserved device name"),
                },
            ),
            "server/ChatServer/CON",
        ),
        (
            at(
                20,
                5,
                K::PathOutsideFolder {
                    element: s("file"),
                    path: s("server/ChatServer/lib/x.so"),
                    expected: s("under 'server/RoutingEngine/'"),
                },
            ),
            "server/ChatServer/lib/x.so",
        ),
        (
            at(
                17,
                5,
                K::DuplicatePath {
                    path: s("server/ChatServer/bin/A.jar"),
                    first_line: 16,
                },
            ),
            "listed twice",
        ),
        (
            at(
                17,
                5,
                K::PathConflict {
                    path: s("server/ChatServer/bin/x"),
                    other: s("server/ChatServer/bin"),
                },
            ),
            "collides",
        ),
        (
            at(
                19,
                3,
                K::DuplicateName {
                    element: s("software-package"),
                    value: s("chatserver"),
                    first_line: 15,
                },
            ),
            "chatserver",
        ),
        (
            at(
                19,
                3,
                K::NotSorted {
                    element: s("software-package"),
                    value: s("Alpha"),
                    previous: s("Beta"),
                },
            ),
            "must come after",
        ),
        (
            ManifestError::new(K::Unrepresentable {
                message: s("reading the written XML gives a different manifest"),
            }),
            "written faithfully",
        ),
    ];
    let seen: std::collections::BTreeSet<usize> =
        all.iter().map(|(e, _)| manifest_index(e.kind())).collect();
    assert_eq!(
        seen,
        (0..MANIFEST_COUNT).collect(),
        "ManifestErrorKind: a kind has no example"
    );
    all
}
