//! `hotfix build`: source folder + key → signed, reproducible package.
//!
//! Reads `hotfix.toml`, resolves the output path, unlocks the key, then hands everything
//! to `hotfix_package::build`. The package path (or a JSON report) goes to stdout, notes
//! and the progress bar to stderr.

use std::path::{Path, PathBuf};

use hotfix_manifest::{BuildSpec, SpecError};
use hotfix_package::{BuildError, BuildOptions, parse_source_date_epoch};
use hotfix_sign::SignError;

use crate::cli::{self, CliError, CmdResult, EXIT_OK, Global, OutputFormat, note};
use crate::json::{Problem, Signer, Validity};

/// `hotfix build --output-format json` (docs/schema/build.schema.json).
#[derive(Debug, serde::Serialize)]
struct BuildJson<'a> {
    ok: bool,
    /// The package file written.
    package: &'a Path,
    id: &'a str,
    version: u64,
    /// Size of the package file.
    package_bytes: u64,
    /// SHA-256 of the package file.
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// Payload files and the sum of their sizes.
    files: usize,
    bytes: u64,
    /// Payload entries stored as they are (incompressible) and deflated.
    stored: usize,
    deflated: usize,
    /// The manifest's creation time (RFC 3339, UTC).
    created: &'a str,
    /// The signature the build made (`hotfix sign` adds more).
    signers: Vec<Signer>,
    problems: [Problem; 0],
}

impl<'a> From<&'a hotfix_package::BuildReport> for BuildJson<'a> {
    fn from(r: &'a hotfix_package::BuildReport) -> BuildJson<'a> {
        BuildJson {
            ok: true,
            package: &r.path,
            id: &r.id,
            version: r.version,
            package_bytes: r.size,
            sha256: r.sha256.as_ref().map(|h| h.to_hex()),
            files: r.files,
            bytes: r.payload_bytes,
            stored: r.stored,
            deflated: r.deflated,
            created: &r.created,
            signers: vec![Signer {
                key_id: r.signer.to_string(),
                entry: Some(hotfix_package::format::signature_entry_name(r.signer)),
                trusted: None,
                valid: Validity::Absent,
                trusted_comment: None,
            }],
            problems: [],
        }
    }
}

/// Builds OUT/<ID>.zip from SOURCE (a folder holding hotfix.toml, or the toml itself).
///
/// Set SOURCE_DATE_EPOCH for byte-reproducible output.
///
/// Example:
///   hotfix build packages/HF-7.0.3-0042 --key release.key --output dist/
///   HOTFIX_PKCS11_PIN=... hotfix build packages/HF-7.0.3-0042 --output dist/ \
///     --key 'pkcs11:token=release;object=hotfix?module-path=/usr/lib/softhsm/libsofthsm2.so'
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding hotfix.toml, or the hotfix.toml file.
    pub source: PathBuf,
    /// Secret key to sign with: a minisign key file or a pkcs11: URI.
    #[arg(long, long_help = crate::pkcs11::KEY_HELP)]
    pub key: PathBuf,
    /// Output folder (writes <ID>.zip in it) or a .zip path; never overwritten.
    #[arg(long, short)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t)]
    pub output_format: OutputFormat,
}

/// Environment variable fixing the recorded creation time (seconds since 1970, UTC).
const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

pub fn run(args: Args, _global: &Global) -> CmdResult {
    let spec = BuildSpec::load(&args.source).map_err(spec_error)?;
    let epoch = source_date_epoch()?;
    let output = resolve_output(&args.output, &spec.id)?;
    // Refuse before asking for a passphrase; the build checks again when it renames.
    if std::fs::symlink_metadata(&output).is_ok() {
        return Err(build_error(BuildError::OutputExists { path: output }));
    }
    let key = crate::passphrase::load_signer(&args.key)?;

    let json = args.output_format == OutputFormat::Json;
    let reporter = crate::progress::Reporter::new("building", "added", json);
    let mut options = BuildOptions::new(&output)
        .source_date_epoch(epoch)
        .hash_output(json);
    if let Some(r) = &reporter {
        options = options.progress(r);
    }
    cli::remove_stale_temps(output.parent().unwrap_or(std::path::Path::new(".")));
    let started = std::time::Instant::now();
    let result = hotfix_package::build(&spec, key.as_ref(), &options);
    drop(reporter);
    let report = result.map_err(build_error)?;

    note(format!(
        "built {} version {}: {} files, {} bytes of payload ({} deflated, {} stored), signed by key {}",
        report.id,
        report.version,
        report.files,
        report.payload_bytes,
        report.deflated,
        report.stored,
        report.signer
    ));
    if cli::verbose_enabled() {
        let secs = started.elapsed().as_secs_f64();
        note(format!(
            "wrote {} ({} bytes) in {secs:.2} s, {:.0} MiB/s of payload",
            report.path.display(),
            report.size,
            report.payload_bytes as f64 / (1024.0 * 1024.0) / secs.max(1e-9)
        ));
    }
    if epoch.is_none() {
        note(format!(
            "note: created {} (set {SOURCE_DATE_EPOCH} for a reproducible build)",
            report.created
        ));
    }
    match args.output_format {
        OutputFormat::Json => cli::print_json(&BuildJson::from(&report))?,
        OutputFormat::Text => {
            use std::io::Write;
            writeln!(std::io::stdout(), "{}", report.path.display())
                .map_err(|e| CliError::io("cannot write to stdout", e))?;
        }
    }
    Ok(EXIT_OK)
}

fn source_date_epoch() -> Result<Option<i64>, CliError> {
    match std::env::var(SOURCE_DATE_EPOCH) {
        Ok(v) => parse_source_date_epoch(&v).map(Some).map_err(build_error),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CliError::usage(format!(
            "{SOURCE_DATE_EPOCH} is not valid text"
        ))
        .hint(format!(
            "set {SOURCE_DATE_EPOCH} to a Unix time in seconds (`date +%s`), or unset it"
        ))),
    }
}

/// `--output`: a path ending in `.zip` is the package itself; anything else is a folder
/// (created if missing) that receives `<ID>.zip`.
fn resolve_output(output: &Path, id: &str) -> Result<PathBuf, CliError> {
    let is_zip = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let (dir, file) = if is_zip && !output.is_dir() {
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (dir, output.to_path_buf())
    } else {
        (output.to_path_buf(), output.join(format!("{id}.zip")))
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        CliError::io(
            format!("cannot create the output folder {}", dir.display()),
            e,
        )
        .hint("choose an --output folder you can write to")
    })?;
    if is_zip && file.file_name() != Some(std::ffi::OsStr::new(&format!("{id}.zip"))) {
        note(format!(
            "note: packages are normally named {id}.zip; operators install from that name"
        ));
    }
    Ok(file)
}

pub(crate) fn spec_error(err: SpecError) -> CliError {
    let message = err.to_string();
    let hint = match &err {
        SpecError::Io { .. } => {
            "SOURCE must be a folder holding hotfix.toml, or the hotfix.toml file itself"
        }
        SpecError::TooLarge { .. } => "check the path: a build spec is a small text file",
        SpecError::NotFound { .. } | SpecError::PathOutsideSource { .. } => {
            "fix the path in hotfix.toml; paths are relative to the folder holding it"
        }
        _ => "fix hotfix.toml at the line shown (format: docs/FORMAT.md, section \"Build spec\")",
    };
    CliError::usage(message).hint(hint)
}

/// A build error with what to do about it. Every build error is bad input or I/O: exit 2.
pub(crate) fn build_error(err: BuildError) -> CliError {
    let message = err.to_string();
    let hint = match &err {
        BuildError::Read { .. } => "check that the file exists and is readable".to_owned(),
        BuildError::Write { .. } => {
            "check that the output folder exists, is writable and has free space".to_owned()
        }
        BuildError::Missing { .. } | BuildError::NotADirectory { .. } | BuildError::NotAFile { .. } => {
            "fix the path in hotfix.toml; paths are relative to the folder holding it".to_owned()
        }
        BuildError::Symlink { .. } => {
            "replace the link by the file it points to: packages hold regular files only".to_owned()
        }
        BuildError::SpecialFile { .. } => "remove it from the payload folder".to_owned(),
        BuildError::NonUtf8Name { .. } | BuildError::InvalidName { .. } => {
            "rename the file: names must be safe on Windows and POSIX (docs/FORMAT.md)".to_owned()
        }
        BuildError::NameCollision { .. } => {
            "rename one of the two: Windows would see them as the same file".to_owned()
        }
        BuildError::EmptySoftwarePackage { .. } => {
            "put the package's files in that folder, or remove its [[software-package]] from hotfix.toml"
                .to_owned()
        }
        BuildError::NoPayload => "add a [[software-package]] or an [[msi]] to hotfix.toml".to_owned(),
        BuildError::Msi { .. } => "the file named is not an MSI; rebuild it".to_owned(),
        BuildError::FileChanged { .. } => {
            "something modified the source during the build; build again once it is stable".to_owned()
        }
        BuildError::OutputExists { .. } => "remove it or choose another --output".to_owned(),
        BuildError::ReservedName { .. } => {
            "rename that document: the build makes docs/sbom.cdx.json itself (`hotfix sbom` prints it)"
                .to_owned()
        }
        BuildError::InvalidSourceDateEpoch { .. } => format!(
            "set {SOURCE_DATE_EPOCH} to a Unix time in seconds (`date +%s`), or unset it"
        ),
        BuildError::Manifest { .. } => "fix hotfix.toml (docs/FORMAT.md lists the rules)".to_owned(),
        BuildError::Sign { source } if matches!(source.root(), SignError::Device { .. }) => {
            "check that the token is still present and the key may sign; then build again"
                .to_owned()
        }
        BuildError::Sign { .. } => {
            "check that --key is a minisign secret key (`hotfix keygen` or `minisign -G`)".to_owned()
        }
        _ => "see the message above".to_owned(),
    };
    CliError::usage(message).hint(hint)
}
