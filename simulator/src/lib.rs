//! Simulator of installing and removing hotfixes on a multi-node system model.
#![forbid(unsafe_code)]
