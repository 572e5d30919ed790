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
    /// Run a scenario's timing model under many seeds (in parallel) and summarize each
    /// metric over the seeds (min, p50, p95, max, mean).
    ///
    /// Example:
    ///   hotfix sim sweep simulator/scenarios/timing-batches.toml --seeds 1..=100 --jobs 2
    ///
    /// One shard of ten, for a job array (then `hotfix sim merge`):
    ///   hotfix sim sweep scale-100k.toml --seeds 0..1000 --shard 3/10 --output-format json
    Sweep(SweepArgs),
    /// Combine the JSON outputs of `sim sweep --shard K/N` (all N shards) into exactly the
    /// output of one unsharded sweep.
    ///
    /// Example:
    ///   hotfix sim merge shard-*.json > sweep.json
    Merge(MergeArgs),
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
    /// Write a self-contained HTML report of the timing run (charts, property table).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Print the timing engine's own figures (events, events/s, wall time, peak RSS) to
    /// stderr; they never enter the result.
    #[arg(long)]
    pub stats: bool,
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
        Command::Sweep(args) => sweep(args),
        Command::Merge(args) => merge(args),
    }
}

/// A scenario with its package resolved, model built and runbooks derived.
pub(crate) struct Loaded {
    pub scenario: Scenario,
    /// The package's manifest (file sizes for the timing engine).
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
        e @ SetupError::ExtractedWithoutMsi { .. } => CliError::usage(e.to_string()).hint(
            "add the MSI to <msi-products> with its file (as extracting the package does), or remove the hotfix from <install-hotfixes> so the runbook extracts it",
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
    if hotfix_sim::timing::TimingScenario::is_timing_only(&args.scenario) {
        return run_timing_only(&args);
    }
    let Loaded {
        scenario,
        info,
        mut model,
        runbooks,
        ..
    } = load(&args.scenario)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let cfg = hotfix_sim::simulation::timing_config(&scenario).map_err(timing_error)?;
    let sim = hotfix_sim::simulation::simulate(
        &mut model,
        &info,
        &runbooks,
        &cfg,
        seed,
        &RunOptions {
            on_violation: None,
            expect_model_unchanged: scenario.expect_model_unchanged,
            record_trace: false,
        },
    )
    .map_err(timing_error)?;
    let report = &sim.report;
    let timing = Some(TimingRun {
        result: sim.timing.clone(),
        stats: sim.stats.clone(),
        topology: sim.topology.clone(),
        title: format!("{} — {}", args.scenario.display(), info.id),
        passed: report.passed,
        violations: report.violations.clone(),
        step_labels: report
            .trace
            .iter()
            .map(|t| format!("{}. {}", t.step, t.action))
            .collect(),
        seed,
    });
    if let Some(out) = &args.save_model {
        hotfix_sim::model_xml::save_file(&model, out)
            .map_err(|e| CliError::usage(e.to_string()))?;
        note(format!("saved the model to {}", out.display()));
    }
    match args.output_format {
        OutputFormat::Json => print_json(&result_json(&args.scenario, seed, &info, report))?,
        OutputFormat::Text => print_text(&args.scenario, seed, &info, &runbooks, report),
    }
    if let Some(t) = &timing {
        finish_timing(&args, t, &timing_property_rows(report))?;
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
    let _ = writeln!(out, "\nmetrics:");
    for (k, v) in logical_metrics(&report.metrics) {
        let _ = writeln!(out, "  {k}: {v}");
    }
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

// ---------------------------------------------------------------------------------
// Timing engine, HTML report, sweeps and merges (issue 6; docs/SIMULATOR-TIMING.md).

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (TOML): a full scenario, or a timing-only one with [timing.topology].
    pub scenario: PathBuf,
    /// Seeds to run: A..B (B excluded), A..=B (B included) or one seed.
    #[arg(long, value_name = "A..B")]
    pub seeds: hotfix_sim::sweep::SeedRange,
    /// Run only shard K of N (0-based): the seeds A+K, A+K+N, ... (for job arrays).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<hotfix_sim::sweep::Shard>,
    /// Worker threads (default: one per core). The output does not depend on it.
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// JSON outputs of `hotfix sim sweep --shard K/N --output-format json`, all N of them.
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub output_format: OutputFormat,
}

/// A timing run of `hotfix sim run`, kept for the report and `--stats`.
struct TimingRun {
    result: hotfix_sim::timing::TimingResult,
    stats: hotfix_sim::timing::EngineStats,
    topology: hotfix_sim::timing::Topology,
    title: String,
    /// The one verdict, the violations and the step labels, for the report.
    passed: bool,
    violations: Vec<hotfix_sim::run::Violation>,
    step_labels: Vec<String>,
    seed: u64,
}

fn timing_error(e: hotfix_sim::timing::TimingError) -> CliError {
    CliError::usage(e.to_string())
        .hint("see docs/SIMULATOR-TIMING.md for the [timing], [faults] and [rollout] tables")
}

/// The logical metrics as sorted `(key, value)` text pairs for the text output. `timing`
/// is left out: it has its own summary (see [`timing_summary`]), and its JSON is in
/// `--output-format json`.
fn logical_metrics(metrics: &serde_json::Map<String, serde_json::Value>) -> Vec<(&str, String)> {
    let mut rows: Vec<(&str, String)> = metrics
        .iter()
        .filter(|(k, _)| k.as_str() != "timing")
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::Null => "none".to_owned(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.as_str(), v)
        })
        .collect();
    rows.sort_unstable();
    rows
}

fn timing_property_rows(report: &RunReport) -> Vec<(String, bool)> {
    report
        .properties
        .iter()
        .map(|p| (p.name.to_owned(), p.passed))
        .collect()
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::io(format!("cannot write {}", path.display()), e)
        })
}

/// The report file, `--stats`, and the timing summary in text mode.
fn finish_timing(
    args: &RunArgs,
    t: &TimingRun,
    properties: &[(String, bool)],
) -> Result<(), CliError> {
    if let Some(path) = &args.report {
        let extras = hotfix_sim::report::RunExtras {
            passed: Some(t.passed),
            violations: &t.violations,
            step_labels: t.step_labels.clone(),
            tool: format!("hotfix {}", env!("CARGO_PKG_VERSION")),
            replay: format!(
                "hotfix sim run {} --seed {} --report {}",
                args.scenario.display(),
                t.seed,
                path.display()
            ),
        };
        let html = hotfix_sim::report::render_run_html(
            &t.title,
            &t.result,
            properties,
            &|v| t.topology.vu_name(v),
            &extras,
        );
        write_atomic(path, html.as_bytes())?;
        note(format!("wrote the report to {}", path.display()));
    }
    if args.stats {
        anstream::eprintln!("{}", t.stats);
    }
    if args.output_format == OutputFormat::Text {
        use std::io::Write as _;
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{}", timing_summary(&t.result));
    }
    Ok(())
}

fn fmt_secs(s: f64) -> String {
    if s >= 7200.0 {
        format!("{:.2} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.2} s")
    }
}

/// Timing in a few lines of text.
fn timing_summary(r: &hotfix_sim::timing::TimingResult) -> String {
    let mut s = format!(
        "timing (seed {}, {:?}, {:?}): makespan {}, {} of {} nodes converged",
        r.seed,
        r.procedure,
        r.strategy,
        fmt_secs(r.makespan_s),
        r.nodes.converged,
        r.nodes.affected
    );
    if let Some(c) = &r.convergence_s {
        s += &format!(
            " (p50 {}, p95 {}, p99 {}, max {})",
            fmt_secs(c.p50_s),
            fmt_secs(c.p95_s),
            fmt_secs(c.p99_s),
            fmt_secs(c.max_s)
        );
    }
    if r.nodes.failed + r.nodes.rolled_back + r.nodes.pending_change + r.nodes.not_attempted > 0 {
        s += &format!(
            "\n  nodes: {} failed, {} rolled back, {} left pending, {} not attempted",
            r.nodes.failed, r.nodes.rolled_back, r.nodes.pending_change, r.nodes.not_attempted
        );
    }
    if let Some(d) = &r.vu_downtime_s {
        s += &format!(
            "\n  VU downtime: mean {}, max {} over {} VUs",
            fmt_secs(d.mean_s),
            fmt_secs(d.max_s),
            d.vus
        );
    }
    for w in &r.mixed_version {
        s += &format!(
            "\n  mixed versions of {}: {}{}",
            w.package,
            fmt_secs(w.window_s),
            if w.open_at_end {
                " (still mixed at the end)"
            } else {
                ""
            }
        );
    }
    s += &format!(
        "\n  {} bytes sent, peak {} transfers, retries: {} transfer, {} apply, {} workstation",
        r.bytes_sent,
        r.peak_concurrent_transfers,
        r.retries.transfer,
        r.retries.apply,
        r.retries.workstation
    );
    if r.workstations.total > 0 {
        s += &format!(
            "\n  workstations: {} of {} updated, {} failed",
            r.workstations.updated, r.workstations.total, r.workstations.failed
        );
    }
    if let Some(stop) = &r.stopped {
        s += &format!(
            "\n  stopped at {}: {}{}",
            fmt_secs(stop.at_s),
            stop.reason,
            if stop.rolled_back {
                " (rolled back)"
            } else {
                ""
            }
        );
    }
    s
}

/// `hotfix sim run` on a timing-only scenario ([timing.topology], no model).
fn run_timing_only(args: &RunArgs) -> CmdResult {
    if args.save_model.is_some() {
        return Err(
            CliError::usage("--save-model needs a scenario with a model")
                .hint("timing-only scenarios have a generated topology, not a system model"),
        );
    }
    let sc = hotfix_sim::timing::TimingScenario::load(&args.scenario).map_err(timing_error)?;
    let seed = args.seed.unwrap_or(sc.seed);
    let (result, stats) =
        hotfix_sim::timing::simulate_with_stats(&sc.topology, &sc.plan, &sc.config, seed)
            .map_err(timing_error)?;
    let props = result.properties();
    let rows: Vec<(String, bool)> = props
        .iter()
        .map(|(n, ok, _)| ((*n).to_owned(), *ok))
        .collect();
    match args.output_format {
        OutputFormat::Json => print_json(&json!({
            "scenario": args.scenario.display().to_string(),
            "seed": seed,
            "passed": result.passed,
            "properties": props.iter().map(|(n, ok, d)| {
                let mut p = json!({ "name": n, "passed": ok, "kind": "eventually" });
                if !ok {
                    p["detail"] = json!(d);
                }
                p
            }).collect::<Vec<_>>(),
            "violations": [],
            "metrics": { "timing": &result },
        }))?,
        OutputFormat::Text => {
            use std::io::Write as _;
            let mut out = anstream::stdout().lock();
            let _ = writeln!(
                out,
                "scenario {} (seed {seed}): timing only, {} nodes",
                args.scenario.display(),
                sc.topology.node_count
            );
            for (n, ok, d) in &props {
                let _ = writeln!(
                    out,
                    "  {} {n}{}",
                    if *ok { "pass" } else { "FAIL" },
                    if *ok { String::new() } else { format!(": {d}") }
                );
            }
        }
    }
    let run = TimingRun {
        passed: result.passed,
        step_labels: sc
            .plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let name = serde_json::to_value(st)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{st:?}"));
                format!("{}. {name}", i + 1)
            })
            .collect(),
        result,
        stats,
        topology: sc.topology,
        title: sc.name.clone(),
        violations: Vec::new(),
        seed,
    };
    finish_timing(args, &run, &rows)?;
    if !run.result.passed {
        note(format!(
            "replay: hotfix sim run {} --seed {seed}",
            args.scenario.display()
        ));
    }
    Ok(if run.result.passed {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// `hotfix sim sweep`.
fn sweep(args: SweepArgs) -> CmdResult {
    use hotfix_sim::sweep::{InputDigest, RunRecord, output, run_seeds};
    use hotfix_sim::timing::{TimingScenario, simulate};
    let bytes = std::fs::read(&args.scenario)
        .map_err(|e| CliError::io(format!("cannot read {}", args.scenario.display()), e))?;
    // A scenario without a model times the standard plan on a generated topology; one
    // with a model runs its runbooks, logic and timing together, for every seed.
    enum Work {
        TimingOnly(Box<hotfix_sim::timing::TimingScenario>),
        Full(Box<(Loaded, hotfix_sim::timing::TimingConfig)>),
    }
    let (name, work) = if TimingScenario::is_timing_only(&args.scenario) {
        let sc = TimingScenario::load(&args.scenario).map_err(timing_error)?;
        (sc.name.clone(), Work::TimingOnly(Box::new(sc)))
    } else {
        let loaded = load(&args.scenario)?;
        let cfg = hotfix_sim::simulation::timing_config(&loaded.scenario).map_err(timing_error)?;
        let name = args
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (name, Work::Full(Box::new((loaded, cfg))))
    };
    let seeds = args.seeds.seeds(args.shard);
    let bar = if crate::cli::progress_enabled() {
        let bar = indicatif::ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("seeds [{bar:30}] {pos}/{len} eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = std::time::Instant::now();
    let runs = run_seeds(
        &seeds,
        args.jobs,
        |seed| {
            let (passed, r) = match &work {
                Work::TimingOnly(sc) => {
                    let r = simulate(&sc.topology, &sc.plan, &sc.config, seed)
                        .map_err(|e| e.to_string())?;
                    (r.passed, r)
                }
                Work::Full(full) => {
                    let (l, cfg) = &**full;
                    let mut model = l.model.clone();
                    let sim = hotfix_sim::simulation::simulate(
                        &mut model,
                        &l.info,
                        &l.runbooks,
                        cfg,
                        seed,
                        &RunOptions {
                            on_violation: None,
                            expect_model_unchanged: l.scenario.expect_model_unchanged,
                            record_trace: false,
                        },
                    )
                    .map_err(|e| e.to_string())?;
                    (sim.report.passed, sim.timing)
                }
            };
            Ok(RunRecord {
                seed,
                passed,
                metrics: r
                    .flat_metrics()
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                    .collect(),
            })
        },
        &|| bar.inc(1),
    )
    .map_err(|e| {
        CliError::usage(e.to_string()).hint(format!(
            "replay one seed: hotfix sim run {} --seed N",
            args.scenario.display()
        ))
    })?;
    bar.finish_and_clear();
    let inputs = match &work {
        Work::TimingOnly(_) => vec![InputDigest::new(
            "scenario",
            &args.scenario.display().to_string(),
            &bytes,
        )],
        Work::Full(full) => sweep_inputs(&args.scenario, &bytes, &full.0)?,
    };
    let out = output(&name, &inputs, args.seeds, args.shard, runs);
    note(format!(
        "{} seeds in {:.2} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    ));
    match args.output_format {
        OutputFormat::Json => print_json(&out)?,
        OutputFormat::Text => {
            use std::io::Write as _;
            let _ = write!(
                anstream::stdout().lock(),
                "{}",
                hotfix_sim::sweep::render_text(&out)
            );
        }
    }
    // Failed seeds are results, not errors: a job array must not retry them.
    Ok(EXIT_OK)
}

/// Every file a full scenario's sweep depends on, with the digest of its content: the
/// scenario, its model file, runbook files, the package's manifest (which lists every
/// payload file's SHA-256) and the trusted keys.
fn sweep_inputs(
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

/// `hotfix sim merge`.
fn merge(args: MergeArgs) -> CmdResult {
    let mut parts = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let text = std::fs::read(path)
            .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
        let part: hotfix_sim::sweep::SweepOutput = serde_json::from_slice(&text).map_err(|e| {
            CliError::usage(format!("{}: not a sweep output: {e}", path.display())).hint(
                "give the files written by `hotfix sim sweep --shard K/N --output-format json`",
            )
        })?;
        parts.push(part);
    }
    let merged = hotfix_sim::sweep::merge(parts).map_err(|e| match &e {
        hotfix_sim::sweep::SweepError::InputDiffers {
            shard, role, path, ..
        } => CliError::usage(format!(
            "{}: {role} {path} is not the file the first shard ({}) was computed from",
            args.shards[*shard].display(),
            args.shards[0].display()
        ))
        .detail(e.to_string())
        .hint("run every shard against the same scenario, model, runbook, package and keys"),
        _ => CliError::usage(e.to_string())
            .hint("merge needs every shard 0..N of one sweep (same scenario file and --seeds)"),
    })?;
    match args.output_format {
        OutputFormat::Json => print_json(&merged)?,
        OutputFormat::Text => {
            use std::io::Write as _;
            let _ = write!(
                anstream::stdout().lock(),
                "{}",
                hotfix_sim::sweep::render_text(&merged)
            );
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::logical_metrics;
    use serde_json::json;

    #[test]
    fn text_metrics_are_sorted_lines_without_timing() {
        let serde_json::Value::Object(m) = json!({
            "vus": 5, "steps": 19, "converged_at_step": null,
            "timing": { "makespan_s": 1.5 }, "label": "x"
        }) else {
            unreachable!()
        };
        let rows = logical_metrics(&m);
        let keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["converged_at_step", "label", "steps", "vus"]);
        assert_eq!(rows[0].1, "none");
        assert_eq!(rows[1].1, "x");
        assert_eq!(rows[2].1, "19");
    }
}
