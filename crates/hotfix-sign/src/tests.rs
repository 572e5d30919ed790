//! Unit tests across keys, signatures and trust sets. Encrypted keys use cheap scrypt
//! limits except where a test is about minisign's real defaults.

use std::path::Path;

use proptest::prelude::*;

use super::*;

/// libsodium limits giving scrypt N = 2^10, r = 8, p = 1: about 1 MiB, instant.
const CHEAP_OPS: u64 = 32_768;
const CHEAP_MEM: u64 = 16 * 1024 * 1024;

fn cheap_secret_text(key: &SecretKey, passphrase: Option<&[u8]>) -> String {
    key.to_file_text_with_kdf_limits("test key", passphrase, CHEAP_OPS, CHEAP_MEM)
        .expect("encode secret key")
        .to_string()
}

fn signed(data: &[u8], trusted: &str) -> (SecretKey, Signature) {
    let key = SecretKey::generate().expect("generate");
    let sig = sign(&key, data, trusted, "signature from test key").expect("sign");
    (key, sig)
}

fn expect_malformed(err: SignError, needle: &str) {
    match err.root() {
        SignError::Malformed { reason, .. } => {
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            )
        }
        other => panic!("expected Malformed containing {needle:?}, got {other:?}"),
    }
}

/// Replaces line `index` (0-based) of a file text.
fn with_line(text: &str, index: usize, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines[index] = line;
    lines.join("\n") + "\n"
}

// ---- key ids -------------------------------------------------------------------------

#[test]
fn key_id_prints_as_minisign_does_and_parses_back() {
    let id = KeyId([0x67, 0xd4, 0xd9, 0x24, 0x3b, 0xa0, 0xd2, 0xab]);
    assert_eq!(id.to_string(), "ABD2A03B24D9D467");
    assert_eq!("ABD2A03B24D9D467".parse::<KeyId>().expect("parse"), id);
    assert_eq!("abd2a03b24d9d467".parse::<KeyId>().expect("parse"), id);
    assert!("ABD2A03B24D9D46".parse::<KeyId>().is_err());
    assert!("+BD2A03B24D9D467".parse::<KeyId>().is_err());
}

// ---- round trips -----------------------------------------------------------------------

#[test]
fn unencrypted_key_round_trips_and_signs_verifiably() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, None);
    assert!(!SecretKey::is_encrypted(&text).expect("parse"));
    let parsed = SecretKey::parse(&text, None).expect("parse");
    assert_eq!(parsed.key_id(), key.key_id());
    assert_eq!(parsed.public_key(), key.public_key());

    let public = PublicKey::parse(&key.public_key().to_file_text("pub")).expect("parse pub");
    let sig = sign(&parsed, b"payload", "trusted", "untrusted").expect("sign");
    let sig = Signature::parse(&sig.to_file_text()).expect("parse sig");
    assert!(sig.is_prehashed());
    assert_eq!(sig.key_id(), key.key_id());
    assert_eq!(sig.trusted_comment(), "trusted");
    assert_eq!(sig.untrusted_comment(), "untrusted");
    public.verify(&sig, b"payload").expect("verify");
}

#[test]
fn encrypted_key_round_trips_with_the_right_passphrase() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, Some(b"correct horse"));
    assert!(SecretKey::is_encrypted(&text).expect("parse"));
    let parsed = SecretKey::parse(&text, Some(b"correct horse")).expect("decrypt");
    assert_eq!(parsed.public_key(), key.public_key());
}

#[test]
fn generated_key_pair_uses_minisign_default_scrypt_cost_and_decrypts() {
    // The one unit test that pays for real parameters (1 GiB, a few seconds) twice.
    let (secret, public) = generate_keypair("release", Some(b"pw")).expect("generate");
    let line = secret.lines().nth(1).expect("key line");
    let mut raw = [0u8; 158];
    text::decode_exact(line, &mut raw, "secret key", "key line").expect("base64");
    assert_eq!(&raw[2..4], b"Sc");
    assert_eq!(
        u64::from_le_bytes(raw[38..46].try_into().expect("8")),
        33_554_432
    );
    assert_eq!(
        u64::from_le_bytes(raw[46..54].try_into().expect("8")),
        1_073_741_824
    );
    let key = SecretKey::parse(&secret, Some(b"pw")).expect("decrypt");
    assert_eq!(key.public_key(), PublicKey::parse(&public).expect("pub"));
}

#[test]
fn unencrypted_key_pair_texts_have_kdf_none_and_the_comment() {
    let (secret, public) = generate_keypair("my comment", None).expect("generate");
    assert!(secret.starts_with("untrusted comment: my comment\n"));
    assert!(public.starts_with("untrusted comment: my comment\n"));
    assert!(!SecretKey::is_encrypted(&secret).expect("parse"));
    let key = SecretKey::parse(&secret, None).expect("parse");
    assert_eq!(key.public_key(), PublicKey::parse(&public).expect("pub"));
}

#[test]
fn public_key_parses_from_a_bare_base64_line() {
    let key = SecretKey::generate().expect("generate").public_key();
    assert_eq!(PublicKey::parse(&key.to_base64()).expect("bare"), key);
    assert_eq!(
        PublicKey::parse(&format!("{}\n", key.to_base64())).expect("bare"),
        key
    );
}

#[test]
fn files_with_crlf_line_ends_parse() {
    let (key, sig) = signed(b"data", "tc");
    let crlf = sig.to_file_text().replace('\n', "\r\n");
    let parsed = Signature::parse(&crlf).expect("parse");
    key.public_key().verify(&parsed, b"data").expect("verify");
    let pub_crlf = key.public_key().to_file_text("c").replace('\n', "\r\n");
    assert_eq!(
        PublicKey::parse(&pub_crlf).expect("parse"),
        key.public_key()
    );
}

#[test]
fn files_starting_with_a_byte_order_mark_parse() {
    let (key, sig) = signed(b"data", "tc");
    let parsed = Signature::parse(&format!("\u{feff}{}", sig.to_file_text())).expect("sig");
    key.public_key().verify(&parsed, b"data").expect("verify");
    let public = key.public_key();
    let text = format!("\u{feff}{}", public.to_file_text("c"));
    assert_eq!(PublicKey::parse(&text).expect("pub"), public);
    let bare = format!("\u{feff}{}", public.to_base64());
    assert_eq!(PublicKey::parse(&bare).expect("bare pub"), public);
}

#[test]
fn public_key_file_text_sanitizes_the_comment() {
    let key = SecretKey::generate().expect("generate").public_key();
    let text = key.to_file_text("two\nlines\u{1b}[31m");
    assert!(
        text.starts_with("untrusted comment: two lines [31m\n"),
        "{text:?}"
    );
    assert_eq!(PublicKey::parse(&text).expect("parse"), key);
}

// ---- passphrases -------------------------------------------------------------------------

#[test]
fn wrong_passphrase_is_detected() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, Some(b"right"));
    let err = SecretKey::parse(&text, Some(b"wrong")).expect_err("must fail");
    assert!(matches!(err, SignError::WrongPassphrase), "{err}");
}

#[test]
fn encrypted_key_without_passphrase_asks_for_one() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, Some(b"right"));
    let err = SecretKey::parse(&text, None).expect_err("must fail");
    assert!(matches!(err, SignError::PassphraseRequired), "{err}");
}

#[test]
fn empty_or_overlong_passphrase_is_refused_for_new_keys() {
    let key = SecretKey::generate().expect("generate");
    for pw in [&b""[..], &[b'x'; 1025][..]] {
        let err = key
            .to_file_text_with_kdf_limits("c", Some(pw), CHEAP_OPS, CHEAP_MEM)
            .expect_err("must fail");
        assert!(matches!(err, SignError::InvalidPassphrase { .. }), "{err}");
    }
}

#[test]
fn secret_key_with_too_expensive_scrypt_limits_is_refused_without_running_it() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, Some(b"pw"));
    let line = text.lines().nth(1).expect("line");
    let mut raw = [0u8; 158];
    text::decode_exact(line, &mut raw, "secret key", "key line").expect("base64");
    raw[38..46].copy_from_slice(&(1u64 << 40).to_le_bytes());
    raw[46..54].copy_from_slice(&(1u64 << 40).to_le_bytes());
    let text = with_line(&text, 1, &text::encode(&raw));
    let err = SecretKey::parse(&text, Some(b"pw")).expect_err("must fail");
    assert!(
        matches!(err, SignError::UnsupportedKdfParams { .. }),
        "{err}"
    );
}

#[test]
fn damaged_unencrypted_key_is_detected_by_its_checksum() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, None);
    let mut raw = [0u8; 158];
    text::decode_exact(text.lines().nth(1).expect("line"), &mut raw, "k", "l").expect("b64");
    raw[157] ^= 1;
    let err =
        SecretKey::parse(&with_line(&text, 1, &text::encode(&raw)), None).expect_err("must fail");
    expect_malformed(err, "checksum");
}

#[test]
fn unencrypted_key_with_zero_checksum_like_minisign_0_11_writes_is_accepted() {
    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, None);
    let mut raw = [0u8; 158];
    text::decode_exact(text.lines().nth(1).expect("line"), &mut raw, "k", "l").expect("b64");
    raw[126..].fill(0);
    let parsed = SecretKey::parse(&with_line(&text, 1, &text::encode(&raw)), None).expect("ok");
    assert_eq!(parsed.public_key(), key.public_key());
}

#[test]
fn secret_key_whose_halves_disagree_is_rejected() {
    let a = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&a, None);
    let mut raw = [0u8; 158];
    text::decode_exact(text.lines().nth(1).expect("line"), &mut raw, "k", "l").expect("b64");
    raw[62..94].copy_from_slice(
        &SecretKey::generate()
            .expect("g")
            .public_key()
            .ed25519_bytes(),
    );
    raw[126..].fill(0);
    let err =
        SecretKey::parse(&with_line(&text, 1, &text::encode(&raw)), None).expect_err("must fail");
    expect_malformed(err, "does not belong");
}

// ---- tampering -------------------------------------------------------------------------

#[test]
fn tampered_data_is_rejected() {
    let (key, sig) = signed(b"original", "tc");
    let err = key
        .public_key()
        .verify(&sig, b"0riginal")
        .expect_err("must fail");
    assert!(matches!(err, SignError::BadSignature { key_id } if key_id == key.key_id()));
}

#[test]
fn tampered_trusted_comment_is_rejected() {
    let (key, sig) = signed(b"data", "hotfix-id:HF-1 version:1");
    let text = sig.to_file_text().replace("version:1", "version:9");
    let forged = Signature::parse(&text).expect("parse");
    let err = key
        .public_key()
        .verify(&forged, b"data")
        .expect_err("must fail");
    assert!(matches!(err, SignError::BadGlobalSignature { .. }), "{err}");
}

#[test]
fn tampered_global_signature_is_rejected() {
    let (key, sig) = signed(b"data", "tc");
    let text = sig.to_file_text();
    let global = text.lines().nth(3).expect("line");
    let mut raw = [0u8; 64];
    text::decode_exact(global, &mut raw, "s", "l").expect("b64");
    raw[10] ^= 0x40;
    let forged = Signature::parse(&with_line(&text, 3, &text::encode(&raw))).expect("parse");
    let err = key
        .public_key()
        .verify(&forged, b"data")
        .expect_err("must fail");
    assert!(matches!(err, SignError::BadGlobalSignature { .. }), "{err}");
}

#[test]
fn tampered_signature_bytes_are_rejected() {
    let (key, sig) = signed(b"data", "tc");
    let text = sig.to_file_text();
    let mut raw = [0u8; 74];
    text::decode_exact(text.lines().nth(1).expect("line"), &mut raw, "s", "l").expect("b64");
    raw[40] ^= 1;
    let forged = Signature::parse(&with_line(&text, 1, &text::encode(&raw))).expect("parse");
    assert!(key.public_key().verify(&forged, b"data").is_err());
}

#[test]
fn signature_checked_with_another_key_is_a_key_id_mismatch() {
    let (_, sig) = signed(b"data", "tc");
    let other = SecretKey::generate().expect("generate").public_key();
    let err = other.verify(&sig, b"data").expect_err("must fail");
    assert!(
        matches!(err, SignError::KeyIdMismatch { signature_key_id, public_key_id }
            if signature_key_id == sig.key_id() && public_key_id == other.key_id()),
        "{err}"
    );
}

#[test]
fn another_key_claiming_the_signers_key_id_is_rejected() {
    let (key, sig) = signed(b"data", "tc");
    let impostor = SecretKey::generate().expect("generate").public_key();
    let impostor_text = impostor.to_file_text("x");
    // Re-encode the impostor's ed25519 key under the signer's key id.
    let mut raw = [0u8; 42];
    text::decode_exact(impostor_text.lines().nth(1).expect("l"), &mut raw, "p", "l").expect("b");
    raw[2..10].copy_from_slice(&key.key_id().0);
    let impostor = PublicKey::parse(&text::encode(&raw)).expect("parse");
    let err = impostor.verify(&sig, b"data").expect_err("must fail");
    assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
}

#[test]
fn legacy_non_prehashed_signatures_verify() {
    // minisign's legacy `Ed` algorithm signs the data itself; build one by hand.
    use ed25519_dalek::Signer;
    let key = SecretKey::generate().expect("generate");
    let sig = key.signing.sign(b"data").to_bytes();
    let mut global_msg = sig.to_vec();
    global_msg.extend_from_slice(b"legacy");
    let global = key.signing.sign(&global_msg).to_bytes();
    let mut raw = Vec::new();
    raw.extend_from_slice(b"Ed");
    raw.extend_from_slice(&key.key_id().0);
    raw.extend_from_slice(&sig);
    let text = format!(
        "untrusted comment: legacy\n{}\ntrusted comment: legacy\n{}\n",
        text::encode(&raw),
        text::encode(&global)
    );
    let parsed = Signature::parse(&text).expect("parse");
    assert!(!parsed.is_prehashed());
    key.public_key().verify(&parsed, b"data").expect("verify");
    assert!(key.public_key().verify(&parsed, b"dat").is_err());
    assert_eq!(parsed.to_file_text(), text);
}

// ---- comments ------------------------------------------------------------------------

#[test]
fn sign_rejects_trusted_comments_with_newlines_or_control_characters() {
    let key = SecretKey::generate().expect("generate");
    for bad in [
        "a\nb",
        "a\rb",
        "a\u{0}b",
        "a\u{1b}[2Jb",
        "a\u{7f}",
        "a\u{85}",
    ] {
        let err = sign(&key, b"d", bad, "u").expect_err("must fail");
        assert!(
            matches!(
                err,
                SignError::InvalidComment {
                    what: "trusted comment",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    // minisign's default trusted comment separates fields with tabs.
    sign(&key, b"d", "timestamp:1\tfile:x", "u").expect("tab is allowed");
}

#[test]
fn sign_rejects_an_untrusted_comment_with_a_newline() {
    let key = SecretKey::generate().expect("generate");
    let err = sign(&key, b"d", "t", "one\ntwo").expect_err("must fail");
    assert!(matches!(
        err,
        SignError::InvalidComment {
            what: "untrusted comment",
            ..
        }
    ));
}

#[test]
fn sign_rejects_overlong_comments() {
    let key = SecretKey::generate().expect("generate");
    let long = "x".repeat(MAX_TRUSTED_COMMENT + 1);
    assert!(sign(&key, b"d", &long, "u").is_err());
    sign(&key, b"d", &long[1..], "u").expect("at the limit");
}

#[test]
fn parse_rejects_a_trusted_comment_with_a_control_character() {
    let (_, sig) = signed(b"data", "tc");
    let text = with_line(&sig.to_file_text(), 2, "trusted comment: a\u{7}b");
    expect_malformed(
        Signature::parse(&text).expect_err("must fail"),
        "control character",
    );
}

// ---- malformed input -----------------------------------------------------------------

#[test]
fn public_key_with_bad_base64_is_malformed() {
    let key = SecretKey::generate().expect("generate").public_key();
    let mut line = key.to_base64();
    line.replace_range(5..6, "!");
    expect_malformed(PublicKey::parse(&line).expect_err("must fail"), "base64");
}

#[test]
fn public_key_of_the_wrong_length_is_malformed() {
    let key = SecretKey::generate().expect("generate").public_key();
    let line = key.to_base64();
    expect_malformed(
        PublicKey::parse(&line[..52]).expect_err("must fail"),
        "expected 56",
    );
    expect_malformed(
        PublicKey::parse(&text::encode(&[b'E', b'd', 0, 0])).expect_err("must fail"),
        "expected 56",
    );
}

#[test]
fn non_canonical_base64_padding_bits_are_rejected() {
    // 64 bytes of global signature end in "X==": X carries 4 unused bits; set one.
    let (_, sig) = signed(b"d", "t");
    let text = sig.to_file_text();
    let line = text.lines().nth(3).expect("line");
    assert!(line.ends_with("=="));
    let last = line.as_bytes()[85];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.iter().position(|&c| c == last).expect("b64 char");
    let tweaked = char::from(alphabet[pos ^ 1]);
    let bad = format!("{}{tweaked}==", &line[..85]);
    expect_malformed(
        Signature::parse(&with_line(&text, 3, &bad)).expect_err("must fail"),
        "base64",
    );
}

#[test]
fn unknown_algorithms_are_reported_as_unsupported() {
    let mut raw = [0u8; 42];
    raw[..2].copy_from_slice(b"Xy");
    let err = PublicKey::parse(&text::encode(&raw)).expect_err("must fail");
    assert!(
        matches!(&err, SignError::UnsupportedAlgorithm { found, .. } if found == "Xy"),
        "{err}"
    );

    let (_, sig) = signed(b"d", "t");
    let text = sig.to_file_text();
    let mut raw = [0u8; 74];
    text::decode_exact(text.lines().nth(1).expect("l"), &mut raw, "s", "l").expect("b64");
    raw[..2].copy_from_slice(b"EX");
    let err = Signature::parse(&with_line(&text, 1, &text::encode(&raw))).expect_err("must fail");
    assert!(
        matches!(err, SignError::UnsupportedAlgorithm { .. }),
        "{err}"
    );

    let key = SecretKey::generate().expect("generate");
    let text = cheap_secret_text(&key, None);
    let mut raw = [0u8; 158];
    text::decode_exact(text.lines().nth(1).expect("l"), &mut raw, "k", "l").expect("b64");
    raw[2..4].copy_from_slice(b"Ar");
    let err =
        SecretKey::parse(&with_line(&text, 1, &text::encode(&raw)), None).expect_err("must fail");
    assert!(
        matches!(&err, SignError::UnsupportedAlgorithm { what, found, .. }
            if *what == "secret key encryption" && found == "Ar"),
        "{err}"
    );
    assert!(SecretKey::is_encrypted(&with_line(&text, 1, &text::encode(&raw))).is_err());
}

#[test]
fn signature_with_missing_or_extra_lines_is_malformed() {
    let (_, sig) = signed(b"d", "t");
    let text = sig.to_file_text();
    let three: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    expect_malformed(Signature::parse(&three).expect_err("must fail"), "expected");
    expect_malformed(
        Signature::parse(&format!("{text}extra\n")).expect_err("must fail"),
        "unexpected text on line 5",
    );
    // Trailing empty lines are harmless.
    Signature::parse(&format!("{text}\n\n")).expect("trailing blank lines");
}

#[test]
fn signature_lines_must_carry_their_prefixes() {
    let (_, sig) = signed(b"d", "t");
    let text = sig.to_file_text();
    expect_malformed(
        Signature::parse(&with_line(&text, 0, "comment: x")).expect_err("must fail"),
        "untrusted comment",
    );
    expect_malformed(
        Signature::parse(&with_line(&text, 2, "trusted: x")).expect_err("must fail"),
        "trusted comment",
    );
}

#[test]
fn oversized_texts_are_rejected_before_parsing() {
    let huge = "untrusted comment: ".to_owned() + &"x".repeat(20_000);
    expect_malformed(
        Signature::parse(&huge).expect_err("must fail"),
        "larger than",
    );
    expect_malformed(
        PublicKey::parse(&huge).expect_err("must fail"),
        "larger than",
    );
}

#[test]
fn public_key_that_is_not_a_curve_point_is_malformed() {
    let mut raw = [0u8; 42];
    raw[..2].copy_from_slice(b"Ed");
    // y = 2 is not on the curve.
    raw[10] = 2;
    let err = PublicKey::parse(&text::encode(&raw)).expect_err("must fail");
    expect_malformed(err, "ed25519");
}

// ---- files and trust sets ------------------------------------------------------------

fn write_pub(dir: &Path, name: &str, key: &PublicKey) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, key.to_file_text(name)).expect("write");
    path
}

#[test]
fn errors_from_files_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.pub");
    std::fs::write(&path, "untrusted comment: x\nnot base64\n").expect("write");
    let err = PublicKey::from_file(&path).expect_err("must fail");
    assert_eq!(err.path(), Some(path.as_path()));
    assert!(err.to_string().contains("bad.pub"), "{err}");
    assert!(matches!(err.root(), SignError::Malformed { .. }));

    let missing = dir.path().join("missing.key");
    let err = SecretKey::from_file(&missing, None).expect_err("must fail");
    assert!(
        matches!(&err, SignError::Io { path, .. } if *path == missing),
        "{err}"
    );
}

#[test]
fn secret_key_files_load_and_report_encryption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let enc = dir.path().join("enc.key");
    let plain = dir.path().join("plain.key");
    std::fs::write(&enc, cheap_secret_text(&key, Some(b"pw"))).expect("write");
    std::fs::write(&plain, cheap_secret_text(&key, None)).expect("write");
    assert!(SecretKey::file_is_encrypted(&enc).expect("enc"));
    assert!(!SecretKey::file_is_encrypted(&plain).expect("plain"));
    let err = SecretKey::from_file(&enc, Some(b"nope")).expect_err("must fail");
    assert!(matches!(err.root(), SignError::WrongPassphrase));
    assert_eq!(err.path(), Some(enc.as_path()));
    assert_eq!(
        SecretKey::from_file(&enc, Some(b"pw"))
            .expect("load")
            .key_id(),
        key.key_id()
    );
}

#[test]
fn trust_set_loads_a_single_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate").public_key();
    let path = write_pub(dir.path(), "release.pub", &key);
    let set = TrustSet::load(&path).expect("load");
    assert_eq!(set.len(), 1);
    assert_eq!(set.get(key.key_id()), Some(&key));
    assert_eq!(set.sources(), std::slice::from_ref(&path));
    assert_eq!(set.source_of(key.key_id()), Some(path.as_path()));
}

#[test]
fn trust_set_loads_every_pub_file_of_a_folder_but_not_subfolders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys: Vec<PublicKey> = (0..3)
        .map(|_| SecretKey::generate().expect("generate").public_key())
        .collect();
    write_pub(dir.path(), "b.pub", &keys[0]);
    write_pub(dir.path(), "a.PUB", &keys[1]);
    std::fs::write(dir.path().join("notes.txt"), "not a key").expect("write");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    write_pub(&dir.path().join("sub"), "c.pub", &keys[2]);
    let set = TrustSet::load(dir.path()).expect("load");
    assert_eq!(set.len(), 2);
    assert!(set.get(keys[0].key_id()).is_some());
    assert!(set.get(keys[1].key_id()).is_some());
    assert!(set.get(keys[2].key_id()).is_none());
    assert_eq!(
        set.sources(),
        [dir.path().join("a.PUB"), dir.path().join("b.pub")]
    );
}

#[test]
fn trust_set_from_a_folder_without_keys_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("readme.txt"), "x").expect("write");
    let err = TrustSet::load(dir.path()).expect_err("must fail");
    assert!(matches!(&err, SignError::NoKeysInFolder { path } if path == dir.path()));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn trust_set_keeps_one_copy_of_a_key_in_two_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate").public_key();
    write_pub(dir.path(), "one.pub", &key);
    write_pub(dir.path(), "two.pub", &key);
    let set = TrustSet::load(dir.path()).expect("load");
    assert_eq!(set.len(), 1);
    assert_eq!(set.sources().len(), 2);
}

#[test]
fn trust_set_refuses_two_different_keys_with_one_key_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate").public_key();
    let other = SecretKey::generate().expect("generate").public_key();
    let mut raw = [0u8; 42];
    let other_line = other.to_base64();
    text::decode_exact(&other_line, &mut raw, "p", "l").expect("b64");
    raw[2..10].copy_from_slice(&key.key_id().0);
    let clash = PublicKey::parse(&text::encode(&raw)).expect("parse");
    write_pub(dir.path(), "a.pub", &key);
    write_pub(dir.path(), "b.pub", &clash);
    let err = TrustSet::load(dir.path()).expect_err("must fail");
    assert!(
        matches!(&err, SignError::DuplicateKey { key_id, first, second }
            if *key_id == key.key_id() && first.ends_with("a.pub") && second.ends_with("b.pub")),
        "{err}"
    );
}

#[test]
fn trust_set_verifies_with_the_named_key_and_rejects_unknown_signers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, sig) = signed(b"data", "tc");
    let path = write_pub(dir.path(), "k.pub", &key.public_key());
    let set = TrustSet::load(&path).expect("load");
    assert_eq!(
        set.verify(&sig, b"data").expect("ok").key_id(),
        key.key_id()
    );
    let (_, stranger) = signed(b"data", "tc");
    let err = set.verify(&stranger, b"data").expect_err("must fail");
    assert!(matches!(err, SignError::UnknownKey { key_id } if key_id == stranger.key_id()));
}

// ---- properties ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in ".{0,300}") {
        let _ = PublicKey::parse(&text);
        let _ = SecretKey::parse(&text, Some(b"pw"));
        let _ = SecretKey::is_encrypted(&text);
        let _ = Signature::parse(&text);
        let _ = text.parse::<KeyId>();
    }

    #[test]
    fn parsers_never_panic_on_line_shaped_text(
        lines in proptest::collection::vec(
            prop_oneof![
                "untrusted comment: [ -~]{0,20}",
                "trusted comment: [ -~]{0,20}",
                "[A-Za-z0-9+/=]{0,220}",
                ".{0,10}",
            ],
            0..6,
        )
    ) {
        let text = lines.join("\n");
        let _ = PublicKey::parse(&text);
        let _ = SecretKey::parse(&text, Some(b"pw"));
        let _ = Signature::parse(&text);
    }

    #[test]
    fn any_change_to_a_signed_line_breaks_verification(
        line in prop_oneof![Just(1usize), Just(2), Just(3)],
        pos in any::<proptest::sample::Index>(),
        replacement in "[ -~]",
    ) {
        let (key, sig) = signed(b"data", "hotfix-id:HF-1 version:1");
        let text = sig.to_file_text();
        let original = text.lines().nth(line).expect("line");
        // Never touch the "trusted comment: " prefix: only what follows it is signed.
        let start = if line == 2 { "trusted comment: ".len() } else { 0 };
        let at = start + pos.index(original.len() - start);
        prop_assume!(original.as_bytes()[at] != replacement.as_bytes()[0]);
        let mut changed = original.to_owned();
        changed.replace_range(at..=at, &replacement);
        let forged = with_line(&text, line, &changed);
        if let Ok(parsed) = Signature::parse(&forged) {
            prop_assert!(key.public_key().verify(&parsed, b"data").is_err());
        }
    }
}

/// Signatures inside packages must be exactly what `to_file_text` (and minisign) write.
#[test]
fn parse_exact_accepts_only_the_written_form() {
    let key = SecretKey::generate().expect("key");
    let sig = sign(&key, b"data", "hotfix-id:HF-1 version:1", "comment").expect("sign");
    let text = sig.to_file_text();
    assert_eq!(Signature::parse_exact(&text).expect("exact"), sig);
    let variants = [
        ("crlf", text.replace('\n', "\r\n"), "CR LF"),
        ("bom", format!("\u{feff}{text}"), "byte order mark"),
        (
            "no final newline",
            text.trim_end_matches('\n').to_owned(),
            "line feed",
        ),
        (
            "trailing newlines",
            format!("{text}\n\n\n"),
            "3 bytes follow",
        ),
    ];
    for (what, variant, reason) in variants {
        // The lenient parser reads each of these to the same signature...
        assert_eq!(Signature::parse(&variant).expect(what), sig, "{what}");
        // ...the exact one refuses them, saying why.
        let e = Signature::parse_exact(&variant)
            .expect_err(what)
            .to_string();
        assert!(e.contains(reason), "{what}: {e}");
    }
}
