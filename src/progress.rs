//! Progress on stderr: a bar with bytes, rate and ETA while a command reads a payload
//! (and the phase while it signs or syncs), and one line per file with `--verbose`.
//!
//! The libraries report through `hotfix_package::progress::Progress` from their hot
//! loops; [`Reporter`] turns that into output. The bar is drawn only on a terminal
//! (stderr is a tty), never with `--quiet` or `--output-format json`, and never into a
//! pipe or a file; colours follow `NO_COLOR` like every other line on stderr. Updates
//! are counted with atomics and the bar is redrawn at most every
//! [`DEFAULT_REFRESH_MS`] ms, so the hot loops pay a few nanoseconds per call.
//!
//! `HOTFIX_PROGRESS_REFRESH_MS` changes that interval; `0` redraws at every update. It
//! is a test and diagnostic knob (the terminal tests use it so that a bar is drawn
//! however fast the command is); it never turns a bar on where there is none.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hotfix_package::progress::{Phase, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Redraw interval unless `HOTFIX_PROGRESS_REFRESH_MS` says otherwise.
pub const DEFAULT_REFRESH_MS: u64 = 100;

/// The environment variable setting the redraw interval in milliseconds.
pub const REFRESH_ENV: &str = "HOTFIX_PROGRESS_REFRESH_MS";

/// Whether a bar may be drawn: stderr is a terminal, not `--quiet`, not JSON output.
pub fn bar_wanted(json: bool) -> bool {
    !json && crate::cli::notes_enabled() && std::io::stderr().is_terminal()
}

fn refresh() -> Duration {
    let ms = std::env::var(REFRESH_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_REFRESH_MS);
    Duration::from_millis(ms)
}

/// Whether stderr takes colours (`NO_COLOR`, `CLICOLOR`, a terminal), as for every
/// other styled line the CLI prints.
fn colours() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

fn bytes_style() -> ProgressStyle {
    let template = if colours() {
        "{prefix:.bold} [{bar:30.cyan/blue}] {binary_bytes}/{binary_total_bytes} \
         {binary_bytes_per_sec} eta {eta} {wide_msg}"
    } else {
        "{prefix} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} \
         eta {eta} {wide_msg}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn phase_style() -> ProgressStyle {
    let template = if colours() {
        "{spinner} {prefix:.bold} {elapsed}"
    } else {
        "{spinner} {prefix} {elapsed}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// A bar on stderr that draws nothing until its first update.
fn new_bar(len: u64) -> ProgressBar {
    ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr())
}

/// Rate limit shared by every thread reporting: true for the caller that may redraw now.
#[derive(Debug)]
struct Throttle {
    started: Instant,
    interval_ns: u64,
    /// Nanoseconds since `started` before which nobody redraws.
    next_ns: AtomicU64,
}

impl Throttle {
    fn new(interval: Duration) -> Throttle {
        Throttle {
            started: Instant::now(),
            interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
            next_ns: AtomicU64::new(0),
        }
    }

    fn due(&self) -> bool {
        if self.interval_ns == 0 {
            return true;
        }
        let now = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let next = self.next_ns.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ns
                .compare_exchange(
                    next,
                    now.saturating_add(self.interval_ns),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    /// Every update drawn (`HOTFIX_PROGRESS_REFRESH_MS=0`).
    fn always(&self) -> bool {
        self.interval_ns == 0
    }
}

/// What a command shows while it works on a payload: the bar (terminal only) and the
/// per-file lines (`--verbose`). Cleared when finished or dropped, so nothing of it is
/// left above the command's result or error.
#[derive(Debug)]
pub struct Reporter {
    bar: Option<ProgressBar>,
    /// The bar's label while reading the payload ("verifying").
    doing: &'static str,
    /// The verb of the per-file lines ("verified"); `None` without `--verbose`.
    done_verb: Option<&'static str>,
    throttle: Throttle,
    bytes: AtomicU64,
}

impl Reporter {
    /// A reporter for a command that is `doing` its payload and has `done` each file, or
    /// `None` when there is nothing to show (no terminal or `--quiet`, and no
    /// `--verbose`): then the libraries skip even the calls.
    pub fn new(doing: &'static str, done: &'static str, json: bool) -> Option<Reporter> {
        let bar = bar_wanted(json).then(|| new_bar(0));
        let done_verb = crate::cli::verbose_enabled().then_some(done);
        if bar.is_none() && done_verb.is_none() {
            return None;
        }
        Some(Reporter {
            bar,
            doing,
            done_verb,
            throttle: Throttle::new(refresh()),
            bytes: AtomicU64::new(0),
        })
    }

    /// Clears the bar (call before printing the result).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn draw(&self, bar: &ProgressBar) {
        if self.throttle.always() {
            bar.force_draw();
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Progress for Reporter {
    fn phase(&self, phase: Phase) {
        let Some(bar) = &self.bar else { return };
        match phase {
            Phase::Payload { total } => {
                bar.disable_steady_tick();
                bar.set_length(total);
                bar.set_position(self.bytes.load(Ordering::Relaxed));
                bar.set_style(bytes_style());
                bar.set_prefix(self.doing);
                bar.set_message("");
                bar.reset_eta();
            }
            other => {
                let label = match other {
                    Phase::Signing => "signing",
                    Phase::Syncing => "syncing",
                    Phase::Hashing => "hashing",
                    _ => "working",
                };
                bar.set_style(phase_style());
                bar.set_prefix(label);
                bar.set_message("");
                bar.enable_steady_tick(Duration::from_millis(DEFAULT_REFRESH_MS));
            }
        }
        bar.tick();
        self.draw(bar);
    }

    fn file(&self, name: &str, _size: u64) {
        if let Some(bar) = &self.bar
            && self.throttle.due()
        {
            bar.set_message(crate::verify::printable(name));
            bar.set_position(self.bytes.load(Ordering::Relaxed));
            self.draw(bar);
        }
    }

    fn bytes(&self, n: u64) {
        let done = self.bytes.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(bar) = &self.bar
            && self.throttle.due()
        {
            bar.set_position(done);
            self.draw(bar);
        }
    }

    fn file_done(&self, name: &str, size: u64) {
        let Some(verb) = self.done_verb else { return };
        let line = format!("{verb} {} ({size} bytes)", crate::verify::printable(name));
        match &self.bar {
            Some(bar) => bar.suspend(|| anstream::eprintln!("{line}")),
            None => anstream::eprintln!("{line}"),
        }
    }
}

/// The `sim sweep` bar over `total` seeds (terminal only, not with JSON), hidden
/// otherwise. Workers call `inc(1)` from any thread; indicatif rate-limits the redraws.
pub fn seeds_bar(total: u64, json: bool) -> ProgressBar {
    runs_bar(total, json, "sweeping", "seeds")
}

/// A bar counting whole runs (`sim compare`: strategy × seed runs), labelled `prefix`,
/// counting `unit`; hidden where [`seeds_bar`]'s is.
pub fn runs_bar(total: u64, json: bool, prefix: &'static str, unit: &str) -> ProgressBar {
    if !bar_wanted(json) {
        return ProgressBar::hidden();
    }
    let template = if colours() {
        format!("{{prefix:.bold}} [{{bar:30.cyan/blue}}] {{pos}}/{{len}} {unit}, eta {{eta}}")
    } else {
        format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {unit}, eta {{eta}}")
    };
    let bar = new_bar(total);
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    if refresh().is_zero() {
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(u8::MAX));
    }
    bar.tick();
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_lets_one_caller_through_per_interval() {
        let t = Throttle::new(Duration::from_secs(3600));
        assert!(t.due(), "the first update draws");
        assert!(!t.due(), "then nothing until the interval has passed");
        let always = Throttle::new(Duration::ZERO);
        assert!(always.due() && always.due() && always.always());
    }
}
