//! `hotfix sim sweep` and `hotfix sim merge`.

use hotfix_sim::run::RunOptions;

use super::package::sweep_inputs;
use super::{Loaded, MergeArgs, SweepArgs, load, timing_error};
use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, OutputFormat, note, print_json};

/// What one seed runs: a scenario without a model times the standard plan on a
/// generated topology; one with a model runs its runbooks, logic and timing together.
/// Shared by `sim sweep` (one per sweep) and `sim compare` (one per strategy).
pub(super) enum SeedWork {
    TimingOnly(Box<hotfix_sim::timing::TimingScenario>),
    Full(Box<FullRun>),
}

/// A scenario with a model, ready to run for any seed.
pub(super) struct FullRun {
    pub info: hotfix_sim::ops::HotfixInfo,
    pub model: hotfix_sim::model::Model,
    pub runbooks: Vec<hotfix_sim::runbook::Runbook>,
    pub config: hotfix_sim::timing::TimingConfig,
    pub expect_model_unchanged: bool,
}

/// Runs `work` for one seed: whether it passed, and its flat metrics.
pub(super) fn run_seed(work: &SeedWork, seed: u64) -> Result<hotfix_sim::sweep::RunRecord, String> {
    let (passed, r) = match work {
        SeedWork::TimingOnly(sc) => {
            let r = hotfix_sim::timing::simulate(&sc.topology, &sc.plan, &sc.config, seed)
                .map_err(|e| e.to_string())?;
            (r.passed, r)
        }
        SeedWork::Full(f) => {
            let mut model = f.model.clone();
            let sim = hotfix_sim::simulation::simulate(
                &mut model,
                &f.info,
                &f.runbooks,
                &f.config,
                seed,
                &RunOptions {
                    on_violation: None,
                    expect_model_unchanged: f.expect_model_unchanged,
                    record_trace: false,
                },
            )
            .map_err(|e| e.to_string())?;
            (sim.report.passed, sim.timing)
        }
    };
    Ok(hotfix_sim::sweep::RunRecord {
        seed,
        passed,
        metrics: r
            .flat_metrics()
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect(),
    })
}

/// `hotfix sim sweep`.
pub(super) fn sweep(args: SweepArgs) -> CmdResult {
    use hotfix_sim::sweep::{InputDigest, output, run_seeds};
    use hotfix_sim::timing::TimingScenario;
    let bytes = std::fs::read(&args.scenario)
        .map_err(|e| CliError::io(format!("cannot read {}", args.scenario.display()), e))?;
    let scenario_shown = args.scenario.display().to_string();
    let (name, work, inputs) = if TimingScenario::is_timing_only(&args.scenario) {
        let sc = TimingScenario::load(&args.scenario).map_err(timing_error)?;
        let inputs = vec![InputDigest::new("scenario", &scenario_shown, &bytes)];
        (sc.name.clone(), SeedWork::TimingOnly(Box::new(sc)), inputs)
    } else {
        let loaded = load(&args.scenario)?;
        let config =
            hotfix_sim::simulation::timing_config(&loaded.scenario).map_err(timing_error)?;
        let inputs = sweep_inputs(&args.scenario, &bytes, &loaded)?;
        let name = args
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Loaded {
            scenario,
            info,
            model,
            runbooks,
            ..
        } = loaded;
        let work = SeedWork::Full(Box::new(FullRun {
            info,
            model,
            runbooks,
            config,
            expect_model_unchanged: scenario.expect_model_unchanged,
        }));
        (name, work, inputs)
    };
    // The scenario loaded (so a broken one is reported now, not by every shard on the
    // cluster): print the job script instead of running.
    if let Some(kind) = args.emit.emit {
        let job_args = vec![
            "sim".to_owned(),
            "sweep".to_owned(),
            args.scenario.display().to_string(),
            "--seeds".to_owned(),
            super::emit::seeds_arg(args.seeds),
        ];
        return super::emit::emit(&args.emit, kind, "hotfix-sweep", job_args, "sweep.json");
    }
    let seeds = args.seeds.seeds(args.shard);
    let bar =
        crate::progress::seeds_bar(seeds.len() as u64, args.output_format == OutputFormat::Json);
    let started = std::time::Instant::now();
    let runs = run_seeds(&seeds, args.jobs, |seed| run_seed(&work, seed), &|| {
        bar.inc(1)
    })
    .map_err(|e| {
        bar.finish_and_clear();
        sweep_error(e, &args.scenario.display().to_string(), &[])
    })?;
    bar.finish_and_clear();
    let out = output(&name, &inputs, args.seeds, args.shard, runs);
    note(format!(
        "{} seeds in {:.2} s",
        seeds.len(),
        started.elapsed().as_secs_f64()
    ));
    match args.output_format {
        OutputFormat::Json => print_json(&sweep_json(&out, &args.scenario.display().to_string())?)?,
        OutputFormat::Text => {
            use std::io::Write as _;
            let _ = write!(
                anstream::stdout().lock(),
                "{}",
                hotfix_sim::sweep::render_text(&out)
            );
        }
    }
    Ok(verdict(
        &out,
        args.no_fail,
        &args.scenario.display().to_string(),
    ))
}

/// Exit 1 when any seed violated a property (unless `no_fail`), with a hint naming a seed
/// to replay. A job array that must not retry failed shards passes `--no-fail`.
fn verdict(out: &hotfix_sim::sweep::SweepOutput, no_fail: bool, scenario: &str) -> u8 {
    let failed = &out.summary.failed_seeds;
    let Some(first) = failed.first() else {
        return EXIT_OK;
    };
    crate::verify::print_hint(&format!(
        "{} of {} seeds violated a property; replay one: hotfix sim run {scenario} --seed {first}",
        failed.len(),
        out.summary.runs
    ));
    if no_fail { EXIT_OK } else { EXIT_FAILED }
}

/// `hotfix sim sweep` and `merge --output-format json` (docs/schema/sim-sweep.schema.json):
/// the sweep output with the shared verdict, `ok` (no seed violated a property), and one
/// problem per failed seed. `merge` reads these documents back and ignores both.
fn sweep_json(
    out: &hotfix_sim::sweep::SweepOutput,
    scenario: &str,
) -> Result<serde_json::Value, CliError> {
    let mut v = serde_json::to_value(out)
        .map_err(|e| CliError::usage(format!("cannot write JSON: {e}")))?;
    let failed = &out.summary.failed_seeds;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("ok".into(), failed.is_empty().into());
        let problems: Vec<serde_json::Value> = failed
            .iter()
            .map(|seed| {
                serde_json::json!({
                    "rule": "seed-violated-property",
                    "message": format!("seed {seed} violated a property"),
                    "hint": format!("replay it: hotfix sim run {scenario} --seed {seed}"),
                    "seed": seed,
                })
            })
            .collect();
        obj.insert("problems".into(), problems.into());
    }
    Ok(v)
}

/// A sweep or merge error with what to do; `shards` are merge's inputs (empty for a sweep).
pub(crate) fn sweep_error(
    e: hotfix_sim::sweep::SweepError,
    scenario: &str,
    shards: &[std::path::PathBuf],
) -> CliError {
    use hotfix_sim::sweep::SweepError;
    let shown = |i: usize| {
        shards
            .get(i)
            .map_or_else(|| format!("input {}", i + 1), |p| p.display().to_string())
    };
    match &e {
        SweepError::InputDiffers {
            shard, role, path, ..
        } => CliError::usage(format!(
            "{}: {role} {path} is not the file the first shard ({}) was computed from",
            shown(*shard),
            shown(0)
        ))
        .detail(e.to_string())
        .hint("run every shard against the same scenario, model, runbook, package and keys"),
        SweepError::Merge(_) => CliError::usage(e.to_string())
            .hint("merge needs every shard 0..N of one sweep (same scenario file and --seeds)"),
        SweepError::Seeds(_) => CliError::usage(e.to_string())
            .hint("e.g. --seeds 1..=200 (seeds 1 to 200) or --seeds 0..1000"),
        SweepError::Shard(_) => CliError::usage(e.to_string())
            .hint("e.g. --shard 3/10 (the fourth of ten shards; K from 0 to N-1)"),
        SweepError::Threads(_) => {
            CliError::usage(e.to_string()).hint("run with fewer --jobs, or free some memory")
        }
        _ => CliError::usage(e.to_string()).hint(format!(
            "replay one seed to see the whole error: hotfix sim run {scenario} --seed N"
        )),
    }
}

/// Whether a shard file is a `sim compare` output (by its `format`).
fn is_compare(text: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Tag {
        format: Option<String>,
    }
    serde_json::from_slice::<Tag>(text)
        .ok()
        .and_then(|t| t.format)
        .is_some_and(|f| f == hotfix_sim::compare::FORMAT)
}

/// `hotfix sim merge`.
pub(super) fn merge(args: MergeArgs) -> CmdResult {
    let mut parts = Vec::with_capacity(args.shards.len());
    let mut texts = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let text = std::fs::read(path)
            .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
        texts.push(text);
    }
    // Shards of `sim compare` carry their own format tag.
    if is_compare(&texts[0]) {
        return super::compare::merge(&args, &texts);
    }
    for (path, text) in args.shards.iter().zip(texts) {
        let part: hotfix_sim::sweep::SweepOutput = serde_json::from_slice(&text).map_err(|e| {
            CliError::usage(format!("{}: not a sweep output: {e}", path.display())).hint(
                "give the files written by `hotfix sim sweep --shard K/N --output-format json`",
            )
        })?;
        parts.push(part);
    }
    let merged =
        hotfix_sim::sweep::merge(parts).map_err(|e| sweep_error(e, "SCENARIO", &args.shards))?;
    match args.output_format {
        OutputFormat::Json => print_json(&sweep_json(&merged, "SCENARIO")?)?,
        OutputFormat::Text => {
            use std::io::Write as _;
            let _ = write!(
                anstream::stdout().lock(),
                "{}",
                hotfix_sim::sweep::render_text(&merged)
            );
        }
    }
    Ok(verdict(&merged, args.no_fail, "SCENARIO"))
}
