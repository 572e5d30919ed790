//! Package format v1 facts shared by the writer and the strict reader. The normative
//! text is `docs/FORMAT.md`; change both together.
//!
//! Archive layout (the reader refuses anything else):
//! - entry 0: `hotfix.xml`, stored (method 0);
//! - then `signatures/<KEYID>.minisig`, stored, sorted by key id, at least one;
//! - then the payload in manifest order: `server/<package>/<path>` (packages by name,
//!   files by path), `client/<file>.msi`, `docs/<path>`; each stored or deflated,
//!   whichever is smaller (ties: stored);
//! - no directory entries, no data descriptors (general-purpose bit 3 clear), no
//!   encryption, no extra fields except the ZIP64 one where a size or offset needs it,
//!   no archive comment, no bytes before the first local header or after the end record;
//! - every entry: version made by 3 (Unix) 2.0, external attributes `0o100644 << 16`,
//!   DOS time from the manifest's `created` (clamped to 1980..=2107), UTF-8 flag (bit 11)
//!   set when the name is not ASCII.

use hotfix_manifest::Manifest;
use hotfix_sign::KeyId;

/// Local file header signature.
pub const LOCAL_HEADER_SIG: u32 = 0x0403_4b50;
/// Central directory header signature.
pub const CENTRAL_HEADER_SIG: u32 = 0x0201_4b50;
/// End of central directory record signature.
pub const EOCD_SIG: u32 = 0x0605_4b50;
/// ZIP64 end of central directory record signature.
pub const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
/// ZIP64 end of central directory locator signature.
pub const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;

/// Compression method: stored.
pub const METHOD_STORED: u16 = 0;
/// Compression method: deflate.
pub const METHOD_DEFLATE: u16 = 8;

/// "Version made by": Unix (3) in the high byte, spec version 2.0 (20) in the low byte.
pub const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// "Version needed to extract" of an entry without ZIP64 fields (2.0: deflate).
pub const VERSION_NEEDED: u16 = 20;
/// "Version needed to extract" of an entry with a ZIP64 extra field in either header,
/// and of the ZIP64 end record (4.5). Both headers of one entry carry the same value.
pub const VERSION_NEEDED_ZIP64: u16 = 45;

/// General-purpose flag bit 11: the entry name is UTF-8 (set exactly when it is not ASCII).
pub const FLAG_UTF8: u16 = 1 << 11;
/// Id of the ZIP64 extended information extra field, the only extra field allowed.
pub const ZIP64_EXTRA_ID: u16 = 0x0001;

/// Fixed part of a local file header (name and extra field follow).
pub const LOCAL_HEADER_LEN: usize = 30;
/// Fixed part of a central directory header (name and extra field follow).
pub const CENTRAL_HEADER_LEN: usize = 46;
/// End of central directory record (there is no archive comment).
pub const EOCD_LEN: u64 = 22;
/// ZIP64 end of central directory record (no extensible data).
pub const ZIP64_EOCD_LEN: u64 = 56;
/// ZIP64 end of central directory locator.
pub const ZIP64_LOCATOR_LEN: u64 = 20;

/// A 32-bit size or offset field holds this when the real value is in a ZIP64 field.
pub const ZIP64_SENTINEL_32: u32 = 0xFFFF_FFFF;
/// A 16-bit entry count holds this when the real count is in the ZIP64 end record.
pub const ZIP64_SENTINEL_16: u16 = 0xFFFF;

#[cfg(test)]
thread_local! {
    /// Unit tests set this to write and read every ZIP64 form without 4 GiB of data:
    /// the writer then uses ZIP64 for every value, and the reader requires it.
    pub(crate) static FORCE_ZIP64: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether ZIP64 forms are forced (unit tests only; always false in a real build).
pub(crate) fn zip64_forced() -> bool {
    #[cfg(test)]
    if FORCE_ZIP64.get() {
        return true;
    }
    false
}

/// Whether a size or offset needs its ZIP64 form: it does not fit below the sentinel.
/// The writer uses ZIP64 for exactly these values, and the reader refuses it elsewhere.
pub fn needs_zip64(value: u64) -> bool {
    zip64_forced() || value >= u64::from(ZIP64_SENTINEL_32)
}

/// Whether an entry count needs the ZIP64 end record.
pub fn count_needs_zip64(count: u64) -> bool {
    zip64_forced() || count >= u64::from(ZIP64_SENTINEL_16)
}

/// The untrusted comment line of every signature in a package (without the
/// `untrusted comment: ` prefix). It is derived from the id and version that the
/// signature's trusted comment binds, so every byte of a signature file is fixed by what
/// the key signed, and the strict reader refuses any other comment.
pub fn untrusted_comment_for(id: &str, version: u64) -> String {
    format!("hotfix package {id} version {version}")
}

/// Unix regular file, rw-r--r--, in the high 16 bits of the external attributes.
pub const EXTERNAL_ATTRS: u32 = 0o100644 << 16;

/// Upper bound on one signature file; anything bigger is not a minisign signature.
pub const MAX_SIGNATURE_BYTES: u64 = 64 * 1024;

/// At most this many signature entries are looked at.
pub const MAX_SIGNATURES: usize = 64;

/// Entry name of the signature made by `key`.
pub fn signature_entry_name(key: KeyId) -> String {
    format!("signatures/{key}.minisig")
}

/// The trusted comment every hotfix signature carries. It binds the signature to this
/// hotfix id, version and exact manifest bytes, so a signature cannot be moved to another
/// package even by someone who controls the untrusted parts of the file.
pub fn trusted_comment(manifest: &Manifest, manifest_sha256: &[u8; 32]) -> String {
    trusted_comment_for(&manifest.id, manifest.version, manifest_sha256)
}

/// [`trusted_comment`] from its parts (the verifier has these before parsing XML fully).
pub fn trusted_comment_for(id: &str, version: u64, manifest_sha256: &[u8; 32]) -> String {
    let mut hex = String::with_capacity(64);
    for b in manifest_sha256 {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("hotfix-id:{id} version:{version} manifest-sha256:{hex}")
}

/// The order of signature entries (FORMAT.md 2.1: "sorted by key id, the 16 upper-case
/// hex digits"), which is also the byte order of their entry names. Not [`KeyId`]'s
/// derived `Ord`: that compares the stored bytes, and the digits show them as a
/// little-endian number.
pub fn key_id_order(a: &KeyId, b: &KeyId) -> std::cmp::Ordering {
    u64::from_le_bytes(a.0).cmp(&u64::from_le_bytes(b.0))
}
