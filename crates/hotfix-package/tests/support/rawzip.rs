//! A zip writer for tests that will write anything, including what the real writer must
//! never produce: mismatched headers, odd flags, symlinks, unknown methods. Every field
//! the strict reader checks can be set on its own.
#![allow(dead_code)]

use std::io::Write;

/// Unix "version made by" 2.0, as the real writer uses.
pub const MADE_BY_UNIX: u16 = (3 << 8) | 20;
/// Regular file rw-r--r--.
pub const ATTRS_FILE: u32 = 0o100644 << 16;
/// Symbolic link.
pub const ATTRS_SYMLINK: u32 = 0o120777 << 16;
/// Directory.
pub const ATTRS_DIR: u32 = (0o040755 << 16) | 0x10;
/// The DOS time (low half) and date (high half) of the corpus manifest's `created`
/// time, 2025-06-01T00:00:00Z: what the real writer puts on every entry.
pub const CREATED_DOS: u32 = ((45 << 9) | (6 << 5) | 1) << 16;
/// "Version needed to extract" without ZIP64.
pub const VERSION_NEEDED: u16 = 20;

/// Values of a local header that differ from the central record.
#[derive(Debug, Clone, Default)]
pub struct LocalOverride {
    pub name: Option<Vec<u8>>,
    pub method: Option<u16>,
    pub flags: Option<u16>,
    pub crc: Option<u32>,
    pub compressed_size: Option<u32>,
    pub size: Option<u32>,
    /// Extra field of the local header only (default: the entry's `extra`).
    pub extra: Option<Vec<u8>>,
}

/// One entry to write.
#[derive(Debug, Clone)]
pub struct RawEntry {
    pub name: Vec<u8>,
    /// Uncompressed data (used for the CRC and the size unless overridden).
    pub data: Vec<u8>,
    pub method: u16,
    /// Bytes written as the entry's data; by default `data` stored or deflated.
    pub raw: Option<Vec<u8>>,
    pub flags: u16,
    pub version_made_by: u16,
    pub external_attrs: u32,
    /// CRC-32 in both headers (default: of `data`).
    pub crc: Option<u32>,
    /// Uncompressed size in both headers (default: `data.len()`).
    pub size: Option<u32>,
    /// Compressed size in both headers (default: the stored bytes' length).
    pub compressed_size: Option<u32>,
    /// DOS time and date in both headers (default: [`CREATED_DOS`]).
    pub modified: u32,
    /// "Version needed to extract" in both headers.
    pub version_needed: u16,
    pub extra: Vec<u8>,
    pub local: LocalOverride,
    /// Central record only, pointing at this earlier entry's local header.
    pub alias_of: Option<usize>,
    /// Bytes written before the local header, belonging to no entry.
    pub gap_before: Vec<u8>,
}

impl RawEntry {
    pub fn new(name: &str, data: Vec<u8>, method: u16) -> RawEntry {
        let flags = if name.is_ascii() { 0 } else { 1 << 11 };
        RawEntry {
            name: name.as_bytes().to_vec(),
            data,
            method,
            raw: None,
            flags,
            version_made_by: MADE_BY_UNIX,
            external_attrs: ATTRS_FILE,
            crc: None,
            size: None,
            compressed_size: None,
            modified: CREATED_DOS,
            version_needed: VERSION_NEEDED,
            extra: Vec::new(),
            local: LocalOverride::default(),
            alias_of: None,
            gap_before: Vec::new(),
        }
    }

    pub fn name_str(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The bytes stored in the archive for this entry.
    pub fn stored_bytes(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        match self.method {
            8 => deflate(&self.data),
            _ => self.data.clone(),
        }
    }
}

pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("deflate");
    enc.finish().expect("deflate")
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    h.finalize()
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Writes a zip of `entries` (no ZIP64: test archives are small).
pub fn write_zip(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::with_capacity(entries.len());
    let mut sizes = Vec::with_capacity(entries.len());
    for e in entries {
        let body = e.stored_bytes();
        let crc = e.crc.unwrap_or_else(|| crc32(&e.data));
        let size = e.size.unwrap_or(e.data.len() as u32);
        let csize = e.compressed_size.unwrap_or(body.len() as u32);
        sizes.push((crc, csize, size));
        if let Some(i) = e.alias_of {
            offsets.push(offsets[i]);
            continue;
        }
        out.extend_from_slice(&e.gap_before);
        offsets.push(out.len() as u32);
        let name = e.local.name.clone().unwrap_or_else(|| e.name.clone());
        let extra = e.local.extra.as_ref().unwrap_or(&e.extra);
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, e.version_needed);
        put16(&mut out, e.local.flags.unwrap_or(e.flags));
        put16(&mut out, e.local.method.unwrap_or(e.method));
        put32(&mut out, e.modified);
        put32(&mut out, e.local.crc.unwrap_or(crc));
        put32(&mut out, e.local.compressed_size.unwrap_or(csize));
        put32(&mut out, e.local.size.unwrap_or(size));
        put16(&mut out, name.len() as u16);
        put16(&mut out, extra.len() as u16);
        out.extend_from_slice(&name);
        out.extend_from_slice(extra);
        out.extend_from_slice(&body);
    }
    let cd_offset = out.len() as u32;
    for (i, e) in entries.iter().enumerate() {
        let (crc, csize, size) = sizes[i];
        put32(&mut out, 0x0201_4b50);
        put16(&mut out, e.version_made_by);
        put16(&mut out, e.version_needed);
        put16(&mut out, e.flags);
        put16(&mut out, e.method);
        put32(&mut out, e.modified);
        put32(&mut out, crc);
        put32(&mut out, csize);
        put32(&mut out, size);
        put16(&mut out, e.name.len() as u16);
        put16(&mut out, e.extra.len() as u16);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put32(&mut out, e.external_attrs);
        put32(&mut out, offsets[i]);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.extra);
    }
    let cd_size = out.len() as u32 - cd_offset;
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, entries.len() as u16);
    put16(&mut out, entries.len() as u16);
    put32(&mut out, cd_size);
    put32(&mut out, cd_offset);
    put16(&mut out, 0);
    out
}

/// A ZIP64 extra field holding `values` (in APPNOTE order).
pub fn zip64_extra(values: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    put16(&mut out, 0x0001);
    put16(&mut out, (values.len() * 8) as u16);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// `zip` (from [`write_zip`]) with a ZIP64 end record and locator inserted before its
/// end record, repeating the end record's values; `versions` are the ZIP64 end record's
/// "version made by" and "version needed".
pub fn with_zip64_end(zip: &[u8], versions: (u16, u16)) -> Vec<u8> {
    let eocd_at = zip.len() - 22;
    let eocd = &zip[eocd_at..];
    let u16_at = |at: usize| u64::from(u16::from_le_bytes([eocd[at], eocd[at + 1]]));
    let u32_at = |at: usize| {
        u64::from(u32::from_le_bytes([
            eocd[at],
            eocd[at + 1],
            eocd[at + 2],
            eocd[at + 3],
        ]))
    };
    let (count, cd_size, cd_offset) = (u16_at(10), u32_at(12), u32_at(16));
    let mut out = zip[..eocd_at].to_vec();
    let record_at = out.len() as u64;
    put32(&mut out, 0x0606_4b50);
    out.extend_from_slice(&44u64.to_le_bytes());
    put16(&mut out, versions.0);
    put16(&mut out, versions.1);
    put32(&mut out, 0);
    put32(&mut out, 0);
    for v in [count, count, cd_size, cd_offset] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    put32(&mut out, 0x0706_4b50);
    put32(&mut out, 0);
    out.extend_from_slice(&record_at.to_le_bytes());
    put32(&mut out, 1);
    out.extend_from_slice(eocd);
    out
}
