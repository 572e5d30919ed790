//! `hotfix sim run`: one simulation, one result, printed as text, JSON or Markdown, and
//! optionally written as the HTML report.

use std::path::Path;

use hotfix_sim::render::{self, Header};
use hotfix_sim::run::RunOptions;
use hotfix_sim::simulation::Simulation;

use super::{RunArgs, RunFormat, load, timing_error};
use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, note, print_json};

pub(super) fn run_scenario(args: RunArgs) -> CmdResult {
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
        if let Some(out) = &args.save_model {
            hotfix_sim::model_xml::save_file(&model, out)
                .map_err(|e| CliError::usage(e.to_string()))?;
            note(format!("saved the model to {}", out.display()));
        }
        let header = Header {
            scenario: args.scenario.display().to_string(),
            seed,
            hotfix: Some(info.id.clone()),
            runbooks: runbooks.iter().map(|r| r.name.clone()).collect(),
        };
        let title = format!("{} — {}", args.scenario.display(), info.id);
        (sim, header, title)
    };
    let report = &sim.report;
    match args.output_format {
        RunFormat::Json => print_json(&render::json(&header, report))?,
        RunFormat::Text => print_out(&render::text(&header, report)),
        RunFormat::Markdown => print_out(&render::markdown(&header, report)),
    }
    if let Some(path) = &args.report {
        write_report(path, &args, &sim, &header, &title)?;
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
    Ok(if report.passed { EXIT_OK } else { EXIT_FAILED })
}

fn print_out(text: &str) {
    use std::io::Write as _;
    let _ = write!(anstream::stdout().lock(), "{text}");
}

/// The HTML report of the run, from the same result.
fn write_report(
    path: &Path,
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
            path.display()
        ),
    };
    let html = hotfix_sim::report::render_run_html(
        title,
        &sim.timing,
        &properties,
        &|v| sim.topology.vu_name(v),
        &extras,
    );
    write_atomic(path, html.as_bytes())?;
    note(format!("wrote the report to {}", path.display()));
    Ok(())
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
