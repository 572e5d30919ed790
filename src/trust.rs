//! `hotfix trust`: create, edit, sign, show and verify the signed trust policy.
//!
//! Edits follow one rule: a published policy (signed by its own root threshold) is
//! never changed; an edit of it writes the next version, unsigned, to a new file
//! (`--output`). A draft (not yet signed by its threshold) is edited in place, and the
//! signatures the edit invalidates are dropped with a note. Policies are written
//! atomically. The policy's format is in `docs/FORMAT.md`; the library side is
//! `hotfix_sign::policy`.

use std::path::{Path, PathBuf};

use hotfix_sign::policy::{
    PolicyBody, PolicyRule, Revocation, Role, SigningKey, TrustPolicy, format_time, walk_chain,
};
use hotfix_sign::{KeyId, PublicKey, SignError, write_public_file};
use serde_json::json;

use crate::cli::{CliError, CmdResult, EXIT_OK, OutputFormat, note, print_json};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start a policy: root keys and their threshold, and what a package needs.
    ///
    /// Writes an unsigned draft of version 1; add signing keys, then have the root
    /// key holders sign it (`hotfix trust sign`).
    ///
    /// Example:
    ///   hotfix trust init --root keys/root1.pub --root keys/root2.pub --root keys/root3.pub \
    ///       --root-threshold 2 --output policy.toml
    Init(InitArgs),
    /// Add a key that may sign packages, with its role and validity window.
    ///
    /// Example:
    ///   hotfix trust add-key policy.toml --key keys/release.pub --role release \
    ///       --expires 2027-12-31T00:00:00Z
    AddKey(AddKeyArgs),
    /// Revoke a key: its signatures never count again, on packages or on policies.
    ///
    /// Example:
    ///   hotfix trust revoke policy-v2.toml --key-id 3B6A0D6F8A1C2E44 --reason "laptop stolen" \
    ///       --output policy-v3.toml
    ///   hotfix trust revoke policy-v2.toml --key keys/release.pub --reason "rotated" \
    ///       --output policy-v3.toml
    Revoke(RevokeArgs),
    /// Replace the root keys and threshold. The next version must be signed by the old
    /// root threshold and the new one.
    ///
    /// Example:
    ///   hotfix trust rotate-root policy-v1.toml --root keys/root2.pub --root keys/root3.pub \
    ///       --root keys/root4.pub --root-threshold 2 --output policy-v2.toml
    RotateRoot(RotateRootArgs),
    /// Add a root key holder's signature to a policy (in place, atomically).
    ///
    /// Example:
    ///   hotfix trust sign policy.toml --key keys/root1.key
    Sign(SignArgs),
    /// Show a policy: version, root keys, signing keys, revocations, signatures.
    ///
    /// Example:
    ///   hotfix trust show policy.toml --output-format json
    Show(ShowArgs),
    /// Check a policy's signatures; with --from, that it follows from a trusted version
    /// through the versions given (exit 1 if not).
    ///
    /// Example:
    ///   hotfix trust verify policy-v5.toml --from policy-v1.toml --chain policy-v2.toml \
    ///       --chain policy-v3.toml --chain policy-v4.toml
    Verify(VerifyArgs),
}

/// Where an edit writes: in place for a draft, a new file for the next version.
#[derive(Debug, clap::Args)]
pub struct EditTarget {
    /// Policy file to edit.
    pub policy: PathBuf,
    /// Write the result here instead of editing POLICY in place (required when POLICY
    /// is published: the edit is then the next version).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A root key (minisign .pub file); repeat for each root key holder.
    #[arg(long = "root", value_name = "KEY.pub", required = true)]
    pub roots: Vec<PathBuf>,
    /// How many distinct root keys must sign each policy version.
    #[arg(long, value_name = "M")]
    pub root_threshold: usize,
    /// How many distinct valid signers a package needs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub package_threshold: usize,
    /// A role at least one of a package's signers must have (`none` for no such rule).
    #[arg(long, value_name = "ROLE", default_value = "release")]
    pub require_role: RoleArg,
    /// When this policy stops being accepted (RFC 3339, e.g. 2027-12-31T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub expires: Option<String>,
    /// The policy file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Release,
    Approver,
    None,
}

impl RoleArg {
    fn role(self) -> Option<Role> {
        match self {
            RoleArg::Release => Some(Role::Release),
            RoleArg::Approver => Some(Role::Approver),
            RoleArg::None => None,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AddKeyArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// The signing key's public key file.
    #[arg(long, value_name = "KEY.pub")]
    pub key: PathBuf,
    /// What the key does: release (builds and signs) or approver (co-signs).
    #[arg(long, value_enum)]
    pub role: KeyRoleArg,
    /// The key counts from this time on (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub not_before: Option<String>,
    /// The key no longer counts from this time on (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub expires: Option<String>,
    /// Who holds the key, for people reading the policy.
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyRoleArg {
    Release,
    Approver,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// The key id to revoke (16 hex digits, as `hotfix inspect` and `trust show` print).
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "key",
        conflicts_with = "key"
    )]
    pub key_id: Option<String>,
    /// The public key file of the key to revoke (instead of --key-id).
    #[arg(long, value_name = "KEY.pub")]
    pub key: Option<PathBuf>,
    /// Why (kept in the policy and printed when a signature by the key is refused).
    #[arg(long)]
    pub reason: String,
    /// When the key was revoked (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub date: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RotateRootArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// A new root key; repeat for each. The list replaces the old one.
    #[arg(long = "root", value_name = "KEY.pub", required = true)]
    pub roots: Vec<PathBuf>,
    /// How many distinct new root keys must sign each version from now on.
    #[arg(long, value_name = "M")]
    pub root_threshold: usize,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Policy file to sign (rewritten atomically with the signature added).
    pub policy: PathBuf,
    /// A root key holder's secret key file (passphrase from HOTFIX_PASSPHRASE or a
    /// prompt), or a key in a PKCS#11 token (`pkcs11:` URI, as `hotfix build` takes).
    #[arg(long, value_name = "KEY.key")]
    pub key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    pub policy: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    pub policy: PathBuf,
    /// A version already trusted: POLICY must follow from it through the --chain files.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// A version between --from and POLICY; repeat for each (any order).
    #[arg(long, value_name = "FILE", requires = "from")]
    pub chain: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

pub fn run(cmd: Command) -> CmdResult {
    match cmd {
        Command::Init(args) => init(args),
        Command::AddKey(args) => {
            let key = read_public_key(&args.key)?;
            let not_before = args.not_before.as_deref().map(parse_time).transpose()?;
            let expires = args.expires.as_deref().map(parse_time).transpose()?;
            let role = match args.role {
                KeyRoleArg::Release => Role::Release,
                KeyRoleArg::Approver => Role::Approver,
            };
            edit(&args.target, |body| {
                if body.signing_key(key.key_id()).is_some() {
                    return Err(CliError::usage(format!(
                        "key {} is already a signing key of this policy",
                        key.key_id()
                    ))
                    .hint("to change its role or window, revoke it and add a new key"));
                }
                refuse_revoked(body, key.key_id())?;
                body.keys.push(SigningKey {
                    key: key.clone(),
                    role,
                    not_before,
                    expires,
                    comment: args.comment.clone().unwrap_or_default(),
                });
                Ok(format!("added {} key {}", role.id(), key.key_id()))
            })
        }
        Command::Revoke(args) => {
            let key_id: KeyId = match (&args.key_id, &args.key) {
                (_, Some(file)) => read_public_key(file)?.key_id(),
                (Some(id), None) => id.parse().map_err(|e: SignError| {
                    CliError::usage(format!("--key-id: {e}"))
                        .hint("give the 16-hex-digit key id that `hotfix trust show` prints")
                })?,
                (None, None) => {
                    return Err(CliError::usage("name the key to revoke")
                        .hint("give --key-id ID or --key KEY.pub"));
                }
            };
            let date = match &args.date {
                Some(t) => parse_time(t)?,
                None => now(),
            };
            edit(&args.target, |body| {
                refuse_revoked(body, key_id)?;
                body.keys.retain(|k| k.key.key_id() != key_id);
                body.root_keys.retain(|k| k.key_id() != key_id);
                if body.root_keys.len() < body.root_threshold {
                    return Err(CliError::usage(format!(
                        "revoking root key {key_id} leaves {} root keys for a threshold of {}",
                        body.root_keys.len(),
                        body.root_threshold
                    ))
                    .hint("rotate the root first (`hotfix trust rotate-root`), then revoke"));
                }
                body.revoked.push(Revocation {
                    key_id,
                    date,
                    reason: args.reason.clone(),
                });
                Ok(format!("revoked key {key_id}"))
            })
        }
        Command::RotateRoot(args) => {
            let roots = read_roots(&args.roots, args.root_threshold)?;
            edit(&args.target, |body| {
                for k in &roots {
                    refuse_revoked(body, k.key_id())?;
                }
                body.root_keys = roots.clone();
                body.root_threshold = args.root_threshold;
                Ok(format!(
                    "root is now {} of {} keys",
                    args.root_threshold,
                    roots.len()
                ))
            })
        }
        Command::Sign(args) => sign(args),
        Command::Show(args) => show(args),
        Command::Verify(args) => verify(args),
    }
}

fn init(args: InitArgs) -> CmdResult {
    let root_keys = read_roots(&args.roots, args.root_threshold)?;
    if args.package_threshold == 0 {
        return Err(CliError::usage("--package-threshold must be 1 or more")
            .hint("a package needs at least one trusted signer"));
    }
    let body = PolicyBody {
        version: 1,
        issued: Some(now()),
        expires: args.expires.as_deref().map(parse_time).transpose()?,
        root_threshold: args.root_threshold,
        root_keys,
        package_threshold: args.package_threshold,
        require_role: args.require_role.role(),
        keys: Vec::new(),
        revoked: Vec::new(),
    };
    let policy = TrustPolicy::unsigned(body);
    write(&args.output, &policy, false)?;
    note(format!(
        "wrote policy version 1 (unsigned draft) to {}; add signing keys with `hotfix trust add-key`, then sign it with {} root keys",
        args.output.display(),
        args.root_threshold
    ));
    Ok(EXIT_OK)
}

/// Applies `change` to the policy at `target.policy` (see the module docs for where the
/// result goes and which version it gets).
fn edit(
    target: &EditTarget,
    change: impl FnOnce(&mut PolicyBody) -> Result<String, CliError>,
) -> CmdResult {
    let policy = read_policy(&target.policy)?;
    let published = policy.is_complete();
    let out = match (&target.output, published) {
        (Some(out), _) => out.clone(),
        (None, false) => target.policy.clone(),
        (None, true) => {
            return Err(CliError::usage(format!(
                "{} is published (signed by its root threshold); it is not changed in place",
                target.policy.display()
            ))
            .hint(format!(
                "write the next version to a new file: add --output policy-v{}.toml",
                policy.body.version + 1
            )));
        }
    };
    let mut body = policy.body.clone();
    if published {
        body.version += 1;
        body.issued = Some(now());
    }
    let what = change(&mut body)?;
    let replace = out == target.policy;
    let edited = TrustPolicy::unsigned(body);
    write(&out, &edited, replace)?;
    if !published && !policy.signatures().is_empty() {
        note(format!(
            "dropped {} signature(s): they covered the draft before this change",
            policy.signatures().len()
        ));
    }
    note(format!(
        "{what}; wrote policy version {} (unsigned) to {}",
        edited.body.version,
        out.display()
    ));
    Ok(EXIT_OK)
}

fn sign(args: SignArgs) -> CmdResult {
    let mut policy = read_policy(&args.policy)?;
    let key = crate::passphrase::load_signer(&args.key)?;
    let id = key.key_id();
    if !policy.body.root_keys.iter().any(|k| k.key_id() == id) {
        note(format!(
            "warning: key {id} is not a root key of version {}: its signature counts only as a previous version's root key",
            policy.body.version
        ));
    }
    policy
        .sign(key.as_ref())
        .map_err(crate::passphrase::sign_error)?;
    write(&args.policy, &policy, true)?;
    let tally = policy.tally(&policy.body.root_keys, &policy.body.revoked);
    note(format!(
        "signed policy version {} with key {id}: {} of {} root signatures",
        policy.body.version,
        tally.signed_by.len(),
        policy.body.root_threshold
    ));
    Ok(EXIT_OK)
}

fn show(args: ShowArgs) -> CmdResult {
    let policy = read_policy(&args.policy)?;
    let b = &policy.body;
    let tally = policy.tally(&b.root_keys, &b.revoked);
    match args.output_format {
        OutputFormat::Json => print_json(&json!({
            "ok": true,
            "path": args.policy,
            "version": b.version,
            "issued": b.issued.map(format_time),
            "expires": b.expires.map(format_time),
            "complete": tally.signed_by.len() >= b.root_threshold,
            "root": {
                "threshold": b.root_threshold,
                "keys": b.root_keys.iter().map(|k| k.key_id().to_string()).collect::<Vec<_>>(),
                "signed_by": tally.signed_by.iter().map(ToString::to_string).collect::<Vec<_>>(),
            },
            "packages": {
                "threshold": b.package_threshold,
                "require_role": b.require_role.map(Role::id),
            },
            "keys": b.keys.iter().map(|k| json!({
                "key_id": k.key.key_id().to_string(),
                "role": k.role.id(),
                "not_before": k.not_before.map(format_time),
                "expires": k.expires.map(format_time),
                "comment": k.comment,
            })).collect::<Vec<_>>(),
            "revoked": b.revoked.iter().map(|r| json!({
                "key_id": r.key_id.to_string(),
                "date": format_time(r.date),
                "reason": r.reason,
            })).collect::<Vec<_>>(),
        }))?,
        OutputFormat::Text => {
            let mut out = String::new();
            use std::fmt::Write as _;
            let _ = writeln!(out, "trust policy version {}", b.version);
            if let Some(t) = b.expires {
                let _ = writeln!(out, "  expires  {}", format_time(t));
            }
            let _ = writeln!(
                out,
                "  root     {} of {} keys; signed by {} ({})",
                b.root_threshold,
                b.root_keys.len(),
                tally.signed_by.len(),
                if tally.signed_by.len() >= b.root_threshold {
                    "complete"
                } else {
                    "draft: not enough root signatures"
                }
            );
            for k in &b.root_keys {
                let mark = if tally.signed_by.contains(&k.key_id()) {
                    "signed"
                } else {
                    "-"
                };
                let _ = writeln!(out, "    {}  {mark}", k.key_id());
            }
            let _ = writeln!(
                out,
                "  packages need {} signer(s){}",
                b.package_threshold,
                b.require_role
                    .map(|r| format!(", one of them a {} key", r.id()))
                    .unwrap_or_default()
            );
            for k in &b.keys {
                let window = match (k.not_before, k.expires) {
                    (None, None) => String::new(),
                    (from, to) => format!(
                        "  valid {} .. {}",
                        from.map(format_time).unwrap_or_default(),
                        to.map(format_time).unwrap_or_default()
                    ),
                };
                let _ = writeln!(
                    out,
                    "    {}  {:<8}{window}  {}",
                    k.key.key_id(),
                    k.role.id(),
                    k.comment
                );
            }
            for r in &b.revoked {
                let _ = writeln!(
                    out,
                    "  revoked  {}  {}  {}",
                    r.key_id,
                    format_time(r.date),
                    r.reason
                );
            }
            print_text(&out)?;
        }
    }
    Ok(EXIT_OK)
}

fn verify(args: VerifyArgs) -> CmdResult {
    let policy = read_policy(&args.policy)?;
    let now = now();
    let result = match &args.from {
        None => policy.verify_self(now).map(|_| ()),
        Some(from) => {
            let trusted = read_policy(from)?;
            let mut newer = Vec::with_capacity(args.chain.len() + 1);
            for p in &args.chain {
                newer.push(read_policy(p)?);
            }
            newer.push(policy.clone());
            walk_chain(&trusted, &newer, now).and_then(|reached| {
                if reached.body_text() == policy.body_text() {
                    Ok(())
                } else {
                    Err(SignError::Policy {
                        rule: PolicyRule::PolicyChainGap,
                        message: format!(
                            "the chain reaches version {}, not {}",
                            reached.body.version, policy.body.version
                        ),
                    })
                }
            })
        }
    };
    let json = args.output_format == OutputFormat::Json;
    match result {
        Ok(()) => {
            if json {
                print_json(&json!({
                    "ok": true,
                    "path": args.policy,
                    "version": policy.body.version,
                    "problems": [],
                }))?;
            } else {
                print_text(&format!(
                    "policy version {} verified{}\n",
                    policy.body.version,
                    args.from
                        .as_ref()
                        .map(|f| format!(" (follows from {})", f.display()))
                        .unwrap_or_default()
                ))?;
            }
            Ok(EXIT_OK)
        }
        Err(e) => {
            // A failure that is not a policy rule (a signature that does not parse) is
            // still a malformed policy to the reader.
            let rule = match e.root() {
                SignError::Policy { rule, .. } => *rule,
                _ => PolicyRule::PolicyMalformed,
            };
            let err = policy_error(e);
            if json {
                let mut problem = crate::json::Problem::new(rule.id(), err.message.clone());
                problem.hint = err.hint.clone();
                print_json(&json!({
                    "ok": false,
                    "path": args.policy,
                    "version": policy.body.version,
                    "problems": [problem],
                }))?;
            }
            Err(err)
        }
    }
}

/// A policy refusal as the user sees it: `<rule-id>: message`, a hint per rule, exit 2
/// for a bad file and 1 for a policy that is not trusted.
pub fn policy_error(err: SignError) -> CliError {
    let SignError::Policy { rule, .. } = err.root() else {
        return crate::passphrase::sign_error(err);
    };
    let rule = *rule;
    let hint = match rule {
        PolicyRule::PolicyMalformed => {
            "check the file is a trust policy written by `hotfix trust` (docs/FORMAT.md)"
        }
        PolicyRule::DuplicateKeyId => "list each key once",
        PolicyRule::PolicyThresholdNotMet => {
            "have more root key holders sign it: `hotfix trust sign POLICY --key ROOT.key`"
        }
        PolicyRule::PolicyChainGap => {
            "give every version between the trusted one and the new one (--chain FILE for each)"
        }
        PolicyRule::PolicyRollback => {
            "this is an older policy than the one already trusted; get the current version"
        }
        PolicyRule::PolicyExpired => "ask the root key holders for a new version of the policy",
        PolicyRule::KeyRevoked => {
            "the signing key was revoked; get the package re-signed with a current key"
        }
        PolicyRule::KeyExpired | PolicyRule::KeyNotYetValid => {
            "the signing key is outside its validity window; get the package signed with a current key"
        }
        PolicyRule::KeyUnknown => {
            "the signer is not in the policy; check you have the right policy"
        }
        PolicyRule::RoleMissing => "a release key must sign the package too",
        PolicyRule::ThresholdNotMet => {
            "more approvers must co-sign the package (`hotfix sign PKG --key KEY`)"
        }
        // The release index's rules, as verify and extract explain them.
        other => crate::trusted::hint_for(other),
    };
    let code = if rule.is_bad_input() {
        crate::cli::EXIT_USAGE
    } else {
        crate::cli::EXIT_FAILED
    };
    CliError::new(code, format!("{}: {err}", rule.id())).hint(hint)
}

fn read_policy(path: &Path) -> Result<TrustPolicy, CliError> {
    TrustPolicy::from_file(path).map_err(policy_error)
}

fn read_public_key(path: &Path) -> Result<PublicKey, CliError> {
    PublicKey::from_file(path).map_err(crate::passphrase::sign_error)
}

fn read_roots(paths: &[PathBuf], threshold: usize) -> Result<Vec<PublicKey>, CliError> {
    let mut keys: Vec<PublicKey> = Vec::with_capacity(paths.len());
    for p in paths {
        let key = read_public_key(p)?;
        if keys.iter().any(|k| k.key_id() == key.key_id()) {
            return Err(CliError::usage(format!(
                "duplicate-key-id: root key {} is given twice ({})",
                key.key_id(),
                p.display()
            ))
            .hint("give each root key holder's public key once"));
        }
        keys.push(key);
    }
    if threshold == 0 || threshold > keys.len() {
        return Err(CliError::usage(format!(
            "--root-threshold {threshold} cannot be met by {} root keys",
            keys.len()
        ))
        .hint("choose a threshold from 1 to the number of --root keys (2 of 3 is common)"));
    }
    Ok(keys)
}

fn refuse_revoked(body: &PolicyBody, id: KeyId) -> Result<(), CliError> {
    match body.revocation(id) {
        Some(r) => Err(CliError::usage(format!(
            "key {id} was revoked on {} ({})",
            format_time(r.date),
            r.reason
        ))
        .hint("a revoked key never comes back; make a new key with `hotfix keygen`")),
        None => Ok(()),
    }
}

fn write(path: &Path, policy: &TrustPolicy, replace: bool) -> Result<(), CliError> {
    write_public_file(path, policy.to_file_text().as_bytes(), replace).map_err(|e| match e {
        SignError::AlreadyExists { .. } => CliError::usage(e.to_string())
            .hint("choose another --output path; a policy file is never overwritten"),
        other => crate::passphrase::sign_error(other),
    })
}

fn parse_time(value: &str) -> Result<i64, CliError> {
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| {
            CliError::usage(format!("{value:?} is not an RFC 3339 time: {e}"))
                .hint("write times like 2027-12-31T00:00:00Z")
        })
}

/// The current time, in unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Writes `text` to stdout through the one data writer (a closed pipe is not an error).
pub fn print_text(text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    crate::cli::out()
        .write_all(text.as_bytes())
        .map_err(|e| CliError::io("cannot write to stdout", e))
}
