//! `hotfix sim plan`, `model generate` and `model check`.

use serde_json::json;

use super::{CheckArgs, GenerateArgs, PlanArgs, PlanFormat, load, model_error};
use crate::cli::{CliError, CmdResult, EXIT_FAILED, EXIT_OK, OutputFormat, note, print_json};

pub(super) fn plan(args: PlanArgs) -> CmdResult {
    let loaded = load(&args.scenario)?;
    let checklist = hotfix_sim::plan::checklist(&loaded.model, &loaded.info, &loaded.runbooks);
    match args.output_format {
        PlanFormat::Json => {
            // The shared vocabulary: `ok`, violations as `problems`, `base` an object.
            let mut v = serde_json::to_value(&checklist)
                .map_err(|e| CliError::usage(format!("cannot write JSON: {e}")))?;
            crate::json::rename(&mut v, "passed", "ok");
            crate::json::rename(&mut v, "violations", "problems");
            if let Some(obj) = v.as_object_mut() {
                obj.insert(
                    "base".into(),
                    json!(crate::json::Base {
                        release: loaded.info.release.clone(),
                        support_package: loaded.info.support_package.clone(),
                    }),
                );
            }
            print_json(&v)?
        }
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

pub(super) fn generate(args: GenerateArgs) -> CmdResult {
    let target = crate::outfile::check(&args.output, args.force, "--output")?;
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
    target.write(hotfix_sim::model_xml::save_string(&model).as_bytes())?;
    note(format!(
        "wrote {}: {} nodes, {} virtual units, {} workstations (seed {})",
        target.describe(),
        model.nodes.len(),
        model.vus.len(),
        model.workstations.len(),
        args.seed
    ));
    Ok(EXIT_OK)
}

pub(super) fn check(args: CheckArgs) -> CmdResult {
    match hotfix_sim::model_xml::load_file(&args.model) {
        Ok(model) => {
            let summary = json!({
                "path": args.model.display().to_string(),
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
            // The command ends here: the exit frees a large model faster than dropping
            // it object by object.
            std::mem::forget(model);
            Ok(EXIT_OK)
        }
        Err(hotfix_sim::model_xml::ModelError::Invalid { path, problems }) => {
            match args.output_format {
                OutputFormat::Json => print_json(&json!({
                    "path": path.display().to_string(),
                    "ok": false,
                    "problems": problems.iter().map(|p| json!({
                        "rule": "model-invalid",
                        "message": p.message,
                        "hint": "fix the model file at the line and column shown (docs/SIMULATOR.md)",
                        "line": p.line,
                        "column": p.column,
                    })).collect::<Vec<_>>(),
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
