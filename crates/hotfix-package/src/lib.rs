//! Hotfix packages: deterministic build, streaming verification, safe atomic extraction.
#![forbid(unsafe_code)]

pub mod format;
pub mod extract;
pub mod lock;
pub mod reader;
pub mod rules;
pub mod verify;
pub mod list;
