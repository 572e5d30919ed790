//! One constructed value of every variant of this crate's error enums, for the CLI's
//! test that every error it can print names what is wrong and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! Each list is checked against an exhaustive `match` here, in the defining crate: a new
//! variant does not compile until it has an arm, and the list fails its check until it
//! has an example.

use std::io;
use std::path::PathBuf;

use hotfix_manifest::{ManifestError, ManifestErrorKind};
use hotfix_sign::{KeyId, SignError};

use crate::build::BuildError;
use crate::cosign::CosignError;
use crate::inspect::InspectError;
use crate::rules::Rule;
use crate::verify::{SinkError, VerifyError};

/// A value and a piece of text its rendering must contain (what is wrong, or where).
pub type Example<E> = (E, &'static str);

fn path(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn io_error() -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, "permission denied")
}

fn key() -> KeyId {
    KeyId(0x1234_5678_9ABC_DEF0_u64.to_le_bytes())
}

/// Panics unless `examples` hold every index `0..count` of `index` (each variant).
fn check<E>(examples: &[Example<E>], index: fn(&E) -> usize, count: usize, what: &str) {
    let seen: std::collections::BTreeSet<usize> = examples.iter().map(|(e, _)| index(e)).collect();
    let missing: Vec<usize> = (0..count).filter(|i| !seen.contains(i)).collect();
    assert!(
        missing.is_empty() && seen.iter().all(|i| *i < count),
        "{what}: no example for variant(s) {missing:?} (or an index beyond {count})"
    );
}

fn build_index(e: &BuildError) -> usize {
    match e {
        BuildError::Read { .. } => 0,
        BuildError::Write { .. } => 1,
        BuildError::Missing { .. } => 2,
        BuildError::NotADirectory { .. } => 3,
        BuildError::NotAFile { .. } => 4,
        BuildError::Symlink { .. } => 5,
        BuildError::SpecialFile { .. } => 6,
        BuildError::NonUtf8Name { .. } => 7,
        BuildError::InvalidName { .. } => 8,
        BuildError::NameCollision { .. } => 9,
        BuildError::EmptySoftwarePackage { .. } => 10,
        BuildError::NoPayload => 11,
        BuildError::Msi { .. } => 12,
        BuildError::ReservedName { .. } => 13,
        BuildError::FileChanged { .. } => 14,
        BuildError::OutputExists { .. } => 15,
        BuildError::InvalidSourceDateEpoch { .. } => 16,
        BuildError::Manifest { .. } => 17,
        BuildError::Sign { .. } => 18,
    }
}

/// Every [`BuildError`] variant.
pub fn build_errors() -> Vec<Example<BuildError>> {
    let all = vec![
        (
            BuildError::Read {
                path: path("src/a.dll"),
                source: io_error(),
            },
            "src/a.dll",
        ),
        (
            BuildError::Write {
                path: path("dist/x.zip"),
                source: io_error(),
            },
            "dist/x.zip",
        ),
        (
            BuildError::Missing {
                what: "software package folder",
                path: path("server/Chat"),
            },
            "server/Chat",
        ),
        (
            BuildError::NotADirectory {
                path: path("server/Chat"),
            },
            "server/Chat",
        ),
        (
            BuildError::NotAFile {
                path: path("client/a.msi"),
            },
            "client/a.msi",
        ),
        (
            BuildError::Symlink {
                path: path("server/link"),
            },
            "server/link",
        ),
        (
            BuildError::SpecialFile {
                path: path("server/fifo"),
            },
            "server/fifo",
        ),
        (
            BuildError::NonUtf8Name {
                path: path("server/bad"),
            },
            "server/bad",
        ),
        (
            BuildError::InvalidName {
                path: path("server/CON"),
                name: "CON".into(),
                source: hotfix_manifest::names::validate_entry_name("CON")
                    .expect_err("CON is a reserved device name"),
            },
            "CON",
        ),
        (
            BuildError::NameCollision {
                first: "a.txt".into(),
                first_path: path("server/a.txt"),
                second: "A.txt".into(),
                second_path: path("server/A.txt"),
            },
            "A.txt",
        ),
        (
            BuildError::EmptySoftwarePackage {
                name: "ChatServer".into(),
                dir: path("server/ChatServer"),
            },
            "ChatServer",
        ),
        (BuildError::NoPayload, "payload"),
        (
            BuildError::Msi {
                path: path("client/a.msi"),
                source: hotfix_msi::MsiError::TooLarge {
                    path: path("client/a.msi"),
                    size: 9,
                    max: 1,
                },
            },
            "client/a.msi",
        ),
        (
            BuildError::ReservedName {
                path: path("docs/sbom.cdx.json"),
                name: "docs/sbom.cdx.json",
            },
            "sbom.cdx.json",
        ),
        (
            BuildError::FileChanged {
                path: path("server/a.dll"),
            },
            "server/a.dll",
        ),
        (
            BuildError::OutputExists {
                path: path("dist/HF-1.zip"),
            },
            "dist/HF-1.zip",
        ),
        (
            BuildError::InvalidSourceDateEpoch {
                value: "soon".into(),
                reason: "not a number",
            },
            "soon",
        ),
        (
            BuildError::Manifest {
                source: ManifestError::new(ManifestErrorKind::TooLarge { size: 9, max: 1 }),
            },
            "manifest",
        ),
        (
            BuildError::Sign {
                source: SignError::WrongPassphrase,
            },
            "passphrase",
        ),
    ];
    check(&all, build_index, 19, "BuildError");
    all
}

fn inspect_index(e: &InspectError) -> usize {
    match e {
        InspectError::Read { .. } => 0,
        InspectError::NotAPackage { .. } => 1,
        InspectError::Format { .. } => 2,
        InspectError::ManifestTooLarge { .. } => 3,
        InspectError::Manifest { .. } => 4,
    }
}

/// Every [`InspectError`] variant.
pub fn inspect_errors() -> Vec<Example<InspectError>> {
    let p = || path("dist/HF-1.zip");
    let all = vec![
        (
            InspectError::Read {
                path: p(),
                source: io_error(),
            },
            "dist/HF-1.zip",
        ),
        (
            InspectError::NotAPackage {
                path: p(),
                reason: "no hotfix.xml".into(),
            },
            "no hotfix.xml",
        ),
        (
            InspectError::Format {
                path: p(),
                rule: Rule::AppendedData,
                message: "data after the end record".into(),
            },
            "data after the end record",
        ),
        (
            InspectError::ManifestTooLarge { path: p(), max: 1 },
            "dist/HF-1.zip",
        ),
        (
            InspectError::Manifest {
                path: p(),
                source: Box::new(ManifestError::new(ManifestErrorKind::TooLarge {
                    size: 9,
                    max: 1,
                })),
            },
            "dist/HF-1.zip",
        ),
    ];
    check(&all, inspect_index, 5, "InspectError");
    all
}

fn cosign_index(e: &CosignError) -> usize {
    match e {
        CosignError::Read(_) => 0,
        CosignError::AlreadySigned { .. } => 1,
        CosignError::BadSignatureEntry { .. } => 2,
        CosignError::TooManySignatures { .. } => 3,
        CosignError::UnsupportedEntry { .. } => 4,
        CosignError::Sign { .. } => 5,
        CosignError::Write { .. } => 6,
    }
}

/// Every [`CosignError`] variant.
pub fn cosign_errors() -> Vec<Example<CosignError>> {
    let p = || path("dist/HF-1.zip");
    let all = vec![
        (
            CosignError::Read(InspectError::NotAPackage {
                path: p(),
                reason: "no hotfix.xml".into(),
            }),
            "no hotfix.xml",
        ),
        (
            CosignError::AlreadySigned {
                path: p(),
                key_id: key(),
            },
            "123456789ABCDEF0",
        ),
        (
            CosignError::BadSignatureEntry {
                path: p(),
                entry: "signatures/X.minisig".into(),
                reason: "not UTF-8".into(),
            },
            "signatures/X.minisig",
        ),
        (CosignError::TooManySignatures { path: p(), max: 16 }, "16"),
        (
            CosignError::UnsupportedEntry {
                path: p(),
                entry: "a.txt".into(),
                reason: "encrypted".into(),
            },
            "a.txt",
        ),
        (
            CosignError::Sign {
                source: SignError::PassphraseRequired,
            },
            "passphrase",
        ),
        (
            CosignError::Write {
                path: p(),
                source: io_error(),
            },
            "dist/HF-1.zip",
        ),
    ];
    check(&all, cosign_index, 7, "CosignError");
    all
}

fn verify_index(e: &VerifyError) -> usize {
    match e {
        VerifyError::Io { .. } => 0,
        VerifyError::Sink(SinkError::Io { .. }) => 1,
        VerifyError::Sink(SinkError::Refused { .. }) => 2,
        VerifyError::Sink(SinkError::Cancelled) => 3,
        VerifyError::Internal(_) => 4,
    }
}

/// Every [`VerifyError`] variant (and every [`SinkError`] it wraps).
pub fn verify_errors() -> Vec<Example<VerifyError>> {
    let all = vec![
        (
            VerifyError::Io {
                path: path("dist/HF-1.zip"),
                source: io_error(),
            },
            "dist/HF-1.zip",
        ),
        (
            VerifyError::Sink(SinkError::Io {
                path: path("install/x"),
                source: io_error(),
            }),
            "install/x",
        ),
        (
            VerifyError::Sink(SinkError::Refused {
                rule: Rule::Rollback,
                message: "version 5 is installed".into(),
            }),
            "version 5 is installed",
        ),
        (VerifyError::Sink(SinkError::Cancelled), "interrupted"),
        (
            VerifyError::Internal("walk out of order".into()),
            "walk out of order",
        ),
    ];
    check(&all, verify_index, 5, "VerifyError");
    all
}

fn extract_index(e: &crate::extract::ExtractError) -> usize {
    use crate::extract::ExtractError as E;
    match e {
        E::Failed(_) => 0,
        E::Refused { .. } => 1,
        E::Io { .. } => 2,
        E::LockFile { .. } => 3,
        E::Cancelled => 4,
    }
}

/// Every [`ExtractError`](crate::extract::ExtractError) variant.
pub fn extract_errors() -> Vec<Example<crate::extract::ExtractError>> {
    use crate::extract::ExtractError as E;
    let report = crate::verify::VerifyReport::new("dist/HF-1.zip".to_owned(), 1);
    let all = vec![
        (E::Failed(Box::new(report)), "dist/HF-1.zip"),
        (
            E::Refused {
                rule: Rule::Rollback,
                message: "version 5 is installed".into(),
            },
            "version 5 is installed",
        ),
        (
            E::Io {
                path: path("install/Install/hotfixes"),
                source: io_error(),
            },
            "install/Install/hotfixes",
        ),
        (
            E::LockFile {
                path: path("install/.hotfix.lock"),
                source: io_error(),
            },
            "install/.hotfix.lock",
        ),
        (E::Cancelled, "interrupted"),
    ];
    check(&all, extract_index, 5, "ExtractError");
    all
}

fn list_index(e: &crate::list::ListError) -> usize {
    use crate::list::ListError as E;
    match e {
        E::Io { .. } => 0,
        E::LockFile { .. } => 1,
        E::Cancelled => 2,
    }
}

/// Every [`ListError`](crate::list::ListError) variant.
pub fn list_errors() -> Vec<Example<crate::list::ListError>> {
    use crate::list::ListError as E;
    let all = vec![
        (
            E::Io {
                path: path("install/Install/hotfixes"),
                source: io_error(),
            },
            "install/Install/hotfixes",
        ),
        (
            E::LockFile {
                path: path("install/.hotfix.lock"),
                source: io_error(),
            },
            "install/.hotfix.lock",
        ),
        (E::Cancelled, "interrupted"),
    ];
    check(&all, list_index, 3, "ListError");
    all
}
