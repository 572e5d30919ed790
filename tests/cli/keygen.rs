//! `hotfix keygen` end to end.

use std::path::Path;

use hotfix_sign::{PublicKey, SecretKey};

use crate::support::{hotfix, read};

/// base64 of "Ed" then kdf 0x00 0x00 then "B2": how an unencrypted key line starts.
const UNENCRYPTED_KEY_PREFIX: &str = "RWQAAEIy";

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("UTF-8 key file")
}

#[test]
fn keygen_writes_a_key_pair_that_signs_and_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("release");
    let out = hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&prefix)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8");
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");

    let public = PublicKey::from_file(&dir.path().join("release.pub")).expect("public key");
    let secret = SecretKey::from_file(&dir.path().join("release.key"), None).expect("secret key");
    assert_eq!(secret.public_key(), public);
    assert_eq!(stdout, format!("{}\n", public.key_id()));
    assert!(stderr.contains("release.pub"), "{stderr}");
    assert!(stderr.contains(&public.key_id().to_string()), "{stderr}");

    let sig = hotfix_sign::sign(&secret, b"data", "trusted", "untrusted").expect("sign");
    public.verify(&sig, b"data").expect("verify");
}

#[test]
fn keygen_uses_default_comments_or_the_given_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain");
    hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&plain)
        .assert()
        .success();
    let public = PublicKey::from_file(&dir.path().join("plain.pub")).expect("public key");
    assert!(text(&dir.path().join("plain.pub")).starts_with(&format!(
        "untrusted comment: hotfix public key {}\n",
        public.key_id()
    )));
    assert!(
        text(&dir.path().join("plain.key")).starts_with("untrusted comment: hotfix secret key\n")
    );

    let named = dir.path().join("named");
    hotfix()
        .args([
            "keygen",
            "--no-passphrase",
            "--comment",
            "release 2026",
            "--output",
        ])
        .arg(&named)
        .assert()
        .success();
    for file in ["named.pub", "named.key"] {
        assert!(text(&dir.path().join(file)).starts_with("untrusted comment: release 2026\n"));
    }
}

#[test]
fn keygen_with_no_passphrase_writes_a_key_with_kdf_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("k");
    hotfix()
        .args(["keygen", "--no-passphrase", "-o"])
        .arg(&prefix)
        .assert()
        .success();
    let key = text(&dir.path().join("k.key"));
    let line = key.lines().nth(1).expect("key line");
    assert!(line.starts_with(UNENCRYPTED_KEY_PREFIX), "{line}");
    assert!(!SecretKey::is_encrypted(&key).expect("parse"));
}

#[test]
fn keygen_encrypts_the_secret_key_with_hotfix_passphrase() {
    // Real scrypt cost twice (keygen, then decrypting here): a few seconds.
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("k");
    hotfix()
        .env("HOTFIX_PASSPHRASE", "correct horse")
        .args(["keygen", "--output"])
        .arg(&prefix)
        .assert()
        .success();
    let key_path = dir.path().join("k.key");
    assert!(SecretKey::file_is_encrypted(&key_path).expect("parse"));
    assert!(!text(&key_path).contains(UNENCRYPTED_KEY_PREFIX));
    let secret = SecretKey::from_file(&key_path, Some(b"correct horse")).expect("decrypt");
    let public = PublicKey::from_file(&dir.path().join("k.pub")).expect("public key");
    assert_eq!(secret.public_key(), public);
}

#[cfg(unix)]
#[test]
fn keygen_makes_the_secret_key_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(dir.path().join("k"))
        .assert()
        .success();
    let mode = std::fs::metadata(dir.path().join("k.key"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_public_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("k.pub");
    std::fs::write(&existing, "old public key\n").expect("write");
    let out = hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(dir.path().join("k"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(stderr.contains(&existing.display().to_string()), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(stderr.contains("another --output prefix"), "{stderr}");
    assert_eq!(text(&existing), "old public key\n");
    assert!(!dir.path().join("k.key").exists());
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_secret_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let existing = dir.path().join("k.key");
    std::fs::write(&existing, "old secret key\n").expect("write");
    let out = hotfix()
        .env("HOTFIX_PASSPHRASE", "pw")
        .args(["keygen", "--output"])
        .arg(dir.path().join("k"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(stderr.contains(&existing.display().to_string()), "{stderr}");
    assert_eq!(text(&existing), "old secret key\n");
    assert!(!dir.path().join("k.pub").exists());
}

#[test]
fn keygen_without_terminal_or_passphrase_variable_fails_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hotfix()
        .args(["keygen", "--output"])
        .arg(dir.path().join("k"))
        .write_stdin("")
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(stderr.contains("no terminal"), "{stderr}");
    assert!(
        stderr.contains("hint:") && stderr.contains("HOTFIX_PASSPHRASE"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn keygen_with_an_empty_passphrase_variable_fails_with_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hotfix()
        .env("HOTFIX_PASSPHRASE", "")
        .args(["keygen", "--output"])
        .arg(dir.path().join("k"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(stderr.contains("--no-passphrase"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn keygen_rejects_a_comment_with_a_line_break() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hotfix()
        .args([
            "keygen",
            "--no-passphrase",
            "--comment",
            "two\nlines",
            "--output",
        ])
        .arg(dir.path().join("k"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(
        stderr.contains("comment") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);
}

#[test]
fn keygen_creates_missing_folders_as_the_readme_walkthrough_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    hotfix()
        .current_dir(dir.path())
        .args(["keygen", "--no-passphrase", "--output", "keys/release"])
        .assert()
        .success();
    assert!(dir.path().join("keys/release.key").is_file());
    assert!(dir.path().join("keys/release.pub").is_file());
}

#[test]
fn keygen_under_a_regular_file_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("file"), "").expect("write");
    let out = hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(dir.path().join("file").join("k"))
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8");
    assert!(
        stderr.contains("cannot write") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
}
