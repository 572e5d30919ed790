//! What can make a minisign signature: anything that holds an Ed25519 key and signs a
//! message with it. A [`SecretKey`] in memory is one; a key in a PKCS#11 token (crate
//! `hotfix-pkcs11`) is another. Implementations must never hash or otherwise change the
//! message: minisign's prehash is computed by [`sign`](crate::sign) before it gets here.

use ed25519_dalek::Signer as _;

use crate::keys::{PublicKey, SecretKey};
use crate::{KeyId, SignError};

/// A holder of one Ed25519 key that signs on request.
pub trait Signer {
    /// The minisign key id the signatures carry.
    fn key_id(&self) -> KeyId;

    /// The public key (with the same key id), to verify what was signed.
    fn public_key(&self) -> PublicKey;

    /// A plain (pure) Ed25519 signature over `message`.
    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}

impl Signer for SecretKey {
    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(self.signing.sign(message).to_bytes())
    }
}
