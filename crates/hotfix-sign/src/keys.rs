//! minisign public and secret key files, and new key pairs.
//!
//! Secret key material lives only in [`SecretKey`] (an `ed25519_dalek::SigningKey`,
//! zeroized on drop) and in `Zeroizing` buffers while a file is decoded or encoded; it
//! must never be copied into a plain `Vec` or `String`.

use std::path::Path;

use blake2::{Blake2b256, Digest};
use ed25519_dalek::{SigningKey, VerifyingKey};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::kdf::{self, DEFAULT_MEMLIMIT, DEFAULT_OPSLIMIT, STREAM_LEN};
use crate::text::{self, MAX_UNTRUSTED_COMMENT, UNTRUSTED_PREFIX};
use crate::{KeyId, SignError};

pub(crate) const SIG_ALG: [u8; 2] = *b"Ed";
const KDF_SCRYPT: [u8; 2] = *b"Sc";
const KDF_NONE: [u8; 2] = [0, 0];
const CHK_BLAKE2B: [u8; 2] = *b"B2";

const PUBLIC_KEY_BYTES: usize = 2 + 8 + 32;
const SECRET_KEY_BYTES: usize = 2 + 2 + 2 + 32 + 8 + 8 + STREAM_LEN;
/// Offset of the encrypted part (key id, key pair, checksum) in a secret key.
const KEYNUM_OFFSET: usize = 2 + 2 + 2 + 32 + 8 + 8;

/// Longest passphrase minisign accepts (bytes).
pub const MAX_PASSPHRASE: usize = 1024;

const PUBLIC_WHAT: &str = "public key";
const SECRET_WHAT: &str = "secret key";

/// A public key: a key id and an ed25519 verifying key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) key_id: KeyId,
    pub(crate) key: VerifyingKey,
}

impl PublicKey {
    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Parses a minisign public key file text (untrusted comment line + base64 line) or a
    /// bare base64 line (as `minisign -P` takes).
    pub fn parse(text: &str) -> Result<PublicKey, SignError> {
        let text = text::strip_bom(text);
        let first = text.split('\n').next().unwrap_or_default();
        let line = if first.starts_with(UNTRUSTED_PREFIX) {
            let lines = text::lines(text, 2, PUBLIC_WHAT)?;
            text::comment_line(
                lines[0],
                UNTRUSTED_PREFIX,
                MAX_UNTRUSTED_COMMENT,
                PUBLIC_WHAT,
                "untrusted comment",
            )?;
            lines[1]
        } else {
            text::lines(text, 1, PUBLIC_WHAT)?[0]
        };
        let mut raw = [0u8; PUBLIC_KEY_BYTES];
        text::decode_exact(line, &mut raw, PUBLIC_WHAT, "key line")?;
        let alg = [raw[0], raw[1]];
        if alg != SIG_ALG {
            return Err(SignError::UnsupportedAlgorithm {
                what: "public key algorithm",
                found: text::show_alg(alg),
                supported: "Ed",
            });
        }
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[2..10]);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[10..42]);
        Ok(PublicKey {
            key_id: KeyId(id),
            key: verifying_key(&pk)?,
        })
    }

    /// A public key from its key id and raw 32-byte Ed25519 key, as a hardware token
    /// returns it. Refuses bytes that are not a valid, non-weak Ed25519 point.
    pub fn from_ed25519(key_id: KeyId, bytes: &[u8; 32]) -> Result<PublicKey, SignError> {
        Ok(PublicKey {
            key_id,
            key: verifying_key(bytes)?,
        })
    }

    /// Reads and parses a minisign `.pub` file.
    pub fn from_file(path: &Path) -> Result<PublicKey, SignError> {
        let text = text::read_text_file(path, PUBLIC_WHAT)?;
        PublicKey::parse(&text).map_err(|e| e.in_file(path))
    }

    /// The base64 key line, as `minisign -P` takes it.
    pub fn to_base64(&self) -> String {
        let mut raw = [0u8; PUBLIC_KEY_BYTES];
        raw[..2].copy_from_slice(&SIG_ALG);
        raw[2..10].copy_from_slice(&self.key_id.0);
        raw[10..].copy_from_slice(self.key.as_bytes());
        text::encode(&raw)
    }

    /// The minisign `.pub` file text. Line breaks and control characters in the comment
    /// are replaced by spaces and it is cut to [`MAX_UNTRUSTED_COMMENT`] bytes, so the
    /// file always parses.
    pub fn to_file_text(&self, untrusted_comment: &str) -> String {
        format!(
            "{UNTRUSTED_PREFIX}{}\n{}\n",
            sanitize_comment(untrusted_comment),
            self.to_base64()
        )
    }

    /// The raw 32-byte ed25519 public key.
    pub fn ed25519_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

fn verifying_key(bytes: &[u8; 32]) -> Result<VerifyingKey, SignError> {
    let key = VerifyingKey::from_bytes(bytes)
        .map_err(|_| SignError::malformed(PUBLIC_WHAT, "the key is not a valid ed25519 point"))?;
    if key.is_weak() {
        return Err(SignError::malformed(
            PUBLIC_WHAT,
            "the key is a weak (small-order) ed25519 point",
        ));
    }
    Ok(key)
}

fn sanitize_comment(comment: &str) -> String {
    let mut out = String::with_capacity(comment.len().min(MAX_UNTRUSTED_COMMENT));
    for c in comment.chars() {
        let c = if c.is_control() && c != '\t' { ' ' } else { c };
        if out.len() + c.len_utf8() > MAX_UNTRUSTED_COMMENT {
            break;
        }
        out.push(c);
    }
    out
}

/// A decrypted secret key; the key bytes are zeroized on drop.
pub struct SecretKey {
    pub(crate) key_id: KeyId,
    pub(crate) signing: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// The secret key file fields, decoded but not yet decrypted.
struct SecretKeyFile {
    raw: Zeroizing<[u8; SECRET_KEY_BYTES]>,
}

impl SecretKeyFile {
    fn parse(text: &str) -> Result<SecretKeyFile, SignError> {
        let lines = text::lines(text, 2, SECRET_WHAT)?;
        text::comment_line(
            lines[0],
            UNTRUSTED_PREFIX,
            MAX_UNTRUSTED_COMMENT,
            SECRET_WHAT,
            "untrusted comment",
        )?;
        let mut raw = Zeroizing::new([0u8; SECRET_KEY_BYTES]);
        text::decode_exact(lines[1], &mut raw, SECRET_WHAT, "key line")?;
        let file = SecretKeyFile { raw };
        let sig_alg = file.field2(0);
        if sig_alg != SIG_ALG {
            return Err(SignError::UnsupportedAlgorithm {
                what: "secret key algorithm",
                found: text::show_alg(sig_alg),
                supported: "Ed",
            });
        }
        let kdf_alg = file.field2(2);
        if kdf_alg != KDF_SCRYPT && kdf_alg != KDF_NONE {
            return Err(SignError::UnsupportedAlgorithm {
                what: "secret key encryption",
                found: text::show_alg(kdf_alg),
                supported: "Sc (scrypt) or none",
            });
        }
        let chk_alg = file.field2(4);
        if chk_alg != CHK_BLAKE2B {
            return Err(SignError::UnsupportedAlgorithm {
                what: "secret key checksum",
                found: text::show_alg(chk_alg),
                supported: "B2",
            });
        }
        Ok(file)
    }

    fn field2(&self, at: usize) -> [u8; 2] {
        [self.raw[at], self.raw[at + 1]]
    }

    fn u64_at(&self, at: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.raw[at..at + 8]);
        u64::from_le_bytes(b)
    }

    fn is_encrypted(&self) -> bool {
        self.field2(2) == KDF_SCRYPT
    }

    fn decrypt(&self, passphrase: Option<&[u8]>) -> Result<SecretKey, SignError> {
        let mut keynum = Zeroizing::new([0u8; STREAM_LEN]);
        keynum.copy_from_slice(&self.raw[KEYNUM_OFFSET..]);
        if self.is_encrypted() {
            let passphrase = passphrase.ok_or(SignError::PassphraseRequired)?;
            let mut salt = [0u8; 32];
            salt.copy_from_slice(&self.raw[6..38]);
            let stream = kdf::derive_stream(passphrase, &salt, self.u64_at(38), self.u64_at(46))?;
            for (byte, s) in keynum.iter_mut().zip(stream.iter()) {
                *byte ^= s;
            }
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&keynum[..8]);
        let mut keypair = Zeroizing::new([0u8; 64]);
        keypair.copy_from_slice(&keynum[8..72]);
        let stored = &keynum[72..];
        let computed = checksum(KeyId(key_id), &keypair);
        let matches = bool::from(computed.ct_eq(stored));
        if self.is_encrypted() && !matches {
            return Err(SignError::WrongPassphrase);
        }
        // minisign writes an all-zero checksum for unencrypted keys (`minisign -G -W`)
        // and does not check it; a wrong non-zero one means a damaged file.
        if !self.is_encrypted() && !matches && stored.iter().any(|&b| b != 0) {
            return Err(SignError::malformed(
                SECRET_WHAT,
                "the checksum does not match the key: the file is damaged",
            ));
        }
        let signing = SigningKey::from_keypair_bytes(&keypair).map_err(|_| {
            SignError::malformed(
                SECRET_WHAT,
                "the ed25519 public half does not belong to the secret half",
            )
        })?;
        Ok(SecretKey {
            key_id: KeyId(key_id),
            signing,
        })
    }
}

/// BLAKE2b-256(sig_alg || key id || key pair), minisign's secret key checksum.
fn checksum(key_id: KeyId, keypair: &[u8; 64]) -> Zeroizing<[u8; 32]> {
    let mut h = Blake2b256::new();
    h.update(SIG_ALG);
    h.update(key_id.0);
    h.update(keypair);
    Zeroizing::new(h.finalize().into())
}

fn random_bytes(buf: &mut [u8]) -> Result<(), SignError> {
    getrandom::fill(buf).map_err(|e| SignError::Random {
        reason: e.to_string(),
    })
}

impl SecretKey {
    /// A new random key with a random key id.
    pub fn generate() -> Result<SecretKey, SignError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        random_bytes(&mut seed[..])?;
        let mut id = [0u8; 8];
        random_bytes(&mut id)?;
        Ok(SecretKey {
            key_id: KeyId(id),
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.signing.verifying_key(),
        }
    }

    /// True when the key file text is passphrase-protected (so the caller must ask).
    pub fn is_encrypted(text: &str) -> Result<bool, SignError> {
        Ok(SecretKeyFile::parse(text)?.is_encrypted())
    }

    /// [`SecretKey::is_encrypted`] for a file.
    pub fn file_is_encrypted(path: &Path) -> Result<bool, SignError> {
        let text = text::read_text_file(path, SECRET_WHAT)?;
        SecretKey::is_encrypted(&text).map_err(|e| e.in_file(path))
    }

    /// Parses a minisign secret key file text, decrypting with `passphrase` if encrypted
    /// (a passphrase given for an unencrypted key is ignored).
    pub fn parse(text: &str, passphrase: Option<&[u8]>) -> Result<SecretKey, SignError> {
        SecretKeyFile::parse(text)?.decrypt(passphrase)
    }

    /// Reads and parses a minisign `.key` file; see [`SecretKey::parse`].
    pub fn from_file(path: &Path, passphrase: Option<&[u8]>) -> Result<SecretKey, SignError> {
        let text = text::read_text_file(path, SECRET_WHAT)?;
        SecretKey::parse(&text, passphrase).map_err(|e| e.in_file(path))
    }

    /// The minisign `.key` file text, encrypted with `passphrase` (scrypt with minisign's
    /// default cost: about 1 GiB of memory and a few seconds) or unencrypted like
    /// `minisign -G -W` writes it when `passphrase` is `None`.
    pub fn to_file_text(
        &self,
        untrusted_comment: &str,
        passphrase: Option<&[u8]>,
    ) -> Result<Zeroizing<String>, SignError> {
        self.to_file_text_with_kdf_limits(
            untrusted_comment,
            passphrase,
            DEFAULT_OPSLIMIT,
            DEFAULT_MEMLIMIT,
        )
    }

    /// [`SecretKey::to_file_text`] with other libsodium scrypt limits. For tests only:
    /// cheap limits make a weak key file.
    #[doc(hidden)]
    pub fn to_file_text_with_kdf_limits(
        &self,
        untrusted_comment: &str,
        passphrase: Option<&[u8]>,
        opslimit: u64,
        memlimit: u64,
    ) -> Result<Zeroizing<String>, SignError> {
        text::check_comment(
            untrusted_comment,
            MAX_UNTRUSTED_COMMENT,
            "untrusted comment",
        )?;
        let mut raw = Zeroizing::new([0u8; SECRET_KEY_BYTES]);
        raw[..2].copy_from_slice(&SIG_ALG);
        raw[4..6].copy_from_slice(&CHK_BLAKE2B);
        let keypair = Zeroizing::new(self.signing.to_keypair_bytes());
        {
            let keynum = &mut raw[KEYNUM_OFFSET..];
            keynum[..8].copy_from_slice(&self.key_id.0);
            keynum[8..72].copy_from_slice(&keypair[..]);
            keynum[72..].copy_from_slice(&checksum(self.key_id, &keypair)[..]);
        }
        match passphrase {
            None => raw[2..4].copy_from_slice(&KDF_NONE),
            Some(passphrase) => {
                if passphrase.is_empty() {
                    return Err(SignError::InvalidPassphrase {
                        reason: "it is empty (write an unencrypted key instead)",
                    });
                }
                if passphrase.len() > MAX_PASSPHRASE {
                    return Err(SignError::InvalidPassphrase {
                        reason: "it is longer than 1024 bytes, which minisign cannot read",
                    });
                }
                let mut salt = [0u8; 32];
                random_bytes(&mut salt)?;
                raw[2..4].copy_from_slice(&KDF_SCRYPT);
                raw[6..38].copy_from_slice(&salt);
                raw[38..46].copy_from_slice(&opslimit.to_le_bytes());
                raw[46..54].copy_from_slice(&memlimit.to_le_bytes());
                let stream = kdf::derive_stream(passphrase, &salt, opslimit, memlimit)?;
                for (byte, s) in raw[KEYNUM_OFFSET..].iter_mut().zip(stream.iter()) {
                    *byte ^= s;
                }
            }
        }
        let line = Zeroizing::new(text::encode(&raw[..]));
        let mut out = Zeroizing::new(String::with_capacity(
            UNTRUSTED_PREFIX.len() + untrusted_comment.len() + line.len() + 2,
        ));
        out.push_str(UNTRUSTED_PREFIX);
        out.push_str(untrusted_comment);
        out.push('\n');
        out.push_str(&line);
        out.push('\n');
        Ok(out)
    }
}

/// A new key pair as file texts: (secret `.key`, public `.pub`), both with
/// `untrusted_comment`. The secret key is encrypted when `passphrase` is given (see
/// [`SecretKey::to_file_text`]). The caller should zeroize the secret text after use;
/// [`SecretKey::generate`] with [`SecretKey::to_file_text`] does that for you.
pub fn generate_keypair(
    untrusted_comment: &str,
    passphrase: Option<&[u8]>,
) -> Result<(String, String), SignError> {
    let key = SecretKey::generate()?;
    let secret = key.to_file_text(untrusted_comment, passphrase)?;
    let public = key.public_key().to_file_text(untrusted_comment);
    Ok((secret.to_string(), public))
}
