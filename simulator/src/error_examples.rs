//! One constructed value of every variant of this crate's error enums, for the CLI's
//! test that every error it can print names what is wrong and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! Each list is checked against an exhaustive `match` here: a new variant does not
//! compile until it has an arm, and the list fails its check until it has an example.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::generate::ParamError;
use crate::model_xml::{ModelError, Problem};
use crate::runbook::DeriveError;
use crate::scenario::{ScenarioError, SetupError};
use crate::sweep::SweepError;
use crate::timing::TimingError;

/// A value and a piece of text its rendering must contain (what is wrong, or where).
pub type Example<E> = (E, &'static str);

fn check<E>(all: &[Example<E>], index: fn(&E) -> usize, count: usize, what: &str) {
    let seen: BTreeSet<usize> = all.iter().map(|(e, _)| index(e)).collect();
    assert_eq!(
        seen,
        (0..count).collect(),
        "{what}: a variant has no example"
    );
}

fn io() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "not found")
}

fn model_index(e: &ModelError) -> usize {
    match e {
        ModelError::Io { .. } => 0,
        ModelError::TooLarge { .. } => 1,
        ModelError::Invalid { .. } => 2,
    }
}

/// Every [`ModelError`] variant.
pub fn model_errors() -> Vec<Example<ModelError>> {
    let path = || PathBuf::from("models/site.xml");
    let all = vec![
        (
            ModelError::Io {
                path: path(),
                source: io(),
            },
            "models/site.xml",
        ),
        (ModelError::TooLarge { path: path() }, "models/site.xml"),
        (
            ModelError::Invalid {
                path: path(),
                problems: vec![Problem {
                    line: 3,
                    column: 7,
                    message: "unknown node `X`".into(),
                }],
            },
            "unknown node `X`",
        ),
    ];
    check(&all, model_index, 3, "ModelError");
    all
}

fn toml_error(hint: Option<&str>) -> ScenarioError {
    ScenarioError {
        file: PathBuf::from("scenarios/a.toml"),
        line: 4,
        column: 1,
        key: "step[3].action".into(),
        message: "unknown action `sync`".into(),
        hint: hint.map(str::to_owned),
    }
}

/// A scenario or runbook file error, with and without a hint of its own.
pub fn scenario_errors() -> Vec<Example<ScenarioError>> {
    vec![
        (
            toml_error(Some("did you mean `synchronize`?")),
            "unknown action `sync`",
        ),
        (toml_error(None), "unknown action `sync`"),
    ]
}

fn setup_index(e: &SetupError) -> usize {
    match e {
        SetupError::Model(_) => 0,
        SetupError::Generate { .. } => 1,
        SetupError::Derive(DeriveError::NoMatchingBase { .. }) => 2,
        SetupError::Runbook(_) => 3,
        SetupError::ExtractedWithoutMsi { .. } => 4,
        SetupError::Rollout(_) => 5,
    }
}

/// Every [`SetupError`] variant (and every [`DeriveError`]).
pub fn setup_errors() -> Vec<Example<SetupError>> {
    let all = vec![
        (
            SetupError::Model(ModelError::TooLarge {
                path: "models/site.xml".into(),
            }),
            "models/site.xml",
        ),
        (
            SetupError::Generate {
                file: "scenarios/a.toml".into(),
                source: ParamError {
                    key: "instances",
                    message: "must be 1 or 2".into(),
                },
            },
            "instances",
        ),
        (
            SetupError::Derive(DeriveError::NoMatchingBase {
                hotfix: "HF-1".into(),
                base: "7.0 SP3".into(),
            }),
            "7.0 SP3",
        ),
        (
            SetupError::Runbook(toml_error(None)),
            "unknown action `sync`",
        ),
        (
            SetupError::ExtractedWithoutMsi {
                model: "models/site.xml".into(),
                hotfix: "HF-1".into(),
                msi: "AgentDesktop.msi".into(),
                product_code: "{X}".into(),
            },
            "AgentDesktop.msi",
        ),
        (
            SetupError::Rollout(TimingError::InvalidValue {
                table: "rollout".into(),
                key: "wave_size".into(),
                message: "must be at least 1".into(),
            }),
            "wave_size",
        ),
    ];
    check(&all, setup_index, 6, "SetupError");
    all
}

fn timing_index(e: &TimingError) -> usize {
    match e {
        TimingError::UnknownKey { .. } => 0,
        TimingError::InvalidValue { .. } => 1,
        TimingError::Topology(_) => 2,
        TimingError::Plan(_) => 3,
        TimingError::Io { .. } => 4,
        TimingError::Parse { .. } => 5,
        TimingError::At { .. } => 6,
    }
}

/// Every [`TimingError`] variant.
pub fn timing_errors() -> Vec<Example<TimingError>> {
    let all = vec![
        (
            TimingError::UnknownKey {
                table: "timing".into(),
                key: "latncy".into(),
                allowed: "latency".into(),
            },
            "latncy",
        ),
        (
            TimingError::InvalidValue {
                table: "faults".into(),
                key: "rate".into(),
                message: "must be in 0..1".into(),
            },
            "must be in 0..1",
        ),
        (TimingError::Topology("no node".into()), "no node"),
        (TimingError::Plan("empty batch".into()), "empty batch"),
        (
            TimingError::Io {
                path: "scenarios/t.toml".into(),
                source: io(),
            },
            "scenarios/t.toml",
        ),
        (
            TimingError::Parse {
                path: "scenarios/t.toml".into(),
                message: "expected a table".into(),
            },
            "expected a table",
        ),
        (
            TimingError::At {
                path: "scenarios/t.toml".into(),
                line: 9,
                column: 2,
                source: Box::new(TimingError::Plan("empty batch".into())),
            },
            "scenarios/t.toml:9:2",
        ),
    ];
    check(&all, timing_index, 7, "TimingError");
    all
}

fn sweep_index(e: &SweepError) -> usize {
    match e {
        SweepError::Seeds(_) => 0,
        SweepError::Shard(_) => 1,
        SweepError::Run { .. } => 2,
        SweepError::Merge(_) => 3,
        SweepError::InputDiffers { .. } => 4,
        SweepError::Threads(_) => 5,
    }
}

/// Every [`SweepError`] variant.
pub fn sweep_errors() -> Vec<Example<SweepError>> {
    let all = vec![
        (SweepError::Seeds("5..1".into()), "5..1"),
        (SweepError::Shard("3/2".into()), "3/2"),
        (
            SweepError::Run {
                seed: 17,
                message: "node down".into(),
            },
            "seed 17",
        ),
        (
            SweepError::Merge("shard 2 of 3 is missing".into()),
            "shard 2 of 3 is missing",
        ),
        (
            SweepError::InputDiffers {
                shard: 1,
                role: "model".into(),
                path: "models/site.xml".into(),
                first: "aa".into(),
                other: "bb".into(),
            },
            "models/site.xml",
        ),
        (SweepError::Threads("out of memory".into()), "out of memory"),
    ];
    check(&all, sweep_index, 6, "SweepError");
    all
}
