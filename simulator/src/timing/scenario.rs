//! Timing-only scenarios: a TOML file with `[timing]` (including `[timing.topology]`,
//! the generated system), `[faults]` and `[rollout]`, and nothing that needs a system
//! model or a package. Scale runs and sweeps of a million nodes use these.
//!
//! Scenarios with a `model`, `package` and `runbook` belong to the scenario loader of the
//! simulator core, which hands the same three tables to [`TimingConfig::from_tables`].

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::config::{Procedure, TimingConfig, opt_str};
use super::topology::Topology;
use super::{Plan, TimingError};

/// Top-level keys a timing-only scenario may have.
const KEYS: &[&str] = &["name", "description", "seed", "timing", "faults", "rollout"];

/// A parsed timing-only scenario.
#[derive(Debug, Clone)]
pub struct TimingScenario {
    pub path: PathBuf,
    pub name: String,
    pub description: Option<String>,
    /// Default seed (`seed = N`, else 0); a command-line seed overrides it.
    pub seed: u64,
    pub config: TimingConfig,
    pub topology: Topology,
    pub plan: Plan,
    /// FNV-1a of the file's bytes: identifies the scenario in sweep outputs.
    pub digest: String,
}

/// Splits a scenario table into its `[timing]`, `[faults]` and `[rollout]` tables.
pub fn tables(doc: &Table) -> Result<[Option<&Table>; 3], TimingError> {
    let mut out = [None, None, None];
    for (i, key) in ["timing", "faults", "rollout"].iter().enumerate() {
        out[i] = match doc.get(*key) {
            None => None,
            Some(Value::Table(t)) => Some(t),
            Some(_) => {
                return Err(TimingError::InvalidValue {
                    table: "scenario".into(),
                    key: (*key).into(),
                    message: "expected a table".into(),
                });
            }
        };
    }
    Ok(out)
}

/// FNV-1a 64 of `bytes`, as 16 hex digits (a consistency check, not a security one).
pub fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl TimingScenario {
    /// Whether the file at `path` is a timing-only scenario: valid TOML without a `model`
    /// key. Unreadable or invalid files answer `false`, so that the core's loader reports
    /// them with line and column.
    pub fn is_timing_only(path: &Path) -> bool {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| toml::from_str::<Table>(&text).ok())
            .is_some_and(|doc| !doc.contains_key("model") && doc.contains_key("timing"))
    }

    /// Reads and parses a timing-only scenario file.
    pub fn load(path: &Path) -> Result<Self, TimingError> {
        let text = std::fs::read_to_string(path).map_err(|source| TimingError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path).map_err(|e| e.located(path, &text))
    }

    /// Parses scenario text; `path` is only used in messages and the default name.
    pub fn parse(text: &str, path: &Path) -> Result<Self, TimingError> {
        let doc: Table = toml::from_str(text).map_err(|e| TimingError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        for key in doc.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(TimingError::Parse {
                    path: path.to_owned(),
                    message: format!(
                        "unknown top-level key `{key}` in a timing-only scenario (known: {}); \
                         scenarios with a model, package or runbook run with `hotfix sim run`",
                        KEYS.join(", ")
                    ),
                });
            }
        }
        let [timing, faults, rollout] = tables(&doc)?;
        let config = TimingConfig::from_tables(timing, faults, rollout)?;
        let Some(spec) = &config.topology else {
            return Err(TimingError::Parse {
                path: path.to_owned(),
                message: "a timing-only scenario needs [timing.topology] (nodes, vus, ...)".into(),
            });
        };
        let topology = spec.generate();
        let procedure = config.procedure.unwrap_or(Procedure::Install);
        let plan = match (config.rollout.strategy, procedure) {
            (super::Strategy::Rolling, Procedure::Install) => {
                Plan::rolling(&topology, &config.rollout)
            }
            // A removal keeps the standard procedure (rolling shapes installs only).
            _ => Plan::standard(procedure),
        };
        let name = opt_str(&doc, "scenario", "name")?
            .map(str::to_owned)
            .unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
        let description = opt_str(&doc, "scenario", "description")?.map(str::to_owned);
        let seed = match doc.get("seed") {
            None => 0,
            Some(Value::Integer(i)) if *i >= 0 => *i as u64,
            Some(_) => {
                return Err(TimingError::InvalidValue {
                    table: "scenario".into(),
                    key: "seed".into(),
                    message: "expected a non-negative integer".into(),
                });
            }
        };
        Ok(TimingScenario {
            path: path.to_owned(),
            name,
            description,
            seed,
            config,
            topology,
            plan,
            digest: digest(text.as_bytes()),
        })
    }
}
