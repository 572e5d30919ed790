//! Opening files inside an installation without following symlinks and without
//! blocking on FIFOs or devices.
//!
//! Anything under `Install/hotfixes` may have been put there by someone else: a symlink
//! must not redirect a read or a write, and a FIFO or a device must not hang the tool
//! (opening a FIFO for reading blocks until a writer appears). Files are therefore opened
//! with `O_NOFOLLOW | O_NONBLOCK` and their type is checked on the open handle before a
//! byte is read. On Windows the type is checked with `symlink_metadata` just before the
//! open (Windows has no FIFOs in the file system namespace).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The error kind and message for an entry that is not a regular file.
pub(crate) fn not_regular(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not a regular file ({what}); refusing to open it"),
    )
}

/// What a file type is, for messages.
pub(crate) fn describe(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        return "a symbolic link";
    }
    if ft.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    "a special file"
}

/// Opens a regular file for reading, never through a symlink and never blocking.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    open_checked(path, &mut opts)
}

/// Opens (creating if `create`) a regular file for reading and writing, never through
/// a symlink and never blocking.
pub(crate) fn open_regular_rw(path: &Path, create: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(create).truncate(false);
    open_checked(path, &mut opts)
}

fn open_checked(path: &Path, opts: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        opts.custom_flags(flags.bits() as i32);
        let file = opts.open(path).map_err(|e| {
            // O_NOFOLLOW on a symlink fails with ELOOP: say what it is.
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() => not_regular("a symbolic link"),
                _ => e,
            }
        })?;
        let ft = file.metadata()?.file_type();
        if !ft.is_file() {
            return Err(not_regular(describe(ft)));
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        match std::fs::symlink_metadata(path) {
            Ok(m) if !m.file_type().is_file() => return Err(not_regular(describe(m.file_type()))),
            _ => {}
        }
        let file = opts.open(path)?;
        let ft = file.metadata()?.file_type();
        if !ft.is_file() {
            return Err(not_regular(describe(ft)));
        }
        Ok(file)
    }
}
