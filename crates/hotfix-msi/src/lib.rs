//! Reads the identifying properties of an MSI package from its Property table:
//! ProductCode, UpgradeCode, ProductVersion and ProductName. A hotfix build copies them
//! into the manifest, so what the manifest claims about an MSI is what the MSI says.
//!
//! MSI files are the release engineer's own inputs, but a wrong or damaged file must
//! still give an error that names it, never a panic or an unbounded read: the file size
//! is capped, the OLE signature is checked before the `msi` crate sees the file, the
//! number of Property rows looked at and the length of each value are capped, and a panic
//! inside the `msi` crate on malformed input is caught and reported as a damaged file.
//! Before the `msi` crate parses a file, the lengths it would reserve memory by are
//! checked against the streams that hold them (`precheck.rs`).
//!
//! ```
//! use std::path::Path;
//!
//! let msi = Path::new(env!("CARGO_MANIFEST_DIR"))
//!     .join("../../packages/HF-7.0.3-0042/client/AgentDesktop.msi");
//! let properties = hotfix_msi::read_properties(&msi)?;
//! assert_eq!(properties.product_version, "7.0.3.5");
//! assert!(properties.product_code.starts_with('{'));
//!
//! let not_an_msi = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
//! assert!(hotfix_msi::read_properties(&not_an_msi).is_err());
//! # Ok::<(), hotfix_msi::MsiError>(())
//! ```
#![forbid(unsafe_code)]

mod precheck;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Largest MSI file accepted (client components are installers, not disk images).
pub const MAX_MSI_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Most rows of the Property table looked at.
pub const MAX_PROPERTY_ROWS: usize = 65_536;

/// Longest value accepted for one of the four properties, in bytes.
pub const MAX_PROPERTY_VALUE_BYTES: usize = 4096;

/// The OLE compound file signature every MSI starts with.
const CFB_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The properties that identify an MSI package, as stored in its Property table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsiProperties {
    /// `ProductCode`, a braced GUID such as `{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}`.
    pub product_code: String,
    /// `UpgradeCode`, a braced GUID shared by all versions of the product.
    pub upgrade_code: String,
    /// `ProductVersion`, e.g. `7.0.3.5`.
    pub product_version: String,
    /// `ProductName`, e.g. `Agent Desktop`.
    pub product_name: String,
}

/// Why the properties of an MSI file could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MsiError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: {size} bytes; an MSI may be at most {max}", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    /// Not an OLE compound file, or one that is not an MSI database, or damaged.
    #[error("{}: not a valid MSI file: {reason}", path.display())]
    NotMsi { path: PathBuf, reason: String },

    #[error("{}: the MSI has no Property table", path.display())]
    NoPropertyTable { path: PathBuf },

    #[error("{}: the MSI's Property table has no {property}", path.display())]
    MissingProperty {
        path: PathBuf,
        property: &'static str,
    },

    #[error("{}: the MSI's {property} is unusable: {reason}", path.display())]
    BadProperty {
        path: PathBuf,
        property: &'static str,
        reason: String,
    },
}

/// Reads ProductCode, UpgradeCode, ProductVersion and ProductName from the MSI at `path`.
///
/// ```no_run
/// let p = hotfix_msi::read_properties("client/AgentDesktop.msi".as_ref())?;
/// println!("{} {} {}", p.product_name, p.product_version, p.product_code);
/// # Ok::<(), hotfix_msi::MsiError>(())
/// ```
pub fn read_properties(path: &Path) -> Result<MsiProperties, MsiError> {
    let io = |source| MsiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(MsiError::NotMsi {
            path: path.to_path_buf(),
            reason: "not a regular file".into(),
        });
    }
    read_properties_from(&mut file, meta.len(), path)
}

/// [`read_properties`] from an open reader of `size` bytes; `path` is used in errors.
pub fn read_properties_from<R: Read + Seek>(
    reader: R,
    size: u64,
    path: &Path,
) -> Result<MsiProperties, MsiError> {
    let path_buf = || path.to_path_buf();
    let io = |source| MsiError::Io {
        path: path_buf(),
        source,
    };
    if size > MAX_MSI_BYTES {
        return Err(MsiError::TooLarge {
            path: path_buf(),
            size,
            max: MAX_MSI_BYTES,
        });
    }
    // A size ceiling the msi crate cannot read past, whatever the headers claim.
    let mut reader = Bounded::new(reader, size).map_err(io)?;
    let mut magic = [0u8; 8];
    let got = read_up_to(&mut reader, &mut magic).map_err(io)?;
    if got < magic.len() || magic != CFB_SIGNATURE {
        return Err(MsiError::NotMsi {
            path: path_buf(),
            reason: "not an OLE compound file (an MSI starts with D0 CF 11 E0 A1 B1 1A E1)".into(),
        });
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;

    // The msi crate reserves memory by lengths the file declares (up to 4 GiB per
    // summary-information or string-pool string, fuzz findings 1 and 2): check those
    // lengths first.
    precheck::check(&mut reader).map_err(|reason| MsiError::NotMsi {
        path: path_buf(),
        reason,
    })?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;

    // The msi crate validates most structure itself, but it is not written for hostile
    // input: a panic on a damaged file becomes an error naming the file.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_table(reader)));
    match result {
        Ok(Ok(found)) => found.into_properties(path),
        Ok(Err(ReadError::Io(e))) => Err(MsiError::NotMsi {
            path: path_buf(),
            reason: e.to_string(),
        }),
        Ok(Err(ReadError::NoPropertyTable)) => Err(MsiError::NoPropertyTable { path: path_buf() }),
        Ok(Err(ReadError::TooManyRows)) => Err(MsiError::NotMsi {
            path: path_buf(),
            reason: format!("the Property table has more than {MAX_PROPERTY_ROWS} rows"),
        }),
        Err(_) => Err(MsiError::NotMsi {
            path: path_buf(),
            reason: "the file is damaged (the MSI reader gave up)".into(),
        }),
    }
}

enum ReadError {
    Io(std::io::Error),
    NoPropertyTable,
    TooManyRows,
}

/// The four properties as found (`None` when absent), before checking.
#[derive(Default)]
struct Found {
    product_code: Option<msi::Value>,
    upgrade_code: Option<msi::Value>,
    product_version: Option<msi::Value>,
    product_name: Option<msi::Value>,
}

fn read_table<R: Read + Seek>(reader: R) -> Result<Found, ReadError> {
    let mut package = msi::Package::open(reader).map_err(ReadError::Io)?;
    let usable = package
        .get_table("Property")
        .is_some_and(|t| t.has_column("Property") && t.has_column("Value"));
    if !usable {
        return Err(ReadError::NoPropertyTable);
    }
    let rows = package
        .select_rows(msi::Select::table("Property"))
        .map_err(ReadError::Io)?;
    let mut found = Found::default();
    for (i, row) in rows.enumerate() {
        if i >= MAX_PROPERTY_ROWS {
            return Err(ReadError::TooManyRows);
        }
        let slot = match row["Property"].as_str() {
            Some("ProductCode") => &mut found.product_code,
            Some("UpgradeCode") => &mut found.upgrade_code,
            Some("ProductVersion") => &mut found.product_version,
            Some("ProductName") => &mut found.product_name,
            _ => continue,
        };
        *slot = Some(row["Value"].clone());
    }
    Ok(found)
}

impl Found {
    fn into_properties(self, path: &Path) -> Result<MsiProperties, MsiError> {
        Ok(MsiProperties {
            product_code: take(self.product_code, "ProductCode", path)?,
            upgrade_code: take(self.upgrade_code, "UpgradeCode", path)?,
            product_version: take(self.product_version, "ProductVersion", path)?,
            product_name: take(self.product_name, "ProductName", path)?,
        })
    }
}

fn take(
    value: Option<msi::Value>,
    property: &'static str,
    path: &Path,
) -> Result<String, MsiError> {
    let bad = |reason: &str| MsiError::BadProperty {
        path: path.to_path_buf(),
        property,
        reason: reason.into(),
    };
    match value {
        None | Some(msi::Value::Null) => Err(MsiError::MissingProperty {
            path: path.to_path_buf(),
            property,
        }),
        Some(msi::Value::Str(s)) if s.trim().is_empty() => Err(MsiError::MissingProperty {
            path: path.to_path_buf(),
            property,
        }),
        Some(msi::Value::Str(s)) if s.len() > MAX_PROPERTY_VALUE_BYTES => Err(bad(&format!(
            "longer than {MAX_PROPERTY_VALUE_BYTES} bytes"
        ))),
        Some(msi::Value::Str(s)) => Ok(s),
        Some(_) => Err(bad("not stored as a string")),
    }
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader that ends at `len` bytes and reports `len` as its size, whatever lies beyond.
struct Bounded<R> {
    inner: R,
    len: u64,
    pos: u64,
}

impl<R: Read + Seek> Bounded<R> {
    fn new(mut inner: R, len: u64) -> std::io::Result<Self> {
        inner.seek(SeekFrom::Start(0))?;
        Ok(Bounded { inner, len, pos: 0 })
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Bounded<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek out of range")
        })?;
        self.pos = self.inner.seek(SeekFrom::Start(target))?;
        Ok(self.pos)
    }
}
