//! Scenario files (TOML): which model, which package, which runbook(s).
//!
//! ```toml
//! description = "standard install of the sample hotfix"
//! model = "models/small.xml"            # or { nodes = 1000, vus = 200, workstations = 50 }
//! package = "../../packages/HF-7.0.3-0042"  # source folder, .zip (with `trusted`), or hotfix.xml
//! trusted = "keys/release.pub"          # one path or a list; needed for a .zip
//! index = "index.toml"                  # a signed release index (needs a .zip and a
//!                                       # trust policy as `trusted`)
//! allow-stale-index = false             # accept an expired index (reported)
//! runbook = "standard-install"          # "standard-remove", a runbook file, a list of these,
//!                                       # or omitted in favour of inline [[step]] tables
//! seed = 7                              # for the timing engine; printed with every result
//! on-violation = "stop"                 # overrides the runbook's own
//! expect-model-unchanged = false        # also check `model-restored`
//!
//! [timing]   # reserved: read by the timing engine
//! [faults]   # reserved
//! [rollout]  # reserved
//! ```
//!
//! Paths are relative to the scenario file. Unknown keys are errors naming the file,
//! line, column and key. This crate does not open packages: it returns a
//! [`PackageRef`] and the caller (the CLI) verifies or builds it into a manifest.

use std::path::{Path, PathBuf};

use crate::generate::{GenerateParams, PackageParam, ParamError};
use crate::model::Model;
use crate::model_xml::ModelError;
use crate::ops::HotfixInfo;
use crate::runbook::{
    DeriveError, OnViolation, Procedure, Runbook, RunbookSpec, parse_on_violation, parse_procedure,
    parse_steps,
};
pub use crate::toml_util::TomlError;
use crate::toml_util::{Doc, Value, join};

/// A problem in a scenario or runbook file: file, line, column, key, message, hint.
pub type ScenarioError = TomlError;

/// Largest scenario or runbook file read, in bytes.
pub const MAX_TOML_BYTES: u64 = 4 << 20;

/// Top-level tables reserved for the timing engine, passed through unread.
pub const RESERVED_TABLES: &[&str] = &["timing", "faults", "rollout"];

const TOP_KEYS: &[&str] = &[
    "description",
    "model",
    "package",
    "trusted",
    "index",
    "allow-stale-index",
    "runbook",
    "step",
    "procedure",
    "seed",
    "on-violation",
    "expect-model-unchanged",
    "timing",
    "faults",
    "rollout",
];

const MODEL_KEYS: &[&str] = &[
    "nodes",
    "vus",
    "instances",
    "workstations",
    "seed",
    "release",
    "support-package",
    "unreachable",
    "packages",
    "fit-package",
    "extracted",
];

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A system model XML file.
    File(PathBuf),
    /// Generated from parameters.
    Generate(GenerateSpec),
}

/// An inline model table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSpec {
    pub params: GenerateParams,
    /// Make the model fit the package (its base, packages and MSI); default true.
    pub fit_package: bool,
    /// The package is already extracted into `Install/hotfixes`; default false.
    pub extracted: bool,
}

/// The package a scenario names, for the caller to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageRef {
    /// A package built by `hotfix build`; verify against the scenario's trusted keys.
    Zip(PathBuf),
    /// A source folder holding `hotfix.toml`.
    Source(PathBuf),
    /// A `hotfix.xml` manifest (or a folder holding one, e.g. an extracted hotfix).
    Manifest(PathBuf),
}

/// One runbook of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookSource {
    StandardInstall,
    StandardRemove,
    File(PathBuf),
    Inline(RunbookSpec),
}

/// The reserved `[timing]`, `[faults]` and `[rollout]` tables, unread.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimingTables {
    pub timing: Option<toml::Table>,
    pub faults: Option<toml::Table>,
    pub rollout: Option<toml::Table>,
}

/// A parsed scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The scenario file.
    pub path: PathBuf,
    pub description: Option<String>,
    pub model: ModelSource,
    pub package: PackageRef,
    pub trusted: Vec<PathBuf>,
    /// A signed release index the package is judged by (with a trust policy).
    pub index: Option<PathBuf>,
    /// Accept an expired release index.
    pub allow_stale_index: bool,
    pub runbooks: Vec<RunbookSource>,
    pub seed: u64,
    pub on_violation: Option<OnViolation>,
    pub expect_model_unchanged: bool,
    pub timing_tables: TimingTables,
}

/// Why a scenario's model or runbooks could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{file}: model parameters: {source}")]
    Generate {
        file: PathBuf,
        #[source]
        source: ParamError,
    },
    #[error(transparent)]
    Derive(#[from] DeriveError),
    #[error(transparent)]
    Runbook(#[from] TomlError),
    /// The model says the hotfix is extracted into `Install/hotfixes`, but the MSI it
    /// brings is not on the distribution share: the model contradicts the package.
    #[error(
        "{model}: hotfix {hotfix} is extracted, but its MSI {msi} ({product_code}) is not in the model's msi-products with a file"
    )]
    ExtractedWithoutMsi {
        model: String,
        hotfix: String,
        msi: String,
        product_code: String,
    },
    /// The `[rollout]` table is wrong (it decides which runbook a rolling strategy
    /// derives, so it is read before the run).
    #[error(transparent)]
    Rollout(crate::timing::TimingError),
}

/// Reads a small UTF-8 text file (scenario, runbook), bounded.
pub fn read_text(path: &Path) -> Result<String, TomlError> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .map_err(|e| TomlError::file(path, format!("cannot read: {e}")))?;
    let mut buf = Vec::new();
    f.take(MAX_TOML_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| TomlError::file(path, format!("cannot read: {e}")))?;
    if buf.len() as u64 > MAX_TOML_BYTES {
        return Err(TomlError::file(
            path,
            format!("larger than {MAX_TOML_BYTES} bytes"),
        ));
    }
    String::from_utf8(buf).map_err(|_| TomlError::file(path, "not UTF-8"))
}

fn runbook_source(
    doc: &Doc<'_>,
    dir: &Path,
    v: &Value<'_>,
    key: &str,
) -> Result<RunbookSource, TomlError> {
    let s = doc.str(v, key)?;
    Ok(match s {
        "standard-install" => RunbookSource::StandardInstall,
        "standard-remove" => RunbookSource::StandardRemove,
        path if path.ends_with(".toml") => {
            let p = dir.join(path);
            if !p.is_file() {
                return Err(doc.error(v.span(), key, format!("no runbook file `{}`", p.display())));
            }
            RunbookSource::File(p)
        }
        other => {
            return Err(doc
                .error(v.span(), key, format!("`{other}` is not a runbook"))
                .with_hint("use \"standard-install\", \"standard-remove\", a path ending in .toml, or inline [[step]] tables"));
        }
    })
}

fn package_ref(doc: &Doc<'_>, dir: &Path, v: &Value<'_>) -> Result<PackageRef, TomlError> {
    let s = doc.str(v, "package")?;
    let p = dir.join(s);
    if !p.exists() {
        return Err(doc
            .error(
                v.span(),
                "package",
                format!("`{}` does not exist", p.display()),
            )
            .with_hint("paths are relative to the scenario file"));
    }
    if p.is_dir() {
        if p.join("hotfix.toml").is_file() {
            return Ok(PackageRef::Source(p));
        }
        if p.join(hotfix_manifest::MANIFEST_ENTRY).is_file() {
            return Ok(PackageRef::Manifest(
                p.join(hotfix_manifest::MANIFEST_ENTRY),
            ));
        }
        return Err(doc.error(
            v.span(),
            "package",
            "folder holds neither hotfix.toml nor hotfix.xml",
        ));
    }
    let lower = s.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        Ok(PackageRef::Zip(p))
    } else if lower.ends_with(".xml") {
        Ok(PackageRef::Manifest(p))
    } else {
        Err(doc.error(
            v.span(),
            "package",
            "expected a .zip package, a hotfix.xml, or a source folder with hotfix.toml",
        ))
    }
}

fn model_table(doc: &Doc<'_>, v: &Value<'_>) -> Result<GenerateSpec, TomlError> {
    let t = doc.table(v, "model")?;
    doc.only_keys(t, "model", MODEL_KEYS)?;
    let mut spec = GenerateSpec {
        params: GenerateParams::default(),
        fit_package: true,
        extracted: false,
    };
    let mut has_nodes = false;
    for (k, v) in doc.entries(t) {
        let key = k.get_ref().as_ref();
        let full = join("model", key);
        let p = &mut spec.params;
        match key {
            "nodes" => {
                p.nodes = doc.u32(v, &full)?;
                has_nodes = true;
            }
            "vus" => p.vus = doc.u32(v, &full)?,
            "instances" => p.instances = doc.u32(v, &full)?,
            "workstations" => p.workstations = doc.u32(v, &full)?,
            "unreachable" => p.unreachable = doc.u32(v, &full)?,
            "seed" => p.seed = doc.u64(v, &full)?,
            "release" => p.release = doc.str(v, &full)?.to_owned(),
            "support-package" => p.support_package = doc.str(v, &full)?.to_owned(),
            "fit-package" => spec.fit_package = doc.bool(v, &full)?,
            "extracted" => spec.extracted = doc.bool(v, &full)?,
            "packages" => {
                p.packages.clear();
                for item in doc.array(v, &full)? {
                    let s = doc.str(item, &full)?;
                    let Some((name, version)) = s.split_once(' ') else {
                        return Err(doc.error(
                            item.span(),
                            &full,
                            format!("`{s}`: write \"Name Version\""),
                        ));
                    };
                    p.packages.push(PackageParam {
                        name: name.to_owned(),
                        version: version.trim().to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    if !has_nodes {
        return Err(doc
            .error(v.span(), "model.nodes", "missing key")
            .with_hint("e.g. model = { nodes = 1000, vus = 200 }"));
    }
    if let Err(e) = spec.params.check() {
        let key = join("model", e.key);
        let span = t.get(e.key).map_or(v.span(), |x| x.span());
        return Err(doc.error(span, &key, e.message));
    }
    Ok(spec)
}

impl Scenario {
    /// Reads and checks a scenario file (paths must exist).
    pub fn load(path: &Path) -> Result<Scenario, TomlError> {
        let text = read_text(path)?;
        Scenario::parse(path, &text)
    }

    /// Parses a scenario's text; relative paths are resolved against `path`'s folder.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, TomlError> {
        let (doc, table) = Doc::parse(path, text)?;
        doc.only_keys(&table, "", TOP_KEYS)?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };

        let mut model = None;
        let mut package = None;
        let mut trusted = Vec::new();
        let mut index = None;
        let mut runbooks: Option<Vec<RunbookSource>> = None;
        let mut runbook_span = 0..0;
        let mut inline: Option<Vec<crate::runbook::StepSpec>> = None;
        let mut procedure = None;
        let mut sc = Scenario {
            path: path.to_owned(),
            description: None,
            model: ModelSource::File(PathBuf::new()),
            package: PackageRef::Manifest(PathBuf::new()),
            trusted: Vec::new(),
            index: None,
            allow_stale_index: false,
            runbooks: Vec::new(),
            seed: 0,
            on_violation: None,
            expect_model_unchanged: false,
            timing_tables: TimingTables::default(),
        };
        for (k, v) in doc.entries(&table) {
            let key = k.get_ref().as_ref();
            match key {
                "description" => sc.description = Some(doc.str(v, key)?.to_owned()),
                "model" => {
                    model = Some(if v.get_ref().is_table() {
                        ModelSource::Generate(model_table(&doc, v)?)
                    } else {
                        let s = doc.str(v, key)?;
                        let p = dir.join(s);
                        if !p.is_file() {
                            return Err(doc
                                .error(v.span(), key, format!("no model file `{}`", p.display()))
                                .with_hint("give a model XML path relative to the scenario, or a table such as { nodes = 1000, vus = 200 }"));
                        }
                        ModelSource::File(p)
                    });
                }
                "package" => package = Some(package_ref(&doc, &dir, v)?),
                "trusted" => {
                    let items = if v.get_ref().is_array() {
                        doc.array(v, key)?
                    } else {
                        vec![v]
                    };
                    for item in items {
                        let p = dir.join(doc.str(item, key)?);
                        if !p.is_file() {
                            return Err(doc.error(
                                item.span(),
                                key,
                                format!("no key file `{}`", p.display()),
                            ));
                        }
                        trusted.push(p);
                    }
                }
                "index" => {
                    let p = dir.join(doc.str(v, key)?);
                    if !p.is_file() {
                        return Err(doc
                            .error(v.span(), key, format!("no index file `{}`", p.display()))
                            .with_hint("a release index written by `hotfix index`, relative to the scenario"));
                    }
                    index = Some((p, v.span()));
                }
                "allow-stale-index" => sc.allow_stale_index = doc.bool(v, key)?,
                "runbook" => {
                    runbook_span = v.span();
                    let list = if v.get_ref().is_array() {
                        doc.array(v, key)?
                    } else {
                        vec![v]
                    };
                    if list.is_empty() {
                        return Err(doc.error(v.span(), key, "empty list"));
                    }
                    runbooks = Some(
                        list.into_iter()
                            .map(|item| runbook_source(&doc, &dir, item, key))
                            .collect::<Result<_, _>>()?,
                    );
                }
                "step" => inline = Some(parse_steps(&doc, v, "step")?),
                "procedure" => procedure = Some((parse_procedure(&doc, v, key)?, v.span())),
                "seed" => sc.seed = doc.u64(v, key)?,
                "on-violation" => sc.on_violation = Some(parse_on_violation(&doc, v, key)?),
                "expect-model-unchanged" => sc.expect_model_unchanged = doc.bool(v, key)?,
                "timing" | "faults" | "rollout" => {
                    doc.table(v, key)?;
                }
                _ => {}
            }
        }
        sc.model = model.ok_or_else(|| {
            doc.error(0..0, "model", "missing key")
                .with_hint("model = \"models/small.xml\" or model = { nodes = 1000, vus = 200 }")
        })?;
        sc.package = package.ok_or_else(|| {
            doc.error(0..0, "package", "missing key")
                .with_hint("package = a source folder with hotfix.toml, a .zip, or a hotfix.xml")
        })?;
        if matches!(sc.package, PackageRef::Zip(_)) && trusted.is_empty() {
            return Err(doc
                .error(
                    table.get("package").map_or(0..0, |v| v.span()),
                    "trusted",
                    "a .zip package needs trusted keys",
                )
                .with_hint("trusted = \"keys/release.pub\" (or a list)"));
        }
        if let Some((path, span)) = index {
            if !matches!(sc.package, PackageRef::Zip(_)) || trusted.len() != 1 {
                return Err(doc
                    .error(
                        span,
                        "index",
                        "a release index judges a signed .zip package under one trust policy",
                    )
                    .with_hint("package = \"….zip\" and trusted = \"policy.toml\" (a trust policy, docs/TRUST.md)"));
            }
            sc.index = Some(path);
        }
        sc.trusted = trusted;
        sc.runbooks = match (runbooks, inline) {
            (Some(_), Some(_)) => {
                return Err(doc
                    .error(
                        runbook_span,
                        "runbook",
                        "both `runbook` and inline [[step]] tables",
                    )
                    .with_hint("keep one of them"));
            }
            (Some(r), None) => {
                if let Some((_, span)) = procedure {
                    return Err(doc.error(
                        span,
                        "procedure",
                        "only for inline [[step]] tables; a runbook file sets its own",
                    ));
                }
                r
            }
            (None, Some(steps)) => vec![RunbookSource::Inline(RunbookSpec {
                name: path.display().to_string(),
                procedure: procedure.map_or(Procedure::Install, |p| p.0),
                on_violation: None,
                steps,
            })],
            (None, None) => {
                return Err(doc
                    .error(0..0, "runbook", "missing key")
                    .with_hint("runbook = \"standard-install\", \"standard-remove\", a runbook file, or inline [[step]] tables"));
            }
        };
        if RESERVED_TABLES.iter().any(|t| table.contains_key(*t)) {
            let mut all: toml::Table = toml::from_str(text)
                .map_err(|e| doc.error(e.span().unwrap_or(0..0), "", e.message().to_owned()))?;
            let mut take = |name: &str| match all.remove(name) {
                Some(toml::Value::Table(t)) => Some(t),
                _ => None,
            };
            sc.timing_tables = TimingTables {
                timing: take("timing"),
                faults: take("faults"),
                rollout: take("rollout"),
            };
        }
        Ok(sc)
    }

    /// Builds the scenario's model for a hotfix (generated models are made to fit it).
    pub fn build_model(&self, info: &HotfixInfo) -> Result<Model, SetupError> {
        match &self.model {
            ModelSource::File(p) => Ok(crate::model_xml::load_file(p)?),
            ModelSource::Generate(spec) => {
                let mut params = spec.params.clone();
                if spec.fit_package {
                    params.fit(info, spec.extracted);
                } else if spec.extracted {
                    params.extracted.push(info.clone());
                }
                crate::generate::generate(&params).map_err(|source| SetupError::Generate {
                    file: self.path.clone(),
                    source,
                })
            }
        }
    }

    /// Derives or reads the scenario's runbooks for a hotfix and the model as it is
    /// before the run. A standard runbook that follows another is derived from the
    /// model as the earlier ones leave it (see [`Scenario::runbook_at`]).
    pub fn runbook_at(
        &self,
        index: usize,
        info: &HotfixInfo,
        model: &Model,
    ) -> Result<Runbook, SetupError> {
        let rollout = self.rollout()?;
        self.runbook_with(index, info, model, &rollout)
    }

    /// The scenario's `[rollout]` table (the defaults when it has none).
    pub fn rollout(&self) -> Result<crate::timing::RolloutConfig, SetupError> {
        match &self.timing_tables.rollout {
            None => Ok(crate::timing::RolloutConfig::default()),
            Some(t) => crate::timing::RolloutConfig::from_table(t).map_err(|e| {
                let e = match std::fs::read_to_string(&self.path) {
                    Ok(text) => e.located(&self.path, &text),
                    Err(_) => e,
                };
                SetupError::Rollout(e)
            }),
        }
    }

    /// [`Scenario::runbook_at`] under a given rollout strategy: with `strategy =
    /// "rolling"`, `standard-install` is the rolling install
    /// ([`crate::runbook::rolling_install_for`]); other strategies only shape the waves
    /// of Apply All Changes, and runbook files are taken as written.
    pub fn runbook_with(
        &self,
        index: usize,
        info: &HotfixInfo,
        model: &Model,
        rollout: &crate::timing::RolloutConfig,
    ) -> Result<Runbook, SetupError> {
        let Some(src) = self.runbooks.get(index) else {
            return Err(SetupError::Runbook(TomlError::file(
                &self.path,
                format!("no runbook #{index}"),
            )));
        };
        let mut rb = match src {
            RunbookSource::StandardInstall
                if rollout.strategy == crate::timing::Strategy::Rolling =>
            {
                crate::runbook::rolling_install_for(info, model, rollout)?
            }
            RunbookSource::StandardInstall => crate::runbook::standard_install_for(info, model)?,
            RunbookSource::StandardRemove => crate::runbook::standard_remove_for(info, model)?,
            RunbookSource::File(p) => crate::runbook::load_runbook(p)?.resolve(info, model),
            RunbookSource::Inline(spec) => spec.resolve(info, model),
        };
        if let Some(o) = self.on_violation {
            rb.on_violation = o;
        }
        Ok(rb)
    }
}

/// The scenario's model and runbooks, ready to run. Runbooks after the first are
/// derived from the model as the earlier ones leave it, by a dry run on a copy.
pub fn prepare(
    scenario: &Scenario,
    info: &HotfixInfo,
) -> Result<(Model, Vec<Runbook>), SetupError> {
    let rollout = scenario.rollout()?;
    prepare_with(scenario, info, &rollout)
}

/// [`prepare`] under a given rollout strategy instead of the scenario's own `[rollout]`
/// (a comparison of strategies runs one scenario under each).
pub fn prepare_with(
    scenario: &Scenario,
    info: &HotfixInfo,
    rollout: &crate::timing::RolloutConfig,
) -> Result<(Model, Vec<Runbook>), SetupError> {
    let model = scenario.build_model(info)?;
    check_extracted_msis(scenario, &model, info)?;
    let mut runbooks = Vec::new();
    let mut scratch: Option<Model> = None;
    for i in 0..scenario.runbooks.len() {
        let basis = scratch.as_ref().unwrap_or(&model);
        let rb = scenario.runbook_with(i, info, basis, rollout)?;
        if i + 1 < scenario.runbooks.len() {
            let mut m = scratch.take().unwrap_or_else(|| model.clone());
            crate::run::run(
                &mut m,
                info,
                std::slice::from_ref(&rb),
                &crate::run::RunOptions::default(),
            );
            scratch = Some(m);
        }
        runbooks.push(rb);
    }
    Ok((model, runbooks))
}

/// Extracting a package puts its MSIs on the distribution share (the hotfix folder), so
/// a model that lists the hotfix as extracted must also have each of its MSIs, with the
/// file. A model without is inconsistent (edited by hand, or saved from another package)
/// and is refused before anything runs: the run would otherwise fail later with
/// `msi-not-available` for a reason that is not the procedure's.
fn check_extracted_msis(
    scenario: &Scenario,
    model: &Model,
    info: &HotfixInfo,
) -> Result<(), SetupError> {
    if model.extracted(&info.id).is_none() {
        return Ok(());
    }
    for msi in &info.msis {
        let ok = model
            .product_id(&msi.product.product_code)
            .is_some_and(|p| model.msi_products[p as usize].file.is_some());
        if !ok {
            return Err(SetupError::ExtractedWithoutMsi {
                model: match &scenario.model {
                    ModelSource::File(p) => p.display().to_string(),
                    ModelSource::Generate(_) => scenario.path.display().to_string(),
                },
                hotfix: info.id.clone(),
                msi: msi.product.name.clone(),
                product_code: msi.product.product_code.clone(),
            });
        }
    }
    Ok(())
}
