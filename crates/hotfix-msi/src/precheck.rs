//! Bounds checks run before the `msi` crate parses an MSI. That crate reserves memory by
//! lengths the file declares, before reading the bytes, so a damaged or hostile MSI could
//! make it reserve up to 4 GiB at a time:
//!
//! - for each string property of the summary information (fuzz finding 1,
//!   docs/FUZZING.md): every declared string length must fit in the stream that holds it;
//! - for each string of the string pool (fuzz finding 2): the lengths `_StringPool`
//!   declares must add up to no more than `_StringData` holds.
//!
//! Nothing else is interpreted; every other structural problem is left to the `msi` crate.

use std::io::{Read, Seek};

/// Name of the summary-information stream in an MSI's compound file.
const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";

/// A real summary-information stream is a few KiB; anything bigger is refused unread.
const MAX_SUMMARY_BYTES: u64 = 1024 * 1024;

/// Property type of an 8-bit string (VT_LPSTR): `u32` length, then the bytes.
const VT_LPSTR: u32 = 30;

/// Table names of the string pool: lengths and reference counts, and the strings' bytes.
const STRING_POOL_TABLE: &str = "_StringPool";
const STRING_DATA_TABLE: &str = "_StringData";

/// 4 bytes per string: 64 MiB is 16 million strings, far beyond any real installer.
const MAX_STRING_POOL_BYTES: u64 = 64 * 1024 * 1024;

/// Checks the summary information and the string pool, where present. `Err` carries the
/// reason.
pub(crate) fn check<R: Read + Seek>(reader: R) -> Result<(), String> {
    let mut compound = cfb::CompoundFile::open(reader)
        .map_err(|e| format!("not a valid OLE compound file: {e}"))?;
    if let Some(bytes) = read_stream(
        &mut compound,
        SUMMARY_STREAM,
        MAX_SUMMARY_BYTES,
        "the summary information",
    )? {
        check_property_set(&bytes)?;
    }
    let pool_name = table_stream_name(STRING_POOL_TABLE);
    let data_name = table_stream_name(STRING_DATA_TABLE);
    if let Some(pool) = read_stream(
        &mut compound,
        &pool_name,
        MAX_STRING_POOL_BYTES,
        "the string pool",
    )? {
        // A missing `_StringData` is reported by the msi crate; as "no bytes" here, any
        // declared string is too long for it.
        let data_len = if compound.is_stream(&data_name) {
            compound
                .open_stream(&data_name)
                .map_err(|e| format!("cannot open the string data: {e}"))?
                .len()
        } else {
            0
        };
        check_string_pool(&pool, data_len)?;
    }
    Ok(())
}

/// The whole stream `name`, if it exists, refusing one longer than `max` unread.
fn read_stream<R: Read + Seek>(
    compound: &mut cfb::CompoundFile<R>,
    name: &str,
    max: u64,
    what: &str,
) -> Result<Option<Vec<u8>>, String> {
    if !compound.is_stream(name) {
        // The msi crate reports a missing stream itself.
        return Ok(None);
    }
    let mut stream = compound
        .open_stream(name)
        .map_err(|e| format!("cannot open {what}: {e}"))?;
    if stream.len() > max {
        return Err(format!(
            "{what} is {} bytes; at most {max} are accepted",
            stream.len()
        ));
    }
    let mut bytes = Vec::new();
    stream
        .by_ref()
        .take(max)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    Ok(Some(bytes))
}

/// The compound-file stream name of an MSI table: a `U+4840` prefix, then the name's
/// characters from `[0-9A-Za-z._]` packed two per UTF-16 unit (`0x3800 + a + 64·b`), a
/// last odd one as `0x4800 + a`, any other character as itself.
fn table_stream_name(table: &str) -> String {
    fn b64(c: char) -> Option<u32> {
        match c {
            '0'..='9' => Some(c as u32 - '0' as u32),
            'A'..='Z' => Some(c as u32 - 'A' as u32 + 10),
            'a'..='z' => Some(c as u32 - 'a' as u32 + 36),
            '.' => Some(62),
            '_' => Some(63),
            _ => None,
        }
    }
    let mut out = String::from('\u{4840}');
    let mut chars = table.chars().peekable();
    while let Some(c1) = chars.next() {
        let Some(v1) = b64(c1) else {
            out.push(c1);
            continue;
        };
        let code = match chars.peek().copied().and_then(b64) {
            Some(v2) => {
                chars.next();
                0x3800 + v1 + (v2 << 6)
            }
            None => 0x4800 + v1,
        };
        out.extend(char::from_u32(code));
    }
    out
}

/// The `_StringPool` layout: a `u32` code page, then per string a `u16` length and a
/// `u16` reference count; a zero length with a non-zero count means the real length
/// follows as a `u32`. Read exactly as the msi crate reads it; the total must fit in the
/// `data_len` bytes of `_StringData`.
pub(crate) fn check_string_pool(pool: &[u8], data_len: u64) -> Result<(), String> {
    let u16_at = |at: usize| {
        pool.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let mut at = 4;
    let mut total: u64 = 0;
    let mut strings: u64 = 0;
    while let Some(short) = u16_at(at) {
        let Some(refcount) = u16_at(at + 2) else {
            break; // the msi crate fails here, before any string is read
        };
        at += 4;
        let mut length = u64::from(short);
        if short == 0 && refcount > 0 {
            let Some(long) = u32_at(pool, at) else {
                break;
            };
            at += 4;
            length = u64::from(long);
        }
        total += length;
        strings += 1;
        if total > data_len {
            return Err(format!(
                "the string pool declares {total} bytes of strings by string {strings} \
                 but the string data holds {data_len}"
            ));
        }
    }
    Ok(())
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The property-set layout (MS-OLEPS): a 28-byte header, then the first section's FMTID
/// (16 bytes) and offset; the section holds its size, a property count, and (id, offset)
/// pairs relative to the section. Offsets outside the stream are left for the msi crate
/// to reject; only string lengths that would over-reserve are refused here.
pub(crate) fn check_property_set(bytes: &[u8]) -> Result<(), String> {
    let Some(section) = u32_at(bytes, 44).map(|o| o as usize) else {
        return Ok(());
    };
    let Some(count) = u32_at(bytes, section.saturating_add(4)) else {
        return Ok(());
    };
    for i in 0..count as usize {
        let entry = section
            .saturating_add(8)
            .saturating_add(i.saturating_mul(8));
        let Some(offset) = u32_at(bytes, entry.saturating_add(4)) else {
            // The table runs past the end: the msi crate fails there, before any value.
            return Ok(());
        };
        let at = section.saturating_add(offset as usize);
        if u32_at(bytes, at) != Some(VT_LPSTR) {
            continue;
        }
        let Some(length) = u32_at(bytes, at.saturating_add(4)) else {
            continue;
        };
        let room = bytes.len().saturating_sub(at.saturating_add(8));
        if length as usize > room {
            let id = u32_at(bytes, entry).unwrap_or(0);
            return Err(format!(
                "summary information property {id} declares a {length}-byte string \
                 but only {room} bytes follow"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A property set with one VT_LPSTR property declaring `declared` bytes, holding `held`.
    fn set_with_string(declared: u32, held: usize) -> Vec<u8> {
        let mut b = vec![0u8; 48];
        b[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
        b[44..48].copy_from_slice(&48u32.to_le_bytes()); // section offset
        let section = b.len();
        b.extend_from_slice(&0u32.to_le_bytes()); // section size (unused)
        b.extend_from_slice(&1u32.to_le_bytes()); // one property
        b.extend_from_slice(&2u32.to_le_bytes()); // id 2: title
        b.extend_from_slice(&16u32.to_le_bytes()); // at section + 16
        assert_eq!(b.len() - section, 16);
        b.extend_from_slice(&VT_LPSTR.to_le_bytes());
        b.extend_from_slice(&declared.to_le_bytes());
        b.extend(std::iter::repeat_n(b'x', held));
        b
    }

    #[test]
    fn accepts_a_string_that_fits() {
        assert_eq!(check_property_set(&set_with_string(5, 5)), Ok(()));
    }

    #[test]
    fn refuses_a_string_longer_than_the_stream() {
        let err =
            check_property_set(&set_with_string(3_813_391_341, 5)).expect_err("over-long string");
        assert!(err.contains("3813391341-byte string"), "{err}");
    }

    fn pool(entries: &[(u16, u16, Option<u32>)]) -> Vec<u8> {
        let mut b = 1252u32.to_le_bytes().to_vec();
        for &(len, refs, long) in entries {
            b.extend_from_slice(&len.to_le_bytes());
            b.extend_from_slice(&refs.to_le_bytes());
            if let Some(l) = long {
                b.extend_from_slice(&l.to_le_bytes());
            }
        }
        b
    }

    #[test]
    fn string_pool_that_fits_its_data_is_accepted() {
        let p = pool(&[
            (3, 1, None),
            (0, 0, None),
            (0, 2, Some(70_000)),
            (5, 1, None),
        ]);
        assert_eq!(check_string_pool(&p, 70_008), Ok(()));
        // Trailing bytes that do not make a whole entry are left to the msi crate.
        let mut t = p.clone();
        t.push(7);
        assert_eq!(check_string_pool(&t, 70_008), Ok(()));
    }

    #[test]
    fn string_pool_declaring_more_than_its_data_is_refused() {
        let p = pool(&[(3, 1, None), (0, 1, Some(0xFFFF_0002))]);
        let err = check_string_pool(&p, 100).expect_err("over-long");
        assert!(
            err.contains("4294901765 bytes of strings by string 2") && err.contains("holds 100"),
            "{err}"
        );
        let err = check_string_pool(&pool(&[(9, 1, None)]), 8).expect_err("one byte over");
        assert!(err.contains("9 bytes"), "{err}");
    }

    #[test]
    fn table_stream_names_match_the_msi_encoding() {
        // "_StringPool": (_S)(tr)(in)(gP)(oo) packed, then the odd "l".
        let name: Vec<u32> = table_stream_name("_StringPool")
            .chars()
            .map(|c| c as u32)
            .collect();
        let pair = |a: u32, b: u32| 0x3800 + a + (b << 6);
        assert_eq!(
            name,
            [
                0x4840,
                pair(63, 28),
                pair(55, 53),
                pair(44, 49),
                pair(42, 25),
                pair(50, 50),
                0x4800 + 47
            ]
        );
    }

    #[test]
    fn leaves_truncated_tables_to_the_msi_crate() {
        assert_eq!(check_property_set(&[0u8; 10]), Ok(()));
        let mut b = set_with_string(5, 5);
        b.truncate(56);
        assert_eq!(check_property_set(&b), Ok(()));
    }
}
