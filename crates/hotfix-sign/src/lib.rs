//! minisign-compatible ed25519 keys and signatures, trust sets and thresholds.
//!
//! Files read and written here are byte-compatible with
//! [minisign](https://jedisct1.github.io/minisign/): a key made by `minisign -G` signs
//! here, a key made here signs with `minisign -S`, and `minisign -V` verifies what
//! [`sign`] writes.
//!
//! - [`KeyId`]: 8 bytes, shown as 16 upper-case hex digits like minisign.
//! - [`PublicKey`]: parse/write minisign `.pub` files; [`PublicKey::verify`].
//! - [`SecretKey`]: parse/write minisign `.key` files (encrypted with scrypt, or not).
//! - [`generate_keypair`]: new key pair as minisign file texts;
//!   [`write_keypair_files`] writes them safely.
//! - [`Signature`]: parse/write `.minisig` files; [`sign`] with any [`Signer`] (a
//!   [`SecretKey`], or a key in a hardware token that makes plain Ed25519 signatures).
//! - [`TrustSet`]: trusted public keys from a file or folder.
//! - [`policy::TrustPolicy`]: the signed trust policy (root keys and threshold, signing
//!   keys with roles and validity, revocations, rotation by version chain).
//! - [`index::ReleaseIndex`]: the signed release index (current hotfixes, withdrawn
//!   ones, expiry) judged under a trust policy.
//!
//! Everything parsed here may come from an attacker: parsers are strict and bounded and
//! never panic. Secret key material is zeroized when dropped.
//!
//! ```
//! # fn main() -> Result<(), hotfix_sign::SignError> {
//! use hotfix_sign::{PublicKey, SecretKey, Signature, sign};
//! let secret = SecretKey::generate()?;
//! let public = PublicKey::parse(&secret.public_key().to_file_text("release key"))?;
//! let sig = sign(&secret, b"data", "hotfix-id:HF-1 version:1", "signature")?;
//! let sig = Signature::parse(&sig.to_file_text())?;
//! public.verify(&sig, b"data")?;
//! assert!(public.verify(&sig, b"other data").is_err());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod envelope;
mod error;
#[cfg(feature = "error-examples")]
pub mod error_examples;
mod files;
pub mod index;
mod kdf;
mod keys;
pub mod policy;
mod signature;
mod signer;
mod text;
mod trust;

pub use error::SignError;
pub use files::{KeyPairPaths, write_keypair_files, write_public_file};
pub use kdf::{DEFAULT_MEMLIMIT, DEFAULT_OPSLIMIT};
pub use keys::{MAX_PASSPHRASE, PublicKey, SecretKey, generate_keypair};
pub use signature::{Signature, sign};
pub use signer::Signer;
pub use text::{MAX_TRUSTED_COMMENT, MAX_UNTRUSTED_COMMENT};
pub use trust::TrustSet;

/// Checks that `comment` can be an untrusted comment (at most
/// [`MAX_UNTRUSTED_COMMENT`] bytes, no line break or control character but tab), so a
/// caller can refuse it before asking for a passphrase.
pub fn check_untrusted_comment(comment: &str) -> Result<(), SignError> {
    text::check_comment(comment, MAX_UNTRUSTED_COMMENT, "untrusted comment")
}

/// Checks that `comment` can be a trusted comment (at most [`MAX_TRUSTED_COMMENT`]
/// bytes, no line break or control character but tab).
pub fn check_trusted_comment(comment: &str) -> Result<(), SignError> {
    text::check_comment(comment, MAX_TRUSTED_COMMENT, "trusted comment")
}

/// minisign key id.
///
/// Shown as 16 upper-case hex digits, the little-endian u64 minisign prints; minisign
/// itself omits leading zeros in its comments and messages (`ABD2A03B24D9D4` for
/// `00ABD2A03B24D9D4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    /// 16 upper-case hex digits (minisign prints the id little-endian as a u64).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl std::str::FromStr for KeyId {
    type Err = SignError;

    /// The inverse of `Display`: exactly 16 hex digits (either case).
    fn from_str(s: &str) -> Result<KeyId, SignError> {
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SignError::malformed(
                "key id",
                format!("{s:?} is not 16 hexadecimal digits"),
            ));
        }
        u64::from_str_radix(s, 16)
            .map(|v| KeyId(v.to_le_bytes()))
            .map_err(|e| SignError::malformed("key id", e.to_string()))
    }
}

#[cfg(test)]
mod tests;
