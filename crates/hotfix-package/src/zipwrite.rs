//! The bytes of the v1 zip subset, and nothing else.
//!
//! This module turns entry metadata into header bytes: local file headers, central
//! directory records and the end records (with the ZIP64 forms only where a size, offset
//! or count needs them). It never reads or compresses data and never decides layout;
//! `build` and `cosign` own the order of entries. Why we write zips by hand instead of
//! with the `zip` crate: `docs/decisions/0001-own-zip-writer.md`.
//!
//! Every field value is fixed by `format.rs` / `docs/FORMAT.md`: no data descriptors,
//! no extra fields except ZIP64, no comments, fixed permissions, one DOS timestamp for
//! every entry. The writer must never emit anything the strict reader would refuse.

use time::OffsetDateTime;

use crate::format::{
    CENTRAL_HEADER_LEN, CENTRAL_HEADER_SIG, EOCD_LEN, EOCD_SIG, EXTERNAL_ATTRS, FLAG_UTF8,
    LOCAL_HEADER_LEN, LOCAL_HEADER_SIG, VERSION_MADE_BY, VERSION_NEEDED, VERSION_NEEDED_ZIP64,
    ZIP64_EOCD_LEN, ZIP64_EOCD_SIG, ZIP64_EXTRA_ID, ZIP64_LOCATOR_LEN, ZIP64_LOCATOR_SIG,
    ZIP64_SENTINEL_16, ZIP64_SENTINEL_32,
};

/// [`ZIP64_SENTINEL_32`] as a limit: a size or offset at or above it needs ZIP64.
const U32_MAX: u64 = ZIP64_SENTINEL_32 as u64;
/// [`ZIP64_SENTINEL_16`] as a limit on entry counts.
const U16_MAX: u64 = ZIP64_SENTINEL_16 as u64;

/// A DOS date and time as stored in zip headers (2-second resolution, local-time-less).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosDateTime {
    pub time: u16,
    pub date: u16,
}

impl DosDateTime {
    /// 1980-01-01 00:00:00, the earliest DOS time.
    pub const MIN: DosDateTime = DosDateTime {
        time: 0,
        date: (1 << 5) | 1,
    };
    /// 2107-12-31 23:59:58, the latest DOS time.
    pub const MAX: DosDateTime = DosDateTime {
        time: (23 << 11) | (59 << 5) | (58 / 2),
        date: (127 << 9) | (12 << 5) | 31,
    };

    /// The DOS form of `t` (taken as UTC), clamped to 1980..=2107; odd seconds round down.
    pub fn from_utc(t: OffsetDateTime) -> DosDateTime {
        let t = t.to_offset(time::UtcOffset::UTC);
        let year = t.year();
        if year < 1980 {
            return Self::MIN;
        }
        if year > 2107 {
            return Self::MAX;
        }
        // Every cast below is range-checked by the calendar: year-1980 in 0..=127,
        // month 1..=12, day 1..=31, hour 0..=23, minute/second 0..=59.
        let date =
            (((year - 1980) as u16) << 9) | ((u8::from(t.month()) as u16) << 5) | t.day() as u16;
        let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
        DosDateTime { time, date }
    }
}

/// What the headers of one entry say about it.
#[derive(Debug, Clone, Copy)]
pub struct EntryHeader<'a> {
    /// Entry name, `/`-separated, already validated.
    pub name: &'a str,
    /// [`crate::format::METHOD_STORED`] or [`crate::format::METHOD_DEFLATE`].
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub modified: DosDateTime,
}

impl EntryHeader<'_> {
    fn flags(&self) -> u16 {
        if self.name.is_ascii() { 0 } else { FLAG_UTF8 }
    }

    /// The local header needs ZIP64 when either size does not fit in 32 bits; it then
    /// carries both sizes in the extra field, as APPNOTE 4.5.3 requires.
    fn local_zip64(&self, force: bool) -> bool {
        force || self.size >= U32_MAX || self.compressed_size >= U32_MAX
    }

    fn central_zip64(&self, offset: u64, force: bool) -> bool {
        force || self.size >= U32_MAX || self.compressed_size >= U32_MAX || offset >= U32_MAX
    }

    /// One "version needed" for both headers of an entry, so that they agree.
    fn version_needed(&self, offset: u64, force: bool) -> u16 {
        if self.central_zip64(offset, force) {
            VERSION_NEEDED_ZIP64
        } else {
            VERSION_NEEDED
        }
    }
}

/// Limits at which the ZIP64 forms are used. Production code uses [`Zip64::WHEN_NEEDED`]
/// (the only form the strict reader accepts: ZIP64 exactly where a value needs it, see
/// [`crate::format::needs_zip64`]); tests use [`Zip64::ALWAYS`] to exercise the ZIP64
/// encoding without 4 GiB of data, which the reader accepts only when forced the same
/// way (`format::FORCE_ZIP64`, unit tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zip64 {
    force: bool,
}

impl Zip64 {
    pub const WHEN_NEEDED: Zip64 = Zip64 { force: false };
    pub const ALWAYS: Zip64 = Zip64 { force: true };
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// `v` in a 32-bit field: itself, or the ZIP64 sentinel when the extra field carries it.
fn field32(v: u64, in_zip64: bool) -> u32 {
    if in_zip64 { U32_MAX as u32 } else { v as u32 }
}

fn name_len(name: &str) -> u16 {
    // Entry names are validated (at most a few hundred bytes) before they get here.
    u16::try_from(name.len()).expect("validated entry names fit a zip name field")
}

/// Length of the local header (with name and extra field) [`local_header`] writes.
pub fn local_header_len(h: &EntryHeader<'_>, zip64: Zip64) -> u64 {
    LOCAL_HEADER_LEN as u64 + h.name.len() as u64 + if h.local_zip64(zip64.force) { 20 } else { 0 }
}

/// The local file header of an entry starting at `offset`, followed by its name and, when
/// needed, a ZIP64 extra field with both sizes. The data follows it directly.
pub fn local_header(h: &EntryHeader<'_>, offset: u64, zip64: Zip64) -> Vec<u8> {
    let z = h.local_zip64(zip64.force);
    let mut out = Vec::with_capacity(local_header_len(h, zip64) as usize);
    put32(&mut out, LOCAL_HEADER_SIG);
    put16(&mut out, h.version_needed(offset, zip64.force));
    put16(&mut out, h.flags());
    put16(&mut out, h.method);
    put16(&mut out, h.modified.time);
    put16(&mut out, h.modified.date);
    put32(&mut out, h.crc32);
    put32(&mut out, field32(h.compressed_size, z));
    put32(&mut out, field32(h.size, z));
    put16(&mut out, name_len(h.name));
    put16(&mut out, if z { 20 } else { 0 });
    out.extend_from_slice(h.name.as_bytes());
    if z {
        put16(&mut out, ZIP64_EXTRA_ID);
        put16(&mut out, 16);
        put64(&mut out, h.size);
        put64(&mut out, h.compressed_size);
    }
    out
}

/// The central directory record of an entry whose local header is at `offset`.
/// The ZIP64 extra field holds exactly the values whose 32-bit fields overflow, in the
/// APPNOTE order (size, compressed size, offset).
pub fn central_header(h: &EntryHeader<'_>, offset: u64, zip64: Zip64) -> Vec<u8> {
    let force = zip64.force;
    let size64 = force || h.size >= U32_MAX;
    let csize64 = force || h.compressed_size >= U32_MAX;
    let offset64 = force || offset >= U32_MAX;
    let extra_len: u16 = 8 * (u16::from(size64) + u16::from(csize64) + u16::from(offset64));
    let has_extra = extra_len > 0;
    let mut out =
        Vec::with_capacity(CENTRAL_HEADER_LEN + h.name.len() + 4 + usize::from(extra_len));
    put32(&mut out, CENTRAL_HEADER_SIG);
    put16(&mut out, VERSION_MADE_BY);
    put16(&mut out, h.version_needed(offset, force));
    put16(&mut out, h.flags());
    put16(&mut out, h.method);
    put16(&mut out, h.modified.time);
    put16(&mut out, h.modified.date);
    put32(&mut out, h.crc32);
    put32(&mut out, field32(h.compressed_size, csize64));
    put32(&mut out, field32(h.size, size64));
    put16(&mut out, name_len(h.name));
    put16(&mut out, if has_extra { extra_len + 4 } else { 0 });
    put16(&mut out, 0); // comment length
    put16(&mut out, 0); // disk number start
    put16(&mut out, 0); // internal attributes
    put32(&mut out, EXTERNAL_ATTRS);
    put32(&mut out, field32(offset, offset64));
    out.extend_from_slice(h.name.as_bytes());
    if has_extra {
        put16(&mut out, ZIP64_EXTRA_ID);
        put16(&mut out, extra_len);
        if size64 {
            put64(&mut out, h.size);
        }
        if csize64 {
            put64(&mut out, h.compressed_size);
        }
        if offset64 {
            put64(&mut out, offset);
        }
    }
    out
}

/// The end of the archive after a central directory of `count` records, `cd_size` bytes
/// long, starting at `cd_offset`: the ZIP64 end record and locator when a value does not
/// fit the classic record, then the classic end record (no comment). Values that fit are
/// written as themselves in the classic record, those that do not as the sentinel.
pub fn end_records(count: u64, cd_offset: u64, cd_size: u64, zip64: Zip64) -> Vec<u8> {
    let count_over = count >= U16_MAX;
    let size_over = cd_size >= U32_MAX;
    let offset_over = cd_offset >= U32_MAX;
    let need64 = zip64.force || count_over || size_over || offset_over;
    let mut out = Vec::with_capacity((ZIP64_EOCD_LEN + ZIP64_LOCATOR_LEN + EOCD_LEN) as usize);
    if need64 {
        let record_offset = cd_offset + cd_size;
        put32(&mut out, ZIP64_EOCD_SIG);
        put64(&mut out, 44); // size of the rest of this record
        put16(&mut out, VERSION_MADE_BY);
        put16(&mut out, VERSION_NEEDED_ZIP64);
        put32(&mut out, 0); // this disk
        put32(&mut out, 0); // disk with the central directory
        put64(&mut out, count);
        put64(&mut out, count);
        put64(&mut out, cd_size);
        put64(&mut out, cd_offset);
        put32(&mut out, ZIP64_LOCATOR_SIG);
        put32(&mut out, 0); // disk with the ZIP64 end record
        put64(&mut out, record_offset);
        put32(&mut out, 1); // total disks
    }
    let count16 = if count_over || zip64.force {
        U16_MAX as u16
    } else {
        count as u16
    };
    put32(&mut out, EOCD_SIG);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, count16);
    put16(&mut out, count16);
    put32(&mut out, field32(cd_size, size_over || zip64.force));
    put32(&mut out, field32(cd_offset, offset_over || zip64.force));
    put16(&mut out, 0); // comment length
    out
}

/// Collects central directory records as entries are written, then ends the archive.
#[derive(Debug)]
pub struct CentralDirectory {
    records: Vec<u8>,
    count: u64,
    zip64: Zip64,
}

impl CentralDirectory {
    pub fn new(zip64: Zip64) -> Self {
        CentralDirectory {
            records: Vec::new(),
            count: 0,
            zip64,
        }
    }

    /// Records an entry whose local header starts at `offset`.
    pub fn push(&mut self, h: &EntryHeader<'_>, offset: u64) {
        self.records
            .extend_from_slice(&central_header(h, offset, self.zip64));
        self.count += 1;
    }

    /// The central directory followed by the end records, for a directory that starts at
    /// `cd_offset` (right after the last entry's data).
    pub fn finish(self, cd_offset: u64) -> Vec<u8> {
        let mut out = self.records;
        let cd_size = out.len() as u64;
        out.extend_from_slice(&end_records(self.count, cd_offset, cd_size, self.zip64));
        out
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;
    use crate::format::{METHOD_DEFLATE, METHOD_STORED};

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut c = flate2::Compress::new(flate2::Compression::new(6), false);
        let mut out = Vec::with_capacity(data.len() + 64);
        c.compress_vec(data, &mut out, flate2::FlushCompress::Finish)
            .expect("deflate");
        out
    }

    /// Writes a small archive with the given ZIP64 policy, the way `build` does.
    fn archive(entries: &[(&str, &[u8], bool)], zip64: Zip64) -> Vec<u8> {
        let modified = DosDateTime::from_utc(time::macros::datetime!(2023-11-14 22:13:20 UTC));
        let mut out = Vec::new();
        let mut cd = CentralDirectory::new(zip64);
        for (name, data, compress) in entries {
            let (method, stored) = if *compress {
                (METHOD_DEFLATE, deflate(data))
            } else {
                (METHOD_STORED, data.to_vec())
            };
            let h = EntryHeader {
                name,
                method,
                crc32: crc32fast::hash(data),
                compressed_size: stored.len() as u64,
                size: data.len() as u64,
                modified,
            };
            let offset = out.len() as u64;
            let header = local_header(&h, offset, zip64);
            assert_eq!(header.len() as u64, local_header_len(&h, zip64));
            out.extend_from_slice(&header);
            out.extend_from_slice(&stored);
            cd.push(&h, offset);
        }
        let cd_offset = out.len() as u64;
        out.extend_from_slice(&cd.finish(cd_offset));
        out
    }

    fn sample() -> Vec<(&'static str, &'static [u8], bool)> {
        vec![
            ("hotfix.xml", b"<hotfix/>".as_slice(), false),
            (
                "server/Chat/a.txt",
                b"hello hello hello hello hello".as_slice(),
                true,
            ),
            ("docs/r\u{e9}sum\u{e9}.txt", b"".as_slice(), false),
        ]
    }

    fn read_back(bytes: Vec<u8>) {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip crate reads it");
        assert_eq!(z.len(), 3);
        for (i, (name, data, compress)) in sample().into_iter().enumerate() {
            let mut f = z.by_index(i).expect("entry");
            assert_eq!(f.name().expect("utf-8 name"), name);
            let expected = if compress {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            assert_eq!(f.compression(), expected);
            assert_eq!(f.unix_mode(), Some(0o100644));
            let mut got = Vec::new();
            f.read_to_end(&mut got).expect("read");
            assert_eq!(got, data);
        }
    }

    #[test]
    fn zip_crate_reads_the_classic_form() {
        let bytes = archive(&sample(), Zip64::WHEN_NEEDED);
        assert!(!bytes.windows(4).any(|w| w == ZIP64_EOCD_SIG.to_le_bytes()));
        read_back(bytes);
    }

    #[test]
    fn zip_crate_reads_the_zip64_form() {
        let bytes = archive(&sample(), Zip64::ALWAYS);
        assert!(bytes.windows(4).any(|w| w == ZIP64_EOCD_SIG.to_le_bytes()));
        read_back(bytes);
    }

    #[test]
    fn unzip_accepts_both_forms() {
        if std::process::Command::new("unzip")
            .arg("-v")
            .output()
            .is_err()
        {
            eprintln!("unzip not installed; skipped");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, zip64) in [Zip64::WHEN_NEEDED, Zip64::ALWAYS].into_iter().enumerate() {
            let path = dir.path().join(format!("t{i}.zip"));
            std::fs::write(&path, archive(&sample(), zip64)).expect("write");
            let out = std::process::Command::new("unzip")
                .arg("-tq")
                .arg(&path)
                .output()
                .expect("run unzip");
            assert!(
                out.status.success(),
                "unzip -t: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    #[test]
    fn big_sizes_and_offsets_use_zip64_fields_only_where_needed() {
        let h = EntryHeader {
            name: "a",
            method: METHOD_STORED,
            crc32: 0,
            compressed_size: 5,
            size: 1 << 32,
            modified: DosDateTime::MIN,
        };
        let local = local_header(&h, 0, Zip64::WHEN_NEEDED);
        assert_eq!(local.len(), 30 + 1 + 20);
        assert_eq!(&local[18..26], &[0xFF; 8]);
        assert_eq!(&local[35..43], &(1u64 << 32).to_le_bytes());
        assert_eq!(&local[43..51], &5u64.to_le_bytes());
        assert_eq!(
            u16::from_le_bytes([local[4], local[5]]),
            VERSION_NEEDED_ZIP64
        );

        // Central: only the uncompressed size overflows at a small offset...
        let c = central_header(&h, 7, Zip64::WHEN_NEEDED);
        assert_eq!(c.len(), 46 + 1 + 4 + 8);
        assert_eq!(&c[20..24], &5u32.to_le_bytes());
        assert_eq!(&c[24..28], &[0xFF; 4]);
        assert_eq!(&c[42..46], &7u32.to_le_bytes());
        // ...and a small entry at a big offset carries only the offset.
        let small = EntryHeader { size: 5, ..h };
        assert_eq!(local_header(&small, 1 << 33, Zip64::WHEN_NEEDED).len(), 31);
        let c = central_header(&small, 1 << 33, Zip64::WHEN_NEEDED);
        assert_eq!(&c[c.len() - 8..], &(1u64 << 33).to_le_bytes());
        assert_eq!(u16::from_le_bytes([c[6], c[7]]), VERSION_NEEDED_ZIP64);
    }

    #[test]
    fn end_records_switch_to_zip64_on_count_size_or_offset() {
        assert_eq!(end_records(3, 100, 50, Zip64::WHEN_NEEDED).len(), 22);
        assert_eq!(end_records(0xFFFF, 100, 50, Zip64::WHEN_NEEDED).len(), 98);
        assert_eq!(end_records(3, 1 << 32, 50, Zip64::WHEN_NEEDED).len(), 98);
        let e = end_records(3, 1 << 32, 50, Zip64::WHEN_NEEDED);
        // The locator points at the ZIP64 record, which sits right after the directory.
        assert_eq!(&e[56 + 8..56 + 16], &((1u64 << 32) + 50).to_le_bytes());
        // The classic record keeps the values that fit.
        assert_eq!(&e[76 + 8..76 + 10], &3u16.to_le_bytes());
        assert_eq!(&e[76 + 16..76 + 20], &[0xFF; 4]);
    }

    #[test]
    fn dos_time_is_clamped_and_exact_in_range() {
        use time::macros::datetime;
        assert_eq!(
            DosDateTime::from_utc(datetime!(1970-01-01 0:00 UTC)),
            DosDateTime::MIN
        );
        assert_eq!(
            DosDateTime::from_utc(datetime!(2200-01-01 0:00 UTC)),
            DosDateTime::MAX
        );
        let t = DosDateTime::from_utc(datetime!(2023-11-14 22:13:21 UTC));
        assert_eq!(t.date, (43 << 9) | (11 << 5) | 14);
        assert_eq!(t.time, (22 << 11) | (13 << 5) | 10);
    }
}
