//! Seed sweeps: run one scenario under many seeds, in parallel, and summarize each metric
//! as a distribution over seeds; split a sweep into shards for a cluster scheduler and
//! merge the shard outputs back.
//!
//! Results never depend on the number of threads or shards: runs are collected in seed
//! order, the per-seed metrics are integers (exact through JSON), and the aggregate is
//! always recomputed from the per-seed records. So `merge(shard 0/N, …, shard N-1/N)`
//! is byte-identical to the unsharded sweep.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Format tag of sweep outputs.
pub const FORMAT: &str = "hotfix-sim-sweep/1";

/// Errors of sweep arguments and merges.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    #[error("bad seed range `{0}`: expected A..B (B excluded) or A..=B (B included), A < B")]
    Seeds(String),
    #[error("bad shard `{0}`: expected K/N with 0 <= K < N")]
    Shard(String),
    #[error("seed {seed}: {message}")]
    Run { seed: u64, message: String },
    #[error("cannot merge: {0}")]
    Merge(String),
    /// Shard `shard` (0-based position in the merge's input) was computed from another
    /// version of one input file, or from another set of files.
    #[error("cannot merge: {role} {path} differs between the first shard ({first}) and input {shard} ({other})", shard = .shard + 1)]
    InputDiffers {
        shard: usize,
        role: String,
        path: String,
        first: String,
        other: String,
    },
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

/// Half-open seed range `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRange {
    pub start: u64,
    pub end: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = SweepError;

    /// `"1..101"` (101 excluded) or `"1..=100"`; a single `"7"` is `7..8`.
    fn from_str(s: &str) -> Result<Self, SweepError> {
        let bad = || SweepError::Seeds(s.to_owned());
        let num = |x: &str| x.trim().parse::<u64>().map_err(|_| bad());
        let r = if let Some((a, b)) = s.split_once("..=") {
            SeedRange {
                start: num(a)?,
                end: num(b)?.checked_add(1).ok_or_else(bad)?,
            }
        } else if let Some((a, b)) = s.split_once("..") {
            SeedRange {
                start: num(a)?,
                end: num(b)?,
            }
        } else {
            let a = num(s)?;
            SeedRange {
                start: a,
                end: a.checked_add(1).ok_or_else(bad)?,
            }
        };
        if r.start >= r.end {
            return Err(bad());
        }
        Ok(r)
    }
}

/// Shard `index` of `count` (0-based, like a Kubernetes completion index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = SweepError;

    fn from_str(s: &str) -> Result<Self, SweepError> {
        let bad = || SweepError::Shard(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl SeedRange {
    /// The seeds of this range that belong to `shard` (every N-th, from the K-th).
    pub fn seeds(&self, shard: Option<Shard>) -> Vec<u64> {
        let (k, n) = shard.map_or((0, 1), |s| (u64::from(s.index), u64::from(s.count)));
        (self.start..self.end)
            .filter(|s| (s - self.start) % n == k)
            .collect()
    }
}

/// One seed's outcome: pass/fail and integer metrics by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub seed: u64,
    pub passed: bool,
    pub metrics: BTreeMap<String, u64>,
}

/// A metric's distribution over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Runs that define the metric.
    pub n: u64,
    pub min: u64,
    pub p50: u64,
    pub p95: u64,
    pub max: u64,
    pub mean: f64,
}

/// Counts over all runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub runs: u64,
    pub passed: u64,
    pub failed_seeds: Vec<u64>,
}

/// One input file of a sweep and the digest of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    /// `scenario`, `model`, `runbook`, `package` or `trusted-key`.
    pub role: String,
    pub path: String,
    pub digest: String,
}

impl InputDigest {
    pub fn new(role: &str, path: &str, bytes: &[u8]) -> InputDigest {
        InputDigest {
            role: role.to_owned(),
            path: path.to_owned(),
            digest: crate::timing::digest(bytes),
        }
    }
}

/// The digest of a sweep's inputs as a whole: same files, same contents, same digest.
pub fn inputs_digest(inputs: &[InputDigest]) -> String {
    let mut text = String::new();
    for i in inputs {
        text.push_str(&format!("{} {} {}\n", i.role, i.path, i.digest));
    }
    crate::timing::digest(text.as_bytes())
}

/// The output of `hotfix sim sweep` (and of `hotfix sim merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepOutput {
    pub format: String,
    pub scenario: String,
    /// Digest of every input file together ([`inputs_digest`]).
    pub scenario_digest: String,
    /// Every input file the sweep read (scenario, model, runbooks, package manifest,
    /// trusted keys) with its digest.
    #[serde(default)]
    pub inputs: Vec<InputDigest>,
    pub seeds: SeedRange,
    /// `None` for a whole sweep (or a merge of all shards).
    pub shard: Option<Shard>,
    pub summary: Summary,
    pub aggregate: BTreeMap<String, Distribution>,
    pub runs: Vec<RunRecord>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], q: usize) -> u64 {
    let idx = (q * sorted.len()).div_ceil(100).saturating_sub(1);
    sorted[idx.min(sorted.len() - 1)]
}

/// Distribution of every metric over `runs` (which must be in seed order).
pub fn aggregate(runs: &[RunRecord]) -> BTreeMap<String, Distribution> {
    let mut by_name: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in runs {
        for (k, &v) in &r.metrics {
            by_name.entry(k).or_default().push(v);
        }
    }
    by_name
        .into_iter()
        .map(|(k, vals)| {
            // Sum as u128 in seed order: exact, so the mean does not depend on sharding.
            let sum: u128 = vals.iter().map(|&v| u128::from(v)).sum();
            let mut sorted = vals;
            sorted.sort_unstable();
            let n = sorted.len();
            let d = Distribution {
                n: n as u64,
                min: sorted[0],
                p50: percentile(&sorted, 50),
                p95: percentile(&sorted, 95),
                max: sorted[n - 1],
                mean: sum as f64 / n as f64,
            };
            (k.to_owned(), d)
        })
        .collect()
}

/// Builds the output from per-seed records (sorted here by seed).
pub fn output(
    scenario: &str,
    inputs: &[InputDigest],
    seeds: SeedRange,
    shard: Option<Shard>,
    mut runs: Vec<RunRecord>,
) -> SweepOutput {
    runs.sort_by_key(|r| r.seed);
    let summary = Summary {
        runs: runs.len() as u64,
        passed: runs.iter().filter(|r| r.passed).count() as u64,
        failed_seeds: runs.iter().filter(|r| !r.passed).map(|r| r.seed).collect(),
    };
    SweepOutput {
        format: FORMAT.to_owned(),
        scenario: scenario.to_owned(),
        scenario_digest: inputs_digest(inputs),
        inputs: inputs.to_vec(),
        seeds,
        shard,
        summary,
        aggregate: aggregate(&runs),
        runs,
    }
}

/// Runs `run(seed)` for every seed on `jobs` threads (0: one per core) and returns the
/// records in seed order. `done` is called after each run (for progress), from any thread.
/// The first error in seed order is returned, naming its seed.
pub fn run_seeds<F>(
    seeds: &[u64],
    jobs: usize,
    run: F,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<RunRecord>, SweepError>
where
    F: Fn(u64) -> Result<RunRecord, String> + Sync,
{
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| SweepError::Threads(e.to_string()))?;
    let results: Vec<Result<RunRecord, String>> = pool.install(|| {
        seeds
            .par_iter()
            .map(|&s| {
                let r = run(s);
                done();
                r
            })
            .collect()
    });
    let mut out = Vec::with_capacity(results.len());
    for (r, &seed) in results.into_iter().zip(seeds) {
        out.push(r.map_err(|message| SweepError::Run { seed, message })?);
    }
    Ok(out)
}

/// Combines shard outputs into what one unsharded sweep gives. Every shard `0..N` of the
/// same scenario and seed range must be there exactly once.
pub fn merge(parts: Vec<SweepOutput>) -> Result<SweepOutput, SweepError> {
    let first = parts
        .first()
        .ok_or_else(|| SweepError::Merge("no input".into()))?;
    let (scenario, digest, seeds) = (
        first.scenario.clone(),
        first.scenario_digest.clone(),
        first.seeds,
    );
    let inputs = first.inputs.clone();
    // Name the first input file whose content (or presence) differs.
    for (k, p) in parts.iter().enumerate().skip(1) {
        let n = inputs.len().max(p.inputs.len());
        for i in 0..n {
            let (a, b) = (inputs.get(i), p.inputs.get(i));
            if a == b {
                continue;
            }
            let named = a
                .or(b)
                .map_or(("input", ""), |x| (x.role.as_str(), x.path.as_str()));
            let show = |x: Option<&InputDigest>| match x {
                Some(x) if x.role == named.0 && x.path == named.1 => x.digest.clone(),
                Some(x) => format!("{} {} instead", x.role, x.path),
                None => "absent".to_owned(),
            };
            return Err(SweepError::InputDiffers {
                shard: k,
                role: named.0.to_owned(),
                path: named.1.to_owned(),
                first: show(a),
                other: show(b),
            });
        }
    }
    let mut tally = ShardTally::new(first.shard);
    let mut runs = Vec::new();
    for p in parts {
        if p.format != FORMAT {
            return Err(SweepError::Merge(format!(
                "format `{}`, expected `{FORMAT}`",
                p.format
            )));
        }
        if p.scenario_digest != digest || p.seeds != seeds {
            return Err(SweepError::Merge(format!(
                "shards of different sweeps: scenario {} ({}) seeds {}..{} vs scenario {} ({}) seeds {}..{}",
                scenario,
                digest,
                seeds.start,
                seeds.end,
                p.scenario,
                p.scenario_digest,
                p.seeds.start,
                p.seeds.end
            )));
        }
        let (k, n) = tally.mark(p.shard).map_err(SweepError::Merge)?;
        let expected = seeds.seeds(p.shard);
        let got: Vec<u64> = p.runs.iter().map(|r| r.seed).collect();
        if got != expected {
            return Err(SweepError::Merge(format!(
                "shard {k}/{n} does not hold exactly its seeds"
            )));
        }
        runs.extend(p.runs);
    }
    tally.complete().map_err(SweepError::Merge)?;
    Ok(output(&scenario, &inputs, seeds, None, runs))
}

/// Which shards of an `N`-way split a merge has seen (sweeps and comparisons): each once,
/// all split the same way, none missing.
pub(crate) struct ShardTally {
    seen: Vec<bool>,
}

impl ShardTally {
    /// A tally for the split of the first shard (an unsharded run is shard 0 of 1).
    pub(crate) fn new(first: Option<Shard>) -> ShardTally {
        ShardTally {
            seen: vec![false; first.map_or(1, |s| s.count) as usize],
        }
    }

    /// Records `shard`; its `(index, count)`, or why it does not belong.
    pub(crate) fn mark(&mut self, shard: Option<Shard>) -> Result<(u32, u32), String> {
        let count = self.seen.len();
        let (k, n) = shard.map_or((0, 1), |s| (s.index, s.count));
        if n as usize != count {
            return Err(format!("shards split {count} ways and {n} ways"));
        }
        if std::mem::replace(&mut self.seen[k as usize], true) {
            return Err(format!("shard {k}/{n} given twice"));
        }
        Ok((k, n))
    }

    /// Every shard was seen, or which are missing.
    pub(crate) fn complete(&self) -> Result<(), String> {
        let count = self.seen.len();
        let missing: Vec<String> = self
            .seen
            .iter()
            .enumerate()
            .filter(|(_, s)| !**s)
            .map(|(i, _)| format!("{i}/{count}"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing shard(s) {}", missing.join(", ")))
        }
    }
}

/// A sweep as text: one line per metric.
pub fn render_text(o: &SweepOutput) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "scenario {} · seeds {}..={}{} ({} seeds) · {} runs, {} passed",
        o.scenario,
        o.seeds.start,
        o.seeds.end.saturating_sub(1),
        o.shard
            .map(|sh| format!(", shard {}/{}", sh.index, sh.count))
            .unwrap_or_default(),
        o.seeds.seeds(o.shard).len(),
        o.summary.runs,
        o.summary.passed
    );
    if !o.summary.failed_seeds.is_empty() {
        let shown: Vec<String> = o
            .summary
            .failed_seeds
            .iter()
            .take(20)
            .map(u64::to_string)
            .collect();
        let _ = writeln!(
            s,
            "failed seeds: {}{}",
            shown.join(", "),
            if o.summary.failed_seeds.len() > 20 {
                ", ..."
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        s,
        "{:<28} {:>14} {:>14} {:>14} {:>14} {:>14}",
        "metric", "min", "p50", "p95", "max", "mean"
    );
    for (k, d) in &o.aggregate {
        let f = |v: f64| {
            if k.ends_with("_us") {
                human_us(v)
            } else if v == v.trunc() {
                format!("{v:.0}")
            } else {
                format!("{v:.3}")
            }
        };
        let _ = writeln!(
            s,
            "{:<28} {:>14} {:>14} {:>14} {:>14} {:>14}",
            k,
            f(d.min as f64),
            f(d.p50 as f64),
            f(d.p95 as f64),
            f(d.max as f64),
            f(d.mean)
        );
    }
    s
}

/// A duration given in microseconds, in the largest unit that keeps it readable
/// ("250 µs", "12.5 ms", "42.0 s", "10.0 min", "3.7 h", "3.0 d"). Text output only: JSON
/// keeps the exact microseconds.
pub fn human_duration_us(us: u64) -> String {
    human_us(us as f64)
}

fn human_us(us: f64) -> String {
    const MS: f64 = 1e3;
    const S: f64 = 1e6;
    if us < MS {
        format!("{us:.0} µs")
    } else if us < S {
        format!("{:.1} ms", us / MS)
    } else if us < 120.0 * S {
        format!("{:.1} s", us / S)
    } else if us < 7200.0 * S {
        format!("{:.1} min", us / (60.0 * S))
    } else if us < 48.0 * 3600.0 * S {
        format!("{:.1} h", us / (3600.0 * S))
    } else {
        format!("{:.1} d", us / (86_400.0 * S))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seed: u64, v: u64) -> RunRecord {
        RunRecord {
            seed,
            passed: v.is_multiple_of(2),
            metrics: [("m".to_owned(), v)].into_iter().collect(),
        }
    }

    #[test]
    fn parses_ranges_and_shards() {
        assert_eq!(
            "1..4".parse::<SeedRange>().ok(),
            Some(SeedRange { start: 1, end: 4 })
        );
        assert_eq!(
            "1..=4".parse::<SeedRange>().ok(),
            Some(SeedRange { start: 1, end: 5 })
        );
        assert!("4..4".parse::<SeedRange>().is_err());
        assert!("3/3".parse::<Shard>().is_err());
        let r = SeedRange { start: 10, end: 17 };
        let s = |k| Some(Shard { index: k, count: 3 });
        assert_eq!(r.seeds(s(0)), vec![10, 13, 16]);
        assert_eq!(r.seeds(s(2)), vec![12, 15]);
    }

    #[test]
    fn merge_of_shards_equals_the_whole() {
        let range = SeedRange { start: 0, end: 10 };
        let all: Vec<RunRecord> = range
            .seeds(None)
            .iter()
            .map(|&s| rec(s, s * 7 % 5))
            .collect();
        let whole = output("x", &[], range, None, all.clone());
        let parts = (0..3)
            .rev()
            .map(|k| {
                let sh = Shard { index: k, count: 3 };
                let runs = all
                    .iter()
                    .filter(|r| range.seeds(Some(sh)).contains(&r.seed))
                    .cloned()
                    .collect();
                output("x", &[], range, Some(sh), runs)
            })
            .collect();
        assert_eq!(merge(parts).ok(), Some(whole));
    }

    #[test]
    fn text_names_the_seeds_that_ran_and_durations_in_human_units() {
        let range = SeedRange { start: 1, end: 200 };
        let runs = range
            .seeds(None)
            .iter()
            .map(|&seed| RunRecord {
                seed,
                passed: true,
                metrics: [("makespan_us".to_owned(), 13_363_281_000)]
                    .into_iter()
                    .collect(),
            })
            .collect();
        let text = render_text(&output("x", &[], range, None, runs));
        assert!(text.contains("seeds 1..=199 (199 seeds)"), "{text}");
        assert!(text.contains("3.7 h"), "{text}");
        assert!(!text.contains("13363.281s"), "{text}");
        let sh = Shard { index: 1, count: 3 };
        let part = output("x", &[], range, Some(sh), vec![]);
        assert!(
            render_text(&part).contains("seeds 1..=199, shard 1/3 (66 seeds)"),
            "{}",
            render_text(&part)
        );
    }

    #[test]
    fn durations_read_in_the_largest_fitting_unit() {
        assert_eq!(human_duration_us(250), "250 µs");
        assert_eq!(human_duration_us(12_500), "12.5 ms");
        assert_eq!(human_duration_us(42_000_000), "42.0 s");
        assert_eq!(human_duration_us(600_000_000), "10.0 min");
        assert_eq!(human_duration_us(13_363_281_000), "3.7 h");
        assert_eq!(human_duration_us(3 * 86_400_000_000), "3.0 d");
    }

    #[test]
    fn merge_refuses_missing_or_foreign_shards() {
        let range = SeedRange { start: 0, end: 4 };
        let sh = Shard { index: 0, count: 2 };
        let part = output("x", &[], range, Some(sh), vec![rec(0, 1), rec(2, 1)]);
        let err = merge(vec![part.clone()]).expect_err("missing shard 1");
        assert!(err.to_string().contains("1/2"), "{err}");
        let mut other = part.clone();
        other.scenario_digest = "e".into();
        assert!(merge(vec![part, other]).is_err());
    }
}
