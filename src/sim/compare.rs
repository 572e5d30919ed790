//! `hotfix sim compare`: one scenario under a grid of rollout strategies and a range of
//! seeds; prints each strategy's figures with confidence intervals, the Pareto front and
//! a recommendation (text or JSON), and optionally an HTML page.
//!
//! Each strategy's scenario is the scenario file with the grid entry in place of its
//! `[rollout]` table, loaded by the ordinary loaders, so whatever a `[rollout]` table can
//! say (and whatever runbook a strategy derives) holds in the grid too. The statistics,
//! the front and the recommendation are `hotfix_sim::compare`'s; this module loads, runs
//! and prints.

use std::path::Path;

use hotfix_sim::compare::{CompareOutput, Grid, GridStrategy};
use hotfix_sim::sweep::InputDigest;

use super::package::sweep_inputs;
use super::sweep::{FullRun, SeedWork, run_seed};
use super::{CompareArgs, load, scenario_error, setup_error, timing_error};
use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, OutputFormat, note, print_json};

/// The scenario's text with `rollout` in place of its `[rollout]` table.
fn with_rollout(path: &Path, text: &str, s: &GridStrategy) -> Result<String, CliError> {
    hotfix_sim::compare::scenario_with_rollout(text, &s.rollout).map_err(|m| {
        CliError::usage(format!("{}: {m}", path.display()))
            .hint("see docs/SIMULATOR.md for the scenario format")
    })
}

fn grid_error(e: hotfix_sim::compare::CompareError) -> CliError {
    match e {
        hotfix_sim::compare::CompareError::Grid(t) => {
            let hint = t.hint.clone().unwrap_or_else(|| {
                "see docs/SIMULATOR-TIMING.md, \"Comparing strategies\", for the grid format".into()
            });
            CliError::usage(t.to_string()).hint(hint)
        }
        other => CliError::usage(other.to_string()),
    }
}

pub(super) fn compare(args: CompareArgs) -> CmdResult {
    let report_to = args
        .report
        .as_deref()
        .map(|p| crate::outfile::check(p, args.force, "--report"))
        .transpose()?;
    let grid = Grid::load(&args.grid).map_err(grid_error)?;
    let grid_bytes = std::fs::read(&args.grid)
        .map_err(|e| CliError::io(format!("cannot read {}", args.grid.display()), e))?;
    let scenario_path = args
        .scenario
        .clone()
        .or_else(|| grid.scenario.clone())
        .ok_or_else(|| {
            CliError::usage(format!(
                "{}: no scenario to compare on",
                args.grid.display()
            ))
            .hint("add `scenario = \"FILE.toml\"` to the grid, or give --scenario FILE.toml")
        })?;
    let seeds = args.seeds.or(grid.seeds).ok_or_else(|| {
        CliError::usage(format!("{}: no seeds", args.grid.display()))
            .hint("add `seeds = \"1..=100\"` to the grid, or give --seeds A..B")
    })?;
    let mut constraints = grid.constraints.clone();
    if let Some(d) = &args.max_vu_downtime {
        constraints.max_vu_downtime_us =
            Some(hotfix_sim::timing::parse_duration(d).map_err(|m| {
                CliError::usage(format!("--max-vu-downtime {d}: {m}"))
                    .hint("a duration with a unit, e.g. 30m or 2h")
            })?);
    }
    if let Some(n) = args.fit_windows {
        constraints.fit_windows = Some(n);
    }
    if let Some(p) = args.max_failure_probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(CliError::usage(format!(
                "--max-failure-probability {p}: not a probability"
            ))
            .hint("a number from 0 to 1, e.g. 0.05"));
        }
        constraints.max_failure_probability = Some(p);
    }
    let text = std::fs::read_to_string(&scenario_path)
        .map_err(|e| CliError::io(format!("cannot read {}", scenario_path.display()), e))?;
    let timing_only = hotfix_sim::timing::TimingScenario::is_timing_only(&scenario_path);
    // Each strategy's scenario, loaded as `hotfix sim run` would load it.
    let mut works = Vec::with_capacity(grid.strategies.len());
    let (name, inputs) = if timing_only {
        let base =
            hotfix_sim::timing::TimingScenario::load(&scenario_path).map_err(timing_error)?;
        for s in &grid.strategies {
            let t = with_rollout(&scenario_path, &text, s)?;
            let sc = hotfix_sim::timing::TimingScenario::parse(&t, &scenario_path)
                .map_err(|e| strategy_error(&args.grid, s, e.to_string()))?;
            works.push(SeedWork::TimingOnly(Box::new(sc)));
        }
        let inputs = vec![InputDigest::new(
            "scenario",
            &scenario_path.display().to_string(),
            text.as_bytes(),
        )];
        (base.name, inputs)
    } else {
        let loaded = load(&scenario_path)?;
        for s in &grid.strategies {
            let t = with_rollout(&scenario_path, &text, s)?;
            let sc = hotfix_sim::scenario::Scenario::parse(&scenario_path, &t)
                .map_err(scenario_error)?;
            let (model, runbooks) =
                hotfix_sim::scenario::prepare(&sc, &loaded.info).map_err(setup_error)?;
            let config = hotfix_sim::simulation::timing_config(&sc)
                .map_err(|e| strategy_error(&args.grid, s, e.to_string()))?;
            works.push(SeedWork::Full(Box::new(FullRun {
                info: loaded.info.clone(),
                model,
                runbooks,
                config,
                expect_model_unchanged: sc.expect_model_unchanged,
            })));
        }
        let inputs = sweep_inputs(&scenario_path, text.as_bytes(), &loaded)?;
        let name = scenario_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (name, inputs)
    };
    if let Some(kind) = args.emit.emit {
        let mut job = vec![
            "sim".to_owned(),
            "compare".to_owned(),
            args.grid.display().to_string(),
            "--scenario".to_owned(),
            scenario_path.display().to_string(),
            "--seeds".to_owned(),
            super::emit::seeds_arg(seeds),
        ];
        if let Some(d) = &args.max_vu_downtime {
            job.extend(["--max-vu-downtime".to_owned(), d.clone()]);
        }
        if let Some(n) = args.fit_windows {
            job.extend(["--fit-windows".to_owned(), n.to_string()]);
        }
        if let Some(p) = args.max_failure_probability {
            job.extend(["--max-failure-probability".to_owned(), p.to_string()]);
        }
        return super::emit::emit(&args.emit, kind, "hotfix-compare", job, "compare.json");
    }
    let mut all_inputs = vec![InputDigest::new(
        "grid",
        &args.grid.display().to_string(),
        &grid_bytes,
    )];
    all_inputs.extend(inputs);
    let seed_list = seeds.seeds(args.shard);
    let bar = crate::progress::runs_bar(
        (seed_list.len() * works.len()) as u64,
        args.output_format == OutputFormat::Json,
        "comparing",
        "runs",
    );
    let started = std::time::Instant::now();
    let runs = hotfix_sim::compare::run_grid(
        works.len(),
        &seed_list,
        args.jobs,
        |i, seed| run_seed(&works[i], seed),
        &|| bar.inc(1),
    )
    .map_err(|e| {
        bar.finish_and_clear();
        CliError::usage(e.to_string()).hint(format!(
            "replay one seed: hotfix sim run {} --seed N",
            scenario_path.display()
        ))
    })?;
    bar.finish_and_clear();
    note(format!(
        "{} strategies × {} seeds in {:.2} s",
        works.len(),
        seed_list.len(),
        started.elapsed().as_secs_f64()
    ));
    let out = hotfix_sim::compare::output(
        &args.grid.display().to_string(),
        &name,
        &all_inputs,
        seeds,
        args.shard,
        &constraints,
        &grid.strategies,
        runs,
    );
    print_compare(&out, args.output_format)?;
    if let Some(to) = &report_to {
        let html = hotfix_sim::compare::render_html(&out, crate::cli::LONG_VERSION);
        to.write(html.as_bytes())?;
        note(format!("report written to {}", to.describe()));
    }
    Ok(verdict(&out, args.no_fail))
}

fn strategy_error(grid: &Path, s: &GridStrategy, message: String) -> CliError {
    CliError::usage(format!(
        "{}: strategy `{}`: {message}",
        grid.display(),
        s.name
    ))
    .hint("a strategy takes the keys of a scenario's [rollout] table (docs/SIMULATOR-TIMING.md)")
}

/// Prints a comparison as text or JSON.
pub(super) fn print_compare(out: &CompareOutput, format: OutputFormat) -> Result<(), CliError> {
    match format {
        OutputFormat::Json => print_json(out),
        OutputFormat::Text => {
            use std::io::Write as _;
            let _ = write!(
                crate::cli::out(),
                "{}",
                hotfix_sim::compare::render_text(out)
            );
            Ok(())
        }
    }
}

/// Exit 1 when no strategy could be recommended (unless `no_fail`), with the problem as
/// a hint.
pub(super) fn verdict(out: &CompareOutput, no_fail: bool) -> u8 {
    if out.ok {
        return EXIT_OK;
    }
    for p in &out.problems {
        crate::verify::print_hint(&format!(
            "{}{}",
            p.message,
            p.hint
                .as_deref()
                .map(|h| format!("; {h}"))
                .unwrap_or_default()
        ));
    }
    if no_fail { EXIT_OK } else { EXIT_FAILED }
}

/// `hotfix sim merge` of `sim compare --shard K/N` outputs.
pub(super) fn merge(args: &super::MergeArgs, texts: &[Vec<u8>]) -> CmdResult {
    let mut parts = Vec::with_capacity(texts.len());
    for (path, text) in args.shards.iter().zip(texts) {
        let part: CompareOutput = serde_json::from_slice(text).map_err(|e| {
            CliError::usage(format!("{}: not a comparison output: {e}", path.display())).hint(
                "give the files written by `hotfix sim compare --shard K/N --output-format json`",
            )
        })?;
        parts.push(part);
    }
    let merged = hotfix_sim::compare::merge(parts).map_err(|e| {
        CliError::usage(e.to_string())
            .hint("merge needs every shard 0..N of one comparison (same grid, scenario, --seeds)")
    })?;
    print_compare(&merged, args.output_format)?;
    Ok(verdict(&merged, args.no_fail))
}
