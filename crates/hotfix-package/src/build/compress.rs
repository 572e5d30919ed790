//! One payload file → the data of its zip entry, in one read pass that also computes the
//! SHA-256 (for the manifest) and the CRC-32 (for the zip headers).
//!
//! Runs on rayon worker threads, many files at once. Memory stays bounded: a result held
//! in memory is at most [`IN_MEMORY_MAX`] bytes; larger deflated data is spooled to an
//! anonymous temporary file beside the output, and large stored files are not copied at
//! all here (the writer copies them from the source, re-checking their CRC-32).
//!
//! The choice between stored and deflated must depend on the file's bytes only (never on
//! timing or thread count), or builds would stop being reproducible.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use flate2::{Compress, Compression, FlushCompress, Status};
use sha2::Digest;

use super::BuildError;
use crate::format::{METHOD_DEFLATE, METHOD_STORED};

/// The deflate level of every package. Part of the reproducibility contract: changing it
/// changes the bytes of every rebuilt package.
pub(crate) const DEFLATE_LEVEL: u32 = 5;

/// Files up to this size are read whole into memory; bigger deflated results are spooled.
pub(crate) const IN_MEMORY_MAX: u64 = 1 << 20;

/// Read buffer size for large files.
const CHUNK: usize = 1 << 20;

/// How much of a file is test-compressed to decide whether deflating it is worth it.
const PROBE_BYTES: usize = 64 * 1024;

/// Deflate must bring the probe below this percentage of its size, or the file is stored.
const PROBE_PERCENT: usize = 97;

/// Files up to this size skip the probe: deflating them outright costs about as much.
const SMALL_BYTES: usize = 4096;

/// The probe uses the fastest level: it only has to tell "compresses" from "does not",
/// and at level 1 it costs a few percent of deflating the probe at [`DEFLATE_LEVEL`].
const PROBE_LEVEL: u32 = 1;

/// Where an entry's data is until the writer copies it into the package.
#[derive(Debug)]
pub(crate) enum Data {
    /// Exactly the entry data (deflated, or the file itself when stored).
    Memory(Vec<u8>),
    /// Deflated data in a temporary file.
    Spool(File),
    /// Stored: the data is the source file, copied at write time.
    Source,
}

/// The entry data of one file, with everything its headers and the manifest need.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub method: u16,
    pub crc32: u32,
    pub sha256: [u8; 32],
    pub size: u64,
    pub compressed_size: u64,
    pub data: Data,
}

/// Reads `source` once (it must be `expected` bytes long), hashing it and deflating it
/// unless it looks incompressible. Returns `None` when `cancel` was set meanwhile.
pub(crate) fn prepare(
    source: &Path,
    expected: u64,
    spool_dir: &Path,
    done: &AtomicU64,
    cancel: &AtomicBool,
) -> Result<Option<Prepared>, BuildError> {
    if cancel.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let rerr = |source_err| BuildError::Read {
        path: source.to_path_buf(),
        source: source_err,
    };
    let changed = || BuildError::FileChanged {
        path: source.to_path_buf(),
    };
    let file = File::open(source).map_err(rerr)?;
    // One byte more than expected, to notice a file that grew since it was walked.
    let mut reader = file.take(expected.saturating_add(1));

    if expected <= IN_MEMORY_MAX {
        let mut data = Vec::with_capacity(expected as usize + 1);
        reader.read_to_end(&mut data).map_err(rerr)?;
        if data.len() as u64 != expected {
            return Err(changed());
        }
        done.fetch_add(expected, Ordering::Relaxed);
        let sha256 = sha2::Sha256::digest(&data).into();
        let crc32 = crc32fast::hash(&data);
        let worth_it = looks_compressible(&data);
        let prepared = match worth_it.then(|| deflate_smaller(&data)).flatten() {
            Some(deflated) => Prepared {
                method: METHOD_DEFLATE,
                crc32,
                sha256,
                size: expected,
                compressed_size: deflated.len() as u64,
                data: Data::Memory(deflated),
            },
            None => Prepared {
                method: METHOD_STORED,
                crc32,
                sha256,
                size: expected,
                compressed_size: expected,
                data: Data::Memory(data),
            },
        };
        return Ok(Some(prepared));
    }

    let mut sha = sha2::Sha256::new();
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let mut deflater: Option<Deflater<'_>> = None;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = read_full(&mut reader, &mut buf).map_err(rerr)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        sha.update(chunk);
        crc.update(chunk);
        if total == 0 && looks_compressible(chunk) {
            deflater = Some(Deflater::new(spool_dir));
        }
        total += n as u64;
        done.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(d) = deflater.as_mut() {
            d.run(chunk, FlushCompress::None, source)?;
            if d.produced >= expected {
                // It will not shrink after all: just hash the rest.
                deflater = None;
            }
        }
    }
    if total != expected {
        return Err(changed());
    }
    let sha256 = sha.finalize().into();
    let crc32 = crc.finalize();
    if let Some(mut d) = deflater {
        d.run(&[], FlushCompress::Finish, source)?;
        if d.produced < total {
            let compressed_size = d.produced;
            return Ok(Some(Prepared {
                method: METHOD_DEFLATE,
                crc32,
                sha256,
                size: total,
                compressed_size,
                data: d.into_data(),
            }));
        }
    }
    Ok(Some(Prepared {
        method: METHOD_STORED,
        crc32,
        sha256,
        size: total,
        compressed_size: total,
        data: Data::Source,
    }))
}

impl Prepared {
    /// Copies the entry data to `out` (the package being written to `output`).
    pub(crate) fn write_data(
        self,
        out: &mut impl Write,
        output: &Path,
        source: &Path,
    ) -> Result<(), BuildError> {
        let werr = |e| BuildError::Write {
            path: output.to_path_buf(),
            source: e,
        };
        match self.data {
            Data::Memory(v) => out.write_all(&v).map_err(werr),
            Data::Spool(mut f) => {
                f.seek(SeekFrom::Start(0)).map_err(werr)?;
                let n = io::copy(&mut f, out).map_err(werr)?;
                if n != self.compressed_size {
                    return Err(werr(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(())
            }
            Data::Source => {
                // Second read of a stored file: it must still be the bytes that were hashed.
                let rerr = |e| BuildError::Read {
                    path: source.to_path_buf(),
                    source: e,
                };
                let mut r = File::open(source)
                    .map_err(rerr)?
                    .take(self.size.saturating_add(1));
                let mut buf = vec![0u8; CHUNK];
                let mut crc = crc32fast::Hasher::new();
                let mut n = 0u64;
                loop {
                    let k = read_full(&mut r, &mut buf).map_err(rerr)?;
                    if k == 0 {
                        break;
                    }
                    crc.update(&buf[..k]);
                    out.write_all(&buf[..k]).map_err(werr)?;
                    n += k as u64;
                }
                if n != self.size || crc.finalize() != self.crc32 {
                    return Err(BuildError::FileChanged {
                        path: source.to_path_buf(),
                    });
                }
                Ok(())
            }
        }
    }
}

/// Whether deflating a file that starts with `start` is worth trying. Small files are
/// always tried (cheap); otherwise the first [`PROBE_BYTES`] must deflate at
/// [`PROBE_LEVEL`] to under [`PROBE_PERCENT`] of their size. Already compressed or
/// encrypted data (jars, MSIs, media) fails fast here instead of costing a full deflate.
fn looks_compressible(start: &[u8]) -> bool {
    if start.len() <= SMALL_BYTES {
        return true;
    }
    let sample = &start[..start.len().min(PROBE_BYTES)];
    match byte_spread(sample) {
        Spread::Uniform => false,
        Spread::Skewed => true,
        Spread::Unsure => probe_compressible(sample),
    }
}

/// How evenly a sample's bytes spread over the 256 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spread {
    /// As even as random bytes: deflate cannot shrink it (already compressed or
    /// encrypted), so the probe is skipped.
    Uniform,
    /// Far from even (text, code, tables): deflate will shrink it, so the probe is
    /// skipped.
    Skewed,
    /// In between (e.g. an archive with headers between compressed members): the deflate
    /// probe decides.
    Unsure,
}

/// Pearson's chi-square of the byte histogram against a uniform one, in integers so
/// that the decision is the same on every machine (it decides the package's bytes).
/// With `n` bytes and counts `c`, chi² = Σ(256·c − n)² / (256·n). Random bytes give
/// about 255 ± 23 whatever `n`; under 512 is [`Spread::Uniform`]. Text gives chi²/n of
/// 5 to 20 (a fixed skew grows with `n`); over n/2 is [`Spread::Skewed`].
fn byte_spread(sample: &[u8]) -> Spread {
    let counts = histogram(sample);
    let n = sample.len() as u64;
    let sum: u128 = counts
        .iter()
        .map(|&c| {
            let d = (256 * u64::from(c)).abs_diff(n);
            u128::from(d) * u128::from(d)
        })
        .sum();
    let per = 256 * u128::from(n);
    if sum < 512 * per {
        Spread::Uniform
    } else if 2 * sum > per * u128::from(n) {
        Spread::Skewed
    } else {
        Spread::Unsure
    }
}

/// How often each byte value occurs in `sample`. Four tables, summed at the end: with one,
/// runs of the same byte (common in text) make each increment wait for the previous one.
fn histogram(sample: &[u8]) -> [u32; 256] {
    let mut tables = [[0u32; 256]; 4];
    let mut quads = sample.chunks_exact(4);
    for q in &mut quads {
        tables[0][usize::from(q[0])] += 1;
        tables[1][usize::from(q[1])] += 1;
        tables[2][usize::from(q[2])] += 1;
        tables[3][usize::from(q[3])] += 1;
    }
    for &b in quads.remainder() {
        tables[0][usize::from(b)] += 1;
    }
    let mut counts = [0u32; 256];
    for (i, c) in counts.iter_mut().enumerate() {
        *c = tables.iter().map(|t| t[i]).sum();
    }
    counts
}

/// Deflate must bring `sample` under [`PROBE_PERCENT`] of its size at [`PROBE_LEVEL`].
fn probe_compressible(sample: &[u8]) -> bool {
    let limit = sample.len() * PROBE_PERCENT / 100;
    deflate_within(sample, limit, PROBE_LEVEL).is_some()
}

/// The deflated form of `data` when it is strictly smaller than `data` (ties: stored).
fn deflate_smaller(data: &[u8]) -> Option<Vec<u8>> {
    if data.is_empty() {
        return None;
    }
    deflate_within(data, data.len() - 1, DEFLATE_LEVEL)
}

/// Deflates `data` into at most `limit` bytes, or gives up as soon as that cannot be.
fn deflate_within(data: &[u8], limit: usize, level: u32) -> Option<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(limit);
    match c.compress_vec(data, &mut out, FlushCompress::Finish) {
        Ok(Status::StreamEnd) => Some(out),
        _ => None,
    }
}

/// Fills `buf` as far as the reader allows; returns the bytes read (0 at the end).
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Streaming raw deflate into memory, spilling to a temporary file past [`IN_MEMORY_MAX`].
struct Deflater<'a> {
    c: Compress,
    out: Vec<u8>,
    memory: Vec<u8>,
    spool: Option<File>,
    spool_dir: &'a Path,
    produced: u64,
}

impl<'a> Deflater<'a> {
    fn new(spool_dir: &'a Path) -> Self {
        Deflater {
            c: Compress::new(Compression::new(DEFLATE_LEVEL), false),
            out: Vec::with_capacity(CHUNK),
            memory: Vec::new(),
            spool: None,
            spool_dir,
            produced: 0,
        }
    }

    fn run(
        &mut self,
        mut input: &[u8],
        flush: FlushCompress,
        source: &Path,
    ) -> Result<(), BuildError> {
        loop {
            self.out.clear();
            let before = self.c.total_in();
            let status = self
                .c
                .compress_vec(input, &mut self.out, flush)
                .map_err(|e| BuildError::Read {
                    path: source.to_path_buf(),
                    source: io::Error::other(e),
                })?;
            input = &input[(self.c.total_in() - before) as usize..];
            self.emit()?;
            let finished = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => input.is_empty() && self.out.len() < self.out.capacity(),
            };
            if finished {
                return Ok(());
            }
        }
    }

    fn emit(&mut self) -> Result<(), BuildError> {
        self.produced += self.out.len() as u64;
        let werr = |source| BuildError::Write {
            path: self.spool_dir.to_path_buf(),
            source,
        };
        if self.spool.is_none() && (self.memory.len() + self.out.len()) as u64 > IN_MEMORY_MAX {
            let mut f = tempfile::tempfile_in(self.spool_dir).map_err(werr)?;
            f.write_all(&self.memory).map_err(werr)?;
            self.memory = Vec::new();
            self.spool = Some(f);
        }
        match self.spool.as_mut() {
            Some(f) => f.write_all(&self.out).map_err(werr),
            None => {
                self.memory.extend_from_slice(&self.out);
                Ok(())
            }
        }
    }

    fn into_data(self) -> Data {
        match self.spool {
            Some(f) => Data::Spool(f),
            None => Data::Memory(self.memory),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_counts_every_byte_once_whatever_the_length() {
        let data: Vec<u8> = (0..4099u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in [0, 1, 3, 4, 5, 1000, 4099] {
            let mut naive = [0u32; 256];
            for &b in &data[..len] {
                naive[usize::from(b)] += 1;
            }
            assert_eq!(histogram(&data[..len]), naive, "length {len}");
        }
    }

    fn prepare_bytes(data: &[u8]) -> Prepared {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, data).expect("write");
        let done = AtomicU64::new(0);
        let p = prepare(
            &path,
            data.len() as u64,
            dir.path(),
            &done,
            &AtomicBool::new(false),
        )
        .expect("prepare")
        .expect("not cancelled");
        assert_eq!(done.load(Ordering::Relaxed), data.len() as u64);
        assert_eq!(p.crc32, crc32fast::hash(data));
        assert_eq!(p.sha256, <[u8; 32]>::from(sha2::Sha256::digest(data)));
        let mut out = Vec::new();
        let method = p.method;
        let csize = p.compressed_size;
        p.write_data(&mut out, Path::new("out.zip"), &path)
            .expect("write data");
        assert_eq!(out.len() as u64, csize);
        let back = if method == METHOD_DEFLATE {
            let mut d = flate2::read::DeflateDecoder::new(out.as_slice());
            let mut v = Vec::new();
            d.read_to_end(&mut v).expect("inflate");
            v
        } else {
            out
        };
        assert_eq!(back, data);
        Prepared {
            method,
            crc32: 0,
            sha256: [0; 32],
            size: data.len() as u64,
            compressed_size: csize,
            data: Data::Source,
        }
    }

    fn noise(n: usize) -> Vec<u8> {
        // xorshift: incompressible enough for deflate, and deterministic.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn text(n: usize) -> Vec<u8> {
        b"queue agent session failover instance node 0123456789\n"
            .iter()
            .copied()
            .cycle()
            .take(n)
            .collect()
    }

    #[test]
    fn byte_spread_tells_random_from_text_and_leaves_the_rest_to_the_probe() {
        for n in [4097, 20_000, PROBE_BYTES] {
            assert_eq!(byte_spread(&noise(n)), Spread::Uniform, "noise of {n}");
            assert_eq!(byte_spread(&text(n)), Spread::Skewed, "text of {n}");
        }
        // Deflate output (what jars and MSIs mostly hold) is near-uniform but not random:
        // whatever the verdict, it must not be "skewed" (that would skip the probe and
        // deflate compressed data in full).
        let letters: Vec<u8> = noise(400_000)
            .iter()
            .map(|b| b"abcdefghijklmnopqrstuvwxyz   \n"[usize::from(*b) % 30])
            .collect();
        let deflated = deflate_within(&letters, 400_000, DEFLATE_LEVEL).expect("deflates");
        assert_ne!(byte_spread(&deflated), Spread::Skewed);
        // Half random, half zeros: far from uniform, and compressible.
        let mut half = noise(PROBE_BYTES / 2);
        half.resize(PROBE_BYTES, 0);
        assert_eq!(byte_spread(&half), Spread::Skewed);
        // Random bytes folded onto 224 of the 256 values (chi²/n = 0.25): in between, so
        // the deflate probe decides.
        let some: Vec<u8> = noise(PROBE_BYTES).iter().map(|b| b % 224).collect();
        assert_eq!(byte_spread(&some), Spread::Unsure);
        assert_eq!(looks_compressible(&some), probe_compressible(&some));
    }

    #[test]
    fn empty_and_tiny_files_are_stored() {
        assert_eq!(prepare_bytes(b"").method, METHOD_STORED);
        assert_eq!(prepare_bytes(b"a").method, METHOD_STORED);
    }

    #[test]
    fn text_is_deflated_in_memory_and_spooled() {
        let small = prepare_bytes(&text(100_000));
        assert_eq!(small.method, METHOD_DEFLATE);
        let big = prepare_bytes(&text(3 << 20));
        assert_eq!(big.method, METHOD_DEFLATE);
        assert!(big.compressed_size < 1 << 20);
    }

    #[test]
    fn incompressible_data_is_stored_small_and_large() {
        assert_eq!(prepare_bytes(&noise(200_000)).method, METHOD_STORED);
        assert_eq!(prepare_bytes(&noise(3 << 20)).method, METHOD_STORED);
    }

    #[test]
    fn compressible_start_then_noise_is_stored_when_deflate_does_not_shrink_it() {
        let mut data = text(PROBE_BYTES);
        data.extend(noise(4 << 20));
        let p = prepare_bytes(&data);
        // Deflate shrinks only the text part: a little smaller overall, so deflated.
        assert_eq!(p.method, METHOD_DEFLATE);
        assert!(p.compressed_size < data.len() as u64);
    }

    #[test]
    fn a_file_that_changed_size_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        for expected in [4, 6, IN_MEMORY_MAX + 10] {
            let r = prepare(
                &path,
                expected,
                dir.path(),
                &AtomicU64::new(0),
                &AtomicBool::new(false),
            );
            assert!(
                matches!(r, Err(BuildError::FileChanged { .. })),
                "{expected}"
            );
        }
    }
}
