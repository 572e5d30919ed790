//! `hotfix index`: publish the signed release index of a release and support package:
//! which build of each hotfix is current, and which hotfixes are withdrawn.
//!
//! Edits follow the trust policy's rule: a signed index is never changed in place; an
//! edit of it writes the next version (unsigned, with a fresh issue date and the same
//! validity period) to `--output`. An unsigned draft is edited in place. The format is
//! in `docs/FORMAT.md`; the library side is `hotfix_sign::index`.

use std::path::{Path, PathBuf};

use hotfix_sign::index::{IndexBody, IndexedHotfix, ReleaseIndex, Withdrawal};
use hotfix_sign::policy::{TrustPolicy, format_time};
use hotfix_sign::{SignError, write_public_file};
use serde_json::json;

use crate::cli::{CliError, CmdResult, EXIT_OK, OutputFormat, note, print_json};
use crate::trust::{now, policy_error};

const DAY: i64 = 86_400;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Start the index of one release and support package (an unsigned draft, version 1).
    ///
    /// Example:
    ///   hotfix index init --release 7.0 --support-package SP3 --valid-days 30 --output index.toml
    Init(InitArgs),
    /// List packages as the current build of their hotfix (id, version, manifest SHA-256).
    ///
    /// Example:
    ///   hotfix index add index.toml dist/HF-7.0.3-0042.zip
    Add(AddArgs),
    /// Withdraw a hotfix: verify and extract refuse it, `list --index` flags it.
    ///
    /// Example:
    ///   hotfix index withdraw index.toml --id HF-7.0.3-0042 --reason "breaks chat routing" \
    ///       --output index-v2.toml
    Withdraw(WithdrawArgs),
    /// Sign the index with a release key (in place, atomically).
    ///
    /// Example:
    ///   hotfix index sign index.toml --key keys/release.key
    Sign(SignArgs),
    /// Show an index: release, version, validity, current and withdrawn hotfixes.
    ///
    /// Example:
    ///   hotfix index show index.toml --output-format json
    Show(ShowArgs),
    /// Check an index's signatures under a trust policy, and that it has not expired
    /// (exit 1 if not).
    ///
    /// Example:
    ///   hotfix index verify index.toml --trusted policy.toml
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct EditTarget {
    /// Index file to edit.
    pub index: PathBuf,
    /// Write the result here instead of editing INDEX in place (required when INDEX is
    /// signed: the edit is then the next version).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The platform release (as in the manifests' `<base release=...>`).
    #[arg(long)]
    pub release: String,
    /// The support package (as in the manifests' `<base support-package=...>`).
    #[arg(long)]
    pub support_package: String,
    /// How long each version of the index is valid; sites refuse it afterwards.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub valid_days: u32,
    /// The index file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// Packages to list as current (a newer build replaces an older one's entry).
    #[arg(value_name = "PACKAGE", required = true, num_args = 1..)]
    pub packages: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub target: EditTarget,
    /// The hotfix id to withdraw.
    #[arg(long)]
    pub id: String,
    /// Why (shown to operators whose extract is refused).
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    pub index: PathBuf,
    /// A release key of the trust policy: a key file (passphrase from HOTFIX_PASSPHRASE
    /// or a prompt), or a key in a PKCS#11 token (`pkcs11:` URI, as `hotfix build` takes).
    #[arg(long, value_name = "KEY.key")]
    pub key: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    pub index: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    pub index: PathBuf,
    /// The trust policy whose signing keys may sign the index.
    #[arg(long, value_name = "POLICY")]
    pub trusted: PathBuf,
    /// Accept an expired index (reported); for sites that cannot get a fresh one yet.
    #[arg(long)]
    pub allow_stale: bool,
}

pub fn run(cmd: Command) -> CmdResult {
    match cmd {
        Command::Init(args) => {
            let issued = now();
            let body = IndexBody {
                release: args.release,
                support_package: args.support_package,
                version: 1,
                issued,
                expires: issued + i64::from(args.valid_days.max(1)) * DAY,
                hotfixes: Vec::new(),
                withdrawn: Vec::new(),
            };
            write(&args.output, &ReleaseIndex::unsigned(body), false)?;
            note(format!(
                "wrote release index version 1 (unsigned draft) to {}",
                args.output.display()
            ));
            Ok(EXIT_OK)
        }
        Command::Add(args) => {
            let mut entries = Vec::with_capacity(args.packages.len());
            for p in &args.packages {
                let seen = hotfix_package::inspect(p).map_err(|e| {
                    let message = e.to_string();
                    crate::inspect::inspect_error_message(&e, message)
                })?;
                entries.push(seen);
            }
            edit(&args.target, |body| {
                let mut done = Vec::new();
                for seen in &entries {
                    let m = &seen.manifest;
                    if m.base.release != body.release
                        || m.base.support_package != body.support_package
                    {
                        return Err(CliError::usage(format!(
                            "{} is for {} {}, this index for {} {}",
                            seen.path.display(),
                            m.base.release,
                            m.base.support_package,
                            body.release,
                            body.support_package
                        ))
                        .hint("add it to the index of its own release and support package"));
                    }
                    if body.withdrawal(&m.id).is_some() {
                        return Err(CliError::usage(format!("{} is withdrawn", m.id))
                            .hint("a withdrawn hotfix id does not come back; publish the fix under a new id"));
                    }
                    if let Some(old) = body.hotfixes.iter().find(|h| h.id == m.id)
                        && old.version > m.version
                    {
                        return Err(CliError::usage(format!(
                            "the index lists {} version {}, newer than {} version {}",
                            m.id,
                            old.version,
                            seen.path.display(),
                            m.version
                        ))
                        .hint("an index only moves forward; add the newest build"));
                    }
                    body.hotfixes.retain(|h| h.id != m.id);
                    body.hotfixes.push(IndexedHotfix {
                        id: m.id.clone(),
                        version: m.version,
                        manifest_sha256: seen.manifest_sha256.clone(),
                    });
                    done.push(format!("{} version {}", m.id, m.version));
                }
                body.hotfixes.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(format!("listed {}", done.join(", ")))
            })
        }
        Command::Withdraw(args) => edit(&args.target, |body| {
            if body.withdrawal(&args.id).is_some() {
                return Err(CliError::usage(format!("{} is already withdrawn", args.id))
                    .hint("nothing to do"));
            }
            body.hotfixes.retain(|h| h.id != args.id);
            body.withdrawn.push(Withdrawal {
                id: args.id.clone(),
                date: now(),
                reason: args.reason.clone(),
            });
            Ok(format!("withdrew {}", args.id))
        }),
        Command::Sign(args) => {
            let mut index = read_index(&args.index)?;
            let key = crate::passphrase::load_signer(&args.key)?;
            index
                .sign(key.as_ref())
                .map_err(crate::passphrase::sign_error)?;
            write(&args.index, &index, true)?;
            note(format!(
                "signed release index version {} with key {}",
                index.body.version,
                key.key_id()
            ));
            Ok(EXIT_OK)
        }
        Command::Show(args) => show(args),
        Command::Verify(args) => {
            let index = read_index(&args.index)?;
            let policy = read_policy(&args.trusted)?;
            let now = now();
            index
                .verify(&policy, now, args.allow_stale)
                .map_err(policy_error)?;
            if now >= index.body.expires {
                note(format!(
                    "warning: accepted a stale index: it expired at {}",
                    format_time(index.body.expires)
                ));
            }
            note(format!(
                "release index version {} for {} {} verified under policy version {}",
                index.body.version,
                index.body.release,
                index.body.support_package,
                policy.body.version
            ));
            Ok(EXIT_OK)
        }
    }
}

/// Reads a trust policy that must be complete (signed by its own root threshold).
pub fn read_policy(path: &Path) -> Result<TrustPolicy, CliError> {
    let policy = TrustPolicy::from_file(path).map_err(policy_error)?;
    policy.verify_self(now()).map_err(policy_error)?;
    Ok(policy)
}

pub fn read_index(path: &Path) -> Result<ReleaseIndex, CliError> {
    ReleaseIndex::from_file(path).map_err(policy_error)
}

fn edit(
    target: &EditTarget,
    change: impl FnOnce(&mut IndexBody) -> Result<String, CliError>,
) -> CmdResult {
    let index = read_index(&target.index)?;
    let signed = !index.signatures().is_empty();
    let out = match (&target.output, signed) {
        (Some(out), _) => out.clone(),
        (None, false) => target.index.clone(),
        (None, true) => {
            return Err(CliError::usage(format!(
                "{} is signed; a published index is not changed in place",
                target.index.display()
            ))
            .hint(format!(
                "write the next version to a new file: add --output index-v{}.toml",
                index.body.version + 1
            )));
        }
    };
    let mut body = index.body.clone();
    if signed {
        let valid_for = body.expires - body.issued;
        body.version += 1;
        body.issued = now();
        body.expires = body.issued + valid_for;
    }
    let what = change(&mut body)?;
    let edited = ReleaseIndex::unsigned(body);
    write(&out, &edited, out == target.index)?;
    note(format!(
        "{what}; wrote release index version {} (unsigned) to {}",
        edited.body.version,
        out.display()
    ));
    Ok(EXIT_OK)
}

fn show(args: ShowArgs) -> CmdResult {
    let index = read_index(&args.index)?;
    let b = &index.body;
    match args.output_format {
        OutputFormat::Json => print_json(&json!({
            "ok": true,
            "path": args.index,
            "base": crate::json::Base {
                release: b.release.clone(),
                support_package: b.support_package.clone(),
            },
            "version": b.version,
            "issued": format_time(b.issued),
            "expires": format_time(b.expires),
            "signers": index.signatures().iter().map(|s| s.key_id().to_string()).collect::<Vec<_>>(),
            "hotfixes": b.hotfixes.iter().map(|h| json!({
                "id": h.id, "version": h.version, "manifest_sha256": h.manifest_sha256,
            })).collect::<Vec<_>>(),
            "withdrawn": b.withdrawn.iter().map(|w| json!({
                "id": w.id, "date": format_time(w.date), "reason": w.reason,
            })).collect::<Vec<_>>(),
        })),
        OutputFormat::Text => {
            use std::fmt::Write as _;
            let mut out = format!(
                "release index {} {} version {}\n  issued   {}\n  expires  {}\n  signed by {}\n",
                b.release,
                b.support_package,
                b.version,
                format_time(b.issued),
                format_time(b.expires),
                if index.signatures().is_empty() {
                    "nobody (draft)".to_owned()
                } else {
                    index
                        .signatures()
                        .iter()
                        .map(|s| s.key_id().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
            for h in &b.hotfixes {
                let _ = writeln!(out, "  current    {} version {}", h.id, h.version);
            }
            for w in &b.withdrawn {
                let _ = writeln!(
                    out,
                    "  WITHDRAWN  {} on {}: {}",
                    w.id,
                    format_time(w.date),
                    w.reason
                );
            }
            crate::trust::print_text(&out)
        }
    }?;
    Ok(EXIT_OK)
}

fn write(path: &Path, index: &ReleaseIndex, replace: bool) -> Result<(), CliError> {
    write_public_file(path, index.to_file_text().as_bytes(), replace).map_err(|e| match e {
        SignError::AlreadyExists { .. } => CliError::usage(e.to_string())
            .hint("choose another --output path; an index file is never overwritten"),
        other => crate::passphrase::sign_error(other),
    })
}
