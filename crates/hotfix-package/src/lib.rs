//! Hotfix packages: deterministic build, streaming verification, safe atomic extraction.
#![forbid(unsafe_code)]

pub mod format;
