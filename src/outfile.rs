//! The one rule for files a command writes on request (`-o`, `--report`, `--save-model`):
//! `-` means stdout; an existing file is replaced only with `--force`; the path is
//! checked before any work starts (so a long simulation never ends in "cannot write");
//! missing parent folders are created; the file is written through a temporary file in
//! the same folder and renamed into place, so readers see the old or the new bytes.
//!
//! This must never write anything before the work is done, and never leave a partial
//! file where the output was asked for.

use std::path::{Path, PathBuf};

use crate::cli::CliError;

/// Where an output goes, checked.
#[derive(Debug, Clone)]
pub enum Target {
    Stdout,
    File { path: PathBuf, force: bool },
}

/// Checks `path` (for `flag`) before the work: `-` is stdout; an existing file needs
/// `force`; a folder, or a parent that is not a folder or not writable, is refused.
pub fn check(path: &Path, force: bool, flag: &str) -> Result<Target, CliError> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(CliError::usage(format!("{flag} {shown}: is a folder"))
                .hint(format!("give a file path for {flag}, or - for stdout")));
        }
        Ok(_) if !force => {
            return Err(CliError::usage(format!("{flag} {shown}: the file exists"))
                .hint("add --force to replace it, or give another path (- for stdout)"));
        }
        _ => {}
    }
    // The nearest existing ancestor must be a folder we can create files in.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut existing = parent;
    while std::fs::symlink_metadata(existing).is_err() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !std::fs::metadata(existing).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::usage(format!(
            "{flag} {shown}: {} is not a folder",
            existing.display()
        ))
        .hint(format!("give {flag} a path in a folder you can write to")));
    }
    if existing == parent
        && let Err(e) = tempfile::Builder::new()
            .prefix(".hotfix-probe-")
            .tempfile_in(parent)
    {
        return Err(CliError::io(
            format!("{flag} {shown}: cannot write in {}", parent.display()),
            e,
        )
        .hint(format!("give {flag} a path in a folder you can write to")));
    }
    Ok(Target::File {
        path: path.to_path_buf(),
        force,
    })
}

impl Target {
    /// Writes `bytes` to the target (atomically for a file, creating missing folders).
    pub fn write(&self, bytes: &[u8]) -> Result<(), CliError> {
        match self {
            Target::Stdout => {
                use std::io::Write as _;
                let mut out = crate::cli::out();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|e| CliError::io("cannot write to stdout", e))
            }
            Target::File { path, force } => write_file(path, bytes, *force),
        }
    }

    /// How to name the target in a note.
    pub fn describe(&self) -> String {
        match self {
            Target::Stdout => "stdout".into(),
            Target::File { path, .. } => path.display().to_string(),
        }
    }
}

fn write_file(path: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    use std::io::Write as _;
    let err = |e| CliError::io(format!("cannot write {}", path.display()), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".hotfix-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map(drop).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::usage(format!("{}: the file appeared meanwhile", path.display()))
                .hint("add --force to replace it, or give another path")
        } else {
            err(e.error)
        }
    })
}
