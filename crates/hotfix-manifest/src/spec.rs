//! The build spec, `hotfix.toml`, written by release engineers.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A parsed and validated `hotfix.toml`; all paths are resolved against its folder.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Folder the spec was read from.
    pub root: PathBuf,
    pub id: String,
    pub version: u64,
    pub title: String,
    pub description: String,
    pub release: String,
    pub support_package: String,
    pub supersedes: Vec<String>,
    pub requires: Vec<String>,
    pub software_packages: Vec<SoftwarePackageSpec>,
    pub msis: Vec<MsiSpec>,
    /// Optional folder whose files go under `docs/`.
    pub docs: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct SoftwarePackageSpec {
    pub name: String,
    pub version: String,
    /// Folder whose files (recursively) go under `server/<name>/`.
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct MsiSpec {
    /// The MSI file; goes in as `client/<file name>`.
    pub file: PathBuf,
    pub replaces_version: String,
}

impl BuildSpec {
    /// Loads `hotfix.toml` from a file, or from a folder holding one.
    pub fn load(_path: &std::path::Path) -> Result<BuildSpec, SpecError> {
        unimplemented!("filled in by the manifest work")
    }
}
