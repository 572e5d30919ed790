//! `hotfix sim run`: one simulation, one result, printed as text, JSON or Markdown, and
//! optionally written as the HTML report.

use hotfix_sim::render::{self, Header};
use hotfix_sim::run::RunOptions;
use hotfix_sim::simulation::Simulation;

use super::{RunArgs, RunFormat, load, timing_error};
use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, note, print_json};

pub(super) fn run_scenario(args: RunArgs) -> CmdResult {
    // Output paths are checked before the simulation, which may take long.
    let report_to = args
        .report
        .as_deref()
        .map(|p| crate::outfile::check(p, args.force, "--report"))
        .transpose()?;
    let model_to = args
        .save_model
        .as_deref()
        .map(|p| crate::outfile::check(p, args.force, "--save-model"))
        .transpose()?;
    let (sim, header, title) = if hotfix_sim::timing::TimingScenario::is_timing_only(&args.scenario)
    {
        if args.save_model.is_some() {
            return Err(
                CliError::usage("--save-model needs a scenario with a model")
                    .hint("timing-only scenarios have a generated topology, not a system model"),
            );
        }
        let sc = hotfix_sim::timing::TimingScenario::load(&args.scenario).map_err(timing_error)?;
        let seed = args.seed.unwrap_or(sc.seed);
        let header = Header {
            scenario: args.scenario.display().to_string(),
            seed,
            hotfix: None,
            runbooks: vec![format!("timing only, {} nodes", sc.topology.node_count)],
        };
        let title = sc.name.clone();
        let sim = hotfix_sim::simulation::timing_only(sc.topology, sc.plan, &sc.config, seed)
            .map_err(timing_error)?;
        (sim, header, title)
    } else {
        let super::Loaded {
            scenario,
            info,
            mut model,
            runbooks,
            ..
        } = load(&args.scenario)?;
        if let (Some(out), hotfix_sim::scenario::ModelSource::File(input)) =
            (&args.save_model, &scenario.model)
            && same_file(out, input)
        {
            return Err(CliError::usage(format!(
                "--save-model {}: that is the scenario's own input model",
                out.display()
            ))
            .hint("save the model as the run leaves it to another file; the scenario must keep its input"));
        }
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
        .map_err(|e| match std::fs::read_to_string(&args.scenario) {
            // A fault naming a node the model lacks is found when the run starts.
            Ok(text) => timing_error(e.located(&args.scenario, &text)),
            Err(_) => timing_error(e),
        })?;
        if let Some(out) = &model_to {
            out.write(hotfix_sim::model_xml::save_string(&model).as_bytes())?;
            note(format!("saved the model to {}", out.describe()));
        }
        let header = Header {
            scenario: args.scenario.display().to_string(),
            seed,
            hotfix: Some(info.id.clone()),
            runbooks: runbooks.iter().map(|r| r.name.clone()).collect(),
        };
        // The command ends right after: freeing a million-node model and its runbook
        // object by object costs a few tenths of a second the exit does for free.
        std::mem::forget(model);
        std::mem::forget(runbooks);
        let title = format!("{} — {}", args.scenario.display(), info.id);
        (sim, header, title)
    };
    let report = &sim.report;
    match args.output_format {
        RunFormat::Json => print_json(&run_json(&header, report))?,
        RunFormat::Text => print_out(&render::text(&header, report)),
        RunFormat::Markdown => print_out(&render::markdown(&header, report)),
    }
    if let Some(to) = &report_to {
        write_report(to, &args, &sim, &header, &title)?;
    }
    if args.stats {
        anstream::eprintln!("{}", sim.stats);
    }
    if !report.passed {
        note(format!(
            "replay: hotfix sim run {} --seed {}",
            args.scenario.display(),
            header.seed
        ));
    }
    let passed = report.passed;
    // As for the model above: the exit frees the result (trace, per-node series).
    std::mem::forget(sim);
    Ok(if passed { EXIT_OK } else { EXIT_FAILED })
}

/// `hotfix sim run --output-format json` (docs/schema/sim-run.schema.json): the
/// simulator's result in the shared vocabulary (`ok`, violations as `problems`).
fn run_json(header: &Header, report: &hotfix_sim::run::RunReport) -> serde_json::Value {
    let mut v = render::json(header, report);
    crate::json::rename(&mut v, "passed", "ok");
    crate::json::rename(&mut v, "violations", "problems");
    v
}

fn print_out(text: &str) {
    use std::io::Write as _;
    let _ = write!(anstream::stdout().lock(), "{text}");
}

/// The HTML report of the run, from the same result.
fn write_report(
    to: &crate::outfile::Target,
    args: &RunArgs,
    sim: &Simulation,
    header: &Header,
    title: &str,
) -> Result<(), CliError> {
    let report = &sim.report;
    let properties: Vec<(String, bool)> = report
        .properties
        .iter()
        .map(|p| (p.name.to_owned(), p.passed))
        .collect();
    let step_labels: Vec<String> = if report.trace.is_empty() {
        sim.step_actions
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {a}", i + 1))
            .collect()
    } else {
        report
            .trace
            .iter()
            .map(|t| format!("{}. {}", t.step, t.action))
            .collect()
    };
    let extras = hotfix_sim::report::RunExtras {
        passed: Some(report.passed),
        violations: &report.violations,
        step_labels,
        tool: format!("hotfix {}", env!("CARGO_PKG_VERSION")),
        replay: format!(
            "hotfix sim run {} --seed {} --report {}",
            args.scenario.display(),
            header.seed,
            to.describe()
        ),
    };
    let html = hotfix_sim::report::render_run_html(
        title,
        &sim.timing,
        &properties,
        &|v| sim.topology.vu_name(v),
        &extras,
    );
    to.write(html.as_bytes())?;
    note(format!("wrote the report to {}", to.describe()));
    Ok(())
}

/// Whether `a` and `b` name the same existing file (after resolving links and `..`).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
