//! Planning: the source folders and MSIs a [`BuildSpec`] names, walked into a manifest
//! (sizes from the file system, zero digests) and the payload files in archive order.
//! Every entry name is validated and checked for case-insensitive collisions here; only
//! regular files are accepted. Planning reads no file contents except MSI properties.

use std::collections::HashMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use hotfix_manifest::names::collision_key;
use hotfix_manifest::{
    Base, BuildSpec, FORMAT_VERSION, FileEntry, Manifest, MsiComponent, Sha256, SoftwarePackage,
    validate_entry_name,
};
use time::OffsetDateTime;

use super::digests::hash_all;
use super::epoch::rfc3339;
use super::{BuildError, PlannedFile};

/// Derives the manifest of the package `spec` describes, hashing every payload file
/// (in parallel), without writing anything. Returns the payload files in archive order;
/// the SBOM the build adds ([`crate::sbom::SBOM_ENTRY`]) is among them with an empty source path.
///
/// The simulator uses this to model a package straight from a source folder.
pub fn plan_manifest(
    spec: &BuildSpec,
    created: OffsetDateTime,
) -> Result<(Manifest, Vec<PlannedFile>), BuildError> {
    let created = OffsetDateTime::from_unix_timestamp(created.unix_timestamp()).unwrap_or(created);
    let (manifest, files) = plan(spec, created)?;
    let (manifest, files) = hash_all(manifest, files)?;
    manifest
        .validate()
        .map_err(|source| BuildError::Manifest { source })?;
    Ok((manifest, files))
}

/// The manifest (with zero digests) and the payload files in archive order.
pub(super) fn plan(
    spec: &BuildSpec,
    created: OffsetDateTime,
) -> Result<(Manifest, Vec<PlannedFile>), BuildError> {
    let mut sources: HashMap<String, (PathBuf, u64)> = HashMap::new();
    let mut names = NameSet::default();
    let mut add = |entry: String, path: PathBuf, size: u64| -> Result<FileEntry, BuildError> {
        validate_entry_name(&entry).map_err(|source| BuildError::InvalidName {
            path: path.clone(),
            name: entry.clone(),
            source,
        })?;
        names.insert(&entry, &path)?;
        sources.insert(entry.clone(), (path, size));
        Ok(FileEntry {
            path: entry,
            size,
            sha256: Sha256([0; 32]),
        })
    };

    let mut software_packages = Vec::with_capacity(spec.software_packages.len());
    for p in &spec.software_packages {
        let found = walk_folder(&p.dir, "software package folder")?;
        if found.is_empty() {
            return Err(BuildError::EmptySoftwarePackage {
                name: p.name.clone(),
                dir: p.dir.clone(),
            });
        }
        let mut files = Vec::with_capacity(found.len());
        for (rel, path, size) in found {
            files.push(add(format!("server/{}/{rel}", p.name), path, size)?);
        }
        software_packages.push(SoftwarePackage {
            name: p.name.clone(),
            version: p.version.clone(),
            files,
        });
    }

    let mut msis = Vec::with_capacity(spec.msis.len());
    for m in &spec.msis {
        let size = regular_file_size(&m.file, "MSI file")?;
        let name =
            m.file
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| BuildError::NonUtf8Name {
                    path: m.file.clone(),
                })?;
        let props = hotfix_msi::read_properties(&m.file).map_err(|source| BuildError::Msi {
            path: m.file.clone(),
            source,
        })?;
        msis.push(MsiComponent {
            file: add(format!("client/{name}"), m.file.clone(), size)?,
            product_code: props.product_code,
            upgrade_code: props.upgrade_code,
            product_version: props.product_version,
            product_name: props.product_name,
            replaces_version: m.replaces_version.clone(),
        });
    }

    let mut docs = Vec::new();
    if let Some(dir) = &spec.docs {
        for (rel, path, size) in walk_folder(dir, "docs folder")? {
            docs.push(add(format!("docs/{rel}"), path, size)?);
        }
    }
    if software_packages.iter().all(|p| p.files.is_empty()) && msis.is_empty() {
        return Err(BuildError::NoPayload);
    }

    let mut manifest = Manifest {
        format: FORMAT_VERSION,
        id: spec.id.clone(),
        version: spec.version,
        title: spec.title.clone(),
        description: spec.description.clone(),
        base: Base {
            release: spec.release.clone(),
            support_package: spec.support_package.clone(),
        },
        created: rfc3339(created),
        supersedes: spec.supersedes.clone(),
        requires: spec.requires.clone(),
        software_packages,
        msis,
        docs,
    };
    manifest.sort();
    let files = manifest
        .payload()
        .map(|f| {
            let (source, size) = sources.remove(&f.path).unwrap_or_default();
            PlannedFile {
                entry: f.path.clone(),
                source,
                size,
            }
        })
        .collect();
    Ok((manifest, files))
}

/// Every regular file under `dir` as (`/`-joined relative name, path, size), sorted by
/// name. Empty folders are dropped (packages have no folder entries).
fn walk_folder(dir: &Path, what: &'static str) -> Result<Vec<(String, PathBuf, u64)>, BuildError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(BuildError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BuildError::Missing {
                what,
                path: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(BuildError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    }
    let mut out = Vec::new();
    for item in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let item = item.map_err(|e| BuildError::Read {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        if item.depth() == 0 {
            continue;
        }
        let ft = item.file_type();
        let path = item.path();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            return Err(BuildError::Symlink {
                path: path.to_path_buf(),
            });
        }
        if !ft.is_file() {
            return Err(BuildError::SpecialFile {
                path: path.to_path_buf(),
            });
        }
        let size = item
            .metadata()
            .map_err(|e| BuildError::Read {
                path: path.to_path_buf(),
                source: e.into(),
            })?
            .len();
        let rel = path.strip_prefix(dir).unwrap_or(path);
        let mut name = String::new();
        for c in rel.components() {
            let Component::Normal(part) = c else {
                return Err(BuildError::NonUtf8Name {
                    path: path.to_path_buf(),
                });
            };
            let part = part.to_str().ok_or_else(|| BuildError::NonUtf8Name {
                path: path.to_path_buf(),
            })?;
            if !name.is_empty() {
                name.push('/');
            }
            name.push_str(part);
        }
        out.push((name, path.to_path_buf(), size));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Size of a file that must exist and be a regular file (not a symlink).
fn regular_file_size(path: &Path, what: &'static str) -> Result<u64, BuildError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(BuildError::Symlink {
            path: path.to_path_buf(),
        }),
        Ok(m) if m.is_file() => Ok(m.len()),
        Ok(_) => Err(BuildError::NotAFile {
            path: path.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BuildError::Missing {
            what,
            path: path.to_path_buf(),
        }),
        Err(source) => Err(BuildError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Entry names and their folder prefixes by collision key, to refuse two names that one
/// file system would treat as the same file (or a file that is also a folder).
#[derive(Default)]
struct NameSet {
    seen: HashMap<String, (String, PathBuf, bool)>,
}

impl NameSet {
    fn insert(&mut self, entry: &str, path: &Path) -> Result<(), BuildError> {
        let mut check = |name: &str, is_file: bool| -> Result<(), BuildError> {
            let key = collision_key(name);
            match self.seen.get(&key) {
                Some((other, _, other_is_file)) if other == name && !is_file && !*other_is_file => {
                    Ok(())
                }
                Some((other, other_path, _)) => Err(BuildError::NameCollision {
                    first: other.clone(),
                    first_path: other_path.clone(),
                    second: name.to_owned(),
                    second_path: path.to_path_buf(),
                }),
                None => {
                    self.seen
                        .insert(key, (name.to_owned(), path.to_path_buf(), is_file));
                    Ok(())
                }
            }
        };
        for (i, _) in entry.match_indices('/') {
            check(&entry[..i], false)?;
        }
        check(entry, true)
    }
}
