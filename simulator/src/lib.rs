//! Simulator of installing and removing hotfixes on a multi-node system model.
//!
//! A [`model::Model`] is a contact-center installation as the installation
//! administration (IA) sees it: nodes, virtual units with instances of software
//! packages, base installations, hotfixes in their states, and agent workstations with
//! MSI components. It is read from XML ([`model_xml`]) or generated at any size
//! ([`generate`]). A [`runbook::Runbook`] is the list of IA actions an operator takes
//! (extract, add to base, synchronize, apply, install MSIs...); [`runbook`] derives the
//! standard install and removal ones from a hotfix.
//!
//! [`run::run`] executes the runbooks step by step ([`ops`]): every step checks the
//! rules the IA would enforce ([`rules`], one stable id each), and the end of a run
//! checks the properties an installation must have ([`properties`]: every instance at
//! its target, nothing half applied...). [`simulation`] adds simulated time ([`timing`]:
//! transfers, applies, failures, rollout batches) to the same steps; [`sweep`] repeats
//! it over seeds. [`scenario`] reads the TOML files the CLI's `hotfix sim` takes, and
//! [`render`] and [`report`] print results as text, JSON, Markdown or HTML.
//!
//! A simulation is a pure function of its inputs: no clock, no file system (except the
//! loaders named so), no global random state; a seed decides every random choice.
//!
//! The standard install of a hotfix on the committed six-node model:
//!
//! ```
//! use hotfix_sim::ops::HotfixInfo;
//! use hotfix_sim::run::{RunOptions, run};
//!
//! let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/models");
//! let mut model = hotfix_sim::model_xml::load_file(&models.join("contact-center.xml"))?;
//! let hotfix = HotfixInfo {
//!     id: "HF-7.0.3-0042".into(),
//!     title: "Chat messages lost on failover".into(),
//!     release: "7.0".into(),
//!     support_package: "SP3".into(),
//!     packages: vec![("ChatServer".into(), "7.0.3.12".into())],
//!     package_bytes: vec![100_000],
//!     requires: vec![],
//!     msis: vec![],
//!     standing: Default::default(),
//! };
//! let runbook = hotfix_sim::runbook::standard_install_for(&hotfix, &model)?;
//! let report = run(&mut model, &hotfix, &[runbook], &RunOptions::default());
//! assert!(report.passed, "{:?}", report.violations);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

// Logical model, operations, runbooks, properties, and the simulation that joins them
// with the timing engine.
#[cfg(feature = "error-examples")]
pub mod error_examples;
pub mod generate;
pub mod model;
pub mod model_xml;
pub mod ops;
pub mod plan;
pub mod properties;
pub mod rules;
pub mod run;
pub mod runbook;
pub mod scenario;
pub mod simulation;
mod toml_util;

// Timing engine, HTML report and seed sweeps.
pub mod compare;
pub mod render;
pub mod report;
pub mod sweep;
pub mod timing;

// Running sweeps and comparisons on cluster schedulers.
pub mod jobs;
