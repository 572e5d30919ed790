//! Trusted public keys, loaded from one `.pub` file or a folder of them.
//!
//! A trust set never holds two different keys under one key id: that would let whoever
//! controls one of the files decide which key a signature is checked against.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{KeyId, PublicKey, SignError, Signature};

#[derive(Debug, Clone)]
struct Trusted {
    key: PublicKey,
    source: PathBuf,
}

/// Trusted public keys by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustSet {
    keys: BTreeMap<KeyId, Trusted>,
    sources: Vec<PathBuf>,
}

impl TrustSet {
    /// Loads one `.pub` file, or every `*.pub` file in a folder (not its subfolders, in
    /// name order). A folder without any is an error, and so are two different keys with
    /// one key id; the same key in two files is kept once.
    pub fn load(path: &Path) -> Result<TrustSet, SignError> {
        let io_err = |source| SignError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        let mut set = TrustSet::default();
        if !meta.is_dir() && !meta.is_file() {
            // Reading a FIFO or a device would block or never end.
            return Err(io_err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file or a folder (a FIFO, socket or device)",
            )));
        }
        if !meta.is_dir() {
            set.insert(PublicKey::from_file(path)?, path)?;
            return Ok(set);
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let file = entry.path();
            let is_pub = file
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("pub"));
            // metadata() follows symlinks: a link to a key file is a key file.
            if is_pub && std::fs::metadata(&file).is_ok_and(|m| m.is_file()) {
                files.push(file);
            }
        }
        if files.is_empty() {
            return Err(SignError::NoKeysInFolder {
                path: path.to_path_buf(),
            });
        }
        files.sort();
        for file in files {
            let key = PublicKey::from_file(&file)?;
            set.insert(key, &file)?;
        }
        Ok(set)
    }

    /// Adds `key`, read from `source`. Returns false when the same key was already there;
    /// a different key with the same id is a [`SignError::DuplicateKey`] error.
    pub fn insert(&mut self, key: PublicKey, source: &Path) -> Result<bool, SignError> {
        self.sources.push(source.to_path_buf());
        if let Some(existing) = self.keys.get(&key.key_id()) {
            if existing.key == key {
                return Ok(false);
            }
            return Err(SignError::DuplicateKey {
                key_id: key.key_id(),
                first: existing.source.clone(),
                second: source.to_path_buf(),
            });
        }
        self.keys.insert(
            key.key_id(),
            Trusted {
                key,
                source: source.to_path_buf(),
            },
        );
        Ok(true)
    }

    /// The trusted key with this id.
    pub fn get(&self, id: KeyId) -> Option<&PublicKey> {
        self.keys.get(&id).map(|t| &t.key)
    }

    /// The file the key with this id was read from.
    pub fn source_of(&self, id: KeyId) -> Option<&Path> {
        self.keys.get(&id).map(|t| t.source.as_path())
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the keys came from, for messages: every file read, in order.
    pub fn sources(&self) -> &[PathBuf] {
        &self.sources
    }

    /// The keys in key id order.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values().map(|t| &t.key)
    }

    /// Verifies `sig` over `data` with the trusted key it names; returns that key.
    /// [`SignError::UnknownKey`] when no trusted key has the signature's key id.
    pub fn verify(&self, sig: &Signature, data: &[u8]) -> Result<&PublicKey, SignError> {
        let key = self.get(sig.key_id()).ok_or(SignError::UnknownKey {
            key_id: sig.key_id(),
        })?;
        key.verify(sig, data)?;
        Ok(key)
    }
}
