//! Stable identifiers of every rule the strict reader, verify and extract enforce.
//!
//! A rule id is what tests assert on and what `--output-format json` prints; the message
//! next to it is for people and may change. Every rule has a [`Category`], which is what
//! the CLI chooses the operator's hint by: a new rule falls into a category that has one.
//! Name rules ([`NameRule`]) and the trust policy's rules ([`PolicyRule`]) are rules
//! here too, under their own ids.
//!
//! `docs/SAFETY-RULES.md` has one table row per id; a test keeps the two in step.
//!
//! ```
//! use hotfix_package::rules::{Category, Rule};
//! assert_eq!(Rule::CentralDirectoryInvalid.id(), "central-directory-invalid");
//! assert_eq!(Rule::CentralDirectoryInvalid.category(), Category::Damaged);
//! assert_eq!(Rule::from_id("archive-truncated"), Some(Rule::Truncated));
//! ```

use hotfix_manifest::names::NameRule;
use hotfix_sign::policy::PolicyRule;

/// What kind of problem a rule reports, and so what the operator can do about it.
///
/// Ordered by what an operator looks at first (the order hints are printed in).
/// Deliberately not `#[non_exhaustive]`: callers match on it exhaustively, so a new
/// category cannot go without a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Too few trusted keys signed the package.
    Signers,
    /// A signature does not fit the manifest it came with: something changed after
    /// signing.
    Signature,
    /// The file ends early: a download or copy was cut short.
    Incomplete,
    /// The archive, an entry, a name or the manifest breaks the format: the package is
    /// damaged or was tampered with.
    Damaged,
    /// The installation's state refuses the package (extract's checks, each with its
    /// waiver).
    Installation,
    /// The signed trust policy or the release index refuses the package.
    Trust,
    /// Not a property of the package but of the report (failures left out).
    Report,
}

/// Declares [`Rule`] with each plain variant's id and category in one row, so the list
/// of every rule ([`Rule::all`]) cannot miss one.
macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $category:ident; )*) => {
        /// A rule of the package format, of an installation or of the trust policy.
        ///
        /// Serialized as its id (`"central-directory-invalid"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Rule {
            $( $(#[$doc])* $variant, )*
            /// A name that is unsafe on some file system ([`NameRule`]; ids `name-*`).
            Name(NameRule),
            /// A package refused by the trust policy or the release index (hotfix-sign's
            /// rules).
            Trust(PolicyRule),
        }

        impl Rule {
            /// The rules without a payload, in declaration order.
            const PLAIN: &'static [Rule] = &[$(Rule::$variant),*];

            /// The stable identifier.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                    Rule::Name(rule) => rule.id(),
                    Rule::Trust(rule) => rule.id(),
                }
            }

            /// What kind of problem the rule reports.
            pub fn category(self) -> Category {
                match self {
                    $(Rule::$variant => Category::$category,)*
                    // An unsafe name is never written by `hotfix build`: it was put there.
                    Rule::Name(_) => Category::Damaged,
                    Rule::Trust(_) => Category::Trust,
                }
            }
        }
    };
}

rules! {

    // Archive structure.
    /// The file does not end with an end-of-central-directory record.
    NoEndRecord = "archive-no-end-record", Damaged;
    /// Bytes after the end-of-central-directory record.
    AppendedData = "archive-appended-data", Damaged;
    /// The archive has a comment.
    ArchiveComment = "archive-comment", Damaged;
    /// The file ends before a structure it declares.
    Truncated = "archive-truncated", Incomplete;
    /// A ZIP64 record is malformed or inconsistent.
    Zip64Invalid = "archive-zip64-invalid", Damaged;
    /// The archive claims to span several disks.
    MultiDisk = "archive-multi-disk", Damaged;
    /// The central directory is malformed, out of bounds or too large.
    CentralDirectoryInvalid = "central-directory-invalid", Damaged;
    /// More entries than the reader accepts.
    TooManyEntries = "archive-too-many-entries", Damaged;
    /// Bytes before the first local header.
    PrependedData = "archive-prepended-data", Damaged;
    /// Two entries share bytes.
    OverlappingEntries = "entries-overlap", Damaged;
    /// Bytes between entries that belong to no entry.
    GapBetweenEntries = "entries-gap", Damaged;
    /// A local header is missing or malformed.
    LocalHeaderInvalid = "local-header-invalid", Damaged;
    /// A local header disagrees with its central directory record.
    LocalHeaderMismatch = "local-header-mismatch", Damaged;

    // One entry.
    /// Encryption flag set.
    Encrypted = "entry-encrypted", Damaged;
    /// Data-descriptor flag set.
    DataDescriptor = "entry-data-descriptor", Damaged;
    /// Compression other than stored or deflate.
    UnsupportedMethod = "entry-unsupported-method", Damaged;
    /// General-purpose flags the format does not use.
    UnsupportedFlags = "entry-unsupported-flags", Damaged;
    /// An extra field other than ZIP64.
    ExtraField = "entry-extra-field", Damaged;
    /// An entry comment.
    EntryComment = "entry-comment", Damaged;
    /// A symbolic link.
    Symlink = "entry-symlink", Damaged;
    /// A directory entry.
    DirectoryEntry = "entry-directory", Damaged;
    /// A device, fifo, socket or other non-regular file.
    SpecialFile = "entry-special-file", Damaged;
    /// Attributes not written by a Unix host as the format requires.
    Attributes = "entry-attributes", Damaged;
    /// The entry name is not UTF-8 (or not flagged as such).
    NameNotUtf8 = "entry-name-not-utf8", Damaged;
    /// Sizes disagree (stored sizes, or data shorter or longer than declared).
    SizeMismatch = "entry-size-mismatch", Damaged;
    /// CRC-32 of the data differs from the declared one.
    CrcMismatch = "entry-crc-mismatch", Damaged;
    /// The compressed data cannot be decompressed.
    CorruptData = "entry-corrupt-data", Damaged;
    /// A manifest or signature entry larger than its cap.
    TooLarge = "entry-too-large", Damaged;

    // Package layout.
    /// Entries out of the order format v1 prescribes.
    EntryOrder = "entry-order", Damaged;
    /// No `hotfix.xml` first.
    ManifestMissing = "manifest-missing", Damaged;
    /// The manifest or a signature is not stored uncompressed.
    NotStored = "entry-not-stored", Damaged;
    /// The manifest XML is invalid.
    ManifestInvalid = "manifest-invalid", Damaged;
    /// A payload path outside the section (`server/<pkg>/`, `client/`, `docs/`) it is listed in.
    ManifestLayout = "manifest-layout", Damaged;

    // Signatures and trust.
    /// No signature entries.
    NoSignatures = "signatures-missing", Signers;
    /// More signature entries than are looked at.
    TooManySignatures = "signatures-too-many", Damaged;
    /// A signature file that cannot be parsed.
    SignatureMalformed = "signature-malformed", Signature;
    /// A signature entry whose name does not match its key id.
    SignatureNameMismatch = "signature-name-mismatch", Signature;
    /// A signature by a trusted key that does not verify.
    SignatureInvalid = "signature-invalid", Signature;
    /// The trusted comment does not bind this id, version and manifest hash.
    TrustedCommentMismatch = "signature-trusted-comment", Signature;
    /// The signed id or version differ from the manifest's.
    SignedIdMismatch = "signature-id-mismatch", Signature;
    /// Fewer distinct valid trusted signers than required.
    ThresholdNotMet = "threshold-not-met", Signers;

    // Payload against the manifest.
    /// An entry the manifest does not list.
    UnlistedEntry = "entry-unlisted", Damaged;
    /// A manifest file absent from the archive.
    MissingEntry = "entry-missing", Damaged;
    /// The same name twice.
    DuplicateEntry = "entry-duplicate", Damaged;
    /// Two names a case-insensitive or normalizing file system would merge, or a file
    /// that is also a folder of another file.
    NameCollision = "name-collision", Damaged;
    /// More bytes than the manifest declares.
    SizeExceedsManifest = "entry-size-exceeds-manifest", Damaged;
    /// Fewer bytes than the manifest declares.
    SizeShortOfManifest = "entry-size-short-of-manifest", Damaged;
    /// SHA-256 differs from the manifest's.
    HashMismatch = "entry-sha256-mismatch", Damaged;

    /// More failures than a report lists.
    TooManyFailures = "failures-truncated", Report;

    // Installation policy (extract).
    /// A lower version than the installed one.
    Rollback = "install-rollback", Installation;
    /// A different package with the same id is installed.
    InstalledDiffers = "install-differs", Installation;
    /// An installed hotfix supersedes this one.
    Superseded = "install-superseded", Installation;
    /// A hotfix this one requires is not installed (nor one that supersedes it).
    RequiresMissing = "install-requires-missing", Installation;

    // Installation folder state (extract).
    /// The same manifest is already installed: nothing is written unless reinstalling.
    AlreadyInstalled = "install-already-installed", Installation;
    /// `Install/hotfixes/<ID>` is a symbolic link; it is never followed or replaced.
    InstalledSymlink = "install-symlink", Installation;
    /// The same manifest is installed, but the folder's files no longer match it.
    InstalledModified = "install-modified", Installation;

    // Canonical form: one encoding per package, so no byte changes unnoticed.
    /// A ZIP64 extra field, or a 0xFFFFFFFF size or offset, where the value fits 32 bits.
    Zip64Unneeded = "entry-zip64-unneeded", Damaged;
    /// A ZIP64 end record where the classic end record holds every value.
    Zip64EndUnneeded = "archive-zip64-unneeded", Damaged;
    /// "Version needed to extract" other than 20, or 45 for an entry with ZIP64 fields.
    VersionNeeded = "entry-version-needed", Damaged;
    /// An entry's DOS time is not the manifest's `created` time.
    EntryTime = "entry-time", Damaged;
    /// A signature file that is not byte for byte what `hotfix` writes.
    SignatureNotCanonical = "signature-not-canonical", Signature;

}

impl Rule {
    /// Every rule: the plain ones, then [`NameRule::ALL`] and [`PolicyRule::ALL`].
    pub fn all() -> impl Iterator<Item = Rule> {
        Rule::PLAIN
            .iter()
            .copied()
            .chain(NameRule::ALL.into_iter().map(Rule::Name))
            .chain(PolicyRule::ALL.into_iter().map(Rule::Trust))
    }

    /// The rule with this id. The trust policy's `threshold-not-met` shares its id with
    /// the package rule [`Rule::ThresholdNotMet`] (the same thing, judged by the policy's
    /// threshold); this gives the package rule.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::all().find(|rule| rule.id() == id)
    }
}

impl From<NameRule> for Rule {
    fn from(rule: NameRule) -> Rule {
        Rule::Name(rule)
    }
}

impl From<PolicyRule> for Rule {
    fn from(rule: PolicyRule) -> Rule {
        Rule::Trust(rule)
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// A rule equals its id, so reports can be checked against ids kept as text (the
/// hostile corpus's index, JSON output).
impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.id() == other
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id() == *other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn ids_are_kebab_case_and_distinct_but_for_the_shared_threshold() {
        let mut seen = BTreeMap::new();
        for rule in Rule::all() {
            let id = rule.id();
            assert!(
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
            if let Some(before) = seen.insert(id, rule) {
                assert_eq!(
                    (before, rule),
                    (
                        Rule::ThresholdNotMet,
                        Rule::Trust(PolicyRule::ThresholdNotMet)
                    ),
                    "{id} is used twice"
                );
            }
        }
    }

    #[test]
    fn from_id_gives_back_every_rule() {
        for rule in Rule::all() {
            let back = Rule::from_id(rule.id()).expect("known id");
            assert_eq!(back.id(), rule.id());
        }
        assert_eq!(Rule::from_id("no-such-rule"), None);
    }

    #[test]
    fn a_rule_serializes_as_its_id() {
        let json = serde_json::to_string(&[Rule::CentralDirectoryInvalid, NameRule::Colon.into()])
            .expect("json");
        assert_eq!(json, r#"["central-directory-invalid","name-colon"]"#);
    }

    /// The ids in the first column of every table headed `rule id` in a doc.
    fn documented_ids(doc: &str) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        let mut in_rule_table = false;
        for line in doc.lines() {
            let line = line.trim();
            if !line.starts_with('|') {
                in_rule_table = false;
                continue;
            }
            let first = line
                .trim_matches('|')
                .split('|')
                .next()
                .unwrap_or("")
                .trim();
            if first == "rule id" {
                in_rule_table = true;
                continue;
            }
            if !in_rule_table || first.starts_with("---") {
                continue;
            }
            for part in first.split('`').skip(1).step_by(2) {
                ids.insert(part.to_owned());
            }
        }
        ids
    }

    #[test]
    fn safety_rules_doc_has_one_row_per_rule_and_no_stale_rows() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SAFETY-RULES.md");
        let doc = std::fs::read_to_string(path).expect("docs/SAFETY-RULES.md");
        let documented = documented_ids(&doc);
        let rules: BTreeSet<String> = Rule::all().map(|r| r.id().to_owned()).collect();
        let undocumented: Vec<&String> = rules.difference(&documented).collect();
        let stale: Vec<&String> = documented.difference(&rules).collect();
        assert!(
            undocumented.is_empty(),
            "rules without a row in docs/SAFETY-RULES.md: {undocumented:?}"
        );
        assert!(
            stale.is_empty(),
            "rows of docs/SAFETY-RULES.md that name no rule: {stale:?}"
        );
    }
}
