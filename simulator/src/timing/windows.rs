//! Maintenance windows (`[timing.windows]`): when a step that takes a VU down may start,
//! and whether every VU was down only inside a window.
//!
//! A simulated run starts at a wall-clock date and time (`start`, RFC 3339 with a fixed
//! UTC offset); windows repeat weekly (or daily) in that same local time. Time stays the
//! engine's integer microseconds from the start: this module only maps it to positions in
//! the week. It must never read the real clock.
//!
//! Why a fixed offset and no time-zone database: the windows of a plan are a few days or
//! weeks long, and a fixed offset is exact unless a daylight-saving change falls inside
//! the simulated span (then windows after it are off by that hour). A time-zone crate
//! would add a database to the build for that one case; the offset is written in the
//! scenario, so the assumption is visible (docs/SIMULATOR-TIMING.md, "Maintenance
//! windows").

use serde::Serialize;
use toml::{Table, Value};

use super::TimingError;
use super::config::{Micros, SECOND, check_keys, invalid, opt_str};

const MINUTE: Micros = 60 * SECOND;
const DAY: Micros = 24 * 60 * MINUTE;
const WEEK: Micros = 7 * DAY;
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The `[timing.windows]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowConfig {
    /// The simulated start, as written (`2026-12-05T21:30+01:00`).
    pub start: String,
    /// Minutes east of UTC of `start` and of every window.
    pub utc_offset_min: i32,
    /// Days since 1970-01-01 (local) and microseconds into that day, of the start.
    #[serde(skip)]
    start_day: i64,
    #[serde(skip)]
    start_time: Micros,
    /// Windows as `[open, close)` in microseconds from Monday 00:00 local; `close` may
    /// exceed a week (a window over Sunday midnight).
    #[serde(skip)]
    weekly: Vec<(Micros, Micros)>,
    /// The windows as written, for the result.
    pub windows: Vec<String>,
}

/// What the windows say about a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowResult {
    /// The simulated start and the end of the run, local time with the offset.
    pub start: String,
    pub end: String,
    /// Every VU was down only inside a window (and ended up within the one it went down in).
    pub fits: bool,
    /// Window occurrences in which some VU went down.
    pub windows_needed: u32,
    /// VUs that were down at some moment outside a window.
    pub vus_outside: u32,
    /// The first [`WindowResult::MAX_NAMED`] of them.
    pub outside: Vec<OutsideWindow>,
}

impl WindowResult {
    pub const MAX_NAMED: usize = 20;
}

/// A VU down outside a window: from when (the close of its window, or its inactivation
/// when no window was open) until its activation (or the end of the run).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutsideWindow {
    pub vu: String,
    pub from_s: f64,
    pub until_s: f64,
}

impl WindowConfig {
    pub(crate) fn from_table(t: &Table) -> Result<Self, TimingError> {
        const T: &str = "timing.windows";
        check_keys(t, T, &["start", "weekly", "daily"])?;
        let start = opt_str(t, T, "start")?.ok_or_else(|| {
            invalid(
                T,
                "start",
                "missing: the simulated start, e.g. \"2026-12-05T21:30+01:00\"",
            )
        })?;
        let (start_day, start_time, utc_offset_min) =
            parse_start(start).map_err(|m| invalid(T, "start", m))?;
        let mut weekly = Vec::new();
        let mut written = Vec::new();
        for (key, daily) in [("weekly", false), ("daily", true)] {
            let Some(v) = t.get(key) else { continue };
            let Value::Array(items) = v else {
                return Err(invalid(
                    T,
                    key,
                    "expected an array of { from = ..., to = ... }",
                ));
            };
            for item in items {
                let Value::Table(w) = item else {
                    return Err(invalid(
                        T,
                        key,
                        "expected an array of { from = ..., to = ... }",
                    ));
                };
                let name = format!("{T}.{key}");
                check_keys(w, &name, &["from", "to"])?;
                let get = |k: &str| -> Result<(Option<u32>, Micros), TimingError> {
                    let s = opt_str(w, &name, k)?.ok_or_else(|| invalid(&name, k, "missing"))?;
                    parse_point(s, daily).map_err(|m| invalid(&name, k, m))
                };
                let (fd, from) = get("from")?;
                let (td, to) = get("to")?;
                if daily {
                    let len = if to > from {
                        to - from
                    } else {
                        to + DAY - from
                    };
                    for d in 0..7 {
                        let open = d * DAY + from;
                        weekly.push((open, open + len));
                    }
                    written.push(format!("daily {} to {}", hm(from), hm(to)));
                } else {
                    let open = Micros::from(fd.unwrap_or(0)) * DAY + from;
                    let mut close = Micros::from(td.unwrap_or(0)) * DAY + to;
                    if close <= open {
                        close += WEEK;
                    }
                    weekly.push((open, close));
                    written.push(format!(
                        "{} {} to {} {}",
                        DAYS[fd.unwrap_or(0) as usize],
                        hm(from),
                        DAYS[td.unwrap_or(0) as usize],
                        hm(to)
                    ));
                }
            }
        }
        if weekly.is_empty() {
            return Err(invalid(
                T,
                "weekly",
                "no window: give weekly = [{ from = \"Sat 22:00\", to = \"Sun 04:00\" }] or daily = [...]",
            ));
        }
        weekly.sort_unstable();
        Ok(WindowConfig {
            start: start.to_owned(),
            utc_offset_min,
            start_day,
            start_time,
            weekly,
            windows: written,
        })
    }

    /// Position of the start in the local week (µs from Monday 00:00).
    fn start_in_week(&self) -> Micros {
        // 1970-01-01 was a Thursday (index 3 from Monday).
        let dow = (self.start_day + 3).rem_euclid(7) as Micros;
        dow * DAY + self.start_time
    }

    /// The window occurrence holding simulated time `t`: `(open, close)` in simulated
    /// time, or `None` when no window is open at `t`.
    pub fn window_at(&self, t: Micros) -> Option<(Micros, Micros)> {
        let base = self.start_in_week();
        let pos = base + t;
        let week0 = pos / WEEK * WEEK;
        let mut best: Option<(Micros, Micros)> = None;
        // A window opened last week may still be open (over Sunday midnight).
        for wk in [week0.saturating_sub(WEEK), week0] {
            for &(a, b) in &self.weekly {
                let (a, b) = (wk + a, wk + b);
                // Overlapping windows: the one that stays open longest. A window that
                // opened before the start opens at 0 here.
                if a <= pos && pos < b && best.is_none_or(|x| b - base > x.1) {
                    best = Some((a.max(base) - base, b - base));
                }
            }
        }
        best
    }

    /// The earliest simulated time at or after `t` inside a window.
    pub fn next_open(&self, t: Micros) -> Micros {
        if self.window_at(t).is_some() {
            return t;
        }
        let base = self.start_in_week();
        let pos = base + t;
        let week0 = pos / WEEK * WEEK;
        let mut next = Micros::MAX;
        for wk in [week0, week0 + WEEK] {
            for &(a, _) in &self.weekly {
                let a = wk + a;
                if a >= pos {
                    next = next.min(a);
                }
            }
        }
        next - base
    }

    /// Judges per-VU down intervals `(vu name, down from, up at)` (simulated µs).
    pub fn evaluate<'a>(
        &self,
        intervals: impl Iterator<Item = (String, Micros, Micros)> + 'a,
        end: Micros,
    ) -> WindowResult {
        let mut opened: Vec<Micros> = Vec::new();
        let mut outside = Vec::new();
        for (vu, down, up) in intervals {
            let out_from = match self.window_at(down) {
                Some((open, close)) => {
                    opened.push(open);
                    (up > close).then_some(close)
                }
                None => Some(down),
            };
            if let Some(from) = out_from {
                outside.push(OutsideWindow {
                    vu,
                    from_s: super::result::secs(from),
                    until_s: super::result::secs(up),
                });
            }
        }
        opened.sort_unstable();
        opened.dedup();
        WindowResult {
            start: self.local(0),
            end: self.local(end),
            fits: outside.is_empty(),
            windows_needed: opened.len() as u32,
            vus_outside: outside.len() as u32,
            outside: outside.into_iter().take(WindowResult::MAX_NAMED).collect(),
        }
    }

    /// Simulated time `t` as local date and time with the offset, to the minute.
    pub fn local(&self, t: Micros) -> String {
        let total = self.start_time + t;
        let day = self.start_day + (total / DAY) as i64;
        let tod = total % DAY;
        let (y, m, d) = civil_from_days(day);
        let off = self.utc_offset_min;
        let sign = if off < 0 { '-' } else { '+' };
        format!(
            "{y:04}-{m:02}-{d:02}T{}{sign}{:02}:{:02}",
            hm(tod),
            off.unsigned_abs() / 60,
            off.unsigned_abs() % 60
        )
    }
}

fn hm(t: Micros) -> String {
    format!("{:02}:{:02}", t / (60 * MINUTE), t / MINUTE % 60)
}

/// `"Sat 22:00"` (weekly) or `"22:00"` (daily) → (day index from Monday, µs into the day).
fn parse_point(s: &str, daily: bool) -> Result<(Option<u32>, Micros), String> {
    let s = s.trim();
    let (day, time) = if daily {
        (None, s)
    } else {
        let (d, rest) = s
            .split_once(' ')
            .ok_or_else(|| format!("`{s}`: expected a day and a time, e.g. \"Sat 22:00\""))?;
        let idx = DAYS
            .iter()
            .position(|x| d.get(..3).is_some_and(|p| x.eq_ignore_ascii_case(p)))
            .ok_or_else(|| format!("`{d}` is not a day (Mon, Tue, ..., Sun)"))?;
        (Some(idx as u32), rest.trim())
    };
    let t = parse_hm(time).ok_or_else(|| format!("`{time}`: expected HH:MM (00:00 to 24:00)"))?;
    Ok((day, t))
}

fn parse_hm(s: &str) -> Option<Micros> {
    let (h, m) = s.split_once(':')?;
    let (h, m): (u64, u64) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return None;
    }
    Some(h * 60 * MINUTE + m * MINUTE)
}

/// `"2026-12-05T21:30+01:00"` (seconds and `Z` allowed) → (local day number, µs into the
/// day, offset in minutes).
fn parse_start(s: &str) -> Result<(i64, Micros, i32), String> {
    let bad = || {
        format!(
            "`{s}`: expected a date and time with a UTC offset, e.g. \"2026-12-05T21:30+01:00\""
        )
    };
    let (date, rest) = s.split_once('T').ok_or_else(bad)?;
    let mut parts = date.split('-');
    let y: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let m: u32 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    let d: u32 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
    if parts.next().is_some() || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    let (time, off) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0)
    } else {
        let at = rest.rfind(['+', '-']).ok_or_else(bad)?;
        let (t, o) = rest.split_at(at);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let mins = parse_hm(&o[1..]).ok_or_else(bad)? / MINUTE;
        if mins > 18 * 60 {
            return Err(bad());
        }
        (t, sign * mins as i32)
    };
    let (hm_part, secs) = match time.matches(':').count() {
        1 => (time, 0),
        2 => {
            let (a, b) = time.rsplit_once(':').ok_or_else(bad)?;
            let sec: u64 = b.parse().ok().filter(|&x| x < 60).ok_or_else(bad)?;
            (a, sec)
        }
        _ => return Err(bad()),
    };
    let t = parse_hm(hm_part).filter(|&t| t < DAY).ok_or_else(bad)? + secs * SECOND;
    Ok((days_from_civil(y, m, d), t, off))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> WindowConfig {
        let t: Table = toml::from_str(text).expect("toml");
        WindowConfig::from_table(&t).expect("parses")
    }

    #[test]
    fn dates_round_trip_and_weekdays_are_right() {
        for (y, m, d) in [(1970, 1, 1), (2000, 2, 29), (2026, 12, 5), (2100, 3, 1)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        // 2026-12-05 is a Saturday.
        let c = cfg(
            "start = \"2026-12-05T21:30+01:00\"\nweekly = [{ from = \"Sat 22:00\", to = \"Sun 04:00\" }]",
        );
        assert_eq!(c.start_in_week(), 5 * DAY + 21 * 60 * MINUTE + 30 * MINUTE);
        assert_eq!(c.local(0), "2026-12-05T21:30+01:00");
        assert_eq!(c.local(3 * 60 * MINUTE), "2026-12-06T00:30+01:00");
    }

    #[test]
    fn a_weekly_window_over_midnight_opens_and_closes() {
        let c = cfg(
            "start = \"2026-12-05T21:30Z\"\nweekly = [{ from = \"Sat 22:00\", to = \"Sun 04:00\" }]",
        );
        assert_eq!(c.window_at(0), None);
        assert_eq!(c.next_open(0), 30 * MINUTE);
        let (open, close) = c.window_at(31 * MINUTE).expect("open");
        assert_eq!((open, close), (30 * MINUTE, 30 * MINUTE + 6 * 60 * MINUTE));
        // After it closes, the next one is a week later.
        assert_eq!(c.next_open(close), 30 * MINUTE + WEEK);
        // A start inside the window (Sunday 01:00).
        let c = cfg(
            "start = \"2026-12-06T01:00Z\"\nweekly = [{ from = \"Sat 22:00\", to = \"Sun 04:00\" }]",
        );
        assert_eq!(c.window_at(0), Some((0, 3 * 60 * MINUTE)));
    }

    #[test]
    fn daily_windows_and_bad_values() {
        let c = cfg(
            "start = \"2026-12-01T12:00+02:00\"\ndaily = [{ from = \"23:00\", to = \"01:00\" }]",
        );
        assert_eq!(c.next_open(0), 11 * 60 * MINUTE);
        assert_eq!(c.next_open(13 * 60 * MINUTE), 11 * 60 * MINUTE + DAY);
        for (text, needle) in [
            (
                "start = \"2026-13-01T00:00Z\"\ndaily = [{ from = \"1:00\", to = \"2:00\" }]",
                "start",
            ),
            (
                "start = \"2026-12-01T00:00\"\ndaily = [{ from = \"1:00\", to = \"2:00\" }]",
                "offset",
            ),
            (
                "start = \"2026-12-01T00:00Z\"\nweekly = [{ from = \"Xyz 1:00\", to = \"Sun 2:00\" }]",
                "not a day",
            ),
            (
                "start = \"2026-12-01T00:00Z\"\ndaily = [{ from = \"25:00\", to = \"2:00\" }]",
                "HH:MM",
            ),
            ("start = \"2026-12-01T00:00Z\"", "no window"),
        ] {
            let t: Table = toml::from_str(text).expect("toml");
            let e = WindowConfig::from_table(&t).expect_err(text).to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
