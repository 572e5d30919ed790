//! A bounds check of the MSI's summary-information property set, run before the `msi`
//! crate parses it. That crate reserves memory for each string property by the length the
//! file declares, so a damaged or hostile MSI could make it reserve up to 4 GiB per string
//! (fuzz finding 1, docs/FUZZING.md). Here every declared string length must fit in the
//! stream that holds it; nothing else of the property set is interpreted.

use std::io::{Read, Seek};

/// Name of the summary-information stream in an MSI's compound file.
const SUMMARY_STREAM: &str = "\u{5}SummaryInformation";

/// A real summary-information stream is a few KiB; anything bigger is refused unread.
const MAX_SUMMARY_BYTES: u64 = 1024 * 1024;

/// Property type of an 8-bit string (VT_LPSTR): `u32` length, then the bytes.
const VT_LPSTR: u32 = 30;

/// Checks the summary-information stream, if any. `Err` carries the reason.
pub(crate) fn check<R: Read + Seek>(reader: R) -> Result<(), String> {
    let mut compound = cfb::CompoundFile::open(reader)
        .map_err(|e| format!("not a valid OLE compound file: {e}"))?;
    if !compound.is_stream(SUMMARY_STREAM) {
        // The msi crate reports a missing stream itself.
        return Ok(());
    }
    let mut stream = compound
        .open_stream(SUMMARY_STREAM)
        .map_err(|e| format!("cannot open the summary information: {e}"))?;
    if stream.len() > MAX_SUMMARY_BYTES {
        return Err(format!(
            "the summary information is {} bytes; at most {MAX_SUMMARY_BYTES} are accepted",
            stream.len()
        ));
    }
    let mut bytes = Vec::new();
    stream
        .by_ref()
        .take(MAX_SUMMARY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the summary information: {e}"))?;
    check_property_set(&bytes)
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

    #[test]
    fn leaves_truncated_tables_to_the_msi_crate() {
        assert_eq!(check_property_set(&[0u8; 10]), Ok(()));
        let mut b = set_with_string(5, 5);
        b.truncate(56);
        assert_eq!(check_property_set(&b), Ok(()));
    }
}
