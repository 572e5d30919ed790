//! The one JSON vocabulary of every command's `--output-format json` document
//! (docs/JSON.md, schemas in docs/schema/): the shared pieces, built from what the
//! libraries report.
//!
//! Every document is an object with `schema_version` first ([`print_json`] adds it) and
//! `ok`, the verdict; failures are `problems` of [`Problem`]; signatures are `signers` of
//! [`Signer`]; a package file is `package`, a byte count `bytes`, a base installation
//! the [`Base`] object. Nothing here decides a verdict or reads a file: it only names.
//!
//! [`print_json`]: crate::cli::print_json

use serde::Serialize;

/// The version of the vocabulary and of every schema in docs/schema/. Bumped only for
/// a change that can break a reader (docs/JSON.md, "Compatibility").
pub const SCHEMA_VERSION: u32 = 1;

/// One thing that is wrong: the rule id it breaks, a message for people, what to do
/// when there is something to say, and where it was found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Kebab-case rule id (stable; docs/SAFETY-RULES.md and docs/TRUST.md list them).
    pub rule: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The archive entry (or installed file) concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

impl Problem {
    pub fn new(rule: impl std::fmt::Display, message: impl Into<String>) -> Problem {
        Problem {
            rule: rule.to_string(),
            message: message.into(),
            hint: None,
            entry: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Problem {
        self.hint = Some(hint.into());
        self
    }

    pub fn entry(mut self, entry: Option<String>) -> Problem {
        self.entry = entry;
        self
    }
}

/// One signature of a package (or a manifest) and what is known about it.
///
/// `trusted` says whether the key is in the trust set given; `valid` whether the
/// signature was checked and holds. A signature by a key outside the trust set cannot
/// be checked (its public key is not known), so it is `"trusted": false, "valid": null`,
/// never `"valid": false`, which means checked and broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    pub key_id: String,
    /// The signature's archive entry, `signatures/<KEYID>.minisig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted: Option<bool>,
    /// `null` when not checked; absent where nothing is checked at all (build, inspect).
    #[serde(skip_serializing_if = "Validity::is_absent")]
    pub valid: Validity,
    /// The trusted comment as written, unchecked (inspect only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_comment: Option<String>,
}

/// Whether a signature was checked: absent from the document, `null`, or the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Absent,
    Unchecked,
    Checked(bool),
}

impl Validity {
    fn is_absent(&self) -> bool {
        matches!(self, Validity::Absent)
    }
}

impl Serialize for Validity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::Absent | Validity::Unchecked => s.serialize_none(),
            Validity::Checked(b) => s.serialize_bool(*b),
        }
    }
}

impl Signer {
    /// A signer as verification found it.
    pub fn verified(s: &hotfix_package::verify::Signer) -> Signer {
        Signer {
            key_id: s.key_id.clone(),
            entry: Some(s.entry.clone()),
            trusted: Some(s.trusted),
            valid: if s.trusted {
                Validity::Checked(s.valid)
            } else {
                Validity::Unchecked
            },
            trusted_comment: None,
        }
    }
}

/// A base installation: the platform release and the support package level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    pub release: String,
    pub support_package: String,
}

impl From<&hotfix_manifest::Base> for Base {
    fn from(b: &hotfix_manifest::Base) -> Base {
        Base {
            release: b.release.clone(),
            support_package: b.support_package.clone(),
        }
    }
}

/// Renames the key `from` of a JSON object to `to` (a library's own name for a field
/// the vocabulary names otherwise).
pub fn rename(v: &mut serde_json::Value, from: &str, to: &str) {
    if let Some(obj) = v.as_object_mut()
        && let Some(x) = obj.remove(from)
    {
        obj.insert(to.to_owned(), x);
    }
}
