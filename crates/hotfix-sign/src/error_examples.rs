//! One constructed value of every [`SignError`] variant (and a policy refusal for every
//! [`PolicyRule`]), for the CLI's test that every error it can print names what is wrong
//! and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! The list is checked against an exhaustive `match` here: a new variant does not
//! compile until it has an arm, and the list fails its check until it has an example.

use std::path::PathBuf;

use crate::policy::PolicyRule;
use crate::{KeyId, SignError};

/// A value and a piece of text its rendering must contain (what is wrong, or where).
pub type Example = (SignError, String);

fn index(e: &SignError) -> usize {
    match e {
        SignError::Io { .. } => 0,
        SignError::Write { .. } => 1,
        SignError::AlreadyExists { .. } => 2,
        SignError::FileTooLarge { .. } => 3,
        SignError::Malformed { .. } => 4,
        SignError::UnsupportedAlgorithm { .. } => 5,
        SignError::UnsupportedKdfParams { .. } => 6,
        SignError::PassphraseRequired => 7,
        SignError::WrongPassphrase => 8,
        SignError::InvalidPassphrase { .. } => 9,
        SignError::InvalidComment { .. } => 10,
        SignError::KeyIdMismatch { .. } => 11,
        SignError::BadSignature { .. } => 12,
        SignError::BadGlobalSignature { .. } => 13,
        SignError::UnknownKey { .. } => 14,
        SignError::NoKeysInFolder { .. } => 15,
        SignError::DuplicateKey { .. } => 16,
        SignError::Random { .. } => 17,
        SignError::Device { .. } => 18,
        SignError::Policy { .. } => 19,
        SignError::InFile { .. } => 20,
    }
}
const COUNT: usize = 21;

/// Every [`SignError`] variant; [`SignError::Policy`] once per [`PolicyRule`].
pub fn sign_errors() -> Vec<Example> {
    let p = |s: &str| PathBuf::from(s);
    let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
    let key = KeyId(0x1234_5678_9ABC_DEF0_u64.to_le_bytes());
    let other = KeyId(0x0FED_CBA9_8765_4321_u64.to_le_bytes());
    let s = |t: &str| t.to_owned();
    let mut all: Vec<Example> = vec![
        (
            SignError::Io {
                path: p("keys/a.pub"),
                source: io(),
            },
            s("keys/a.pub"),
        ),
        (
            SignError::Write {
                path: p("keys/a.key"),
                source: io(),
            },
            s("keys/a.key"),
        ),
        (
            SignError::AlreadyExists {
                path: p("keys/a.key"),
            },
            s("keys/a.key"),
        ),
        (
            SignError::FileTooLarge {
                path: p("keys/a.pub"),
                what: "public key",
                limit: 4096,
            },
            s("keys/a.pub"),
        ),
        (
            SignError::Malformed {
                what: "public key",
                reason: s("bad base64"),
            },
            s("bad base64"),
        ),
        (
            SignError::UnsupportedAlgorithm {
                what: "signature algorithm",
                found: s("XX"),
                supported: "Ed",
            },
            s("XX"),
        ),
        (
            SignError::UnsupportedKdfParams {
                opslimit: 1,
                memlimit: 2,
                reason: "too low",
            },
            s("too low"),
        ),
        (SignError::PassphraseRequired, s("passphrase")),
        (SignError::WrongPassphrase, s("passphrase")),
        (SignError::InvalidPassphrase { reason: "empty" }, s("empty")),
        (
            SignError::InvalidComment {
                what: "trusted comment",
                reason: s("line break"),
            },
            s("line break"),
        ),
        (
            SignError::KeyIdMismatch {
                signature_key_id: key,
                public_key_id: other,
            },
            key.to_string(),
        ),
        (SignError::BadSignature { key_id: key }, key.to_string()),
        (
            SignError::BadGlobalSignature { key_id: key },
            key.to_string(),
        ),
        (SignError::UnknownKey { key_id: key }, key.to_string()),
        (
            SignError::NoKeysInFolder {
                path: p("keys/trusted"),
            },
            s("keys/trusted"),
        ),
        (
            SignError::DuplicateKey {
                key_id: key,
                first: p("a.pub"),
                second: p("b.pub"),
            },
            s("b.pub"),
        ),
        (
            SignError::Random {
                reason: s("getrandom failed"),
            },
            s("getrandom failed"),
        ),
        (
            SignError::Device {
                key_id: key,
                source: "token removed".into(),
            },
            s("token removed"),
        ),
        (
            SignError::InFile {
                path: p("policy/v2.toml"),
                source: Box::new(SignError::WrongPassphrase),
            },
            s("policy/v2.toml"),
        ),
    ];
    for rule in PolicyRule::ALL {
        all.push((
            SignError::Policy {
                rule,
                message: format!("refused by {}", rule.id()),
            },
            rule.id().to_owned(),
        ));
    }
    let seen: std::collections::BTreeSet<usize> = all.iter().map(|(e, _)| index(e)).collect();
    assert_eq!(
        seen,
        (0..COUNT).collect(),
        "SignError: a variant has no example"
    );
    all
}
