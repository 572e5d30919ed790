//! The signed-text envelope shared by the trust policy and the release index: a UTF-8
//! body, then a marker line, then minisign signature blocks (4 lines each) over the
//! body's exact bytes. Bounded and strict: the body is never interpreted here, and
//! nothing here decides whether a signature counts (the caller's rules do).

use crate::policy::PolicyRule;
use crate::{KeyId, SignError, Signature};

/// A body and the signatures found after its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub body: String,
    pub signatures: Vec<Signature>,
}

/// The caps and names of one kind of signed text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    pub marker: &'static str,
    pub what: &'static str,
    pub max_bytes: usize,
    pub max_signatures: usize,
    pub malformed: PolicyRule,
}

impl Kind {
    pub fn malformed(&self, message: impl std::fmt::Display) -> SignError {
        SignError::Policy {
            rule: self.malformed,
            message: format!("{}: {message}", self.what),
        }
    }
}

/// Deserializes a TOML body; errors name the line.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    kind: Kind,
) -> Result<T, SignError> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                format!(" (line {line})")
            })
            .unwrap_or_default();
        kind.malformed(format!("{}{at}", e.message()))
    })
}

/// Reads a signed-text file: a regular file (a FIFO or device is refused before it is
/// opened, so reading never blocks) of at most `kind.max_bytes`, UTF-8.
pub(crate) fn read_file(path: &std::path::Path, kind: Kind) -> Result<String, SignError> {
    use std::io::Read;
    let io_err = |source| SignError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        return Err(kind.malformed("not a regular file").in_file(path));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io_err)?
        .take(kind.max_bytes as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    String::from_utf8(bytes).map_err(|e| {
        kind.malformed(format!("not UTF-8 text ({e})"))
            .in_file(path)
    })
}

impl Envelope {
    /// Splits `text` into body and signatures.
    pub fn parse(text: &str, kind: Kind) -> Result<Envelope, SignError> {
        let marker = kind.marker;
        if text.len() > kind.max_bytes {
            return Err(kind.malformed(format!(
                "{} bytes; the file is at most {} bytes",
                text.len(),
                kind.max_bytes
            )));
        }
        let (body, sig_text) = match text.find(&format!("\n{marker}\n")) {
            Some(at) => (&text[..=at], &text[at + marker.len() + 2..]),
            None if text.ends_with(&format!("\n{marker}")) => {
                return Err(kind.malformed("the signature marker is followed by nothing"));
            }
            None => (text, ""),
        };
        if body.contains(marker) {
            return Err(kind.malformed("the signature marker must stand alone on its line"));
        }
        let lines: Vec<&str> = sig_text.split_inclusive('\n').collect();
        if lines
            .iter()
            .any(|l| !l.ends_with('\n') || l.ends_with("\r\n"))
        {
            return Err(kind.malformed(
                "every signature line ends with a single line feed (\\n), the last one too",
            ));
        }
        if !lines.len().is_multiple_of(4) {
            return Err(kind.malformed(format!(
                "the signature section has {} lines; each signature is 4 lines",
                lines.len()
            )));
        }
        if lines.len() / 4 > kind.max_signatures {
            return Err(kind.malformed(format!(
                "{} signatures; at most {} are read",
                lines.len() / 4,
                kind.max_signatures
            )));
        }
        let mut signatures: Vec<Signature> = Vec::with_capacity(lines.len() / 4);
        for (i, block) in lines.chunks(4).enumerate() {
            // Exactly the bytes this tool and minisign write: nothing else can hide here.
            let sig = Signature::parse_exact(&block.concat())
                .map_err(|e| kind.malformed(format!("signature {}: {e}", i + 1)))?;
            if signatures.iter().any(|s| s.key_id() == sig.key_id()) {
                return Err(duplicate(sig.key_id()));
            }
            signatures.push(sig);
        }
        Ok(Envelope {
            body: body.to_owned(),
            signatures,
        })
    }

    /// The file text: body, then the marker and signature blocks (if any).
    pub fn to_text(&self, marker: &str) -> String {
        let mut out = self.body.clone();
        if !self.signatures.is_empty() {
            out.push_str(marker);
            out.push('\n');
            for sig in &self.signatures {
                out.push_str(&sig.to_file_text());
            }
        }
        out
    }

    /// Adds `sig`, replacing an earlier signature by the same key.
    pub fn add(&mut self, sig: Signature) {
        self.signatures.retain(|s| s.key_id() != sig.key_id());
        self.signatures.push(sig);
    }
}

fn duplicate(id: KeyId) -> SignError {
    SignError::Policy {
        rule: PolicyRule::DuplicateKeyId,
        message: format!("two signatures by key {id}"),
    }
}
