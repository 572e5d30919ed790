//! Simulator of installing and removing hotfixes on a multi-node system model.
#![forbid(unsafe_code)]

// Logical model, operations, runbooks and properties (issue 5).
pub mod generate;
pub mod model;
pub mod model_xml;
pub mod ops;
pub mod plan;
pub mod properties;
pub mod run;
pub mod runbook;
pub mod scenario;
pub mod simulation;
mod toml_util;

// Timing engine, HTML report and seed sweeps (issue 6).
pub mod report;
pub mod sweep;
pub mod timing;
