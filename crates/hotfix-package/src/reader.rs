//! Strict, streaming reader of package archives (format v1, see `format.rs`).
//!
//! It reads from any `Read + Seek` with bounded memory: the end record must be the last
//! 22 bytes of the file (ZIP64 records right before it when present), the central
//! directory is bounded in size and entry count, and entries are then walked in archive
//! order, each local header checked against its central record and each entry's data
//! handed out as a stream that never yields more than the declared size and checks the
//! CRC-32 at its end.
//!
//! It never interprets names beyond decoding them (names are judged by
//! `hotfix_manifest::names`), never trusts a size it has not bounded, and never seeks
//! backwards to re-read data it already handed out: verify and extract consume the same
//! stream.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Take};

use crate::format::{
    CENTRAL_HEADER_SIG, EOCD_SIG, EXTERNAL_ATTRS, LOCAL_HEADER_SIG, METHOD_DEFLATE, METHOD_STORED,
    VERSION_MADE_BY, VERSION_NEEDED, VERSION_NEEDED_ZIP64, ZIP64_EOCD_SIG, ZIP64_LOCATOR_SIG,
};
use crate::rules::Rule;

/// At most this many entries are accepted.
pub const MAX_ENTRIES: u64 = 1_000_000;
/// At most this many bytes of central directory are read.
pub const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;
/// Buffer between the file and the entry streams.
const READ_BUFFER: usize = 64 * 1024;

const EOCD_LEN: u64 = 22;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_LEN: u64 = 56;
const CENTRAL_HEADER_LEN: usize = 46;
const LOCAL_HEADER_LEN: usize = 30;

const FLAG_ENCRYPTED: u16 = 1 << 0;
const FLAG_DEFLATE_OPTIONS: u16 = (1 << 1) | (1 << 2);
const FLAG_DATA_DESCRIPTOR: u16 = 1 << 3;
const FLAG_STRONG_ENCRYPTION: u16 = 1 << 6;
const FLAG_UTF8: u16 = 1 << 11;
const FLAG_MASKED_HEADERS: u16 = 1 << 13;

const HOST_UNIX: u8 = 3;
const S_IFMT: u32 = 0o170000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
const DOS_DIRECTORY: u32 = 0x10;

const ZIP64_EXTRA_ID: u16 = 0x0001;

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
#[derive(Debug)]
pub struct PackageReader<R: Read + Seek> {
    src: BufReader<R>,
    file_len: u64,
    cd_offset: u64,
    entries: Vec<EntryRecord>,
    next: usize,
    cursor: u64,
    stopped: bool,
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

/// Values a ZIP64 extra field may replace.
struct Zip64Needs {
    uncompressed: bool,
    compressed: bool,
    offset: bool,
    disk: bool,
}

/// ZIP64 values found in an extra field: uncompressed size, compressed size, offset.
type Zip64Values = (Option<u64>, Option<u64>, Option<u64>);

/// Result of walking an extra field: the ZIP64 values (in their fixed order) or a problem.
fn parse_extra(extra: &[u8], needs: &Zip64Needs) -> Result<Zip64Values, (Rule, String)> {
    let mut at = 0usize;
    let mut out = (None, None, None);
    let mut seen_zip64 = false;
    while at < extra.len() {
        if extra.len() - at < 4 {
            return Err((Rule::ExtraField, "malformed extra field".into()));
        }
        let id = u16_at(extra, at);
        let size = usize::from(u16_at(extra, at + 2));
        let body_start = at + 4;
        let Some(body) = extra.get(body_start..body_start + size) else {
            return Err((Rule::ExtraField, "extra field runs past its header".into()));
        };
        if id != ZIP64_EXTRA_ID {
            return Err((
                Rule::ExtraField,
                format!("extra field 0x{id:04x} (only ZIP64 is allowed)"),
            ));
        }
        if seen_zip64 {
            return Err((Rule::ExtraField, "two ZIP64 extra fields".into()));
        }
        seen_zip64 = true;
        let mut p = 0usize;
        let mut take = |wanted: bool| -> Result<Option<u64>, (Rule, String)> {
            if !wanted {
                return Ok(None);
            }
            let v = body
                .get(p..p + 8)
                .map(|s| u64_at(s, 0))
                .ok_or((Rule::Zip64Invalid, "ZIP64 extra field too short".to_owned()))?;
            p += 8;
            Ok(Some(v))
        };
        out.0 = take(needs.uncompressed)?;
        out.1 = take(needs.compressed)?;
        out.2 = take(needs.offset)?;
        if needs.disk && body.len() < p + 4 {
            return Err((Rule::Zip64Invalid, "ZIP64 extra field too short".into()));
        }
        at = body_start + size;
    }
    let missing = (needs.uncompressed && out.0.is_none())
        || (needs.compressed && out.1.is_none())
        || (needs.offset && out.2.is_none());
    if missing {
        return Err((
            Rule::Zip64Invalid,
            "a size or offset is 0xFFFFFFFF but no ZIP64 extra field gives it".into(),
        ));
    }
    Ok(out)
}

impl<R: Read + Seek> PackageReader<R> {
    /// Locates the end record, checks the archive's outer shape and reads the central
    /// directory. Entries are not touched yet.
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

        // ZIP64: a locator right before the end record, and the ZIP64 end record right
        // before the locator (no extensible data, so no bytes are unaccounted for).
        if file_len >= EOCD_LEN + ZIP64_LOCATOR_LEN {
            let mut loc = [0u8; ZIP64_LOCATOR_LEN as usize];
            let loc_at = file_len - EOCD_LEN - ZIP64_LOCATOR_LEN;
            read_at(&mut src, loc_at, &mut loc, "the ZIP64 locator")?;
            if u32_at(&loc, 0) == ZIP64_LOCATOR_SIG {
                let z_at = u64_at(&loc, 8);
                let total_disks = u32_at(&loc, 16);
                if u32_at(&loc, 4) != 0 || total_disks > 1 {
                    return Err(ReadError::fatal(
                        Rule::MultiDisk,
                        None,
                        "the ZIP64 locator names another disk",
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
                let z_disk = u32_at(&z, 16);
                let z_cd_disk = u32_at(&z, 20);
                let z_entries_disk = u64_at(&z, 24);
                let z_entries_total = u64_at(&z, 32);
                let z_cd_size = u64_at(&z, 40);
                let z_cd_offset = u64_at(&z, 48);
                let agrees = |small: u64, max: u64, big: u64| small == max || small == big;
                if !(agrees(entries_disk, 0xFFFF, z_entries_disk)
                    && agrees(entries_total, 0xFFFF, z_entries_total)
                    && agrees(cd_size, 0xFFFF_FFFF, z_cd_size)
                    && agrees(cd_offset, 0xFFFF_FFFF, z_cd_offset))
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
        let entries = read_central_directory(&mut src, cd_offset, cd_size, entries_total)?;
        Ok(PackageReader {
            src,
            file_len,
            cd_offset,
            entries,
            next: 0,
            cursor: 0,
            stopped: false,
        })
    }

    /// The central directory records, in archive order.
    pub fn records(&self) -> &[EntryRecord] {
        &self.entries
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
        if self.next >= self.entries.len() {
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
        }
        let index = self.next;
        self.next += 1;
        match self.locate(index) {
            Ok(mismatch) => {
                let rec = &self.entries[index];
                if let Some(msg) = mismatch {
                    return Some(Err(ReadError::entry(
                        Rule::LocalHeaderMismatch,
                        &rec.name,
                        msg,
                    )));
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
    /// past its data, leaving the file positioned at the data. Returns any disagreement
    /// with the central record.
    fn locate(&mut self, index: usize) -> Result<Option<String>, ReadError> {
        let rec = &self.entries[index];
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

        let either_max = csize32 == 0xFFFF_FFFF || usize32 == 0xFFFF_FFFF;
        let needs = Zip64Needs {
            uncompressed: either_max,
            compressed: either_max,
            offset: false,
            disk: false,
        };
        let (lusize, lcsize) = match parse_extra(lextra, &needs) {
            Ok((u, c, _)) => (
                u.unwrap_or(u64::from(usize32)),
                c.unwrap_or(u64::from(csize32)),
            ),
            Err((rule, msg)) => {
                return Err(ReadError::entry(rule, name, format!("local header: {msg}")));
            }
        };
        let mut diffs = Vec::new();
        if lname != &*rec.name_raw {
            diffs.push(format!(
                "name {:?} vs {:?}",
                String::from_utf8_lossy(lname),
                rec.name
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
            format!(
                "local header disagrees with the central directory: {} (local vs central)",
                diffs.join(", ")
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
fn diagnose_missing_end<R: Read + Seek>(src: &mut BufReader<R>, file_len: u64) -> ReadError {
    let window = file_len.min(u64::from(u16::MAX) + EOCD_LEN + 1024);
    let mut tail = vec![0u8; usize::try_from(window).unwrap_or(0)];
    if read_at(src, file_len - window, &mut tail, "the end record").is_ok() {
        for i in (0..tail.len().saturating_sub(EOCD_LEN as usize - 1)).rev() {
            if u32_at(&tail, i) == EOCD_SIG {
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
                            window.saturating_sub((i as u64) + EOCD_LEN)
                        ),
                    )
                };
                return ReadError::fatal(rule, None, msg);
            }
        }
    }
    let mut first = [0u8; 4];
    let looks_like_zip = read_at(src, 0, &mut first, "the first bytes").is_ok()
        && u32_at(&first, 0) == LOCAL_HEADER_SIG;
    if looks_like_zip {
        ReadError::fatal(
            Rule::Truncated,
            None,
            "no end record at the end of the file: the archive is truncated (or has more than 64 KiB appended)",
        )
    } else {
        ReadError::fatal(Rule::NoEndRecord, None, "no end record: not a zip archive")
    }
}

fn read_central_directory<R: Read + Seek>(
    src: &mut BufReader<R>,
    cd_offset: u64,
    cd_size: u64,
    count: u64,
) -> Result<Vec<EntryRecord>, ReadError> {
    src.seek(SeekFrom::Start(cd_offset))
        .map_err(ReadError::Io)?;
    let mut cd = src.take(cd_size);
    let cap = usize::try_from(count).unwrap_or(usize::MAX).min(4096);
    let mut entries = Vec::with_capacity(cap);
    let mut h = [0u8; CENTRAL_HEADER_LEN];
    let mut var = Vec::new();
    for i in 0..count {
        let short = |e: io::Error| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                ReadError::fatal(
                    Rule::CentralDirectoryInvalid,
                    None,
                    format!("central directory ends inside record {i}"),
                )
            } else {
                ReadError::Io(e)
            }
        };
        cd.read_exact(&mut h).map_err(short)?;
        if u32_at(&h, 0) != CENTRAL_HEADER_SIG {
            return Err(ReadError::fatal(
                Rule::CentralDirectoryInvalid,
                None,
                format!("record {i} has no central header signature"),
            ));
        }
        let name_len = usize::from(u16_at(&h, 28));
        let extra_len = usize::from(u16_at(&h, 30));
        let comment_len = usize::from(u16_at(&h, 32));
        var.resize(name_len + extra_len + comment_len, 0);
        cd.read_exact(&mut var).map_err(short)?;
        entries.push(parse_central_record(
            &h,
            &var,
            name_len,
            extra_len,
            comment_len,
        ));
    }
    if cd.limit() != 0 {
        return Err(ReadError::fatal(
            Rule::CentralDirectoryInvalid,
            None,
            format!("{} bytes after the last central record", cd.limit()),
        ));
    }
    Ok(entries)
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
    // the archive was not written by it, so no byte of a package can change unnoticed.
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
        } else if version_needed != VERSION_NEEDED && version_needed != VERSION_NEEDED_ZIP64 {
            problems.push((
                Rule::Attributes,
                format!(
                    "version needed to extract {version_needed} (v1 writes {VERSION_NEEDED}, or {VERSION_NEEDED_ZIP64} with ZIP64)"
                ),
            ));
        }
    }
    let needs = Zip64Needs {
        uncompressed: usize32 == 0xFFFF_FFFF,
        compressed: csize32 == 0xFFFF_FFFF,
        offset: offset32 == 0xFFFF_FFFF,
        disk: disk_start == 0xFFFF,
    };
    let (mut usize64, mut csize64, mut off64) =
        (u64::from(usize32), u64::from(csize32), u64::from(offset32));
    match parse_extra(extra, &needs) {
        Ok((u, c, o)) => {
            usize64 = u.unwrap_or(usize64);
            csize64 = c.unwrap_or(csize64);
            off64 = o.unwrap_or(off64);
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

    #[test]
    fn refuses_empty_and_non_zip_input() {
        let e = PackageReader::open(io::Cursor::new(Vec::new())).expect_err("empty");
        assert_eq!(e.rule(), Some(Rule::NoEndRecord));
        let e = PackageReader::open(io::Cursor::new(vec![b'x'; 100])).expect_err("junk");
        assert_eq!(e.rule(), Some(Rule::NoEndRecord));
    }
}
