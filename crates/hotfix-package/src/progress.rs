//! How long work reports how far it got: bytes done, the file at hand, the phase.
//!
//! `build`, `verify`, `extract` and `list` (with `check`) call a [`Progress`] from the
//! points where they already touch each file or chunk; the caller decides what to show
//! (the CLI draws a bar on a terminal, prints per-file lines with `--verbose`). This
//! module only defines the calls: it never draws, prints or measures time, and a library
//! crate never depends on a terminal library for it.
//!
//! Calls come from the hot loops (once per file and per chunk of at most
//! [`crate::verify::CHUNK_BYTES`]), so an implementation must be cheap: count with
//! atomics and redraw at most now and then. Every method has a no-op default.

/// What the work is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Reading the payload: `total` bytes (the sum of the file sizes) to go through.
    /// Building compresses and hashes them; verify and extract hash (and write) them;
    /// a list check rehashes them.
    Payload { total: u64 },
    /// Signing the manifest (a token may take a while).
    Signing,
    /// Flushing what was written to disk (`fsync`) before it is renamed into place.
    Syncing,
    /// Reading the finished package again for its SHA-256.
    Hashing,
}

/// Receives progress from long work; see the module documentation. `Sync`: some calls
/// may come from worker threads.
pub trait Progress: Sync {
    /// A new phase starts.
    fn phase(&self, _phase: Phase) {}
    /// The payload file `name` (`size` bytes) is being read now.
    fn file(&self, _name: &str, _size: u64) {}
    /// `n` more payload bytes were processed.
    fn bytes(&self, _n: u64) {}
    /// The payload file `name` was processed completely and matched what it should
    /// (written into the package, verified, extracted or rehashed). Files that break a
    /// rule are reported where the work reports failures, not here.
    fn file_done(&self, _name: &str, _size: u64) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}
