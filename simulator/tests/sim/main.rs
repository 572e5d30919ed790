//! Integration tests of the simulator library: one binary, one module per concern.

mod model;
mod permutations;
mod rules;
mod scenarios;
mod support;
mod timed;
mod wrong;
