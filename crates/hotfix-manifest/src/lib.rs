//! The hotfix manifest: the signed statement of what a package contains.
//!
//! This crate owns three things:
//! - the in-memory [`Manifest`] model (this file),
//! - its XML form, format v1 ([`xml`], one file per concept: writer, the two reading
//!   passes, positions, value rules): the bytes that are signed, so writing is
//!   deterministic and reading is strict and bounded; a refusal is a [`ManifestError`],
//!   a [`ManifestErrorKind`] with the line and column it was found at,
//! - the build spec `hotfix.toml` ([`spec`]) a release engineer writes,
//!
//! and one name validator ([`names`]) that every path and id passes, so a name accepted
//! anywhere stays inside its folder on Windows and POSIX alike.
//!
//! It must never touch the file system while parsing untrusted input, and it never
//! interprets a manifest whose signature has not been checked: callers verify the raw
//! bytes first (see `hotfix-package`).
//!
//! Reading is strict (one canonical form) and writing gives back the same bytes:
//!
//! ```
//! use hotfix_manifest::{Manifest, names};
//!
//! let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <hotfix format="1" id="HF-7.0.3-0042" version="3">
//!   <title>Chat messages lost on failover</title>
//!   <base release="7.0" support-package="SP3"/>
//!   <created>2026-11-25T00:00:00Z</created>
//!   <software-package name="ChatServer" version="7.0.3.12">
//!     <file path="server/ChatServer/bin/chat-core.jar" size="48213" sha256="1111111111111111111111111111111111111111111111111111111111111111"/>
//!   </software-package>
//! </hotfix>
//! "#;
//! let manifest = Manifest::from_xml(xml).expect("a valid manifest");
//! assert_eq!(manifest.id, "HF-7.0.3-0042");
//! assert_eq!(manifest.payload().count(), 1);
//! assert_eq!(manifest.to_xml(), xml.to_vec());
//!
//! let unsafe_name = names::validate_entry_name("server/../../etc/passwd").unwrap_err();
//! assert_eq!(unsafe_name.rule_id(), "name-traversal");
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "error-examples")]
pub mod error_examples;
pub mod names;
pub mod spec;
pub mod xml;

use serde::Serialize;

pub use names::{
    NameError, validate_entry_name, validate_hotfix_id, validate_software_package_name,
};
pub use spec::{
    BuildSpec, MAX_SPEC_BYTES, MsiSpec, SPEC_FILE_NAME, SoftwarePackageSpec, SpecError,
};
pub use xml::{
    MAX_DEPTH, MAX_DESCRIPTION_BYTES, MAX_ELEMENTS, MAX_FILES, MAX_MANIFEST_BYTES, MAX_TITLE_CHARS,
    MAX_VALUE_CHARS, ManifestError, ManifestErrorKind,
};

/// The package format version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// Name of the manifest entry, always the first entry of a package.
pub const MANIFEST_ENTRY: &str = "hotfix.xml";

/// Folder of signature entries: `signatures/<KEYID>.minisig`.
pub const SIGNATURES_DIR: &str = "signatures/";

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Lower-case hex, as written in the manifest.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Sha256(out))
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// One payload file: its entry name in the archive, its size and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileEntry {
    /// Entry name inside the zip, `/`-separated, e.g. `server/ChatServer/bin/chat.dll`.
    pub path: String,
    /// Uncompressed size in bytes.
    pub size: u64,
    pub sha256: Sha256,
}

/// The base installation a hotfix is built for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    /// Platform release, e.g. `7.0`.
    pub release: String,
    /// Support package level, e.g. `SP3`.
    pub support_package: String,
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.release, self.support_package)
    }
}

/// A server software package the hotfix corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoftwarePackage {
    /// e.g. `ChatServer`.
    pub name: String,
    /// Version of the software package after the hotfix, e.g. `7.0.3.12`.
    pub version: String,
    /// Files under `server/<name>/`, sorted by path.
    pub files: Vec<FileEntry>,
}

/// A client workstation component delivered as an MSI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsiComponent {
    /// The MSI file itself (`client/<file>.msi`).
    pub file: FileEntry,
    /// Read from the MSI's Property table at build time, e.g. `{8F1C...}`.
    pub product_code: String,
    pub upgrade_code: String,
    pub product_version: String,
    pub product_name: String,
    /// The component version this MSI replaces on workstations.
    pub replaces_version: String,
}

/// The manifest of one hotfix package (format v1). See `docs/FORMAT.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Always [`FORMAT_VERSION`] when written by this build.
    pub format: u32,
    /// Hotfix id; also the package file name and the install folder name.
    pub id: String,
    /// Monotonic integer version of this id, for anti-rollback.
    pub version: u64,
    pub title: String,
    /// Free-text release notes (may be empty).
    pub description: String,
    pub base: Base,
    /// Creation time, RFC 3339 UTC (from `SOURCE_DATE_EPOCH` when set).
    pub created: String,
    /// Ids of hotfixes this one replaces (cumulative hotfixes).
    pub supersedes: Vec<String>,
    /// Ids of hotfixes that must be installed first.
    pub requires: Vec<String>,
    /// Sorted by name.
    pub software_packages: Vec<SoftwarePackage>,
    /// Sorted by file path.
    pub msis: Vec<MsiComponent>,
    /// Optional documents under `docs/`, sorted by path.
    pub docs: Vec<FileEntry>,
}

impl Manifest {
    /// Every payload file the manifest lists, in archive order
    /// (server files by package, then MSIs, then docs).
    pub fn payload(&self) -> impl Iterator<Item = &FileEntry> {
        self.software_packages
            .iter()
            .flat_map(|p| p.files.iter())
            .chain(self.msis.iter().map(|m| &m.file))
            .chain(self.docs.iter())
    }

    /// Sum of the sizes of all payload files.
    pub fn payload_bytes(&self) -> u64 {
        self.payload().map(|f| f.size).sum()
    }

    /// Puts every list in the order format v1 requires (byte order of the UTF-8
    /// strings): `supersedes` and `requires` by id, software packages by name and their
    /// files by path, MSIs and docs by path. Builders call this, then
    /// [`Manifest::validate`], then [`Manifest::to_xml`]; readers require the order.
    pub fn sort(&mut self) {
        self.supersedes.sort();
        self.requires.sort();
        self.software_packages.sort_by(|a, b| a.name.cmp(&b.name));
        for p in &mut self.software_packages {
            p.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        self.msis.sort_by(|a, b| a.file.path.cmp(&b.file.path));
        self.docs.sort_by(|a, b| a.path.cmp(&b.path));
    }
}
