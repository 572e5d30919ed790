//! Streaming verification of a package against a trust set.
//!
//! The order is the security argument (see DESIGN.md, "Trust and safety rules"):
//! 1. the manifest entry's raw bytes are read (capped) and every signature entry is
//!    checked against the trust set over those bytes, with the trusted comment binding
//!    id, version and manifest hash; nothing is parsed as XML unless at least one trusted
//!    key signed it;
//! 2. only then is the XML parsed, and the signed id/version compared with it;
//! 3. every payload entry is read once, bounded by the size the signed manifest
//!    declares, hashed, and handed to an [`EntrySink`] — extract writes the very bytes
//!    that were hashed, never a second read of the file. Small entries are decoded and
//!    hashed on worker threads, large ones streamed through fixed buffers; results are
//!    taken in archive order either way (`verify/walk.rs`).
//!
//! Every failure found is collected (the walk goes on past a bad entry where the archive
//! structure allows). Memory use does not depend on payload size: at most a few MiB of
//! small entries are in flight at a time.
//!
//! This module never writes to the file system itself and never calls the sink once a
//! failure has been recorded.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use hotfix_manifest::names;
use hotfix_manifest::{
    FileEntry, MANIFEST_ENTRY, MAX_MANIFEST_BYTES, Manifest, ManifestError, ManifestErrorKind,
};
use hotfix_sign::{KeyId, Signature, TrustSet};
use serde::Serialize;
use sha2::Digest;

use crate::format::{self, MAX_SIGNATURE_BYTES, MAX_SIGNATURES, METHOD_STORED};
use crate::progress::{NoProgress, Phase, Progress};
use crate::reader::{PackageReader, ReadError, Section, section};
use crate::rules::Rule;

mod walk;

/// Size of the one buffer payload bytes pass through.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// One refused thing: the entry (if any), the rule (serialized as its id) and a message
/// for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub entry: Option<String>,
    pub rule: Rule,
    pub message: String,
}

/// One signature entry and what was found about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    pub key_id: String,
    /// The signature entry's name.
    pub entry: String,
    /// The key is in the trust set.
    pub trusted: bool,
    /// Checked and valid (signature, global signature and trusted comment). Always false
    /// for untrusted keys: they are not checked.
    pub valid: bool,
}

/// What verification found. `ok` is true only with no failures at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub package: String,
    pub ok: bool,
    pub id: Option<String>,
    pub version: Option<u64>,
    pub title: Option<String>,
    pub threshold: u32,
    /// Distinct trusted keys with a valid signature.
    pub trusted_signers: u32,
    pub signers: Vec<Signer>,
    /// Payload files read.
    pub files: u64,
    /// Payload bytes read.
    pub bytes: u64,
    pub failures: Vec<Failure>,
    /// Failures beyond [`MAX_FAILURES`], counted but not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub suppressed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// At most this many failures are listed in a report.
pub const MAX_FAILURES: usize = 1000;

impl VerifyReport {
    pub(crate) fn new(package: String, threshold: u32) -> VerifyReport {
        VerifyReport {
            package,
            ok: false,
            id: None,
            version: None,
            title: None,
            threshold,
            trusted_signers: 0,
            signers: Vec::new(),
            files: 0,
            bytes: 0,
            failures: Vec::new(),
            suppressed: 0,
        }
    }

    fn fail(&mut self, entry: Option<&str>, rule: Rule, message: impl Into<String>) {
        // A hostile archive can break a rule per entry; the report stays bounded.
        if self.failures.len() >= MAX_FAILURES {
            self.suppressed += 1;
            return;
        }
        self.failures.push(Failure {
            // A hostile name can be 64 KiB long; reports show the start and the length.
            entry: entry.map(|e| names::shorten(e).into_owned()),
            rule,
            message: message.into(),
        });
    }

    fn fail_read(&mut self, e: ReadError) -> Result<bool, VerifyError> {
        match e {
            ReadError::Format {
                rule,
                entry,
                message,
                fatal,
            } => {
                self.fail(entry.as_deref(), rule, message);
                Ok(fatal)
            }
            ReadError::Io(e) => Err(VerifyError::Io {
                path: PathBuf::from(&self.package),
                source: e,
            }),
        }
    }

    /// Whether any failure has `rule` (a [`Rule`], or its id).
    pub fn has_rule<R>(&self, rule: R) -> bool
    where
        Rule: PartialEq<R>,
    {
        self.failures.iter().any(|f| f.rule == rule)
    }
}

/// An error that stops verification without a verdict: the package cannot be read, or
/// the sink failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A bug: an internal invariant broke (never caused by package content).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a sink stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The sink refuses the package for a policy reason (e.g. anti-rollback).
    #[error("{message} [{rule}]")]
    Refused { rule: Rule, message: String },
    /// The operator interrupted the run.
    #[error("interrupted")]
    Cancelled,
}

/// The authenticated package, as handed to [`EntrySink::begin`].
#[derive(Debug)]
pub struct Authenticated<'a> {
    pub manifest: &'a Manifest,
    /// The exact signed bytes of `hotfix.xml`.
    pub manifest_bytes: &'a [u8],
    /// Every well-formed signature entry: (entry name, bytes).
    pub signatures: &'a [(String, Vec<u8>)],
}

/// Receives the verified stream. Calls come in this order: `begin`, then per payload
/// file `start_file`, `write`..., `finish_file`. Once verification records a failure no
/// further call is made, so a sink must treat "verify returned a report that is not ok"
/// as "discard everything".
pub trait EntrySink {
    /// The manifest is authenticated (signer threshold met) and parsed.
    fn begin(&mut self, auth: &Authenticated<'_>) -> Result<(), SinkError>;
    /// A payload file starts; its name passed [`names::validate_entry_name`] and it is
    /// listed in the manifest.
    fn start_file(&mut self, file: &FileEntry) -> Result<(), SinkError>;
    /// Bytes of the current file, never beyond its declared size.
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError>;
    /// The current file's size and SHA-256 matched the manifest.
    fn finish_file(&mut self) -> Result<(), SinkError>;
    /// A whole payload file at once, already checked: its size and SHA-256 match the
    /// manifest. It stands for `start_file`, one `write` of `data` and `finish_file`, at
    /// the same place in the order of calls (verify uses it for small files, which it
    /// checks in memory). A sink may keep `data` and do the work later, as long as it is
    /// done, or its failure reported, before the sink's owner relies on it.
    fn whole_file(&mut self, file: &FileEntry, data: Vec<u8>) -> Result<(), SinkError> {
        self.start_file(file)?;
        self.write(&data)?;
        self.finish_file()
    }
}

/// A sink that keeps nothing: plain verification.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl EntrySink for NullSink {
    fn begin(&mut self, _auth: &Authenticated<'_>) -> Result<(), SinkError> {
        Ok(())
    }
    fn start_file(&mut self, _file: &FileEntry) -> Result<(), SinkError> {
        Ok(())
    }
    fn write(&mut self, _data: &[u8]) -> Result<(), SinkError> {
        Ok(())
    }
    fn finish_file(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Verifies the package at `path`: signatures from at least `threshold` distinct trusted
/// keys, then every payload byte. `Err` only when the file cannot be read or the sink
/// fails; a package that breaks a rule gives `Ok` with `ok == false`.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hotfix_package::verify::{NullSink, verify};
/// let trust = hotfix_sign::TrustSet::load("keys/".as_ref())?;
/// let report = verify("HF-7.0.3-0042.zip".as_ref(), &trust, 1, &mut NullSink)?;
/// assert!(report.ok, "{:?}", report.failures);
/// # Ok(()) }
/// ```
pub fn verify(
    path: &Path,
    trust: &TrustSet,
    threshold: u32,
    sink: &mut dyn EntrySink,
) -> Result<VerifyReport, VerifyError> {
    verify_with_progress(path, trust, threshold, sink, &NoProgress)
}

/// [`verify`], reporting the payload walk to `progress` (one [`Phase::Payload`] once the
/// manifest is authenticated, then every file and chunk as it is checked).
pub fn verify_with_progress(
    path: &Path,
    trust: &TrustSet,
    threshold: u32,
    sink: &mut dyn EntrySink,
    progress: &dyn Progress,
) -> Result<VerifyReport, VerifyError> {
    let file = std::fs::File::open(path).map_err(|source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_source(
        file,
        &path.display().to_string(),
        trust,
        threshold,
        sink,
        progress,
    )
}

/// [`verify`] over any seekable source; `label` names it in the report.
pub fn verify_reader<R: Read + Seek>(
    src: R,
    label: &str,
    trust: &TrustSet,
    threshold: u32,
    sink: &mut dyn EntrySink,
) -> Result<VerifyReport, VerifyError> {
    verify_source(src, label, trust, threshold, sink, &NoProgress)
}

fn verify_source<R: Read + Seek>(
    src: R,
    label: &str,
    trust: &TrustSet,
    threshold: u32,
    sink: &mut dyn EntrySink,
    progress: &dyn Progress,
) -> Result<VerifyReport, VerifyError> {
    let mut report = VerifyReport::new(label.to_owned(), threshold);
    run(src, trust, threshold, sink, progress, &mut report)?;
    if report.suppressed > 0 {
        let n = report.suppressed;
        report.failures.push(Failure {
            entry: None,
            rule: Rule::TooManyFailures,
            message: format!("{n} more failures not listed"),
        });
    }
    report.ok = report.failures.is_empty();
    Ok(report)
}

/// Parses `hotfix-id:<id> version:<n> manifest-sha256:<hex>`, giving (id, version).
fn parse_trusted_comment(comment: &str) -> Option<(&str, u64)> {
    let rest = comment.strip_prefix("hotfix-id:")?;
    let (id, rest) = rest.split_once(" version:")?;
    let (version, _) = rest.split_once(" manifest-sha256:")?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((id, version.parse().ok()?))
}

/// A signature entry's text, which must be exactly what `hotfix` writes: minisign's
/// four lines (`Signature::parse_exact`), with the untrusted comment derived from the
/// id and version its trusted comment binds (`format::untrusted_comment_for`). So every
/// byte of a trusted signer's signature file is fixed by what the key signed.
fn parse_signature_entry(bytes: &[u8]) -> Result<Signature, (Rule, String)> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| (Rule::SignatureMalformed, format!("not UTF-8 text ({e})")))?;
    let sig = Signature::parse(text).map_err(|e| (Rule::SignatureMalformed, e.to_string()))?;
    Signature::parse_exact(text).map_err(|e| (Rule::SignatureNotCanonical, e.to_string()))?;
    if let Some((id, version)) = parse_trusted_comment(sig.trusted_comment()) {
        let expected = format::untrusted_comment_for(id, version);
        if sig.untrusted_comment() != expected {
            return Err((
                Rule::SignatureNotCanonical,
                format!(
                    "untrusted comment {:?}, but a hotfix signature's is {expected:?}",
                    names::shorten(sig.untrusted_comment())
                ),
            ));
        }
    }
    Ok(sig)
}

/// The DOS time and date (time in the low half) that every entry of a package created
/// at `created` carries, as the writer computes it; `None` if `created` does not parse
/// (the manifest parser has refused it by then).
fn dos_time_of(created: &str) -> Option<u32> {
    let t = time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
        .ok()?;
    let dos = crate::zipwrite::DosDateTime::from_utc(t);
    Some(u32::from(dos.time) | (u32::from(dos.date) << 16))
}

/// What one signature says about a manifest, under a trust set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// By a key outside the trust set: not checked, counts for nothing.
    Untrusted,
    /// By a trusted key, valid, and its trusted comment binds these manifest bytes to
    /// hotfix `id` at `version` (the caller compares them with the manifest's own).
    Valid { id: String, version: u64 },
    /// By a trusted key but not valid for these bytes.
    Invalid(Rule, String),
}

/// Checks `sig` over the raw `manifest_bytes` (whose SHA-256 is `manifest_sha`): the
/// signature and global signature by a trusted key, and a trusted comment of exactly the
/// form [`format::trusted_comment_for`] gives for these bytes.
pub(crate) fn check_signature(
    trust: &TrustSet,
    sig: &Signature,
    manifest_bytes: &[u8],
    manifest_sha: &[u8; 32],
) -> SignatureCheck {
    let key_id = sig.key_id();
    let Some(key) = trust.get(key_id) else {
        return SignatureCheck::Untrusted;
    };
    if let Err(e) = key.verify(sig, manifest_bytes) {
        return SignatureCheck::Invalid(
            Rule::SignatureInvalid,
            format!("signature by trusted key {key_id} does not verify: {e}"),
        );
    }
    let comment = sig.trusted_comment();
    match parse_trusted_comment(comment)
        .filter(|(id, version)| format::trusted_comment_for(id, *version, manifest_sha) == comment)
    {
        Some((id, version)) => SignatureCheck::Valid {
            id: id.to_owned(),
            version,
        },
        None => SignatureCheck::Invalid(
            Rule::TrustedCommentMismatch,
            format!(
                "trusted comment {comment:?} does not bind this manifest (expected hotfix-id:<id> version:<n> manifest-sha256:{})",
                hotfix_manifest::Sha256(*manifest_sha).to_hex()
            ),
        ),
    }
}

/// The rule and entry a manifest parse error stands for.
fn manifest_failure(err: &ManifestError) -> (Option<String>, Rule) {
    match err.kind() {
        ManifestErrorKind::InvalidName { value, source, .. } => {
            (Some(value.clone()), source.rule().into())
        }
        ManifestErrorKind::DuplicatePath { path, .. }
        | ManifestErrorKind::PathConflict { path, .. } => (Some(path.clone()), Rule::NameCollision),
        ManifestErrorKind::PathOutsideFolder { path, .. } => {
            (Some(path.clone()), Rule::ManifestLayout)
        }
        ManifestErrorKind::TooLarge { .. } => (Some(MANIFEST_ENTRY.into()), Rule::TooLarge),
        _ => (Some(MANIFEST_ENTRY.into()), Rule::ManifestInvalid),
    }
}

fn run<R: Read + Seek>(
    src: R,
    trust: &TrustSet,
    threshold: u32,
    sink: &mut dyn EntrySink,
    progress: &dyn Progress,
    report: &mut VerifyReport,
) -> Result<(), VerifyError> {
    let mut rd = match PackageReader::open(src) {
        Ok(rd) => rd,
        Err(e) => {
            report.fail_read(e)?;
            return Ok(());
        }
    };

    // 1. The manifest's raw bytes. The reader holds one central directory record at a
    // time, so nothing here grows with the archive before the signatures are checked.
    let first_name = match rd.peek() {
        Ok(first) => first.map(|r| r.name.clone()),
        Err(e) => {
            report.fail_read(e)?;
            return Ok(());
        }
    };
    if first_name.as_deref() != Some(MANIFEST_ENTRY) {
        let msg = match first_name {
            Some(n) => format!(
                "the first entry is {:?}, not {MANIFEST_ENTRY}",
                names::shorten(&n)
            ),
            None => "the archive has no entries".to_owned(),
        };
        report.fail(None, Rule::ManifestMissing, msg);
        return Ok(());
    }
    let (manifest_bytes, manifest_modified) = match rd.next_entry() {
        Some(Ok(mut e)) => {
            if e.record().method != METHOD_STORED {
                report.fail(
                    Some(MANIFEST_ENTRY),
                    Rule::NotStored,
                    "the manifest must be stored uncompressed",
                );
            }
            let modified = e.record().modified;
            match e.read_to_vec(MAX_MANIFEST_BYTES) {
                Ok(b) => (b, modified),
                Err(e) => {
                    report.fail_read(e)?;
                    return Ok(());
                }
            }
        }
        Some(Err(e)) => {
            report.fail_read(e)?;
            return Ok(());
        }
        None => return Ok(()),
    };
    let manifest_sha: [u8; 32] = sha2::Sha256::digest(&manifest_bytes).into();

    // 2. Signatures over those bytes, before any XML is looked at.
    let mut valid_keys: BTreeSet<KeyId> = BTreeSet::new();
    let mut signed_ids: Vec<(String, u64, String)> = Vec::new();
    let mut signatures: Vec<(String, Vec<u8>)> = Vec::new();
    let mut previous_sig_name: Option<String> = None;
    let mut previous_key: Option<KeyId> = None;
    let mut sig_count = 0usize;
    loop {
        match rd.peek() {
            Ok(Some(r)) if section(&r.name) == Section::Signature => {}
            Ok(_) => break,
            Err(e) => {
                report.fail_read(e)?;
                return Ok(());
            }
        }
        let i = sig_count;
        sig_count += 1;
        let mut entry = match rd.next_entry() {
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                if report.fail_read(e)? {
                    return Ok(());
                }
                continue;
            }
            None => return Ok(()),
        };
        let name = entry.name().to_owned();
        if i >= MAX_SIGNATURES {
            if i == MAX_SIGNATURES {
                report.fail(
                    Some(&name),
                    Rule::TooManySignatures,
                    format!("more than {MAX_SIGNATURES} signature entries; the rest are ignored"),
                );
            }
            continue;
        }
        if previous_sig_name.as_deref() == Some(name.as_str()) {
            report.fail(
                Some(&name),
                Rule::DuplicateEntry,
                "signature entry repeated",
            );
            continue;
        }
        previous_sig_name = Some(name.clone());
        if entry.record().method != METHOD_STORED {
            report.fail(
                Some(&name),
                Rule::NotStored,
                "signatures must be stored uncompressed",
            );
        }
        let bytes = match entry.read_to_vec(MAX_SIGNATURE_BYTES) {
            Ok(b) => b,
            Err(e) => {
                if report.fail_read(e)? {
                    return Ok(());
                }
                continue;
            }
        };
        let sig = match parse_signature_entry(&bytes) {
            Ok(sig) => sig,
            Err((rule, msg)) => {
                report.fail(Some(&name), rule, msg);
                continue;
            }
        };
        let key_id = sig.key_id();
        let expected_name = format::signature_entry_name(key_id);
        if name != expected_name {
            report.fail(
                Some(&name),
                Rule::SignatureNameMismatch,
                format!("the signature is by key {key_id}, so the entry must be {expected_name}"),
            );
            continue;
        }
        // Sorted by key id as its hex digits read (FORMAT.md 2.1, `format::key_id_order`),
        // which also makes a second signature by one key impossible to miss.
        if let Some(prev) = previous_key {
            if prev == key_id {
                report.fail(
                    Some(&name),
                    Rule::DuplicateEntry,
                    "a second signature by the same key",
                );
                continue;
            }
            if format::key_id_order(&prev, &key_id) == std::cmp::Ordering::Greater {
                report.fail(
                    Some(&name),
                    Rule::EntryOrder,
                    format!("signature entries must be sorted by key id ({key_id} after {prev})"),
                );
            }
        }
        previous_key = Some(key_id);
        let mut signer = Signer {
            key_id: key_id.to_string(),
            entry: name.clone(),
            trusted: false,
            valid: false,
        };
        match check_signature(trust, &sig, &manifest_bytes, &manifest_sha) {
            SignatureCheck::Untrusted => {}
            SignatureCheck::Valid { id, version } => {
                signer.trusted = true;
                signer.valid = true;
                valid_keys.insert(key_id);
                signed_ids.push((id, version, name.clone()));
            }
            SignatureCheck::Invalid(rule, message) => {
                signer.trusted = true;
                report.fail(Some(&name), rule, message);
            }
        }
        report.signers.push(signer);
        signatures.push((name, bytes));
    }
    if sig_count == 0 {
        report.fail(
            None,
            Rule::NoSignatures,
            "the package has no signatures/<KEYID>.minisig entry",
        );
    }
    report.trusted_signers = u32::try_from(valid_keys.len()).unwrap_or(u32::MAX);
    if report.trusted_signers < threshold {
        let unknown: Vec<&str> = report
            .signers
            .iter()
            .filter(|s| !s.trusted)
            .map(|s| s.key_id.as_str())
            .collect();
        let mut msg = format!(
            "{} valid signature(s) from distinct trusted keys, {threshold} required",
            report.trusted_signers
        );
        if !unknown.is_empty() {
            msg.push_str(&format!(
                "; signed by untrusted key(s) {}",
                unknown.join(", ")
            ));
        }
        report.fail(None, Rule::ThresholdNotMet, msg);
    }
    if valid_keys.is_empty() {
        // Nothing authenticated: the XML is not interpreted at all.
        return Ok(());
    }

    // 3. The authenticated manifest.
    let manifest = match Manifest::from_xml(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            let (entry, rule) = manifest_failure(&e);
            report.fail(entry.as_deref(), rule, e.to_string());
            return Ok(());
        }
    };
    report.id = Some(manifest.id.clone());
    report.version = Some(manifest.version);
    report.title = Some(manifest.title.clone());
    // Every entry carries entry 0's time (the reader checks that); entry 0's must be the
    // DOS form of the signed `created` time, so the times are fixed by the signature too.
    if let Some(expected) = dos_time_of(&manifest.created)
        && expected != manifest_modified
    {
        report.fail(
            Some(MANIFEST_ENTRY),
            Rule::EntryTime,
            format!(
                "entry time 0x{manifest_modified:08x} is not the DOS form 0x{expected:08x} of the manifest's created time {}",
                manifest.created
            ),
        );
    }
    for (id, version, sig_entry) in &signed_ids {
        if *id != manifest.id || *version != manifest.version {
            report.fail(
                Some(sig_entry),
                Rule::SignedIdMismatch,
                format!(
                    "signed for {id} version {version}, but the manifest says {} version {}",
                    manifest.id, manifest.version
                ),
            );
        }
    }
    // from_xml already applies the name rules; checking again here keeps verify safe
    // even if the parser's rules drift, at the cost of one pass over the names.
    let mut reported: HashSet<String> = HashSet::new();
    if let Err(e) = names::validate_hotfix_id(&manifest.id) {
        report.fail(
            Some(MANIFEST_ENTRY),
            e.rule().into(),
            format!("hotfix id: {e}"),
        );
    }
    let files: Vec<&FileEntry> = manifest.payload().collect();
    let mut expected: HashMap<&str, usize> = HashMap::with_capacity(files.len());
    let mut keys: HashMap<String, &str> = HashMap::with_capacity(files.len());
    let mut folder_keys: HashMap<String, &str> = HashMap::new();
    let mut spellings: HashMap<String, &str> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        let p = f.path.as_str();
        if let Err(e) = names::validate_entry_name(p) {
            report.fail(Some(p), e.rule().into(), e.to_string());
            reported.insert(p.to_owned());
            continue;
        }
        if section(p) != Section::Payload {
            report.fail(
                Some(p),
                Rule::ManifestLayout,
                "payload path in a reserved place",
            );
            reported.insert(p.to_owned());
            continue;
        }
        let key = names::collision_key(p);
        let clash = keys
            .get(&key)
            .or_else(|| folder_keys.get(&key))
            .copied()
            .or_else(|| {
                key.match_indices('/')
                    .find_map(|(at, _)| keys.get(&key[..at]).copied())
            });
        if let Some(other) = clash {
            report.fail(
                Some(p),
                Rule::NameCollision,
                format!("collides with {other:?} on a case-insensitive or normalizing file system"),
            );
            reported.insert(p.to_owned());
            continue;
        }
        // One folder, one spelling: `Lib/a` and `lib/b` are two folders on Linux and one
        // on Windows, so the extracted tree would differ between them.
        let respelled = p.match_indices('/').find_map(|(at, _)| {
            let folder = &p[..at];
            spellings
                .get(&names::collision_key(folder))
                .filter(|other| **other != folder)
                .map(|other| (folder, *other))
        });
        if let Some((folder, other)) = respelled {
            report.fail(
                Some(p),
                Rule::NameCollision,
                format!("folder {folder:?} is also spelled {other:?}"),
            );
            reported.insert(p.to_owned());
            continue;
        }
        for (at, _) in p.match_indices('/') {
            spellings
                .entry(names::collision_key(&p[..at]))
                .or_insert(&p[..at]);
        }
        for (at, _) in key.match_indices('/') {
            folder_keys.entry(key[..at].to_owned()).or_insert(p);
        }
        keys.insert(key, p);
        expected.insert(p, i);
    }

    let auth = Authenticated {
        manifest: &manifest,
        manifest_bytes: &manifest_bytes,
        signatures: &signatures,
    };
    if report.failures.is_empty() {
        sink.begin(&auth)?;
    }

    // 4. The payload, streamed once.
    progress.phase(Phase::Payload {
        total: files.iter().map(|f| f.size).sum(),
    });
    walk::walk_payload(
        &mut rd, &files, &expected, &reported, report, sink, progress,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_comment_parses_only_the_exact_shape() {
        let c = format::trusted_comment_for("HF-1", 3, &[0xab; 32]);
        assert_eq!(parse_trusted_comment(&c), Some(("HF-1", 3)));
        assert_eq!(
            parse_trusted_comment("hotfix-id:HF-1 version:+3 manifest-sha256:00"),
            None
        );
        assert_eq!(parse_trusted_comment("hotfix-id:HF-1 version:3"), None);
        assert_eq!(parse_trusted_comment("timestamp:1 file:x"), None);
    }
}
