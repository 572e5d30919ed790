//! The one result of a run ([`RunReport`]) as JSON, text and Markdown. The HTML report is
//! `crate::report`, fed from the same result.
//!
//! Pure functions of the result: same result, same bytes. Nothing here decides a verdict.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::run::RunReport;
use crate::timing::TimingResult;

/// What a result is about: the scenario file, the seed, the hotfix (absent for a
/// timing-only scenario) and the runbooks' names (or a one-line description).
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub scenario: String,
    pub seed: u64,
    pub hotfix: Option<String>,
    pub runbooks: Vec<String>,
}

/// The JSON result of `hotfix sim run` (stable; see docs/SIMULATOR.md).
pub fn json(h: &Header, r: &RunReport) -> Value {
    let mut v = json!({
        "scenario": h.scenario,
        "seed": h.seed,
        "passed": r.passed,
        "properties": r.properties,
        "violations": r.violations,
        "metrics": r.metrics,
    });
    if let (Some(id), Value::Object(m)) = (&h.hotfix, &mut v) {
        m.insert("hotfix".into(), json!(id));
    }
    v
}

/// The logical metrics as sorted `(key, value)` text pairs; `timing` is left out (it has
/// its own summary, [`timing_summary`]).
pub fn logical_metrics(metrics: &serde_json::Map<String, Value>) -> Vec<(&str, String)> {
    let mut rows: Vec<(&str, String)> = metrics
        .iter()
        .filter(|(k, _)| k.as_str() != "timing")
        .map(|(k, v)| {
            let v = match v {
                Value::Null => "none".to_owned(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.as_str(), v)
        })
        .collect();
    rows.sort_unstable();
    rows
}

fn title(h: &Header) -> String {
    match &h.hotfix {
        Some(id) => format!(
            "scenario {} (seed {}): hotfix {id}, runbook {}",
            h.scenario,
            h.seed,
            h.runbooks.join(" then ")
        ),
        None => format!(
            "scenario {} (seed {}): {}",
            h.scenario,
            h.seed,
            h.runbooks.join(" then ")
        ),
    }
}

/// The text result: properties, violations, logical metrics, the verdict, then the
/// timing summary.
pub fn text(h: &Header, r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", title(h));
    let _ = writeln!(out, "\nproperties:");
    for p in &r.properties {
        let mark = if p.passed { "pass" } else { "FAIL" };
        let _ = write!(out, "  {mark}  {:<38} {}", p.name, p.procedure.as_str());
        if let Some(d) = &p.detail {
            let _ = write!(out, "  ({d})");
        }
        let _ = writeln!(out);
    }
    if !r.violations.is_empty() {
        let _ = writeln!(out, "\nviolations:");
        for v in &r.violations {
            let at = v.step.map_or("end".to_owned(), |s| format!("step {s}"));
            let time = v
                .time_s
                .map_or(String::new(), |t| format!(" at {}", fmt_secs(t)));
            let _ = writeln!(
                out,
                "  {at}{time}: {} [{}] {}: {}",
                v.action, v.rule, v.object, v.message
            );
            if let Some(o) = &v.origin {
                let _ = writeln!(out, "        at {o}");
            }
        }
    }
    // The timing result is left out before converting: it is printed below from the
    // struct, and its per-step spans (one per VU action, millions on a large model)
    // would cost hundreds of MiB as JSON values only to be dropped.
    let logical_only = crate::run::Metrics {
        steps: r.metrics.steps.clone(),
        timing: None,
        violations: r.metrics.violations,
    };
    let as_json = serde_json::to_value(&logical_only).unwrap_or(Value::Null);
    let empty = serde_json::Map::new();
    let logical = logical_metrics(as_json.as_object().unwrap_or(&empty));
    if !logical.is_empty() {
        let _ = writeln!(out, "\nmetrics:");
        for (k, v) in logical {
            let _ = writeln!(out, "  {k}: {v}");
        }
    }
    if r.passed {
        let _ = writeln!(
            out,
            "result: passed ({} properties hold)",
            r.properties.len()
        );
    } else {
        let failed = r.properties.iter().filter(|p| !p.passed).count();
        let _ = writeln!(
            out,
            "result: FAILED ({failed} properties violated, {} violations; seed {})",
            r.violations.len(),
            h.seed
        );
    }
    if let Some(t) = &r.metrics.timing {
        let _ = writeln!(out, "{}", timing_summary(t));
    }
    out
}

/// The result as Markdown (for a ticket or a pull request): verdict, violations table,
/// failed properties, timing summary.
pub fn markdown(h: &Header, r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## {}\n", title(h));
    let _ = writeln!(
        out,
        "**{}** ({} properties, {} violations)\n",
        if r.passed { "Passed" } else { "FAILED" },
        r.properties.len(),
        r.violations.len()
    );
    if !r.violations.is_empty() {
        let _ = writeln!(out, "| step | time | rule | object | message |");
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        for v in &r.violations {
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                v.step.map_or("end".to_owned(), |s| s.to_string()),
                v.time_s.map_or("–".to_owned(), fmt_secs),
                v.rule,
                cell(&v.object),
                cell(&v.message)
            );
        }
        let _ = writeln!(out);
    }
    let failed: Vec<&str> = r
        .properties
        .iter()
        .filter(|p| !p.passed)
        .map(|p| p.name)
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(out, "Failed properties: `{}`\n", failed.join("`, `"));
    }
    if let Some(t) = &r.metrics.timing {
        let _ = writeln!(out, "```\n{}\n```", timing_summary(t));
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Seconds for people: `12.50 s`, `3.2 min`, `2.10 h`.
pub fn fmt_secs(s: f64) -> String {
    if s >= 7200.0 {
        format!("{:.2} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.2} s")
    }
}

/// Timing in a few lines of text.
pub fn timing_summary(r: &TimingResult) -> String {
    let mut s = format!(
        "timing (seed {}, {:?}, {:?}): makespan {}, {} of {} nodes converged",
        r.seed,
        r.procedure,
        r.strategy,
        fmt_secs(r.makespan_s),
        r.nodes.converged,
        r.nodes.affected
    );
    if let Some(c) = &r.convergence_s {
        let _ = write!(
            s,
            " (p50 {}, p95 {}, p99 {}, max {})",
            fmt_secs(c.p50_s),
            fmt_secs(c.p95_s),
            fmt_secs(c.p99_s),
            fmt_secs(c.max_s)
        );
    }
    let n = &r.nodes;
    if n.failed + n.rolled_back + n.pending_change + n.not_attempted + n.behind > 0 {
        let _ = write!(
            s,
            "\n  nodes: {} failed, {} rolled back, {} left pending, {} not attempted, {} behind the model",
            n.failed, n.rolled_back, n.pending_change, n.not_attempted, n.behind
        );
    }
    for (kind, list) in [
        ("nodes", &r.failed_nodes),
        ("workstations", &r.failed_workstations),
    ] {
        if list.count > 0 {
            let names: Vec<&str> = list.first.iter().map(|f| f.name.as_str()).collect();
            let more = list.count as usize - names.len();
            let _ = write!(
                s,
                "\n  failed {kind}: {}{}",
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(d) = &r.vu_downtime_s {
        let _ = write!(
            s,
            "\n  VU downtime: mean {}, max {} over {} VUs",
            fmt_secs(d.mean_s),
            fmt_secs(d.max_s),
            d.vus
        );
    }
    for w in &r.mixed_version {
        let _ = write!(
            s,
            "\n  mixed versions of {}: {}{}",
            w.package,
            fmt_secs(w.window_s),
            if w.open_at_end {
                " (still mixed at the end)"
            } else {
                ""
            }
        );
    }
    let _ = write!(
        s,
        "\n  {} bytes sent, peak {} transfers, retries: {} transfer, {} apply, {} workstation",
        r.bytes_sent,
        r.peak_concurrent_transfers,
        r.retries.transfer,
        r.retries.apply,
        r.retries.workstation
    );
    if r.workstations.total > 0 {
        let w = &r.workstations;
        let _ = write!(
            s,
            "\n  workstations: {} of {} updated, {} failed",
            w.updated, w.total, w.failed
        );
        let at = |x: Option<f64>| x.map_or("never".to_owned(), fmt_secs);
        if w.push_at_s.is_some() {
            let _ = write!(
                s,
                "\n  workstations on the new client: 50 % at {}, 95 % at {}, 100 % at {}",
                at(w.updated_50_s),
                at(w.updated_95_s),
                at(w.updated_100_s)
            );
        }
        if let Some(m) = w.client_server_mixed_s {
            let _ = write!(
                s,
                "\n  new servers with old clients: {}{}",
                fmt_secs(m),
                if w.client_server_mixed_open {
                    " (still open at the end)"
                } else {
                    ""
                }
            );
        }
    }
    for site in &r.sites {
        let _ = write!(
            s,
            "\n  site {}: {} of {} nodes converged (p50 {}, max {}), share there at {}",
            site.name,
            site.converged,
            site.nodes,
            site.p50_s.map_or("-".to_owned(), fmt_secs),
            site.max_s.map_or("-".to_owned(), fmt_secs),
            site.share_at_s.map_or("never".to_owned(), fmt_secs),
        );
    }
    if let Some(w) = &r.windows {
        let _ = write!(
            s,
            "\n  maintenance windows: {} from {} to {}, {} window(s) used",
            if w.fits { "fits" } else { "does NOT fit" },
            w.start,
            w.end,
            w.windows_needed
        );
        if w.vus_outside > 0 {
            let names: Vec<&str> = w.outside.iter().map(|o| o.vu.as_str()).collect();
            let more = w.vus_outside as usize - names.len();
            let _ = write!(
                s,
                "\n  down outside a window: {}{}",
                names.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(stop) = &r.stopped {
        let _ = write!(
            s,
            "\n  stopped at {}: {}{}",
            fmt_secs(stop.at_s),
            stop.reason,
            if stop.rolled_back {
                " (rolled back)"
            } else {
                ""
            }
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::logical_metrics;
    use serde_json::json;

    #[test]
    fn text_metrics_are_sorted_lines_without_timing() {
        let serde_json::Value::Object(m) = json!({
            "vus": 5, "steps": 19, "converged_at_step": null,
            "timing": { "makespan_s": 1.5 }, "label": "x"
        }) else {
            unreachable!()
        };
        let rows = logical_metrics(&m);
        let keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["converged_at_step", "label", "steps", "vus"]);
        assert_eq!(rows[0].1, "none");
        assert_eq!(rows[1].1, "x");
        assert_eq!(rows[2].1, "19");
    }
}
