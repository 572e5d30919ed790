//! The one place that decides whether a name is safe: entry names inside a package,
//! hotfix ids (which become folder and file names) and software package names.
//! Names must be safe on both Windows and POSIX, because the extracted folder is used
//! on Windows management hosts even when it was checked on Linux.

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("{0}")]
    Unsafe(&'static str),
}

/// Checks an archive entry name (`/`-separated, relative). Returns the components.
pub fn validate_entry_name(_name: &str) -> Result<(), NameError> {
    unimplemented!("filled in by the package work")
}

/// Checks a hotfix id: `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 bytes, no trailing dot.
pub fn validate_hotfix_id(_id: &str) -> Result<(), NameError> {
    unimplemented!("filled in by the package work")
}

/// Checks a software package name (one safe path component).
pub fn validate_software_package_name(_name: &str) -> Result<(), NameError> {
    unimplemented!("filled in by the package work")
}
