//! minisign `.minisig` files: parsing, writing, signing and verifying.
//!
//! A signature is only ever reported good when both the ed25519 signature over the data
//! (or its BLAKE2b-512 prehash) and the global signature over the trusted comment check
//! out with the key whose id the signature names.

use std::borrow::Cow;

use blake2::{Blake2b512, Digest};

use crate::keys::{PublicKey, SIG_ALG};
use crate::signer::Signer;
use crate::text::{
    self, MAX_TRUSTED_COMMENT, MAX_UNTRUSTED_COMMENT, TRUSTED_PREFIX, UNTRUSTED_PREFIX,
};
use crate::{KeyId, SignError};

const SIG_ALG_PREHASHED: [u8; 2] = *b"ED";
const SIGNATURE_BYTES: usize = 2 + 8 + 64;
const WHAT: &str = "signature";

/// A minisign signature: prehashed `ED` (what [`sign`] writes) or legacy `Ed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    prehashed: bool,
    key_id: KeyId,
    signature: [u8; 64],
    untrusted_comment: String,
    trusted_comment: String,
    global_signature: [u8; 64],
}

impl Signature {
    /// The id of the key that made the signature (as the signature claims).
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The trusted comment (covered by the global signature).
    pub fn trusted_comment(&self) -> &str {
        &self.trusted_comment
    }

    /// The untrusted comment (covered by nothing: never rely on it).
    pub fn untrusted_comment(&self) -> &str {
        &self.untrusted_comment
    }

    /// True for the BLAKE2b-512 prehashed algorithm `ED`, false for legacy `Ed`.
    pub fn is_prehashed(&self) -> bool {
        self.prehashed
    }

    /// Parses a `.minisig` file text: untrusted comment line, signature line, trusted
    /// comment line, global signature line.
    pub fn parse(text: &str) -> Result<Signature, SignError> {
        let lines = text::lines(text, 4, WHAT)?;
        let untrusted = text::comment_line(
            lines[0],
            UNTRUSTED_PREFIX,
            MAX_UNTRUSTED_COMMENT,
            WHAT,
            "untrusted comment",
        )?;
        let trusted = text::comment_line(
            lines[2],
            TRUSTED_PREFIX,
            MAX_TRUSTED_COMMENT,
            WHAT,
            "trusted comment",
        )?;
        let mut raw = [0u8; SIGNATURE_BYTES];
        text::decode_exact(lines[1], &mut raw, WHAT, "signature line")?;
        let mut global_signature = [0u8; 64];
        text::decode_exact(
            lines[3],
            &mut global_signature,
            WHAT,
            "global signature line",
        )?;
        let alg = [raw[0], raw[1]];
        let prehashed = if alg == SIG_ALG_PREHASHED {
            true
        } else if alg == SIG_ALG {
            false
        } else {
            return Err(SignError::UnsupportedAlgorithm {
                what: "signature algorithm",
                found: text::show_alg(alg),
                supported: "ED (prehashed) or Ed (legacy)",
            });
        };
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&raw[2..10]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&raw[10..]);
        Ok(Signature {
            prehashed,
            key_id: KeyId(key_id),
            signature,
            untrusted_comment: untrusted.to_owned(),
            trusted_comment: trusted.to_owned(),
            global_signature,
        })
    }

    /// Parses a `.minisig` text that must be byte for byte the form `minisign -S` and
    /// [`Signature::to_file_text`] write: four lines, each ending in `\n` (no CR), no
    /// byte order mark, nothing after the fourth line, canonical base64. [`parse`]
    /// (which accepts what a person's editor may have done to a key file) reads more;
    /// this is for signatures inside packages, whose every byte must be fixed.
    ///
    /// [`parse`]: Signature::parse
    pub fn parse_exact(text: &str) -> Result<Signature, SignError> {
        let sig = Signature::parse(text)?;
        let canonical = sig.to_file_text();
        if canonical == text {
            return Ok(sig);
        }
        let reason = if text.starts_with('\u{feff}') {
            "it starts with a byte order mark".to_owned()
        } else if text.contains('\r') {
            "its lines end in CR LF, not LF".to_owned()
        } else if !text.ends_with('\n') {
            "its last line does not end with a line feed".to_owned()
        } else if text.len() > canonical.len() && text.starts_with(&canonical) {
            format!(
                "{} bytes follow the fourth line",
                text.len() - canonical.len()
            )
        } else {
            let at = text
                .bytes()
                .zip(canonical.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(text.len().min(canonical.len()));
            format!("it differs from the form minisign writes at byte {at}")
        };
        Err(SignError::malformed(
            WHAT,
            format!("not in the exact form minisign writes: {reason}"),
        ))
    }

    /// The `.minisig` file text.
    pub fn to_file_text(&self) -> String {
        let mut raw = [0u8; SIGNATURE_BYTES];
        raw[..2].copy_from_slice(if self.prehashed {
            &SIG_ALG_PREHASHED
        } else {
            &SIG_ALG
        });
        raw[2..10].copy_from_slice(&self.key_id.0);
        raw[10..].copy_from_slice(&self.signature);
        format!(
            "{UNTRUSTED_PREFIX}{}\n{}\n{TRUSTED_PREFIX}{}\n{}\n",
            self.untrusted_comment,
            text::encode(&raw),
            self.trusted_comment,
            text::encode(&self.global_signature)
        )
    }

    /// What the global signature covers: the signature, then the trusted comment.
    fn global_message(signature: &[u8; 64], trusted_comment: &str) -> Vec<u8> {
        let mut msg = Vec::with_capacity(64 + trusted_comment.len());
        msg.extend_from_slice(signature);
        msg.extend_from_slice(trusted_comment.as_bytes());
        msg
    }
}

fn prehash(data: &[u8]) -> [u8; 64] {
    Blake2b512::digest(data).into()
}

/// Signs `data` (BLAKE2b-512 prehash, as minisign does by default) with any
/// [`Signer`]: a [`SecretKey`](crate::SecretKey) in memory or a key held in a device.
///
/// ```
/// # fn main() -> Result<(), hotfix_sign::SignError> {
/// use hotfix_sign::{SecretKey, sign};
/// let key = SecretKey::generate()?;
/// let sig = sign(&key, b"manifest bytes", "hotfix-id:HF-1 version:1", "signature")?;
/// key.public_key().verify(&sig, b"manifest bytes")?;
/// # Ok(()) }
/// ```
pub fn sign<S: Signer + ?Sized>(
    key: &S,
    data: &[u8],
    trusted_comment: &str,
    untrusted_comment: &str,
) -> Result<Signature, SignError> {
    text::check_comment(trusted_comment, MAX_TRUSTED_COMMENT, "trusted comment")?;
    text::check_comment(
        untrusted_comment,
        MAX_UNTRUSTED_COMMENT,
        "untrusted comment",
    )?;
    // Both are plain Ed25519 signatures, which is why a token that only knows CKM_EDDSA
    // can make a minisign `ED` signature: the prehash is computed here, not by the signer.
    let signature = key.sign_ed25519(&prehash(data))?;
    let global_signature =
        key.sign_ed25519(&Signature::global_message(&signature, trusted_comment))?;
    Ok(Signature {
        prehashed: true,
        key_id: key.key_id(),
        signature,
        untrusted_comment: untrusted_comment.to_owned(),
        trusted_comment: trusted_comment.to_owned(),
        global_signature,
    })
}

impl PublicKey {
    /// Checks one plain Ed25519 signature over `message` (strict verification), as a
    /// [`Signer`] makes it; for checking what a device returned.
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), SignError> {
        self.key
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .map_err(|_| SignError::BadSignature {
                key_id: self.key_id,
            })
    }

    /// Checks the signature over `data` and the global signature over the trusted comment.
    /// The signature's key id must be this key's id.
    pub fn verify(&self, sig: &Signature, data: &[u8]) -> Result<(), SignError> {
        if sig.key_id != self.key_id {
            return Err(SignError::KeyIdMismatch {
                signature_key_id: sig.key_id,
                public_key_id: self.key_id,
            });
        }
        let message: Cow<'_, [u8]> = if sig.prehashed {
            Cow::Owned(prehash(data).to_vec())
        } else {
            Cow::Borrowed(data)
        };
        let key_id = self.key_id;
        self.key
            .verify_strict(
                &message,
                &ed25519_dalek::Signature::from_bytes(&sig.signature),
            )
            .map_err(|_| SignError::BadSignature { key_id })?;
        self.key
            .verify_strict(
                &Signature::global_message(&sig.signature, &sig.trusted_comment),
                &ed25519_dalek::Signature::from_bytes(&sig.global_signature),
            )
            .map_err(|_| SignError::BadGlobalSignature { key_id })
    }
}
