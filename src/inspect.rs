//! `hotfix inspect`: show a package's manifest, clearly marked as not verified.
//!
//! Text output starts with a NOT VERIFIED banner on stdout (it is part of the data: a
//! reader of the output must not mistake it for a verified listing); JSON carries
//! `"verified": false` whatever `ok` says. Nothing here checks a signature or reads the payload's data.
//!
//! The archive is read with verify's strict reader. Exit 0: shown; 1: shown, but the
//! archive's structure breaks a format rule (named with its rule id under `problems`);
//! 2: nothing could be shown (not a package, or a rule broken before the manifest).

use std::io::Write;
use std::path::PathBuf;

use hotfix_manifest::FileEntry;
use hotfix_package::rules::Rule;
use hotfix_package::{InspectError, Inspection};

use crate::cli::{CliError, CmdResult, EXIT_OK, Global, OutputFormat};
use crate::json::{Base, Problem, Signer, Validity};

/// `hotfix inspect --output-format json` (docs/schema/inspect.schema.json).
#[derive(Debug, serde::Serialize)]
struct InspectJson<'a> {
    /// The archive's structure breaks no format rule (not: the package is genuine).
    ok: bool,
    /// Always `false`: inspect checks no signature and reads no payload data.
    verified: bool,
    package: &'a std::path::Path,
    id: &'a str,
    version: u64,
    base: Base,
    /// Payload files and bytes the manifest lists.
    files: usize,
    bytes: u64,
    manifest: &'a hotfix_manifest::Manifest,
    manifest_sha256: &'a str,
    /// Claimed signers: nothing is checked (`trusted` and `valid` are absent).
    signers: Vec<Signer>,
    problems: Vec<Problem>,
}

impl<'a> From<&'a Inspection> for InspectJson<'a> {
    fn from(seen: &'a Inspection) -> InspectJson<'a> {
        let m = &seen.manifest;
        InspectJson {
            ok: !seen.broken && seen.problems.is_empty(),
            verified: false,
            package: &seen.path,
            id: &m.id,
            version: m.version,
            base: Base::from(&m.base),
            files: m.payload().count(),
            bytes: m.payload_bytes(),
            manifest: m,
            manifest_sha256: &seen.manifest_sha256,
            signers: seen
                .signers
                .iter()
                .map(|s| Signer {
                    key_id: s.key_id.to_string(),
                    entry: Some(s.entry.clone()),
                    trusted: None,
                    valid: Validity::Absent,
                    trusted_comment: Some(s.trusted_comment.clone()),
                })
                .collect(),
            problems: seen
                .problems
                .iter()
                .map(|p| Problem::new(p.rule, p.message.clone()).entry(p.entry.clone()))
                .collect(),
        }
    }
}

/// Shows the manifest of PACKAGE without verifying it.
///
/// Example:
///   hotfix inspect dist/HF-7.0.3-0042.zip --output-format json
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package file (`<ID>.zip`).
    pub package: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

/// The first line of the text output.
pub const BANNER: &str =
    "note: NOT VERIFIED - this is what the package claims; run 'hotfix verify' before trusting it";

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let seen = hotfix_package::inspect(&args.package).map_err(|e| {
        let message = e.to_string();
        inspect_error_message(&e, message)
    })?;
    match args.output_format {
        OutputFormat::Json => crate::cli::print_json(&InspectJson::from(&seen))?,
        OutputFormat::Text => {
            let mut out = crate::cli::out();
            write_text(&mut out, &seen).map_err(|e| CliError::io("cannot write to stdout", e))?;
        }
    }
    if seen.broken {
        crate::verify::print_hint(
            "the package's archive breaks a format rule (listed under problems): do not install it; fetch it again or rebuild it (`hotfix verify` gives the full report)",
        );
        return Ok(EXIT_BROKEN);
    }
    Ok(EXIT_OK)
}

/// The manifest was shown, but the archive's structure breaks a format rule.
const EXIT_BROKEN: u8 = crate::cli::EXIT_FAILED;

/// An inspect (or co-sign read) error with its hint; exit 2.
pub(crate) fn inspect_error_message(err: &InspectError, message: String) -> CliError {
    let hint = match err {
        InspectError::Read { .. } => "check the package path",
        InspectError::Format {
            rule: Rule::Truncated,
            ..
        } => "the file is incomplete (a download or copy was cut short): download or copy it again",
        InspectError::Format { .. } => {
            "the package is damaged or was tampered with: do not install or sign it; fetch it again or rebuild it"
        }
        _ => "the file is not a hotfix package or is damaged; fetch it again or rebuild it",
    };
    CliError::usage(message).hint(hint)
}

fn write_text(out: &mut impl Write, seen: &Inspection) -> std::io::Result<()> {
    // Everything shown comes from the unverified package: escape what could drive the
    // terminal or reorder the text (control and bidi characters).
    let p = crate::verify::printable;
    let m = &seen.manifest;
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "(none)".to_owned()
        } else {
            crate::verify::printable(&ids.join(", "))
        }
    };
    writeln!(out, "{BANNER}")?;
    writeln!(out, "package:     {}", p(&seen.path.display().to_string()))?;
    writeln!(out, "id:          {}", p(&m.id))?;
    writeln!(out, "version:     {}", m.version)?;
    writeln!(out, "title:       {}", p(&m.title))?;
    writeln!(out, "base:        {}", p(&m.base.to_string()))?;
    writeln!(out, "created:     {}", p(&m.created))?;
    writeln!(out, "supersedes:  {}", list(&m.supersedes))?;
    writeln!(out, "requires:    {}", list(&m.requires))?;
    if !m.description.is_empty() {
        writeln!(out, "description:")?;
        for line in m.description.lines() {
            if line.is_empty() {
                writeln!(out)?;
            } else {
                writeln!(out, "  {}", p(line))?;
            }
        }
    }
    let file_line = |out: &mut dyn Write, f: &FileEntry| {
        writeln!(out, "    {:>12}  {}  {}", f.size, f.sha256, p(&f.path))
    };
    for pkg in &m.software_packages {
        writeln!(
            out,
            "software package {} {} ({}):",
            p(&pkg.name),
            p(&pkg.version),
            count(pkg.files.len(), "file")
        )?;
        for f in &pkg.files {
            file_line(out, f)?;
        }
    }
    for msi in &m.msis {
        writeln!(out, "msi {}:", p(&msi.file.path))?;
        file_line(out, &msi.file)?;
        writeln!(out, "    ProductCode:    {}", p(&msi.product_code))?;
        writeln!(out, "    UpgradeCode:    {}", p(&msi.upgrade_code))?;
        writeln!(out, "    ProductVersion: {}", p(&msi.product_version))?;
        writeln!(out, "    ProductName:    {}", p(&msi.product_name))?;
        writeln!(out, "    replaces:       {}", p(&msi.replaces_version))?;
    }
    if !m.docs.is_empty() {
        writeln!(out, "docs ({}):", count(m.docs.len(), "file"))?;
        for f in &m.docs {
            file_line(out, f)?;
        }
    }
    writeln!(
        out,
        "payload:     {}, {} bytes",
        count(m.payload().count(), "file"),
        m.payload_bytes()
    )?;
    writeln!(out, "signers (claimed, not checked):")?;
    if seen.signers.is_empty() {
        writeln!(out, "    (none)")?;
    }
    for s in &seen.signers {
        writeln!(out, "    {}  {}", s.key_id, p(&s.entry))?;
    }
    if !seen.problems.is_empty() {
        writeln!(out, "problems:")?;
        for problem in &seen.problems {
            writeln!(out, "    {}", p(&problem.to_string()))?;
        }
    }
    Ok(())
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
