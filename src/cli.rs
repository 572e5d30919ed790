//! What every subcommand shares: exit codes, the error type with its `hint:`, output
//! format selection and colour/progress policy.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use anstream::eprintln;
use owo_colors::OwoColorize;

/// Everything went well.
pub const EXIT_OK: u8 = 0;
/// Verification failed or a simulated property was violated.
pub const EXIT_FAILED: u8 = 1;
/// Usage error, bad input file or I/O error.
pub const EXIT_USAGE: u8 = 2;

/// `--version` text: tool version and the package format it writes.
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (package format v", "1", ")");

/// Result of a subcommand: the exit code to use, or an error to print.
pub type CmdResult = Result<u8, CliError>;

/// Options every subcommand takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Print only data and errors: no progress, no notes.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail on stderr: a line per file read, written or checked.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(1);

impl Global {
    pub fn init(&self) {
        let level = if self.quiet {
            0
        } else if self.verbose {
            2
        } else {
            1
        };
        VERBOSITY.store(level, Ordering::Relaxed);
    }
}

/// True unless `--quiet`.
pub fn notes_enabled() -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= 1
}

/// True with `--verbose`.
pub fn verbose_enabled() -> bool {
    VERBOSITY.load(Ordering::Relaxed) >= 2
}

/// A note on stderr (suppressed by `--quiet`).
pub fn note(msg: impl std::fmt::Display) {
    if notes_enabled() {
        eprintln!("{msg}");
    }
}

/// Removes the temporary files a killed run of hotfix left in `dir` (see
/// `hotfix_package::tempfiles` for when a file counts as stale) and says which.
pub fn remove_stale_temps(dir: &std::path::Path) {
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    for p in hotfix_package::tempfiles::remove_stale(dir) {
        note(format!(
            "removed a stale temporary file left by an interrupted run: {}",
            p.display()
        ));
    }
}

/// `warning: ...` on stderr; shown even with `--quiet` (something needs a look).
pub fn warn(msg: impl std::fmt::Display) {
    eprintln!("{} {msg}", "warning:".yellow().bold());
}

/// `--output-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Set when stdout is a pipe whose reader has gone.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Set when writing to stdout failed for another reason (disk full, I/O error).
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// Stdout for a command's data: every command writes through this (the
/// [`outln!`](crate::outln) macro, [`print_json`]), never with `println!`, which panics on a closed pipe.
///
/// A reader that went away (`hotfix list | head`, `| true`) is not an error: from the
/// first broken-pipe write on, the rest of the output is dropped and the command's
/// outcome (exit code, files written) stays what it would have been. Any other write
/// error is remembered and turns a successful exit into exit 2 at the end
/// ([`stdout_error`]).
#[derive(Debug)]
pub struct Out(std::io::StdoutLock<'static>);

/// Locks stdout for data.
pub fn out() -> Out {
    Out(std::io::stdout().lock())
}

impl Out {
    fn outcome(r: std::io::Result<()>) -> std::io::Result<()> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                STDOUT_FAILED.store(true, Ordering::Relaxed);
                Err(e)
            }
            Ok(()) => Ok(()),
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        Out::outcome(self.0.write_all(buf)).map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if STDOUT_CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        Out::outcome(self.0.flush())
    }
}

/// `println!` for data on stdout, through [`Out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::cli::out(), $($arg)*);
    }};
}

/// The error to report if writing data to stdout failed other than by a closed pipe.
pub fn stdout_error() -> Option<CliError> {
    STDOUT_FAILED.load(Ordering::Relaxed).then(|| {
        CliError::usage("cannot write to stdout").hint("check where stdout goes (disk full?)")
    })
}

/// A command's JSON document: `schema_version` first, then the command's fields.
#[derive(serde::Serialize)]
struct Document<'a, T: serde::Serialize> {
    schema_version: u32,
    #[serde(flatten)]
    body: &'a T,
}

/// Writes `value`, a command's JSON document (an object with `ok`, docs/JSON.md), as
/// pretty JSON plus a newline to stdout, with `schema_version` added as its first field.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let mut out = out();
    let doc = Document {
        schema_version: crate::json::SCHEMA_VERSION,
        body: value,
    };
    match serde_json::to_writer_pretty(&mut out, &doc) {
        Err(e) if e.is_io() => return Err(CliError::usage(format!("cannot write to stdout: {e}"))),
        Err(e) => return Err(CliError::usage(format!("cannot write JSON: {e}"))),
        Ok(()) => {}
    }
    writeln!(out).map_err(|e| CliError::io("cannot write to stdout", e))
}

/// An error as the user sees it: `error: ...`, optional detail lines, `hint: ...`.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
    pub details: Vec<String>,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
            details: Vec::new(),
            hint: None,
        }
    }

    /// Exit code 2: bad usage, bad input file.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(EXIT_USAGE, message)
    }

    /// Exit code 1: the input was read but failed a check.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(EXIT_FAILED, message)
    }

    /// Exit code 2 from an I/O error, with the context first.
    pub fn io(context: impl std::fmt::Display, err: std::io::Error) -> Self {
        Self::usage(format!("{context}: {err}"))
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn detail(mut self, line: impl Into<String>) -> Self {
        self.details.push(line.into());
        self
    }

    pub fn print(&self) {
        eprintln!("{} {}", "error:".red().bold(), self.message);
        for d in &self.details {
            eprintln!("  {d}");
        }
        if let Some(h) = &self.hint {
            eprintln!("{} {h}", "hint:".cyan().bold());
        }
    }
}
