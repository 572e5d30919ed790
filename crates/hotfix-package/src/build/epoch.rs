//! The creation time a build records: `SOURCE_DATE_EPOCH` or now, in whole seconds,
//! and its RFC 3339 form in the manifest. Never reads the clock when an epoch is given
//! (reproducible builds).

use time::OffsetDateTime;

use super::BuildError;

/// Parses a `SOURCE_DATE_EPOCH` value: an integer number of seconds since 1970-01-01 UTC
/// (as `date +%s` prints it), giving a year from 0 to 9999.
pub fn parse_source_date_epoch(value: &str) -> Result<i64, BuildError> {
    let bad = |reason| BuildError::InvalidSourceDateEpoch {
        value: value.to_owned(),
        reason,
    };
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "expected an integer number of seconds since 1970-01-01 UTC",
        ));
    }
    let epoch: i64 = value
        .parse()
        .map_err(|_| bad("the number is out of range"))?;
    created_at(epoch).ok_or_else(|| bad("the time is outside the years 0 to 9999"))?;
    Ok(epoch)
}

/// The creation time a build records: `epoch`, or now truncated to seconds.
pub(super) fn created_at(epoch: i64) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::from_unix_timestamp(epoch).ok()?;
    (0..=9999).contains(&t.year()).then_some(t)
}

pub(super) fn now_truncated() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).unwrap_or(now)
}

/// RFC 3339 UTC with whole seconds, e.g. `2023-11-14T22:13:20Z`.
pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
