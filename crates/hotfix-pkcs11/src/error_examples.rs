//! One constructed value of every [`Pkcs11Error`] variant, for the CLI's test that every
//! error it can print names what is wrong and carries a hint.
//!
//! Only built with the `error-examples` feature (the `hotfix` crate's tests enable it).
//! The list is checked against an exhaustive `match` here: a new variant does not
//! compile until it has an arm, and the list fails its check until it has an example.

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};

use crate::Pkcs11Error;

/// A value and a piece of text its rendering must contain (what is wrong, or where).
pub type Example = (Pkcs11Error, &'static str);

fn index(e: &Pkcs11Error) -> usize {
    match e {
        Pkcs11Error::InvalidUri { .. } => 0,
        Pkcs11Error::PinInUri { .. } => 1,
        Pkcs11Error::ModuleLoad { .. } => 2,
        Pkcs11Error::NoToken { .. } => 3,
        Pkcs11Error::AmbiguousToken { .. } => 4,
        Pkcs11Error::WrongPin { .. } => 5,
        Pkcs11Error::PinLocked { .. } => 6,
        Pkcs11Error::NoKey { .. } => 7,
        Pkcs11Error::AmbiguousKey { .. } => 8,
        Pkcs11Error::NoPublicKey { .. } => 9,
        Pkcs11Error::NotEd25519 { .. } => 10,
        Pkcs11Error::KeyExists { .. } => 11,
        Pkcs11Error::Unsupported { .. } => 12,
        Pkcs11Error::Token { .. } => 13,
        Pkcs11Error::BadPublicKey { .. } => 14,
    }
}
const COUNT: usize = 15;

/// Every [`Pkcs11Error`] variant.
pub fn pkcs11_errors() -> Vec<Example> {
    let s = |t: &str| t.to_owned();
    let token = || s("release");
    let wanted = || s("object=hotfix");
    let all: Vec<Example> = vec![
        (
            Pkcs11Error::InvalidUri {
                uri: s("pkcs11:tok"),
                reason: s("no `=`"),
            },
            "pkcs11:tok",
        ),
        (
            Pkcs11Error::PinInUri {
                uri: s("pkcs11:pin-value=1"),
            },
            "pin-value",
        ),
        (
            Pkcs11Error::ModuleLoad {
                path: "/usr/lib/x.so".into(),
                reason: s("not found"),
            },
            "/usr/lib/x.so",
        ),
        (
            Pkcs11Error::NoToken {
                module: "/usr/lib/x.so".into(),
                wanted: s("token=release"),
                found: vec![s("other")],
            },
            "token=release",
        ),
        (
            Pkcs11Error::AmbiguousToken {
                wanted: s("token=release"),
                found: vec![s("a"), s("b")],
            },
            "token=release",
        ),
        (Pkcs11Error::WrongPin { token: token() }, "wrong PIN"),
        (Pkcs11Error::PinLocked { token: token() }, "locked"),
        (
            Pkcs11Error::NoKey {
                token: token(),
                wanted: wanted(),
            },
            "object=hotfix",
        ),
        (
            Pkcs11Error::AmbiguousKey {
                token: token(),
                wanted: wanted(),
                count: 2,
            },
            "object=hotfix",
        ),
        (
            Pkcs11Error::NoPublicKey {
                token: token(),
                wanted: wanted(),
            },
            "no matching public key",
        ),
        (
            Pkcs11Error::NotEd25519 {
                token: token(),
                wanted: wanted(),
                found: s("ECDSA P-256"),
            },
            "ECDSA P-256",
        ),
        (
            Pkcs11Error::KeyExists {
                token: token(),
                wanted: wanted(),
            },
            "already holds",
        ),
        (
            Pkcs11Error::Unsupported {
                token: token(),
                mechanism: "CKM_EDDSA",
            },
            "CKM_EDDSA",
        ),
        (
            Pkcs11Error::Token {
                op: "C_Sign",
                source: CkError::Pkcs11(RvError::DeviceRemoved, Function::Sign),
            },
            "C_Sign",
        ),
        (
            Pkcs11Error::BadPublicKey {
                token: token(),
                wanted: wanted(),
                source: hotfix_sign::SignError::WrongPassphrase,
            },
            "unusable",
        ),
    ];
    let seen: std::collections::BTreeSet<usize> = all.iter().map(|(e, _)| index(e)).collect();
    assert_eq!(
        seen,
        (0..COUNT).collect(),
        "Pkcs11Error: a variant has no example"
    );
    all
}
