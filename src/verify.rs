//! `hotfix verify`: signatures and every payload byte against trusted keys.
//!
//! Prints the verdict on stdout (`OK: ...`, or `FAILED: ...` and one line per failure
//! as `entry: rule: message`), hints on stderr. Exit 0 intact, 1 verification failed,
//! 2 the package or the trusted keys cannot be read.

use std::path::{Path, PathBuf};

use std::collections::BTreeSet;

use hotfix_package::progress::NoProgress;
use hotfix_package::rules::{Category, Rule};
use hotfix_package::verify::{
    Authenticated, MAX_FAILURES, NullSink, SinkError, VerifyError, VerifyReport,
    verify_with_progress,
};
use hotfix_sign::TrustSet;

use crate::trusted::{Gate, Trusted};

use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, print_json};
use crate::json::{Problem, Signer};

/// `hotfix verify --output-format json` (docs/schema/verify.schema.json); also what
/// `extract` prints when the package fails verification.
#[derive(Debug, serde::Serialize)]
pub(crate) struct VerifyJson {
    pub ok: bool,
    pub package: String,
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
    pub problems: Vec<Problem>,
    /// Problems found beyond the listed ones (a hostile archive can break a rule per
    /// entry); absent when none.
    #[serde(skip_serializing_if = "is_zero")]
    pub problems_not_listed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl From<&VerifyReport> for VerifyJson {
    fn from(r: &VerifyReport) -> VerifyJson {
        VerifyJson {
            ok: r.ok,
            package: r.package.clone(),
            id: r.id.clone(),
            version: r.version,
            title: r.title.clone(),
            threshold: r.threshold,
            trusted_signers: r.trusted_signers,
            signers: r.signers.iter().map(Signer::verified).collect(),
            files: r.files,
            bytes: r.bytes,
            problems: r
                .failures
                .iter()
                .map(|f| Problem::new(f.rule, f.message.clone()).entry(f.entry.clone()))
                .collect(),
            problems_not_listed: r.suppressed,
        }
    }
}

/// Verifies PACKAGE: exit 0 if intact and signed by at least N distinct trusted keys.
///
/// Example:
///   hotfix verify dist/HF-7.0.3-0042.zip --trusted keys/ --threshold 2
#[derive(Debug, clap::Args)]
pub struct Args {
    pub package: PathBuf,
    /// A trusted .pub file, a folder of them, or a signed trust policy (docs/TRUST.md).
    #[arg(long, env = "HOTFIX_TRUSTED")]
    pub trusted: PathBuf,
    /// Distinct trusted signers required (with a policy: at least the policy's).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threshold: u32,
    /// A signed release index: refuse a withdrawn, unlisted or different build (needs a
    /// policy in --trusted).
    #[arg(long, value_name = "INDEX")]
    pub index: Option<PathBuf>,
    /// Accept an expired release index (reported on stderr).
    #[arg(long, requires = "index")]
    pub allow_stale_index: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

pub fn run(args: Args, _global: &Global) -> CmdResult {
    check_package_readable(&args.package)?;
    let trusted =
        crate::trusted::load(&args.trusted, args.index.as_deref(), args.allow_stale_index)?;
    let trust = &trusted.keys;
    let check = |auth: &Authenticated<'_>| trusted.authorize(auth, args.threshold);
    let mut sink = Gate {
        inner: NullSink,
        check: &check,
    };
    let json = args.output_format == OutputFormat::Json;
    let reporter = crate::progress::Reporter::new("verifying", "verified", json);
    let result = verify_with_progress(
        &args.package,
        trust,
        trusted.verifier_threshold(args.threshold),
        &mut sink,
        reporter.as_ref().map_or(&NoProgress, |r| r),
    );
    drop(reporter);
    let report = match result {
        Ok(report) => report,
        Err(VerifyError::Sink(SinkError::Refused { rule, message })) => {
            return refused_by_trust(&args.package, args.output_format, rule, &message);
        }
        Err(e) => return Err(verify_error(e)),
    };
    match args.output_format {
        OutputFormat::Json => print_json(&VerifyJson::from(&report))?,
        OutputFormat::Text => print_text(&report),
    }
    if report.ok {
        if let Some(id) = &report.id {
            note_file_name(&args.package, id);
        }
        return Ok(EXIT_OK);
    }
    print_hints(&report, trust);
    explain_refused_signers(&report, &trusted);
    Ok(EXIT_FAILED)
}

/// A package the trust policy or release index refused (its signatures and manifest
/// checked out): `FAILED` with the rule, exit 1.
pub(crate) fn refused_by_trust(
    package: &Path,
    format: OutputFormat,
    rule: Rule,
    message: &str,
) -> CmdResult {
    let hint = match rule {
        Rule::Trust(r) => Some(crate::trusted::hint_for(r)),
        _ => None,
    };
    match format {
        OutputFormat::Json => {
            let mut problem = Problem::new(rule, message);
            problem.hint = hint.map(str::to_owned);
            print_json(&serde_json::json!({
                "ok": false,
                "package": package.display().to_string(),
                "problems": [problem],
            }))?;
        }
        OutputFormat::Text => {
            crate::outln!("FAILED: {}: 1 problem", package.display());
            crate::outln!("{rule}: {}", printable(message));
        }
    }
    if let Some(hint) = hint {
        print_hint(hint);
    }
    Ok(EXIT_FAILED)
}

/// With a policy, says why signers it refuses did not count (revoked keys).
pub(crate) fn explain_refused_signers(report: &VerifyReport, trusted: &Trusted) {
    let ids: Vec<&str> = report.signers.iter().map(|s| s.key_id.as_str()).collect();
    for line in trusted.explain_signers(&ids) {
        crate::cli::warn(line);
    }
}

/// Format v1 names a package `<ID>.zip`. A verified package under another name is still
/// what its signers signed, but a misleading name (an old hotfix saved under a newer
/// one's name) is worth a warning before anyone acts on the name.
pub(crate) fn note_file_name(package: &Path, id: &str) {
    let name = package.file_name().map(|n| n.to_string_lossy());
    let expected = format!("{id}.zip");
    if let Some(name) = name
        && name != expected.as_str()
    {
        crate::cli::note(format!(
            "note: the file is named {}, but the package inside is {id} (format v1 names it {expected})",
            printable(&name)
        ));
    }
}

/// A missing package is a usage error (exit 2), reported before any key is read. So is
/// anything but a regular file (after symlinks): reading a FIFO or a device would block
/// or never end.
pub(crate) fn check_package_readable(package: &Path) -> Result<(), CliError> {
    let meta = std::fs::metadata(package).map_err(|e| {
        CliError::io(format!("cannot read {}", package.display()), e).hint("check the package path")
    })?;
    if !meta.is_file() {
        return Err(CliError::usage(format!(
            "cannot read {}: not a regular file (a folder, FIFO, socket or device)",
            package.display()
        ))
        .hint("give the path of a package file (<ID>.zip); copy it out of a pipe first"));
    }
    Ok(())
}

/// Loads `--trusted`, mapping failures to exit 2 with a hint.
pub(crate) fn load_trust(path: &Path) -> Result<TrustSet, CliError> {
    TrustSet::load(path).map_err(|e| {
        CliError::usage(format!(
            "cannot load trusted keys from {}: {e}",
            path.display()
        ))
        .hint(
            "--trusted takes a minisign .pub file or a folder of .pub files \
             (made by `hotfix keygen` or `minisign -G`); HOTFIX_TRUSTED sets a default",
        )
    })
}

pub(crate) fn verify_error(e: VerifyError) -> CliError {
    let hint = match &e {
        VerifyError::Io { .. } => "check the package path and that it is readable".to_owned(),
        VerifyError::Sink(SinkError::Io { .. }) => {
            "check that the folder written to exists, is writable and has free space".to_owned()
        }
        VerifyError::Sink(SinkError::Refused { rule, .. }) => format!(
            "the package is refused by rule {rule}: docs/SAFETY-RULES.md and docs/TRUST.md say \
             what it protects and which flag or key waives it, if any"
        ),
        VerifyError::Sink(SinkError::Cancelled) => {
            "the run was interrupted (Ctrl-C or SIGTERM) and changed nothing; run it again"
                .to_owned()
        }
        _ => "this is a bug in hotfix, not a problem of the package: report it with the \
              command line and the package"
            .to_owned(),
    };
    CliError::usage(e.to_string()).hint(hint)
}

fn signer_list(report: &VerifyReport) -> String {
    report
        .signers
        .iter()
        .filter(|s| s.trusted && s.valid)
        .map(|s| s.key_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_text(report: &VerifyReport) {
    if report.ok {
        crate::outln!(
            "OK: {} v{} signed by {} trusted key{} ({}); {} files, {} bytes verified",
            report.id.as_deref().unwrap_or("?"),
            report.version.unwrap_or_default(),
            report.trusted_signers,
            if report.trusted_signers == 1 { "" } else { "s" },
            signer_list(report),
            report.files,
            report.bytes
        );
    } else {
        print_failures(report);
    }
}

/// `FAILED: <package>` then `entry: rule: message` per failure, on stdout.
pub(crate) fn print_failures(report: &VerifyReport) {
    let what = match (&report.id, report.version) {
        (Some(id), Some(v)) => format!("{id} v{v} ({})", report.package),
        _ => report.package.clone(),
    };
    crate::outln!(
        "FAILED: {what}: {} problem{}",
        report.failures.len(),
        if report.failures.len() == 1 { "" } else { "s" }
    );
    for f in &report.failures {
        match &f.entry {
            Some(entry) => crate::outln!(
                "{}: {}: {}",
                printable(entry),
                f.rule,
                printable(&f.message)
            ),
            None => crate::outln!("{}: {}", f.rule, printable(&f.message)),
        }
    }
}

/// Names come from the (untrusted) package: control and bidi characters are escaped
/// (`\u{1b}`) so they cannot drive the terminal or reorder what the operator reads.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if hidden {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// What the operator can do about the failures, on stderr: a hint per kind of rule
/// broken, in [`Category`] order. The match over categories is exhaustive, so every
/// rule, including one added later, comes with a hint.
pub(crate) fn print_hints(report: &VerifyReport, trust: &TrustSet) {
    let categories: BTreeSet<Category> =
        report.failures.iter().map(|f| f.rule.category()).collect();
    let mut hints: Vec<String> = Vec::new();
    for category in categories {
        match category {
            Category::Signers => signer_hints(report, trust, &mut hints),
            Category::Signature => hints.push(
                "the manifest or a signature changed after signing: get the package again from its source"
                    .into(),
            ),
            Category::Incomplete => hints.push(
                "the file is incomplete (a download or copy was cut short): download or copy it again and compare its size with the source's"
                    .into(),
            ),
            Category::Damaged => hints.push(
                "the package is damaged or was tampered with: do not install it; fetch or rebuild it"
                    .into(),
            ),
            Category::Installation => hints.extend(
                rules_of(report, category).map(crate::extract::refusal_hint),
            ),
            Category::Trust => hints.extend(rules_of(report, category).filter_map(|rule| {
                match rule {
                    Rule::Trust(r) => Some(crate::trusted::hint_for(r).to_owned()),
                    _ => None,
                }
            })),
            Category::Report => hints.push(format!(
                "only the first {MAX_FAILURES} problems are listed: the package is beyond repair; fetch or rebuild it"
            )),
        }
    }
    for h in hints {
        print_hint(&h);
    }
}

/// The distinct rules of `category` the report names, in the order first named.
fn rules_of(report: &VerifyReport, category: Category) -> impl Iterator<Item = Rule> + '_ {
    let mut seen = Vec::new();
    report.failures.iter().map(|f| f.rule).filter(move |rule| {
        rule.category() == category && !seen.contains(rule) && {
            seen.push(*rule);
            true
        }
    })
}

/// Too few trusted signers: how many there were, and whose key would count.
fn signer_hints(report: &VerifyReport, trust: &TrustSet, hints: &mut Vec<String>) {
    let untrusted: Vec<&str> = report
        .signers
        .iter()
        .filter(|s| !s.trusted)
        .map(|s| s.key_id.as_str())
        .collect();
    hints.push(format!(
        "{} valid signature(s) from distinct trusted keys, {} required; the trust set has {} key(s)",
        report.trusted_signers,
        report.threshold,
        trust.len()
    ));
    if !untrusted.is_empty() {
        hints.push(format!(
            "signed by key(s) not in --trusted: {}; add the signer's .pub to --trusted if you trust it",
            untrusted.join(", ")
        ));
    } else if report.trusted_signers > 0 {
        hints.push(
            "have another trusted key co-sign the package (`hotfix sign`), or lower --threshold"
                .into(),
        );
    }
}

/// `hint: ...` on stderr, styled like [`CliError::print`].
pub(crate) fn print_hint(hint: &str) {
    use owo_colors::OwoColorize;
    anstream::eprintln!("{} {hint}", "hint:".cyan().bold());
}
