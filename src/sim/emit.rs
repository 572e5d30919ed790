//! `--emit slurm|k8s`: prints the job script that runs a sweep (or a comparison) in
//! shards on a cluster scheduler, then merges them. The script text comes from
//! `hotfix_sim::jobs`; this module checks the options and prints.

use super::{EmitArgs, EmitKind};
use crate::cli::{CliError, CmdResult, EXIT_OK};

/// Characters allowed in `--results` and the job name: they go into `#SBATCH` lines,
/// which Slurm does not parse as a shell would.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
}

/// Prints the job script for `args` (the `hotfix` arguments of one shard, without
/// `--shard`, `--jobs`, `--no-fail` and `--output-format`).
pub(super) fn emit(
    emit: &EmitArgs,
    kind: EmitKind,
    name: &str,
    args: Vec<String>,
    merged: &str,
) -> CmdResult {
    let Some(shards) = emit.shards else {
        return Err(
            CliError::usage("--emit needs --shards N").hint("e.g. --emit slurm --shards 10")
        );
    };
    if !plain(&emit.results) {
        return Err(CliError::usage(format!(
            "--results {:?}: only letters, digits and - _ . / are allowed",
            emit.results
        ))
        .hint(
            "the folder is written into #SBATCH lines; pick a plain relative path such as results",
        ));
    }
    if emit.cpus == 0 {
        return Err(
            CliError::usage("--cpus 0: a shard needs at least one CPU").hint("e.g. --cpus 2")
        );
    }
    if let Some(bad) = emit
        .sbatch
        .iter()
        .find(|o| !o.starts_with("--") || o.contains('\n'))
    {
        return Err(
            CliError::usage(format!("--sbatch {bad:?}: not a long sbatch option"))
                .hint("give one option per --sbatch, as --sbatch=--partition=short"),
        );
    }
    let spec = hotfix_sim::jobs::JobSpec {
        name: name.to_owned(),
        args,
        shards,
        cpus: emit.cpus,
        results: emit.results.trim_end_matches('/').to_owned(),
        merged: merged.to_owned(),
        sbatch_options: emit.sbatch.clone(),
    };
    let text = match kind {
        EmitKind::Slurm => hotfix_sim::jobs::slurm_script(&spec),
        EmitKind::K8s => hotfix_sim::jobs::k8s_manifest(&spec, &emit.image),
    };
    let mut out = crate::cli::out();
    use std::io::Write as _;
    let _ = out.write_all(text.as_bytes());
    drop(out);
    if let Some(e) = crate::cli::stdout_error() {
        return Err(e);
    }
    Ok(EXIT_OK)
}

/// A seed range as `--seeds` takes it.
pub(super) fn seeds_arg(r: hotfix_sim::sweep::SeedRange) -> String {
    format!("{}..{}", r.start, r.end)
}
