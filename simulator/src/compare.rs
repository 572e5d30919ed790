//! Strategy comparison: one scenario run under a grid of rollout strategies and a range
//! of seeds; per strategy, the makespan, VU downtime, mixed-version window, windows
//! needed and the probability that the rollout was stopped or rolled back, each with a
//! 95 % confidence interval; the Pareto front; and, under constraints, a recommendation
//! with its reason.
//!
//! The grid is a TOML file whose `[[strategy]]` entries are `[rollout]` tables (the same
//! keys as a scenario's `[rollout]`) with a `name`. The caller runs the simulations (it
//! builds each strategy's scenario by putting the entry in place of the scenario's
//! `[rollout]`); this module parses the grid, summarizes per-seed records and renders the
//! result. Everything here is a pure function of the records in seed order: sharded runs
//! merged give the bytes of the unsharded run, and the bootstrap uses a fixed seed.
//!
//! This module must never read the clock or a global RNG, or depend on thread count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::sweep::{InputDigest, RunRecord, SeedRange, Shard};
use crate::toml_util::{Doc, TomlError};

/// Format tag of comparison outputs.
pub const FORMAT: &str = "hotfix-sim-compare/1";
/// Bootstrap resamples per interval.
const BOOTSTRAP: usize = 1000;
/// The 97.5 % point of the standard normal (two-sided 95 %).
const Z95: f64 = 1.959_963_984_540_054;

/// Per-seed metrics a comparison reads (keys of `TimingResult::flat_metrics`).
pub mod metric {
    pub const MAKESPAN: &str = "makespan_us";
    pub const VU_DOWNTIME_MAX: &str = "vu_downtime_max_us";
    pub const VU_DOWNTIME_MEAN: &str = "vu_downtime_mean_us";
    pub const MIXED_WINDOW: &str = "mixed_window_max_us";
    /// Maintenance windows the rollout needed; present only when the scenario declares
    /// windows.
    pub const WINDOWS_NEEDED: &str = "windows_needed";
    /// 1 when the rollout was stopped (or rolled back) by its failure policy.
    pub const STOPPED: &str = "stopped";
}

/// Errors of a grid file or a comparison merge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompareError {
    #[error("{0}")]
    Grid(TomlError),
    #[error("cannot merge: {0}")]
    Merge(String),
}

/// One strategy of the grid: its name and its `[rollout]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct GridStrategy {
    pub name: String,
    /// The entry without `name`: what goes in place of the scenario's `[rollout]`.
    pub rollout: toml::Table,
}

/// Limits a recommended strategy must meet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    /// p95 over seeds of the longest VU downtime of a run, at most this (µs).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_vu_downtime_us: Option<u64>,
    /// p95 over seeds of the maintenance windows needed, at most this.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fit_windows: Option<u64>,
    /// Upper end of the 95 % interval of the stop/rollback probability, at most this.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_failure_probability: Option<f64>,
}

impl Constraints {
    pub fn is_empty(&self) -> bool {
        self.max_vu_downtime_us.is_none()
            && self.fit_windows.is_none()
            && self.max_failure_probability.is_none()
    }
}

/// A parsed grid file.
#[derive(Debug, Clone)]
pub struct Grid {
    pub path: PathBuf,
    pub description: Option<String>,
    /// The scenario, resolved against the grid's folder.
    pub scenario: Option<PathBuf>,
    pub seeds: Option<SeedRange>,
    pub constraints: Constraints,
    pub strategies: Vec<GridStrategy>,
}

const TOP_KEYS: &[&str] = &[
    "description",
    "scenario",
    "seeds",
    "constraints",
    "strategy",
];
const CONSTRAINT_KEYS: &[&str] = &["max_vu_downtime", "fit_windows", "max_failure_probability"];

impl Grid {
    /// Reads and checks a grid file. Each strategy's table is checked as a `[rollout]`
    /// table; an error names the file, line, column and key.
    pub fn load(path: &Path) -> Result<Grid, CompareError> {
        let text = crate::scenario::read_text(path).map_err(CompareError::Grid)?;
        Grid::parse(path, &text).map_err(CompareError::Grid)
    }

    /// Parses grid text; `path` locates the scenario and names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Grid, TomlError> {
        let (doc, table) = Doc::parse(path, text)?;
        doc.only_keys(&table, "", TOP_KEYS)?;
        let plain: toml::Table = toml::from_str(text)
            .map_err(|e| doc.error(e.span().unwrap_or(0..0), "", e.message().to_owned()))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut grid = Grid {
            path: path.to_owned(),
            description: None,
            scenario: None,
            seeds: None,
            constraints: Constraints::default(),
            strategies: Vec::new(),
        };
        for (k, v) in doc.entries(&table) {
            let key: &str = k.get_ref().as_ref();
            match key {
                "description" => grid.description = Some(doc.str(v, key)?.to_owned()),
                "scenario" => grid.scenario = Some(dir.join(doc.str(v, key)?)),
                "seeds" => {
                    let s = doc.str(v, key)?;
                    grid.seeds = Some(s.parse().map_err(|e: crate::sweep::SweepError| {
                        doc.error(v.span(), key, e.to_string())
                    })?);
                }
                "constraints" => {
                    let t = doc.table(v, key)?;
                    doc.only_keys(t, "constraints", CONSTRAINT_KEYS)?;
                    for (ck, cv) in doc.entries(t) {
                        let name: &str = ck.get_ref().as_ref();
                        let full = format!("constraints.{name}");
                        match name {
                            "max_vu_downtime" => {
                                let s = doc.str(cv, &full)?;
                                grid.constraints.max_vu_downtime_us = Some(
                                    crate::timing::parse_duration(s)
                                        .map_err(|m| doc.error(cv.span(), &full, m))?,
                                );
                            }
                            "fit_windows" => {
                                grid.constraints.fit_windows = Some(doc.u64(cv, &full)?);
                            }
                            _ => {
                                let p = match cv.get_ref() {
                                    toml::de::DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                                    toml::de::DeValue::Integer(i) => i.as_str().parse::<f64>().ok(),
                                    _ => None,
                                }
                                .filter(|p| (0.0..=1.0).contains(p))
                                .ok_or_else(|| {
                                    doc.error(
                                        cv.span(),
                                        &full,
                                        "expected a probability from 0 to 1",
                                    )
                                })?;
                                grid.constraints.max_failure_probability = Some(p);
                            }
                        }
                    }
                }
                _ => {
                    let entries = doc.array(v, "strategy")?;
                    let plain_entries = plain
                        .get("strategy")
                        .and_then(toml::Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for (i, e) in entries.iter().enumerate() {
                        let at = format!("strategy[{}]", i + 1);
                        let t = doc.table(e, &at)?;
                        let name = match t.get("name") {
                            Some(n) => doc.str(n, &format!("{at}.name"))?.to_owned(),
                            None => {
                                return Err(doc
                                    .error(e.span(), &format!("{at}.name"), "missing key")
                                    .with_hint("every [[strategy]] has a name, e.g. name = \"batches-10pc\""));
                            }
                        };
                        if name.is_empty() || name.len() > 64 || name.contains(char::is_control) {
                            return Err(doc.error(
                                t.get("name").map_or(e.span(), |n| n.span()),
                                &format!("{at}.name"),
                                "a name of 1 to 64 printable characters",
                            ));
                        }
                        if grid.strategies.iter().any(|s| s.name == name) {
                            return Err(doc.error(
                                t.get("name").map_or(e.span(), |n| n.span()),
                                &format!("{at}.name"),
                                format!("strategy `{name}` is named twice"),
                            ));
                        }
                        let mut rollout = plain_entries
                            .get(i)
                            .and_then(toml::Value::as_table)
                            .cloned()
                            .unwrap_or_default();
                        rollout.remove("name");
                        // Checked as the [rollout] table it stands for, so that an error
                        // points here rather than into a generated scenario.
                        if let Err(err) =
                            crate::timing::TimingConfig::from_tables(None, None, Some(&rollout))
                        {
                            let (span, key) = match &err {
                                crate::timing::TimingError::UnknownKey { key, .. }
                                | crate::timing::TimingError::InvalidValue { key, .. } => (
                                    t.get(key.as_str()).map_or(e.span(), |x| x.span()),
                                    format!("{at}.{key}"),
                                ),
                                _ => (e.span(), at.clone()),
                            };
                            return Err(doc
                                .error(span, &key, err.to_string())
                                .with_hint("a strategy takes the keys of a scenario's [rollout] table (docs/SIMULATOR-TIMING.md)"));
                        }
                        grid.strategies.push(GridStrategy { name, rollout });
                    }
                }
            }
        }
        if grid.strategies.is_empty() {
            return Err(doc
                .error(0..0, "strategy", "no [[strategy]] entries")
                .with_hint(
                    "add [[strategy]] tables, each a name and the keys of a [rollout] table",
                ));
        }
        Ok(grid)
    }
}

/// A scenario's TOML text with `rollout` in place of its `[rollout]` table: what a
/// strategy of the grid runs. Paths in it stay relative to the scenario's file.
pub fn scenario_with_rollout(text: &str, rollout: &toml::Table) -> Result<String, String> {
    let mut doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    doc.insert("rollout".into(), toml::Value::Table(rollout.clone()));
    toml::to_string(&doc).map_err(|e| format!("cannot rewrite the scenario: {e}"))
}

/// A statistic with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// A probability with its Wilson 95 % interval and the counts it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub count: u64,
    pub runs: u64,
}

/// Wilson score interval (95 %) for `k` successes in `n` trials.
pub fn wilson(k: u64, n: u64) -> Proportion {
    if n == 0 {
        return Proportion {
            estimate: 0.0,
            low: 0.0,
            high: 1.0,
            count: 0,
            runs: 0,
        };
    }
    let (kf, nf) = (k as f64, n as f64);
    let p = kf / nf;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = Z95 * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    Proportion {
        estimate: p,
        // Exact at the ends (the formula leaves rounding dust there).
        low: if k == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        high: if k >= n {
            1.0
        } else {
            (centre + half).min(1.0)
        },
        count: k,
        runs: n,
    }
}

/// What a statistic is over a sample.
#[derive(Debug, Clone, Copy)]
enum Stat {
    Quantile(usize),
    Mean,
}

fn stat(sorted: &[u64], s: Stat) -> f64 {
    match s {
        Stat::Quantile(q) => {
            let idx = (q * sorted.len()).div_ceil(100).saturating_sub(1);
            sorted[idx.min(sorted.len() - 1)] as f64
        }
        Stat::Mean => sorted.iter().map(|&v| v as f64).sum::<f64>() / sorted.len() as f64,
    }
}

/// The statistic of `values` with a percentile-bootstrap 95 % interval (1,000
/// resamples, PCG seeded from `stream`, so the same values give the same interval).
fn bootstrap(values: &[u64], s: Stat, stream: u64) -> Option<Estimate> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let estimate = stat(&sorted, s);
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0x0c0f_fee5_eed5 ^ stream);
    let n = values.len();
    let mut sample = vec![0u64; n];
    let mut stats = Vec::with_capacity(BOOTSTRAP);
    for _ in 0..BOOTSTRAP {
        for x in sample.iter_mut() {
            let i = ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
            *x = values[i];
        }
        sample.sort_unstable();
        stats.push(stat(&sample, s));
    }
    stats.sort_by(f64::total_cmp);
    Some(Estimate {
        estimate,
        low: stats[BOOTSTRAP * 25 / 1000],
        high: stats[BOOTSTRAP * 975 / 1000 - 1],
    })
}

/// One strategy's summary over the seeds, and its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyResult {
    pub name: String,
    /// The `[rollout]` table the strategy ran with.
    pub rollout: toml::Table,
    /// Seeds run and seeds on which every property held.
    pub runs: u64,
    pub passed: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub makespan_p50_us: Option<Estimate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub makespan_p95_us: Option<Estimate>,
    /// The longest VU downtime of a run: median and p95 over seeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vu_downtime_max_p50_us: Option<Estimate>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vu_downtime_max_p95_us: Option<Estimate>,
    /// The mean VU downtime of a run, averaged over seeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vu_downtime_mean_us: Option<Estimate>,
    /// The longest mixed-version window of a run (over packages): p95 over seeds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mixed_window_p95_us: Option<Estimate>,
    /// Maintenance windows needed: p95 over seeds (only when the scenario has windows).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub windows_needed_p95: Option<Estimate>,
    /// Share of seeds whose rollout was stopped or rolled back by its failure policy.
    pub failure_probability: Proportion,
    /// Not dominated in (makespan p50, longest VU downtime p95, failure probability).
    pub pareto: bool,
    /// Meets every constraint.
    pub eligible: bool,
    /// Why not, one line per constraint it misses.
    pub excluded_by: Vec<String>,
    /// Per seed, in seed order.
    pub records: Vec<RunRecord>,
}

/// The recommendation and its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// `None` when no strategy meets the constraints.
    pub strategy: Option<String>,
    pub reason: String,
}

/// A problem in the comparison's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub rule: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hint: Option<String>,
}

/// The output of `hotfix sim compare` (and of `hotfix sim merge` of its shards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
///
/// The CLI prints it with `schema_version` first (docs/JSON.md); read back, that field is
/// ignored.
pub struct CompareOutput {
    pub format: String,
    /// A strategy was recommended.
    pub ok: bool,
    pub grid: String,
    pub scenario: String,
    pub inputs: Vec<InputDigest>,
    pub inputs_digest: String,
    pub seeds: SeedRange,
    pub shard: Option<Shard>,
    pub constraints: Constraints,
    pub strategies: Vec<StrategyResult>,
    pub recommendation: Recommendation,
    pub problems: Vec<Problem>,
}

fn values(records: &[RunRecord], key: &str) -> Vec<u64> {
    records
        .iter()
        .filter_map(|r| r.metrics.get(key).copied())
        .collect()
}

/// FNV-1a of a name: separates the bootstrap streams of strategies and metrics.
fn stream(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.as_bytes().iter().chain(b"\0") {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Summarizes one strategy's records (sorted here by seed).
fn summarize(name: &str, rollout: &toml::Table, mut records: Vec<RunRecord>) -> StrategyResult {
    records.sort_by_key(|r| r.seed);
    let est = |key: &str, s: Stat, tag: &str| {
        bootstrap(&values(&records, key), s, stream(&[name, key, tag]))
    };
    let stopped = values(&records, metric::STOPPED)
        .iter()
        .filter(|&&v| v != 0)
        .count() as u64;
    StrategyResult {
        name: name.to_owned(),
        rollout: rollout.clone(),
        runs: records.len() as u64,
        passed: records.iter().filter(|r| r.passed).count() as u64,
        makespan_p50_us: est(metric::MAKESPAN, Stat::Quantile(50), "p50"),
        makespan_p95_us: est(metric::MAKESPAN, Stat::Quantile(95), "p95"),
        vu_downtime_max_p50_us: est(metric::VU_DOWNTIME_MAX, Stat::Quantile(50), "p50"),
        vu_downtime_max_p95_us: est(metric::VU_DOWNTIME_MAX, Stat::Quantile(95), "p95"),
        vu_downtime_mean_us: est(metric::VU_DOWNTIME_MEAN, Stat::Mean, "mean"),
        mixed_window_p95_us: est(metric::MIXED_WINDOW, Stat::Quantile(95), "p95"),
        windows_needed_p95: est(metric::WINDOWS_NEEDED, Stat::Quantile(95), "p95"),
        failure_probability: wilson(stopped, records.len() as u64),
        pareto: false,
        eligible: true,
        excluded_by: Vec::new(),
        records,
    }
}

/// The three objectives of the Pareto front, each to be minimized.
fn objectives(s: &StrategyResult) -> [f64; 3] {
    [
        s.makespan_p50_us.map_or(0.0, |e| e.estimate),
        s.vu_downtime_max_p95_us.map_or(0.0, |e| e.estimate),
        s.failure_probability.estimate,
    ]
}

fn dominates(a: &[f64; 3], b: &[f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Text for a duration in µs ("12.5 min").
fn dur(us: f64) -> String {
    crate::sweep::human_duration_us(us.max(0.0).round() as u64)
}

fn pct(p: f64) -> String {
    let v = p * 100.0;
    if v == v.trunc() {
        format!("{v:.0} %")
    } else {
        format!("{v:.1} %")
    }
}

/// Builds the comparison from each strategy's records: statistics, Pareto front,
/// constraints and the recommendation. `runs[i]` are the records of `strategies[i]`.
#[allow(clippy::too_many_arguments)]
pub fn output(
    grid: &str,
    scenario: &str,
    inputs: &[InputDigest],
    seeds: SeedRange,
    shard: Option<Shard>,
    constraints: &Constraints,
    strategies: &[GridStrategy],
    runs: Vec<Vec<RunRecord>>,
) -> CompareOutput {
    let mut results: Vec<StrategyResult> = strategies
        .iter()
        .zip(runs)
        .map(|(s, r)| summarize(&s.name, &s.rollout, r))
        .collect();
    let objs: Vec<[f64; 3]> = results.iter().map(objectives).collect();
    for (i, r) in results.iter_mut().enumerate() {
        r.pareto = !objs.iter().any(|o| dominates(o, &objs[i]));
    }
    let mut problems = Vec::new();
    for r in &mut results {
        if let Some(limit) = constraints.max_vu_downtime_us {
            let got = r.vu_downtime_max_p95_us.map_or(0.0, |e| e.estimate);
            if got > limit as f64 {
                r.excluded_by.push(format!(
                    "longest VU downtime p95 {} > {}",
                    dur(got),
                    dur(limit as f64)
                ));
            }
        }
        if let Some(n) = constraints.fit_windows {
            match r.windows_needed_p95 {
                Some(e) if e.estimate > n as f64 => r
                    .excluded_by
                    .push(format!("needs {} windows (p95) > {n}", e.estimate)),
                Some(_) => {}
                None => r.excluded_by.push(
                    "windows needed unknown: the scenario declares no maintenance windows".into(),
                ),
            }
        }
        if let Some(p) = constraints.max_failure_probability {
            let f = r.failure_probability;
            if f.high > p {
                r.excluded_by.push(format!(
                    "stop/rollback probability up to {} (95 % CI {}–{}) > {}",
                    pct(f.high),
                    pct(f.low),
                    pct(f.high),
                    pct(p)
                ));
            }
        }
        r.eligible = r.excluded_by.is_empty();
    }
    if constraints.fit_windows.is_some() && results.iter().all(|r| r.windows_needed_p95.is_none()) {
        problems.push(Problem {
            rule: "windows-not-modelled".into(),
            message: "a window constraint was given, but no run reports the windows it needed"
                .into(),
            hint: Some("declare maintenance windows in the scenario, or drop --fit-windows".into()),
        });
    }
    // The fastest eligible strategy (median makespan); ties: shorter downtime, lower
    // failure probability, then grid order.
    let best = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.eligible)
        .min_by(|(i, a), (j, b)| {
            let (oa, ob) = (objectives(a), objectives(b));
            oa[0]
                .total_cmp(&ob[0])
                .then(oa[1].total_cmp(&ob[1]))
                .then(oa[2].total_cmp(&ob[2]))
                .then(i.cmp(j))
        })
        .map(|(i, _)| i);
    let recommendation = match best {
        Some(i) => Recommendation {
            strategy: Some(results[i].name.clone()),
            reason: reason(&results, i, constraints),
        },
        None => {
            problems.push(Problem {
                rule: "no-strategy-meets-constraints".into(),
                message: format!(
                    "none of the {} strategies meets the constraints (each strategy's `excluded_by` says why)",
                    results.len()
                ),
                hint: Some(
                    "relax a constraint, or add strategies with smaller waves or more windows"
                        .into(),
                ),
            });
            Recommendation {
                strategy: None,
                reason: "no strategy meets the constraints".into(),
            }
        }
    };
    CompareOutput {
        format: FORMAT.to_owned(),
        ok: recommendation.strategy.is_some() && problems.is_empty(),
        grid: grid.to_owned(),
        scenario: scenario.to_owned(),
        inputs: inputs.to_vec(),
        inputs_digest: crate::sweep::inputs_digest(inputs),
        seeds,
        shard,
        constraints: constraints.clone(),
        strategies: results,
        recommendation,
        problems,
    }
}

/// Why strategy `i` was chosen, in words.
fn reason(results: &[StrategyResult], i: usize, c: &Constraints) -> String {
    let r = &results[i];
    let e = |x: Option<Estimate>| x.map_or_else(|| "n/a".to_owned(), |e| dur(e.estimate));
    let mut parts = Vec::new();
    let eligible = results.iter().filter(|r| r.eligible).count();
    if c.is_empty() {
        parts.push(format!(
            "no constraints were given: it is the fastest of the {} strategies (median makespan {})",
            results.len(),
            e(r.makespan_p50_us)
        ));
    } else {
        parts.push(format!(
            "fastest of the {eligible} of {} strategies that meet the constraints (median makespan {}, 95 % CI {}–{})",
            results.len(),
            e(r.makespan_p50_us),
            r.makespan_p50_us.map_or_else(|| "n/a".into(), |x| dur(x.low)),
            r.makespan_p50_us.map_or_else(|| "n/a".into(), |x| dur(x.high)),
        ));
    }
    if let Some(limit) = c.max_vu_downtime_us {
        parts.push(format!(
            "longest VU downtime p95 {} ≤ {}",
            e(r.vu_downtime_max_p95_us),
            dur(limit as f64)
        ));
    } else if r.vu_downtime_max_p95_us.is_some() {
        parts.push(format!(
            "longest VU downtime p95 {}",
            e(r.vu_downtime_max_p95_us)
        ));
    }
    if let (Some(n), Some(w)) = (c.fit_windows, r.windows_needed_p95) {
        parts.push(format!("needs {} window(s) (p95) ≤ {n}", w.estimate));
    }
    let f = r.failure_probability;
    parts.push(format!(
        "stopped or rolled back in {} of {} seeds ({}, 95 % CI {}–{})",
        f.count,
        f.runs,
        pct(f.estimate),
        pct(f.low),
        pct(f.high)
    ));
    parts.push(if r.pareto {
        "on the Pareto front".to_owned()
    } else {
        "not on the Pareto front: a strategy that misses a constraint beats it on every objective"
            .to_owned()
    });
    let excluded: Vec<String> = results
        .iter()
        .filter(|x| !x.eligible)
        .map(|x| format!("{} ({})", x.name, x.excluded_by.join("; ")))
        .collect();
    if !excluded.is_empty() {
        parts.push(format!("excluded: {}", excluded.join(", ")));
    }
    parts.join("; ")
}

/// Combines shard outputs of one comparison into what the unsharded run gives.
pub fn merge(parts: Vec<CompareOutput>) -> Result<CompareOutput, CompareError> {
    let first = parts
        .first()
        .ok_or_else(|| CompareError::Merge("no input".into()))?;
    let mut tally = crate::sweep::ShardTally::new(first.shard);
    let mut runs: Vec<Vec<RunRecord>> = vec![Vec::new(); first.strategies.len()];
    let names: Vec<&str> = first.strategies.iter().map(|s| s.name.as_str()).collect();
    for p in &parts {
        if p.format != FORMAT {
            return Err(CompareError::Merge(format!(
                "format `{}`, expected `{FORMAT}`",
                p.format
            )));
        }
        if p.inputs != first.inputs || p.seeds != first.seeds || p.constraints != first.constraints
        {
            let what = p
                .inputs
                .iter()
                .zip(&first.inputs)
                .find(|(a, b)| a != b)
                .map_or_else(
                    || "the seed range, the constraints or the set of input files".to_owned(),
                    |(a, _)| format!("{} {}", a.role, a.path),
                );
            return Err(CompareError::Merge(format!(
                "shards of different comparisons: {what} differs"
            )));
        }
        let pn: Vec<&str> = p.strategies.iter().map(|s| s.name.as_str()).collect();
        if pn != names {
            return Err(CompareError::Merge(
                "shards of different grids (the strategies differ)".into(),
            ));
        }
        let (k, n) = tally.mark(p.shard).map_err(CompareError::Merge)?;
        let expected = p.seeds.seeds(p.shard);
        for (i, s) in p.strategies.iter().enumerate() {
            let got: Vec<u64> = s.records.iter().map(|r| r.seed).collect();
            if got != expected {
                return Err(CompareError::Merge(format!(
                    "shard {k}/{n} does not hold exactly its seeds for strategy {}",
                    s.name
                )));
            }
            runs[i].extend(s.records.iter().cloned());
        }
    }
    tally.complete().map_err(CompareError::Merge)?;
    let strategies: Vec<GridStrategy> = first
        .strategies
        .iter()
        .map(|s| GridStrategy {
            name: s.name.clone(),
            rollout: s.rollout.clone(),
        })
        .collect();
    Ok(output(
        &first.grid,
        &first.scenario,
        &first.inputs,
        first.seeds,
        None,
        &first.constraints,
        &strategies,
        runs,
    ))
}

/// Runs `run(strategy index, seed)` for every strategy and seed on `jobs` threads (0: one
/// per core); returns each strategy's records in seed order. `done` is called after each
/// run. The first error (in strategy, then seed order) is returned.
pub fn run_grid<F>(
    strategies: usize,
    seeds: &[u64],
    jobs: usize,
    run: F,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<Vec<RunRecord>>, crate::sweep::SweepError>
where
    F: Fn(usize, u64) -> Result<RunRecord, String> + Sync,
{
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| crate::sweep::SweepError::Threads(e.to_string()))?;
    let n = seeds.len();
    let results: Vec<Result<RunRecord, String>> = pool.install(|| {
        (0..strategies * n)
            .into_par_iter()
            .map(|i| {
                let r = run(i / n, seeds[i % n]);
                done();
                r
            })
            .collect()
    });
    let mut out = vec![Vec::with_capacity(n); strategies];
    for (i, r) in results.into_iter().enumerate() {
        let seed = seeds[i % n];
        out[i / n].push(r.map_err(|message| crate::sweep::SweepError::Run { seed, message })?);
    }
    Ok(out)
}

/// The comparison as text: a table per strategy, the front marked, the recommendation.
pub fn render_text(o: &CompareOutput) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "compare {} on {} · seeds {}..={}{} ({} seeds) · {} strategies",
        o.grid,
        o.scenario,
        o.seeds.start,
        o.seeds.end.saturating_sub(1),
        o.shard
            .map(|sh| format!(", shard {}/{}", sh.index, sh.count))
            .unwrap_or_default(),
        o.seeds.seeds(o.shard).len(),
        o.strategies.len()
    );
    let e = |x: Option<Estimate>| x.map_or_else(|| "n/a".to_owned(), |e| dur(e.estimate));
    let ci = |x: Option<Estimate>| {
        x.map_or_else(String::new, |e| format!("[{}–{}]", dur(e.low), dur(e.high)))
    };
    let has_windows = o.strategies.iter().any(|r| r.windows_needed_p95.is_some());
    let _ = writeln!(
        s,
        "  {:<22} {:>30} {:>10} {:>30} {:>10} {:>10}{} {:>22}  front",
        "strategy",
        "makespan p50 [95% CI]",
        "p95",
        "longest VU down p95 [CI]",
        "mean down",
        "mixed p95",
        if has_windows { "    windows" } else { "" },
        "P(stop) [95% CI]",
    );
    for r in &o.strategies {
        let mark = if o.recommendation.strategy.as_deref() == Some(r.name.as_str()) {
            '*'
        } else {
            ' '
        };
        let f = r.failure_probability;
        let _ = writeln!(
            s,
            "{mark} {:<22} {:>30} {:>10} {:>30} {:>10} {:>10}{} {:>22}  {}",
            r.name,
            format!("{} {}", e(r.makespan_p50_us), ci(r.makespan_p50_us)),
            e(r.makespan_p95_us),
            format!(
                "{} {}",
                e(r.vu_downtime_max_p95_us),
                ci(r.vu_downtime_max_p95_us)
            ),
            e(r.vu_downtime_mean_us),
            e(r.mixed_window_p95_us),
            if has_windows {
                format!(
                    " {:>10}",
                    r.windows_needed_p95
                        .map_or_else(|| "n/a".to_owned(), |w| format!("{}", w.estimate))
                )
            } else {
                String::new()
            },
            format!("{} [{}–{}]", pct(f.estimate), pct(f.low), pct(f.high)),
            if r.pareto { "yes" } else { "" }
        );
    }
    let mut c = Vec::new();
    if let Some(d) = o.constraints.max_vu_downtime_us {
        c.push(format!("longest VU downtime p95 ≤ {}", dur(d as f64)));
    }
    if let Some(n) = o.constraints.fit_windows {
        c.push(format!("fits {n} window(s)"));
    }
    if let Some(p) = o.constraints.max_failure_probability {
        c.push(format!("P(stop) ≤ {} (upper 95 % bound)", pct(p)));
    }
    let _ = writeln!(
        s,
        "constraints: {}",
        if c.is_empty() {
            "none".to_owned()
        } else {
            c.join(", ")
        }
    );
    for r in o.strategies.iter().filter(|r| !r.eligible) {
        let _ = writeln!(s, "excluded {}: {}", r.name, r.excluded_by.join("; "));
    }
    match &o.recommendation.strategy {
        Some(name) => {
            let _ = writeln!(s, "recommended: {name}: {}", o.recommendation.reason);
        }
        None => {
            let _ = writeln!(s, "recommended: none: {}", o.recommendation.reason);
        }
    }
    for p in &o.problems {
        let _ = writeln!(s, "problem [{}]: {}", p.rule, p.message);
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page (inline CSS and SVG, no script): a scatter of median
/// makespan against the p95 of the longest VU downtime, the Pareto front highlighted and
/// joined, the recommended strategy ringed; and a table per strategy.
pub fn render_html(o: &CompareOutput, version: &str) -> String {
    use std::fmt::Write as _;
    let mut h = String::new();
    let title = format!("Rollout strategies: {}", o.scenario);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\
table{{border-collapse:collapse;margin-top:1em}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
td:first-child,th:first-child{{text-align:left}}tr.front td{{background:#eef6ee}}tr.recommended td{{font-weight:bold}}\
.front{{fill:#2a7d2a}}.other{{fill:#fff;stroke:#888;stroke-width:1.5}}.frontline{{fill:none;stroke:#2a7d2a;stroke-width:1.5;stroke-dasharray:4 3}}\
.ring{{fill:none;stroke:#c60;stroke-width:2.5}}.axis{{stroke:#444}}.grid{{stroke:#eee}}text{{font-size:11px}}\
#recommendation{{padding:.6em 1em;background:#fff6e6;border-left:4px solid #c60}}\
</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p id=\"meta\">hotfix {} · grid {} · seeds {}..={} ({} seeds) · {} strategies</p>",
        esc(version),
        esc(&o.grid),
        o.seeds.start,
        o.seeds.end.saturating_sub(1),
        o.seeds.seeds(o.shard).len(),
        o.strategies.len()
    );
    let _ = writeln!(
        h,
        "<p id=\"recommendation\"><b>Recommended: {}</b>: {}</p>",
        esc(o.recommendation.strategy.as_deref().unwrap_or("none")),
        esc(&o.recommendation.reason)
    );
    // Scatter.
    let (w, ht, ml, mb, mt, mr) = (720.0_f64, 420.0_f64, 70.0, 50.0, 20.0, 160.0);
    let pts: Vec<(f64, f64)> = o
        .strategies
        .iter()
        .map(|r| {
            (
                r.makespan_p50_us.map_or(0.0, |e| e.estimate),
                r.vu_downtime_max_p95_us.map_or(0.0, |e| e.estimate),
            )
        })
        .collect();
    // Each axis spans the data with a margin (not from zero: strategies often differ by
    // a few percent, which a zero-based axis would squash into one spot).
    let span = |v: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let pad = if hi > lo {
            (hi - lo) * 0.1
        } else {
            hi.abs().max(1.0) * 0.1
        };
        ((lo - pad).max(0.0), hi + pad)
    };
    let (xmin, xmax) = span(&mut pts.iter().map(|p| p.0));
    let (ymin, ymax) = span(&mut pts.iter().map(|p| p.1));
    let sx = |x: f64| ml + (x - xmin) / (xmax - xmin) * (w - ml - mr);
    let sy = |y: f64| ht - mb - (y - ymin) / (ymax - ymin) * (ht - mb - mt);
    let _ = writeln!(
        h,
        "<h2>Makespan against VU downtime</h2>\n<svg id=\"chart-scatter\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"median makespan against p95 of the longest VU downtime\">"
    );
    for k in 0..=4 {
        let fx = f64::from(k) / 4.0;
        let (vx, vy) = (xmin + fx * (xmax - xmin), ymin + fx * (ymax - ymin));
        let (x, y) = (sx(vx), sy(vy));
        let _ = writeln!(
            h,
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{mt}\" x2=\"{x:.1}\" y2=\"{:.1}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
<line class=\"grid\" x1=\"{ml}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            ht - mb,
            ht - mb + 15.0,
            esc(&dur(vx)),
            w - mr,
            ml - 4.0,
            y + 4.0,
            esc(&dur(vy))
        );
    }
    let _ = writeln!(
        h,
        "<line class=\"axis\" x1=\"{ml}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><line class=\"axis\" x1=\"{ml}\" y1=\"{mt}\" x2=\"{ml}\" y2=\"{:.1}\"/>\
<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">median makespan</text>\
<text x=\"14\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {:.1})\">longest VU downtime (p95 over seeds)</text>",
        ht - mb,
        w - mr,
        ht - mb,
        ht - mb,
        (ml + w - mr) / 2.0,
        ht - 10.0,
        (mt + ht - mb) / 2.0,
        (mt + ht - mb) / 2.0
    );
    let mut front: Vec<(f64, f64)> = o
        .strategies
        .iter()
        .zip(&pts)
        .filter(|(r, _)| r.pareto)
        .map(|(_, p)| *p)
        .collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    if front.len() > 1 {
        let path: Vec<String> = front
            .iter()
            .map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1)))
            .collect();
        let _ = writeln!(
            h,
            "<polyline class=\"frontline\" points=\"{}\"/>",
            path.join(" ")
        );
    }
    // Labels top to bottom, each at least 13 px below the one above it.
    let mut order: Vec<usize> = (0..pts.len()).collect();
    order.sort_by(|&a, &b| sy(pts[a].1).total_cmp(&sy(pts[b].1)).then(a.cmp(&b)));
    let mut label_y = vec![0.0; pts.len()];
    let mut last = f64::NEG_INFINITY;
    for &i in &order {
        let y = (sy(pts[i].1) + 4.0).max(last + 13.0);
        label_y[i] = y;
        last = y;
    }
    for (idx, (r, p)) in o.strategies.iter().zip(&pts).enumerate() {
        let (x, y) = (sx(p.0), sy(p.1));
        let ly = label_y[idx];
        let class = if r.pareto { "front" } else { "other" };
        let f = r.failure_probability;
        let _ = writeln!(
            h,
            "<g class=\"point\" data-strategy=\"{}\"><circle class=\"{class}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"6\"><title>{}: makespan p50 {}, longest VU downtime p95 {}, P(stop) {}</title></circle><text x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(&r.name),
            esc(&r.name),
            esc(&dur(p.0)),
            esc(&dur(p.1)),
            esc(&pct(f.estimate)),
            x + 9.0,
            ly,
            esc(&r.name)
        );
        if o.recommendation.strategy.as_deref() == Some(r.name.as_str()) {
            let _ = writeln!(
                h,
                "<circle id=\"recommended-point\" class=\"ring\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"11\"/>"
            );
        }
    }
    h.push_str("</svg>\n<p>Filled: on the Pareto front (no other strategy is at least as good in median makespan, p95 of the longest VU downtime and stop/rollback probability, and better in one). Ringed: recommended.</p>\n");
    // Table.
    h.push_str("<h2>Strategies</h2>\n<table id=\"strategies\"><thead><tr><th>strategy</th><th>rollout</th><th>makespan p50 [95 % CI]</th><th>makespan p95</th><th>longest VU downtime p95 [95 % CI]</th><th>mean VU downtime</th><th>mixed-version window p95</th><th>windows needed p95</th><th>P(stop or rollback) [95 % CI]</th><th>seeds passed</th><th>Pareto</th><th>constraints</th></tr></thead><tbody>\n");
    let e = |x: Option<Estimate>| x.map_or_else(|| "n/a".to_owned(), |e| dur(e.estimate));
    let ci = |x: Option<Estimate>| {
        x.map_or_else(String::new, |e| {
            format!(" [{}–{}]", dur(e.low), dur(e.high))
        })
    };
    for r in &o.strategies {
        let mut classes = Vec::new();
        if r.pareto {
            classes.push("front");
        }
        if o.recommendation.strategy.as_deref() == Some(r.name.as_str()) {
            classes.push("recommended");
        }
        let rollout = toml::to_string(&r.rollout)
            .unwrap_or_default()
            .lines()
            .collect::<Vec<_>>()
            .join("; ");
        let f = r.failure_probability;
        let _ = writeln!(
            h,
            "<tr class=\"{}\" data-strategy=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} [{}–{}]</td><td>{} / {}</td><td>{}</td><td>{}</td></tr>",
            classes.join(" "),
            esc(&r.name),
            esc(&r.name),
            esc(&rollout),
            esc(&e(r.makespan_p50_us)),
            esc(&ci(r.makespan_p50_us)),
            esc(&e(r.makespan_p95_us)),
            esc(&e(r.vu_downtime_max_p95_us)),
            esc(&ci(r.vu_downtime_max_p95_us)),
            esc(&e(r.vu_downtime_mean_us)),
            esc(&e(r.mixed_window_p95_us)),
            r.windows_needed_p95
                .map_or_else(|| "n/a".to_owned(), |w| format!("{}", w.estimate)),
            esc(&pct(f.estimate)),
            esc(&pct(f.low)),
            esc(&pct(f.high)),
            r.passed,
            r.runs,
            if r.pareto { "yes" } else { "" },
            if r.eligible {
                "met".to_owned()
            } else {
                esc(&r.excluded_by.join("; "))
            }
        );
    }
    h.push_str("</tbody></table>\n<p>Intervals: percentile bootstrap (1,000 resamples, fixed seed) for medians, p95 and means; Wilson score interval for the stop/rollback probability.</p>\n</body></html>\n");
    h
}

/// Per-seed metric names a comparison summarizes, for documentation and tests.
pub fn summarized_metrics() -> BTreeMap<&'static str, &'static str> {
    [
        (metric::MAKESPAN, "makespan p50 and p95"),
        (metric::VU_DOWNTIME_MAX, "longest VU downtime p50 and p95"),
        (
            metric::VU_DOWNTIME_MEAN,
            "mean VU downtime, mean over seeds",
        ),
        (metric::MIXED_WINDOW, "longest mixed-version window p95"),
        (metric::WINDOWS_NEEDED, "maintenance windows needed p95"),
        (metric::STOPPED, "stop/rollback probability"),
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seed: u64, makespan: u64, down: u64, stopped: u64) -> RunRecord {
        RunRecord {
            seed,
            passed: stopped == 0,
            metrics: [
                (metric::MAKESPAN.to_owned(), makespan),
                (metric::VU_DOWNTIME_MAX.to_owned(), down),
                (metric::VU_DOWNTIME_MEAN.to_owned(), down / 2),
                (metric::STOPPED.to_owned(), stopped),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn strat(name: &str) -> GridStrategy {
        GridStrategy {
            name: name.into(),
            rollout: toml::Table::new(),
        }
    }

    #[test]
    fn wilson_matches_known_values() {
        // 0 of 100: [0, 3.70 %]; 50 of 100: [40.4 %, 59.6 %].
        let w = wilson(0, 100);
        assert_eq!(w.low, 0.0);
        assert!((w.high - 0.0370).abs() < 1e-4, "{w:?}");
        let w = wilson(50, 100);
        assert!(
            (w.low - 0.4038).abs() < 1e-4 && (w.high - 0.5962).abs() < 1e-4,
            "{w:?}"
        );
    }

    #[test]
    fn bootstrap_interval_holds_the_estimate_and_is_reproducible() {
        let v: Vec<u64> = (1..=100).collect();
        let a = bootstrap(&v, Stat::Quantile(50), 7).expect("estimate");
        assert_eq!(a.estimate, 50.0);
        assert!(
            a.low <= 50.0 && 50.0 <= a.high && a.high - a.low < 30.0,
            "{a:?}"
        );
        assert_eq!(bootstrap(&v, Stat::Quantile(50), 7), Some(a));
    }

    #[test]
    fn front_constraints_and_recommendation() {
        let seeds = SeedRange { start: 0, end: 20 };
        // fast but long downtime; slow and short; dominated (slow and long); fast, short,
        // but stops often.
        let mk = |m, d, stop_every: u64| -> Vec<RunRecord> {
            (0..20)
                .map(|s| {
                    rec(
                        s,
                        m + s,
                        d + s,
                        u64::from(stop_every > 0 && s % stop_every == 0),
                    )
                })
                .collect()
        };
        let runs = vec![
            mk(100, 1000, 0),
            mk(500, 50, 0),
            mk(600, 1200, 0),
            mk(90, 40, 2),
        ];
        let names = [strat("aao"), strat("rolling"), strat("bad"), strat("risky")];
        let none = output(
            "g",
            "s",
            &[],
            seeds,
            None,
            &Constraints::default(),
            &names,
            runs.clone(),
        );
        let front: Vec<bool> = none.strategies.iter().map(|s| s.pareto).collect();
        assert_eq!(front, vec![true, true, false, true]);
        assert_eq!(none.recommendation.strategy.as_deref(), Some("risky"));
        let c = Constraints {
            max_vu_downtime_us: Some(100),
            max_failure_probability: Some(0.2),
            ..Constraints::default()
        };
        let o = output("g", "s", &[], seeds, None, &c, &names, runs.clone());
        assert_eq!(
            o.recommendation.strategy.as_deref(),
            Some("rolling"),
            "{o:#?}"
        );
        assert!(o.ok);
        assert!(
            o.recommendation.reason.contains("excluded: aao"),
            "{}",
            o.recommendation.reason
        );
        let impossible = Constraints {
            max_vu_downtime_us: Some(1),
            ..Constraints::default()
        };
        let o = output("g", "s", &[], seeds, None, &impossible, &names, runs);
        assert_eq!(o.recommendation.strategy, None);
        assert!(!o.ok);
        assert_eq!(o.problems[0].rule, "no-strategy-meets-constraints");
    }

    #[test]
    fn merged_shards_equal_the_whole() {
        let seeds = SeedRange { start: 3, end: 20 };
        let names = [strat("a"), strat("b")];
        let all: Vec<Vec<RunRecord>> = (0..2)
            .map(|k| {
                seeds
                    .seeds(None)
                    .iter()
                    .map(|&s| rec(s, s * 7 + k, s % 5, s % 3 / 2))
                    .collect()
            })
            .collect();
        let c = Constraints::default();
        let whole = output("g", "s", &[], seeds, None, &c, &names, all.clone());
        let parts: Vec<CompareOutput> = (0..3)
            .rev()
            .map(|k| {
                let sh = Shard { index: k, count: 3 };
                let mine = seeds.seeds(Some(sh));
                let runs = all
                    .iter()
                    .map(|rs| {
                        rs.iter()
                            .filter(|r| mine.contains(&r.seed))
                            .cloned()
                            .collect()
                    })
                    .collect();
                output("g", "s", &[], seeds, Some(sh), &c, &names, runs)
            })
            .collect();
        assert_eq!(merge(parts).ok(), Some(whole));
    }

    #[test]
    fn grid_errors_name_line_and_key() {
        let text = "scenario = \"x.toml\"\n[[strategy]]\nname = \"a\"\nstrategy = \"batches\"\nbatch_pct = 5\n";
        let err = Grid::parse(Path::new("g.toml"), text).expect_err("unknown key");
        assert_eq!(
            (err.line, err.key.as_str()),
            (5, "strategy[1].batch_pct"),
            "{err}"
        );
        let err = Grid::parse(
            Path::new("g.toml"),
            "[[strategy]]\nstrategy = \"all-at-once\"\n",
        )
        .expect_err("no name");
        assert!(err.to_string().contains("strategy[1].name"), "{err}");
        let ok = Grid::parse(
            Path::new("d/g.toml"),
            "scenario = \"s.toml\"\nseeds = \"1..=10\"\n[constraints]\nmax_vu_downtime = \"30m\"\n[[strategy]]\nname = \"b\"\nstrategy = \"batches\"\nbatch_size = 2\n",
        )
        .expect("valid grid");
        assert_eq!(ok.scenario, Some(PathBuf::from("d/s.toml")));
        assert_eq!(ok.constraints.max_vu_downtime_us, Some(1_800_000_000));
        assert_eq!(
            ok.strategies[0]
                .rollout
                .get("batch_size")
                .and_then(toml::Value::as_integer),
            Some(2)
        );
        assert!(!ok.strategies[0].rollout.contains_key("name"));
    }
}
