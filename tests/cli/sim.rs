//! `hotfix sim` end to end.

use std::path::{Path, PathBuf};

use crate::support::{hotfix, read, repo_root, sample_source};

fn scenarios() -> PathBuf {
    repo_root().join("simulator").join("scenarios")
}

fn scenario(name: &str) -> PathBuf {
    scenarios().join(name)
}

/// Runs `hotfix sim run SCENARIO --output-format json`; returns (exit code, JSON).
fn run_json(path: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = hotfix()
        .args(["sim", "run"])
        .arg(path)
        .args(["--output-format", "json"])
        .args(extra)
        .output()
        .expect("run hotfix");
    assert!(
        !out.stdout.is_empty(),
        "no JSON on stdout; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = crate::support::check_schema("sim-run", &out.stdout);
    (out.status.code().expect("exit code"), json)
}

fn rules(json: &serde_json::Value, at_step: bool) -> Vec<String> {
    let mut v: Vec<String> = json["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter(|v| v["step"].is_null() != at_step)
        .map(|v| v["rule"].as_str().expect("rule").to_owned())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn standard_install_of_the_sample_package_passes() {
    let (code, json) = run_json(&scenario("install-standard.toml"), &[]);
    assert_eq!(code, 0, "{json:#}");
    assert_eq!(json["ok"], true);
    assert_eq!(json["hotfix"], "HF-7.0.3-0042");
    assert_eq!(json["seed"], 1);
    let props = json["properties"].as_array().expect("properties");
    assert!(props.len() >= 12);
    assert!(
        props
            .iter()
            .all(|p| p["passed"] == true && p["name"].is_string())
    );
    assert_eq!(json["problems"], serde_json::json!([]));
    assert_eq!(json["metrics"]["vus_inactivated"], 3);
}

#[test]
fn standard_remove_and_install_then_remove_pass() {
    for name in ["remove-standard.toml", "install-then-remove.toml"] {
        let (code, json) = run_json(&scenario(name), &[]);
        assert_eq!(code, 0, "{name}: {json:#}");
    }
}

#[test]
fn wrong_procedures_fail_with_the_rule_they_break() {
    for (name, rule) in [
        ("add-before-base.toml", "hotfix-not-in-base"),
        ("remove-base-first.toml", "base-removal-while-in-use"),
        ("change-in-monitoring.toml", "monitoring-mode-read-only"),
    ] {
        let (code, json) = run_json(&scenario(name), &[]);
        assert_eq!(code, 1, "{name}");
        assert_eq!(json["ok"], false);
        assert_eq!(rules(&json, true), [rule], "{name}: {json:#}");
    }
}

#[test]
fn forgotten_steps_fail_at_the_end() {
    let (code, json) = run_json(&scenario("forget-synchronize.toml"), &[]);
    assert_eq!(code, 1);
    assert!(rules(&json, true).is_empty());
    // The timing half ran the same steps: nothing was synchronized, nothing converged.
    assert_eq!(
        rules(&json, false),
        [
            "instances-synchronized",
            "instances-updated",
            "timing-nodes-converged"
        ]
    );
    assert_eq!(json["metrics"]["timing"]["nodes"]["converged"], 0);
    let (code, json) = run_json(&scenario("forget-activate.toml"), &[]);
    assert_eq!(code, 1);
    assert_eq!(rules(&json, false), ["vus-reactivated"]);
}

#[test]
fn same_scenario_and_seed_give_the_same_bytes() {
    let a = hotfix()
        .args(["sim", "run"])
        .arg(scenario("install-then-remove.toml"))
        .args(["--output-format", "json", "--seed", "9"])
        .output()
        .expect("run");
    let b = hotfix()
        .args(["sim", "run"])
        .arg(scenario("install-then-remove.toml"))
        .args(["--output-format", "json", "--seed", "9"])
        .output()
        .expect("run");
    assert_eq!(a.stdout, b.stdout);
    let json: serde_json::Value = serde_json::from_slice(&a.stdout).expect("json");
    assert_eq!(json["seed"], 9);
}

#[test]
fn failure_text_names_step_rule_and_seed() {
    let out = hotfix()
        .args(["sim", "run"])
        .arg(scenario("add-before-base.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "step 4 at 9.00 s: add-hotfix-to-package [hotfix-not-in-base] vu CHAT_VU01 package ChatServer"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("add-before-base.toml:21"), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--seed 0"), "{stderr}");
}

#[test]
fn save_model_writes_the_model_the_run_leaves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("after.xml");
    let (code, _) = run_json(
        &scenario("install-standard.toml"),
        &["--save-model", out.to_str().expect("utf-8 path")],
    );
    assert_eq!(code, 0);
    assert_eq!(
        read(&out),
        read(&scenarios().join("models/contact-center-installed.xml"))
    );
}

#[test]
fn unknown_scenario_key_is_bad_input_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("typo.toml");
    std::fs::write(
        &path,
        format!(
            "model = {{ nodes = 10, vus = 4 }}\npackage = \"{}\"\nrunbok = \"standard-install\"\n",
            sample_source().display()
        ),
    )
    .expect("write");
    let out = hotfix()
        .args(["sim", "run"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("typo.toml:3:1: key `runbok`: unknown key"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn broken_model_file_is_bad_input_listing_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    let model = repo_root().join("simulator/tests/data/every-consistency-problem.xml");
    std::fs::write(
        &path,
        format!(
            "model = \"{}\"\npackage = \"{}\"\nrunbook = \"standard-install\"\n",
            model.display(),
            sample_source().display()
        ),
    )
    .expect("write");
    let out = hotfix()
        .args(["sim", "run"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("7 problem(s)"), "{stderr}");
    assert!(
        stderr.contains(
            "every-consistency-problem.xml:21:17: virtual unit `ROUTING_VU01`: unknown node `HAC77`"
        ),
        "{stderr}"
    );
}

#[test]
fn plan_names_vus_nodes_and_msiexec_commands() {
    let out = hotfix()
        .args(["sim", "plan"])
        .arg(scenario("install-standard.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        " 2. [ ] Inactivate virtual unit CHAT_VU01.",
        "Add hotfix HF-7.0.3-0042 to base installation 7.0 SP3",
        "Virtual unit ROUTING_VU01, Software, RoutingEngine 7.0.3.7: right-click, Add Hotfixes",
        "sends the change to 5 node(s): HAC01, HAC02, HAC03, HAC04, HAC05",
        "$ msiexec /x {3C5B7A91-2D4E-4F60-8172-93A4B5C6D7E8} /qn /norestart",
        "$ msiexec /i AgentDesktop.msi /qn /norestart",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn plan_as_markdown_and_json() {
    let md = hotfix()
        .args(["sim", "plan"])
        .arg(scenario("remove-standard.toml"))
        .args(["--output-format", "markdown"])
        .output()
        .expect("run");
    assert_eq!(md.status.code(), Some(0));
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("# Hotfix HF-7.0.3-0042"), "{md}");
    assert!(md.contains("Delete Hotfix"), "{md}");
    let json = hotfix()
        .args(["sim", "plan"])
        .arg(scenario("install-standard.toml"))
        .args(["--output-format", "json"])
        .output()
        .expect("run");
    let json = crate::support::check_schema("sim-plan", &json.stdout);
    assert_eq!(json["ok"], true);
    let items = json["items"].as_array().expect("items");
    assert_eq!(items[0]["number"], 1);
    assert_eq!(items[0]["action"], "extract");
}

#[test]
fn plan_of_a_wrong_runbook_warns_and_exits_1() {
    let out = hotfix()
        .args(["sim", "plan"])
        .arg(scenario("remove-base-first.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("base-removal-while-in-use"));
}

#[test]
fn model_generate_is_deterministic_and_checks_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.xml");
    let b = dir.path().join("b.xml");
    for out in [&a, &b] {
        let st = hotfix()
            .args([
                "sim",
                "model",
                "generate",
                "--nodes",
                "200",
                "--vus",
                "50",
                "--instances",
                "3",
            ])
            .args(["--workstations", "10", "--seed", "4", "--output"])
            .arg(out)
            .output()
            .expect("run");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
    assert_eq!(read(&a), read(&b));
    let check = hotfix()
        .args(["sim", "model", "check"])
        .arg(&a)
        .args(["--output-format", "json"])
        .output()
        .expect("run");
    assert_eq!(check.status.code(), Some(0));
    let json = crate::support::check_schema("sim-model-check", &check.stdout);
    assert_eq!(
        (json["ok"].clone(), json["nodes"].clone()),
        (serde_json::json!(true), serde_json::json!(200))
    );
}

#[test]
fn model_generate_refuses_single_instance_vus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hotfix()
        .args([
            "sim",
            "model",
            "generate",
            "--nodes",
            "5",
            "--vus",
            "2",
            "--instances",
            "1",
            "--output",
        ])
        .arg(dir.path().join("m.xml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--instances"));
}

#[test]
fn model_check_lists_every_problem() {
    let out = hotfix()
        .args(["sim", "model", "check"])
        .arg(repo_root().join("simulator/tests/data/every-consistency-problem.xml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(text.contains(":8:11: bad node name `hac-2`"), "{text}");
}

/// Builds the sample package signed by a new key; returns (zip, public key).
fn signed_sample(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let out = hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&prefix)
        .output()
        .expect("keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dist = dir.join(format!("dist-{name}"));
    let out = hotfix()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg("build")
        .arg(sample_source())
        .arg("--key")
        .arg(prefix.with_extension("key"))
        .arg("--output")
        .arg(&dist)
        .output()
        .expect("build");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dist.join("HF-7.0.3-0042.zip"), prefix.with_extension("pub"))
}

#[test]
fn zip_package_is_verified_against_trusted_keys_before_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, key) = signed_sample(dir.path(), "release");
    let (_, other) = signed_sample(dir.path(), "other");
    let model = scenarios().join("models/contact-center.xml");
    let write = |name: &str, trusted: &Path| {
        let p = dir.path().join(name);
        std::fs::write(
            &p,
            format!(
                "model = \"{}\"\npackage = \"{}\"\ntrusted = \"{}\"\nrunbook = \"standard-install\"\n",
                model.display(),
                zip.display(),
                trusted.display()
            ),
        )
        .expect("write");
        p
    };
    let (code, json) = run_json(&write("good.toml", &key), &[]);
    assert_eq!(code, 0, "{json:#}");
    let out = hotfix()
        .args(["sim", "run"])
        .arg(write("untrusted.toml", &other))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed verification"));
}

/// A scenario in `dir` naming `dir/model.xml` (a copy of the committed contact center).
fn scenario_with_own_model(dir: &Path) -> PathBuf {
    std::fs::copy(
        scenarios().join("models/contact-center.xml"),
        dir.join("model.xml"),
    )
    .expect("copy model");
    let package = repo_root().join("packages").join("HF-7.0.3-0042");
    let path = dir.join("scenario.toml");
    std::fs::write(
        &path,
        format!(
            "model = \"model.xml\"\npackage = {:?}\nrunbook = \"standard-install\"\n",
            package.display().to_string()
        ),
    )
    .expect("write scenario");
    path
}

fn sweep_shard(scenario: &Path, shard: &str, out: &Path) {
    let o = hotfix()
        .args(["sim", "sweep"])
        .arg(scenario)
        .args(["--seeds", "0..4", "--shard", shard, "--jobs", "1"])
        .args(["--output-format", "json"])
        .output()
        .expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(out, &o.stdout).expect("write shard");
}

#[test]
fn merge_refuses_shards_computed_from_different_model_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = scenario_with_own_model(dir.path());
    let (a, b) = (
        dir.path().join("shard-0.json"),
        dir.path().join("shard-1.json"),
    );
    sweep_shard(&sc, "0/2", &a);
    // Same scenario file, same seeds; the model file changes between the two shards.
    let model = dir.path().join("model.xml");
    let text = std::fs::read_to_string(&model).expect("model");
    std::fs::write(
        &model,
        text.replace("state=\"active\"", "state=\"active\" "),
    )
    .expect("edit");
    sweep_shard(&sc, "1/2", &b);
    let json = crate::support::check_schema("sim-sweep", &std::fs::read(&a).expect("shard"));
    let roles: Vec<&str> = json["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["scenario", "model", "package"]);

    let o = hotfix()
        .args(["sim", "merge"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("merge");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty());
    assert!(err.contains("model") && err.contains("model.xml"), "{err}");
    assert!(err.contains("shard-1.json"), "{err}");
    assert!(err.contains("hint:"), "{err}");

    // Both shards of one model merge.
    sweep_shard(&sc, "0/2", &a);
    let o = hotfix()
        .args(["sim", "merge"])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("merge");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = crate::support::check_schema("sim-sweep", &o.stdout);
    assert_eq!(merged["shard"], serde_json::Value::Null, "{merged}");
}

/// The violation with `rule` in a `sim run` JSON result.
fn violation<'a>(json: &'a serde_json::Value, rule: &str) -> &'a serde_json::Value {
    json["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .find(|v| v["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} violation in {json:#}"))
}

#[test]
fn wrong_removals_and_an_install_that_changes_nothing_exit_1_naming_rule_and_object() {
    for (name, rule, object, step) in [
        (
            "remove-forget-base.toml",
            "base-cleared-after-removal",
            "base 7.0 SP3 hotfix HF-7.0.3-0042",
            None,
        ),
        (
            "remove-base-before-synchronize.toml",
            "base-removal-before-synchronize",
            "base 7.0 SP3 hotfix HF-7.0.3-0042",
            Some(8),
        ),
        (
            "install-no-matching-base.toml",
            "hotfix-changes-something",
            "hotfix HF-7.0.3-0042 base 7.0 SP3",
            None,
        ),
    ] {
        let (code, json) = run_json(&scenario(name), &[]);
        assert_eq!(code, 1, "{name}");
        assert_eq!(json["ok"], false, "{name}");
        let v = violation(&json, rule);
        assert_eq!(v["object"], object, "{name}");
        assert_eq!(v["step"].as_u64(), step, "{name}");
        assert!(v["time_s"].as_f64().is_some(), "{name}: {v}");
    }
}

#[test]
fn timing_failures_are_violations_naming_the_node_or_workstation() {
    let (code, json) = run_json(&scenario("install-node-down-at-apply.toml"), &[]);
    assert_eq!(code, 1);
    let v = violation(&json, "node-failed");
    assert_eq!(v["object"], "node HAC03");
    assert_eq!(v["step"], 12);
    assert_eq!(json["metrics"]["timing"]["failed_nodes"]["count"], 1);
    let (code, json) = run_json(&scenario("install-msi-fails.toml"), &[]);
    assert_eq!(code, 1);
    let v = violation(&json, "msi-install-failed");
    assert_eq!(v["object"], "workstation WS0002");
    assert_eq!(
        json["metrics"]["timing"]["failed_workstations"]["first"][0]["name"],
        "WS0002"
    );
}

#[test]
fn a_model_with_the_hotfix_extracted_but_not_its_msi_is_refused_naming_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = scenario_with_own_model(dir.path());
    let model = dir.path().join("model.xml");
    let text = std::fs::read_to_string(&model).expect("model");
    let text = text.replace(
        "  </install-hotfixes>",
        "    <hotfix id=\"HF-7.0.3-0042\" release=\"7.0\" support-package=\"SP3\" packages=\"ChatServer RoutingEngine\"/>\n  </install-hotfixes>",
    );
    std::fs::write(&model, text).expect("edit");
    let o = hotfix()
        .args(["sim", "run"])
        .arg(&sc)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "nothing runs");
    assert!(err.contains("HF-7.0.3-0042"), "{err}");
    assert!(err.contains("Agent Desktop"), "{err}");
    assert!(
        err.contains("{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn run_prints_the_same_result_as_markdown() {
    let out = hotfix()
        .args(["sim", "run"])
        .arg(scenario("install-node-down-at-apply.toml"))
        .args(["--output-format", "markdown"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("**FAILED**"), "{md}");
    assert!(md.contains("| 12 |"), "{md}");
    assert!(md.contains("`node-failed` | node HAC03 |"), "{md}");
}

#[test]
fn a_timing_only_run_has_the_same_result_shape() {
    let (code, json) = run_json(&scenario("timing-canary.toml"), &["--seed", "3"]);
    assert!(code == 0 || code == 1);
    for key in [
        "scenario",
        "seed",
        "ok",
        "properties",
        "problems",
        "metrics",
    ] {
        assert!(json.get(key).is_some(), "{key} missing: {json:#}");
    }
    // A stopped canary is a violation, not only a failed property.
    if json["ok"] == false {
        assert!(!json["problems"].as_array().expect("list").is_empty());
    }
}

#[test]
fn a_bad_timing_value_is_named_with_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = scenario_with_own_model(dir.path());
    let mut text = std::fs::read_to_string(&sc).expect("scenario");
    text.push_str(
        "\n[faults]\non_failure = \"skip\"\nunreachable = [{ node = \"HAC03\", at_step = 0 }]\n",
    );
    std::fs::write(&sc, text).expect("write");
    let o = hotfix()
        .args(["sim", "run"])
        .arg(&sc)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("scenario.toml:7:34"), "{err}");
    assert!(err.contains("at_step"), "{err}");
    // A timing-only scenario too.
    let only = dir.path().join("only.toml");
    std::fs::write(
        &only,
        "name = \"x\"\n[timing]\nmax_parallel_transfers = 4\nbogus = 1\n[timing.topology]\nnodes = 4\n",
    )
    .expect("write");
    let o = hotfix()
        .args(["sim", "run"])
        .arg(&only)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("only.toml:4:1"), "{err}");
}

#[test]
fn model_check_reports_a_hotfix_extracted_without_its_msi() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(scenarios().join("models/contact-center-installed.xml"))
        .expect("model");
    // The MSI the extracted hotfix brought is no longer on the share.
    let text = text.replace(
        "version=\"7.0.3.5\" file=\"AgentDesktop.msi\"",
        "version=\"7.0.3.5\"",
    );
    let model = dir.path().join("m.xml");
    std::fs::write(&model, text).expect("write");
    let out = hotfix()
        .args(["sim", "model", "check"])
        .arg(&model)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("m.xml:5:"), "{stdout}");
    assert!(stdout.contains("HF-7.0.3-0042"), "{stdout}");
    assert!(
        stdout.contains("{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}"),
        "{stdout}"
    );
}

#[test]
fn applying_before_synchronizing_is_not_timed_as_converged() {
    let (code, json) = run_json(&scenario("apply-before-synchronize.toml"), &[]);
    assert_eq!(code, 1);
    let t = &json["metrics"]["timing"];
    assert_eq!(t["nodes"]["converged"], 0, "{t:#}");
    assert_eq!(t["passed"], false);
    assert_eq!(
        rules(&json, false),
        [
            "instances-updated",
            "no-pending-changes",
            "timing-no-pending-change",
            "timing-nodes-converged"
        ]
    );
    // Apply (step 11) ran before synchronize (step 12) in time too, on no node.
    let steps = t["steps"].as_array().expect("steps");
    assert!(steps[10]["end_s"].as_f64() <= steps[11]["start_s"].as_f64());
    assert_eq!(steps[10]["targets"], 0);
    assert_eq!(steps[11]["targets"], 5);
}

#[test]
fn a_sweep_with_a_violating_seed_exits_1_unless_told_not_to_fail() {
    // timing-batches leaves nodes unconverged on every seed.
    let sc = crate::support::repo_root().join("simulator/scenarios/timing-batches.toml");
    let o = hotfix()
        .args(["sim", "sweep"])
        .arg(&sc)
        .args(["--seeds", "1..=3", "--jobs", "1"])
        .output()
        .expect("sweep");
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("seeds 1..=3 (3 seeds)"), "{out}");
    assert!(out.contains(" h ") || out.contains(" min "), "{out}");
    assert!(err.contains("hint:") && err.contains("--seed 1"), "{err}");

    let o = hotfix()
        .args(["sim", "sweep"])
        .arg(&sc)
        .args(["--seeds", "1..3", "--jobs", "1", "--no-fail"])
        .args(["--output-format", "json"])
        .output()
        .expect("sweep");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = crate::support::check_schema("sim-sweep", &o.stdout);
    assert_eq!(v["summary"]["runs"], 2);
    assert!(v["aggregate"]["makespan_us"]["max"].is_u64(), "{v}");
}

fn gen_model(out: &std::ffi::OsStr, more: &[&str]) -> std::process::Output {
    hotfix()
        .args([
            "sim", "model", "generate", "--nodes", "4", "--vus", "2", "-o",
        ])
        .arg(out)
        .args(more)
        .output()
        .expect("generate")
}

#[test]
fn model_generate_never_overwrites_without_force_and_dash_is_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gen.xml");
    std::fs::write(&out, b"precious").expect("write");
    let o = gen_model(out.as_os_str(), &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("gen.xml") && err.contains("--force"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(std::fs::read(&out).expect("read"), b"precious");
    let o = gen_model(out.as_os_str(), &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&out).expect("read").contains("<"));

    let o = hotfix()
        .current_dir(dir.path())
        .args([
            "sim", "model", "generate", "--nodes", "4", "--vus", "2", "-o", "-",
        ])
        .output()
        .expect("generate");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("<"));
    assert!(!dir.path().join("-").exists(), "`-` is stdout, not a file");
}

#[test]
fn sim_run_checks_its_output_paths_before_simulating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = crate::support::repo_root().join("simulator/scenarios/install-standard.toml");
    // A report path that cannot be written (its "folder" is a file).
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").expect("write");
    let o = hotfix()
        .args(["sim", "run"])
        .arg(&sc)
        .arg("--report")
        .arg(blocker.join("r.html"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        o.stdout.is_empty(),
        "simulated before checking the report path"
    );
    assert!(
        err.contains("not-a-folder") && err.contains("hint:"),
        "{err}"
    );

    // An existing report is not replaced without --force.
    let report = dir.path().join("r.html");
    std::fs::write(&report, b"old").expect("write");
    let o = hotfix()
        .args(["sim", "run"])
        .arg(&sc)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(&report).expect("read"), b"old");
}

#[test]
fn save_model_onto_the_scenarios_own_model_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = scenario_with_own_model(dir.path());
    let model = dir.path().join("model.xml");
    let before = std::fs::read(&model).expect("model");
    for force in [false, true] {
        let mut cmd = hotfix();
        cmd.args(["sim", "run"])
            .arg(&sc)
            .arg("--save-model")
            .arg(&model);
        if force {
            cmd.arg("--force");
        }
        let o = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(o.stdout.is_empty());
        assert!(err.contains("hint:"), "{err}");
        assert_eq!(std::fs::read(&model).expect("model"), before);
    }
}

#[test]
fn plan_of_a_rolling_scenario_shows_its_waves_and_checks() {
    let out = hotfix()
        .args(["sim", "plan"])
        .arg(scenario("install-rolling.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Runbook: rolling-install",
        " 6. [ ] Inactivate virtual unit CHAT_VU02.",
        "(wave 1 of 3: its VUs go down, the others keep running)",
        "Check the virtual units just activated (alarms, calls, chats) for 5.0 min",
        "(wave 3 of 3: only this wave's nodes have pending changes)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_window_too_short_exits_1_and_names_every_vu_left_down() {
    let out = hotfix()
        .args(["sim", "run"])
        .arg(scenario("install-window-too-short.toml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "maintenance windows: does NOT fit from 2026-12-05T21:50+01:00",
        "down outside a window: CHAT_VU01, CHAT_VU02, ROUTING_VU01",
        "vu-down-outside-window",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn a_bad_rollout_table_is_named_with_its_line_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rolling.toml");
    let text = std::fs::read_to_string(scenario("install-rolling.toml"))
        .expect("read")
        .replace("\"models/", &format!("\"{}/models/", scenarios().display()))
        .replace(
            "\"../../packages",
            &format!("\"{}/../../packages", scenarios().display()),
        )
        .replace("wave_size = 1", "wave_size = 0");
    std::fs::write(&path, text).expect("write");
    let out = hotfix()
        .args(["sim", "plan"])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rolling.toml:15:1") && stderr.contains("`wave_size`: must be at least 1"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}
