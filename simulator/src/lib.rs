//! Simulator of installing and removing hotfixes on a multi-node system model.
#![forbid(unsafe_code)]

// Logical model, operations, runbooks, properties, and the simulation that joins them
// with the timing engine.
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
