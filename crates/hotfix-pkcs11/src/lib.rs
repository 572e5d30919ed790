//! minisign-compatible signing with Ed25519 keys held in a PKCS#11 token (a hardware
//! security module, a smart card, SoftHSM2).
//!
//! The token makes plain Ed25519 signatures (`CKM_EDDSA`); [`hotfix_sign::sign`] feeds
//! it minisign's BLAKE2b-512 prehash and then the global signature's message, so the
//! result is an ordinary minisign `ED` signature that `minisign -V` verifies.
//!
//! - [`Pkcs11Uri`]: the RFC 7512 URI naming module, token and key.
//! - [`Module::load`] → [`Module::token`] → [`Token::login`] → [`Session::find_key`] or
//!   [`Session::generate_key`] → a [`Pkcs11Key`], which implements
//!   [`hotfix_sign::Signer`].
//!
//! The minisign key id of a token key is the first 8 bytes of BLAKE2b-512 over its raw
//! 32-byte public key ([`key_id_for`]): deterministic, so any tool that sees the public
//! key derives the same id, and nothing has to be stored on the token for it.
//!
//! This crate never reads a PIN from anywhere itself (the caller decides where PINs come
//! from) and never asks a token to export a private key.
//!
//! Parsing a key's URI and deriving a key id need no token:
//!
//! ```
//! use hotfix_pkcs11::{Pkcs11Uri, is_pkcs11_uri, key_id_for};
//!
//! let text = "pkcs11:token=release;object=hotfix-release?module-path=/usr/lib/softhsm/libsofthsm2.so";
//! assert!(is_pkcs11_uri(text));
//! let uri = Pkcs11Uri::parse(text)?;
//! assert_eq!(uri.token.as_deref(), Some("release"));
//! assert_eq!(uri.object.as_deref(), Some("hotfix-release"));
//!
//! // The same public key always gives the same minisign key id.
//! assert_eq!(key_id_for(&[7; 32]), key_id_for(&[7; 32]));
//! assert_ne!(key_id_for(&[7; 32]), key_id_for(&[8; 32]));
//! # Ok::<(), hotfix_pkcs11::Pkcs11Error>(())
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "error-examples")]
pub mod error_examples;
mod uri;

use std::path::{Path, PathBuf};

use blake2::{Blake2b512, Digest};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hotfix_sign::{KeyId, PublicKey, SignError, Signer};

pub use uri::{Pkcs11Uri, is_pkcs11_uri};

/// DER of the Ed25519 curve OID 1.3.101.112 (RFC 8410), what PKCS#11 3.0 puts in
/// CKA_EC_PARAMS for an Ed25519 key.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2B, 0x65, 0x70];
/// DER PrintableString "edwards25519", the curve-name form PKCS#11 3.0 also allows.
const ED25519_NAME: &[u8] = b"\x13\x0cedwards25519";
/// DER of 1.3.6.1.4.1.11591.15.1, the older GnuPG OID some tools still write.
const ED25519_GNU_OID: &[u8] = &[
    0x06, 0x09, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01,
];
const ED448_OID: &[u8] = &[0x06, 0x03, 0x2B, 0x65, 0x71];
const ED448_NAME: &[u8] = b"\x13\x0aedwards448";

/// Errors from loading a module, finding a token or key, logging in and signing. Each
/// names the module, token or key involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The text is not a usable `pkcs11:` URI.
    #[error("invalid PKCS#11 URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: String },
    /// The URI carries the PIN itself.
    #[error("the PKCS#11 URI {uri:?} contains a pin-value; a PIN on the command line is refused")]
    PinInUri { uri: String },
    /// The module (shared library) could not be loaded or initialised.
    #[error("cannot load the PKCS#11 module {}: {reason}", path.display())]
    ModuleLoad { path: PathBuf, reason: String },
    /// No token matches the URI.
    #[error("no PKCS#11 token matches {wanted} in {} (tokens found: {})", module.display(), list(found))]
    NoToken {
        module: PathBuf,
        wanted: String,
        found: Vec<String>,
    },
    /// More than one token matches the URI.
    #[error("{wanted} matches more than one PKCS#11 token: {}", list(found))]
    AmbiguousToken { wanted: String, found: Vec<String> },
    /// The token refused the PIN.
    #[error("wrong PIN for PKCS#11 token {token:?}")]
    WrongPin { token: String },
    /// The token's user PIN is locked after too many wrong tries.
    #[error("the user PIN of PKCS#11 token {token:?} is locked")]
    PinLocked { token: String },
    /// No private key on the token matches the URI.
    #[error("no private key matching {wanted} on PKCS#11 token {token:?}")]
    NoKey { token: String, wanted: String },
    /// More than one private key matches the URI.
    #[error("{wanted} matches {count} private keys on PKCS#11 token {token:?}")]
    AmbiguousKey {
        token: String,
        wanted: String,
        count: usize,
    },
    /// The private key has no public key object beside it (same CKA_ID or label).
    #[error(
        "the private key {wanted} on PKCS#11 token {token:?} has no matching public key object"
    )]
    NoPublicKey { token: String, wanted: String },
    /// The key is not an Ed25519 key.
    #[error("the key {wanted} on PKCS#11 token {token:?} is {found}, not Ed25519")]
    NotEd25519 {
        token: String,
        wanted: String,
        found: String,
    },
    /// `keygen` was asked to make a key whose label or id is taken.
    #[error("PKCS#11 token {token:?} already holds an object matching {wanted}")]
    KeyExists { token: String, wanted: String },
    /// The token lacks a mechanism this tool needs.
    #[error("PKCS#11 token {token:?} does not support {mechanism}")]
    Unsupported {
        token: String,
        mechanism: &'static str,
    },
    /// Any other failure reported by the module.
    #[error("PKCS#11 {op} failed: {source}")]
    Token {
        op: &'static str,
        #[source]
        source: CkError,
    },
    /// The token's public key bytes are not a valid Ed25519 key.
    #[error("the public key of {wanted} on PKCS#11 token {token:?} is unusable: {source}")]
    BadPublicKey {
        token: String,
        wanted: String,
        #[source]
        source: SignError,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn token_err(op: &'static str) -> impl Fn(CkError) -> Pkcs11Error {
    move |source| Pkcs11Error::Token { op, source }
}

/// The minisign key id of a token key: the first 8 bytes of BLAKE2b-512 over the raw
/// 32-byte Ed25519 public key.
pub fn key_id_for(public_key: &[u8; 32]) -> KeyId {
    let digest = Blake2b512::digest(public_key);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    KeyId(id)
}

/// A loaded and initialised PKCS#11 module.
#[derive(Debug)]
pub struct Module {
    ctx: Pkcs11,
    path: PathBuf,
}

impl Module {
    /// Loads the module at `path` and initialises it.
    pub fn load(path: &Path) -> Result<Module, Pkcs11Error> {
        let fail = |reason: String| Pkcs11Error::ModuleLoad {
            path: path.to_path_buf(),
            reason,
        };
        // libloading's message for a missing file is the loader's; say it plainly.
        if let Err(e) = std::fs::metadata(path) {
            return Err(fail(e.to_string()));
        }
        let ctx = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
        ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .map_err(|e| fail(format!("C_Initialize: {e}")))?;
        Ok(Module {
            ctx,
            path: path.to_path_buf(),
        })
    }

    /// The module's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The one token the URI's token attributes (token, manufacturer, model, serial,
    /// slot-id) match; with none given, the only token there is.
    pub fn token(&self, uri: &Pkcs11Uri) -> Result<Token, Pkcs11Error> {
        let slots = self
            .ctx
            .get_slots_with_token()
            .map_err(token_err("C_GetSlotList"))?;
        let mut matching = Vec::new();
        let mut found = Vec::new();
        for slot in slots {
            let info = match self.ctx.get_token_info(slot) {
                Ok(info) => info,
                // A slot whose token went away between the two calls is not a candidate.
                Err(_) => continue,
            };
            if !info.token_initialized() {
                continue;
            }
            let label = info.label().trim_end().to_owned();
            let serial = info.serial_number().trim_end().to_owned();
            found.push(format!("{label:?} (serial {serial}, slot {})", slot.id()));
            let is = |want: &Option<String>, have: &str| {
                want.as_ref()
                    .is_none_or(|w| w.trim_end() == have.trim_end())
            };
            if is(&uri.token, &label)
                && is(&uri.serial, &serial)
                && is(&uri.manufacturer, info.manufacturer_id())
                && is(&uri.model, info.model())
                && uri.slot_id.is_none_or(|id| id == slot.id())
            {
                matching.push(Token {
                    ctx: self.ctx.clone(),
                    slot,
                    label,
                    login_required: info.login_required(),
                    pin_pad: info.protected_authentication_path(),
                });
            }
        }
        let wanted = token_wanted(uri);
        match matching.len() {
            0 => Err(Pkcs11Error::NoToken {
                module: self.path.clone(),
                wanted,
                found,
            }),
            1 => Ok(matching.remove(0)),
            _ => Err(Pkcs11Error::AmbiguousToken {
                wanted,
                found: matching.iter().map(|t| format!("{:?}", t.label)).collect(),
            }),
        }
    }
}

fn token_wanted(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &uri.token {
        parts.push(format!("token={t}"));
    }
    if let Some(t) = &uri.serial {
        parts.push(format!("serial={t}"));
    }
    if let Some(t) = &uri.manufacturer {
        parts.push(format!("manufacturer={t}"));
    }
    if let Some(t) = &uri.model {
        parts.push(format!("model={t}"));
    }
    if let Some(t) = &uri.slot_id {
        parts.push(format!("slot-id={t}"));
    }
    if parts.is_empty() {
        "any token".to_owned()
    } else {
        parts.join(";")
    }
}

fn describe_key_type(key_type: Option<KeyType>) -> String {
    match key_type {
        Some(KeyType::RSA) => "an RSA key".to_owned(),
        Some(KeyType::EC) => "an ECDSA key (a Weierstrass curve such as P-256)".to_owned(),
        Some(KeyType::EC_MONTGOMERY) => "an X25519/X448 key-agreement key".to_owned(),
        Some(t) => format!("a {t} key"),
        None => "a key of unknown type".to_owned(),
    }
}

fn key_wanted(uri: &Pkcs11Uri) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &uri.object {
        parts.push(format!("object={o}"));
    }
    if let Some(id) = &uri.id {
        let hex: String = id.iter().map(|b| format!("%{b:02x}")).collect();
        parts.push(format!("id={hex}"));
    }
    parts.join(";")
}

/// A token found in a slot, not yet logged in to.
#[derive(Debug)]
pub struct Token {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    login_required: bool,
    pin_pad: bool,
}

impl Token {
    /// The token label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// True when [`Token::login`] needs a PIN from the caller: the token wants a login
    /// and has no PIN pad of its own.
    pub fn needs_pin(&self) -> bool {
        self.login_required && !self.pin_pad
    }

    /// Opens a session (read-write when `write`, to make keys) and logs in as the user
    /// with `pin` (ignored when [`Token::needs_pin`] is false).
    pub fn login(&self, pin: Option<&str>, write: bool) -> Result<Session, Pkcs11Error> {
        let session = if write {
            self.ctx.open_rw_session(self.slot)
        } else {
            self.ctx.open_ro_session(self.slot)
        }
        .map_err(token_err("C_OpenSession"))?;
        if self.login_required {
            let pin = if self.pin_pad {
                None
            } else {
                pin.map(AuthPin::from)
            };
            match session.login(UserType::User, pin.as_ref()) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                    return Err(Pkcs11Error::WrongPin {
                        token: self.label.clone(),
                    });
                }
                Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                    return Err(Pkcs11Error::PinLocked {
                        token: self.label.clone(),
                    });
                }
                Err(e) => return Err(token_err("C_Login")(e)),
            }
        }
        Ok(Session {
            session,
            slot: self.slot,
            ctx: self.ctx.clone(),
            token: self.label.clone(),
        })
    }
}

/// A logged-in session on a token.
#[derive(Debug)]
pub struct Session {
    session: cryptoki::session::Session,
    slot: Slot,
    ctx: Pkcs11,
    token: String,
}

impl Session {
    fn need_mechanism(&self, mech: MechanismType, name: &'static str) -> Result<(), Pkcs11Error> {
        let list = self
            .ctx
            .get_mechanism_list(self.slot)
            .map_err(token_err("C_GetMechanismList"))?;
        if list.contains(&mech) {
            Ok(())
        } else {
            Err(Pkcs11Error::Unsupported {
                token: self.token.clone(),
                mechanism: name,
            })
        }
    }

    fn selector(&self, uri: &Pkcs11Uri) -> Result<Vec<Attribute>, Pkcs11Error> {
        let mut template = Vec::new();
        if let Some(o) = &uri.object {
            template.push(Attribute::Label(o.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        if template.is_empty() {
            return Err(Pkcs11Error::InvalidUri {
                uri: uri.key_text(),
                reason: "it names no key: add object=LABEL or id=%xx..".to_owned(),
            });
        }
        Ok(template)
    }

    /// The Ed25519 private key the URI's `object=` and/or `id=` name, with its public key.
    pub fn find_key(self, uri: &Pkcs11Uri) -> Result<Pkcs11Key, Pkcs11Error> {
        let wanted = key_wanted(uri);
        let mut template = self.selector(uri)?;
        template.push(Attribute::Class(ObjectClass::PRIVATE_KEY));
        let found = self
            .session
            .find_objects(&template)
            .map_err(token_err("C_FindObjects"))?;
        let private = match found.as_slice() {
            [] => {
                return Err(Pkcs11Error::NoKey {
                    token: self.token.clone(),
                    wanted,
                });
            }
            [one] => *one,
            many => {
                return Err(Pkcs11Error::AmbiguousKey {
                    token: self.token.clone(),
                    wanted,
                    count: many.len(),
                });
            }
        };
        let attrs = self
            .session
            .get_attributes(
                private,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(token_err("C_GetAttributeValue"))?;
        let mut key_type = None;
        let mut id = Vec::new();
        let mut label = Vec::new();
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                _ => {}
            }
        }
        if key_type != Some(KeyType::EC_EDWARDS) {
            return Err(Pkcs11Error::NotEd25519 {
                token: self.token.clone(),
                found: describe_key_type(key_type),
                wanted,
            });
        }
        // The public half is a separate object; PKCS#11 pairs them by CKA_ID (what
        // pkcs11-tool and this crate's keygen set), else by label.
        let mut pub_template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        if !id.is_empty() {
            pub_template.push(Attribute::Id(id));
        } else {
            pub_template.push(Attribute::Label(label));
        }
        let publics = self
            .session
            .find_objects(&pub_template)
            .map_err(token_err("C_FindObjects"))?;
        let [public] = publics.as_slice() else {
            return Err(Pkcs11Error::NoPublicKey {
                token: self.token.clone(),
                wanted,
            });
        };
        let public = self.read_public(*public, &wanted)?;
        self.need_mechanism(MechanismType::EDDSA, "CKM_EDDSA (Ed25519 signatures)")?;
        Ok(Pkcs11Key {
            session: self.session,
            private,
            public,
            token: self.token,
            wanted,
        })
    }

    fn read_public(&self, handle: ObjectHandle, wanted: &str) -> Result<PublicKey, Pkcs11Error> {
        let attrs = self
            .session
            .get_attributes(handle, &[AttributeType::EcParams, AttributeType::EcPoint])
            .map_err(token_err("C_GetAttributeValue"))?;
        let mut params = Vec::new();
        let mut point = Vec::new();
        for a in attrs {
            match a {
                Attribute::EcParams(v) => params = v,
                Attribute::EcPoint(v) => point = v,
                _ => {}
            }
        }
        let not_ed25519 = |found: &str| Pkcs11Error::NotEd25519 {
            token: self.token.clone(),
            wanted: wanted.to_owned(),
            found: found.to_owned(),
        };
        match params.as_slice() {
            p if p == ED25519_OID || p == ED25519_NAME || p == ED25519_GNU_OID => {}
            p if p == ED448_OID || p == ED448_NAME => return Err(not_ed25519("an Ed448 key")),
            _ => return Err(not_ed25519("an Edwards key on an unknown curve")),
        }
        // CKA_EC_POINT is a DER OCTET STRING around the 32 bytes; some modules give the
        // bare bytes.
        let raw: &[u8] = match point.as_slice() {
            [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
            bare if bare.len() == 32 => bare,
            _ => return Err(not_ed25519("a key whose public point is not 32 bytes")),
        };
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(raw);
        PublicKey::from_ed25519(key_id_for(&bytes), &bytes).map_err(|source| {
            Pkcs11Error::BadPublicKey {
                token: self.token.clone(),
                wanted: wanted.to_owned(),
                source,
            }
        })
    }

    /// Generates an Ed25519 key pair on the token (`CKM_EC_EDWARDS_KEY_PAIR_GEN`),
    /// labelled with the URI's `object=` and with its `id=` as CKA_ID (when the URI has
    /// no `id=`: the minisign key id's 8 bytes in the order the id is printed). The private key is sensitive and not
    /// extractable. Refused when an object with that label or id exists already.
    pub fn generate_key(self, uri: &Pkcs11Uri) -> Result<Pkcs11Key, Pkcs11Error> {
        let wanted = key_wanted(uri);
        let Some(label) = uri.object.clone() else {
            return Err(Pkcs11Error::InvalidUri {
                uri: uri.key_text(),
                reason: "a new key needs a label: add object=LABEL".to_owned(),
            });
        };
        for attr in self.selector(uri)? {
            let existing = self
                .session
                .find_objects(&[attr])
                .map_err(token_err("C_FindObjects"))?;
            if !existing.is_empty() {
                return Err(Pkcs11Error::KeyExists {
                    token: self.token.clone(),
                    wanted,
                });
            }
        }
        self.need_mechanism(
            MechanismType::ECC_EDWARDS_KEY_PAIR_GEN,
            "CKM_EC_EDWARDS_KEY_PAIR_GEN (Ed25519 key generation)",
        )?;
        self.need_mechanism(MechanismType::EDDSA, "CKM_EDDSA (Ed25519 signatures)")?;
        let mut public_template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(ED25519_OID.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        let mut private_template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        if let Some(id) = &uri.id {
            public_template.push(Attribute::Id(id.clone()));
            private_template.push(Attribute::Id(id.clone()));
        }
        let (public, private) = self
            .session
            .generate_key_pair(
                &Mechanism::EccEdwardsKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(token_err("C_GenerateKeyPair"))?;
        let key = match self.read_public(public, &wanted) {
            Ok(key) => key,
            Err(e) => {
                let _ = self.session.destroy_object(private);
                let _ = self.session.destroy_object(public);
                return Err(e);
            }
        };
        if uri.id.is_none() {
            // So the key can also be named `id=` the way pkcs11-tool lists it. Without
            // the id the pair is still found by its label, so a token that refuses the
            // change keeps a usable key.
            // In the order the key id is printed (`6E25...` is CKA_ID 6e25...), so the
            // id pkcs11-tool lists is the one hotfix prints.
            let mut id = key.key_id().0;
            id.reverse();
            let id = Attribute::Id(id.to_vec());
            let _ = self
                .session
                .update_attributes(private, std::slice::from_ref(&id));
            let _ = self.session.update_attributes(public, &[id]);
        }
        Ok(Pkcs11Key {
            session: self.session,
            private,
            public: key,
            token: self.token,
            wanted,
        })
    }
}

/// An Ed25519 private key on a token, ready to sign in a logged-in session.
#[derive(Debug)]
pub struct Pkcs11Key {
    session: cryptoki::session::Session,
    private: ObjectHandle,
    public: PublicKey,
    token: String,
    wanted: String,
}

impl Pkcs11Key {
    /// The token label.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// How the key was named (`object=...;id=...`).
    pub fn name(&self) -> &str {
        &self.wanted
    }
}

impl Signer for Pkcs11Key {
    fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let key_id = self.public.key_id();
        let device =
            |e: Box<dyn std::error::Error + Send + Sync>| SignError::Device { key_id, source: e };
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let sig = self
            .session
            .sign(&mechanism, self.private, message)
            .map_err(|e| device(Box::new(e)))?;
        let sig: [u8; 64] = sig.as_slice().try_into().map_err(|_| {
            device(
                format!(
                    "the token returned {} bytes, not a 64-byte signature",
                    sig.len()
                )
                .into(),
            )
        })?;
        // A token that signs with another key than its public key object says, or
        // returns garbage, must not yield a package that fails only at the operator.
        self.public
            .verify_ed25519(message, &sig)
            .map_err(|e| device(Box::new(e)))?;
        Ok(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_id_is_the_start_of_blake2b_512_of_the_public_key() {
        // Vectors from Python's hashlib.blake2b(...).hexdigest()[:16].
        assert_eq!(
            key_id_for(&[0u8; 32]).0,
            [0x9a, 0xb7, 0xa7, 0x3a, 0x97, 0xa1, 0xa3, 0x03]
        );
        let mut counting = [0u8; 32];
        for (i, b) in counting.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(
            key_id_for(&counting).0,
            [0x5c, 0x52, 0x92, 0x0a, 0x72, 0x63, 0xe3, 0x9d]
        );
    }

    #[test]
    fn a_module_that_is_not_a_file_is_named() {
        let err = Module::load(Path::new("/nonexistent/libpkcs11.so")).expect_err("missing");
        assert!(
            matches!(&err, Pkcs11Error::ModuleLoad { path, .. } if path == Path::new("/nonexistent/libpkcs11.so")),
            "{err:?}"
        );
    }
}
