//! What `--trusted` (and `--index`) mean for `verify`, `extract` and `list`.
//!
//! `--trusted` names a folder of `.pub` files, one `.pub` file, or a signed trust policy
//! (a file whose first setting is `format = ...`; see docs/TRUST.md). With a policy:
//! - the package's signatures are judged by the policy (listed keys, roles, validity
//!   windows, revocations, its package threshold), after the payload verifier has
//!   checked them against every listed key;
//! - at an installation (`extract`), the policy must follow from the one the
//!   installation accepted last (same version, or a chain of versions found beside the
//!   given file); the newest accepted is recorded, so an older one is refused later;
//! - `--index` adds the signed release index: a withdrawn, unlisted, or different build
//!   is refused, and so is an expired index (unless `--allow-stale-index`) or, at an
//!   installation, an index older than the last one seen there.
//!
//! The per-installation record lives beside the lock, outside `Install/hotfixes` (the
//! IA never sees it): `<install>/.hotfix-policy.toml` (the accepted policy, verbatim) and
//! `<install>/.hotfix-index-versions` (`<release> <support-package> <version>` lines).
//! Both are written atomically, by `extract` only, while it holds the installation lock.

use std::path::{Path, PathBuf};

use hotfix_package::rules::Rule;
use hotfix_package::verify::{Authenticated, EntrySink, SinkError};
use hotfix_sign::index::{HotfixIdentity, ReleaseIndex, sha256_hex};
use hotfix_sign::policy::{PolicyRule, TrustPolicy, format_time, is_policy_text, walk_chain};
use hotfix_sign::{SignError, Signature, TrustSet, write_public_file};

use crate::cli::CliError;
use crate::trust::{now, policy_error};

/// The loaded `--trusted` (and `--index`).
#[derive(Debug)]
pub struct Trusted {
    /// The keys the payload verifier checks signatures with.
    pub keys: TrustSet,
    pub policy: Option<LoadedPolicy>,
    pub index: Option<ReleaseIndex>,
}

#[derive(Debug)]
pub struct LoadedPolicy {
    pub policy: TrustPolicy,
    pub path: PathBuf,
}

/// Loads `--trusted` and `--index`. A policy must be signed by its own root threshold
/// and current; an index needs a policy, and must be signed under it and current
/// (unless `allow_stale`).
pub fn load(trusted: &Path, index: Option<&Path>, allow_stale: bool) -> Result<Trusted, CliError> {
    let policy = if is_policy_file(trusted) {
        let policy = TrustPolicy::from_file(trusted).map_err(policy_error)?;
        policy.verify_self(now()).map_err(policy_error)?;
        Some(LoadedPolicy {
            policy,
            path: trusted.to_path_buf(),
        })
    } else {
        None
    };
    let keys = match &policy {
        Some(p) => {
            let mut set = TrustSet::default();
            for k in &p.policy.body.keys {
                set.insert(k.key.clone(), trusted)
                    .map_err(crate::passphrase::sign_error)?;
            }
            set
        }
        None => crate::verify::load_trust(trusted)?,
    };
    let index = match index {
        None => None,
        Some(path) => {
            let Some(p) = &policy else {
                return Err(CliError::usage("--index needs --trusted to name a trust policy")
                    .hint("a release index is signed under a trust policy (docs/TRUST.md); give the policy file to --trusted"));
            };
            let index = ReleaseIndex::from_file(path).map_err(policy_error)?;
            index
                .verify(&p.policy, now(), allow_stale)
                .map_err(policy_error)?;
            if now() >= index.body.expires {
                crate::cli::warn(format!(
                    "using a stale release index (--allow-stale-index): version {} expired at {}",
                    index.body.version,
                    format_time(index.body.expires)
                ));
            }
            Some(index)
        }
    };
    Ok(Trusted {
        keys,
        policy,
        index,
    })
}

/// A regular file whose text starts like a trust policy.
/// Only the start of the file is read: its first setting decides, whatever its size
/// (a large or hostile file is then refused by the policy reader's own cap).
fn is_policy_file(path: &Path) -> bool {
    use std::io::Read;
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .is_ok_and(|_| is_policy_text(&String::from_utf8_lossy(&head)))
}

/// How much of a `--trusted` file is read to tell a policy from a public key.
const SNIFF_BYTES: u64 = 64 * 1024;

fn trust_rule(err: SignError) -> (Rule, String) {
    match err {
        SignError::Policy { rule, message } => (Rule::Trust(rule), message),
        other => (Rule::Trust(PolicyRule::PolicyMalformed), other.to_string()),
    }
}

impl Trusted {
    /// The threshold the payload verifier applies: with a policy, one listed key (the
    /// policy's own threshold is applied by [`Trusted::authorize`]).
    pub fn verifier_threshold(&self, cli: u32) -> u32 {
        if self.policy.is_some() { 1 } else { cli }
    }

    /// The policy's judgement of the signatures over a manifest (listed keys, roles,
    /// validity windows, revocations, the package threshold); `Ok` without a policy.
    pub fn judge_signers(
        &self,
        auth: &Authenticated<'_>,
        cli_threshold: u32,
    ) -> Result<(), (Rule, String)> {
        let Some(p) = &self.policy else {
            return Ok(());
        };
        let mut signatures = Vec::with_capacity(auth.signatures.len());
        for (_, bytes) in auth.signatures {
            if let Some(sig) = std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| Signature::parse(t).ok())
            {
                signatures.push(sig);
            }
        }
        let mut judgement = p.policy.judge(&signatures, auth.manifest_bytes, now());
        judgement.threshold = judgement.threshold.max(cli_threshold as usize);
        judgement.verdict().map_err(trust_rule)
    }

    /// The policy and index checks of an authenticated package; `Ok` without a policy.
    pub fn authorize(
        &self,
        auth: &Authenticated<'_>,
        cli_threshold: u32,
    ) -> Result<(), (Rule, String)> {
        self.judge_signers(auth, cli_threshold)?;
        if let Some(index) = &self.index {
            let m = auth.manifest;
            let sha = sha256_hex(auth.manifest_bytes);
            index
                .check_hotfix(&HotfixIdentity {
                    id: &m.id,
                    version: m.version,
                    release: &m.base.release,
                    support_package: &m.base.support_package,
                    manifest_sha256: &sha,
                })
                .map_err(trust_rule)?;
        }
        Ok(())
    }

    /// What the release index says of an authenticated package, for the simulator
    /// (which reports an extract of a build that is not current as a violation instead of
    /// refusing the scenario).
    pub fn standing(&self, auth: &Authenticated<'_>) -> hotfix_sim::ops::IndexStanding {
        use hotfix_sign::index::IndexStatus;
        use hotfix_sim::ops::IndexStanding;
        let Some(index) = &self.index else {
            return IndexStanding::Unchecked;
        };
        let m = auth.manifest;
        let sha = sha256_hex(auth.manifest_bytes);
        let hotfix = HotfixIdentity {
            id: &m.id,
            version: m.version,
            release: &m.base.release,
            support_package: &m.base.support_package,
            manifest_sha256: &sha,
        };
        match index.status(&hotfix) {
            IndexStatus::Current => IndexStanding::Current,
            IndexStatus::Withdrawn { reason, date } => IndexStanding::Withdrawn {
                reason: format!(
                    "{reason} (withdrawn on {}, release index version {})",
                    format_time(date),
                    index.body.version
                ),
            },
            _ => IndexStanding::NotCurrent {
                message: index
                    .check_hotfix(&hotfix)
                    .err()
                    .map_or_else(String::new, |e| trust_rule(e).1),
            },
        }
    }

    /// Checks the policy and index against what the installation accepted before, and
    /// records them when they are newer. Called by `extract` under the installation lock,
    /// before the package is read (a newer policy is recorded even if the package is
    /// then refused).
    pub fn settle_with_installation(&self, install_dir: &Path) -> Result<(), (Rule, String)> {
        let Some(p) = &self.policy else {
            return Ok(());
        };
        let stored_path = install_dir.join(POLICY_FILE);
        let stored = match std::fs::symlink_metadata(&stored_path) {
            Err(_) => None,
            Ok(m) if !m.is_file() => {
                return Err((
                    Rule::Trust(PolicyRule::PolicyMalformed),
                    format!("{} is not a regular file", stored_path.display()),
                ));
            }
            Ok(_) => Some(TrustPolicy::from_file(&stored_path).map_err(trust_rule)?),
        };
        let given = &p.policy;
        let record = match &stored {
            None => true,
            Some(old) if given.body.version < old.body.version => {
                return Err((
                    Rule::Trust(PolicyRule::PolicyRollback),
                    format!(
                        "trust policy version {} is older than version {}, which this installation already accepted",
                        given.body.version, old.body.version
                    ),
                ));
            }
            Some(old) if given.body.version == old.body.version => {
                if given.body_text() != old.body_text() {
                    return Err((
                        Rule::Trust(PolicyRule::PolicyRollback),
                        format!(
                            "trust policy version {} differs from the version {} this installation accepted",
                            given.body.version, old.body.version
                        ),
                    ));
                }
                false
            }
            Some(old) => {
                let siblings = sibling_policies(&p.path);
                walk_chain(old, &siblings, now())
                    .map_err(trust_rule)
                    .and_then(|reached| {
                        if reached.body_text() == given.body_text() {
                            Ok(())
                        } else {
                            Err((
                                Rule::Trust(PolicyRule::PolicyChainGap),
                                format!(
                                    "this installation accepted trust policy version {}; the versions beside {} lead to version {}, not {}",
                                    old.body.version,
                                    p.path.display(),
                                    reached.body.version,
                                    given.body.version
                                ),
                            ))
                        }
                    })?;
                true
            }
        };
        if let Some(index) = &self.index {
            let versions = read_index_versions(install_dir);
            let key = (
                index.body.release.clone(),
                index.body.support_package.clone(),
            );
            if let Some(&seen) = versions.get(&key) {
                index.check_not_older_than(seen).map_err(trust_rule)?;
            }
            if versions
                .get(&key)
                .is_none_or(|&seen| seen < index.body.version)
            {
                let mut versions = versions;
                versions.insert(key, index.body.version);
                write_index_versions(install_dir, &versions)?;
            }
        }
        if record {
            write_public_file(&stored_path, given.to_file_text().as_bytes(), true).map_err(
                |e| {
                    (
                        Rule::Trust(PolicyRule::PolicyMalformed),
                        format!("cannot record the accepted trust policy: {e}"),
                    )
                },
            )?;
        }
        Ok(())
    }

    /// Checks an index against the highest version the installation saw (read only:
    /// for `list`), and marks each installed hotfix with what the index says of it.
    /// Returns whether any needs action (withdrawn, or not the build the index lists).
    pub fn mark_installed(
        &self,
        install_dir: &Path,
        items: &mut [hotfix_package::list::Installed],
    ) -> Result<bool, CliError> {
        let Some(index) = &self.index else {
            return Ok(false);
        };
        self.check_index_seen(install_dir)?;
        let mut action = false;
        for item in items {
            let (Some(id), Some(version), Some(sha), Some(base)) =
                (&item.id, item.version, &item.manifest_sha256, &item.base)
            else {
                continue;
            };
            let (release, sp) = (base.release.as_str(), base.support_package.as_str());
            let status = index.status(&HotfixIdentity {
                id,
                version,
                release,
                support_package: sp,
                manifest_sha256: sha,
            });
            use hotfix_sign::index::IndexStatus;
            let note = match &status {
                IndexStatus::Current => None,
                IndexStatus::Superseded { current_version } => Some(format!(
                    "index: version {current_version} is current; upgrade to it"
                )),
                IndexStatus::Withdrawn { reason, date } => {
                    action = true;
                    Some(format!(
                        "index: WITHDRAWN on {}: {reason}; remove it from the IA and Install/hotfixes",
                        format_time(*date)
                    ))
                }
                IndexStatus::Mismatch { message } => {
                    action = true;
                    Some(format!("index: {message}"))
                }
                IndexStatus::NotListed => Some(format!(
                    "index: not listed in release index version {}",
                    index.body.version
                )),
            };
            item.index = Some(status.id().to_owned());
            item.problems.extend(note);
        }
        Ok(action)
    }

    fn check_index_seen(&self, install_dir: &Path) -> Result<(), CliError> {
        if let Some(index) = &self.index {
            let key = (
                index.body.release.clone(),
                index.body.support_package.clone(),
            );
            if let Some(&seen) = read_index_versions(install_dir).get(&key) {
                index.check_not_older_than(seen).map_err(policy_error)?;
            }
        }
        Ok(())
    }

    /// Extra lines for a package that failed the signature threshold: signers the
    /// policy refuses, with why.
    pub fn explain_signers(&self, key_ids: &[&str]) -> Vec<String> {
        let Some(p) = &self.policy else {
            return Vec::new();
        };
        key_ids
            .iter()
            .filter_map(|id| id.parse().ok())
            .filter_map(|id| {
                p.policy.body.revocation(id).map(|r| {
                    format!(
                        "key-revoked: key {id} was revoked on {} ({})",
                        format_time(r.date),
                        r.reason
                    )
                })
            })
            .collect()
    }
}

/// The accepted policy, verbatim, beside the installation lock.
pub const POLICY_FILE: &str = ".hotfix-policy.toml";
/// Highest release index versions seen, beside the installation lock.
pub const INDEX_VERSIONS_FILE: &str = ".hotfix-index-versions";

/// Every other policy file in the folder of `path` (candidates for the chain).
fn sibling_policies(path: &Path) -> Vec<TrustPolicy> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "toml")
            && is_policy_file(&p)
            && let Ok(policy) = TrustPolicy::from_file(&p)
        {
            out.push(policy);
        }
    }
    out
}

type IndexVersions = std::collections::BTreeMap<(String, String), u64>;

fn read_index_versions(install_dir: &Path) -> IndexVersions {
    let path = install_dir.join(INDEX_VERSIONS_FILE);
    let mut out = IndexVersions::new();
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
        return out;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        if let [release, sp, version] = parts[..]
            && let Ok(v) = version.parse()
        {
            out.insert((release.to_owned(), sp.to_owned()), v);
        }
    }
    out
}

fn write_index_versions(
    install_dir: &Path,
    versions: &IndexVersions,
) -> Result<(), (Rule, String)> {
    let text: String = versions
        .iter()
        .map(|((r, sp), v)| format!("{r}\t{sp}\t{v}\n"))
        .collect();
    write_public_file(
        &install_dir.join(INDEX_VERSIONS_FILE),
        text.as_bytes(),
        true,
    )
    .map_err(|e| {
        (
            Rule::Trust(PolicyRule::IndexMalformed),
            format!("cannot record the release index version: {e}"),
        )
    })
}

/// A sink that runs a check on the authenticated manifest before passing everything on
/// (for `verify`, whose sink otherwise keeps nothing).
pub struct Gate<'a, S: EntrySink> {
    pub inner: S,
    pub check: &'a hotfix_package::extract::Authorize<'a>,
}

impl<S: EntrySink> EntrySink for Gate<'_, S> {
    fn begin(&mut self, auth: &Authenticated<'_>) -> Result<(), SinkError> {
        (self.check)(auth).map_err(|(rule, message)| SinkError::Refused { rule, message })?;
        self.inner.begin(auth)
    }
    fn start_file(&mut self, file: &hotfix_manifest::FileEntry) -> Result<(), SinkError> {
        self.inner.start_file(file)
    }
    fn write(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.inner.write(data)
    }
    fn finish_file(&mut self) -> Result<(), SinkError> {
        self.inner.finish_file()
    }
}

impl<S: EntrySink> std::fmt::Debug for Gate<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// The hint for a refusal by a trust rule.
pub fn hint_for(rule: PolicyRule) -> &'static str {
    match rule {
        PolicyRule::HotfixWithdrawn => {
            "the publisher withdrew this hotfix: do not install it; `hotfix list --index` shows installed ones to remove"
        }
        PolicyRule::IndexMismatch => {
            "this is not the build the release index lists: get the current package from its publisher"
        }
        PolicyRule::HotfixNotInIndex => {
            "the release index does not list this hotfix: check you have the current index for its release"
        }
        PolicyRule::IndexRollback => {
            "this installation has seen a newer release index: use that one (or a newer one)"
        }
        PolicyRule::IndexExpired => {
            "get a fresh release index from the publisher; --allow-stale-index accepts this one (reported)"
        }
        PolicyRule::PolicyRollback => {
            "this installation accepted a newer trust policy: give that version (or a newer one) to --trusted"
        }
        PolicyRule::PolicyChainGap => {
            "put every policy version between the accepted one and the new one in the new one's folder"
        }
        PolicyRule::KeyRevoked => {
            "a revoked key signed it: get the package re-signed with a current key"
        }
        PolicyRule::KeyExpired | PolicyRule::KeyNotYetValid => {
            "the signing key is outside its validity window: get the package signed with a current key"
        }
        PolicyRule::RoleMissing => "a release key of the policy must sign the package too",
        PolicyRule::ThresholdNotMet => {
            "more keys of the policy must co-sign the package (`hotfix sign PKG --key KEY`)"
        }
        _ => "check the trust policy and release index given (docs/TRUST.md)",
    }
}
