//! Step 4 of verification: every payload entry, in archive order, against the manifest.
//!
//! The archive is read once, front to back, on the calling thread. What each entry costs
//! besides reading is decompression, CRC-32 and SHA-256, and that is spread over cores:
//!
//! - **Small entries** (at most [`SMALL_ENTRY_BYTES`], by the manifest's and the archive's
//!   sizes) are read into memory still compressed and handed to worker threads, which
//!   decode, check and hash them, several at once. Their results are taken back strictly
//!   in archive order, so the report and the sink see exactly what a sequential walk
//!   would: the same failures in the same order, and sink calls in archive order. At most
//!   [`IN_FLIGHT_BYTES`] of such entries (compressed plus decompressed, as declared) are
//!   in memory at a time.
//! - **Large entries** are streamed through fixed buffers: decoded on the calling thread,
//!   hashed on a second one ([`HashPipe`]), handed to the sink chunk by chunk. Memory does
//!   not depend on their size.
//!
//! Whenever the walk has something to record (a failure) or a large entry to stream, it
//! first takes back every small entry still in flight: results are never reordered.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{Read, Seek};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::Scope;

use hotfix_manifest::{FileEntry, names};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::{CHUNK_BYTES, EntrySink, Failure, VerifyError, VerifyReport};
use crate::progress::Progress;
use crate::reader::{Entry, PackageReader, RawEntry, ReadError, Section, section};
use crate::rules::Rule;

/// Entries up to this size are decoded and hashed on worker threads.
pub(crate) const SMALL_ENTRY_BYTES: u64 = 1024 * 1024;
/// Small entries' bytes (compressed and decompressed, as declared) in memory at once.
const IN_FLIGHT_BYTES: u64 = 4 * 1024 * 1024;
/// Small entries in flight at once, per worker.
const JOBS_PER_WORKER: usize = 16;
/// Worker threads at most, whatever the core count.
const MAX_WORKERS: usize = 8;

/// How an entry's read ended: `Ok` at the verified end, `Err(None)` past the manifest's
/// size, `Err(Some(_))` refused by the reader.
type Outcome = Result<(), Option<ReadError>>;

/// Streams every payload entry against the manifest: names, listing, order, size, hash.
pub(super) fn walk_payload<R: Read + Seek>(
    rd: &mut PackageReader<R>,
    files: &[&FileEntry],
    expected: &HashMap<&str, usize>,
    reported: &HashSet<String>,
    report: &mut VerifyReport,
    sink: &mut dyn EntrySink,
    progress: &dyn Progress,
) -> Result<(), VerifyError> {
    std::thread::scope(|scope| {
        let mut walk = Walk {
            files,
            report,
            sink,
            progress,
            broken: false,
            seen: vec![false; files.len()],
            pool: Pool::new(scope),
            pipe: None,
            scope,
        };
        walk.entries(rd, expected, reported)?;
        if !walk.broken {
            walk.settle_all()?;
        }
        if !walk.broken {
            for (i, f) in files.iter().enumerate() {
                if !walk.seen[i] && !reported.contains(&f.path) {
                    walk.report.fail(
                        Some(&f.path),
                        Rule::MissingEntry,
                        "listed in the manifest but not in the archive",
                    );
                }
            }
        }
        Ok(())
    })
}

struct Walk<'w, 'f, 'scope, 'env> {
    files: &'w [&'f FileEntry],
    report: &'w mut VerifyReport,
    sink: &'w mut dyn EntrySink,
    progress: &'w dyn Progress,
    /// A fatal error was recorded: the archive cannot be walked further.
    broken: bool,
    /// Manifest entries met so far, by manifest index.
    seen: Vec<bool>,
    pool: Pool<'scope, 'env>,
    pipe: Option<HashPipe>,
    scope: &'scope Scope<'scope, 'env>,
}

impl Walk<'_, '_, '_, '_> {
    /// Records `failure` after everything before it; false when the walk must stop.
    fn record(&mut self, failure: Failure) -> Result<bool, VerifyError> {
        self.settle_all()?;
        if self.broken {
            return Ok(false);
        }
        self.report
            .fail(failure.entry.as_deref(), failure.rule, failure.message);
        Ok(true)
    }

    /// Records a reader error after everything before it; false when the walk must stop.
    fn record_read(&mut self, e: ReadError) -> Result<bool, VerifyError> {
        self.settle_all()?;
        if self.broken {
            return Ok(false);
        }
        if self.report.fail_read(e)? {
            self.broken = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn entries<R: Read + Seek>(
        &mut self,
        rd: &mut PackageReader<R>,
        expected: &HashMap<&str, usize>,
        reported: &HashSet<String>,
    ) -> Result<(), VerifyError> {
        let mut last: Option<usize> = None;
        while let Some(next) = rd.next_entry() {
            let entry = match next {
                Ok(e) => e,
                Err(e) => {
                    if let ReadError::Format {
                        entry: Some(name), ..
                    } = &e
                        && let Some(&i) = expected.get(name.as_str())
                    {
                        self.seen[i] = true;
                    }
                    if !self.record_read(e)? {
                        return Ok(());
                    }
                    continue;
                }
            };
            let name = entry.name().to_owned();
            let (index, failure) = self.admit(&name, expected, reported, &mut last);
            if let Some(f) = failure
                && !self.record(f)?
            {
                return Ok(());
            }
            let Some(index) = index else { continue };
            let file = self.files[index];
            let record = entry.record();
            let small = file.size <= SMALL_ENTRY_BYTES
                && record.uncompressed_size <= SMALL_ENTRY_BYTES
                && record.compressed_size <= SMALL_ENTRY_BYTES;
            if small {
                match entry.into_raw(SMALL_ENTRY_BYTES) {
                    Ok(raw) => {
                        self.make_room(&raw)?;
                        if self.broken {
                            return Ok(());
                        }
                        self.pool.submit(index, raw, file.size);
                    }
                    Err(e) => {
                        if !self.record_read(e)? {
                            return Ok(());
                        }
                    }
                }
            } else {
                self.settle_all()?;
                if self.broken {
                    return Ok(());
                }
                self.stream(entry, index)?;
                if self.broken {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Checks an entry's name against the manifest: the manifest index to read it as, and
    /// the failure to record first, if any (an out-of-order entry is both).
    fn admit(
        &mut self,
        name: &str,
        expected: &HashMap<&str, usize>,
        reported: &HashSet<String>,
        last: &mut Option<usize>,
    ) -> (Option<usize>, Option<Failure>) {
        let fail = |rule: Rule, message: String| Failure {
            entry: Some(name.to_owned()),
            rule,
            message,
        };
        match section(name) {
            Section::Manifest => {
                return (
                    None,
                    Some(fail(Rule::DuplicateEntry, "a second manifest entry".into())),
                );
            }
            Section::Signature => {
                return (
                    None,
                    Some(fail(
                        Rule::EntryOrder,
                        "signature entry after the payload started".into(),
                    )),
                );
            }
            Section::Payload => {}
        }
        if let Err(e) = names::validate_entry_name(name) {
            let failure = (!reported.contains(name)).then(|| fail(e.rule().into(), e.to_string()));
            return (None, failure);
        }
        let Some(&index) = expected.get(name) else {
            let failure = (!reported.contains(name)).then(|| {
                fail(
                    Rule::UnlistedEntry,
                    "the signed manifest does not list this entry".into(),
                )
            });
            return (None, failure);
        };
        if self.seen[index] {
            return (
                None,
                Some(fail(Rule::DuplicateEntry, "the entry appears twice".into())),
            );
        }
        self.seen[index] = true;
        let mut failure = None;
        if let Some(prev) = *last
            && index < prev
        {
            failure = Some(fail(
                Rule::EntryOrder,
                format!(
                    "comes after {:?} but the manifest lists it before",
                    self.files[prev].path
                ),
            ));
        }
        *last = Some(last.map_or(index, |l| l.max(index)));
        (Some(index), failure)
    }

    /// Takes back small entries in order until `raw` fits in the in-flight limits.
    fn make_room(&mut self, raw: &RawEntry) -> Result<(), VerifyError> {
        let cost = Pool::cost(raw);
        while !self.pool.queue.is_empty()
            && (self.pool.queue.len() >= self.pool.max_jobs()
                || self.pool.in_flight + cost > IN_FLIGHT_BYTES)
        {
            self.settle_front()?;
            if self.broken {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Takes back every small entry still in flight, in order.
    fn settle_all(&mut self) -> Result<(), VerifyError> {
        while !self.pool.queue.is_empty() && !self.broken {
            self.settle_front()?;
        }
        if self.broken {
            self.pool.abandon();
        }
        Ok(())
    }

    /// Waits for the oldest small entry in flight and concludes it.
    fn settle_front(&mut self) -> Result<(), VerifyError> {
        let slot = self.pool.take_front()?;
        let file = self.files[slot.index];
        let Decoded {
            data,
            total,
            outcome,
            digest,
        } = slot.result?;
        self.progress.file(&file.path, file.size);
        self.progress.bytes(total.min(file.size));
        if outcome.is_ok()
            && total == file.size
            && self.report.failures.is_empty()
            && bool::from(digest.ct_eq(&file.sha256.0))
        {
            // Only a fully checked entry reaches the sink, in one piece (so `conclude`
            // has no `finish_file` left to call).
            self.sink.whole_file(file, data)?;
        }
        self.conclude(file, total, outcome, &digest, false)
    }

    /// Streams a large entry: decoded here, hashed on the pipe's thread, written to the
    /// sink chunk by chunk.
    fn stream<R: Read + Seek>(
        &mut self,
        mut entry: Entry<'_, R>,
        index: usize,
    ) -> Result<(), VerifyError> {
        let file = self.files[index];
        let scope = self.scope;
        let pipe = self.pipe.get_or_insert_with(|| HashPipe::start(scope));
        let mut writing = self.report.failures.is_empty();
        if writing {
            self.sink.start_file(file)?;
        }
        self.progress.file(&file.path, file.size);
        let mut total: u64 = 0;
        let outcome: Outcome = loop {
            let mut chunk = pipe.buffer()?;
            let room = file.size.saturating_sub(total).saturating_add(1);
            let len = usize::try_from(room).map_or(chunk.len(), |r| r.min(chunk.len()));
            let n = match entry.read_chunk(&mut chunk[..len]) {
                Ok(0) => {
                    pipe.recycle(chunk);
                    break Ok(());
                }
                Ok(n) => n,
                Err(e) => {
                    pipe.recycle(chunk);
                    break Err(Some(e));
                }
            };
            total += n as u64;
            if total > file.size {
                pipe.recycle(chunk);
                break Err(None);
            }
            self.progress.bytes(n as u64);
            writing &= self.report.failures.is_empty();
            if writing {
                self.sink.write(&chunk[..n])?;
            }
            pipe.submit(chunk, n)?;
        };
        let digest = pipe.finish()?;
        self.conclude(file, total, outcome, &digest, writing)
    }

    /// Counts an entry read and records what was wrong with it, if anything; calls the
    /// sink's `finish_file` when it was written and is exactly what the manifest says.
    fn conclude(
        &mut self,
        file: &FileEntry,
        total: u64,
        outcome: Outcome,
        digest: &[u8; 32],
        writing: bool,
    ) -> Result<(), VerifyError> {
        let name = file.path.as_str();
        self.report.files += 1;
        self.report.bytes += total.min(file.size);
        match outcome {
            Err(None) => self.report.fail(
                Some(name),
                Rule::SizeExceedsManifest,
                format!("more than the {} bytes the manifest declares", file.size),
            ),
            Err(Some(e)) => {
                if self.report.fail_read(e)? {
                    self.broken = true;
                    self.pool.abandon();
                }
            }
            Ok(()) => {
                if total < file.size {
                    self.report.fail(
                        Some(name),
                        Rule::SizeShortOfManifest,
                        format!("{total} bytes, the manifest declares {}", file.size),
                    );
                } else if !bool::from(digest.ct_eq(&file.sha256.0)) {
                    self.report.fail(
                        Some(name),
                        Rule::HashMismatch,
                        format!(
                            "SHA-256 {} differs from the manifest's {}",
                            hotfix_manifest::Sha256(*digest).to_hex(),
                            file.sha256
                        ),
                    );
                } else {
                    if writing && self.report.failures.is_empty() {
                        self.sink.finish_file()?;
                    }
                    self.progress.file_done(name, file.size);
                }
            }
        }
        Ok(())
    }
}

/// A small entry decoded, checked and hashed by a worker.
struct Decoded {
    /// The entry's bytes, up to the manifest's size.
    data: Vec<u8>,
    total: u64,
    outcome: Outcome,
    /// SHA-256 of `data`; only meaningful when `outcome` is `Ok` and `total` is the
    /// manifest's size.
    digest: [u8; 32],
}

/// Decodes `raw` as the streaming walk would read it: never more than one byte past the
/// manifest's `size` (at most [`SMALL_ENTRY_BYTES`]), checked by the reader, hashed.
fn decode(mut raw: RawEntry, size: u64) -> Decoded {
    // Stored and complete (the usual case): hashed where it lies, not copied first.
    if raw.record().uncompressed_size <= size
        && let Some((data, check)) = raw.take_stored_bytes()
    {
        return hashed(data, check.map_err(Some), size);
    }
    let cap = usize::try_from(size.min(SMALL_ENTRY_BYTES)).unwrap_or(0) + 1;
    let mut data = vec![0u8; cap];
    let mut dec = raw.decoder();
    let mut total = 0usize;
    let outcome: Outcome = loop {
        match dec.read_chunk(&mut data[total..]) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                total += n;
                if total as u64 > size {
                    break Err(None);
                }
            }
            Err(e) => break Err(Some(e)),
        }
    };
    data.truncate(total.min(cap - 1));
    let mut decoded = hashed(data, outcome, size);
    decoded.total = total as u64;
    decoded
}

/// `data` as read with `outcome`, hashed when it is complete (`size` bytes, read to the
/// verified end).
fn hashed(data: Vec<u8>, outcome: Outcome, size: u64) -> Decoded {
    let digest = if outcome.is_ok() && data.len() as u64 == size {
        sha2::Sha256::digest(&data).into()
    } else {
        [0; 32]
    };
    Decoded {
        total: data.len() as u64,
        data,
        outcome,
        digest,
    }
}

struct Job {
    seq: u64,
    raw: RawEntry,
    size: u64,
}

struct Done {
    seq: u64,
    decoded: Result<Decoded, VerifyError>,
}

struct Slot {
    index: usize,
    cost: u64,
    result: Option<Result<Decoded, VerifyError>>,
}

struct Taken {
    index: usize,
    result: Result<Decoded, VerifyError>,
}

/// Worker threads for small entries, started at the first one, and the entries in
/// flight, oldest first.
struct Pool<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    workers: usize,
    jobs: Option<mpsc::SyncSender<Job>>,
    done: Option<mpsc::Receiver<Done>>,
    queue: VecDeque<Slot>,
    /// Sequence number of `queue[0]`.
    first_seq: u64,
    in_flight: u64,
}

impl<'scope, 'env> Pool<'scope, 'env> {
    fn new(scope: &'scope Scope<'scope, 'env>) -> Pool<'scope, 'env> {
        Pool {
            scope,
            workers: std::thread::available_parallelism()
                .map_or(1, std::num::NonZero::get)
                .min(MAX_WORKERS),
            jobs: None,
            done: None,
            queue: VecDeque::new(),
            first_seq: 0,
            in_flight: 0,
        }
    }

    fn max_jobs(&self) -> usize {
        self.workers * JOBS_PER_WORKER
    }

    fn cost(raw: &RawEntry) -> u64 {
        raw.record().compressed_size + raw.record().uncompressed_size
    }

    fn start(&mut self) -> &mpsc::SyncSender<Job> {
        self.jobs.get_or_insert_with(|| {
            let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(self.workers * JOBS_PER_WORKER);
            let (done_tx, done_rx) = mpsc::channel::<Done>();
            let jobs_rx = Arc::new(Mutex::new(jobs_rx));
            for _ in 0..self.workers {
                let jobs_rx = Arc::clone(&jobs_rx);
                let done_tx = done_tx.clone();
                self.scope.spawn(move || {
                    loop {
                        let job = match jobs_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let decoded =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                decode(job.raw, job.size)
                            }))
                            .map_err(|_| VerifyError::Internal("a verify worker panicked".into()));
                        if done_tx
                            .send(Done {
                                seq: job.seq,
                                decoded,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
            self.done = Some(done_rx);
            jobs_tx
        })
    }

    fn submit(&mut self, index: usize, raw: RawEntry, size: u64) {
        let cost = Pool::cost(&raw);
        let seq = self.first_seq + self.queue.len() as u64;
        let sent = self.start().send(Job { seq, raw, size }).is_ok();
        self.queue.push_back(Slot {
            index,
            cost,
            // Every worker gone (they only stop when the walk does): reported when this
            // entry is taken back.
            result: (!sent).then(|| Err(workers_stopped())),
        });
        self.in_flight += cost;
    }

    /// The oldest entry in flight, waiting for its worker if needed.
    fn take_front(&mut self) -> Result<Taken, VerifyError> {
        loop {
            if let Some(front) = self.queue.front_mut()
                && let Some(result) = front.result.take()
            {
                let index = front.index;
                self.in_flight -= front.cost;
                self.queue.pop_front();
                self.first_seq += 1;
                return Ok(Taken { index, result });
            }
            let done = self
                .done
                .as_ref()
                .ok_or_else(workers_stopped)?
                .recv()
                .map_err(|_| workers_stopped())?;
            let Some(at) = done.seq.checked_sub(self.first_seq) else {
                continue;
            };
            let slot = usize::try_from(at)
                .ok()
                .and_then(|at| self.queue.get_mut(at))
                .ok_or_else(workers_stopped)?;
            slot.result = Some(done.decoded);
        }
    }

    /// Drops every entry in flight (after a fatal error): their results are not wanted.
    fn abandon(&mut self) {
        self.first_seq += self.queue.len() as u64;
        self.queue.clear();
        self.in_flight = 0;
    }
}

fn workers_stopped() -> VerifyError {
    VerifyError::Internal("the verify workers stopped".into())
}

/// Buffers in flight between the reading thread and the hashing thread: memory stays at
/// `PIPE_BUFFERS * CHUNK_BYTES` whatever the file size.
const PIPE_BUFFERS: usize = 3;

enum ToHasher {
    Data(Vec<u8>, usize),
    Finish,
}

enum FromHasher {
    Buffer(Vec<u8>),
    Digest([u8; 32]),
}

/// SHA-256 on a second thread, one file at a time, fed in order.
struct HashPipe {
    tx: mpsc::SyncSender<ToHasher>,
    rx: mpsc::Receiver<FromHasher>,
    pool: Vec<Vec<u8>>,
    made: usize,
}

fn pipe_stopped() -> VerifyError {
    VerifyError::Internal("the hashing thread stopped".into())
}

impl HashPipe {
    fn start<'scope>(scope: &'scope Scope<'scope, '_>) -> HashPipe {
        let (tx, hrx) = mpsc::sync_channel::<ToHasher>(PIPE_BUFFERS);
        let (htx, rx) = mpsc::channel::<FromHasher>();
        scope.spawn(move || {
            let mut h = sha2::Sha256::new();
            for msg in hrx {
                let reply = match msg {
                    ToHasher::Data(buf, n) => {
                        h.update(&buf[..n]);
                        FromHasher::Buffer(buf)
                    }
                    ToHasher::Finish => {
                        FromHasher::Digest(std::mem::take(&mut h).finalize().into())
                    }
                };
                if htx.send(reply).is_err() {
                    return;
                }
            }
        });
        HashPipe {
            tx,
            rx,
            pool: Vec::new(),
            made: 0,
        }
    }

    /// A free buffer: from the pool, a new one while fewer than [`PIPE_BUFFERS`] exist,
    /// else the next one the hasher gives back.
    fn buffer(&mut self) -> Result<Vec<u8>, VerifyError> {
        if let Some(b) = self.pool.pop() {
            return Ok(b);
        }
        if self.made < PIPE_BUFFERS {
            self.made += 1;
            return Ok(vec![0u8; CHUNK_BYTES]);
        }
        match self.rx.recv().map_err(|_| pipe_stopped())? {
            FromHasher::Buffer(b) => Ok(b),
            FromHasher::Digest(_) => Err(pipe_stopped()),
        }
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        self.pool.push(buf);
    }

    fn submit(&mut self, buf: Vec<u8>, n: usize) -> Result<(), VerifyError> {
        self.tx
            .send(ToHasher::Data(buf, n))
            .map_err(|_| pipe_stopped())
    }

    /// The digest of everything submitted since the last `finish`.
    fn finish(&mut self) -> Result<[u8; 32], VerifyError> {
        self.tx.send(ToHasher::Finish).map_err(|_| pipe_stopped())?;
        loop {
            match self.rx.recv().map_err(|_| pipe_stopped())? {
                FromHasher::Buffer(b) => self.pool.push(b),
                FromHasher::Digest(d) => return Ok(d),
            }
        }
    }
}
