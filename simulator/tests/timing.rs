//! Timing model, faults, strategies, report and sweeps.
//!
//! Every test prints the seed it used when it fails, so the run can be replayed with
//! `hotfix sim sweep SCENARIO --seeds S..=S`. No test asserts on wall time.

use std::path::Path;

use hotfix_sim::report;
use hotfix_sim::sweep::{self, RunRecord, SeedRange, Shard, SweepOutput};
use hotfix_sim::timing::{self, TimingResult, TimingScenario};

fn scenario(text: &str) -> TimingScenario {
    TimingScenario::parse(text, Path::new("inline.toml")).expect("scenario parses")
}

fn run(text: &str, seed: u64) -> TimingResult {
    let s = scenario(text);
    timing::simulate(&s.topology, &s.plan, &s.config, seed)
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn props(r: &TimingResult) -> Vec<(String, bool)> {
    r.properties()
        .into_iter()
        .map(|(name, ok, _)| (name.to_owned(), ok))
        .collect()
}

fn json(r: &TimingResult) -> String {
    serde_json::to_string_pretty(r).expect("serializes")
}

/// A mid-sized scenario with every kind of randomness switched on.
const NOISY: &str = r#"
[timing]
apply = { dist = "lognormal", median = "40s", sigma = 0.5 }
max_parallel_transfers = 16
[timing.ia]
inactivate = { dist = "uniform", min = "1s", max = "3s" }
[timing.topology]
nodes = 400
vus = 150
instances = 3
packages = [{ name = "ChatServer", size = "30MiB" }, { name = "Router", size = "2MiB" }]
workstations = 60
[faults]
node_unreachable_probability = 0.01
transfer_failure_probability = 0.05
apply_failure_probability = 0.03
workstation_failure_probability = 0.05
[rollout]
strategy = "batches"
batch_percent = 20
"#;

#[test]
fn same_scenario_and_seed_give_identical_bytes() {
    for seed in [0, 1, 42, u64::MAX] {
        let a = json(&run(NOISY, seed));
        let b = json(&run(NOISY, seed));
        assert_eq!(a, b, "seed {seed}: two runs differ");
    }
    assert_ne!(
        json(&run(NOISY, 1)),
        json(&run(NOISY, 2)),
        "different seeds should differ"
    );
}

/// 8 nodes, 4 VUs with 2 instances each (every node hosts one), one 10 MB package,
/// every duration fixed:
///
/// ```text
/// makespan = inactivate 4×2s + set_mode 1s + add_to_base 3s + refresh 4s
///          + add_to_package 4×5s
///          + sync ⌈8/F⌉ × (latency + bytes / min(link, uplink/F))
///          + apply 30s + set_mode 1s + activate 4×6s + save 7s
/// with F = 4 parallel transfers, latency 0.1s, link 10 MB/s, uplink 20 MB/s:
///   sync = 2 × (0.1 + 10e6 / 5e6) = 4.2s
///   makespan = 8 + 1 + 3 + 4 + 20 + 4.2 + 30 + 1 + 24 + 7 = 102.2s
/// VU i (0-based) is inactive from 2(i+1) to 71.2 + 6(i+1): 71.2 + 4(i+1) seconds,
/// so the mean downtime is 81.2s and the max 87.2s.
/// ```
const HAND: &str = r#"
[timing]
uplink_bandwidth = "20MB/s"
link_bandwidth = "10MB/s"
latency = "100ms"
max_parallel_transfers = 4
apply = "30s"
[timing.ia]
set_mode = "1s"
inactivate = "2s"
add_to_base = "3s"
refresh_all_nodes = "4s"
add_to_package = "5s"
activate = "6s"
save_model = "7s"
[timing.topology]
nodes = 8
vus = 4
instances = 2
packages = [{ name = "ChatServer", size = "10MB" }]
"#;

#[test]
fn hand_computed_case_matches_the_formula() {
    let r = run(HAND, 1);
    assert_eq!(r.makespan_s, 102.2, "{}", json(&r));
    assert!(close(r.rollout_end_s - r.rollout_start_s, 34.2));
    assert_eq!(r.bytes_sent, 8 * 10_000_000);
    assert_eq!(r.peak_concurrent_transfers, 4);
    assert_eq!(r.nodes.converged, 8);
    let d = r.vu_downtime_s.as_ref().expect("VUs were inactivated");
    assert_eq!((d.mean_s, d.max_s), (81.2, 87.2));
    // All nodes apply together, so the package is never seen mixed.
    assert_eq!(r.mixed_version[0].window_s, 0.0);
    let c = r.convergence_s.as_ref().expect("nodes converged");
    assert_eq!(c.max_s, 70.2);
    assert!(r.passed);
}

#[test]
fn uplink_is_shared_when_it_is_the_bottleneck() {
    // Same case with the link no longer limiting: each of 4 transfers gets 20/4 = 5 MB/s;
    // with 8 slots each of 8 gets 2.5 MB/s: one round of 0.1 + 4s instead of two of 2.1s.
    let text = HAND.replace("max_parallel_transfers = 4", "max_parallel_transfers = 8");
    let r = run(&text, 1);
    assert!(
        close(r.rollout_end_s - r.rollout_start_s, 34.1),
        "{}",
        json(&r)
    );
}

// ------------------------------------------------------------------ faults

fn with_faults(faults: &str) -> String {
    format!("{HAND}\n[faults]\n{faults}\n")
}

#[test]
fn an_unreachable_node_fails_after_retries_and_the_rest_converge() {
    let base = run(HAND, 3);
    let r = run(
        &with_faults("unreachable = [{ node = 5, from = \"0s\" }]\nbackoff = \"1s\""),
        3,
    );
    assert_eq!(r.nodes.failed, 1, "{}", json(&r));
    assert_eq!(r.nodes.converged, 7);
    assert_eq!(r.retries.transfer, 3, "default: 3 retries");
    assert!(!r.passed);
    // Timeouts and backoff (30s + 1s + 30s + 2s + ...) make it slower.
    assert!(r.makespan_s > base.makespan_s);
    // One node never gets the new version: the mixed window stays open.
    assert!(r.mixed_version[0].open_at_end);
}

#[test]
fn nodes_unreachable_with_probability_one_all_fail() {
    let r = run(
        &with_faults("node_unreachable_probability = 1.0\non_failure = \"skip\""),
        4,
    );
    assert_eq!((r.nodes.failed, r.nodes.converged), (8, 0), "{}", json(&r));
    assert_eq!(r.bytes_sent, 0);
    assert_eq!(r.retries.transfer, 0, "skip does not retry");
}

#[test]
fn a_node_that_goes_down_later_is_only_hit_if_not_done() {
    // Node 7 goes down long after it converged (at 70.2s): no effect.
    let late = run(
        &with_faults("unreachable = [{ node = 7, from = \"90s\" }]"),
        5,
    );
    assert_eq!(late.nodes.converged, 8, "{}", json(&late));
    // Node 7 goes down during the apply phase (36s..66s of the rollout): it fails.
    let during = run(
        &with_faults("unreachable = [{ node = \"N7\", from = \"50s\" }]\nmax_retries = 0"),
        5,
    );
    assert_eq!(during.nodes.failed, 1, "{}", json(&during));
}

#[test]
fn transfer_failures_cost_retries_and_bytes() {
    let base = run(NOISY.split("[faults]").next().expect("head"), 11);
    let text = format!(
        "{}[faults]\ntransfer_failure_probability = 0.3\nmax_retries = 10\n",
        NOISY.split("[faults]").next().expect("head")
    );
    let r = run(&text, 11);
    assert!(r.retries.transfer > 0, "{}", json(&r));
    assert!(r.bytes_sent > base.bytes_sent);
    assert_eq!(r.nodes.converged, base.nodes.converged, "retries recover");
    assert!(r.makespan_s > base.makespan_s);
}

#[test]
fn apply_failures_without_retries_leave_failed_nodes() {
    let r = run(
        &with_faults("apply_failure_probability = 0.5\non_failure = \"skip\""),
        6,
    );
    assert!(r.nodes.failed > 0 && r.nodes.failed < 8, "{}", json(&r));
    assert_eq!(r.nodes.failed + r.nodes.converged, 8);
    assert_eq!(r.retries.apply, 0);
    let retried = run(
        &with_faults("apply_failure_probability = 0.5\nmax_retries = 20"),
        6,
    );
    assert_eq!(retried.nodes.converged, 8, "{}", json(&retried));
    assert!(retried.retries.apply > 0);
}

#[test]
fn workstation_install_failures_are_counted_and_retried() {
    let ws = HAND.replace("nodes = 8\n", "nodes = 8\nworkstations = 20\n");
    let ok = run(&ws, 7);
    assert_eq!(ok.workstations.updated, 20, "{}", json(&ok));
    let text = format!("{ws}\n[faults]\nworkstation_failure_probability = 1.0\nmax_retries = 2\n");
    let r = run(&text, 7);
    assert_eq!(r.workstations.failed, 20, "{}", json(&r));
    assert_eq!(r.retries.workstation, 40);
    assert!(!r.passed);
}

#[test]
fn stop_leaves_the_rest_untouched() {
    let text = format!(
        "{}\n[faults]\napply_failure_probability = 1.0\non_failure = \"stop\"\n[rollout]\nstrategy = \"batches\"\nbatch_size = 2\n",
        HAND.replace(
            "apply = \"30s\"",
            "apply = { dist = \"uniform\", min = \"10s\", max = \"30s\" }"
        )
    );
    let r = run(&text, 8);
    let stop = r.stopped.as_ref().expect("stopped");
    assert!(stop.reason.contains("stop"), "{}", stop.reason);
    // The first batch of 2 was applied (and failed); the other 6 were never attempted.
    assert_eq!(r.nodes.not_attempted, 6, "{}", json(&r));
    assert_eq!(r.nodes.converged, 0);
}

#[test]
fn rollback_returns_converged_nodes_to_the_old_version() {
    // Batches of 4: the first batch converges, node 5 of the second is unreachable.
    let text = format!(
        "{HAND}\n[faults]\nunreachable = [{{ node = 5 }}]\non_failure = \"rollback\"\n[rollout]\nstrategy = \"batches\"\nbatch_size = 4\n"
    );
    let r = run(&text, 9);
    let stop = r.stopped.as_ref().expect("stopped");
    assert!(stop.rolled_back, "{}", json(&r));
    assert_eq!(r.nodes.rolled_back, 4, "{}", json(&r));
    assert_eq!(r.nodes.converged, 0);
    // Everyone is back on one version: the mixed window closed.
    assert!(!r.mixed_version[0].open_at_end);
    assert!(r.mixed_version[0].window_s > 0.0);
    // Nodes 4, 6, 7 received their files but were never applied.
    assert_eq!(r.nodes.pending_change, 3);
}

// ------------------------------------------------------------------ strategies

const FLEET: &str = r#"
[timing]
max_parallel_transfers = 0
apply = { dist = "uniform", min = "20s", max = "60s" }
[timing.topology]
nodes = 200
instances = 2
packages = [{ name = "ChatServer", size = "5MiB" }]
"#;

#[test]
fn batches_lower_the_peak_transfer_load() {
    let all = run(FLEET, 12);
    let batched = run(
        &format!("{FLEET}\n[rollout]\nstrategy = \"batches\"\nbatch_size = 25\n"),
        12,
    );
    assert_eq!(all.peak_concurrent_transfers, 200, "{}", json(&all));
    assert_eq!(batched.peak_concurrent_transfers, 25);
    assert_eq!(batched.waves, 8);
    assert!(batched.makespan_s > all.makespan_s);
    assert!(
        batched.mixed_version[0].window_s > all.mixed_version[0].window_s,
        "batches keep versions mixed longer"
    );
    let pct = run(
        &format!(
            "{FLEET}\n[rollout]\nstrategy = \"batches\"\nbatch_percent = 10\npause = \"1m\"\n"
        ),
        12,
    );
    assert_eq!((pct.waves, pct.peak_concurrent_transfers), (10, 20));
}

#[test]
fn rolling_waves_keep_each_vu_down_for_its_own_wave_only() {
    // 200 nodes, 100 VUs of 2 instances each.
    let all = run(FLEET, 21);
    let rolling = run(
        &format!(
            "{FLEET}\n[rollout]\nstrategy = \"rolling\"\nwave_percent = 10\npause = \"30s\"\n"
        ),
        21,
    );
    assert!(rolling.passed, "{}", json(&rolling));
    assert_eq!(rolling.waves, 10);
    assert_eq!(rolling.nodes.converged, 200);
    let (a, r) = (
        all.vu_downtime_s.as_ref().expect("downtime"),
        rolling.vu_downtime_s.as_ref().expect("downtime"),
    );
    assert_eq!((a.vus, r.vus), (100, 100));
    assert!(
        r.max_s * 4.0 < a.max_s,
        "rolling {} vs all {}",
        r.max_s,
        a.max_s
    );
    // Nine checks of 30 s, ten waves: slower as a whole.
    assert!(rolling.makespan_s > all.makespan_s + 270.0);
    // The plan: base once, then per wave inactivate .. activate, a check between waves.
    let s = scenario(&format!(
        "{FLEET}\n[rollout]\nstrategy = \"rolling\"\nwave_size = 50\npause = \"1m\"\n"
    ));
    use hotfix_sim::timing::Step::*;
    assert_eq!(
        s.plan.steps,
        [
            SetMode,
            AddToBase,
            RefreshAllNodes,
            SetMode,
            InactivateVuList(0),
            SetMode,
            ChangePackagesList(0),
            Synchronize(0),
            Apply {
                list: 0,
                all_hosts: true
            },
            SetMode,
            ActivateVuList(0),
            Wait(60_000_000),
            InactivateVuList(1),
            SetMode,
            ChangePackagesList(1),
            Synchronize(1),
            Apply {
                list: 1,
                all_hosts: true
            },
            SetMode,
            ActivateVuList(1),
            SaveModel,
            Workstations,
        ]
    );
    assert_eq!(s.plan.vu_lists[0].len(), 50);
}

#[test]
fn a_timing_only_rollout_waits_for_its_window_and_reports_overruns() {
    // Starts Friday noon; the window opens Saturday 22:00 (34 h later), for 1 minute.
    let text = format!(
        "{FLEET}\n[timing.windows]\nstart = \"2026-12-04T12:00Z\"\nweekly = [{{ from = \"Sat 22:00\", to = \"Sat 22:01\" }}]\n"
    );
    let r = run(&text, 22);
    let w = r.windows.as_ref().expect("windows");
    assert!(!w.fits && !r.passed, "{}", json(&r));
    assert_eq!(w.vus_outside, 100);
    assert_eq!(w.outside.len(), 20);
    assert!(r.rollout_start_s >= 34.0 * 3600.0, "{}", r.rollout_start_s);
    assert!(
        props(&r).contains(&("timing-within-windows".to_owned(), false)),
        "{:?}",
        props(&r)
    );
    // A six-hour window holds it.
    let wide = run(&text.replace("Sat 22:01", "Sun 04:00"), 22);
    let w = wide.windows.as_ref().expect("windows");
    assert!(w.fits && wide.passed, "{}", json(&wide));
    assert_eq!(w.windows_needed, 1);
}

/// 20 nodes and 100 workstations whose MSI is assigned by group policy.
const LOGON: &str = r#"
[timing]
apply = "30s"
[timing.topology]
nodes = 20
instances = 2
packages = [{ name = "ChatServer", size = "1MiB" }]
workstations = 100
msi = 1
[timing.workstations]
remove = "20s"
install = "40s"
[timing.workstations.logon]
next = "8h"
"#;

#[test]
fn a_group_policy_push_lands_at_each_workstations_next_logon() {
    let r = run(LOGON, 31);
    let w = &r.workstations;
    assert_eq!(w.updated, 100, "{}", json(&r));
    let push = w.push_at_s.expect("pushed");
    // Every workstation: next logon 8 h after the assignment, then remove and install.
    let all = 8.0 * 3600.0 + 60.0;
    for at in [w.updated_50_s, w.updated_95_s, w.updated_100_s] {
        assert!(close(at.expect("reached") - push, all), "{}", json(&r));
    }
    // New servers talked to old clients from the first convergence until then.
    let first = r.convergence_s.as_ref().expect("converged");
    let mixed = w.client_server_mixed_s.expect("mixed window");
    assert!(
        mixed > all && mixed < push + all - 30.0,
        "{mixed} {}",
        first.max_s
    );
    assert!(!w.client_server_mixed_open);

    // Machines off for days come last; failures wait for the next logon.
    let text = LOGON.replace(
        "next = \"8h\"\n",
        "next = { dist = \"uniform\", min = \"1h\", max = \"10h\" }\noff_probability = 0.1\noff = \"5d\"\n[faults]\nworkstation_failure_probability = 0.1\nmax_retries = 10\n",
    );
    let r = run(&text, 32);
    let w = &r.workstations;
    assert_eq!(w.updated, 100, "{}", json(&r));
    let push = w.push_at_s.expect("pushed");
    let (p50, p95, p100) = (
        w.updated_50_s.expect("50") - push,
        w.updated_95_s.expect("95") - push,
        w.updated_100_s.expect("100") - push,
    );
    assert!(p50 > 3600.0 && p50 < 10.0 * 3600.0 + 60.0, "{p50}");
    assert!(p100 > 5.0 * 86_400.0, "{p100}: an off machine is last");
    assert!(p50 <= p95 && p95 <= p100);
    assert!(r.retries.workstation > 0);
    // Deterministic per seed, different across seeds.
    assert_eq!(json(&run(&text, 32)), json(&r));
    assert_ne!(
        run(&text, 33).workstations.updated_50_s,
        r.workstations.updated_50_s
    );

    // A workstation whose install always fails: one attempt per logon, then failed.
    let text = format!(
        "{}\n[faults]\nmsi_install_fails = [\"W7\"]\nmax_retries = 2\n",
        LOGON
    );
    let r = run(&text, 34);
    let f = &r.failed_workstations;
    assert_eq!(f.count, 1, "{}", json(&r));
    assert!(f.first[0].at_s - r.workstations.push_at_s.expect("push") >= 3.0 * 8.0 * 3600.0);
    assert!(r.workstations.client_server_mixed_open);
    assert!(r.workstations.updated_100_s.is_none());
}

#[test]
fn a_remote_site_waits_for_the_share_then_fetches_it_locally() {
    // HAND's rollout starts at 36 s. The share (10 MB) reaches site `far` over 1 MB/s
    // after 2 s of latency: at 36 + 2 + 10 = 48 s. N0..N3 transfer at once (4 slots,
    // 5 MB/s each: 2.1 s, until 38.1 s), then N4 and N5 (10 MB/s each: 1.1 s, until
    // 39.2 s); N6 and N7 wait for the share, then fetch it over their own link (0.1 s +
    // 1 s: until 49.1 s). The one wave applies at 49.1 s for 30 s: 79.1 s everywhere.
    let text = format!(
        "{HAND}\n[[timing.sites]]\nname = \"far\"\nwan_bandwidth = \"1MB/s\"\nwan_latency = \"2s\"\nnodes = [\"N6\", \"N7\"]\n"
    );
    let r = run(&text, 41);
    assert!(r.passed, "{}", json(&r));
    assert_eq!(r.sites.len(), 2, "{}", json(&r));
    let (local, far) = (&r.sites[0], &r.sites[1]);
    assert_eq!(
        (local.name.as_str(), local.nodes, local.converged),
        ("local", 6, 6)
    );
    assert_eq!((far.name.as_str(), far.nodes, far.converged), ("far", 2, 2));
    assert!(close(far.share_at_s.expect("share"), 48.0), "{}", json(&r));
    assert!(close(far.max_s.expect("max"), 79.1), "{}", json(&r));
    assert!(close(local.max_s.expect("max"), 79.1), "{}", json(&r));
    assert!(close(r.makespan_s, 111.1), "{}", r.makespan_s);
    assert_eq!(r.bytes_sent, 80_000_000);
    let flat = r.flat_metrics();
    let get = |k: &str| flat.iter().find(|m| m.0 == k).and_then(|m| m.1);
    assert_eq!(get("latest_site_share_us"), Some(48_000_000));
    assert_eq!(get("slowest_site_convergence_max_us"), Some(79_100_000));

    // Shares of a generated topology, in node order.
    let r = run(
        &format!(
            "{HAND}\n[[timing.sites]]\nname = \"a\"\nwan_bandwidth = \"1MB/s\"\nshare = 0.25\n"
        ),
        41,
    );
    assert_eq!(r.sites[1].nodes, 2);
    // Without sites nothing is reported.
    assert!(run(HAND, 41).sites.is_empty());
}

#[test]
fn sites_are_checked() {
    for (site, needle) in [
        (
            "name = \"a\"\nwan_bandwidth = \"1MB/s\"\nnodes = [\"N9\"]",
            "no node `N9`",
        ),
        ("name = \"a\"\nshare = 0.5", "wan_bandwidth"),
        (
            "name = \"a\"\nwan_bandwidth = \"1MB/s\"\nshare = 0.5\nprefix = \"N\"",
            "exactly one",
        ),
        (
            "name = \"a\"\nwan_bandwidth = \"1MB/s\"\nshare = 1.5",
            "fraction",
        ),
        (
            "name = \"a\"\nwan_bandwidth = \"1MB/s\"\nprefix = \"X\"",
            "no node name starts",
        ),
        ("wan_bandwidth = \"1MB/s\"\nshare = 0.5", "name"),
        (
            "name = \"a\"\nwan_bandwidth = \"1MB/s\"\nshare = 0.5\nspeed = 2",
            "speed",
        ),
    ] {
        let text = format!("{HAND}\n[[timing.sites]]\n{site}\n");
        let err = match TimingScenario::parse(&text, Path::new("x.toml")) {
            Err(e) => e.to_string(),
            Ok(s) => timing::simulate(&s.topology, &s.plan, &s.config, 1)
                .expect_err(site)
                .to_string(),
        };
        assert!(err.contains(needle), "{site}: {err}");
    }
    let two = format!(
        "{HAND}\n[[timing.sites]]\nname = \"a\"\nwan_bandwidth = \"1MB/s\"\nnodes = [\"N1\"]\n[[timing.sites]]\nname = \"b\"\nwan_bandwidth = \"1MB/s\"\nnodes = [\"N1\"]\n"
    );
    let s = scenario(&two);
    let err = timing::simulate(&s.topology, &s.plan, &s.config, 1)
        .expect_err("node in two sites")
        .to_string();
    assert!(err.contains("in sites `a` and `b`"), "{err}");
}

#[test]
fn canary_stops_a_bad_rollout_early() {
    let bad = "[faults]\napply_failure_probability = 1.0\non_failure = \"skip\"\n";
    let all = run(&format!("{FLEET}\n{bad}"), 13);
    assert_eq!(all.nodes.failed, 200, "{}", json(&all));
    let canary = run(
        &format!("{FLEET}\n{bad}[rollout]\nstrategy = \"canary\"\ncanary_wait = \"10m\"\n"),
        13,
    );
    assert_eq!(canary.nodes.failed, 1, "{}", json(&canary));
    assert_eq!(canary.nodes.not_attempted, 199);
    assert!(
        canary
            .stopped
            .as_ref()
            .is_some_and(|s| s.reason.contains("canary"))
    );
    let by_vu = run(
        &format!("{FLEET}\n{bad}[rollout]\nstrategy = \"canary\"\ncanary = \"vu\"\n"),
        13,
    );
    assert_eq!(
        by_vu.nodes.failed + by_vu.nodes.pending_change,
        2,
        "{}",
        json(&by_vu)
    );
    // A good canary waits, then does the rest.
    let good = run(
        &format!("{FLEET}\n[rollout]\nstrategy = \"canary\"\ncanary_wait = \"10m\"\n"),
        13,
    );
    assert_eq!(good.nodes.converged, 200);
    assert_eq!(good.waves, 2);
    assert!(good.makespan_s > all.makespan_s + 600.0);
}

#[test]
fn failure_threshold_stops_the_rollout() {
    let text = format!(
        "{FLEET}\n[faults]\napply_failure_probability = 0.5\non_failure = \"skip\"\n[rollout]\nstrategy = \"batches\"\nbatch_size = 20\nmax_failures = 5\n"
    );
    let r = run(&text, 14);
    let stop = r.stopped.as_ref().expect("stopped");
    assert!(stop.reason.contains("max_failures"), "{}", stop.reason);
    assert!(r.nodes.not_attempted >= 160, "{}", json(&r));
}

#[test]
fn activating_each_vu_when_converged_shortens_downtime() {
    let end = run(
        &format!("{FLEET}\n[rollout]\nstrategy = \"batches\"\nbatch_size = 20\n"),
        15,
    );
    let early = run(
        &format!(
            "{}\n[rollout]\nstrategy = \"batches\"\nbatch_size = 20\n",
            FLEET.replace("[timing]\n", "[timing]\nactivate = \"when-converged\"\n")
        ),
        15,
    );
    let (a, b) = (
        end.vu_downtime_s.as_ref().expect("downtime"),
        early.vu_downtime_s.as_ref().expect("downtime"),
    );
    assert!(b.mean_s < a.mean_s, "{} !< {}", b.mean_s, a.mean_s);
}

#[test]
fn removal_synchronizes_only_the_model_change() {
    let r = run(
        &HAND.replace(
            "[timing]\n",
            "[timing]\nprocedure = \"remove\"\nremoval_bytes = \"1kB\"\n",
        ),
        16,
    );
    assert_eq!(r.bytes_sent, 8 * 1000, "{}", json(&r));
    assert_eq!(r.nodes.converged, 8);
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    for (text, key) in [
        (
            "[timing]\nlatncy = \"1s\"\n[timing.topology]\nnodes = 4\n",
            "latncy",
        ),
        ("[timing.topology]\nnodes = 4\nnode = 5\n", "node"),
        (
            "[timing.topology]\nnodes = 4\n[faults]\nretries = 2\n",
            "retries",
        ),
        (
            "[timing.topology]\nnodes = 4\n[rollout]\nbatch = 2\n",
            "batch",
        ),
        (
            "[timing.topology]\nnodes = 4\n[timing.ia]\nrefresh = \"1s\"\n",
            "refresh",
        ),
    ] {
        let err = TimingScenario::parse(text, Path::new("x.toml")).expect_err(key);
        assert!(err.to_string().contains(&format!("`{key}`")), "{err}");
    }
}

#[test]
fn shipped_timing_scenarios_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
        if (name.starts_with("timing-") || name.starts_with("scale-")) && name.ends_with(".toml") {
            TimingScenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(
        n >= 3,
        "expected the timing and scale scenarios in {}",
        dir.display()
    );
}

// ------------------------------------------------------------------ from the system model

fn sample_info() -> hotfix_sim::ops::HotfixInfo {
    use hotfix_sim::model::MsiProduct;
    use hotfix_sim::ops::{HotfixInfo, MsiInfo};
    HotfixInfo {
        id: "HF-7.0.3-0042".into(),
        title: "Chat messages lost on failover".into(),
        release: "7.0".into(),
        support_package: "SP3".into(),
        packages: vec![
            ("ChatServer".into(), "7.0.3.12".into()),
            ("RoutingEngine".into(), "7.0.3.8".into()),
        ],
        package_bytes: vec![100_000, 50_000],
        standing: Default::default(),
        requires: vec![],
        msis: vec![MsiInfo {
            product: MsiProduct {
                product_code: "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}".into(),
                upgrade_code: "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}".into(),
                name: "Agent Desktop".into(),
                version: "7.0.3.5".into(),
                file: Some("AgentDesktop.msi".into()),
            },
            replaces_version: "7.0.3.4".into(),
            bytes: 20_000,
        }],
    }
}

#[test]
fn topology_from_a_generated_model_uses_the_real_payload_sizes() {
    use hotfix_sim::generate::{GenerateParams, generate};
    let info = sample_info();
    let mut params = GenerateParams {
        nodes: 300,
        vus: 120,
        instances: 2,
        workstations: 40,
        seed: 3,
        ..GenerateParams::default()
    };
    params.fit(&info, true);
    let model = generate(&params).expect("model generates");
    let topo =
        timing::Topology::from_model(&model, &info, timing::Procedure::Install).expect("topology");
    assert_eq!(topo.node_count, 300);
    assert_eq!(topo.workstations, 40);
    assert_eq!(topo.packages[0].payload_bytes, 100_000);
    assert!(topo.vu_count() > 0 && topo.vu_count() <= 120);
    let r = timing::simulate(
        &topo,
        &timing::Plan::install(),
        &timing::TimingConfig::default(),
        1,
    )
    .expect("runs");
    // Bytes sent: each affected node receives the payload of each package it hosts.
    assert!(
        r.bytes_sent >= 50_000 * u64::from(r.nodes.affected),
        "{}",
        json(&r)
    );
    assert_eq!(r.workstations.updated, 40);
    // Nothing carries the hotfix yet: a removal touches nobody.
    let none =
        timing::Topology::from_model(&model, &info, timing::Procedure::Remove).expect("topology");
    assert_eq!(none.vu_count(), 0);
}

#[test]
fn topology_from_the_committed_contact_center_model_names_its_nodes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/models");
    let installed = hotfix_sim::model_xml::load_file(&dir.join("contact-center-installed.xml"))
        .expect("model loads");
    let info = sample_info();
    let topo = timing::Topology::from_model(&installed, &info, timing::Procedure::Remove)
        .expect("topology");
    assert!(topo.vu_count() > 0);
    let name = topo.node_name(topo.nodes_of(0)[0]);
    assert_eq!(topo.find_node(&name), Some(topo.nodes_of(0)[0]));
    let r = timing::simulate(
        &topo,
        &timing::Plan::remove(),
        &timing::TimingConfig::default(),
        1,
    )
    .expect("runs");
    assert!(r.passed, "{}", json(&r));
}

// ------------------------------------------------------------------ sweeps

fn sweep_of(text: &str, range: SeedRange, shard: Option<Shard>, jobs: usize) -> SweepOutput {
    let s = scenario(text);
    let seeds = range.seeds(shard);
    let runs = sweep::run_seeds(
        &seeds,
        jobs,
        |seed| {
            let r = timing::simulate(&s.topology, &s.plan, &s.config, seed)
                .map_err(|e| e.to_string())?;
            Ok(RunRecord {
                seed,
                passed: r.passed,
                metrics: r
                    .flat_metrics()
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                    .collect(),
            })
        },
        &|| {},
    )
    .expect("sweep runs");
    let inputs = [sweep::InputDigest {
        role: "scenario".into(),
        path: s.name.clone(),
        digest: s.digest.clone(),
    }];
    sweep::output(&s.name, &inputs, range, shard, runs)
}

#[test]
fn shards_merged_equal_a_single_sweep_byte_for_byte() {
    let range: SeedRange = "100..=112".parse().expect("range");
    let single = serde_json::to_string_pretty(&sweep_of(NOISY, range, None, 2)).expect("json");
    // Shards go through their JSON files, in any order, computed with other job counts.
    let parts: Vec<SweepOutput> = [2u32, 0, 1]
        .iter()
        .map(|&k| {
            let o = sweep_of(NOISY, range, Some(Shard { index: k, count: 3 }), 1);
            let text = serde_json::to_string_pretty(&o).expect("json");
            serde_json::from_str(&text).expect("parse back")
        })
        .collect();
    let merged = serde_json::to_string_pretty(&sweep::merge(parts).expect("merge")).expect("json");
    assert_eq!(single, merged);
    let one_thread = serde_json::to_string_pretty(&sweep_of(NOISY, range, None, 1)).expect("json");
    assert_eq!(single, one_thread, "job count must not change the output");
}

// ------------------------------------------------------------------ report

#[test]
fn report_is_self_contained_and_has_the_charts() {
    let s = scenario(NOISY);
    let r = timing::simulate(&s.topology, &s.plan, &s.config, 21).expect("runs");
    let html = report::render_html("noisy <test>", &r, &props(&r), &|v| s.topology.vu_name(v));
    for id in [
        "chart-convergence",
        "chart-downtime",
        "chart-mixed",
        "properties",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("noisy &lt;test&gt;"));
    for banned in ["<script", "http://", "https://", "<link"] {
        let hits = html.matches(banned).count();
        // The only URL allowed is the SVG namespace, which loads nothing.
        let allowed = if banned == "http://" { 4 } else { 0 };
        assert!(hits <= allowed, "{banned} appears {hits} times");
    }
    assert_eq!(
        html,
        report::render_html("noisy <test>", &r, &props(&r), &|v| s.topology.vu_name(v))
    );
}

fn chromium() -> Option<std::path::PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

/// The DOM headless Chromium makes of `html`.
fn dump_dom(browser: &Path, html: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.html");
    std::fs::write(&file, html).expect("write report");
    let profile = dir.path().join("profile");
    // A guard against a hung browser (not a timing assertion): coreutils' `timeout`.
    let mut cmd = if Path::new("/usr/bin/timeout").exists() {
        let mut c = std::process::Command::new("/usr/bin/timeout");
        c.arg("180").arg(browser);
        c
    } else {
        std::process::Command::new(browser)
    };
    let out = cmd
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", file.display()))
        .output()
        .expect("chromium starts");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !dom.is_empty(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dom.into_owned()
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
            panic!("chromium is required (HOTFIX_REQUIRE_INTEROP is set) but was not found");
        }
        eprintln!("skipped: chromium not found (set HOTFIX_REQUIRE_INTEROP=1 to require it)");
        return;
    };
    let s = scenario(NOISY);
    let r = timing::simulate(&s.topology, &s.plan, &s.config, 22).expect("runs");
    let html = report::render_html("chromium check", &r, &props(&r), &|v| s.topology.vu_name(v));
    let dom = dump_dom(&browser, &html);
    // The parsed DOM holds the three SVG charts with drawn content and the table.
    for id in ["chart-convergence", "chart-downtime", "chart-mixed"] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id} in DOM"));
        let end = dom[at..].find("</svg>").expect("svg closes") + at;
        let svg = &dom[at..end];
        assert!(
            svg.contains("<path") || svg.contains("<rect"),
            "{id} has nothing drawn"
        );
    }
    assert!(dom.contains("id=\"properties\""));
}

#[test]
fn run_report_with_violations_and_timeline_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
            panic!("chromium is required (HOTFIX_REQUIRE_INTEROP is set) but was not found");
        }
        eprintln!("skipped: chromium not found (set HOTFIX_REQUIRE_INTEROP=1 to require it)");
        return;
    };
    // The standard install with HAC03 down from the apply step (step 12).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/models");
    let mut model =
        hotfix_sim::model_xml::load_file(&dir.join("contact-center.xml")).expect("model");
    let info = sample_info();
    let rb = hotfix_sim::runbook::standard_install_for(&info, &model).expect("derives");
    let cfg = timing::TimingConfig {
        faults: timing::FaultConfig {
            unreachable: vec![timing::Outage {
                node: timing::NodeRef::Name("HAC03".into()),
                from: 0,
                at_step: Some(12),
            }],
            max_retries: 0,
            ..timing::FaultConfig::default()
        },
        ..timing::TimingConfig::default()
    };
    let sim = hotfix_sim::simulation::simulate(
        &mut model,
        &info,
        &[rb],
        &cfg,
        3,
        &hotfix_sim::run::RunOptions::default(),
    )
    .expect("simulates");
    let props: Vec<(String, bool)> = sim
        .report
        .properties
        .iter()
        .map(|p| (p.name.to_owned(), p.passed))
        .collect();
    let extras = report::RunExtras {
        passed: Some(sim.report.passed),
        violations: &sim.report.violations,
        step_labels: sim
            .report
            .trace
            .iter()
            .map(|t| format!("{}. {}", t.step, t.action))
            .collect(),
        tool: "hotfix 0.0.0-test".into(),
        replay: "hotfix sim run install-node-down-at-apply.toml --seed 3".into(),
    };
    let html = report::render_run_html(
        "node down",
        &sim.timing,
        &props,
        &|v| sim.topology.vu_name(v),
        &extras,
    );
    let dom = dump_dom(&browser, &html);
    let section = |id: &str, end: &str| -> String {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id} in DOM"));
        let stop = dom[at..].find(end).expect("closes") + at;
        dom[at..stop].to_owned()
    };
    let violations = section("violations", "</table>");
    assert!(violations.contains("node-failed") && violations.contains("node HAC03"));
    assert!(
        violations.contains("<td class=\"num\">12</td>"),
        "{violations}"
    );
    let failed = section("failed", "</table>");
    assert!(failed.contains("HAC03") && failed.contains("apply"));
    let gantt = section("chart-steps", "</svg>");
    assert_eq!(gantt.matches("<rect").count(), sim.timing.steps.len());
    assert!(
        gantt.contains("12. apply-all-changes (5 targets)"),
        "{gantt}"
    );
    let replay = section("replay", "</p>");
    assert!(replay.contains("hotfix 0.0.0-test") && replay.contains("--seed 3"));
    assert!(dom.contains("some properties are violated"));
}

#[test]
fn report_with_windows_workstations_and_sites_renders_in_headless_chromium() {
    let text = format!(
        "{LOGON}\n[[timing.sites]]\nname = \"overseas\"\nwan_bandwidth = \"1MB/s\"\nwan_latency = \"150ms\"\nshare = 0.25\n[timing.windows]\nstart = \"2026-12-05T21:58+01:00\"\ndaily = [{{ from = \"22:00\", to = \"22:01\" }}]\n"
    );
    let s = scenario(&text);
    let r = timing::simulate(&s.topology, &s.plan, &s.config, 51).expect("runs");
    assert!(r.windows.as_ref().is_some_and(|w| !w.fits), "{}", json(&r));
    let html = report::render_html("rollout figures", &r, &props(&r), &|v| {
        s.topology.vu_name(v)
    });
    for id in ["windows", "windows-outside", "workstations", "sites"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    let Some(browser) = chromium() else {
        if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
            panic!("chromium is required (HOTFIX_REQUIRE_INTEROP is set) but was not found");
        }
        eprintln!("skipped: chromium not found (set HOTFIX_REQUIRE_INTEROP=1 to require it)");
        return;
    };
    let dom = dump_dom(&browser, &html);
    let table = |id: &str| -> String {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id} in DOM"));
        let end = dom[at..].find("</table>").expect("table closes") + at;
        dom[at..end].to_owned()
    };
    let windows = table("windows");
    assert!(
        windows.contains(">NO<") && windows.contains("2026-12-05T21:58+01:00"),
        "{windows}"
    );
    assert!(table("windows-outside").contains("VU0"));
    let ws = table("workstations");
    // 100 workstations, each at its logon 8 h after the push: the 100 % cell is hours.
    assert!(ws.matches("<td").count() == 5 && ws.contains(" h<"), "{ws}");
    let sites = table("sites");
    assert!(
        sites.contains("overseas") && sites.contains("local"),
        "{sites}"
    );
    assert!(dom.contains("title=\"slowest_site_convergence_max_us\""));
}
