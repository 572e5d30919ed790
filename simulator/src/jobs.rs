//! Job scripts for running a sweep or a comparison on a cluster scheduler: a Slurm job
//! array (array task K runs shard K/N, then a merge job that depends on the whole array
//! with `afterok`) and a Kubernetes Indexed Job (completion index K runs shard K/N).
//!
//! This module only writes text: it never runs a scheduler, opens a scenario or checks
//! that the paths exist. The command each shard runs is the caller's, with `--shard K/N`
//! added here, so a shard computes exactly what `hotfix sim sweep --shard K/N` computes
//! locally and `hotfix sim merge` gives the bytes of the unsharded run.

/// What the job runs: the arguments of one `hotfix` invocation (without the program
/// name and without `--shard`) and where its outputs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// Job name (Slurm `--job-name`, Kubernetes `metadata.name`).
    pub name: String,
    /// `hotfix` arguments of one shard, e.g. `["sim", "sweep", "s.toml", "--seeds", "0..100"]`.
    pub args: Vec<String>,
    /// Number of shards (array tasks, completions).
    pub shards: u32,
    /// CPUs per shard (`--cpus-per-task`, the container's CPU request); the shard runs
    /// that many worker threads.
    pub cpus: u32,
    /// Folder for shard outputs, logs and the merged result (relative paths are relative
    /// to the folder the job is submitted from).
    pub results: String,
    /// File name of the merged result inside `results`, e.g. `sweep.json`.
    pub merged: String,
    /// Extra `#SBATCH` options, each one `--key=value` (e.g. `--partition=short`).
    pub sbatch_options: Vec<String>,
}

/// Quotes `s` for a POSIX shell: unchanged when it has only safe characters, else in
/// single quotes (a `'` inside becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b) || b == b'^' || b == b'~'
        })
        && !s.starts_with('~');
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn command_line(args: &[String]) -> String {
    args.iter()
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bash script to run on a Slurm submit host: it submits the job array (task K runs
/// shard K/N into `results/shard-K.json`) and a merge job with
/// `--dependency=afterok:<array>`, which writes `results/<merged>`, then prints both job
/// ids. Each output is written to a `.part` file and renamed, so a file that exists is
/// complete.
pub fn slurm_script(spec: &JobSpec) -> String {
    let n = spec.shards;
    let last = n.saturating_sub(1);
    let results = sh_quote(&spec.results);
    let shard_cmd = command_line(&spec.args);
    let mut s = String::new();
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!(
        "# {}: {} shard(s) as a Slurm job array, then one merge job.\n",
        spec.name, n
    ));
    s.push_str(
        "# Written by hotfix (`--emit slurm`). Run it on a submit host, from the folder the\n",
    );
    s.push_str("# paths below are relative to:   bash THIS-FILE\n");
    s.push_str(&format!(
        "# Array task K runs shard K/{n} into {r}/shard-K.json; the merge job starts once every\n\
         # task succeeded (afterok) and writes {r}/{m}. Logs: {r}/logs/.\n",
        r = spec.results,
        m = spec.merged
    ));
    s.push_str(
        "# HOTFIX names the hotfix binary (default: hotfix on PATH); the jobs inherit it.\n",
    );
    s.push_str("set -euo pipefail\n");
    s.push_str("export HOTFIX=\"${HOTFIX:-hotfix}\"\n");
    s.push_str(&format!("mkdir -p {results}/logs\n"));
    s.push_str("array_job=$(sbatch --parsable <<'SLURM_ARRAY'\n");
    s.push_str("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={}\n", sh_quote(&spec.name)));
    s.push_str(&format!("#SBATCH --array=0-{last}\n"));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", spec.cpus.max(1)));
    s.push_str(&format!("#SBATCH --output={results}/logs/shard-%a.log\n"));
    for o in &spec.sbatch_options {
        s.push_str(&format!("#SBATCH {o}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str("shard=\"${SLURM_ARRAY_TASK_ID}\"\n");
    s.push_str(&format!("out={results}/shard-\"${{shard}}\".json\n"));
    s.push_str(&format!(
        "\"$HOTFIX\" {shard_cmd} --shard \"${{shard}}/{n}\" --jobs \"${{SLURM_CPUS_PER_TASK:-1}}\" --no-fail --output-format json > \"${{out}}.part\"\n"
    ));
    s.push_str("mv \"${out}.part\" \"${out}\"\n");
    s.push_str("SLURM_ARRAY\n)\n");
    s.push_str("array_job=\"${array_job%%;*}\"\n");
    s.push_str(&format!(
        "merge_job=$(sbatch --parsable --job-name={}-merge --dependency=\"afterok:${{array_job}}\" --output={results}/logs/merge.log",
        sh_quote(&spec.name)
    ));
    for o in &spec.sbatch_options {
        s.push_str(&format!(" {}", sh_quote(o)));
    }
    s.push_str(" <<'SLURM_MERGE'\n");
    s.push_str("#!/bin/bash\n");
    s.push_str("set -uo pipefail\n");
    s.push_str(&format!("out={results}/{}\n", sh_quote(&spec.merged)));
    // Exit 1 (a seed violated a property) still writes the merged result: the job then
    // shows as FAILED with the data in place. Exit 2 (the shards do not fit together)
    // leaves no file.
    s.push_str(&format!(
        "\"$HOTFIX\" sim merge {results}/shard-{{0..{last}}}.json --output-format json > \"${{out}}.part\"\n"
    ));
    s.push_str("status=$?\n");
    s.push_str("if [ \"$status\" -le 1 ]; then mv \"${out}.part\" \"${out}\"; else rm -f \"${out}.part\"; fi\n");
    s.push_str("exit \"$status\"\n");
    s.push_str("SLURM_MERGE\n)\n");
    s.push_str("merge_job=\"${merge_job%%;*}\"\n");
    s.push_str(&format!(
        "echo \"submitted job array ${{array_job}} ({n} shards) and merge job ${{merge_job}} (writes {}/{})\"\n",
        spec.results, spec.merged
    ));
    s
}

/// A double-quoted YAML scalar (JSON string syntax is valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A Kubernetes Indexed Job: completion index K runs shard K/N into
/// `results/shard-K.json` on a volume mounted at `/work` (the folder the paths are
/// relative to). Kubernetes has no dependency between Jobs, so the merge command is in
/// the header comment, to run once the Job is complete.
pub fn k8s_manifest(spec: &JobSpec, image: &str) -> String {
    let n = spec.shards;
    let last = n.saturating_sub(1);
    let results = sh_quote(&spec.results);
    let shard_cmd = format!(
        "set -eu; out={results}/shard-${{JOB_COMPLETION_INDEX}}.json; mkdir -p {results}; \
         hotfix {} --shard \"${{JOB_COMPLETION_INDEX}}/{n}\" --jobs {} --no-fail --output-format json > \"$out.part\"; \
         mv \"$out.part\" \"$out\"",
        command_line(&spec.args),
        spec.cpus.max(1)
    );
    let mut s = String::new();
    s.push_str(&format!(
        "# {}: {n} shard(s) as a Kubernetes Indexed Job (completion index K = shard K/{n}).\n",
        spec.name
    ));
    s.push_str(
        "# Written by hotfix (`--emit k8s`). The volume `work` holds the scenario files and\n",
    );
    s.push_str("# receives the results; replace the image and the claim with yours. Then:\n");
    s.push_str(&format!(
        "#   kubectl apply -f THIS-FILE && kubectl wait --for=condition=complete job/{} --timeout=24h\n",
        spec.name
    ));
    s.push_str(&format!(
        "#   hotfix sim merge {}/shard-{{0..{last}}}.json > {}/{}   (in the volume's folder)\n",
        spec.results, spec.results, spec.merged
    ));
    s.push_str("apiVersion: batch/v1\n");
    s.push_str("kind: Job\n");
    s.push_str("metadata:\n");
    s.push_str(&format!("  name: {}\n", yaml_str(&spec.name)));
    s.push_str("spec:\n");
    s.push_str("  completionMode: Indexed\n");
    s.push_str(&format!("  completions: {n}\n"));
    s.push_str(&format!("  parallelism: {n}\n"));
    s.push_str("  backoffLimit: 2\n");
    s.push_str("  template:\n");
    s.push_str("    spec:\n");
    s.push_str("      restartPolicy: Never\n");
    s.push_str("      containers:\n");
    s.push_str("        - name: shard\n");
    s.push_str(&format!("          image: {}\n", yaml_str(image)));
    s.push_str("          workingDir: /work\n");
    s.push_str("          resources:\n");
    s.push_str(&format!(
        "            requests: {{ cpu: \"{}\" }}\n",
        spec.cpus.max(1)
    ));
    s.push_str("          command: [\"/bin/sh\", \"-c\"]\n");
    s.push_str("          args:\n");
    s.push_str(&format!("            - {}\n", yaml_str(&shard_cmd)));
    s.push_str("          volumeMounts:\n");
    s.push_str("            - { name: work, mountPath: /work }\n");
    s.push_str("      volumes:\n");
    s.push_str("        - name: work\n");
    s.push_str("          persistentVolumeClaim: { claimName: hotfix-work }\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JobSpec {
        JobSpec {
            name: "hotfix-sweep".into(),
            args: vec![
                "sim".into(),
                "sweep".into(),
                "my scenarios/s.toml".into(),
                "--seeds".into(),
                "0..100".into(),
            ],
            shards: 4,
            cpus: 2,
            results: "results".into(),
            merged: "sweep.json".into(),
            sbatch_options: vec!["--partition=short".into()],
        }
    }

    #[test]
    fn quoting_keeps_safe_words_and_quotes_the_rest() {
        assert_eq!(sh_quote("0..100"), "0..100");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn slurm_script_has_the_array_the_shard_and_the_dependent_merge() {
        let s = slurm_script(&spec());
        assert!(s.starts_with("#!/bin/bash\n"), "{s}");
        assert!(s.contains("#SBATCH --array=0-3\n"), "{s}");
        assert!(s.contains("#SBATCH --partition=short\n"), "{s}");
        assert!(
            s.contains("'my scenarios/s.toml' --seeds 0..100 --shard \"${shard}/4\""),
            "{s}"
        );
        assert!(s.contains("--dependency=\"afterok:${array_job}\""), "{s}");
        assert!(s.contains("results/shard-{0..3}.json"), "{s}");
    }

    #[test]
    fn k8s_manifest_is_an_indexed_job_of_n_completions() {
        let s = k8s_manifest(&spec(), "registry.example/hotfix:1");
        assert!(s.contains("completionMode: Indexed\n"), "{s}");
        assert!(s.contains("completions: 4\n"), "{s}");
        assert!(s.contains("${JOB_COMPLETION_INDEX}/4"), "{s}");
    }
}
