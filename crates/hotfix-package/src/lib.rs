//! Hotfix packages: deterministic build, streaming verification, safe atomic extraction.
//!
//! A package is a zip archive in one canonical form (`docs/FORMAT.md`): the signed
//! manifest `hotfix.xml` first, then minisign signature entries, then the payload in
//! manifest order. This crate holds the logic of every command that touches one:
//!
//! - [`build`](mod@build): plan a [`BuildSpec`](hotfix_manifest::BuildSpec)'s files, hash
//!   and compress them on all cores, sign the manifest, write a byte-reproducible package
//!   (through [`zipwrite`]'s fixed header fields);
//! - [`cosign`]: add a signature by another key, every other byte kept;
//! - [`reader`]: the strict streaming reader every command reads packages with; it
//!   searches for nothing and refuses anything but the canonical form;
//! - [`verify`](mod@verify): signatures over the raw manifest bytes first (no XML is
//!   parsed before a trusted key signed it), then every payload byte against the signed
//!   manifest, in bounded memory, collecting every [`rules::Rule`] broken;
//! - [`extract`](mod@extract): verify into a temporary folder under the installation's
//!   [`lock`], then one rename into `Install/hotfixes/<ID>`; nothing is written unless
//!   everything verified;
//! - [`list`]: what an installation holds, and whether its files still match;
//! - [`inspect`](mod@inspect): what a package claims, without trusting it;
//! - [`sbom`]: the CycloneDX bill of materials a build adds.
//!
//! Everything read from a package or an installation is untrusted: it is bounded, never
//! followed through a symbolic link, and a problem is a [`rules::Rule`] with a message,
//! never a panic. The crate never prints; the CLI does.
//!
//! Build the sample hotfix, verify it and extract it into an empty installation:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//!
//! use hotfix_manifest::BuildSpec;
//! use hotfix_package::extract::{ExtractOptions, extract};
//! use hotfix_package::verify::{NullSink, verify};
//! use hotfix_package::{BuildOptions, build};
//! use hotfix_sign::{SecretKey, TrustSet};
//!
//! let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packages/HF-7.0.3-0042");
//! let spec = BuildSpec::load(&sample)?;
//! let key = SecretKey::generate()?;
//! let work = tempfile::tempdir()?;
//! let package = work.path().join("HF-7.0.3-0042.zip");
//! let options = BuildOptions::new(&package).source_date_epoch(Some(1_750_000_000));
//! build(&spec, &key, &options)?;
//!
//! let mut trust = TrustSet::default();
//! trust.insert(key.public_key(), Path::new("release.pub"))?;
//! let report = verify(&package, &trust, 1, &mut NullSink)?;
//! assert!(report.ok, "{:?}", report.failures);
//!
//! let install = work.path().join("install");
//! std::fs::create_dir(&install)?;
//! let done = extract(&package, &install, &trust, 1, ExtractOptions::default())?;
//! assert!(done.target.ends_with("Install/hotfixes/HF-7.0.3-0042"));
//! assert!(done.target.join("hotfix.xml").is_file());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod archive;
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
pub mod progress;
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
pub use cosign::{CosignError, add_signature, add_signature_with_progress};
pub use inspect::{InspectError, Inspection, Signer, inspect};
