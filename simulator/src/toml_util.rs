//! Reading TOML with positions: every error names the file, line, column and key.
//!
//! Scenario and runbook files are read as spanned tables (`toml::de::DeTable`) rather
//! than through serde so that an unknown or mistyped key is reported where it stands.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A problem in a scenario or runbook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlError {
    pub file: PathBuf,
    pub line: u32,
    pub column: u32,
    /// Dotted key path at fault (`model.nodes`, `step[3].action`); empty for syntax errors.
    pub key: String,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "key `{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for TomlError {}

impl TomlError {
    /// An error about a whole file (I/O), without a position.
    pub fn file(file: &Path, message: impl Into<String>) -> TomlError {
        TomlError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            key: String::new(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// A parsed TOML document and how to turn byte offsets into lines.
pub(crate) struct Doc<'a> {
    pub file: PathBuf,
    pub text: &'a str,
    line_starts: Vec<usize>,
}

pub(crate) type Value<'a> = Spanned<DeValue<'a>>;

impl<'a> Doc<'a> {
    pub fn parse(file: &Path, text: &'a str) -> Result<(Doc<'a>, DeTable<'a>), TomlError> {
        let doc = Doc {
            file: file.to_owned(),
            text,
            line_starts: std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        };
        match DeTable::parse(text) {
            Ok(t) => Ok((doc, t.into_inner())),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                Err(doc.error(span, "", e.message().trim().to_owned()))
            }
        }
    }

    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        (line as u32, col as u32 + 1)
    }

    pub fn error(&self, span: Range<usize>, key: &str, message: impl Into<String>) -> TomlError {
        let (line, column) = self.line_col(span.start);
        TomlError {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
            hint: None,
        }
    }

    /// `file:line` of a span, for step origins.
    pub fn origin(&self, span: Range<usize>) -> String {
        let (line, _) = self.line_col(span.start);
        format!("{}:{line}", self.file.display())
    }

    /// Entries of a table in file order.
    pub fn entries<'t>(
        &self,
        table: &'t DeTable<'a>,
    ) -> Vec<(&'t Spanned<toml::de::DeString<'a>>, &'t Value<'a>)> {
        let mut v: Vec<_> = table.iter().collect();
        v.sort_by_key(|(k, _)| k.span().start);
        v
    }

    /// Refuses keys not in `allowed`, naming the first one in file order.
    pub fn only_keys(
        &self,
        table: &DeTable<'a>,
        prefix: &str,
        allowed: &[&str],
    ) -> Result<(), TomlError> {
        for (k, _) in self.entries(table) {
            if !allowed.contains(&k.get_ref().as_ref()) {
                return Err(self
                    .error(k.span(), &join(prefix, k.get_ref()), "unknown key")
                    .with_hint(format!("allowed here: {}", allowed.join(", "))));
            }
        }
        Ok(())
    }

    pub fn str<'v>(&self, v: &'v Value<'a>, key: &str) -> Result<&'v str, TomlError> {
        v.get_ref().as_str().ok_or_else(|| {
            self.error(
                v.span(),
                key,
                format!("expected a string, found {}", v.get_ref().type_str()),
            )
        })
    }

    pub fn u64(&self, v: &Value<'a>, key: &str) -> Result<u64, TomlError> {
        let DeValue::Integer(i) = v.get_ref() else {
            return Err(self.error(
                v.span(),
                key,
                format!("expected an integer, found {}", v.get_ref().type_str()),
            ));
        };
        u64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
            self.error(
                v.span(),
                key,
                "expected a non-negative integer that fits in 64 bits",
            )
        })
    }

    pub fn u32(&self, v: &Value<'a>, key: &str) -> Result<u32, TomlError> {
        let n = self.u64(v, key)?;
        u32::try_from(n).map_err(|_| self.error(v.span(), key, format!("{n} is too large")))
    }

    pub fn bool(&self, v: &Value<'a>, key: &str) -> Result<bool, TomlError> {
        v.get_ref().as_bool().ok_or_else(|| {
            self.error(
                v.span(),
                key,
                format!("expected true or false, found {}", v.get_ref().type_str()),
            )
        })
    }

    pub fn table<'v>(&self, v: &'v Value<'a>, key: &str) -> Result<&'v DeTable<'a>, TomlError> {
        v.get_ref().as_table().ok_or_else(|| {
            self.error(
                v.span(),
                key,
                format!("expected a table, found {}", v.get_ref().type_str()),
            )
        })
    }

    pub fn array<'v>(&self, v: &'v Value<'a>, key: &str) -> Result<Vec<&'v Value<'a>>, TomlError> {
        v.get_ref()
            .as_array()
            .map(|a| a.iter().collect())
            .ok_or_else(|| {
                self.error(
                    v.span(),
                    key,
                    format!("expected an array, found {}", v.get_ref().type_str()),
                )
            })
    }
}

/// `prefix.key`, or `key` when there is no prefix.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}
