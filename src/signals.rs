//! SIGINT and SIGTERM (Ctrl-C on Windows) for every command: stop promptly, clean up,
//! exit 130 or 143 (128 + the signal number, as a shell reports a command killed by it).
//!
//! On Unix the two signals are blocked in every thread and one thread takes them with
//! `sigwait`, so no code runs in a signal handler and the signal number is known. A
//! command that has something to clean up (extract: its temporary folder) calls
//! [`cooperate`] and polls [`cancel_flag`]: it stops at its next check, removes what it
//! made and returns; if it has not finished within [`GRACE`] (or a second signal comes)
//! the process exits anyway, leaving at most what a hard kill leaves and the next run
//! removes. Every other command changes nothing on disk before its last step or writes
//! atomically through a registered temporary file (`hotfix_package::tempfiles`: build,
//! sign), so it exits at once after removing those files. This module must never do more
//! in the signal thread than set flags, remove registered temporary files, print one line
//! and exit.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

static CANCEL: AtomicBool = AtomicBool::new(false);
static COOPERATIVE: AtomicBool = AtomicBool::new(false);
static CODE: AtomicU8 = AtomicU8::new(130);

/// How long a cooperating command gets to clean up before the process exits anyway.
pub const GRACE: Duration = Duration::from_secs(5);

/// Starts taking SIGINT and SIGTERM. Call once, first thing in `main`, before any other
/// thread exists (threads inherit the blocked signals).
pub fn install() {
    #[cfg(unix)]
    {
        use nix::sys::signal::{SigSet, Signal};
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        if set.thread_block().is_err() {
            return; // signals keep their default action: the process dies at once
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                while let Ok(sig) = set.wait() {
                    received(128 + sig as u8);
                }
            });
        if spawned.is_err() {
            let _ = set.thread_unblock();
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrlc::set_handler(|| received(130));
    }
}

fn received(code: u8) {
    let again = CANCEL.swap(true, Ordering::SeqCst);
    CODE.store(code, Ordering::SeqCst);
    if again || !COOPERATIVE.load(Ordering::SeqCst) {
        stop(code);
    }
    hotfix_package::testhook::pause("signalled");
    std::thread::sleep(GRACE);
    stop(code);
}

fn stop(code: u8) -> ! {
    // Temporary files of a build or co-signing being written: nothing else removes them.
    hotfix_package::tempfiles::remove_registered();
    interrupted(code, "").print();
    std::process::exit(i32::from(code));
}

/// The command stops by itself at its next check of [`cancel_flag`] and cleans up.
pub fn cooperate() {
    COOPERATIVE.store(true, Ordering::SeqCst);
}

/// Set once a signal has arrived.
pub fn cancel_flag() -> &'static AtomicBool {
    &CANCEL
}

/// The exit code for the signal that arrived (130 if none did).
pub fn exit_code() -> u8 {
    CODE.load(Ordering::SeqCst)
}

/// The error of a command a signal stopped (exit 130/143): it changed nothing, so running
/// it again is always safe. `detail` follows the message (`; nothing was changed`).
pub fn interrupted(code: u8, detail: &str) -> crate::cli::CliError {
    crate::cli::CliError::new(code, format!("{}{detail}", interrupted_message(code)))
        .hint("the command stopped cleanly and changed nothing; run it again to finish")
}

/// `interrupted (SIGINT)` or `interrupted (SIGTERM)`.
pub fn interrupted_message(code: u8) -> String {
    match code {
        143 => "interrupted (SIGTERM)".to_owned(),
        _ => "interrupted (SIGINT)".to_owned(),
    }
}
