//! Strict, streaming reader of package archives (format v1, see `format.rs`).
//!
//! It reads from any `Read + Seek` with bounded memory: the end record must be the last
//! 22 bytes of the file (ZIP64 records right before it, only when a value needs them),
//! the central directory is bounded in size and entry count and read one record at a
//! time (never held whole), and entries are walked in archive order, each central record
//! held to the one encoding format v1 allows, each local header checked against it and
//! each entry's data handed out as a stream that never yields more than the declared size
//! and checks the CRC-32 at its end.
//!
//! It never interprets names beyond decoding them (names are judged by
//! `hotfix_manifest::names`), never trusts a size it has not bounded, and never seeks
//! backwards to re-read data it already handed out: verify and extract consume the same
//! stream.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Take};

use crate::format::{
    self, CENTRAL_HEADER_LEN, CENTRAL_HEADER_SIG, EOCD_LEN, EOCD_SIG, EXTERNAL_ATTRS, FLAG_UTF8,
    LOCAL_HEADER_LEN, LOCAL_HEADER_SIG, METHOD_DEFLATE, METHOD_STORED, VERSION_MADE_BY,
    VERSION_NEEDED, VERSION_NEEDED_ZIP64, ZIP64_EOCD_LEN, ZIP64_EOCD_SIG, ZIP64_EXTRA_ID,
    ZIP64_LOCATOR_LEN, ZIP64_LOCATOR_SIG, ZIP64_SENTINEL_16, ZIP64_SENTINEL_32,
};
use crate::rules::Rule;

/// At most this many entries are accepted.
pub const MAX_ENTRIES: u64 = 1_000_000;
/// At most this many bytes of central directory are read.
pub const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;
/// Buffer between the file and the entry streams.
const READ_BUFFER: usize = 64 * 1024;

const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_DEFLATE_OPTIONS: u16 = (1 << 1) | (1 << 2);
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_MASKED_HEADERS: u16 = 1 << 13;

const HOST_UNIX: u8 = 3;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
const DOS_DIRECTORY: u32 = 0x10;

/// Why the reader refused the archive or an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The archive breaks a format rule. `fatal` means the walk cannot go on (the
    /// structure after this point cannot be trusted); otherwise only `entry` is refused.
    #[error("{}{message} [{rule}]", entry.as_deref().map(|e| format!("{e}: ")).unwrap_or_default())]
    Format {
        rule: Rule,
        entry: Option<String>,
        message: String,
        fatal: bool,
    },
    /// The file could not be read.
    #[error("cannot read the package: {0}")]
    Io(#[source] io::Error),
}

impl ReadError {
    fn fatal(rule: Rule, entry: Option<&str>, message: impl Into<String>) -> ReadError {
        ReadError::Format {
            rule,
            entry: entry.map(str::to_owned),
            message: message.into(),
            fatal: true,
        }
    }

    fn entry(rule: Rule, entry: &str, message: impl Into<String>) -> ReadError {
        ReadError::Format {
            rule,
            entry: Some(entry.to_owned()),
            message: message.into(),
            fatal: false,
        }
    }

    /// The rule broken, if this is a format error.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            ReadError::Format { rule, .. } => Some(*rule),
            ReadError::Io(_) => None,
        }
    }

    /// Whether reading can continue with the next entry.
    pub fn is_fatal(&self) -> bool {
        match self {
            ReadError::Format { fatal, .. } => *fatal,
            ReadError::Io(_) => true,
        }
    }
}

/// A file that ends early is a format problem, not an I/O one.
fn io_err(e: io::Error, what: &str) -> ReadError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ReadError::fatal(
            Rule::Truncated,
            None,
            format!("the file ends inside {what}"),
        )
    } else {
        ReadError::Io(e)
    }
}

/// One entry as the central directory describes it.
#[derive(Debug, Clone)]
pub struct EntryRecord {
    /// Decoded name (lossy if it was not UTF-8; then `problem` says so).
    pub name: String,
    name_raw: Box<[u8]>,
    pub version_made_by: u16,
    /// "Version needed to extract", which the local header repeats.
    pub version_needed: u16,
    /// DOS time (low half) and date (high half), which the local header repeats.
    pub modified: u32,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_header_offset: u64,
    pub external_attrs: u32,
    /// The first rule this entry breaks on its own, if any: the walk reports it and
    /// skips the entry's data.
    problem: Option<(Rule, String)>,
}

impl EntryRecord {
    /// The first rule this record breaks, judged from the central directory alone.
    pub fn problem(&self) -> Option<(Rule, &str)> {
        self.problem.as_ref().map(|(r, m)| (*r, m.as_str()))
    }
}

/// Where an entry belongs in the v1 layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// `hotfix.xml`.
    Manifest,
    /// `signatures/...`.
    Signature,
    /// Everything else.
    Payload,
}

/// The section a name belongs to.
pub fn section(name: &str) -> Section {
    if name == hotfix_manifest::MANIFEST_ENTRY {
        Section::Manifest
    } else if name.starts_with(hotfix_manifest::SIGNATURES_DIR) {
        Section::Signature
    } else {
        Section::Payload
    }
}

/// A package archive opened for one strict walk over its entries.
///
/// The central directory is not read up front: each record is parsed just before its
/// entry, through a window of at most [`CENTRAL_WINDOW_BYTES`], so what the reader holds
/// does not grow with the archive. A 64 MiB central directory costs what a small one
/// does until its records are reached, and verify reaches the payload records only
/// after the manifest's signatures have been checked.
#[derive(Debug)]
pub struct PackageReader<R: Read + Seek> {
    src: BufReader<R>,
    file_len: u64,
    cd_offset: u64,
    cd: CentralCursor,
    /// The next record, parsed but not handed out yet.
    peeked: Option<EntryRecord>,
    /// The record of the entry handed out last (an [`Entry`] borrows it).
    current: Option<EntryRecord>,
    /// Records handed out so far.
    handed_out: u64,
    cursor: u64,
    stopped: bool,
    /// Entry 0's DOS time: every entry carries the same one (FORMAT.md 2.2).
    first_modified: Option<u32>,
}

/// At most this many bytes of central directory are held at a time. A record is at most
/// 46 + 3 × 65,535 bytes, so one always fits.
pub const CENTRAL_WINDOW_BYTES: usize = 256 * 1024;

/// The central directory as a stream of records: where the next one is, and a window of
/// raw directory bytes holding it.
#[derive(Debug)]
struct CentralCursor {
    next_at: u64,
    end: u64,
    left: u64,
    index: u64,
    window: Vec<u8>,
    window_at: u64,
    /// Largest window held so far (tests assert on it).
    most_held: usize,
}

impl CentralCursor {
    /// Makes `len` bytes at `at` available in the window; false when the directory ends
    /// first.
    fn ensure<R: Read + Seek>(
        &mut self,
        src: &mut BufReader<R>,
        at: u64,
        len: usize,
    ) -> Result<bool, ReadError> {
        let end = at.saturating_add(len as u64);
        if at >= self.window_at && end <= self.window_at + self.window.len() as u64 {
            return Ok(true);
        }
        if end > self.end {
            return Ok(false);
        }
        let want = usize::try_from(self.end - at)
            .unwrap_or(usize::MAX)
            .min(CENTRAL_WINDOW_BYTES)
            .max(len);
        self.window.clear();
        self.window.resize(want, 0);
        read_at(src, at, &mut self.window, "the central directory")?;
        self.window_at = at;
        self.most_held = self.most_held.max(self.window.len());
        Ok(true)
    }

    fn slice(&self, at: u64, len: usize) -> &[u8] {
        // Only called for a range `ensure` just made available.
        let from = usize::try_from(at - self.window_at).unwrap_or(0);
        &self.window[from..from + len]
    }

    /// The next record, `None` after the last one (when the directory must end there).
    fn next<R: Read + Seek>(
        &mut self,
        src: &mut BufReader<R>,
    ) -> Result<Option<EntryRecord>, ReadError> {
        if self.left == 0 {
            if self.next_at != self.end {
                return Err(ReadError::fatal(
                    Rule::CentralDirectoryInvalid,
                    None,
                    format!(
                        "{} bytes after the last central record",
                        self.end - self.next_at
                    ),
                ));
            }
            return Ok(None);
        }
        let i = self.index;
        let short = || {
            ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!("central directory ends inside record {i}"),
            )
        };
        let at = self.next_at;
        if !self.ensure(src, at, CENTRAL_HEADER_LEN)? {
            return Err(short());
        }
        let h = self.slice(at, CENTRAL_HEADER_LEN);
        if u32_at(h, 0) != CENTRAL_HEADER_SIG {
            return Err(ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!("record {i} has no central header signature"),
            ));
        }
        let name_len = usize::from(u16_at(h, 28));
        let extra_len = usize::from(u16_at(h, 30));
        let comment_len = usize::from(u16_at(h, 32));
        let len = CENTRAL_HEADER_LEN + name_len + extra_len + comment_len;
        if !self.ensure(src, at, len)? {
            return Err(short());
        }
        let raw = self.slice(at, len);
        let record = parse_central_record(
            &raw[..CENTRAL_HEADER_LEN],
            &raw[CENTRAL_HEADER_LEN..],
            name_len,
            extra_len,
            comment_len,
        );
        self.next_at += len as u64;
        self.left -= 1;
        self.index += 1;
        Ok(Some(record))
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// The ZIP64 values of an extra field that must hold exactly the `wanted` ones
/// (uncompressed size, compressed size, offset, in APPNOTE order), and nothing else:
/// no extra field at all when none is wanted.
fn zip64_extra(extra: &[u8], wanted: [bool; 3]) -> Result<[Option<u64>; 3], (Rule, String)> {
    let n = wanted.iter().filter(|w| **w).count();
    if extra.is_empty() {
        if n == 0 {
            return Ok([None; 3]);
        }
        return Err((
            Rule::Zip64Invalid,
            "a size or offset is 0xFFFFFFFF but no ZIP64 extra field gives it".into(),
        ));
    }
    if extra.len() < 4 {
        return Err((Rule::ExtraField, "malformed extra field".into()));
    }
    let id = u16_at(extra, 0);
    let size = usize::from(u16_at(extra, 2));
    if id != ZIP64_EXTRA_ID {
        return Err((
            Rule::ExtraField,
            format!("extra field 0x{id:04x} (only ZIP64 is allowed)"),
        ));
    }
    if 4 + size > extra.len() {
        return Err((Rule::ExtraField, "extra field runs past its header".into()));
    }
    if 4 + size < extra.len() {
        let rest = &extra[4 + size..];
        let msg = match rest.get(..2).map(|b| u16_at(b, 0)) {
            Some(ZIP64_EXTRA_ID) => "two ZIP64 extra fields".to_owned(),
            Some(other) => format!("extra field 0x{other:04x} (only ZIP64 is allowed)"),
            None => "malformed extra field".to_owned(),
        };
        return Err((Rule::ExtraField, msg));
    }
    if n == 0 {
        return Err((
            Rule::Zip64Unneeded,
            "ZIP64 extra field, but every size and offset fits in 32 bits".into(),
        ));
    }
    if size < 8 * n {
        return Err((Rule::Zip64Invalid, "ZIP64 extra field too short".into()));
    }
    if size > 8 * n {
        return Err((
            Rule::Zip64Unneeded,
            format!(
                "ZIP64 extra field of {size} bytes where {} are needed",
                8 * n
            ),
        ));
    }
    let mut out = [None; 3];
    let mut p = 4;
    for (slot, want) in out.iter_mut().zip(wanted) {
        if want {
            *slot = Some(u64_at(extra, p));
            p += 8;
        }
    }
    Ok(out)
}

/// Checks that a 32-bit field holds the ZIP64 sentinel exactly when its value needs
/// ZIP64 (FORMAT.md 2.2: ZIP64 "only where a size or offset does not fit in 32 bits").
fn sentinel_agrees(field: &str, sentinel: bool, value: u64) -> Result<(), (Rule, String)> {
    match (sentinel, format::needs_zip64(value)) {
        (true, false) => Err((
            Rule::Zip64Unneeded,
            format!(
                "{field} {value} is given in ZIP64 form (0xFFFFFFFF) though it fits in 32 bits"
            ),
        )),
        (false, true) => Err((
            Rule::Zip64Invalid,
            format!("{field} {value} needs the ZIP64 form"),
        )),
        _ => Ok(()),
    }
}

impl<R: Read + Seek> PackageReader<R> {
    /// Locates the end record, checks the archive's outer shape and the central
    /// directory's bounds. Neither records nor entries are read yet.
    pub fn open(src: R) -> Result<PackageReader<R>, ReadError> {
        let mut src = BufReader::with_capacity(READ_BUFFER, src);
        let file_len = src.seek(SeekFrom::End(0)).map_err(ReadError::Io)?;
        if file_len < EOCD_LEN {
            return Err(ReadError::fatal(
                Rule::NoEndRecord,
                None,
                format!("{file_len} bytes is too short for a zip archive"),
            ));
        }
        let mut eocd = [0u8; EOCD_LEN as usize];
        read_at(&mut src, file_len - EOCD_LEN, &mut eocd, "the end record")?;
        if u32_at(&eocd, 0) != EOCD_SIG || u16_at(&eocd, 20) != 0 {
            return Err(diagnose_missing_end(&mut src, file_len));
        }
        let mut disk = u32::from(u16_at(&eocd, 4));
        let mut cd_disk = u32::from(u16_at(&eocd, 6));
        let mut entries_disk = u64::from(u16_at(&eocd, 8));
        let mut entries_total = u64::from(u16_at(&eocd, 10));
        let mut cd_size = u64::from(u32_at(&eocd, 12));
        let mut cd_offset = u64::from(u32_at(&eocd, 16));
        let mut cd_end = file_len - EOCD_LEN;
        let mut zip64 = false;

        // ZIP64: a locator right before the end record, and the ZIP64 end record right
        // before the locator (no extensible data, so no bytes are unaccounted for).
        if file_len >= EOCD_LEN + ZIP64_LOCATOR_LEN {
            let mut loc = [0u8; ZIP64_LOCATOR_LEN as usize];
            let loc_at = file_len - EOCD_LEN - ZIP64_LOCATOR_LEN;
            read_at(&mut src, loc_at, &mut loc, "the ZIP64 locator")?;
            if u32_at(&loc, 0) == ZIP64_LOCATOR_SIG {
                zip64 = true;
                let z_at = u64_at(&loc, 8);
                let total_disks = u32_at(&loc, 16);
                if u32_at(&loc, 4) != 0 || total_disks > 1 {
                    return Err(ReadError::fatal(
                        Rule::MultiDisk,
                        None,
                        "the ZIP64 locator names another disk",
                    ));
                }
                if total_disks != 1 {
                    return Err(ReadError::fatal(
                        Rule::Zip64Invalid,
                        None,
                        format!("the ZIP64 locator counts {total_disks} disks (v1 writes 1)"),
                    ));
                }
                if loc_at < ZIP64_EOCD_LEN || z_at != loc_at - ZIP64_EOCD_LEN {
                    return Err(ReadError::fatal(
                        Rule::Zip64Invalid,
                        None,
                        "the ZIP64 end record is not right before its locator",
                    ));
                }
                let mut z = [0u8; ZIP64_EOCD_LEN as usize];
                read_at(&mut src, z_at, &mut z, "the ZIP64 end record")?;
                if u32_at(&z, 0) != ZIP64_EOCD_SIG || u64_at(&z, 4) != ZIP64_EOCD_LEN - 12 {
                    return Err(ReadError::fatal(
                        Rule::Zip64Invalid,
                        None,
                        "malformed ZIP64 end record",
                    ));
                }
                let (z_made_by, z_needed) = (u16_at(&z, 12), u16_at(&z, 14));
                if z_made_by != VERSION_MADE_BY || z_needed != VERSION_NEEDED_ZIP64 {
                    return Err(ReadError::fatal(
                        Rule::Zip64Invalid,
                        None,
                        format!(
                            "ZIP64 end record with version made by 0x{z_made_by:04x} and version needed {z_needed} (v1 writes 0x{VERSION_MADE_BY:04x} and {VERSION_NEEDED_ZIP64})"
                        ),
                    ));
                }
                let z_disk = u32_at(&z, 16);
                let z_cd_disk = u32_at(&z, 20);
                let z_entries_disk = u64_at(&z, 24);
                let z_entries_total = u64_at(&z, 32);
                let z_cd_size = u64_at(&z, 40);
                let z_cd_offset = u64_at(&z, 48);
                let count_big = format::count_needs_zip64(z_entries_total);
                let size_big = format::needs_zip64(z_cd_size);
                let offset_big = format::needs_zip64(z_cd_offset);
                if !(count_big || size_big || offset_big) {
                    return Err(ReadError::fatal(
                        Rule::Zip64EndUnneeded,
                        None,
                        "ZIP64 end record, but the end record holds every count, size and offset",
                    ));
                }
                // The classic record holds the sentinel exactly where the value needs
                // the ZIP64 record, and the value itself everywhere else.
                let classic = |big: bool, sentinel: u64, value: u64| {
                    if big { sentinel } else { value }
                };
                let sentinel16 = u64::from(ZIP64_SENTINEL_16);
                let sentinel32 = u64::from(ZIP64_SENTINEL_32);
                if entries_disk != classic(count_big, sentinel16, z_entries_disk)
                    || entries_total != classic(count_big, sentinel16, z_entries_total)
                    || cd_size != classic(size_big, sentinel32, z_cd_size)
                    || cd_offset != classic(offset_big, sentinel32, z_cd_offset)
                {
                    return Err(ReadError::fatal(
                        Rule::Zip64Invalid,
                        None,
                        "the end record and the ZIP64 end record disagree",
                    ));
                }
                disk = z_disk;
                cd_disk = z_cd_disk;
                entries_disk = z_entries_disk;
                entries_total = z_entries_total;
                cd_size = z_cd_size;
                cd_offset = z_cd_offset;
                cd_end = z_at;
            }
        }
        if !zip64
            && (format::count_needs_zip64(entries_total)
                || format::needs_zip64(cd_size)
                || format::needs_zip64(cd_offset))
        {
            return Err(ReadError::fatal(
                Rule::Zip64Invalid,
                None,
                "the end record holds a ZIP64 sentinel but there is no ZIP64 end record",
            ));
        }
        if disk != 0 || cd_disk != 0 || entries_disk != entries_total {
            return Err(ReadError::fatal(
                Rule::MultiDisk,
                None,
                "the archive spans several disks",
            ));
        }
        let mut first = [0u8; 4];
        read_at(&mut src, 0, &mut first, "the first local header")?;
        if u32_at(&first, 0) != LOCAL_HEADER_SIG {
            return Err(ReadError::fatal(
                Rule::PrependedData,
                None,
                "the file does not start with a local header (data before the archive)",
            ));
        }
        if entries_total > MAX_ENTRIES {
            return Err(ReadError::fatal(
                Rule::TooManyEntries,
                None,
                format!("{entries_total} entries (at most {MAX_ENTRIES})"),
            ));
        }
        if cd_size > MAX_CENTRAL_DIRECTORY_BYTES {
            return Err(ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!(
                    "central directory of {cd_size} bytes (at most {MAX_CENTRAL_DIRECTORY_BYTES})"
                ),
            ));
        }
        if cd_offset.checked_add(cd_size) != Some(cd_end) {
            return Err(ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!(
                    "central directory at {cd_offset}+{cd_size} does not end where the end record starts ({cd_end})"
                ),
            ));
        }
        if entries_total.saturating_mul(CENTRAL_HEADER_LEN as u64) > cd_size {
            return Err(ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!("{entries_total} entries cannot fit in {cd_size} bytes"),
            ));
        }
        Ok(PackageReader {
            src,
            file_len,
            cd_offset,
            cd: CentralCursor {
                next_at: cd_offset,
                end: cd_end,
                left: entries_total,
                index: 0,
                window: Vec::new(),
                window_at: cd_offset,
                most_held: 0,
            },
            peeked: None,
            current: None,
            handed_out: 0,
            cursor: 0,
            stopped: false,
            first_modified: None,
        })
    }

    /// Every central directory record, read without touching the entries, for tools and
    /// tests. Memory grows with the entry count (up to the 64 MiB directory cap), which
    /// is why verification never calls it.
    pub fn read_records(src: R) -> Result<Vec<EntryRecord>, ReadError> {
        let mut rd = PackageReader::open(src)?;
        let mut out = Vec::new();
        while rd.peek()?.is_some() {
            out.extend(rd.peeked.take());
        }
        Ok(out)
    }

    /// The next entry's central directory record, without reading the entry; `None`
    /// after the last one. An error here is fatal: the walk ends.
    pub fn peek(&mut self) -> Result<Option<&EntryRecord>, ReadError> {
        if self.peeked.is_none() && !self.stopped {
            match self.cd.next(&mut self.src) {
                Ok(Some(mut record)) => {
                    match self.first_modified {
                        None => self.first_modified = Some(record.modified),
                        Some(first) if first != record.modified && record.problem.is_none() => {
                            record.problem = Some((
                                Rule::EntryTime,
                                format!(
                                    "modification time 0x{:08x} differs from the first entry's 0x{first:08x} (every entry carries the manifest's created time)",
                                    record.modified
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                    self.peeked = Some(record);
                }
                Ok(None) => {}
                Err(e) => {
                    self.stopped = true;
                    return Err(e);
                }
            }
        }
        Ok(self.peeked.as_ref())
    }

    /// The most central directory bytes held at once so far (at most
    /// [`CENTRAL_WINDOW_BYTES`]).
    pub fn central_directory_bytes_held(&self) -> usize {
        self.cd.most_held
    }

    /// Size of the package file.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The next entry in archive order, with its local header checked. `None` after the
    /// last entry or after a fatal error. A non-fatal error refuses that entry only.
    pub fn next_entry(&mut self) -> Option<Result<Entry<'_, R>, ReadError>> {
        if self.stopped {
            return None;
        }
        if let Err(e) = self.peek() {
            return Some(Err(e));
        }
        let Some(record) = self.peeked.take() else {
            self.stopped = true;
            if self.cursor != self.cd_offset {
                return Some(Err(ReadError::fatal(
                    Rule::GapBetweenEntries,
                    None,
                    format!(
                        "{} bytes between the last entry and the central directory",
                        self.cd_offset.abs_diff(self.cursor)
                    ),
                )));
            }
            return None;
        };
        let index = self.handed_out;
        self.handed_out += 1;
        match self.locate(index, &record) {
            Ok(mismatch) => {
                let rec = self.current.insert(record);
                if let Some((rule, msg)) = mismatch {
                    return Some(Err(ReadError::entry(rule, &rec.name, msg)));
                }
                if let Some((rule, msg)) = &rec.problem {
                    return Some(Err(ReadError::entry(*rule, &rec.name, msg.clone())));
                }
                Some(Ok(Entry::new(&mut self.src, rec)))
            }
            Err(e) => {
                if e.is_fatal() {
                    self.stopped = true;
                }
                Some(Err(e))
            }
        }
    }

    /// Reads and checks entry `index`'s local header at the cursor; advances the cursor
    /// past its data, leaving the file positioned at the data. Returns the first
    /// problem of the local header on its own (ZIP64 form) or against the central record.
    fn locate(
        &mut self,
        index: u64,
        rec: &EntryRecord,
    ) -> Result<Option<(Rule, String)>, ReadError> {
        let name = rec.name.as_str();
        if rec.local_header_offset != self.cursor {
            let (rule, msg) = if index == 0 {
                (
                    Rule::PrependedData,
                    format!(
                        "first entry starts at {} instead of 0",
                        rec.local_header_offset
                    ),
                )
            } else if rec.local_header_offset < self.cursor {
                (
                    Rule::OverlappingEntries,
                    format!(
                        "starts at {} inside the previous entry (which ends at {})",
                        rec.local_header_offset, self.cursor
                    ),
                )
            } else {
                (
                    Rule::GapBetweenEntries,
                    format!(
                        "starts at {}, {} bytes after the previous entry",
                        rec.local_header_offset,
                        rec.local_header_offset - self.cursor
                    ),
                )
            };
            return Err(ReadError::fatal(rule, Some(name), msg));
        }
        let at = self.cursor;
        let pos = self.src.stream_position().map_err(ReadError::Io)?;
        if pos != at {
            self.src.seek(SeekFrom::Start(at)).map_err(ReadError::Io)?;
        }
        let mut h = [0u8; LOCAL_HEADER_LEN];
        self.src
            .read_exact(&mut h)
            .map_err(|e| io_err(e, "a local header"))?;
        if u32_at(&h, 0) != LOCAL_HEADER_SIG {
            return Err(ReadError::fatal(
                Rule::LocalHeaderInvalid,
                Some(name),
                format!("no local header at offset {at}"),
            ));
        }
        let flags = u16_at(&h, 6);
        let method = u16_at(&h, 8);
        let crc = u32_at(&h, 14);
        let csize32 = u32_at(&h, 18);
        let usize32 = u32_at(&h, 22);
        let name_len = usize::from(u16_at(&h, 26));
        let extra_len = usize::from(u16_at(&h, 28));
        let mut name_and_extra = vec![0u8; name_len + extra_len];
        self.src
            .read_exact(&mut name_and_extra)
            .map_err(|e| io_err(e, "a local header"))?;
        let (lname, lextra) = name_and_extra.split_at(name_len);
        let data_start = at + (LOCAL_HEADER_LEN + name_len + extra_len) as u64;
        let next = data_start
            .checked_add(rec.compressed_size)
            .filter(|&n| n <= self.cd_offset)
            .ok_or_else(|| {
                ReadError::fatal(
                    Rule::OverlappingEntries,
                    Some(name),
                    "entry data runs into the central directory",
                )
            })?;
        self.cursor = next;

        // The local header carries both sizes in ZIP64 form exactly when either needs it
        // (APPNOTE 4.5.3), and nothing else in its extra field.
        let want =
            format::needs_zip64(rec.uncompressed_size) || format::needs_zip64(rec.compressed_size);
        let local_problem = zip64_extra(lextra, [want, want, false]).and_then(|z| {
            let lusize = z[0].unwrap_or(u64::from(usize32));
            let lcsize = z[1].unwrap_or(u64::from(csize32));
            sentinel_agrees("size", usize32 == ZIP64_SENTINEL_32, lusize)?;
            sentinel_agrees("compressed size", csize32 == ZIP64_SENTINEL_32, lcsize)?;
            Ok((lusize, lcsize))
        });
        let (lusize, lcsize) = match local_problem {
            Ok(sizes) => sizes,
            Err((rule, msg)) => return Ok(Some((rule, format!("local header: {msg}")))),
        };
        let mut diffs = Vec::new();
        if lname != &*rec.name_raw {
            diffs.push(format!(
                "name {:?} vs {:?}",
                hotfix_manifest::names::shorten(&String::from_utf8_lossy(lname)),
                hotfix_manifest::names::shorten(&rec.name)
            ));
        }
        if method != rec.method {
            diffs.push(format!("method {method} vs {}", rec.method));
        }
        let version_needed = u16_at(&h, 4);
        if version_needed != rec.version_needed {
            diffs.push(format!(
                "version needed {version_needed} vs {}",
                rec.version_needed
            ));
        }
        let modified = u32_at(&h, 10);
        if modified != rec.modified {
            diffs.push(format!(
                "modification time 0x{modified:08x} vs 0x{:08x}",
                rec.modified
            ));
        }
        if flags != rec.flags {
            diffs.push(format!("flags 0x{flags:04x} vs 0x{:04x}", rec.flags));
        }
        if crc != rec.crc32 {
            diffs.push(format!("CRC-32 {crc:08x} vs {:08x}", rec.crc32));
        }
        if lcsize != rec.compressed_size {
            diffs.push(format!(
                "compressed size {lcsize} vs {}",
                rec.compressed_size
            ));
        }
        if lusize != rec.uncompressed_size {
            diffs.push(format!("size {lusize} vs {}", rec.uncompressed_size));
        }
        let mismatch = (!diffs.is_empty()).then(|| {
            (
                Rule::LocalHeaderMismatch,
                format!(
                    "local header disagrees with the central directory: {} (local vs central)",
                    diffs.join(", ")
                ),
            )
        });
        Ok(mismatch)
    }
}

/// Reads exactly `buf.len()` bytes at `at`.
fn read_at<R: Read + Seek>(
    src: &mut BufReader<R>,
    at: u64,
    buf: &mut [u8],
    what: &str,
) -> Result<(), ReadError> {
    src.seek(SeekFrom::Start(at)).map_err(ReadError::Io)?;
    src.read_exact(buf).map_err(|e| io_err(e, what))
}

/// The last 22 bytes are not an end record with an empty comment: says why, looking at
/// most 64 KiB back.
///
/// A signature found there counts as an end record only when its central directory is
/// where it says, ending right where the record starts: a stored payload file (a jar,
/// say) may hold the four signature bytes anywhere, and a download cut off after them
/// must be reported as truncated, not as data appended to an archive.
fn diagnose_missing_end<R: Read + Seek>(src: &mut BufReader<R>, file_len: u64) -> ReadError {
    let window = file_len.min(u64::from(u16::MAX) + EOCD_LEN + 1024);
    let tail_at = file_len - window;
    let mut tail = vec![0u8; usize::try_from(window).unwrap_or(0)];
    if read_at(src, tail_at, &mut tail, "the end record").is_ok() {
        for i in (0..tail.len().saturating_sub(EOCD_LEN as usize - 1)).rev() {
            if u32_at(&tail, i) != EOCD_SIG {
                continue;
            }
            let at = tail_at + i as u64;
            if !is_end_record(src, at, &tail[i..i + EOCD_LEN as usize]) {
                continue;
            }
            let comment = u64::from(u16_at(&tail, i + 20));
            let (rule, msg) = if comment > 0 {
                (
                    Rule::ArchiveComment,
                    format!("archive comment of {comment} bytes"),
                )
            } else {
                (
                    Rule::AppendedData,
                    format!(
                        "{} bytes after the end record",
                        file_len.saturating_sub(at + EOCD_LEN)
                    ),
                )
            };
            return ReadError::fatal(rule, None, msg);
        }
    }
    let mut first = [0u8; 4];
    let looks_like_zip = read_at(src, 0, &mut first, "the first bytes").is_ok()
        && u32_at(&first, 0) == LOCAL_HEADER_SIG;
    if !looks_like_zip {
        return ReadError::fatal(Rule::NoEndRecord, None, "no end record: not a zip archive");
    }
    let msg = match expected_length(src, file_len) {
        Some((expected, inside)) => format!(
            "truncated: {file_len} bytes, at least {expected} bytes expected (the file ends inside {inside})"
        ),
        None => format!(
            "truncated: {file_len} bytes, more bytes expected (no end record at the end of the file; or more than 64 KiB were appended)"
        ),
    };
    ReadError::fatal(Rule::Truncated, None, msg)
}

/// Whether the 22 bytes `eocd` found at `at` are an end record of this file: its
/// central directory (or ZIP64 locator) ends exactly at `at` and starts with a central
/// header (or is empty).
fn is_end_record<R: Read + Seek>(src: &mut BufReader<R>, at: u64, eocd: &[u8]) -> bool {
    let cd_size = u64::from(u32_at(eocd, 12));
    let cd_offset = u64::from(u32_at(eocd, 16));
    if cd_offset == u64::from(ZIP64_SENTINEL_32) || cd_size == u64::from(ZIP64_SENTINEL_32) {
        let mut loc = [0u8; 4];
        return at >= ZIP64_LOCATOR_LEN
            && read_at(src, at - ZIP64_LOCATOR_LEN, &mut loc, "the ZIP64 locator").is_ok()
            && u32_at(&loc, 0) == ZIP64_LOCATOR_SIG;
    }
    if cd_offset.checked_add(cd_size) != Some(at) {
        return false;
    }
    if cd_size == 0 {
        return true;
    }
    let mut sig = [0u8; 4];
    read_at(src, cd_offset, &mut sig, "the central directory").is_ok()
        && u32_at(&sig, 0) == CENTRAL_HEADER_SIG
}

/// For a file cut short: a lower bound on its full length, found by walking the local
/// headers (and then the central records) from the start, and what the file ends
/// inside. `None` when the walk finds no structure running past the end.
fn expected_length<R: Read + Seek>(src: &mut BufReader<R>, file_len: u64) -> Option<(u64, String)> {
    let mut at = 0u64;
    let mut steps = 0u64;
    // Local headers: 30 bytes, name, extra, then the entry's data.
    loop {
        steps += 1;
        if steps > 2 * MAX_ENTRIES + 2 {
            return None;
        }
        let mut h = [0u8; LOCAL_HEADER_LEN];
        if at + LOCAL_HEADER_LEN as u64 > file_len {
            return Some((at + LOCAL_HEADER_LEN as u64, "a local header".into()));
        }
        read_at(src, at, &mut h, "a local header").ok()?;
        if u32_at(&h, 0) != LOCAL_HEADER_SIG {
            break;
        }
        let name_len = u64::from(u16_at(&h, 26));
        let extra_len = u64::from(u16_at(&h, 28));
        let head_end = at + LOCAL_HEADER_LEN as u64 + name_len + extra_len;
        if head_end > file_len {
            return Some((head_end, "a local header".into()));
        }
        let mut var = vec![0u8; usize::try_from(name_len + extra_len).ok()?];
        read_at(
            src,
            at + LOCAL_HEADER_LEN as u64,
            &mut var,
            "a local header",
        )
        .ok()?;
        let name_len = usize::try_from(name_len).ok()?;
        let name = String::from_utf8_lossy(&var[..name_len]).into_owned();
        let mut csize = u64::from(u32_at(&h, 18));
        if csize == u64::from(ZIP64_SENTINEL_32) {
            // The local ZIP64 field holds the uncompressed size, then the compressed one.
            let extra = &var[name_len..];
            if extra.len() >= 20 && u16_at(extra, 0) == ZIP64_EXTRA_ID {
                csize = u64_at(extra, 12);
            } else {
                return None;
            }
        }
        let data_end = head_end.checked_add(csize)?;
        if data_end > file_len {
            return Some((data_end, format!("the data of entry \"{name}\"")));
        }
        at = data_end;
    }
    // Central records: 46 bytes, name, extra, comment; then the end records.
    loop {
        steps += 1;
        if steps > 2 * MAX_ENTRIES + 2 {
            return None;
        }
        if at + CENTRAL_HEADER_LEN as u64 > file_len {
            return Some((
                at + CENTRAL_HEADER_LEN as u64 + EOCD_LEN,
                "the central directory".into(),
            ));
        }
        let mut h = [0u8; CENTRAL_HEADER_LEN];
        read_at(src, at, &mut h, "the central directory").ok()?;
        if u32_at(&h, 0) != CENTRAL_HEADER_SIG {
            // Past the central directory: only end records can follow.
            return Some((at + EOCD_LEN, "the end records".into()));
        }
        let len = CENTRAL_HEADER_LEN as u64
            + u64::from(u16_at(&h, 28))
            + u64::from(u16_at(&h, 30))
            + u64::from(u16_at(&h, 32));
        at += len;
        if at > file_len {
            return Some((at + EOCD_LEN, "the central directory".into()));
        }
    }
}

fn parse_central_record(
    h: &[u8],
    var: &[u8],
    name_len: usize,
    extra_len: usize,
    comment_len: usize,
) -> EntryRecord {
    let version_made_by = u16_at(h, 4);
    let version_needed = u16_at(h, 6);
    let modified = u32_at(h, 12);
    let flags = u16_at(h, 8);
    let method = u16_at(h, 10);
    let crc32 = u32_at(h, 16);
    let csize32 = u32_at(h, 20);
    let usize32 = u32_at(h, 24);
    let disk_start = u16_at(h, 34);
    let external_attrs = u32_at(h, 38);
    let offset32 = u32_at(h, 42);
    let name_raw = &var[..name_len];
    let extra = &var[name_len..name_len + extra_len];

    let mut problems: Vec<(Rule, String)> = Vec::new();
    let name = match std::str::from_utf8(name_raw) {
        Ok(s) if s.is_ascii() || flags & FLAG_UTF8 != 0 => s.to_owned(),
        Ok(s) => {
            problems.push((
                Rule::NameNotUtf8,
                "non-ASCII name without the UTF-8 flag".into(),
            ));
            s.to_owned()
        }
        Err(_) => {
            problems.push((Rule::NameNotUtf8, "name is not valid UTF-8".into()));
            String::from_utf8_lossy(name_raw).into_owned()
        }
    };
    if flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS) != 0 {
        problems.push((Rule::Encrypted, "encrypted entry".into()));
    }
    if flags & FLAG_DATA_DESCRIPTOR != 0 {
        problems.push((
            Rule::DataDescriptor,
            "sizes are in a data descriptor after the data".into(),
        ));
    }
    let known = FLAG_ENCRYPTED
        | FLAG_DEFLATE_OPTIONS
        | FLAG_DATA_DESCRIPTOR
        | FLAG_STRONG_ENCRYPTION
        | FLAG_UTF8
        | FLAG_MASKED_HEADERS;
    if flags & !known != 0 {
        problems.push((
            Rule::UnsupportedFlags,
            format!("general-purpose flags 0x{flags:04x}"),
        ));
    }
    if method != METHOD_STORED && method != METHOD_DEFLATE {
        problems.push((
            Rule::UnsupportedMethod,
            format!("compression method {method} (only 0 stored and 8 deflate)"),
        ));
    }
    let host = (version_made_by >> 8) as u8;
    if host == HOST_UNIX {
        let mode = external_attrs >> 16;
        match mode & S_IFMT {
            S_IFREG if name.ends_with('/') => {
                problems.push((Rule::DirectoryEntry, "name ends with '/'".into()));
            }
            S_IFREG => {}
            S_IFLNK => problems.push((Rule::Symlink, "symbolic link".into())),
            S_IFDIR => problems.push((Rule::DirectoryEntry, "directory entry".into())),
            0 => problems.push((Rule::Attributes, "no file type in the attributes".into())),
            t => problems.push((Rule::SpecialFile, format!("special file (mode {t:o})"))),
        }
    } else if external_attrs & DOS_DIRECTORY != 0 || name.ends_with('/') {
        problems.push((Rule::DirectoryEntry, "directory entry".into()));
    } else {
        problems.push((
            Rule::Attributes,
            format!("attributes from host {host}, not Unix (3)"),
        ));
    }
    // The v1 writer sets these header fields to one value each; any other value means
    // the archive was not written by it (see FORMAT.md 2.4 for what the bytes depend on).
    let internal_attrs = u16_at(h, 36);
    if problems.is_empty() {
        if version_made_by != VERSION_MADE_BY {
            problems.push((
                Rule::Attributes,
                format!(
                    "version made by 0x{version_made_by:04x} (v1 writes 0x{VERSION_MADE_BY:04x})"
                ),
            ));
        } else if external_attrs != EXTERNAL_ATTRS {
            problems.push((
                Rule::Attributes,
                format!(
                    "attributes 0o{:o} (v1 writes 0o{:o})",
                    external_attrs >> 16,
                    EXTERNAL_ATTRS >> 16
                ),
            ));
        } else if internal_attrs != 0 {
            problems.push((
                Rule::Attributes,
                format!("internal attributes 0x{internal_attrs:04x} (v1 writes 0)"),
            ));
        }
    }
    let sentinels = [
        usize32 == ZIP64_SENTINEL_32,
        csize32 == ZIP64_SENTINEL_32,
        offset32 == ZIP64_SENTINEL_32,
    ];
    let (mut usize64, mut csize64, mut off64) =
        (u64::from(usize32), u64::from(csize32), u64::from(offset32));
    let zip64 = zip64_extra(extra, sentinels).and_then(|[u, c, o]| {
        usize64 = u.unwrap_or(usize64);
        csize64 = c.unwrap_or(csize64);
        off64 = o.unwrap_or(off64);
        sentinel_agrees("size", sentinels[0], usize64)?;
        sentinel_agrees("compressed size", sentinels[1], csize64)?;
        sentinel_agrees("local header offset", sentinels[2], off64)
    });
    match zip64 {
        Ok(()) => {
            // 4.5 exactly when the entry has a ZIP64 field, 2.0 otherwise; the local
            // header must repeat it (checked there).
            let expected = if extra.is_empty() {
                VERSION_NEEDED
            } else {
                VERSION_NEEDED_ZIP64
            };
            if version_needed != expected && problems.is_empty() {
                problems.push((
                    Rule::VersionNeeded,
                    format!(
                        "version needed to extract {version_needed}, but this entry needs {expected} ({})",
                        if extra.is_empty() { "no ZIP64 field" } else { "a ZIP64 field" }
                    ),
                ));
            }
        }
        Err(p) => problems.push(p),
    }
    if comment_len != 0 {
        problems.push((
            Rule::EntryComment,
            format!("comment of {comment_len} bytes"),
        ));
    }
    if disk_start != 0 {
        problems.push((Rule::MultiDisk, "entry on another disk".into()));
    }
    if method == METHOD_STORED && csize64 != usize64 {
        problems.push((
            Rule::SizeMismatch,
            format!("stored entry with compressed size {csize64} and size {usize64}"),
        ));
    }
    EntryRecord {
        name,
        name_raw: name_raw.into(),
        version_made_by,
        version_needed,
        modified,
        flags,
        method,
        crc32,
        compressed_size: csize64,
        uncompressed_size: usize64,
        local_header_offset: off64,
        external_attrs,
        problem: problems.into_iter().next(),
    }
}

enum Inner<S: BufRead> {
    Stored(Take<S>),
    Deflate(Box<flate2::bufread::DeflateDecoder<Take<S>>>),
}

impl<S: BufRead> std::fmt::Debug for Inner<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Inner::Stored(_) => "Stored",
            Inner::Deflate(_) => "Deflate",
        })
    }
}

/// Decompression and checks of one entry's data, from the file or from memory: never
/// more than one byte past the declared size, CRC-32 and exact length checked at the end.
#[derive(Debug)]
struct Decode<S: BufRead> {
    inner: Inner<S>,
    produced: u64,
    crc: crc32fast::Hasher,
    done: bool,
}

impl<S: BufRead> Decode<S> {
    fn new(src: S, record: &EntryRecord) -> Decode<S> {
        let take = src.take(record.compressed_size);
        let inner = if record.method == METHOD_DEFLATE {
            Inner::Deflate(Box::new(flate2::bufread::DeflateDecoder::new(take)))
        } else {
            Inner::Stored(take)
        };
        Decode {
            inner,
            produced: 0,
            crc: crc32fast::Hasher::new(),
            done: false,
        }
    }

    fn read_chunk(&mut self, record: &EntryRecord, buf: &mut [u8]) -> Result<usize, ReadError> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let name = record.name.as_str();
        let allowed = record
            .uncompressed_size
            .saturating_sub(self.produced)
            .saturating_add(1);
        let len = usize::try_from(allowed).map_or(buf.len(), |a| a.min(buf.len()));
        let buf = &mut buf[..len];
        let n = match &mut self.inner {
            Inner::Stored(r) => r.read(buf).map_err(|e| io_err(e, "entry data"))?,
            Inner::Deflate(d) => d.read(buf).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                    ReadError::entry(Rule::CorruptData, name, format!("deflate data: {e}"))
                }
                _ => io_err(e, "entry data"),
            })?,
        };
        if n == 0 {
            self.done = true;
            let left = match &self.inner {
                Inner::Stored(r) => r.limit(),
                Inner::Deflate(d) => d.get_ref().limit(),
            };
            if left != 0 {
                let (rule, msg) = match self.inner {
                    Inner::Stored(_) => (Rule::Truncated, "the file ends inside the entry's data"),
                    Inner::Deflate(_) => (
                        Rule::CorruptData,
                        "compressed bytes left after the end of the deflate stream",
                    ),
                };
                return Err(ReadError::entry(rule, name, msg));
            }
            if self.produced != record.uncompressed_size {
                return Err(ReadError::entry(
                    Rule::SizeMismatch,
                    name,
                    format!(
                        "{} bytes of data, {} declared",
                        self.produced, record.uncompressed_size
                    ),
                ));
            }
            let crc = self.crc.clone().finalize();
            if crc != record.crc32 {
                return Err(ReadError::entry(
                    Rule::CrcMismatch,
                    name,
                    format!("CRC-32 {crc:08x}, {:08x} declared", record.crc32),
                ));
            }
            return Ok(0);
        }
        self.produced += n as u64;
        if self.produced > record.uncompressed_size {
            self.done = true;
            return Err(ReadError::entry(
                Rule::SizeMismatch,
                name,
                format!(
                    "data goes on past the declared {} bytes",
                    record.uncompressed_size
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Where an [`Entry`] is: not read yet (the file is at its data), or being decoded.
#[derive(Debug)]
enum State<'a, R: Read + Seek> {
    Fresh(&'a mut BufReader<R>),
    Reading(Decode<&'a mut BufReader<R>>),
    /// Only while switching from `Fresh` to `Reading`.
    Moved,
}

/// One entry's data as a stream: decompressed, never more than the declared size, CRC-32
/// checked when the end is reached.
#[derive(Debug)]
pub struct Entry<'a, R: Read + Seek> {
    record: &'a EntryRecord,
    state: State<'a, R>,
}

impl<'a, R: Read + Seek> Entry<'a, R> {
    fn new(src: &'a mut BufReader<R>, record: &'a EntryRecord) -> Entry<'a, R> {
        Entry {
            record,
            state: State::Fresh(src),
        }
    }

    /// The entry's central directory record.
    pub fn record(&self) -> &EntryRecord {
        self.record
    }

    /// The entry name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// Bytes handed out so far.
    pub fn produced(&self) -> u64 {
        match &self.state {
            State::Reading(d) => d.produced,
            State::Fresh(_) | State::Moved => 0,
        }
    }

    /// Reads the next chunk into `buf`. `Ok(0)` only at the verified end: the size equals
    /// the declared one and the CRC-32 matches. Never decompresses more than one byte
    /// beyond the declared size.
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        if let State::Fresh(_) = self.state
            && let State::Fresh(src) = std::mem::replace(&mut self.state, State::Moved)
        {
            self.state = State::Reading(Decode::new(src, self.record));
        }
        match &mut self.state {
            State::Reading(d) => d.read_chunk(self.record, buf),
            State::Fresh(_) | State::Moved => Ok(0),
        }
    }

    /// Reads the entry's stored (still compressed) bytes into memory, so that they can be
    /// decoded and checked elsewhere, for example on another thread, with
    /// [`RawEntry::decoder`]: the same checks as [`Entry::read_chunk`], in the same order.
    /// Only for an entry not read yet; `cap` bounds the compressed size accepted.
    pub fn into_raw(self, cap: u64) -> Result<RawEntry, ReadError> {
        let State::Fresh(src) = self.state else {
            return Err(ReadError::Io(io::Error::other(
                "internal: into_raw on an entry already being read",
            )));
        };
        if self.record.compressed_size > cap {
            return Err(ReadError::entry(
                Rule::TooLarge,
                &self.record.name,
                format!(
                    "{} compressed bytes (at most {cap} here)",
                    self.record.compressed_size
                ),
            ));
        }
        let mut data =
            Vec::with_capacity(usize::try_from(self.record.compressed_size).unwrap_or(0));
        // A file that ends inside the data leaves `data` short; decoding then reports it
        // exactly as the streaming read does.
        src.take(self.record.compressed_size)
            .read_to_end(&mut data)
            .map_err(|e| io_err(e, "entry data"))?;
        Ok(RawEntry {
            record: self.record.clone(),
            data,
        })
    }

    /// Copies the entry's stored (still compressed) bytes to `out` as they are, for a
    /// writer that carries entries over unchanged (co-signing). Only for an entry not
    /// read yet; the data is not decoded, so its CRC-32 is not checked here.
    pub fn copy_stored_bytes(self, out: &mut impl io::Write) -> Result<u64, ReadError> {
        let State::Fresh(src) = self.state else {
            return Err(ReadError::Io(io::Error::other(
                "internal: copy_stored_bytes on an entry already being read",
            )));
        };
        let want = self.record.compressed_size;
        let copied = io::copy(&mut src.take(want), out).map_err(ReadError::Io)?;
        if copied != want {
            return Err(ReadError::fatal(
                Rule::Truncated,
                Some(&self.record.name),
                "the file ends inside the entry's data",
            ));
        }
        Ok(copied)
    }

    /// Reads the whole entry, refusing more than `cap` bytes (for the manifest and
    /// signatures, which are read into memory).
    pub fn read_to_vec(&mut self, cap: u64) -> Result<Vec<u8>, ReadError> {
        let name = self.record.name.clone();
        if self.record.uncompressed_size > cap {
            return Err(ReadError::entry(
                Rule::TooLarge,
                &name,
                format!("{} bytes (at most {cap})", self.record.uncompressed_size),
            ));
        }
        let mut out =
            Vec::with_capacity(usize::try_from(self.record.uncompressed_size).unwrap_or(0));
        let mut buf = [0u8; 8192];
        loop {
            let n = self.read_chunk(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }
}

/// An entry's stored bytes, read into memory by [`Entry::into_raw`].
#[derive(Debug)]
pub struct RawEntry {
    record: EntryRecord,
    data: Vec<u8>,
}

impl RawEntry {
    /// The entry's central directory record.
    pub fn record(&self) -> &EntryRecord {
        &self.record
    }

    /// The entry's data as a stream, with every check of [`Entry::read_chunk`].
    pub fn decoder(&self) -> RawDecoder<'_> {
        RawDecoder {
            record: &self.record,
            decode: Decode::new(&self.data[..], &self.record),
        }
    }

    /// A stored entry whose bytes are all here, as many as both its sizes say: those
    /// bytes, without a copy, and the result of the CRC-32 check, which is what reading
    /// [`RawEntry::decoder`] to its end would hand out and conclude (the decoder's other
    /// end-of-data checks hold by these conditions). The bytes are taken out, so the
    /// entry is empty afterwards. `None` for any other entry, which is left as it is, to
    /// be decoded.
    pub fn take_stored_bytes(&mut self) -> Option<(Vec<u8>, Result<(), ReadError>)> {
        let r = &self.record;
        if r.method != METHOD_STORED
            || r.compressed_size != r.uncompressed_size
            || self.data.len() as u64 != r.uncompressed_size
        {
            return None;
        }
        let crc = crc32fast::hash(&self.data);
        let check = if crc == r.crc32 {
            Ok(())
        } else {
            Err(ReadError::entry(
                Rule::CrcMismatch,
                &r.name,
                format!("CRC-32 {crc:08x}, {:08x} declared", r.crc32),
            ))
        };
        Some((std::mem::take(&mut self.data), check))
    }
}

/// Decodes a [`RawEntry`]; see [`RawDecoder::read_chunk`].
#[derive(Debug)]
pub struct RawDecoder<'a> {
    record: &'a EntryRecord,
    decode: Decode<&'a [u8]>,
}

impl RawDecoder<'_> {
    /// As [`Entry::read_chunk`].
    pub fn read_chunk(&mut self, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.decode.read_chunk(self.record, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_follows_the_layout() {
        assert_eq!(section("hotfix.xml"), Section::Manifest);
        assert_eq!(section("signatures/ABCD.minisig"), Section::Signature);
        assert_eq!(section("server/P/x"), Section::Payload);
    }

    /// However large the central directory, the walk holds one window of it.
    #[test]
    fn the_walk_holds_at_most_one_window_of_the_central_directory() {
        use crate::zipwrite::{CentralDirectory, DosDateTime, EntryHeader, Zip64, local_header};
        let names: Vec<String> = (0..3000)
            .map(|i| format!("docs/{i:05}-{}", "n".repeat(1000)))
            .collect();
        let mut out = Vec::new();
        let mut cd = CentralDirectory::new(Zip64::WHEN_NEEDED);
        for name in &names {
            let h = EntryHeader {
                name,
                method: METHOD_STORED,
                crc32: crc32fast::hash(b"x"),
                compressed_size: 1,
                size: 1,
                modified: DosDateTime::MIN,
            };
            let offset = out.len() as u64;
            out.extend_from_slice(&local_header(&h, offset, Zip64::WHEN_NEEDED));
            out.push(b'x');
            cd.push(&h, offset);
        }
        let cd_offset = out.len() as u64;
        out.extend_from_slice(&cd.finish(cd_offset));
        let cd_bytes = out.len() as u64 - cd_offset;
        assert!(cd_bytes > 10 * CENTRAL_WINDOW_BYTES as u64);

        let mut rd = PackageReader::open(io::Cursor::new(&out)).expect("open");
        let mut read = 0;
        while let Some(entry) = rd.next_entry() {
            let mut entry = entry.expect("entry");
            assert_eq!(entry.read_to_vec(1).expect("data"), b"x");
            read += 1;
        }
        assert_eq!(read, names.len());
        assert!(rd.central_directory_bytes_held() <= CENTRAL_WINDOW_BYTES);
        assert!(rd.central_directory_bytes_held() > 0);
    }

    /// The stored bytes handed out without a copy are what the decoder hands out, and
    /// a wrong CRC-32 is the same error either way.
    #[test]
    fn stored_bytes_without_a_copy_match_the_decoder() {
        use crate::zipwrite::{CentralDirectory, DosDateTime, EntryHeader, Zip64, local_header};
        let payloads: [(&str, &[u8], u32); 3] = [
            ("docs/good", b"hello world", crc32fast::hash(b"hello world")),
            ("docs/bad-crc", b"hello world", 0x1234_5678),
            ("docs/empty", b"", 0),
        ];
        let mut out = Vec::new();
        let mut cd = CentralDirectory::new(Zip64::WHEN_NEEDED);
        for (name, data, crc32) in payloads {
            let h = EntryHeader {
                name,
                method: METHOD_STORED,
                crc32,
                compressed_size: data.len() as u64,
                size: data.len() as u64,
                modified: DosDateTime::MIN,
            };
            let offset = out.len() as u64;
            out.extend_from_slice(&local_header(&h, offset, Zip64::WHEN_NEEDED));
            out.extend_from_slice(data);
            cd.push(&h, offset);
        }
        let cd_offset = out.len() as u64;
        out.extend_from_slice(&cd.finish(cd_offset));
        let mut rd = PackageReader::open(io::Cursor::new(&out)).expect("open");
        let mut seen = 0;
        while let Some(entry) = rd.next_entry() {
            let mut raw = entry.expect("entry").into_raw(1 << 20).expect("raw");
            let mut decoded = Vec::new();
            let mut dec = raw.decoder();
            let mut buf = [0u8; 4];
            let expected = loop {
                match dec.read_chunk(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => decoded.extend_from_slice(&buf[..n]),
                    Err(e) => break Err(e.to_string()),
                }
            };
            let (bytes, check) = raw.take_stored_bytes().expect("stored, complete");
            assert_eq!(bytes, decoded);
            assert_eq!(check.map_err(|e| e.to_string()), expected);
            seen += 1;
        }
        assert_eq!(seen, 3);
    }

    #[test]
    fn refuses_empty_and_non_zip_input() {
        let e = PackageReader::open(io::Cursor::new(Vec::new())).expect_err("empty");
        assert_eq!(e.rule(), Some(Rule::NoEndRecord));
        let e = PackageReader::open(io::Cursor::new(vec![b'x'; 100])).expect_err("junk");
        assert_eq!(e.rule(), Some(Rule::NoEndRecord));
    }
}
