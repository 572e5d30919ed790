//! Integration tests of the simulator library: one binary, one module per concern.

mod metrics;
mod model;
mod oracle;
mod permutations;
mod rolling;
mod rules;
mod scenarios;
mod support;
mod timed;
mod windows;
mod wrong;
