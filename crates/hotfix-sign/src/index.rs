//! The signed release index: for one release and support package, the current version
//! of each hotfix (with its manifest's SHA-256) and the hotfixes withdrawn, with an
//! issue date, an expiry and a version number.
//!
//! It answers what a package signature alone cannot: "is this still the hotfix to
//! install?" A validly signed but withdrawn hotfix, an old build replayed after a newer
//! one, or a manifest other than the one published, are refused by the index. The index
//! expires so a frozen (never updated) copy cannot hide a withdrawal for ever, and sites
//! remember the highest index version seen so an old index cannot be replayed.
//!
//! The file is the same envelope as the trust policy (TOML body, marker, minisign
//! signature blocks over the body's bytes), signed by the policy's signing keys and
//! judged like a package ([`crate::policy::TrustPolicy::judge`]). Nothing here reads the
//! clock: callers pass `now`.

use std::collections::BTreeSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::envelope::{Envelope, Kind, parse_toml, read_file};
use crate::policy::{PolicyRule, TrustPolicy, format_time, parse_time, toml_string};
use crate::{SignError, Signature, Signer, sign};

/// The line that ends the signed body and starts the signature blocks.
pub const INDEX_SIGNATURE_MARKER: &str = "-----BEGIN HOTFIX RELEASE INDEX SIGNATURES-----";
/// Largest index file read (bytes).
pub const MAX_INDEX_BYTES: usize = 4 * 1024 * 1024;
/// Most hotfixes and withdrawals an index may list.
pub const MAX_INDEX_ENTRIES: usize = 20_000;
/// The body format this implementation reads and writes.
pub const INDEX_FORMAT: u32 = 1;

const INDEX_KIND: Kind = Kind {
    marker: INDEX_SIGNATURE_MARKER,
    what: "release index",
    max_bytes: MAX_INDEX_BYTES,
    max_signatures: 64,
    malformed: PolicyRule::IndexMalformed,
};

/// The current build of one hotfix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedHotfix {
    pub id: String,
    pub version: u64,
    /// SHA-256 of the exact `hotfix.xml` bytes, lower-case hex.
    pub manifest_sha256: String,
}

/// A hotfix that must not be installed any more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: String,
    /// Unix seconds.
    pub date: i64,
    pub reason: String,
}

/// The index body: what the signatures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBody {
    pub release: String,
    pub support_package: String,
    pub version: u64,
    /// Unix seconds.
    pub issued: i64,
    /// Unix seconds; from then on the index is refused unless a stale one is accepted
    /// explicitly.
    pub expires: i64,
    pub hotfixes: Vec<IndexedHotfix>,
    pub withdrawn: Vec<Withdrawal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    format: u32,
    release: String,
    support_package: String,
    version: u64,
    issued: String,
    expires: String,
    #[serde(default)]
    hotfix: Vec<RawHotfix>,
    #[serde(default)]
    withdrawn: Vec<RawWithdrawn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHotfix {
    id: String,
    version: u64,
    manifest_sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWithdrawn {
    id: String,
    date: String,
    reason: String,
}

fn refuse(rule: PolicyRule, message: impl Into<String>) -> SignError {
    SignError::Policy {
        rule,
        message: message.into(),
    }
}

fn malformed(message: impl std::fmt::Display) -> SignError {
    INDEX_KIND.malformed(message)
}

/// A malformed-policy error from a shared helper, as an index error.
fn as_index(err: SignError) -> SignError {
    match err {
        SignError::Policy {
            rule: PolicyRule::PolicyMalformed,
            message,
        } => malformed(message),
        other => other,
    }
}

impl IndexBody {
    /// Parses and checks a body.
    pub fn parse(text: &str) -> Result<IndexBody, SignError> {
        let raw: RawIndex = parse_toml(text, INDEX_KIND)?;
        if raw.format != INDEX_FORMAT {
            return Err(malformed(format!(
                "index format {} is not supported (this hotfix reads format {INDEX_FORMAT})",
                raw.format
            )));
        }
        if raw.version == 0 {
            return Err(malformed("version must be 1 or more"));
        }
        if raw.hotfix.len() + raw.withdrawn.len() > MAX_INDEX_ENTRIES {
            return Err(malformed(format!(
                "more than {MAX_INDEX_ENTRIES} hotfixes and withdrawals"
            )));
        }
        let issued = parse_time(&raw.issued, "issued").map_err(as_index)?;
        let expires = parse_time(&raw.expires, "expires").map_err(as_index)?;
        if expires <= issued {
            return Err(malformed("expires is not after issued"));
        }
        let mut ids = BTreeSet::new();
        let mut hotfixes = Vec::with_capacity(raw.hotfix.len());
        for (i, h) in raw.hotfix.into_iter().enumerate() {
            let valid_hash = h.manifest_sha256.len() == 64
                && h.manifest_sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !valid_hash {
                return Err(malformed(format!(
                    "hotfix[{i}].manifest_sha256 is not 64 lower-case hex digits"
                )));
            }
            if h.id.is_empty() || !ids.insert(h.id.clone()) {
                return Err(malformed(format!(
                    "hotfix[{i}].id {:?} is empty or listed twice",
                    h.id
                )));
            }
            hotfixes.push(IndexedHotfix {
                id: h.id,
                version: h.version,
                manifest_sha256: h.manifest_sha256,
            });
        }
        let mut withdrawn = Vec::with_capacity(raw.withdrawn.len());
        let mut seen = BTreeSet::new();
        for (i, w) in raw.withdrawn.into_iter().enumerate() {
            if w.id.is_empty() || !seen.insert(w.id.clone()) {
                return Err(malformed(format!(
                    "withdrawn[{i}].id {:?} is empty or listed twice",
                    w.id
                )));
            }
            if ids.contains(&w.id) {
                return Err(malformed(format!(
                    "{} is listed both as current and as withdrawn",
                    w.id
                )));
            }
            withdrawn.push(Withdrawal {
                date: parse_time(&w.date, &format!("withdrawn[{i}].date")).map_err(as_index)?,
                id: w.id,
                reason: w.reason,
            });
        }
        Ok(IndexBody {
            release: raw.release,
            support_package: raw.support_package,
            version: raw.version,
            issued,
            expires,
            hotfixes,
            withdrawn,
        })
    }

    /// The body as TOML, in the one layout this tool writes (parsing it gives `self`).
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let q = toml_string;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# hotfix release index. Everything above the signature marker is signed; edit it\n\
             # only with `hotfix index`, which drops signatures an edit invalidates.\n\
             format = {INDEX_FORMAT}\nrelease = {}\nsupport_package = {}\nversion = {}\n\
             issued = {}\nexpires = {}",
            q(&self.release),
            q(&self.support_package),
            self.version,
            q(&format_time(self.issued)),
            q(&format_time(self.expires)),
        );
        for h in &self.hotfixes {
            let _ = writeln!(
                out,
                "\n[[hotfix]]\nid = {}\nversion = {}\nmanifest_sha256 = {}",
                q(&h.id),
                h.version,
                q(&h.manifest_sha256)
            );
        }
        for w in &self.withdrawn {
            let _ = writeln!(
                out,
                "\n[[withdrawn]]\nid = {}\ndate = {}\nreason = {}",
                q(&w.id),
                q(&format_time(w.date)),
                q(&w.reason)
            );
        }
        out
    }

    pub fn hotfix(&self, id: &str) -> Option<&IndexedHotfix> {
        self.hotfixes.iter().find(|h| h.id == id)
    }

    pub fn withdrawal(&self, id: &str) -> Option<&Withdrawal> {
        self.withdrawn.iter().find(|w| w.id == id)
    }
}

/// A release index file: the body as parsed, its exact bytes, and its signatures.
#[derive(Debug, Clone)]
pub struct ReleaseIndex {
    pub body: IndexBody,
    envelope: Envelope,
}

/// What a hotfix is, as far as an index is concerned.
#[derive(Debug, Clone, Copy)]
pub struct HotfixIdentity<'a> {
    pub id: &'a str,
    pub version: u64,
    pub release: &'a str,
    pub support_package: &'a str,
    /// SHA-256 of the exact `hotfix.xml` bytes, lower-case hex.
    pub manifest_sha256: &'a str,
}

impl IndexStatus {
    /// A short id: `current`, `superseded`, `withdrawn`, `mismatch`, `not-listed`.
    pub fn id(&self) -> &'static str {
        match self {
            IndexStatus::Current => "current",
            IndexStatus::Superseded { .. } => "superseded",
            IndexStatus::Withdrawn { .. } => "withdrawn",
            IndexStatus::Mismatch { .. } => "mismatch",
            IndexStatus::NotListed => "not-listed",
        }
    }
}

/// SHA-256 of `bytes`, lower-case hex (as an index lists manifests).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What an index says of an installed hotfix (for `list --index`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexStatus {
    /// The index lists exactly this build as current.
    Current,
    /// The index lists a newer version.
    Superseded { current_version: u64 },
    /// The index withdraws it.
    Withdrawn { reason: String, date: i64 },
    /// The index lists another manifest for this version, or a different release.
    Mismatch { message: String },
    /// The index does not list it.
    NotListed,
}

impl ReleaseIndex {
    /// Parses an index file's text.
    pub fn parse(text: &str) -> Result<ReleaseIndex, SignError> {
        let envelope = Envelope::parse(text, INDEX_KIND)?;
        let body = IndexBody::parse(&envelope.body)?;
        Ok(ReleaseIndex { body, envelope })
    }

    /// Reads an index file: a regular file of at most [`MAX_INDEX_BYTES`] bytes (a FIFO
    /// or device is refused before it is opened).
    pub fn from_file(path: &std::path::Path) -> Result<ReleaseIndex, SignError> {
        let text = read_file(path, INDEX_KIND)?;
        ReleaseIndex::parse(&text).map_err(|e| e.in_file(path))
    }

    /// A new, unsigned index.
    pub fn unsigned(body: IndexBody) -> ReleaseIndex {
        ReleaseIndex {
            envelope: Envelope {
                body: body.to_toml(),
                signatures: Vec::new(),
            },
            body,
        }
    }

    pub fn body_text(&self) -> &str {
        &self.envelope.body
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.envelope.signatures
    }

    pub fn to_file_text(&self) -> String {
        self.envelope.to_text(INDEX_SIGNATURE_MARKER)
    }

    fn trusted_comment(&self) -> String {
        format!(
            "hotfix-release-index release:{} support-package:{} version:{} sha256:{}",
            self.body.release.replace(char::is_whitespace, "_"),
            self.body.support_package.replace(char::is_whitespace, "_"),
            self.body.version,
            hex::encode(Sha256::digest(self.body_text().as_bytes()))
        )
    }

    /// Adds `key`'s signature (replacing an earlier one by the same key).
    pub fn sign<S: Signer + ?Sized>(&mut self, key: &S) -> Result<(), SignError> {
        let sig = sign(
            key,
            self.body_text().as_bytes(),
            &self.trusted_comment(),
            &format!(
                "hotfix release index {} {} version {}",
                self.body.release, self.body.support_package, self.body.version
            ),
        )?;
        self.envelope.add(sig);
        Ok(())
    }

    /// Checks the index's signatures under `policy` (as a package's are judged), its
    /// trusted comments, and its expiry (unless `allow_stale`).
    pub fn verify(
        &self,
        policy: &TrustPolicy,
        now: i64,
        allow_stale: bool,
    ) -> Result<(), SignError> {
        let expected = self.trusted_comment();
        // A signature whose trusted comment names another index never counts.
        let bound: Vec<Signature> = self
            .signatures()
            .iter()
            .filter(|s| s.trusted_comment() == expected)
            .cloned()
            .collect();
        policy
            .judge(&bound, self.body_text().as_bytes(), now)
            .verdict()
            .map_err(|e| match e {
                SignError::Policy { rule, message } => refuse(
                    rule,
                    format!(
                        "release index version {} is not trusted: {message}",
                        self.body.version
                    ),
                ),
                other => other,
            })?;
        if !allow_stale && now >= self.body.expires {
            return Err(refuse(
                PolicyRule::IndexExpired,
                format!(
                    "release index version {} expired at {}",
                    self.body.version,
                    format_time(self.body.expires)
                ),
            ));
        }
        Ok(())
    }

    /// Refuses an index older than the highest version a site has seen.
    pub fn check_not_older_than(&self, seen: u64) -> Result<(), SignError> {
        if self.body.version < seen {
            return Err(refuse(
                PolicyRule::IndexRollback,
                format!(
                    "release index version {} is older than version {seen}, already seen here",
                    self.body.version
                ),
            ));
        }
        Ok(())
    }

    /// What the index says of a hotfix.
    pub fn status(&self, hotfix: &HotfixIdentity<'_>) -> IndexStatus {
        if hotfix.release != self.body.release
            || hotfix.support_package != self.body.support_package
        {
            return IndexStatus::Mismatch {
                message: format!(
                    "the index is for {} {}, the hotfix for {} {}",
                    self.body.release,
                    self.body.support_package,
                    hotfix.release,
                    hotfix.support_package
                ),
            };
        }
        if let Some(w) = self.body.withdrawal(hotfix.id) {
            return IndexStatus::Withdrawn {
                reason: w.reason.clone(),
                date: w.date,
            };
        }
        let Some(listed) = self.body.hotfix(hotfix.id) else {
            return IndexStatus::NotListed;
        };
        if listed.version > hotfix.version {
            return IndexStatus::Superseded {
                current_version: listed.version,
            };
        }
        let sha = hotfix.manifest_sha256;
        if listed.version != hotfix.version || listed.manifest_sha256 != sha {
            return IndexStatus::Mismatch {
                message: format!(
                    "the index lists version {} with manifest sha256 {}, the package is version {} with manifest sha256 {sha}",
                    listed.version, listed.manifest_sha256, hotfix.version
                ),
            };
        }
        IndexStatus::Current
    }

    /// Refuses a hotfix the index does not list as current, by rule.
    pub fn check_hotfix(&self, hotfix: &HotfixIdentity<'_>) -> Result<(), SignError> {
        let id = hotfix.id;
        match self.status(hotfix) {
            IndexStatus::Current => Ok(()),
            IndexStatus::Withdrawn { reason, date } => Err(refuse(
                PolicyRule::HotfixWithdrawn,
                format!("{id} was withdrawn on {}: {reason}", format_time(date)),
            )),
            IndexStatus::Superseded { current_version } => Err(refuse(
                PolicyRule::IndexMismatch,
                format!(
                    "{id} version {} is not current: the index lists version {current_version}",
                    hotfix.version
                ),
            )),
            IndexStatus::Mismatch { message } => Err(refuse(
                PolicyRule::IndexMismatch,
                format!("{id}: {message}"),
            )),
            IndexStatus::NotListed => Err(refuse(
                PolicyRule::HotfixNotInIndex,
                format!(
                    "{id} is not in release index version {} for {} {}",
                    self.body.version, self.body.release, self.body.support_package
                ),
            )),
        }
    }
}
