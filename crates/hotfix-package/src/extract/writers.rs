//! Creates and writes verified small files on worker threads.
//!
//! Extracting many small files costs mostly file creation (one `create_new` and one
//! write per file, in the kernel), not reading or checking. Done on the walk's thread,
//! that work waits for the walk and the walk waits for it; here the walk hands each
//! fully verified file (its bytes in memory, its folders already made in the temporary
//! folder) to a few writer threads and goes on with the next entry.
//!
//! All files of one folder go to one writer, and the next folder to the next writer:
//! creating a file holds its folder's lock in the kernel (and ext4 looks for a free
//! inode while holding it), so two threads creating files in one folder mostly wait
//! for each other, spinning, which is slower than one thread alone. Archive order keeps
//! a folder's files together, so while one writer finishes a folder the next one starts
//! on the following folder.
//!
//! What must not change with threads:
//! - nothing is written that verify did not check (the walk hands over only files whose
//!   size and SHA-256 matched), and only into the temporary folder, at the path given;
//!   the writers never create folders and never follow anything (`create_new`);
//! - the error an extract reports does not depend on thread timing: after a failure the
//!   writers skip the files that come after it (never those before it), and
//!   [`Writers::finish`] reports the failure of the earliest file in archive order;
//! - no writer outlives the temporary folder's guard: [`Writers::finish`] and `Drop`
//!   join every thread, so a file is never created after the folder was removed
//!   (which would leave it behind) or renamed into place;
//! - memory stays bounded: at most [`IN_FLIGHT_BYTES`] of file data waits for a writer.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;

use crate::verify::SinkError;

/// File bytes handed over but not written yet, at most (one file may exceed it alone).
const IN_FLIGHT_BYTES: u64 = 2 * 1024 * 1024;
/// Writer threads at most, whatever the core count.
const MAX_WRITERS: usize = 4;

struct Job {
    seq: u64,
    path: PathBuf,
    data: Vec<u8>,
}

/// See [`Shared::before_write`].
#[cfg(test)]
type BeforeWrite = Box<dyn Fn(u64, &Shared) + Send + Sync>;

/// What the walk's thread and the writers share.
struct Shared {
    /// Bytes handed over and not written yet.
    in_flight: Mutex<u64>,
    room: Condvar,
    /// Hand-over number of the earliest file that failed so far (`u64::MAX`: none).
    /// Files after it are skipped; files before it are still written, so the earliest
    /// failure is always found whatever the timing.
    failed_at: AtomicU64,
    /// The failure of the earliest file (by hand-over order) that failed.
    first_error: Mutex<Option<(u64, PathBuf, std::io::Error)>>,
    /// Tests order the writers with it: called with a file's hand-over number before
    /// the file is written (or skipped).
    #[cfg(test)]
    before_write: Option<BeforeWrite>,
}

impl Shared {
    fn record(&self, seq: u64, path: PathBuf, e: std::io::Error) {
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.as_ref().is_none_or(|(s, _, _)| seq < *s) {
            *first = Some((seq, path, e));
        }
        self.failed_at.fetch_min(seq, Ordering::SeqCst);
    }

    fn failed(&self) -> bool {
        self.failed_at.load(Ordering::SeqCst) != u64::MAX
    }

    fn release(&self, bytes: u64) {
        let mut n = self
            .in_flight
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *n = n.saturating_sub(bytes);
        self.room.notify_all();
    }
}

/// Writer threads, started with the first file.
pub(super) struct Writers {
    workers: usize,
    /// One channel per writer, empty until the first file.
    jobs: Vec<mpsc::Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
    /// The folder of the last file handed over and the writer it went to.
    folder: Option<(PathBuf, usize)>,
    shared: Arc<Shared>,
    next_seq: u64,
}

impl std::fmt::Debug for Writers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writers")
            .field("workers", &self.workers)
            .field("started", &self.handles.len())
            .field("handed_over", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Writers {
    pub(super) fn new() -> Writers {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Writers::with_workers(cores.clamp(1, MAX_WRITERS))
    }

    fn with_workers(workers: usize) -> Writers {
        Writers::build(
            workers,
            #[cfg(test)]
            None,
        )
    }

    fn build(workers: usize, #[cfg(test)] before_write: Option<BeforeWrite>) -> Writers {
        Writers {
            workers,
            jobs: Vec::new(),
            handles: Vec::new(),
            folder: None,
            shared: Arc::new(Shared {
                in_flight: Mutex::new(0),
                room: Condvar::new(),
                failed_at: AtomicU64::new(u64::MAX),
                first_error: Mutex::new(None),
                #[cfg(test)]
                before_write,
            }),
            next_seq: 0,
        }
    }

    /// The writer for a file at `path`: the one its folder went to, if it was the last
    /// file's folder, else the next one in turn. Starts the writers at the first file.
    fn writer_for(&mut self, path: &std::path::Path) -> usize {
        if self.jobs.is_empty() {
            for _ in 0..self.workers {
                let (tx, rx) = mpsc::channel::<Job>();
                let shared = Arc::clone(&self.shared);
                self.handles
                    .push(std::thread::spawn(move || write_jobs(&rx, &shared)));
                self.jobs.push(tx);
            }
        }
        let parent = path.parent().unwrap_or(path);
        match &self.folder {
            Some((folder, writer)) if folder == parent => *writer,
            last => {
                let writer = last.as_ref().map_or(0, |(_, w)| (w + 1) % self.jobs.len());
                self.folder = Some((parent.to_path_buf(), writer));
                writer
            }
        }
    }

    /// Hands a verified file to the writers: `path` (whose folder exists) is created
    /// with exactly `data`. Waits while too many bytes are in flight. An `Err` is the
    /// earliest failure so far, after every writer stopped (as [`Writers::finish`]).
    pub(super) fn submit(&mut self, path: PathBuf, data: Vec<u8>) -> Result<(), SinkError> {
        if self.shared.failed() {
            return self.finish();
        }
        let bytes = data.len() as u64;
        {
            let mut n = self
                .shared
                .in_flight
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while *n > 0 && *n + bytes > IN_FLIGHT_BYTES {
                n = self
                    .shared
                    .room
                    .wait(n)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            *n += bytes;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let writer = self.writer_for(&path);
        if let Err(mpsc::SendError(job)) = self.jobs[writer].send(Job { seq, path, data }) {
            // Only if every writer is gone, which `write_jobs` never does on its own.
            self.shared.release(bytes);
            self.shared.record(
                job.seq,
                job.path,
                std::io::Error::other("the file writer threads stopped"),
            );
            return self.finish();
        }
        Ok(())
    }

    /// Waits until every file handed over is written (or skipped after a failure) and
    /// every writer has stopped; the failure of the earliest file that failed, if any.
    pub(super) fn finish(&mut self) -> Result<(), SinkError> {
        self.join();
        let first = self
            .shared
            .first_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match first {
            Some((_, path, source)) => Err(SinkError::Io { path, source }),
            None => Ok(()),
        }
    }

    fn join(&mut self) {
        // Closing the channels lets each writer finish the jobs queued, then stop.
        self.jobs.clear();
        self.folder = None;
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                self.shared.record(
                    u64::MAX,
                    PathBuf::new(),
                    std::io::Error::other("a file writer thread panicked"),
                );
            }
        }
    }
}

impl Drop for Writers {
    fn drop(&mut self) {
        // Joined before the temporary folder's guard removes the folder (field order in
        // `Staging`): no file may appear in it afterwards. What is still queued is not
        // wanted any more.
        self.shared.failed_at.store(0, Ordering::SeqCst);
        self.join();
    }
}

fn write_jobs(rx: &mpsc::Receiver<Job>, shared: &Shared) {
    for job in rx {
        let bytes = job.data.len() as u64;
        #[cfg(test)]
        if let Some(hook) = &shared.before_write {
            hook(job.seq, shared);
        }
        if job.seq <= shared.failed_at.load(Ordering::SeqCst) {
            // A panic must not leave its bytes counted: the walk would wait for them.
            let written =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write_file(&job)))
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::other("a file writer thread panicked"))
                    });
            if let Err(e) = written {
                shared.record(job.seq, job.path, e);
            }
        }
        shared.release(bytes);
    }
}

fn write_file(job: &Job) -> std::io::Result<()> {
    let mut f: File = super::create_new(&job.path)?;
    f.write_all(&job.data)?;
    super::sync_file(&f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_handed_over_is_written_by_finish() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |i: u32| {
            dir.path()
                .join(format!("d{}", i / 30))
                .join(format!("f{i}"))
        };
        for d in 0..7 {
            std::fs::create_dir(dir.path().join(format!("d{d}"))).expect("mkdir");
        }
        let mut w = Writers::with_workers(3);
        for i in 0..200u32 {
            let data = vec![u8::try_from(i % 251).expect("byte"); (i as usize * 37) % 5000];
            w.submit(path(i), data).expect("submit");
        }
        w.finish().expect("finish");
        for i in 0..200u32 {
            let got = std::fs::read(path(i)).expect("read");
            assert_eq!(
                got,
                vec![u8::try_from(i % 251).expect("byte"); (i as usize * 37) % 5000]
            );
        }
    }

    /// Files 10 and up all fail (their folders do not exist). File 10's writer is held
    /// until a later file has failed on another thread: the error still names file 10,
    /// the first in order, and every file before it is written.
    #[test]
    fn the_earliest_failing_file_is_reported_whatever_the_thread_timing() {
        for round in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let hold_file_10 = |seq: u64, shared: &Shared| {
                if seq == 10 {
                    // A barrier, not a sleep: another writer fails file 11 or later.
                    while !shared.failed() {
                        std::thread::yield_now();
                    }
                }
            };
            let mut w = Writers::build(4, Some(Box::new(hold_file_10)));
            let mut result = Ok(());
            for i in 0..60u32 {
                // One missing folder per file: each goes to the next writer.
                let parent = if i < 10 {
                    dir.path().to_path_buf()
                } else {
                    dir.path().join(format!("missing{i}"))
                };
                result = w.submit(parent.join(format!("f{i}")), vec![1; 10]);
                if result.is_err() {
                    break;
                }
            }
            if result.is_ok() {
                result = w.finish();
            }
            match result {
                Err(SinkError::Io { path, source }) => {
                    assert_eq!(
                        path,
                        dir.path().join("missing10").join("f10"),
                        "round {round}"
                    );
                    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
                }
                other => panic!("round {round}: {other:?}"),
            }
            for i in 0..10 {
                assert!(dir.path().join(format!("f{i}")).is_file(), "round {round}");
            }
        }
    }

    /// Dropping the writers (the extract failed) waits for them: once dropped, nothing
    /// more appears in the folder, so removing it leaves nothing behind.
    #[test]
    fn dropping_the_writers_joins_them_before_the_folder_is_removed() {
        let parent = tempfile::tempdir().expect("tempdir");
        let staged = parent.path().join("staged");
        std::fs::create_dir(&staged).expect("mkdir");
        let mut w = Writers::with_workers(2);
        for i in 0..500u32 {
            w.submit(staged.join(format!("f{i}")), vec![7; 4096])
                .expect("submit");
        }
        drop(w);
        std::fs::remove_dir_all(&staged).expect("remove");
        assert!(!staged.exists());
        assert_eq!(std::fs::read_dir(parent.path()).expect("ls").count(), 0);
    }

    /// Files of one folder are written by one thread (two threads creating files in one
    /// folder wait on its lock), and the next folder goes to the next thread.
    #[test]
    fn each_folder_goes_to_one_writer_and_the_next_folder_to_the_next() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in 0..6 {
            std::fs::create_dir(dir.path().join(format!("d{d}"))).expect("mkdir");
        }
        let seen: Arc<Mutex<Vec<(u64, std::thread::ThreadId)>>> = Arc::default();
        let log = Arc::clone(&seen);
        let record = move |seq: u64, _: &Shared| {
            log.lock()
                .expect("log")
                .push((seq, std::thread::current().id()));
        };
        let mut w = Writers::build(3, Some(Box::new(record)));
        for i in 0..60u64 {
            let path = dir
                .path()
                .join(format!("d{}", i / 10))
                .join(format!("f{i}"));
            w.submit(path, vec![1; 100]).expect("submit");
        }
        w.finish().expect("finish");
        let mut by_seq = seen.lock().expect("log").clone();
        by_seq.sort_by_key(|(seq, _)| *seq);
        assert_eq!(by_seq.len(), 60);
        for folder in by_seq.chunks(10) {
            assert!(folder.iter().all(|(_, t)| *t == folder[0].1), "{folder:?}");
        }
        for pair in by_seq.chunks(10).collect::<Vec<_>>().windows(2) {
            assert_ne!(pair[0][0].1, pair[1][0].1);
        }
    }
}
