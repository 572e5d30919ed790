//! Stable identifiers of every rule the strict reader, verify and extract enforce.
//!
//! A rule id is what tests assert on and what `--output-format json` prints; the message
//! next to it is for people and may change. Name rules (`name-*`) come from
//! [`hotfix_manifest::names::NameRule`].

/// A rule of the package format or of the trust policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    // Archive structure.
    /// The file does not end with an end-of-central-directory record.
    NoEndRecord,
    /// Bytes after the end-of-central-directory record.
    AppendedData,
    /// The archive has a comment.
    ArchiveComment,
    /// The file ends before a structure it declares.
    Truncated,
    /// A ZIP64 record is malformed or inconsistent.
    Zip64Invalid,
    /// The archive claims to span several disks.
    MultiDisk,
    /// The central directory is malformed, out of bounds or too large.
    CentralDirectoryInvalid,
    /// More entries than the reader accepts.
    TooManyEntries,
    /// Bytes before the first local header.
    PrependedData,
    /// Two entries share bytes.
    OverlappingEntries,
    /// Bytes between entries that belong to no entry.
    GapBetweenEntries,
    /// A local header is missing or malformed.
    LocalHeaderInvalid,
    /// A local header disagrees with its central directory record.
    LocalHeaderMismatch,

    // One entry.
    /// Encryption flag set.
    Encrypted,
    /// Data-descriptor flag set.
    DataDescriptor,
    /// Compression other than stored or deflate.
    UnsupportedMethod,
    /// General-purpose flags the format does not use.
    UnsupportedFlags,
    /// An extra field other than ZIP64.
    ExtraField,
    /// An entry comment.
    EntryComment,
    /// A symbolic link.
    Symlink,
    /// A directory entry.
    DirectoryEntry,
    /// A device, fifo, socket or other non-regular file.
    SpecialFile,
    /// Attributes not written by a Unix host as the format requires.
    Attributes,
    /// The entry name is not UTF-8 (or not flagged as such).
    NameNotUtf8,
    /// Sizes disagree (stored sizes, or data shorter or longer than declared).
    SizeMismatch,
    /// CRC-32 of the data differs from the declared one.
    CrcMismatch,
    /// The compressed data cannot be decompressed.
    CorruptData,
    /// A manifest or signature entry larger than its cap.
    TooLarge,

    // Package layout.
    /// Entries out of the order format v1 prescribes.
    EntryOrder,
    /// No `hotfix.xml` first.
    ManifestMissing,
    /// The manifest or a signature is not stored uncompressed.
    NotStored,
    /// The manifest XML is invalid.
    ManifestInvalid,
    /// A payload path outside the section (`server/<pkg>/`, `client/`, `docs/`) it is listed in.
    ManifestLayout,

    // Signatures and trust.
    /// No signature entries.
    NoSignatures,
    /// More signature entries than are looked at.
    TooManySignatures,
    /// A signature file that cannot be parsed.
    SignatureMalformed,
    /// A signature entry whose name does not match its key id.
    SignatureNameMismatch,
    /// A signature by a trusted key that does not verify.
    SignatureInvalid,
    /// The trusted comment does not bind this id, version and manifest hash.
    TrustedCommentMismatch,
    /// The signed id or version differ from the manifest's.
    SignedIdMismatch,
    /// Fewer distinct valid trusted signers than required.
    ThresholdNotMet,

    // Payload against the manifest.
    /// An entry the manifest does not list.
    UnlistedEntry,
    /// A manifest file absent from the archive.
    MissingEntry,
    /// The same name twice.
    DuplicateEntry,
    /// Two names a case-insensitive or normalizing file system would merge, or a file
    /// that is also a folder of another file.
    NameCollision,
    /// More bytes than the manifest declares.
    SizeExceedsManifest,
    /// Fewer bytes than the manifest declares.
    SizeShortOfManifest,
    /// SHA-256 differs from the manifest's.
    HashMismatch,

    /// More failures than a report lists.
    TooManyFailures,

    // Installation policy (extract).
    /// A lower version than the installed one.
    Rollback,
    /// A different package with the same id is installed.
    InstalledDiffers,
    /// An installed hotfix supersedes this one.
    Superseded,
    /// A hotfix this one requires is not installed (nor one that supersedes it).
    RequiresMissing,

    // Installation folder state (extract).
    /// The same manifest is already installed: nothing is written unless reinstalling.
    AlreadyInstalled,
    /// `Install/hotfixes/<ID>` is a symbolic link; it is never followed or replaced.
    InstalledSymlink,
    /// The same manifest is installed, but the folder's files no longer match it.
    InstalledModified,

    // Canonical form: one encoding per package, so no byte changes unnoticed.
    /// A ZIP64 extra field, or a 0xFFFFFFFF size or offset, where the value fits 32 bits.
    Zip64Unneeded,
    /// A ZIP64 end record where the classic end record holds every value.
    Zip64EndUnneeded,
    /// "Version needed to extract" other than 20, or 45 for an entry with ZIP64 fields.
    VersionNeeded,
    /// An entry's DOS time is not the manifest's `created` time.
    EntryTime,
    /// A signature file that is not byte for byte what `hotfix` writes.
    SignatureNotCanonical,

    // The signed trust policy and release index (hotfix-sign's rules).
    /// A package refused by the trust policy or the release index.
    Trust(hotfix_sign::policy::PolicyRule),
}

impl Rule {
    /// The stable identifier.
    pub fn id(self) -> &'static str {
        match self {
            Rule::NoEndRecord => "archive-no-end-record",
            Rule::AppendedData => "archive-appended-data",
            Rule::ArchiveComment => "archive-comment",
            Rule::Truncated => "archive-truncated",
            Rule::Zip64Invalid => "archive-zip64-invalid",
            Rule::MultiDisk => "archive-multi-disk",
            Rule::CentralDirectoryInvalid => "central-directory-invalid",
            Rule::TooManyEntries => "archive-too-many-entries",
            Rule::PrependedData => "archive-prepended-data",
            Rule::OverlappingEntries => "entries-overlap",
            Rule::GapBetweenEntries => "entries-gap",
            Rule::LocalHeaderInvalid => "local-header-invalid",
            Rule::LocalHeaderMismatch => "local-header-mismatch",
            Rule::Encrypted => "entry-encrypted",
            Rule::DataDescriptor => "entry-data-descriptor",
            Rule::UnsupportedMethod => "entry-unsupported-method",
            Rule::UnsupportedFlags => "entry-unsupported-flags",
            Rule::ExtraField => "entry-extra-field",
            Rule::EntryComment => "entry-comment",
            Rule::Symlink => "entry-symlink",
            Rule::DirectoryEntry => "entry-directory",
            Rule::SpecialFile => "entry-special-file",
            Rule::Attributes => "entry-attributes",
            Rule::NameNotUtf8 => "entry-name-not-utf8",
            Rule::SizeMismatch => "entry-size-mismatch",
            Rule::CrcMismatch => "entry-crc-mismatch",
            Rule::CorruptData => "entry-corrupt-data",
            Rule::TooLarge => "entry-too-large",
            Rule::EntryOrder => "entry-order",
            Rule::ManifestMissing => "manifest-missing",
            Rule::NotStored => "entry-not-stored",
            Rule::ManifestInvalid => "manifest-invalid",
            Rule::ManifestLayout => "manifest-layout",
            Rule::NoSignatures => "signatures-missing",
            Rule::TooManySignatures => "signatures-too-many",
            Rule::SignatureMalformed => "signature-malformed",
            Rule::SignatureNameMismatch => "signature-name-mismatch",
            Rule::SignatureInvalid => "signature-invalid",
            Rule::TrustedCommentMismatch => "signature-trusted-comment",
            Rule::SignedIdMismatch => "signature-id-mismatch",
            Rule::ThresholdNotMet => "threshold-not-met",
            Rule::UnlistedEntry => "entry-unlisted",
            Rule::MissingEntry => "entry-missing",
            Rule::DuplicateEntry => "entry-duplicate",
            Rule::NameCollision => "name-collision",
            Rule::SizeExceedsManifest => "entry-size-exceeds-manifest",
            Rule::SizeShortOfManifest => "entry-size-short-of-manifest",
            Rule::HashMismatch => "entry-sha256-mismatch",
            Rule::TooManyFailures => "failures-truncated",
            Rule::Rollback => "install-rollback",
            Rule::InstalledDiffers => "install-differs",
            Rule::Superseded => "install-superseded",
            Rule::RequiresMissing => "install-requires-missing",
            Rule::AlreadyInstalled => "install-already-installed",
            Rule::InstalledSymlink => "install-symlink",
            Rule::InstalledModified => "install-modified",
            Rule::Zip64Unneeded => "entry-zip64-unneeded",
            Rule::Zip64EndUnneeded => "archive-zip64-unneeded",
            Rule::VersionNeeded => "entry-version-needed",
            Rule::EntryTime => "entry-time",
            Rule::SignatureNotCanonical => "signature-not-canonical",
            Rule::Trust(rule) => rule.id(),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}
