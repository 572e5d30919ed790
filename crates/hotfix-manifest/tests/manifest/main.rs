//! Integration tests of the manifest crate: XML form (golden, round trip, rejections)
//! and the build spec. One binary, one module per concern.

mod common;
mod format_doc;
mod spec;
mod xml_golden;
mod xml_rejects;
mod xml_roundtrip;
