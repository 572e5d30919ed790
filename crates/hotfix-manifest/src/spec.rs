//! The build spec, `hotfix.toml`, written by release engineers (schema: `docs/FORMAT.md`,
//! section "Build spec").
//!
//! Loading is strict so that a typo never silently changes what ships: unknown keys,
//! missing keys and wrong types are errors naming the key and its line; ids, names and
//! versions follow the same rules as the manifest; every path stays inside the source
//! folder. Loading reads only `hotfix.toml` and the optional description file; it checks
//! that the folders and files named exist but does not walk them (the builder does).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use serde_spanned::Spanned;

use crate::names::{self, NameError};
use crate::xml::rules;

/// File name looked for when [`BuildSpec::load`] is given a folder.
pub const SPEC_FILE_NAME: &str = "hotfix.toml";

/// Largest `hotfix.toml` accepted.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// Why a build spec could not be loaded. `path` is the `hotfix.toml` (or, for I/O on a
/// file it names, that file); `line` is 1-based.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: {size} bytes; the limit is {max}", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// Not valid TOML (or not UTF-8).
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: u64,
        message: String,
    },

    #[error("{}:{line}: unknown key '{key}' in {table}", path.display())]
    UnknownKey {
        path: PathBuf,
        line: u64,
        key: String,
        table: String,
    },

    /// `line` is where the table that lacks the key starts.
    #[error("{}:{line}: missing key '{key}' in {table}", path.display())]
    MissingKey {
        path: PathBuf,
        line: u64,
        key: String,
        table: String,
    },

    #[error("{}:{line}: key '{key}' is given twice", path.display())]
    DuplicateKey {
        path: PathBuf,
        line: u64,
        key: String,
    },

    #[error("{}:{line}: '{key}' has the wrong type: {message}", path.display())]
    WrongType {
        path: PathBuf,
        line: u64,
        key: String,
        message: String,
    },

    /// A value breaks its rule (version syntax, empty title, ...).
    #[error("{}:{line}: '{key}': {message}", path.display())]
    InvalidValue {
        path: PathBuf,
        line: u64,
        key: String,
        message: String,
    },

    /// An id or software package name refused by [`crate::names`].
    #[error("{}:{line}: '{key}' = \"{value}\": {source}", path.display())]
    InvalidName {
        path: PathBuf,
        line: u64,
        key: String,
        value: String,
        source: NameError,
    },

    /// A path that is absolute, uses `..`, or resolves outside the source folder.
    #[error("{}:{line}: '{key}' = \"{value}\": {reason}", path.display())]
    PathOutsideSource {
        path: PathBuf,
        line: u64,
        key: String,
        value: String,
        reason: String,
    },

    /// A named folder or file that does not exist or has the wrong kind.
    #[error("{}:{line}: '{key}' = \"{value}\": no {expected} there", path.display())]
    NotFound {
        path: PathBuf,
        line: u64,
        key: String,
        value: String,
        expected: &'static str,
    },

    #[error("{}:{line}: {what} '{value}' is listed twice (first on line {first_line})", path.display())]
    Duplicate {
        path: PathBuf,
        line: u64,
        what: &'static str,
        value: String,
        first_line: u64,
    },

    #[error("{}:{line}: give 'description' or 'description-file', not both", path.display())]
    DescriptionTwice { path: PathBuf, line: u64 },

    #[error("{}: nothing to ship: add a [[software-package]] or an [[msi]]", path.display())]
    NoPayload { path: PathBuf },
}

/// A parsed and validated `hotfix.toml`; all paths are resolved against its folder.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Folder the spec was read from.
    pub root: PathBuf,
    pub id: String,
    pub version: u64,
    pub title: String,
    /// From `description` or the file `description-file` names (CRLF turned into LF).
    pub description: String,
    pub release: String,
    pub support_package: String,
    /// Sorted, no repeats.
    pub supersedes: Vec<String>,
    /// Sorted, no repeats.
    pub requires: Vec<String>,
    /// Sorted by name.
    pub software_packages: Vec<SoftwarePackageSpec>,
    /// Sorted by file name.
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

impl MsiSpec {
    /// The entry name in the package, `client/<file name>`.
    pub fn entry_name(&self) -> String {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("client/{name}")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSpec {
    id: Spanned<String>,
    version: Spanned<u64>,
    title: Spanned<String>,
    description: Option<Spanned<String>>,
    description_file: Option<Spanned<String>>,
    release: Spanned<String>,
    support_package: Spanned<String>,
    #[serde(default)]
    supersedes: Vec<Spanned<String>>,
    #[serde(default)]
    requires: Vec<Spanned<String>>,
    docs: Option<Spanned<String>>,
    #[serde(default)]
    software_package: Vec<Spanned<RawPackage>>,
    #[serde(default)]
    msi: Vec<Spanned<RawMsi>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPackage {
    name: Spanned<String>,
    version: Spanned<String>,
    dir: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMsi {
    file: Spanned<String>,
    replaces_version: Spanned<String>,
}

impl BuildSpec {
    /// Loads `hotfix.toml` from a file, or from a folder holding one.
    ///
    /// ```no_run
    /// let spec = hotfix_manifest::BuildSpec::load("packages/HF-7.0.3-0042".as_ref())?;
    /// assert_eq!(spec.id, "HF-7.0.3-0042");
    /// # Ok::<(), hotfix_manifest::SpecError>(())
    /// ```
    pub fn load(path: &Path) -> Result<BuildSpec, SpecError> {
        let file = if path.is_dir() {
            path.join(SPEC_FILE_NAME)
        } else {
            path.to_path_buf()
        };
        let text = read_bounded(&file, MAX_SPEC_BYTES)?;
        Self::parse(&text, &file)
    }

    /// Parses the bytes of a `hotfix.toml` as if they had been read from `file`.
    ///
    /// `file` names the spec in errors, and the paths the spec names are resolved
    /// against its folder and checked there, exactly as [`BuildSpec::load`] does,
    /// including the size limit [`MAX_SPEC_BYTES`]; only the reading is left to the
    /// caller (the fuzzer, or a tool that already holds the text).
    pub fn parse(bytes: &[u8], file: &Path) -> Result<BuildSpec, SpecError> {
        if bytes.len() as u64 > MAX_SPEC_BYTES {
            return Err(SpecError::TooLarge {
                path: file.to_path_buf(),
                size: bytes.len() as u64,
                max: MAX_SPEC_BYTES,
            });
        }
        let root = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            SpecError::Syntax {
                path: file.to_path_buf(),
                line: valid.iter().filter(|&&b| b == b'\n').count() as u64 + 1,
                message: "not valid UTF-8".into(),
            }
        })?;
        Loader {
            file: file.to_path_buf(),
            root,
            text,
        }
        .load()
    }
}

/// Reads a whole file, refusing one larger than `max` without reading it all.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, SpecError> {
    use std::io::Read;
    let io = |source| SpecError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    f.take(max + 1).read_to_end(&mut buf).map_err(io)?;
    if buf.len() as u64 > max {
        let size = std::fs::metadata(path).map_or(buf.len() as u64, |m| m.len());
        return Err(SpecError::TooLarge {
            path: path.to_path_buf(),
            size,
            max,
        });
    }
    Ok(buf)
}

struct Loader<'a> {
    file: PathBuf,
    root: PathBuf,
    text: &'a str,
}

impl Loader<'_> {
    fn line(&self, offset: usize) -> u64 {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1
    }

    fn line_of<T>(&self, s: &Spanned<T>) -> u64 {
        self.line(s.span().start)
    }

    fn invalid<T>(&self, at: &Spanned<T>, key: &str, message: String) -> SpecError {
        SpecError::InvalidValue {
            path: self.file.clone(),
            line: self.line_of(at),
            key: key.into(),
            message,
        }
    }

    fn load(&self) -> Result<BuildSpec, SpecError> {
        let raw: RawSpec = toml::from_str(self.text).map_err(|e| self.toml_error(&e))?;

        let id = self.hotfix_id(&raw.id, "id")?;
        let version = *raw.version.get_ref();
        if version == 0 {
            return Err(self.invalid(&raw.version, "version", "versions start at 1".into()));
        }
        let title = raw.title.get_ref().clone();
        rules::title(&title).map_err(|m| self.invalid(&raw.title, "title", m))?;

        let description = match (&raw.description, &raw.description_file) {
            (Some(_), Some(f)) => {
                return Err(SpecError::DescriptionTwice {
                    path: self.file.clone(),
                    line: self.line_of(f),
                });
            }
            (Some(d), None) => {
                let text = d.get_ref().replace("\r\n", "\n");
                rules::description(&text).map_err(|m| self.invalid(d, "description", m))?;
                text
            }
            (None, Some(f)) => self.description_file(f)?,
            (None, None) => String::new(),
        };

        let release = self.token(&raw.release, "release")?;
        let support_package = self.token(&raw.support_package, "support-package")?;

        let mut seen_refs: HashMap<String, u64> = HashMap::new();
        let supersedes = self.id_list(&raw.supersedes, "supersedes", &id, &mut seen_refs)?;
        let requires = self.id_list(&raw.requires, "requires", &id, &mut seen_refs)?;

        let docs = match &raw.docs {
            Some(d) => Some(self.inside(d, "docs", Kind::Dir)?),
            None => None,
        };

        let mut software_packages = Vec::with_capacity(raw.software_package.len());
        let mut seen_names: HashMap<String, u64> = HashMap::new();
        for p in &raw.software_package {
            let p = p.get_ref();
            let name = p.name.get_ref().clone();
            names::validate_software_package_name(&name).map_err(|source| {
                SpecError::InvalidName {
                    path: self.file.clone(),
                    line: self.line_of(&p.name),
                    key: "name".into(),
                    value: name.clone(),
                    source,
                }
            })?;
            self.unique(&mut seen_names, &p.name, "software package")?;
            let version = self.token(&p.version, "version")?;
            let dir = self.inside(&p.dir, "dir", Kind::Dir)?;
            software_packages.push(SoftwarePackageSpec { name, version, dir });
        }
        software_packages.sort_by(|a, b| a.name.cmp(&b.name));

        let mut msis = Vec::with_capacity(raw.msi.len());
        let mut seen_msis: HashMap<String, u64> = HashMap::new();
        for m in &raw.msi {
            let m = m.get_ref();
            let file = self.inside(&m.file, "file", Kind::File)?;
            let value = m.file.get_ref();
            let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let entry = format!("client/{name}");
            if !name.to_ascii_lowercase().ends_with(".msi") || name.len() <= 4 {
                return Err(self.invalid(
                    &m.file,
                    "file",
                    format!("'{value}' is not an .msi file"),
                ));
            }
            names::validate_entry_name(&entry).map_err(|source| SpecError::InvalidName {
                path: self.file.clone(),
                line: self.line_of(&m.file),
                key: "file".into(),
                value: value.clone(),
                source,
            })?;
            let named = Spanned::new(m.file.span(), name.to_string());
            self.unique(&mut seen_msis, &named, "MSI file name")?;
            let replaces_version = self.token(&m.replaces_version, "replaces-version")?;
            msis.push(MsiSpec {
                file,
                replaces_version,
            });
        }
        msis.sort_by_key(|m| m.entry_name());

        if software_packages.is_empty() && msis.is_empty() {
            return Err(SpecError::NoPayload {
                path: self.file.clone(),
            });
        }

        Ok(BuildSpec {
            root: self.root.clone(),
            id,
            version,
            title,
            description,
            release,
            support_package,
            supersedes,
            requires,
            software_packages,
            msis,
            docs,
        })
    }

    fn hotfix_id(&self, v: &Spanned<String>, key: &str) -> Result<String, SpecError> {
        names::validate_hotfix_id(v.get_ref()).map_err(|source| SpecError::InvalidName {
            path: self.file.clone(),
            line: self.line_of(v),
            key: key.into(),
            value: v.get_ref().clone(),
            source,
        })?;
        Ok(v.get_ref().clone())
    }

    fn token(&self, v: &Spanned<String>, key: &str) -> Result<String, SpecError> {
        rules::version_token(v.get_ref()).map_err(|m| self.invalid(v, key, m))?;
        Ok(v.get_ref().clone())
    }

    /// Refuses a second name equal to an earlier one under [`names::collision_key`].
    fn unique(
        &self,
        seen: &mut HashMap<String, u64>,
        v: &Spanned<String>,
        what: &'static str,
    ) -> Result<(), SpecError> {
        let line = self.line_of(v);
        if let Some(&first_line) = seen.get(&names::collision_key(v.get_ref())) {
            return Err(SpecError::Duplicate {
                path: self.file.clone(),
                line,
                what,
                value: v.get_ref().clone(),
                first_line,
            });
        }
        seen.insert(names::collision_key(v.get_ref()), line);
        Ok(())
    }

    fn id_list(
        &self,
        list: &[Spanned<String>],
        key: &str,
        own_id: &str,
        seen: &mut HashMap<String, u64>,
    ) -> Result<Vec<String>, SpecError> {
        let mut out = Vec::with_capacity(list.len());
        for v in list {
            let id = self.hotfix_id(v, key)?;
            if id.eq_ignore_ascii_case(own_id) {
                return Err(self.invalid(v, key, format!("a hotfix cannot name itself ('{id}')")));
            }
            self.unique(seen, v, "hotfix id")?;
            out.push(id);
        }
        out.sort();
        Ok(out)
    }

    fn description_file(&self, f: &Spanned<String>) -> Result<String, SpecError> {
        let path = self.inside(f, "description-file", Kind::File)?;
        let bytes = read_bounded(&path, crate::MAX_DESCRIPTION_BYTES as u64)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| self.invalid(f, "description-file", "the file is not UTF-8".into()))?;
        let text = text
            .strip_prefix('\u{feff}')
            .unwrap_or(&text)
            .replace("\r\n", "\n");
        rules::description(&text).map_err(|m| self.invalid(f, "description-file", m))?;
        Ok(text)
    }

    /// Resolves a relative path against the source folder, refusing anything that could
    /// leave it (absolute, drive or UNC prefixes, `..`, symbolic links pointing out).
    fn inside(&self, v: &Spanned<String>, key: &str, kind: Kind) -> Result<PathBuf, SpecError> {
        let value = v.get_ref();
        let outside = |reason: &str| SpecError::PathOutsideSource {
            path: self.file.clone(),
            line: self.line_of(v),
            key: key.into(),
            value: value.clone(),
            reason: reason.into(),
        };
        if value.is_empty() {
            return Err(outside("empty path"));
        }
        // Forward slashes always; backslashes and drive letters are refused on every
        // platform so a spec means the same thing everywhere.
        if value.contains('\\') || value.contains(':') {
            return Err(outside(
                "use '/' between folders, no backslashes, drive letters or ':'",
            ));
        }
        let rel = Path::new(value);
        for c in rel.components() {
            match c {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => return Err(outside("'..' is not allowed")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(outside("must be relative to the folder of hotfix.toml"));
                }
            }
        }
        let full = self.root.join(rel);
        let meta = std::fs::metadata(&full);
        let ok = match (&meta, kind) {
            (Ok(m), Kind::Dir) => m.is_dir(),
            (Ok(m), Kind::File) => m.is_file(),
            (Err(_), _) => false,
        };
        if !ok {
            return Err(SpecError::NotFound {
                path: self.file.clone(),
                line: self.line_of(v),
                key: key.into(),
                value: value.clone(),
                expected: kind.describe(),
            });
        }
        // A symbolic link inside the folder may still point out of it.
        let canon_root = self.root.canonicalize().map_err(|source| SpecError::Io {
            path: self.root.clone(),
            source,
        })?;
        let canon = full.canonicalize().map_err(|source| SpecError::Io {
            path: full.clone(),
            source,
        })?;
        if !canon.starts_with(&canon_root) {
            return Err(outside(
                "resolves outside the source folder (symbolic link?)",
            ));
        }
        Ok(full)
    }

    /// Turns a toml/serde error into a typed one naming the key, table and line.
    fn toml_error(&self, e: &toml::de::Error) -> SpecError {
        let start = e.span().map_or(0, |s| s.start);
        let line = self.line(start);
        let message = e.message().trim().to_string();
        let path = self.file.clone();
        if let Some(key) = quoted_after(&message, "unknown field ") {
            return SpecError::UnknownKey {
                path,
                line,
                table: self.table_for_key(start),
                key,
            };
        }
        if let Some(key) = quoted_after(&message, "missing field ") {
            return SpecError::MissingKey {
                path,
                line,
                table: self.table_at(start),
                key,
            };
        }
        if message.starts_with("duplicate key") {
            return SpecError::DuplicateKey {
                path,
                line,
                key: self.key_on_line(start).unwrap_or_default(),
            };
        }
        if (message.starts_with("invalid type")
            || message.starts_with("invalid value")
            || message.starts_with("invalid length"))
            && let Some(key) = self.key_on_line(start)
        {
            return SpecError::WrongType {
                path,
                line,
                key,
                message,
            };
        }
        SpecError::Syntax {
            path,
            line,
            message: message.lines().next().unwrap_or_default().to_string(),
        }
    }

    /// The text of the line holding `offset`.
    fn line_text(&self, offset: usize) -> &str {
        let offset = offset.min(self.text.len());
        let start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        &self.text[start..end]
    }

    /// The key of a `key = value` line (quotes removed).
    fn key_on_line(&self, offset: usize) -> Option<String> {
        let line = self.line_text(offset);
        let (key, _) = line.split_once('=')?;
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
    }

    /// The table header (`[x]` or `[[x]]`) governing `offset`, as written.
    fn table_at(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        self.text[..line_end]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| {
                // Drop a trailing comment.
                let end = l.rfind(']').map_or(l.len(), |i| i + 1);
                l[..end].to_string()
            })
            .unwrap_or_else(|| "the top-level table".into())
    }

    /// The table an unknown key at `offset` belongs to. A key that is itself a table
    /// header (`[foo]`) belongs to the top level.
    fn table_for_key(&self, offset: usize) -> String {
        if self.line_text(offset).trim_start().starts_with('[') {
            "the top-level table".into()
        } else {
            self.table_at(offset)
        }
    }
}

/// `unknown field `x`, expected ...` -> `x`.
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Dir,
    File,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Dir => "folder",
            Kind::File => "file",
        }
    }
}
