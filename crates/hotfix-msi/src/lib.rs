//! Reads the identifying properties of an MSI package from its Property table.
#![forbid(unsafe_code)]
