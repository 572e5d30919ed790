//! `hotfix sim`: simulate installing and removing hotfixes on a system model.
//!
//! `run` checks every property of `DOMAIN.md` for a scenario, `plan` prints its runbook
//! as an operator checklist, `model generate` / `model check` make and check system
//! model files. Exit codes: 0 every property holds (or the model is consistent), 1 a
//! property is violated, 2 bad input (the file, line and key are named).
//!
//! This module resolves a scenario's package into a manifest (a `.zip` is verified
//! against the scenario's trusted keys first; a source folder is planned from its
//! `hotfix.toml`), because the simulator crate itself never opens packages.

use std::path::{Path, PathBuf};

use hotfix_manifest::Manifest;
use hotfix_sim::model::Model;
use hotfix_sim::ops::HotfixInfo;
use hotfix_sim::run::{RunOptions, RunReport};
use hotfix_sim::runbook::Runbook;
use hotfix_sim::scenario::{PackageRef, Scenario, ScenarioError, SetupError};
use serde_json::json;

use crate::cli::{
    CliError, CmdResult, EXIT_FAILED, EXIT_OK, Global, OutputFormat, note, print_json,
};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run a scenario and check every property (exit 1 if any is violated).
    ///
    /// Example:
    ///   hotfix sim run simulator/scenarios/install-standard.toml --output-format json
    Run(RunArgs),
    /// Print a scenario's runbook as a numbered operator checklist.
    ///
    /// Example:
    ///   hotfix sim plan simulator/scenarios/install-standard.toml --output-format markdown
    Plan(PlanArgs),
    /// Generate or check system model files.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Seed for the run (overrides the scenario's `seed`; printed with every result).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    /// Save the model as the run leaves it (system model XML).
    #[arg(long, value_name = "OUT.xml")]
    pub save_model: Option<PathBuf>,
}

/// `--output-format` of `hotfix sim plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PlanFormat {
    #[default]
    Text,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub output_format: PlanFormat,
}

#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Generate a realistic system model (same parameters, same bytes).
    ///
    /// Example:
    ///   hotfix sim model generate --nodes 1000 --vus 200 --workstations 50 --output model.xml
    Generate(GenerateArgs),
    /// Check a system model file and report every problem with its line and column.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Number of HAC nodes.
    #[arg(long)]
    pub nodes: u32,
    /// Number of virtual units.
    #[arg(long)]
    pub vus: u32,
    /// Instances per virtual unit (at least 2).
    #[arg(long, default_value_t = 2)]
    pub instances: u32,
    /// Number of client workstations.
    #[arg(long, default_value_t = 0)]
    pub workstations: u32,
    /// Number of nodes the IA cannot reach.
    #[arg(long, default_value_t = 0)]
    pub unreachable: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Platform release of the base installation.
    #[arg(long, default_value = "7.0")]
    pub release: String,
    /// Support package of the base installation.
    #[arg(long, default_value = "SP3")]
    pub support_package: String,
    /// Where to write the model XML.
    #[arg(long, short)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// System model XML.
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

pub fn run(cmd: Command, global: &Global) -> CmdResult {
    let _ = global;
    match cmd {
        Command::Run(args) => run_scenario(args),
        Command::Plan(args) => plan(args),
        Command::Model(ModelCommand::Generate(args)) => generate(args),
        Command::Model(ModelCommand::Check(args)) => check(args),
    }
}

/// A scenario with its package resolved, model built and runbooks derived.
pub(crate) struct Loaded {
    pub scenario: Scenario,
    /// The package's manifest (file sizes for the timing engine).
    #[allow(dead_code)]
    pub manifest: Manifest,
    pub info: HotfixInfo,
    pub model: Model,
    pub runbooks: Vec<Runbook>,
}

pub(crate) fn scenario_error(e: ScenarioError) -> CliError {
    let hint = e
        .hint
        .clone()
        .unwrap_or_else(|| "see docs/SIMULATOR.md for the scenario and runbook format".into());
    CliError::usage(e.to_string()).hint(hint)
}

fn model_error(e: hotfix_sim::model_xml::ModelError) -> CliError {
    let mut err = CliError::usage(e.to_string());
    if let hotfix_sim::model_xml::ModelError::Invalid { path, problems } = &e {
        for p in problems {
            err = err.detail(format!("{}:{p}", path.display()));
        }
    }
    err.hint("fix the model file (docs/SIMULATOR.md describes the format), then run `hotfix sim model check`")
}

fn setup_error(e: SetupError) -> CliError {
    match e {
        SetupError::Model(m) => model_error(m),
        SetupError::Runbook(t) => scenario_error(t),
        SetupError::Derive(d) => CliError::usage(d.to_string()).hint(
            "the package's base installation (release and support package) must be in the model",
        ),
        other => CliError::usage(other.to_string()).hint("see docs/SIMULATOR.md"),
    }
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

/// Keeps the authenticated manifest handed over by verification.
#[derive(Default)]
struct ManifestSink(Option<Manifest>);

impl hotfix_package::verify::EntrySink for ManifestSink {
    fn begin(
        &mut self,
        auth: &hotfix_package::verify::Authenticated<'_>,
    ) -> Result<(), hotfix_package::verify::SinkError> {
        self.0 = Some(auth.manifest.clone());
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

/// The manifest of a scenario's package.
pub(crate) fn resolve_package(scenario: &Scenario) -> Result<Manifest, CliError> {
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
            Ok(manifest)
        }
        PackageRef::Zip(zip) => {
            let trust = load_trust(&scenario.trusted)?;
            let mut sink = ManifestSink::default();
            let report = hotfix_package::verify::verify(zip, &trust, 1, &mut sink)
                .map_err(crate::verify::verify_error)?;
            match (report.ok, sink.0) {
                (true, Some(m)) => Ok(m),
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
            Manifest::from_xml(&bytes).map_err(|e| {
                CliError::usage(format!("{}: {e}", xml.display()))
                    .hint("a hotfix.xml written by `hotfix build`")
            })
        }
    }
}

/// Loads a scenario, resolves its package, builds its model and derives its runbooks.
pub(crate) fn load(path: &Path) -> Result<Loaded, CliError> {
    let scenario = Scenario::load(path).map_err(scenario_error)?;
    let manifest = resolve_package(&scenario)?;
    let info = HotfixInfo::from_manifest(&manifest);
    let (model, runbooks) = hotfix_sim::scenario::prepare(&scenario, &info).map_err(setup_error)?;
    Ok(Loaded {
        scenario,
        manifest,
        info,
        model,
        runbooks,
    })
}

fn run_scenario(args: RunArgs) -> CmdResult {
    let Loaded {
        scenario,
        info,
        mut model,
        runbooks,
        ..
    } = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let report = hotfix_sim::run::run(
        &mut model,
        &info,
        &runbooks,
        &RunOptions {
            on_violation: None,
            expect_model_unchanged: scenario.expect_model_unchanged,
            record_trace: false,
        },
    );
    if let Some(out) = &args.save_model {
        hotfix_sim::model_xml::save_file(&model, out)
            .map_err(|e| CliError::usage(e.to_string()))?;
        note(format!("saved the model to {}", out.display()));
    }
    match args.output_format {
        OutputFormat::Json => print_json(&result_json(&args.scenario, seed, &info, &report))?,
        OutputFormat::Text => print_text(&args.scenario, seed, &info, &runbooks, &report),
    }
    if !report.passed {
        note(format!(
            "replay: hotfix sim run {} --seed {seed}",
            args.scenario.display()
        ));
    }
    Ok(if report.passed { EXIT_OK } else { EXIT_FAILED })
}

/// The JSON result of `hotfix sim run` (stable; see docs/SIMULATOR.md).
pub(crate) fn result_json(
    scenario: &Path,
    seed: u64,
    info: &HotfixInfo,
    report: &RunReport,
) -> serde_json::Value {
    json!({
        "scenario": scenario.display().to_string(),
        "seed": seed,
        "hotfix": info.id,
        "passed": report.passed,
        "properties": report.properties,
        "violations": report.violations,
        "metrics": report.metrics,
    })
}

fn print_text(
    scenario: &Path,
    seed: u64,
    info: &HotfixInfo,
    runbooks: &[Runbook],
    report: &RunReport,
) {
    use std::io::Write as _;
    let mut out = anstream::stdout().lock();
    let names: Vec<&str> = runbooks.iter().map(|r| r.name.as_str()).collect();
    let _ = writeln!(
        out,
        "scenario {} (seed {seed}): hotfix {}, runbook {}",
        scenario.display(),
        info.id,
        names.join(" then ")
    );
    let _ = writeln!(out, "\nproperties:");
    for p in &report.properties {
        let mark = if p.passed { "pass" } else { "FAIL" };
        let _ = write!(out, "  {mark}  {:<38} {}", p.name, p.procedure.as_str());
        if let Some(d) = &p.detail {
            let _ = write!(out, "  ({d})");
        }
        let _ = writeln!(out);
    }
    if !report.violations.is_empty() {
        let _ = writeln!(out, "\nviolations:");
        for v in &report.violations {
            let at = v.step.map_or("end".to_owned(), |s| format!("step {s}"));
            let _ = writeln!(out, "  {at}: {} [{}] {}", v.action, v.rule, v.message);
            if let Some(o) = &v.origin {
                let _ = writeln!(out, "        at {o}");
            }
        }
    }
    let metrics: Vec<String> = report
        .metrics
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "\nmetrics: {}", metrics.join(" "));
    let failed = report.properties.iter().filter(|p| !p.passed).count();
    if report.passed {
        let _ = writeln!(
            out,
            "result: passed ({} properties hold)",
            report.properties.len()
        );
    } else {
        let _ = writeln!(
            out,
            "result: FAILED ({failed} properties violated; seed {seed})"
        );
    }
}

fn plan(args: PlanArgs) -> CmdResult {
    let loaded = load(&args.scenario)?;
    let checklist = hotfix_sim::plan::checklist(&loaded.model, &loaded.info, &loaded.runbooks);
    match args.output_format {
        PlanFormat::Json => print_json(&checklist)?,
        PlanFormat::Text => print!("{}", hotfix_sim::plan::render_text(&checklist)),
        PlanFormat::Markdown => print!("{}", hotfix_sim::plan::render_markdown(&checklist)),
    }
    if !checklist.passed {
        note("warning: on this model the runbook breaks rules (listed at the end)");
    }
    Ok(if checklist.passed {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

fn generate(args: GenerateArgs) -> CmdResult {
    let params = hotfix_sim::generate::GenerateParams {
        nodes: args.nodes,
        vus: args.vus,
        instances: args.instances,
        workstations: args.workstations,
        unreachable: args.unreachable,
        seed: args.seed,
        release: args.release,
        support_package: args.support_package,
        ..hotfix_sim::generate::GenerateParams::default()
    };
    let model = hotfix_sim::generate::generate(&params).map_err(|e| {
        CliError::usage(format!("--{}: {}", e.key, e.message))
            .hint("e.g. --nodes 1000 --vus 200 --instances 2")
    })?;
    hotfix_sim::model_xml::save_file(&model, &args.output)
        .map_err(|e| CliError::usage(e.to_string()))?;
    note(format!(
        "wrote {}: {} nodes, {} virtual units, {} workstations (seed {})",
        args.output.display(),
        model.nodes.len(),
        model.vus.len(),
        model.workstations.len(),
        args.seed
    ));
    Ok(EXIT_OK)
}

fn check(args: CheckArgs) -> CmdResult {
    match hotfix_sim::model_xml::load_file(&args.model) {
        Ok(model) => {
            let summary = json!({
                "model": args.model.display().to_string(),
                "ok": true,
                "problems": [],
                "nodes": model.nodes.len(),
                "vus": model.vus.len(),
                "workstations": model.workstations.len(),
                "pending_changes": model.nodes.pending_total,
            });
            match args.output_format {
                OutputFormat::Json => print_json(&summary)?,
                OutputFormat::Text => println!(
                    "{}: ok ({} nodes, {} virtual units, {} workstations, {} pending changes)",
                    args.model.display(),
                    model.nodes.len(),
                    model.vus.len(),
                    model.workstations.len(),
                    model.nodes.pending_total
                ),
            }
            Ok(EXIT_OK)
        }
        Err(hotfix_sim::model_xml::ModelError::Invalid { path, problems }) => {
            match args.output_format {
                OutputFormat::Json => print_json(&json!({
                    "model": path.display().to_string(),
                    "ok": false,
                    "problems": problems,
                }))?,
                OutputFormat::Text => {
                    for p in &problems {
                        println!("{}:{p}", path.display());
                    }
                }
            }
            note(format!("{}: {} problem(s)", path.display(), problems.len()));
            Ok(EXIT_FAILED)
        }
        Err(e) => Err(model_error(e)),
    }
}
