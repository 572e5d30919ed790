//! minisign text parsers on arbitrary bytes: `Signature::parse`, `Signature::parse_exact`
//! (what packages require: it accepts a text only when it is exactly what we write
//! back), `PublicKey::parse`,
//! `SecretKey::parse` (no passphrase, so scrypt never runs: its cost parameters come
//! from the input, see docs/FUZZING.md), `SecretKey::is_encrypted`. Whatever parses
//! must write back to text that parses to the same value, and a parsed signature is
//! checked against a fixed key (it must simply fail, not panic).
#![no_main]

use hotfix_sign::{PublicKey, SecretKey, Signature};
use libfuzzer_sys::fuzz_target;

/// The fixed test key (fuzz/keys/fuzz.pub) that signed the seed packages.
const FUZZ_PUB: &str = include_str!("../keys/fuzz.pub");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sig) = Signature::parse(text) {
        let back = Signature::parse(&sig.to_file_text()).expect("written signature parses");
        assert_eq!(sig, back, "signature text round trip");
        let key = PublicKey::parse(FUZZ_PUB).expect("fuzz.pub parses");
        let _ = key.verify(&sig, data);
        match Signature::parse_exact(text) {
            Ok(exact) => {
                assert_eq!(exact, sig, "parse_exact and parse disagree");
                assert_eq!(sig.to_file_text(), text, "parse_exact accepted a non-canonical text");
            }
            Err(_) => assert_ne!(sig.to_file_text(), text, "parse_exact refused the canonical text"),
        }
    } else {
        assert!(Signature::parse_exact(text).is_err(), "parse_exact is stricter than parse");
    }
    if let Ok(key) = PublicKey::parse(text) {
        let back = PublicKey::parse(&key.to_file_text("round trip")).expect("written key parses");
        assert_eq!(key, back, "public key text round trip");
    }
    let _ = SecretKey::is_encrypted(text);
    if let Ok(secret) = SecretKey::parse(text, None) {
        let _ = secret.public_key();
    }
});
