//! The self-contained HTML report of a timing run: inline SVG charts and tables, inline
//! CSS, no script and nothing loaded from the network, so it opens anywhere (an
//! air-gapped QA machine, a CI artifact viewer) and is byte-identical for the same run.
//!
//! Charts: nodes on the target version over time (`#chart-convergence`), VU downtime
//! (`#chart-downtime`), mixed-version window per package (`#chart-mixed`); then the
//! property table (`#properties`) and the metrics table (`#metrics`).

use std::fmt::Write as _;

use crate::timing::TimingResult;

const W: f64 = 760.0;
const H: f64 = 260.0;
const ML: f64 = 64.0; // left margin (axis labels)
const MR: f64 = 16.0;
const MT: f64 = 16.0;
const MB: f64 = 40.0;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A "nice" axis step (1, 2 or 5 × 10^k) for about `ticks` ticks over `max`.
fn nice_step(max: f64, ticks: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let raw = max / ticks;
    let mut mag = 1.0;
    while mag * 10.0 <= raw {
        mag *= 10.0;
    }
    while mag > raw {
        mag /= 10.0;
    }
    for m in [1.0, 2.0, 5.0, 10.0] {
        if mag * m >= raw {
            return mag * m;
        }
    }
    mag * 10.0
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Human duration for labels.
fn fmt_dur(s: f64) -> String {
    if s >= 7200.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 120.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// Axes with ticks for a chart of the default size; writes into `svg`.
fn axes(svg: &mut String, xmax: f64, ymax: f64, xlabel: &str, ylabel: &str) {
    axes_in(svg, H, MB, Some(xmax), ymax, xlabel, ylabel);
}

/// Axes for a chart `h` high with bottom margin `mb`; numeric x ticks up to `xmax`
/// unless `None` (the caller labels the x axis, e.g. with VU names).
fn axes_in(
    svg: &mut String,
    h: f64,
    mb: f64,
    xmax: Option<f64>,
    ymax: f64,
    xlabel: &str,
    ylabel: &str,
) {
    let (x0, y0, x1, y1) = (ML, h - mb, W - MR, MT);
    let _ = write!(
        svg,
        r##"<line class="axis" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}"/><line class="axis" x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/>"##
    );
    let xmax = xmax.unwrap_or(0.0);
    let xs = nice_step(xmax, 8.0);
    let mut t = 0.0;
    while xmax > 0.0 && t <= xmax * 1.0001 {
        let x = x0 + (x1 - x0) * t / xmax.max(f64::MIN_POSITIVE);
        let _ = write!(
            svg,
            r##"<line class="tick" x1="{x:.1}" y1="{y0}" x2="{x:.1}" y2="{}"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + 4.0,
            y0 + 16.0,
            fmt_num(t)
        );
        t += xs;
    }
    let ys = nice_step(ymax, 5.0);
    let mut t = 0.0;
    while ymax > 0.0 && t <= ymax * 1.0001 {
        let y = y0 - (y0 - y1) * t / ymax.max(f64::MIN_POSITIVE);
        let _ = write!(
            svg,
            r##"<line class="grid" x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            y + 4.0,
            fmt_num(t)
        );
        t += ys;
    }
    let _ = write!(
        svg,
        r##"<text class="label" x="{}" y="{}" text-anchor="middle">{}</text><text class="label" transform="translate(14,{}) rotate(-90)" text-anchor="middle">{}</text>"##,
        (x0 + x1) / 2.0,
        h - 6.0,
        escape(xlabel),
        (y0 + y1) / 2.0,
        escape(ylabel)
    );
}

fn svg_open(id: &str, title: &str) -> String {
    svg_open_h(id, title, H)
}

/// An SVG chart `h` pixels high (the width is always `W`).
fn svg_open_h(id: &str, title: &str, h: f64) -> String {
    format!(
        r##"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}" width="{W}" height="{h}" role="img" aria-label="{t}"><title>{t}</title>"##,
        t = escape(title)
    )
}

/// Step line of nodes on the target version over time.
fn convergence_chart(r: &TimingResult) -> String {
    let s = &r.series;
    let xmax = (s.makespan as f64 / 1e6).max(1e-6);
    let ymax = f64::from(r.nodes.affected.max(1));
    let mut svg = svg_open("chart-convergence", "Nodes on the target version over time");
    axes(&mut svg, xmax, ymax, "time (s)", "nodes");
    let px = |t: u64| ML + (W - MR - ML) * (t as f64 / 1e6) / xmax;
    let py = |n: u32| (H - MB) - (H - MB - MT) * f64::from(n) / ymax;
    // Rollout window shading.
    let (a, b) = (px(s.rollout_start), px(s.rollout_end));
    let _ = write!(
        svg,
        r##"<rect class="window" x="{a:.1}" y="{MT}" width="{:.1}" height="{}"><title>rollout</title></rect>"##,
        (b - a).max(0.5),
        H - MB - MT
    );
    let mut d = String::new();
    let mut prev: Option<u32> = None;
    for &(t, n) in &s.converged {
        let (x, y) = (px(t), py(n));
        match prev {
            None => {
                let _ = write!(d, "M{x:.1},{y:.1}");
            }
            Some(p) => {
                let _ = write!(d, " H{x:.1}");
                if p != n {
                    let _ = write!(d, " V{y:.1}");
                }
            }
        }
        prev = Some(n);
    }
    let _ = write!(
        svg,
        r##"<path class="series" d="{d}"/><text x="{}" y="{}" text-anchor="end">{} of {} converged</text></svg>"##,
        W - MR - 4.0,
        H - MB - 8.0,
        r.nodes.converged,
        r.nodes.affected
    );
    svg
}

/// VUs up to which the downtime chart has one labelled bar per VU; above, a histogram.
const MAX_VU_BARS: usize = 40;
/// VUs up to which the bar labels are horizontal; above, rotated.
const MAX_FLAT_LABELS: usize = 10;
/// Extra bottom margin for rotated VU labels.
const ROTATED_MB: f64 = 84.0;

/// Bars per VU, labelled with VU names (few VUs), or a histogram of downtimes (many).
fn downtime_chart(r: &TimingResult, vu_names: &dyn Fn(u32) -> String) -> String {
    let d = &r.series.vu_downtime;
    if d.is_empty() {
        let mut svg = svg_open("chart-downtime", "VU downtime");
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="middle">no VU was inactivated</text></svg>"##,
            W / 2.0,
            H / 2.0
        );
        return svg;
    }
    let max_s = d.iter().copied().max().unwrap_or(0) as f64 / 1e6;
    if d.len() <= MAX_VU_BARS {
        let rotated = d.len() > MAX_FLAT_LABELS;
        let (h, mb) = if rotated {
            (H + ROTATED_MB - MB, ROTATED_MB)
        } else {
            (H, MB)
        };
        let mut svg = svg_open_h("chart-downtime", "VU downtime per VU", h);
        let ymax = max_s.max(1e-6);
        axes_in(&mut svg, h, mb, None, ymax, "", "downtime (s)");
        let bw = (W - MR - ML) / d.len() as f64;
        let y0 = h - mb;
        // Horizontal labels get the bar's width (about 6.5 px a character); rotated
        // ones a fixed length that fits the margin.
        let chars = if rotated {
            14
        } else {
            ((bw / 6.5) as usize).max(4)
        };
        for (i, &us) in d.iter().enumerate() {
            let v = us as f64 / 1e6;
            let bh = (h - mb - MT) * v / ymax;
            let name = vu_names(i as u32);
            let cx = ML + bw * (i as f64 + 0.5);
            let _ = write!(
                svg,
                r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}"><title>{}: {}</title></rect>"##,
                ML + bw * i as f64 + bw * 0.1,
                y0 - bh,
                bw * 0.8,
                escape(&name),
                fmt_dur(v)
            );
            let label = escape(&truncate(&name, chars));
            if rotated {
                let _ = write!(
                    svg,
                    r##"<text class="vu" transform="translate({cx:.1},{:.1}) rotate(-45)" text-anchor="end">{label}<title>{}</title></text>"##,
                    y0 + 10.0,
                    escape(&name)
                );
            } else {
                let _ = write!(
                    svg,
                    r##"<text class="vu" x="{cx:.1}" y="{:.1}" text-anchor="middle">{label}<title>{}</title></text>"##,
                    y0 + 16.0,
                    escape(&name)
                );
            }
        }
        svg.push_str("</svg>");
        svg
    } else {
        let mut svg = svg_open(
            "chart-downtime",
            &format!("Histogram of VU downtime over {} VUs", d.len()),
        );
        const BINS: usize = 30;
        let width = (max_s / BINS as f64).max(1e-6);
        let mut counts = [0u32; BINS];
        for &us in d {
            let b = ((us as f64 / 1e6) / width) as usize;
            counts[b.min(BINS - 1)] += 1;
        }
        let ymax = f64::from(counts.iter().copied().max().unwrap_or(1).max(1));
        axes(&mut svg, max_s.max(1e-6), ymax, "downtime (s)", "VUs");
        let bw = (W - MR - ML) / BINS as f64;
        for (i, &c) in counts.iter().enumerate() {
            let h = (H - MB - MT) * f64::from(c) / ymax;
            let _ = write!(
                svg,
                r##"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}"><title>{c} VUs, {} – {}</title></rect>"##,
                ML + bw * i as f64 + 0.5,
                H - MB - h,
                (bw - 1.0).max(0.5),
                fmt_dur(width * i as f64),
                fmt_dur(width * (i + 1) as f64)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// One bar per package from the first to the last moment of disagreement.
fn mixed_chart(r: &TimingResult) -> String {
    const ROW: f64 = 44.0;
    let xmax = (r.series.makespan as f64 / 1e6).max(1e-6);
    let rows = r.mixed_version.len().max(1);
    // As high as the rows need (up to the default height; more rows get thinner).
    let h = (MT + MB + ROW * rows as f64).min(H.max(MT + MB + 12.0 * rows as f64));
    let mut svg = svg_open_h("chart-mixed", "Mixed-version window per package", h);
    axes_in(&mut svg, h, MB, Some(xmax), 0.0, "time (s)", "");
    let rh = ((h - MB - MT) / rows as f64).min(ROW);
    for (i, w) in r.mixed_version.iter().enumerate() {
        let y = MT + rh * i as f64;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{:.1}">{} ({} nodes): {}</text>"##,
            ML + 4.0,
            y + rh * 0.3,
            escape(&truncate(&w.package, 40)),
            w.nodes,
            if w.first_s.is_some() {
                format!(
                    "mixed for {}{}",
                    fmt_dur(w.window_s),
                    if w.open_at_end {
                        ", still at the end"
                    } else {
                        ""
                    }
                )
            } else {
                "never mixed".to_owned()
            }
        );
        if let (Some(a), Some(b)) = (w.first_s, w.last_s) {
            let x0 = ML + (W - MR - ML) * a / xmax;
            let x1 = ML + (W - MR - ML) * b / xmax;
            let _ = write!(
                svg,
                r##"<rect class="{}" x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: mixed for {}{}</title></rect>"##,
                if w.open_at_end { "bar open" } else { "bar" },
                y + rh * 0.4,
                (x1 - x0).max(1.0),
                rh * 0.45,
                escape(&w.package),
                fmt_dur(w.window_s),
                if w.open_at_end {
                    " (still mixed at the end)"
                } else {
                    ""
                }
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The human label of a [`TimingResult::flat_metrics`] key (the key itself, which the
/// sweep output uses, is the cell's tooltip).
fn metric_label(key: &str) -> &str {
    match key {
        "passed" => "all timing properties hold",
        "makespan_us" => "makespan",
        "rollout_us" => "rollout window",
        "convergence_p50_us" => "convergence p50",
        "convergence_p95_us" => "convergence p95",
        "convergence_p99_us" => "convergence p99",
        "convergence_max_us" => "convergence max",
        "vu_downtime_mean_us" => "VU downtime mean",
        "vu_downtime_max_us" => "VU downtime max",
        "mixed_window_max_us" => "longest mixed-version window",
        "bytes_sent" => "bytes sent",
        "retries" => "retries (transfer, apply, workstation)",
        "converged_nodes" => "nodes converged",
        "failed_nodes" => "nodes failed",
        "failed_workstations" => "workstations failed",
        "peak_concurrent_transfers" => "peak concurrent transfers",
        "stopped" => "rollout stopped",
        "windows_needed" => "maintenance windows needed",
        "slowest_site_convergence_max_us" => "slowest site converged",
        "latest_site_share_us" => "share reached the last site",
        "ws_updated_50_us" => "50 % of workstations updated",
        "ws_updated_95_us" => "95 % of workstations updated",
        "ws_updated_100_us" => "all workstations updated",
        "client_server_mixed_us" => "new servers with old clients",
        "fits_windows" => "fits the maintenance windows",
        "vus_outside_window" => "VUs down outside a window",
        other => other,
    }
}

/// Bytes with a binary unit (exact count when small).
fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Maintenance windows, workstation adoption and sites, when the run has them.
fn rollout_tables(r: &TimingResult) -> String {
    let mut h = String::new();
    let at = |x: Option<f64>| x.map_or("never".to_owned(), fmt_dur);
    if let Some(w) = &r.windows {
        let _ = writeln!(
            h,
            "\n<h2>Maintenance windows</h2>\n<table id=\"windows\"><tr><th>fits</th><th>windows needed</th><th>start</th><th>end</th><th>VUs down outside a window</th></tr>\n<tr><td class=\"{}\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n</table>",
            if w.fits { "pass" } else { "fail" },
            if w.fits { "yes" } else { "NO" },
            w.windows_needed,
            escape(&w.start),
            escape(&w.end),
            w.vus_outside
        );
        if !w.outside.is_empty() {
            h.push_str("<table id=\"windows-outside\"><tr><th>VU</th><th>down outside from</th><th>until</th></tr>\n");
            for o in &w.outside {
                let _ = writeln!(
                    h,
                    r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                    escape(&o.vu),
                    fmt_dur(o.from_s),
                    fmt_dur(o.until_s)
                );
            }
            h.push_str("</table>\n");
        }
    }
    let w = &r.workstations;
    if w.push_at_s.is_some() {
        let _ = writeln!(
            h,
            "\n<h2>Workstations on the new client</h2>\n<table id=\"workstations\"><tr><th>pushed at</th><th>50 %</th><th>95 %</th><th>100 %</th><th>new servers with old clients</th></tr>\n<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}{}</td></tr>\n</table>",
            at(w.push_at_s),
            at(w.updated_50_s),
            at(w.updated_95_s),
            at(w.updated_100_s),
            w.client_server_mixed_s.map_or("–".to_owned(), fmt_dur),
            if w.client_server_mixed_open {
                " (still open)"
            } else {
                ""
            }
        );
    }
    if !r.sites.is_empty() {
        h.push_str("\n<h2>Sites</h2>\n<table id=\"sites\"><tr><th>site</th><th>nodes</th><th>converged</th><th>share there at</th><th>convergence p50</th><th>convergence max</th></tr>\n");
        for s in &r.sites {
            let _ = writeln!(
                h,
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                escape(&s.name),
                s.nodes,
                s.converged,
                at(s.share_at_s),
                at(s.p50_s),
                at(s.max_s)
            );
        }
        h.push_str("</table>\n");
    }
    h
}

/// Renders the report. `properties` are all the properties of the run (the core's and
/// the timing ones), in the order to show; `vu_name` names VU `i` of the topology.
///
/// ```
/// use hotfix_sim::timing::{self, Plan, TimingConfig, TopologySpec, PackageInfo};
/// let topo = TopologySpec { nodes: 4, vus: 2, instances: 2, workstations: 0, msi: 0,
///     packages: vec![PackageInfo { name: "Chat".into(), payload_bytes: 1000 }] }.generate();
/// let r = timing::simulate(&topo, &Plan::install(), &TimingConfig::default(), 1).unwrap();
/// let props: Vec<(String, bool)> =
///     r.properties().into_iter().map(|(n, ok, _)| (n.to_owned(), ok)).collect();
/// let html = hotfix_sim::report::render_html("demo", &r, &props, &|v| topo.vu_name(v));
/// assert!(html.contains(r#"id="chart-convergence""#));
/// ```
pub fn render_html(
    title: &str,
    result: &TimingResult,
    properties: &[(String, bool)],
    vu_name: &dyn Fn(u32) -> String,
) -> String {
    render_run_html(title, result, properties, vu_name, &RunExtras::default())
}

/// What a report of a whole simulation adds to the timing charts.
#[derive(Debug, Clone, Default)]
pub struct RunExtras<'a> {
    /// The one verdict (`None`: judged from `properties`).
    pub passed: Option<bool>,
    pub violations: &'a [crate::run::Violation],
    /// One label per step of the plan (`12. apply-all-changes`), for the timeline.
    pub step_labels: Vec<String>,
    /// `hotfix 0.1.0`.
    pub tool: String,
    /// The command that replays this run.
    pub replay: String,
}

/// Most timeline rows drawn; longer runbooks show their first steps and say so.
const MAX_GANTT_ROWS: usize = 80;

/// The runbook step timeline: one row per step, a bar from its start to its end.
fn gantt_chart(r: &TimingResult, labels: &[String]) -> String {
    let rows = r.steps.len().min(MAX_GANTT_ROWS);
    let row_h = 16.0;
    let ml = 250.0;
    let h = MT + MB + row_h * rows as f64;
    let mut svg = svg_open_h("chart-steps", "runbook step timeline", h);
    let end = r.makespan_s.max(f64::MIN_POSITIVE);
    let (x0, x1) = (ml, W - MR);
    let _ = write!(
        svg,
        r##"<line class="axis" x1="{x0}" y1="{y}" x2="{x1}" y2="{y}"/>"##,
        y = h - MB
    );
    let xs = nice_step(end, 6.0);
    let mut t = 0.0;
    while t <= end * 1.0001 {
        let x = x0 + (x1 - x0) * t / end;
        let _ = write!(
            svg,
            r##"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            h - MB + 16.0,
            fmt_num(t)
        );
        t += xs;
    }
    let _ = write!(
        svg,
        r##"<text class="label" x="{}" y="{}" text-anchor="middle">simulated time (s)</text>"##,
        (x0 + x1) / 2.0,
        h - 6.0
    );
    for (i, st) in r.steps.iter().take(rows).enumerate() {
        let y = MT + row_h * i as f64;
        let label = labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("{}.", st.step));
        let label = if st.targets > 0 {
            format!("{label} ({} targets)", st.targets)
        } else {
            label
        };
        let bx = x0 + (x1 - x0) * st.start_s / end;
        let bw = ((x1 - x0) * (st.end_s - st.start_s) / end).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="{}" y="{:.1}" text-anchor="end">{}</text><rect class="bar" x="{bx:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"><title>{} — {} to {}</title></rect>"##,
            x0 - 6.0,
            y + row_h * 0.75,
            escape(&truncate(&label, 44)),
            y + 2.0,
            row_h - 4.0,
            escape(&label),
            fmt_dur(st.start_s),
            fmt_dur(st.end_s)
        );
    }
    svg.push_str("</svg>\n");
    if r.steps.len() > rows {
        let _ = writeln!(svg, "<p>First {rows} of {} steps shown.</p>", r.steps.len());
    }
    svg
}

/// The report of a whole simulation: the timing charts, the step timeline, the
/// violations, the failed nodes and workstations, the tool version and the replay
/// command.
pub fn render_run_html(
    title: &str,
    result: &TimingResult,
    properties: &[(String, bool)],
    vu_name: &dyn Fn(u32) -> String,
    extras: &RunExtras<'_>,
) -> String {
    let passed = extras
        .passed
        .unwrap_or_else(|| properties.iter().all(|p| p.1));
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t} — hotfix simulation report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 800px; color: #222; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 28px; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.pass {{ color: #176b2c; font-weight: 600; }} .fail {{ color: #b00020; font-weight: 600; }}
svg.chart {{ max-width: 100%; height: auto; background: #fff; }}
svg text {{ font: 11px system-ui, sans-serif; fill: #333; }} svg text.label {{ font-size: 12px; }}
svg .axis {{ stroke: #333; }} svg .tick {{ stroke: #333; }} svg .grid {{ stroke: #e6e6e6; }}
svg .series {{ fill: none; stroke: #1f5fbf; stroke-width: 2; }}
svg .window {{ fill: #1f5fbf; opacity: 0.07; }}
svg .bar {{ fill: #3d8bd4; }} svg .bar.open {{ fill: #d4603d; }}
</style></head><body>
<h1>{t}</h1>
<p>Seed <b>{seed}</b> · {proc:?} · strategy {strat:?} · makespan <b>{mk}</b> · {verdict}</p>
"##,
        t = escape(title),
        seed = result.seed,
        proc = result.procedure,
        strat = result.strategy,
        mk = fmt_dur(result.makespan_s),
        verdict = if passed {
            r#"<span class="pass">all properties hold</span>"#
        } else {
            r#"<span class="fail">some properties are violated</span>"#
        }
    );
    if let Some(s) = &result.stopped {
        let _ = writeln!(
            h,
            r#"<p class="fail">Rollout stopped at {}: {}{}</p>"#,
            fmt_dur(s.at_s),
            escape(&s.reason),
            if s.rolled_back {
                " (converged nodes rolled back)"
            } else {
                ""
            }
        );
    }
    if !extras.tool.is_empty() || !extras.replay.is_empty() {
        let _ = writeln!(
            h,
            r#"<p id="replay">{} · replay: <code>{}</code></p>"#,
            escape(&extras.tool),
            escape(&extras.replay)
        );
    }
    if !extras.violations.is_empty() {
        h.push_str("<h2>Violations</h2>\n<table id=\"violations\"><tr><th>step</th><th>time</th><th>rule</th><th>object</th><th>message</th></tr>\n");
        for v in extras.violations {
            let _ = writeln!(
                h,
                r#"<tr><td class="num">{}</td><td class="num">{}</td><td class="fail">{}</td><td>{}</td><td>{}</td></tr>"#,
                v.step.map_or("end".to_owned(), |s| s.to_string()),
                v.time_s.map_or("–".to_owned(), fmt_dur),
                escape(v.rule.as_str()),
                escape(&v.object),
                escape(&v.message)
            );
        }
        h.push_str("</table>\n");
    }
    if result.failed_nodes.count + result.failed_workstations.count > 0 {
        h.push_str("<h2>Failed nodes and workstations</h2>\n<table id=\"failed\"><tr><th>kind</th><th>name</th><th>what failed</th><th>step</th><th>time</th></tr>\n");
        for (kind, list) in [
            ("node", &result.failed_nodes),
            ("workstation", &result.failed_workstations),
        ] {
            for f in &list.first {
                let _ = writeln!(
                    h,
                    r#"<tr><td>{kind}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
                    escape(&f.name),
                    f.what,
                    f.step,
                    fmt_dur(f.at_s)
                );
            }
            let more = list.count as usize - list.first.len();
            if more > 0 {
                let _ = writeln!(
                    h,
                    r#"<tr><td>{kind}</td><td colspan="4">and {more} more</td></tr>"#
                );
            }
        }
        h.push_str("</table>\n");
    }
    if !result.steps.is_empty() {
        h.push_str("<h2>Runbook step timeline</h2>\n");
        h.push_str(&gantt_chart(result, &extras.step_labels));
    }
    h.push_str("<h2>Nodes converged over time</h2>\n");
    h.push_str(&convergence_chart(result));
    h.push_str("\n<h2>VU downtime</h2>\n");
    h.push_str(&downtime_chart(result, vu_name));
    h.push_str("\n<h2>Mixed-version window</h2>\n");
    h.push_str(&mixed_chart(result));
    h.push_str(&rollout_tables(result));
    h.push_str("\n<h2>Properties</h2>\n<table id=\"properties\"><tr><th>property</th><th>result</th></tr>\n");
    for (name, ok) in properties {
        let _ = writeln!(
            h,
            r#"<tr><td>{}</td><td class="{}">{}</td></tr>"#,
            escape(name),
            if *ok { "pass" } else { "fail" },
            if *ok { "pass" } else { "FAIL" }
        );
    }
    h.push_str("</table>\n<h2>Metrics</h2>\n<table id=\"metrics\"><tr><th>metric</th><th>value</th></tr>\n");
    for (name, v) in result.flat_metrics() {
        let shown = match v {
            None => "–".to_owned(),
            Some(v) if name.ends_with("_us") => fmt_dur(v as f64 / 1e6),
            Some(v) if name == "passed" || name == "stopped" || name == "fits_windows" => {
                if v != 0 { "yes" } else { "no" }.to_owned()
            }
            Some(v) if name == "bytes_sent" => fmt_bytes(v),
            Some(v) => v.to_string(),
        };
        let _ = writeln!(
            h,
            r#"<tr><td title="{name}">{}</td><td class="num">{shown}</td></tr>"#,
            metric_label(name)
        );
    }
    h.push_str("</table>\n</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timing::{self, PackageInfo, Plan, TimingConfig, TopologySpec};

    fn render(nodes: u32, vus: u32) -> (String, usize) {
        let topo = TopologySpec {
            nodes,
            vus,
            instances: 2,
            workstations: 0,
            msi: 0,
            packages: vec![PackageInfo {
                name: "Chat".into(),
                payload_bytes: 1000,
            }],
        }
        .generate();
        let r =
            timing::simulate(&topo, &Plan::install(), &TimingConfig::default(), 1).expect("runs");
        let html = render_html("t", &r, &[], &|v| topo.vu_name(v));
        (html, r.series.vu_downtime.len())
    }

    #[test]
    fn downtime_bars_are_labelled_with_vu_names_and_many_vus_give_a_histogram() {
        let (html, n) = render(8, 4);
        assert!(n > 0);
        assert_eq!(html.matches(r#"class="vu""#).count(), n);
        assert!(!html.contains("rotate(-45)"));
        let (html, n) = render(60, 30);
        assert!(n > MAX_FLAT_LABELS && n <= MAX_VU_BARS);
        assert_eq!(html.matches("rotate(-45)").count(), n);
        let (html, n) = render(400, 200);
        assert!(n > MAX_VU_BARS);
        assert!(!html.contains(r#"class="vu""#));
        assert!(html.contains("Histogram of VU downtime"));
    }

    #[test]
    fn metrics_have_human_labels_and_the_mixed_chart_fits_its_rows() {
        let (html, _) = render(8, 4);
        assert!(html.contains(r#"<td title="makespan_us">makespan</td>"#));
        assert!(html.contains(">convergence p50</td>"));
        assert!(!html.contains(">makespan_us<"));
        let h = MT + MB + 44.0;
        assert!(html.contains(&format!(r#"id="chart-mixed" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {h}""#)));
    }
}
