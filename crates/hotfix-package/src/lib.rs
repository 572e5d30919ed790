//! Hotfix packages: deterministic build, streaming verification, safe atomic extraction.
#![forbid(unsafe_code)]

pub mod build;
pub mod cosign;
#[cfg(feature = "error-examples")]
pub mod error_examples;
pub mod extract;
pub mod format;
mod fsutil;
pub mod inspect;
pub mod list;
pub mod lock;
pub mod reader;
pub mod rules;
pub mod sbom;
#[doc(hidden)]
pub mod tempfiles;
pub mod testhook;
pub mod verify;
pub mod zipwrite;

pub use build::{
    BuildError, BuildOptions, BuildReport, PlannedFile, build, parse_source_date_epoch,
    plan_manifest,
};
pub use cosign::{CosignError, add_signature};
pub use inspect::{InspectError, Inspection, Signer, inspect};
