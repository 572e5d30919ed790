//! The payload: files compressed and hashed in parallel (rayon, see `compress.rs`), with
//! a bounded window in flight, and written in manifest order through one writer. Entries
//! are never written out of order, and a failure cancels the files still in flight.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::digests::SbomSlot;
use super::{BuildError, PlannedFile, compress};
use crate::archive::{CountingWriter, zip64_policy};
use crate::progress::{Phase, Progress};
use crate::zipwrite::{DosDateTime, EntryHeader, local_header};

/// A payload entry as written.
#[derive(Debug)]
pub(super) struct Written {
    pub(super) index: usize,
    pub(super) method: u16,
    pub(super) crc32: u32,
    pub(super) sha256: [u8; 32],
    pub(super) size: u64,
    pub(super) compressed_size: u64,
    pub(super) offset: u64,
}

impl Written {
    pub(super) fn header<'a>(
        &self,
        files: &'a [PlannedFile],
        modified: DosDateTime,
    ) -> EntryHeader<'a> {
        EntryHeader {
            name: &files[self.index].entry,
            method: self.method,
            crc32: self.crc32,
            compressed_size: self.compressed_size,
            size: self.size,
            modified,
        }
    }
}

/// Most files whose results may wait to be written at once, per worker thread. With
/// in-memory results capped at [`compress::IN_MEMORY_MAX`] this bounds memory use.
const WINDOW_PER_THREAD: usize = 4;

/// At most this many files in flight whatever the core count (about 2 MiB each at most:
/// read data plus deflated data held in memory).
const MAX_WINDOW: usize = 64;

/// Compresses and hashes `files` in parallel and writes them in order to `out`.
pub(super) fn write_payload<W: Write>(
    out: &mut CountingWriter<W>,
    output: &Path,
    files: &[PlannedFile],
    modified: DosDateTime,
    spool_dir: &Path,
    progress: &dyn Progress,
    sbom: Option<&SbomSlot>,
) -> Result<Vec<Written>, BuildError> {
    let total = files.iter().map(|f| f.size).sum();
    let sbom_index = sbom.map(|s| s.index);
    let window =
        (WINDOW_PER_THREAD * rayon::current_num_threads()).clamp(WINDOW_PER_THREAD, MAX_WINDOW);
    let done = AtomicU64::new(0);
    let cancel = AtomicBool::new(false);
    let in_pool = rayon::current_thread_index().is_some();
    let mut written = Vec::with_capacity(files.len());
    // Payload bytes reported so far.
    let mut reported = 0;

    let result = rayon::in_place_scope(|scope| -> Result<(), BuildError> {
        let (tx, rx) = mpsc::channel::<(usize, Result<Option<compress::Prepared>, BuildError>)>();
        let mut ready: std::collections::BTreeMap<usize, compress::Prepared> = Default::default();
        let (mut next_spawn, mut next_write) = (0usize, 0usize);
        let mut last_report = Instant::now();
        progress.phase(Phase::Payload { total });
        while next_write < files.len() {
            while next_spawn < files.len() && next_spawn - next_write < window {
                if Some(next_spawn) == sbom_index {
                    // Made by this thread when its turn comes (it lists what came before).
                    next_spawn += 1;
                    continue;
                }
                let (tx, f, done, cancel) = (tx.clone(), &files[next_spawn], &done, &cancel);
                let i = next_spawn;
                scope.spawn(move |_| {
                    let r = compress::prepare(&f.source, f.size, spool_dir, done, cancel);
                    let _ = tx.send((i, r));
                });
                next_spawn += 1;
            }
            // Every ready entry up to `next_write` was written at the end of the last turn,
            // so the only entry that can be written now without a worker is the SBOM, which
            // this thread makes itself: take only what has already arrived. Waiting here
            // would stall the build for the whole timeout when nothing else is in flight
            // (the SBOM's turn often comes last).
            let received = if sbom_index == Some(next_write) {
                rx.try_recv().ok()
            } else if in_pool {
                // On a pool thread, help with the queued work instead of blocking it.
                match rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(_) => {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        None
                    }
                }
            } else {
                rx.recv_timeout(Duration::from_millis(100)).ok()
            };
            if let Some((i, r)) = received {
                match r {
                    Ok(Some(p)) => {
                        ready.insert(i, p);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        cancel.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
            if let Some(slot) = sbom.filter(|s| s.index == next_write) {
                let file = &files[next_write];
                let made = slot.make(written.iter().map(|w: &Written| (w.sha256, w.size)))?;
                let source = PlannedFile {
                    source: made.path().to_path_buf(),
                    ..file.clone()
                };
                // Its own flag: nothing cancels this thread's own work.
                let p = compress::prepare(
                    &source.source,
                    source.size,
                    spool_dir,
                    &done,
                    &AtomicBool::new(false),
                )
                .inspect_err(|_| cancel.store(true, Ordering::Relaxed))?
                .ok_or_else(|| BuildError::Write {
                    path: output.to_path_buf(),
                    source: std::io::Error::other("the SBOM was not prepared"),
                })?;
                progress.file(&file.entry, file.size);
                let w = write_entry(out, output, &source, next_write, p, modified)
                    .inspect_err(|_| cancel.store(true, Ordering::Relaxed))?;
                progress.file_done(&file.entry, w.size);
                written.push(w);
                next_write += 1;
            }
            while let Some(p) = ready.remove(&next_write) {
                let file = &files[next_write];
                progress.file(&file.entry, file.size);
                let w = write_entry(out, output, file, next_write, p, modified)
                    .inspect_err(|_| cancel.store(true, Ordering::Relaxed))?;
                progress.file_done(&file.entry, w.size);
                written.push(w);
                next_write += 1;
            }
            if last_report.elapsed() >= Duration::from_millis(50) {
                // `done` counts bytes read by the workers, which run ahead of the writes.
                let now = done.load(Ordering::Relaxed).min(total);
                progress.bytes(now.saturating_sub(reported));
                reported = reported.max(now);
                last_report = Instant::now();
            }
        }
        Ok(())
    });
    result?;
    progress.bytes(total.saturating_sub(reported));
    Ok(written)
}

fn write_entry<W: Write>(
    out: &mut CountingWriter<W>,
    output: &Path,
    file: &PlannedFile,
    index: usize,
    p: compress::Prepared,
    modified: DosDateTime,
) -> Result<Written, BuildError> {
    let werr = |source| BuildError::Write {
        path: output.to_path_buf(),
        source,
    };
    let w = Written {
        index,
        method: p.method,
        crc32: p.crc32,
        sha256: p.sha256,
        size: p.size,
        compressed_size: p.compressed_size,
        offset: out.pos,
    };
    let header = EntryHeader {
        name: &file.entry,
        method: w.method,
        crc32: w.crc32,
        compressed_size: w.compressed_size,
        size: w.size,
        modified,
    };
    out.write_all(&local_header(&header, w.offset, zip64_policy()))
        .map_err(werr)?;
    p.write_data(out, output, &file.source)?;
    Ok(w)
}
