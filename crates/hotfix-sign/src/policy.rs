//! The signed trust policy: which keys may sign hotfixes, and who may change that.
//!
//! A policy file is a TOML body followed by minisign signature blocks:
//!
//! ```text
//! format = 1
//! version = 2
//! ...TOML body: root keys and threshold, signing keys with roles and validity,
//!    revoked key ids...
//! -----BEGIN HOTFIX TRUST POLICY SIGNATURES-----
//! untrusted comment: ...            (one 4-line minisign signature block per signer)
//! RU...
//! trusted comment: hotfix-trust-policy version:2 sha256:<hex of the body>
//! ...
//! ```
//!
//! The signed bytes are the body exactly as it stands in the file (everything before the
//! marker line), so no canonical form is needed and `minisign -V` can check each block
//! against the body cut out of the file. The trusted comment binds the policy version
//! and the body's SHA-256, so a signature over one body never counts for another.
//!
//! Rotation follows TUF: version N+1 counts only when the root threshold of version N
//! **and** its own root threshold signed it, so a site that trusts version 1 reaches
//! version 5 by walking 2, 3, 4, 5 ([`walk_chain`]). Revoked key ids never count, as
//! root keys or as signing keys.
//!
//! Everything parsed here may come from an attacker: the file is size-capped, the TOML
//! is strict (unknown fields are errors), and no signature is trusted before its key is
//! found in the policy. Nothing here reads the clock: callers pass `now`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::envelope::{Envelope, Kind, parse_toml, read_file};
use crate::{KeyId, PublicKey, SignError, Signature, Signer, sign};

/// The line that ends the signed body and starts the signature blocks.
pub const SIGNATURE_MARKER: &str = "-----BEGIN HOTFIX TRUST POLICY SIGNATURES-----";
/// Largest policy file read (bytes).
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// Most keys (root and signing together) and revocations a policy may list.
pub const MAX_POLICY_ENTRIES: usize = 4096;
/// Most signature blocks a policy file may carry.
pub const MAX_POLICY_SIGNATURES: usize = 64;
/// The body format this implementation reads and writes.
pub const POLICY_FORMAT: u32 = 1;

/// Why a policy, or a package under a policy, is refused. Serialized as its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PolicyRule {
    /// The file is not a well-formed policy (bad TOML, unknown field, bad key, too large).
    PolicyMalformed,
    /// Fewer distinct root keys signed the policy than its root threshold.
    PolicyThresholdNotMet,
    /// A version in the rotation chain is missing (versions must follow one by one).
    PolicyChainGap,
    /// The policy is older than (or as old as) one already accepted.
    PolicyRollback,
    /// The policy's `expires` time has passed.
    PolicyExpired,
    /// The same key id is listed twice.
    DuplicateKeyId,
    /// The key was revoked by the policy.
    KeyRevoked,
    /// The key's validity window ended.
    KeyExpired,
    /// The key's validity window has not started.
    KeyNotYetValid,
    /// The key is not in the policy.
    KeyUnknown,
    /// No valid signature by a key of the role the policy requires.
    RoleMissing,
    /// Fewer distinct valid signers than the policy's package threshold.
    ThresholdNotMet,
    /// The file is not a well-formed release index.
    IndexMalformed,
    /// The release index's `expires` time has passed.
    IndexExpired,
    /// The release index is older than one already seen.
    IndexRollback,
    /// The hotfix differs from what the index lists (version, manifest hash, release).
    IndexMismatch,
    /// The index lists the hotfix as withdrawn.
    HotfixWithdrawn,
    /// The index does not list the hotfix at all.
    HotfixNotInIndex,
}

impl PolicyRule {
    /// Every rule, for docs and tests.
    pub const ALL: [PolicyRule; 18] = [
        PolicyRule::PolicyMalformed,
        PolicyRule::PolicyThresholdNotMet,
        PolicyRule::PolicyChainGap,
        PolicyRule::PolicyRollback,
        PolicyRule::PolicyExpired,
        PolicyRule::DuplicateKeyId,
        PolicyRule::KeyRevoked,
        PolicyRule::KeyExpired,
        PolicyRule::KeyNotYetValid,
        PolicyRule::KeyUnknown,
        PolicyRule::RoleMissing,
        PolicyRule::ThresholdNotMet,
        PolicyRule::IndexMalformed,
        PolicyRule::IndexExpired,
        PolicyRule::IndexRollback,
        PolicyRule::IndexMismatch,
        PolicyRule::HotfixWithdrawn,
        PolicyRule::HotfixNotInIndex,
    ];

    /// The rule id, as printed and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            PolicyRule::PolicyMalformed => "policy-malformed",
            PolicyRule::PolicyThresholdNotMet => "policy-threshold-not-met",
            PolicyRule::PolicyChainGap => "policy-chain-gap",
            PolicyRule::PolicyRollback => "policy-rollback",
            PolicyRule::PolicyExpired => "policy-expired",
            PolicyRule::DuplicateKeyId => "duplicate-key-id",
            PolicyRule::KeyRevoked => "key-revoked",
            PolicyRule::KeyExpired => "key-expired",
            PolicyRule::KeyNotYetValid => "key-not-yet-valid",
            PolicyRule::KeyUnknown => "key-unknown",
            PolicyRule::RoleMissing => "role-missing",
            PolicyRule::ThresholdNotMet => "threshold-not-met",
            PolicyRule::IndexMalformed => "index-malformed",
            PolicyRule::IndexExpired => "index-expired",
            PolicyRule::IndexRollback => "index-rollback",
            PolicyRule::IndexMismatch => "index-mismatch",
            PolicyRule::HotfixWithdrawn => "hotfix-withdrawn",
            PolicyRule::HotfixNotInIndex => "hotfix-not-in-index",
        }
    }

    /// True when the input file itself is bad (exit 2), false when it is well-formed but
    /// not trusted (exit 1).
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            PolicyRule::PolicyMalformed | PolicyRule::DuplicateKeyId | PolicyRule::IndexMalformed
        )
    }
}

impl std::fmt::Display for PolicyRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for PolicyRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

fn refuse(rule: PolicyRule, message: impl Into<String>) -> SignError {
    SignError::Policy {
        rule,
        message: message.into(),
    }
}

pub(crate) fn malformed(message: impl Into<String>) -> SignError {
    refuse(PolicyRule::PolicyMalformed, message)
}

/// What a signing key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Builds and signs hotfix packages.
    Release,
    /// Co-signs packages a release key signed (m-of-n approval).
    Approver,
}

impl Role {
    pub fn id(self) -> &'static str {
        match self {
            Role::Release => "release",
            Role::Approver => "approver",
        }
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// A key that may sign packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub key: PublicKey,
    pub role: Role,
    /// Unix seconds; the key counts from then on.
    pub not_before: Option<i64>,
    /// Unix seconds; the key no longer counts from then on.
    pub expires: Option<i64>,
    pub comment: String,
}

/// A revoked key id, with when and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub key_id: KeyId,
    /// Unix seconds.
    pub date: i64,
    pub reason: String,
}

/// The policy body: what the signatures cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBody {
    pub version: u64,
    /// Unix seconds, informational.
    pub issued: Option<i64>,
    /// Unix seconds; after this the policy is refused ([`PolicyRule::PolicyExpired`]).
    pub expires: Option<i64>,
    pub root_threshold: usize,
    pub root_keys: Vec<PublicKey>,
    /// Distinct valid signers a package needs.
    pub package_threshold: usize,
    /// At least one of a package's valid signers must have this role.
    pub require_role: Option<Role>,
    pub keys: Vec<SigningKey>,
    pub revoked: Vec<Revocation>,
}

/// A policy file: the body as parsed, its exact bytes, and the signatures on it.
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    pub body: PolicyBody,
    envelope: Envelope,
}

const POLICY_KIND: Kind = Kind {
    marker: SIGNATURE_MARKER,
    what: "trust policy",
    max_bytes: MAX_POLICY_BYTES,
    max_signatures: MAX_POLICY_SIGNATURES,
    malformed: PolicyRule::PolicyMalformed,
};

// ---- the TOML body, as read ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    format: u32,
    version: u64,
    issued: Option<String>,
    expires: Option<String>,
    root: RawRoot,
    packages: RawPackages,
    #[serde(default)]
    keys: Vec<RawKey>,
    #[serde(default)]
    revoked: Vec<RawRevoked>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoot {
    threshold: usize,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackages {
    threshold: usize,
    require_role: Option<Role>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    public: String,
    role: Role,
    not_before: Option<String>,
    expires: Option<String>,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevoked {
    id: String,
    date: String,
    reason: String,
}

pub(crate) fn parse_time(value: &str, field: &str) -> Result<i64, SignError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| malformed(format!("{field}: {value:?} is not an RFC 3339 time ({e})")))
}

/// Formats unix seconds as RFC 3339 UTC (`2026-11-30T00:00:00Z`).
pub fn format_time(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn parse_key(value: &str, field: &str) -> Result<PublicKey, SignError> {
    PublicKey::parse(value).map_err(|e| malformed(format!("{field}: {e}")))
}

impl PolicyBody {
    /// Parses and checks a body: known format, thresholds that can be met, no key id
    /// twice among the root keys or among the signing keys.
    pub fn parse(text: &str) -> Result<PolicyBody, SignError> {
        let raw: RawBody = parse_toml(text, POLICY_KIND)?;
        if raw.format != POLICY_FORMAT {
            return Err(malformed(format!(
                "policy format {} is not supported (this hotfix reads format {POLICY_FORMAT})",
                raw.format
            )));
        }
        if raw.version == 0 {
            return Err(malformed("version must be 1 or more"));
        }
        let entries = raw.root.keys.len() + raw.keys.len() + raw.revoked.len();
        if entries > MAX_POLICY_ENTRIES {
            return Err(malformed(format!(
                "{entries} keys and revocations listed; at most {MAX_POLICY_ENTRIES} are read"
            )));
        }
        let mut root_keys = Vec::with_capacity(raw.root.keys.len());
        let mut seen = BTreeSet::new();
        for (i, k) in raw.root.keys.iter().enumerate() {
            let key = parse_key(k, &format!("root.keys[{i}]"))?;
            if !seen.insert(key.key_id()) {
                return Err(refuse(
                    PolicyRule::DuplicateKeyId,
                    format!("root key {} is listed twice", key.key_id()),
                ));
            }
            root_keys.push(key);
        }
        if raw.root.threshold == 0 || raw.root.threshold > root_keys.len() {
            return Err(malformed(format!(
                "root.threshold is {} with {} root keys; it must be 1 to {}",
                raw.root.threshold,
                root_keys.len(),
                root_keys.len()
            )));
        }
        let mut keys = Vec::with_capacity(raw.keys.len());
        let mut seen = BTreeSet::new();
        for (i, k) in raw.keys.into_iter().enumerate() {
            let field = format!("keys[{i}]");
            let key = parse_key(&k.public, &format!("{field}.public"))?;
            if !seen.insert(key.key_id()) {
                return Err(refuse(
                    PolicyRule::DuplicateKeyId,
                    format!("signing key {} is listed twice", key.key_id()),
                ));
            }
            let not_before = k
                .not_before
                .as_deref()
                .map(|t| parse_time(t, &format!("{field}.not_before")))
                .transpose()?;
            let expires = k
                .expires
                .as_deref()
                .map(|t| parse_time(t, &format!("{field}.expires")))
                .transpose()?;
            if let (Some(from), Some(to)) = (not_before, expires)
                && from >= to
            {
                return Err(malformed(format!(
                    "{field}: not_before is not before expires"
                )));
            }
            keys.push(SigningKey {
                key,
                role: k.role,
                not_before,
                expires,
                comment: k.comment,
            });
        }
        if raw.packages.threshold == 0 {
            return Err(malformed("packages.threshold must be 1 or more"));
        }
        let mut revoked = Vec::with_capacity(raw.revoked.len());
        let mut seen = BTreeSet::new();
        for (i, r) in raw.revoked.into_iter().enumerate() {
            let field = format!("revoked[{i}]");
            let key_id: KeyId =
                r.id.parse()
                    .map_err(|e| malformed(format!("{field}.id: {e}")))?;
            if !seen.insert(key_id) {
                return Err(refuse(
                    PolicyRule::DuplicateKeyId,
                    format!("revoked key {key_id} is listed twice"),
                ));
            }
            revoked.push(Revocation {
                key_id,
                date: parse_time(&r.date, &format!("{field}.date"))?,
                reason: r.reason,
            });
        }
        Ok(PolicyBody {
            version: raw.version,
            issued: raw
                .issued
                .as_deref()
                .map(|t| parse_time(t, "issued"))
                .transpose()?,
            expires: raw
                .expires
                .as_deref()
                .map(|t| parse_time(t, "expires"))
                .transpose()?,
            root_threshold: raw.root.threshold,
            root_keys,
            package_threshold: raw.packages.threshold,
            require_role: raw.packages.require_role,
            keys,
            revoked,
        })
    }

    /// The body as TOML, in the one layout this tool writes (parsing it gives `self`).
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let q = |s: &str| toml_string(s);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# hotfix trust policy. Everything above the signature marker is signed; edit it only\n\
             # with `hotfix trust`, which drops signatures an edit invalidates.\n\
             format = {POLICY_FORMAT}\nversion = {}",
            self.version
        );
        if let Some(t) = self.issued {
            let _ = writeln!(out, "issued = {}", q(&format_time(t)));
        }
        if let Some(t) = self.expires {
            let _ = writeln!(out, "expires = {}", q(&format_time(t)));
        }
        let _ = writeln!(
            out,
            "\n# Keys that sign this policy and its next version.\n[root]\nthreshold = {}\nkeys = [",
            self.root_threshold
        );
        for key in &self.root_keys {
            let _ = writeln!(out, "  {},  # {}", q(&key.to_base64()), key.key_id());
        }
        let _ = writeln!(
            out,
            "]\n\n# What a hotfix package needs.\n[packages]\nthreshold = {}",
            self.package_threshold
        );
        if let Some(role) = self.require_role {
            let _ = writeln!(out, "require_role = {}", q(role.id()));
        }
        for key in &self.keys {
            let _ = writeln!(
                out,
                "\n[[keys]]  # {}\npublic = {}\nrole = {}",
                key.key.key_id(),
                q(&key.key.to_base64()),
                q(key.role.id())
            );
            if let Some(t) = key.not_before {
                let _ = writeln!(out, "not_before = {}", q(&format_time(t)));
            }
            if let Some(t) = key.expires {
                let _ = writeln!(out, "expires = {}", q(&format_time(t)));
            }
            if !key.comment.is_empty() {
                let _ = writeln!(out, "comment = {}", q(&key.comment));
            }
        }
        for r in &self.revoked {
            let _ = writeln!(
                out,
                "\n[[revoked]]\nid = {}\ndate = {}\nreason = {}",
                q(&r.key_id.to_string()),
                q(&format_time(r.date)),
                q(&r.reason)
            );
        }
        out
    }

    /// The revocation of `id`, if any.
    pub fn revocation(&self, id: KeyId) -> Option<&Revocation> {
        self.revoked.iter().find(|r| r.key_id == id)
    }

    /// The signing key with this id, if listed.
    pub fn signing_key(&self, id: KeyId) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.key.key_id() == id)
    }
}

/// A TOML basic string with every character TOML requires escaped.
pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The trusted comment a policy signature must carry: it binds version and body hash.
fn trusted_comment(version: u64, body: &str) -> String {
    format!(
        "hotfix-trust-policy version:{version} sha256:{}",
        hex::encode(Sha256::digest(body.as_bytes()))
    )
}

/// How a policy's signatures count against a set of root keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RootTally {
    /// Distinct root keys with a valid signature.
    pub signed_by: Vec<KeyId>,
    /// Signatures that did not count, with why (unknown key, revoked, bad signature).
    pub ignored: Vec<(KeyId, String)>,
}

impl TrustPolicy {
    /// Parses a policy file's text (body, then optional signature blocks).
    pub fn parse(text: &str) -> Result<TrustPolicy, SignError> {
        let envelope = Envelope::parse(text, POLICY_KIND)?;
        let body = PolicyBody::parse(&envelope.body)?;
        Ok(TrustPolicy { body, envelope })
    }

    /// A new, unsigned policy from a body.
    pub fn unsigned(body: PolicyBody) -> TrustPolicy {
        TrustPolicy {
            envelope: Envelope {
                body: body.to_toml(),
                signatures: Vec::new(),
            },
            body,
        }
    }

    /// The exact signed bytes.
    pub fn body_text(&self) -> &str {
        &self.envelope.body
    }

    pub fn signatures(&self) -> &[Signature] {
        &self.envelope.signatures
    }

    /// The whole file text: body, then the signature blocks (if any).
    pub fn to_file_text(&self) -> String {
        self.envelope.to_text(SIGNATURE_MARKER)
    }

    /// Adds `key`'s signature. Signing twice with one key replaces the first signature.
    pub fn sign<S: Signer + ?Sized>(&mut self, key: &S) -> Result<(), SignError> {
        let comment = trusted_comment(self.body.version, self.body_text());
        let sig = sign(
            key,
            self.body_text().as_bytes(),
            &comment,
            &format!("hotfix trust policy version {}", self.body.version),
        )?;
        self.envelope.add(sig);
        Ok(())
    }

    /// How this policy's signatures count against `root_keys` (revoked ids excluded).
    pub fn tally(&self, root_keys: &[PublicKey], revoked: &[Revocation]) -> RootTally {
        let expected = trusted_comment(self.body.version, self.body_text());
        let mut tally = RootTally::default();
        for sig in self.signatures() {
            let id = sig.key_id();
            let Some(key) = root_keys.iter().find(|k| k.key_id() == id) else {
                tally.ignored.push((id, "not a root key".into()));
                continue;
            };
            if revoked.iter().any(|r| r.key_id == id) {
                tally.ignored.push((id, "revoked".into()));
                continue;
            }
            if let Err(e) = key.verify(sig, self.body_text().as_bytes()) {
                tally.ignored.push((id, e.to_string()));
                continue;
            }
            if sig.trusted_comment() != expected {
                tally.ignored.push((
                    id,
                    "its trusted comment does not bind this version and body".into(),
                ));
                continue;
            }
            tally.signed_by.push(id);
        }
        tally
    }

    /// Checks the policy against its own root keys and threshold, and its expiry.
    pub fn verify_self(&self, now: i64) -> Result<RootTally, SignError> {
        let tally = self.own_threshold()?;
        self.check_expiry(now)?;
        Ok(tally)
    }

    /// Checks that the policy's own root threshold signed it.
    fn own_threshold(&self) -> Result<RootTally, SignError> {
        let tally = self.tally(&self.body.root_keys, &self.body.revoked);
        if tally.signed_by.len() < self.body.root_threshold {
            return Err(refuse(
                PolicyRule::PolicyThresholdNotMet,
                format!(
                    "policy version {} is signed by {} of its root keys; {} are required",
                    self.body.version,
                    tally.signed_by.len(),
                    self.body.root_threshold
                ),
            ));
        }
        Ok(tally)
    }

    /// Refuses the policy once its `expires` time has passed.
    pub fn check_expiry(&self, now: i64) -> Result<(), SignError> {
        if let Some(expires) = self.body.expires
            && now >= expires
        {
            return Err(refuse(
                PolicyRule::PolicyExpired,
                format!(
                    "policy version {} expired at {}",
                    self.body.version,
                    format_time(expires)
                ),
            ));
        }
        Ok(())
    }

    /// Checks that `self` may follow `prev`: the next version, signed by `prev`'s root
    /// threshold and its own. Expiry is not checked here: an expired version may still
    /// be a link of a chain (only the version a chain ends on must be current).
    pub fn verify_successor_of(&self, prev: &TrustPolicy) -> Result<(), SignError> {
        let (from, to) = (prev.body.version, self.body.version);
        if to <= from {
            return Err(refuse(
                PolicyRule::PolicyRollback,
                format!("policy version {to} is not newer than version {from}, already trusted"),
            ));
        }
        if to != from + 1 {
            return Err(refuse(
                PolicyRule::PolicyChainGap,
                format!(
                    "policy version {to} cannot follow version {from} directly: give versions {} to {}",
                    from + 1,
                    to - 1
                ),
            ));
        }
        let by_prev = self.tally(&prev.body.root_keys, &prev.body.revoked);
        if by_prev.signed_by.len() < prev.body.root_threshold {
            return Err(refuse(
                PolicyRule::PolicyThresholdNotMet,
                format!(
                    "policy version {to} is signed by {} of version {from}'s root keys; {} are required",
                    by_prev.signed_by.len(),
                    prev.body.root_threshold
                ),
            ));
        }
        self.own_threshold().map(|_| ())
    }

    /// Judges a package's signatures over `data` at time `now`: each signature either
    /// counts (a listed, unrevoked key, in its validity window, whose signature is
    /// good) or is refused with a rule. The package is trusted when the distinct counted
    /// signers reach the package threshold and include the required role.
    pub fn judge(&self, signatures: &[Signature], data: &[u8], now: i64) -> PackageJudgement {
        let mut judgement = PackageJudgement {
            threshold: self.body.package_threshold,
            require_role: self.body.require_role,
            ..PackageJudgement::default()
        };
        let mut counted = BTreeMap::new();
        for sig in signatures {
            let id = sig.key_id();
            let refused = |rule: PolicyRule, why: String| SignerRefusal {
                key_id: id,
                rule,
                message: why,
            };
            if let Some(r) = self.body.revocation(id) {
                judgement.refused.push(refused(
                    PolicyRule::KeyRevoked,
                    format!(
                        "key {id} was revoked on {} ({})",
                        format_time(r.date),
                        r.reason
                    ),
                ));
                continue;
            }
            let Some(key) = self.body.signing_key(id) else {
                judgement.refused.push(refused(
                    PolicyRule::KeyUnknown,
                    format!(
                        "key {id} is not a signing key of policy version {}",
                        self.body.version
                    ),
                ));
                continue;
            };
            if let Some(from) = key.not_before
                && now < from
            {
                judgement.refused.push(refused(
                    PolicyRule::KeyNotYetValid,
                    format!("key {id} is valid from {}", format_time(from)),
                ));
                continue;
            }
            if let Some(to) = key.expires
                && now >= to
            {
                judgement.refused.push(refused(
                    PolicyRule::KeyExpired,
                    format!("key {id} expired at {}", format_time(to)),
                ));
                continue;
            }
            if let Err(e) = key.key.verify(sig, data) {
                judgement.bad.push((id, e.to_string()));
                continue;
            }
            counted.insert(id, key.role);
        }
        judgement.counted = counted.into_iter().collect();
        judgement
    }
}

/// One signature a policy does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SignerRefusal {
    #[serde(serialize_with = "ser_key_id")]
    pub key_id: KeyId,
    pub rule: PolicyRule,
    pub message: String,
}

fn ser_key_id<S: serde::Serializer>(id: &KeyId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

/// How a package's signatures fare under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageJudgement {
    /// Distinct signers that count, with their roles (key id order).
    pub counted: Vec<(KeyId, Role)>,
    /// Signatures by keys the policy does not accept now.
    pub refused: Vec<SignerRefusal>,
    /// Signatures by accepted keys that do not verify (the data or signature changed).
    pub bad: Vec<(KeyId, String)>,
    pub threshold: usize,
    pub require_role: Option<Role>,
}

impl PackageJudgement {
    /// `Ok` when trusted; else the rule that fails first and a message.
    pub fn verdict(&self) -> Result<(), SignError> {
        if self.counted.len() < self.threshold {
            // Name the most telling reason: a refused signer explains a shortfall
            // better than a count does.
            if let Some(r) = self.refused.first() {
                return Err(refuse(
                    r.rule,
                    format!(
                        "{}; {} of {} required signers count",
                        r.message,
                        self.counted.len(),
                        self.threshold
                    ),
                ));
            }
            return Err(refuse(
                PolicyRule::ThresholdNotMet,
                format!(
                    "{} of {} required distinct signers count under the policy",
                    self.counted.len(),
                    self.threshold
                ),
            ));
        }
        if let Some(role) = self.require_role
            && !self.counted.iter().any(|(_, r)| *r == role)
        {
            return Err(refuse(
                PolicyRule::RoleMissing,
                format!("no valid signature by a key with role {}", role.id()),
            ));
        }
        Ok(())
    }
}

/// Walks from a trusted policy through `newer` (any order, older versions ignored) to
/// the newest version. Every step must be the next version, signed by the previous
/// version's root threshold and its own; the version reached must not have expired.
pub fn walk_chain(
    trusted: &TrustPolicy,
    newer: &[TrustPolicy],
    now: i64,
) -> Result<TrustPolicy, SignError> {
    let mut by_version: BTreeMap<u64, &TrustPolicy> = BTreeMap::new();
    for p in newer {
        if p.body.version <= trusted.body.version {
            continue;
        }
        if let Some(other) = by_version.insert(p.body.version, p)
            && other.body_text() != p.body_text()
        {
            return Err(malformed(format!(
                "two different policies claim version {}",
                p.body.version
            )));
        }
    }
    let mut current = trusted.clone();
    for (&version, next) in &by_version {
        if version != current.body.version + 1 {
            return Err(refuse(
                PolicyRule::PolicyChainGap,
                format!(
                    "policy version {} is missing between versions {} and {version}",
                    current.body.version + 1,
                    current.body.version
                ),
            ));
        }
        next.verify_successor_of(&current)?;
        current = (*next).clone();
    }
    current.check_expiry(now)?;
    Ok(current)
}

impl TrustPolicy {
    /// Reads a policy file: a regular file of at most [`MAX_POLICY_BYTES`] bytes (a FIFO
    /// or device is refused before it is opened, so reading never blocks).
    pub fn from_file(path: &std::path::Path) -> Result<TrustPolicy, SignError> {
        let text = read_file(path, POLICY_KIND)?;
        TrustPolicy::parse(&text).map_err(|e| e.in_file(path))
    }

    /// True when the policy's own root threshold signed it (expiry aside): it is a
    /// published version, not a draft.
    pub fn is_complete(&self) -> bool {
        self.own_threshold().is_ok()
    }
}

/// True when `text` is a trust policy rather than a minisign public key: a policy's
/// first non-comment line is `format = ...`.
pub fn is_policy_text(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("format"))
}
