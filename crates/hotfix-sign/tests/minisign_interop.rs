//! Interoperability with the real `minisign` tool (jedisct1/minisign, as Debian ships it).
//!
//! Without `minisign` on PATH these tests skip with a message, unless
//! `HOTFIX_REQUIRE_INTEROP` is set (scripts/test and CI set it): then they fail.
//!
//! Passwords reach `minisign -G`/`-S` through stdin: when stdin is not a terminal,
//! minisign 0.11 reads one line per password prompt (twice for `-G`), so no `-W`
//! workaround is needed for encrypted keys.
//!
//! Only two tests pay for minisign's real scrypt cost (1 GiB, seconds); the rest use
//! unencrypted keys or cheap test limits (which minisign reads from the key file).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hotfix_sign::{PublicKey, SecretKey, SignError, Signature, sign};

const CHEAP_OPS: u64 = 32_768;
const CHEAP_MEM: u64 = 16 * 1024 * 1024;

/// The minisign binary, or None (with a note) when it is missing and not required.
fn minisign() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("minisign"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
            panic!("minisign is required (HOTFIX_REQUIRE_INTEROP is set) but not on PATH");
        }
        eprintln!("skipping: minisign is not on PATH (Debian: apt-get install minisign)");
    }
    found
}

/// Runs minisign with `args`, feeding `stdin`; never waits on a terminal.
fn run(tool: &Path, args: &[&str], stdin: &str, dir: &Path) -> Output {
    let mut child = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn minisign");
    let mut pipe = child.stdin.take().expect("stdin");
    if !stdin.is_empty() {
        // minisign may exit without reading (an unencrypted key needs no password).
        let _ = pipe.write_all(stdin.as_bytes());
    }
    drop(pipe);
    child.wait_with_output().expect("wait for minisign")
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Signs `data.txt` in `dir` with `key` into `data.txt.minisig`, then checks that
/// `minisign -V -H` accepts it and rejects a tampered copy of the data.
fn our_signature_verifies_with_minisign(tool: &Path, dir: &Path, key: &SecretKey) {
    write(&dir.join("k.pub"), &key.public_key().to_file_text("ours"));
    write(&dir.join("data.txt"), "hotfix manifest bytes\n");
    let sig = sign(
        key,
        b"hotfix manifest bytes\n",
        "hotfix-id:HF-1 version:3",
        "ours",
    )
    .expect("sign");
    write(&dir.join("data.txt.minisig"), &sig.to_file_text());

    let out = run(
        tool,
        &["-V", "-H", "-m", "data.txt", "-p", "k.pub"],
        "",
        dir,
    );
    assert_ok(&out, "minisign -V of our signature");
    assert!(String::from_utf8_lossy(&out.stdout).contains("hotfix-id:HF-1 version:3"));

    write(&dir.join("data.txt"), "hotfix manifest bytes!\n");
    let out = run(tool, &["-V", "-m", "data.txt", "-p", "k.pub"], "", dir);
    assert!(!out.status.success(), "minisign accepted tampered data");
}

#[test]
fn minisign_verifies_signatures_from_our_unencrypted_key() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let text = key.to_file_text("ours", None).expect("encode");
    let key = SecretKey::parse(&text, None).expect("parse");
    our_signature_verifies_with_minisign(&tool, dir.path(), &key);
}

#[test]
fn minisign_verifies_signatures_from_our_encrypted_key() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let text = key
        .to_file_text_with_kdf_limits("ours", Some(b"s3cret"), CHEAP_OPS, CHEAP_MEM)
        .expect("encode");
    let key = SecretKey::parse(&text, Some(b"s3cret")).expect("decrypt");
    our_signature_verifies_with_minisign(&tool, dir.path(), &key);
}

#[test]
fn unencrypted_minisign_key_signs_here_and_minisign_verifies() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &tool,
        &["-G", "-W", "-p", "x.pub", "-s", "x.key"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -G -W");

    let key_text = read(&dir.path().join("x.key"));
    assert!(!SecretKey::is_encrypted(&key_text).expect("parse"));
    let key = SecretKey::parse(&key_text, None).expect("parse minisign key");
    let public = PublicKey::from_file(&dir.path().join("x.pub")).expect("parse minisign pub");
    assert_eq!(key.public_key(), public);
    // minisign names the key id in the public key's comment as KeyId prints it, except
    // that minisign 0.11 drops leading zeros ("%" PRIX64).
    let pub_text = read(&dir.path().join("x.pub"));
    let id = public.key_id().to_string();
    assert!(
        pub_text.contains(id.trim_start_matches('0')),
        "{id} not in {pub_text:?}"
    );
    our_signature_verifies_with_minisign(&tool, dir.path(), &key);
}

#[test]
fn encrypted_minisign_key_signs_here_and_minisign_verifies() {
    // Real minisign scrypt cost, on both sides.
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &tool,
        &["-G", "-p", "x.pub", "-s", "x.key"],
        "pass phrase\npass phrase\n",
        dir.path(),
    );
    assert_ok(&out, "minisign -G");
    let key_path = dir.path().join("x.key");
    assert!(SecretKey::file_is_encrypted(&key_path).expect("parse"));
    let key = SecretKey::from_file(&key_path, Some(b"pass phrase")).expect("decrypt");
    let public = PublicKey::from_file(&dir.path().join("x.pub")).expect("pub");
    assert_eq!(key.public_key(), public);
    our_signature_verifies_with_minisign(&tool, dir.path(), &key);
}

#[test]
fn minisign_signatures_verify_here() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &tool,
        &["-G", "-W", "-p", "x.pub", "-s", "x.key"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -G -W");
    write(&dir.path().join("data.txt"), "payload\n");
    let out = run(
        &tool,
        &["-S", "-s", "x.key", "-m", "data.txt", "-t", "trusted"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -S");

    let public = PublicKey::from_file(&dir.path().join("x.pub")).expect("pub");
    let text = read(&dir.path().join("data.txt.minisig"));
    let sig = Signature::parse(&text).expect("parse sig");
    assert!(sig.is_prehashed());
    assert_eq!(sig.trusted_comment(), "trusted");
    // What minisign writes is exactly the form packages require (and we write).
    assert_eq!(Signature::parse_exact(&text).expect("exact form"), sig);
    assert_eq!(sig.to_file_text(), text);
    public
        .verify(&sig, b"payload\n")
        .expect("verify minisign signature");
    let err = public
        .verify(&sig, b"payload!\n")
        .expect_err("tampered data");
    assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
}

#[test]
fn minisign_legacy_signatures_verify_here() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &tool,
        &["-G", "-W", "-p", "x.pub", "-s", "x.key"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -G -W");
    write(&dir.path().join("data.txt"), "payload\n");
    let out = run(
        &tool,
        &["-S", "-l", "-s", "x.key", "-m", "data.txt", "-t", "legacy"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -S -l");
    let public = PublicKey::from_file(&dir.path().join("x.pub")).expect("pub");
    let sig = Signature::parse(&read(&dir.path().join("data.txt.minisig"))).expect("parse sig");
    assert!(!sig.is_prehashed());
    public
        .verify(&sig, b"payload\n")
        .expect("verify legacy signature");
    assert!(public.verify(&sig, b"payload!\n").is_err());
}

#[test]
fn minisign_default_trusted_comment_with_tabs_verifies_here() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        &tool,
        &["-G", "-W", "-p", "x.pub", "-s", "x.key"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -G -W");
    write(&dir.path().join("data.txt"), "payload\n");
    let out = run(
        &tool,
        &["-S", "-s", "x.key", "-m", "data.txt"],
        "",
        dir.path(),
    );
    assert_ok(&out, "minisign -S");
    let public = PublicKey::from_file(&dir.path().join("x.pub")).expect("pub");
    let text = read(&dir.path().join("data.txt.minisig"));
    let sig = Signature::parse(&text).expect("parse sig");
    assert_eq!(
        sig.to_file_text(),
        text,
        "minisign's default form, byte for byte"
    );
    assert!(
        sig.trusted_comment().contains('\t'),
        "{:?}",
        sig.trusted_comment()
    );
    public.verify(&sig, b"payload\n").expect("verify");
}

/// `minisign -S` with our key file (password on stdin), then verification both by
/// minisign and here.
fn minisign_signs_with_our_key(
    tool: &Path,
    dir: &Path,
    key_text: &str,
    public: &PublicKey,
    password: &str,
) {
    write(&dir.join("key.key"), key_text);
    write(&dir.join("key.pub"), &public.to_file_text("ours"));
    write(&dir.join("data.txt"), "signed by minisign\n");
    let out = run(
        tool,
        &[
            "-S",
            "-s",
            "key.key",
            "-m",
            "data.txt",
            "-t",
            "from minisign",
        ],
        &format!("{password}\n"),
        dir,
    );
    assert_ok(&out, "minisign -S with our key");
    let out = run(tool, &["-V", "-m", "data.txt", "-p", "key.pub"], "", dir);
    assert_ok(&out, "minisign -V");
    let sig = Signature::parse(&read(&dir.join("data.txt.minisig"))).expect("parse sig");
    public
        .verify(&sig, b"signed by minisign\n")
        .expect("verify here");
}

#[test]
fn our_passphrase_protected_key_pair_signs_with_minisign() {
    // Real minisign scrypt cost: keys as `hotfix keygen` writes them.
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let (secret, public) =
        hotfix_sign::generate_keypair("hotfix key", Some(b"open sesame")).expect("generate");
    let public = PublicKey::parse(&public).expect("our public key");
    minisign_signs_with_our_key(&tool, dir.path(), &secret, &public, "open sesame");
}

#[test]
fn our_key_with_other_scrypt_limits_signs_with_minisign() {
    // Exercises the opslimit/memlimit to N/r/p mapping away from the defaults.
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let text = key
        .to_file_text_with_kdf_limits("cheap", Some(b"pw"), CHEAP_OPS, CHEAP_MEM)
        .expect("encode");
    minisign_signs_with_our_key(&tool, dir.path(), &text, &key.public_key(), "pw");
}

#[test]
fn our_unencrypted_key_signs_with_minisign() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let text = key.to_file_text("plain", None).expect("encode");
    minisign_signs_with_our_key(&tool, dir.path(), &text, &key.public_key(), "");
}

#[test]
fn minisign_rebuilds_our_public_key_from_our_secret_key() {
    let Some(tool) = minisign() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("generate");
    let text = key
        .to_file_text_with_kdf_limits("cheap", Some(b"pw"), CHEAP_OPS, CHEAP_MEM)
        .expect("encode");
    write(&dir.path().join("key.key"), &text);
    let out = run(
        &tool,
        &["-R", "-s", "key.key", "-p", "re.pub"],
        "pw\n",
        dir.path(),
    );
    assert_ok(&out, "minisign -R");
    let rebuilt = PublicKey::from_file(&dir.path().join("re.pub")).expect("parse");
    assert_eq!(rebuilt, key.public_key());
}
