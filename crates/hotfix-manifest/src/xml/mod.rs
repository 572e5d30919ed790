//! Manifest XML, format v1: deterministic writer and strict, bounded reader.
//!
//! The writer produces the exact bytes that are signed, so it is a fixed template: fixed
//! element and attribute order, two-space indentation, `\n` line ends, UTF-8, no BOM.
//! The reader accepts only what format v1 describes (see `docs/FORMAT.md`) and refuses
//! everything else with an error that carries the line and column: no DOCTYPE (so no DTD,
//! no custom or external entities), no processing instructions, no CDATA, no unknown
//! elements or attributes, nesting and counts bounded. It must never allocate in
//! proportion to anything but the (size-capped) input, and never panic on any input.
//!
//! Reading is two passes over the same bytes: a lexical pass that enforces the
//! structural limits (depth, counts, forbidden constructs) whatever the elements are
//! called, then a schema pass that builds the [`Manifest`](crate::Manifest) and checks
//! every value. One file per concept:
//!
//! - `error.rs`: [`ManifestError`], what every refusal says and where;
//! - `writer.rs`: [`Manifest::to_xml`](crate::Manifest::to_xml), the signed bytes;
//! - `reader.rs`: [`Manifest::from_xml`](crate::Manifest::from_xml) and
//!   [`Manifest::validate`](crate::Manifest::validate): size and encoding checks, then
//!   the two passes;
//! - `position.rs`: byte offsets to 1-based line and column;
//! - `syntax.rs`: XML 1.0 as both passes read it (the configured quick-xml reader,
//!   whitespace, characters, references);
//! - `lexer.rs`: pass 1, structure and limits;
//! - `schema.rs`: pass 2, elements, attributes and values of format v1;
//! - `paths.rs`: the cross-entry rule that no two payload paths collide;
//! - `rules.rs`: value rules (title, versions, GUIDs, digests) shared with the build
//!   spec.

mod error;
mod lexer;
mod paths;
mod position;
mod reader;
pub(crate) mod rules;
mod schema;
mod syntax;
mod writer;

pub use error::{ManifestError, ManifestErrorKind};

/// Manifests larger than this are refused before parsing (and before signature checks
/// read them into memory).
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest element nesting accepted (format v1 itself needs 3).
pub const MAX_DEPTH: usize = 8;

/// Most payload files (`file`, `msi` and `doc` elements together) in one manifest.
pub const MAX_FILES: usize = 1_000_000;

/// Most elements of any kind in one manifest.
pub const MAX_ELEMENTS: usize = 2 * MAX_FILES + 64;

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 256;

/// Longest description (release notes), in bytes of UTF-8.
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;

/// Longest product name, version or other short attribute value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;
