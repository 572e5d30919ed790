//! A scenario's inputs: its package as a verified manifest (a `.zip` is verified against
//! the scenario's trusted keys first; a source folder is planned from its `hotfix.toml`),
//! its model and runbooks, and the digests of every input file for sweeps.

use std::path::{Path, PathBuf};

use hotfix_manifest::Manifest;
use hotfix_sim::model::Model;
use hotfix_sim::ops::{HotfixInfo, IndexStanding};
use hotfix_sim::runbook::Runbook;
use hotfix_sim::scenario::{PackageRef, Scenario};

use super::{scenario_error, setup_error};
use crate::cli::CliError;

/// A scenario with its package resolved, model built and runbooks derived.
pub(crate) struct Loaded {
    pub scenario: Scenario,
    /// The package's manifest (file sizes for the timing engine).
    pub manifest: Manifest,
    pub info: HotfixInfo,
    pub model: Model,
    pub runbooks: Vec<Runbook>,
}

/// Loads trusted keys from one or more paths into one set.
fn load_trust(paths: &[PathBuf]) -> Result<hotfix_sign::TrustSet, CliError> {
    let mut set: Option<hotfix_sign::TrustSet> = None;
    for p in paths {
        let more = crate::verify::load_trust(p)?;
        match &mut set {
            None => set = Some(more),
            Some(s) => {
                for k in more.keys() {
                    let src = more.source_of(k.key_id()).unwrap_or(p).to_path_buf();
                    s.insert(k.clone(), &src).map_err(|e| {
                        CliError::usage(format!("trusted key {}: {e}", src.display()))
                    })?;
                }
            }
        }
    }
    set.ok_or_else(|| {
        CliError::usage("a .zip package needs trusted keys")
            .hint("add `trusted = \"keys/release.pub\"`")
    })
}

/// Keeps the authenticated manifest handed over by verification, after the trust
/// policy (if any) judged its signatures, and what the release index says of it.
struct ManifestSink<'a> {
    trusted: &'a crate::trusted::Trusted,
    manifest: Option<Manifest>,
    standing: IndexStanding,
}

impl hotfix_package::verify::EntrySink for ManifestSink<'_> {
    fn begin(
        &mut self,
        auth: &hotfix_package::verify::Authenticated<'_>,
    ) -> Result<(), hotfix_package::verify::SinkError> {
        self.trusted
            .judge_signers(auth, 1)
            .map_err(
                |(rule, message)| hotfix_package::verify::SinkError::Refused { rule, message },
            )?;
        self.standing = self.trusted.standing(auth);
        self.manifest = Some(auth.manifest.clone());
        Ok(())
    }
    fn start_file(
        &mut self,
        _file: &hotfix_manifest::FileEntry,
    ) -> Result<(), hotfix_package::verify::SinkError> {
        Ok(())
    }
    fn write(&mut self, _data: &[u8]) -> Result<(), hotfix_package::verify::SinkError> {
        Ok(())
    }
    fn finish_file(&mut self) -> Result<(), hotfix_package::verify::SinkError> {
        Ok(())
    }
}

/// The trust a scenario's `.zip` is verified with: one `trusted` path (a key, a folder
/// of keys, or a trust policy, with the scenario's release index) or several key paths.
fn scenario_trust(scenario: &Scenario) -> Result<crate::trusted::Trusted, CliError> {
    match scenario.trusted.as_slice() {
        [one] => crate::trusted::load(one, scenario.index.as_deref(), scenario.allow_stale_index),
        many => Ok(crate::trusted::Trusted {
            keys: load_trust(many)?,
            policy: None,
            index: None,
        }),
    }
}

/// The manifest of a scenario's package and what its release index says of it.
pub(crate) fn resolve_package(scenario: &Scenario) -> Result<(Manifest, IndexStanding), CliError> {
    match &scenario.package {
        PackageRef::Source(dir) => {
            let spec = hotfix_manifest::BuildSpec::load(dir).map_err(|e| {
                CliError::usage(format!("package source {}: {e}", dir.display()))
                    .hint("fix hotfix.toml (docs/FORMAT.md, section \"Build spec\")")
            })?;
            let (manifest, _) =
                hotfix_package::plan_manifest(&spec, time::OffsetDateTime::UNIX_EPOCH).map_err(
                    |e| CliError::usage(format!("package source {}: {e}", dir.display())),
                )?;
            Ok((manifest, IndexStanding::Unchecked))
        }
        PackageRef::Zip(zip) => {
            let trusted = scenario_trust(scenario)?;
            let mut sink = ManifestSink {
                trusted: &trusted,
                manifest: None,
                standing: IndexStanding::Unchecked,
            };
            let report = hotfix_package::verify::verify(
                zip,
                &trusted.keys,
                trusted.verifier_threshold(1),
                &mut sink,
            )
            .map_err(crate::verify::verify_error)?;
            match (report.ok, sink.manifest) {
                (true, Some(m)) => Ok((m, sink.standing)),
                _ => {
                    let mut err =
                        CliError::usage(format!("package {} failed verification", zip.display()));
                    for f in &report.failures {
                        err = err.detail(format!("[{}] {}", f.rule, f.message));
                    }
                    Err(err.hint(
                        "run `hotfix verify` on it; the simulator only uses verified packages",
                    ))
                }
            }
        }
        PackageRef::Manifest(xml) => {
            let bytes = std::fs::read(xml)
                .map_err(|e| CliError::io(format!("cannot read {}", xml.display()), e))?;
            let manifest = Manifest::from_xml(&bytes).map_err(|e| {
                CliError::usage(format!("{}: {e}", xml.display()))
                    .hint("a hotfix.xml written by `hotfix build`")
            })?;
            Ok((manifest, IndexStanding::Unchecked))
        }
    }
}

/// Loads a scenario, resolves its package, builds its model and derives its runbooks.
pub(crate) fn load(path: &Path) -> Result<Loaded, CliError> {
    let scenario = Scenario::load(path).map_err(scenario_error)?;
    let (manifest, standing) = resolve_package(&scenario)?;
    let mut info = HotfixInfo::from_manifest(&manifest);
    info.standing = standing;
    let (model, runbooks) = hotfix_sim::scenario::prepare(&scenario, &info).map_err(setup_error)?;
    Ok(Loaded {
        scenario,
        manifest,
        info,
        model,
        runbooks,
    })
}

/// Every file a full scenario's sweep depends on, with the digest of its content: the
/// scenario, its model file, runbook files, the package's manifest (which lists every
/// payload file's SHA-256) and the trusted keys.
pub(crate) fn sweep_inputs(
    path: &Path,
    bytes: &[u8],
    loaded: &Loaded,
) -> Result<Vec<hotfix_sim::sweep::InputDigest>, CliError> {
    use hotfix_sim::scenario::{ModelSource, RunbookSource};
    use hotfix_sim::sweep::InputDigest;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| CliError::io(format!("cannot read {}", p.display()), e))
    };
    let sc = &loaded.scenario;
    let mut out = vec![InputDigest::new(
        "scenario",
        &path.display().to_string(),
        bytes,
    )];
    if let ModelSource::File(m) = &sc.model {
        out.push(InputDigest::new(
            "model",
            &m.display().to_string(),
            &read(m)?,
        ));
    }
    for r in &sc.runbooks {
        if let RunbookSource::File(f) = r {
            out.push(InputDigest::new(
                "runbook",
                &f.display().to_string(),
                &read(f)?,
            ));
        }
    }
    let package = match &sc.package {
        PackageRef::Zip(p) | PackageRef::Source(p) | PackageRef::Manifest(p) => p,
    };
    out.push(InputDigest::new(
        "package",
        &package.display().to_string(),
        &loaded.manifest.to_xml(),
    ));
    if let Some(index) = &sc.index {
        out.push(InputDigest::new(
            "release-index",
            &index.display().to_string(),
            &read(index)?,
        ));
    }
    for t in &sc.trusted {
        let mut files = if t.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(t)
                .map_err(|e| CliError::io(format!("cannot read {}", t.display()), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            v
        } else {
            vec![t.clone()]
        };
        for f in files.drain(..) {
            out.push(InputDigest::new(
                "trusted-key",
                &f.display().to_string(),
                &read(&f)?,
            ));
        }
    }
    Ok(out)
}
