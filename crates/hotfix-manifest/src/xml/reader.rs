//! The reader's entry point: [`Manifest::from_xml`] and [`Manifest::validate`].
//!
//! Refuses oversized input before looking at it, then anything that is not UTF-8 without
//! BOM, then runs the lexical pass ([`super::lexer`]) and the schema pass
//! ([`super::schema`]) over the same text. It must never hand the schema pass a text the
//! lexical pass has not accepted: the limits on depth and counts are only enforced
//! there.

use super::error::{ManifestError, ManifestErrorKind};
use super::lexer::Lexer;
use super::position::{LineCursor, line_col};
use super::schema::SchemaReader;
use super::{MAX_DEPTH, MAX_ELEMENTS, MAX_FILES, MAX_MANIFEST_BYTES};
use crate::Manifest;

/// Bounds applied while reading; the public constants in production, smaller in tests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_bytes: u64,
    pub max_depth: usize,
    pub max_files: usize,
    pub max_elements: usize,
}

impl Limits {
    pub(crate) const DEFAULT: Limits = Limits {
        max_bytes: MAX_MANIFEST_BYTES,
        max_depth: MAX_DEPTH,
        max_files: MAX_FILES,
        max_elements: MAX_ELEMENTS,
    };
}

impl Manifest {
    /// Parses and validates a manifest.
    ///
    /// Strict and bounded: see the module documentation and `docs/FORMAT.md` for every
    /// rule. The input is not trusted; this never panics and refuses inputs larger than
    /// [`MAX_MANIFEST_BYTES`] before looking at them.
    pub fn from_xml(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        from_xml_with(bytes, Limits::DEFAULT)
    }

    /// Checks that this manifest obeys every rule of format v1 and reads back unchanged
    /// from [`Manifest::to_xml`]. Builders call this before signing, so nothing is ever
    /// signed that a reader would refuse. Line numbers in errors refer to `to_xml()`.
    pub fn validate(&self) -> Result<(), ManifestError> {
        let parsed = Manifest::from_xml(&self.to_xml())?;
        if parsed != *self {
            return Err(ManifestError::new(ManifestErrorKind::Unrepresentable {
                message: "reading the written XML gives a different manifest".into(),
            }));
        }
        Ok(())
    }
}

pub(crate) fn from_xml_with(bytes: &[u8], limits: Limits) -> Result<Manifest, ManifestError> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ManifestError::new(ManifestErrorKind::TooLarge {
            size,
            max: limits.max_bytes,
        }));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // The valid prefix is text; point just after it.
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = line_col(valid, valid.len() as u64);
            return Err(ManifestError::at(
                line,
                column,
                ManifestErrorKind::Encoding {
                    message: "not valid UTF-8".into(),
                },
            ));
        }
    };
    if text.starts_with('\u{feff}') {
        return Err(ManifestError::at(
            1,
            1,
            ManifestErrorKind::Encoding {
                message:
                    "byte order mark before the XML declaration (manifests are UTF-8 without BOM)"
                        .into(),
            },
        ));
    }
    Lexer {
        text,
        limits,
        lines: LineCursor::default(),
    }
    .scan()?;
    SchemaReader::new(text).read()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(n: usize) -> String {
        let mut s = String::from("<?xml version=\"1.0\"?>\n");
        for _ in 0..n {
            s.push_str("<a>");
        }
        for _ in 0..n {
            s.push_str("</a>");
        }
        s
    }

    #[test]
    fn limits_apply_before_the_schema() {
        let lim = Limits {
            max_bytes: 1 << 20,
            max_depth: 4,
            max_files: 2,
            max_elements: 100,
        };
        let err = from_xml_with(deep(5).as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                (err.position(), err.kind()),
                (Some((2, 13)), ManifestErrorKind::TooDeep { max: 4 })
            ),
            "{err:?}"
        );

        let files = "<?xml version=\"1.0\"?>\n<hotfix>\n<doc/>\n<doc/>\n<msi/>\n</hotfix>\n";
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                (err.position(), err.kind()),
                (Some((5, 1)), ManifestErrorKind::TooManyFiles { max: 2 })
            ),
            "{err:?}"
        );

        let lim = Limits {
            max_elements: 3,
            ..lim
        };
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                (err.position(), err.kind()),
                (Some((5, _)), ManifestErrorKind::TooManyElements { .. })
            ),
            "{err:?}"
        );

        let lim = Limits {
            max_bytes: 10,
            ..lim
        };
        let err = from_xml_with(files.as_bytes(), lim).expect_err("refused");
        assert!(
            matches!(
                (err.position(), err.kind()),
                (_, ManifestErrorKind::TooLarge { max: 10, .. })
            ),
            "{err:?}"
        );
    }
}
