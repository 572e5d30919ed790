//! `hotfix sim`: simulate installing and removing hotfixes on a system model.
//!
//! `run` runs a scenario as one simulation (its runbooks, judged and timed step by step)
//! and prints its one result; `plan` prints its runbook as an operator checklist;
//! `model generate` / `model check` make and check system model files; `sweep` and
//! `merge` run many seeds. Exit codes: 0 every property holds (or the model is
//! consistent), 1 a property is violated, 2 bad input (the file, line and key are named).
//!
//! This module and its submodules parse arguments, open files (a scenario's package is
//! verified or planned into a manifest here, because the simulator crate never opens
//! packages) and print. They must hold no simulation logic: that is `hotfix_sim`.

mod compare;
mod emit;
mod model;
mod package;
mod run;
pub(crate) mod sweep;

use std::path::PathBuf;

use hotfix_sim::scenario::{ScenarioError, SetupError};

use crate::cli::{CliError, CmdResult, Global, OutputFormat};

pub(crate) use package::{Loaded, load};

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
    /// Run a scenario under a grid of rollout strategies over a range of seeds: per
    /// strategy makespan, VU downtime, mixed-version window, windows needed and the
    /// probability of a stopped or rolled-back rollout, each with a 95 % confidence
    /// interval; the Pareto front; and the recommended strategy under the constraints
    /// (exit 1 when none meets them).
    ///
    /// Example:
    ///   hotfix sim compare simulator/scenarios/compare-rollouts.toml --max-vu-downtime 30m --report compare.html
    Compare(CompareArgs),
    /// Combine the JSON outputs of `sim sweep --shard K/N` (or `sim compare --shard K/N`),
    /// all N shards, into exactly the output of one unsharded run.
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
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    pub output_format: RunFormat,
    /// Save the model as the run leaves it (system model XML).
    #[arg(long, value_name = "OUT.xml")]
    pub save_model: Option<PathBuf>,
    /// Write a self-contained HTML report of the timing run (charts, property table).
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Replace an existing --report or --save-model file.
    #[arg(long)]
    pub force: bool,
    /// Print the timing engine's own figures (events, events/s, wall time, peak RSS) to
    /// stderr; they never enter the result.
    #[arg(long)]
    pub stats: bool,
}

/// `--output-format` of `hotfix sim run`: the one result as text, JSON or Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RunFormat {
    #[default]
    Text,
    Json,
    Markdown,
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
    /// Where to write the model XML (`-` for stdout).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// System model XML.
    pub model: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
}

// ---------------------------------------------------------------------------------
// Timing engine, HTML report, sweeps and merges (docs/SIMULATOR-TIMING.md).

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
    /// Exit 0 even when seeds violated a property (report only; e.g. for a job array
    /// whose shards are merged and judged later).
    #[arg(long)]
    pub no_fail: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    #[command(flatten)]
    pub emit: EmitArgs,
}

/// `--emit`: print a cluster job script that runs the command in shards instead of
/// running it (docs/SIMULATOR-TIMING.md, "Sweeps on a cluster").
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Cluster jobs")]
pub struct EmitArgs {
    /// Print a job script instead of running: `slurm` (a bash script that submits a job
    /// array, task K = shard K/N, and a merge job with afterok) or `k8s` (an Indexed Job).
    #[arg(long, value_enum, requires = "shards", conflicts_with = "shard")]
    pub emit: Option<EmitKind>,
    /// Number of shards (array tasks, completions) for --emit.
    #[arg(long, value_name = "N", requires = "emit", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: Option<u32>,
    /// Folder for shard outputs, logs and the merged result, relative to where the job
    /// is submitted (--emit).
    #[arg(long, value_name = "DIR", default_value = "results", requires = "emit")]
    pub results: String,
    /// CPUs per shard (--emit; default 2): each shard runs that many threads.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "emit")]
    pub cpus: u32,
    /// An extra `#SBATCH` option for --emit slurm, e.g. --sbatch=--partition=short
    /// (repeatable).
    #[arg(
        long,
        value_name = "OPTION",
        allow_hyphen_values = true,
        requires = "emit"
    )]
    pub sbatch: Vec<String>,
    /// Container image for --emit k8s.
    #[arg(
        long,
        value_name = "IMAGE",
        default_value = "registry.example/hotfix:latest",
        requires = "emit"
    )]
    pub image: String,
}

/// Scheduler of `--emit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmitKind {
    Slurm,
    K8s,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Grid file (TOML): `scenario`, `seeds`, `[constraints]` and `[[strategy]]` entries,
    /// each a `name` and the keys of a `[rollout]` table.
    pub grid: PathBuf,
    /// Scenario to run (overrides the grid's `scenario`).
    #[arg(long, value_name = "SCENARIO.toml")]
    pub scenario: Option<PathBuf>,
    /// Seeds to run: A..B (B excluded), A..=B (B included) or one seed (overrides the
    /// grid's `seeds`).
    #[arg(long, value_name = "A..B")]
    pub seeds: Option<hotfix_sim::sweep::SeedRange>,
    /// Only strategies whose longest VU downtime (p95 over seeds) is at most this, e.g.
    /// 30m (overrides the grid's constraint).
    #[arg(long, value_name = "DURATION")]
    pub max_vu_downtime: Option<String>,
    /// Only strategies that fit in N maintenance windows (p95 over seeds).
    #[arg(long, value_name = "N")]
    pub fit_windows: Option<u64>,
    /// Only strategies whose stop/rollback probability is at most P (upper end of its
    /// 95 % interval).
    #[arg(long, value_name = "P")]
    pub max_failure_probability: Option<f64>,
    /// Run only shard K of N of the seeds (then `hotfix sim merge`).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<hotfix_sim::sweep::Shard>,
    /// Worker threads (default: one per core). The output does not depend on it.
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// Exit 0 even when no strategy meets the constraints (report only).
    #[arg(long)]
    pub no_fail: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output_format: OutputFormat,
    /// Write an HTML page: makespan against VU downtime with the Pareto front, and a
    /// table per strategy.
    #[arg(long, value_name = "FILE.html", conflicts_with = "emit")]
    pub report: Option<PathBuf>,
    /// Replace an existing --report file.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub emit: EmitArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// JSON outputs of `hotfix sim sweep --shard K/N --output-format json`, all N of them.
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    /// Exit 0 even when seeds violated a property (report only).
    #[arg(long)]
    pub no_fail: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    pub output_format: OutputFormat,
}

pub fn run(cmd: Command, global: &Global) -> CmdResult {
    let _ = global;
    match cmd {
        Command::Run(args) => run::run_scenario(args),
        Command::Plan(args) => model::plan(args),
        Command::Model(ModelCommand::Generate(args)) => model::generate(args),
        Command::Model(ModelCommand::Check(args)) => model::check(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Compare(args) => compare::compare(args),
        Command::Merge(args) => sweep::merge(args),
    }
}

pub(crate) fn scenario_error(e: ScenarioError) -> CliError {
    let hint = e
        .hint
        .clone()
        .unwrap_or_else(|| "see docs/SIMULATOR.md for the scenario and runbook format".into());
    CliError::usage(e.to_string()).hint(hint)
}

pub(crate) fn model_error(e: hotfix_sim::model_xml::ModelError) -> CliError {
    let mut err = CliError::usage(e.to_string());
    if let hotfix_sim::model_xml::ModelError::Invalid { path, problems } = &e {
        for p in problems {
            err = err.detail(format!("{}:{p}", path.display()));
        }
    }
    err.hint("fix the model file (docs/SIMULATOR.md describes the format), then run `hotfix sim model check`")
}

pub(crate) fn setup_error(e: SetupError) -> CliError {
    match e {
        SetupError::Model(m) => model_error(m),
        SetupError::Runbook(t) => scenario_error(t),
        SetupError::Derive(d) => CliError::usage(d.to_string()).hint(
            "the package's base installation (release and support package) must be in the model",
        ),
        e @ SetupError::ExtractedWithoutMsi { .. } => CliError::usage(e.to_string()).hint(
            "add the MSI to <msi-products> with its file (as extracting the package does), or remove the hotfix from <install-hotfixes> so the runbook extracts it",
        ),
        SetupError::Rollout(t) => timing_error(t),
        e @ SetupError::Generate { .. } => CliError::usage(e.to_string()).hint(
            "fix the generated model's parameters in the scenario's [model] table (docs/SIMULATOR.md lists them)",
        ),
        other => CliError::usage(other.to_string()).hint("see docs/SIMULATOR.md"),
    }
}

pub(crate) fn timing_error(e: hotfix_sim::timing::TimingError) -> CliError {
    CliError::usage(e.to_string())
        .hint("see docs/SIMULATOR-TIMING.md for the [timing], [faults] and [rollout] tables")
}
