//! minisign-compatible ed25519 keys and signatures, trust sets and thresholds.
//!
//! API CONTRACT (other crates code against these names; bodies are filled in by the
//! signing work):
//! - [`KeyId`]: 8 bytes, shown as 16 upper-case hex digits like minisign.
//! - [`PublicKey`]: parse/write minisign `.pub` files.
//! - [`SecretKey`]: parse minisign `.key` files (encrypted with scrypt, or not).
//! - [`generate_keypair`]: new key pair as minisign file texts.
//! - [`Signature`]: parse/write `.minisig` files; [`sign`] and [`PublicKey::verify`].
//! - [`TrustSet`]: trusted public keys from a file or folder.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// Errors from keys, signatures and trust sets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    #[error("{0}")]
    Todo(String),
}

/// minisign key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    /// 16 upper-case hex digits (minisign prints the id little-endian as a u64).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// A public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    _private: (),
}

impl PublicKey {
    pub fn key_id(&self) -> KeyId {
        unimplemented!()
    }
    /// Parses a minisign public key file text (untrusted comment line + base64 line) or a
    /// bare base64 line.
    pub fn parse(_text: &str) -> Result<PublicKey, SignError> {
        unimplemented!()
    }
    pub fn from_file(_path: &Path) -> Result<PublicKey, SignError> {
        unimplemented!()
    }
    /// The minisign `.pub` file text.
    pub fn to_file_text(&self, _untrusted_comment: &str) -> String {
        unimplemented!()
    }
    /// Checks the signature over `data` and the global signature over the trusted comment.
    pub fn verify(&self, _sig: &Signature, _data: &[u8]) -> Result<(), SignError> {
        unimplemented!()
    }
}

/// A decrypted secret key; the key bytes are zeroized on drop.
pub struct SecretKey {
    _private: (),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn key_id(&self) -> KeyId {
        unimplemented!()
    }
    pub fn public_key(&self) -> PublicKey {
        unimplemented!()
    }
    /// True when the key file text is passphrase-protected (so the caller must ask).
    pub fn is_encrypted(_text: &str) -> Result<bool, SignError> {
        unimplemented!()
    }
    /// Parses a minisign secret key file text, decrypting with `passphrase` if encrypted.
    pub fn parse(_text: &str, _passphrase: Option<&[u8]>) -> Result<SecretKey, SignError> {
        unimplemented!()
    }
}

/// A new key pair as file texts: (secret `.key`, public `.pub`).
pub fn generate_keypair(
    _untrusted_comment: &str,
    _passphrase: Option<&[u8]>,
) -> Result<(String, String), SignError> {
    unimplemented!()
}

/// A minisign signature (prehashed `ED` algorithm).
#[derive(Debug, Clone)]
pub struct Signature {
    _private: (),
}

impl Signature {
    pub fn key_id(&self) -> KeyId {
        unimplemented!()
    }
    pub fn trusted_comment(&self) -> &str {
        unimplemented!()
    }
    pub fn parse(_text: &str) -> Result<Signature, SignError> {
        unimplemented!()
    }
    /// The `.minisig` file text.
    pub fn to_file_text(&self) -> String {
        unimplemented!()
    }
}

/// Signs `data` (BLAKE2b-512 prehash, as minisign does by default).
pub fn sign(
    _key: &SecretKey,
    _data: &[u8],
    _trusted_comment: &str,
    _untrusted_comment: &str,
) -> Result<Signature, SignError> {
    unimplemented!()
}

/// Trusted public keys by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustSet {
    _private: (),
}

impl TrustSet {
    /// Loads one `.pub` file, or every `*.pub` file in a folder.
    pub fn load(_path: &Path) -> Result<TrustSet, SignError> {
        unimplemented!()
    }
    pub fn get(&self, _id: KeyId) -> Option<&PublicKey> {
        unimplemented!()
    }
    pub fn len(&self) -> usize {
        unimplemented!()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Where the keys came from, for messages.
    pub fn sources(&self) -> &[PathBuf] {
        unimplemented!()
    }
}
