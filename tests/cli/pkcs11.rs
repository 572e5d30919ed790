//! `keygen`, `build` and `sign` with an Ed25519 key in a PKCS#11 token, against SoftHSM2.
//!
//! Each test makes its own token in a temp folder (`SOFTHSM2_CONF` points at a config
//! whose token folder is there), so tests run in parallel and leave nothing behind.
//! `pkcs11-tool` (OpenSC) makes keys the way an operator would without hotfix and
//! cross-checks what hotfix made; the standalone `minisign -V` checks the signatures.
//! Without SoftHSM2 the tests skip, unless HOTFIX_REQUIRE_INTEROP is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use hotfix_sign::PublicKey;

use crate::support::{have_tool, hotfix, read, sample_source};

const PIN: &str = "314159";
const SO_PIN: &str = "271828";
const SAMPLE_ID: &str = "HF-7.0.3-0042";
const EPOCH: &str = "1700000000";

/// Where distributions put SoftHSM2's module; searched in this order, after
/// `HOTFIX_TEST_PKCS11_MODULE`.
const MODULE_DIRS: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/opt/homebrew/lib",
];

fn find_module() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HOTFIX_TEST_PKCS11_MODULE") {
        return Some(PathBuf::from(p));
    }
    for root in MODULE_DIRS {
        let root = Path::new(root);
        // <root>/softhsm/, <root>/<multiarch triplet>/softhsm/, <root>/.
        let mut dirs = vec![root.join("softhsm"), root.to_path_buf()];
        if let Ok(entries) = std::fs::read_dir(root) {
            for e in entries.flatten() {
                dirs.push(e.path().join("softhsm"));
            }
        }
        for d in dirs {
            let p = d.join("libsofthsm2.so");
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A SoftHSM2 token initialised in a temp folder.
struct SoftHsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
    label: String,
}

impl SoftHsm {
    /// A fresh token labelled `label`, or `None` (skip) when SoftHSM2 is missing.
    fn new(label: &str) -> Option<SoftHsm> {
        if !(have_tool("softhsm2-util") && have_tool("pkcs11-tool")) {
            eprintln!(
                "skipped: softhsm2-util and pkcs11-tool are needed (apt-get install softhsm2 opensc)"
            );
            return None;
        }
        let Some(module) = find_module() else {
            if std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_some() {
                panic!("libsofthsm2.so not found (set HOTFIX_TEST_PKCS11_MODULE)");
            }
            eprintln!("skipped: libsofthsm2.so not found (set HOTFIX_TEST_PKCS11_MODULE)");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).expect("mkdir tokens");
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("write softhsm2.conf");
        let hsm = SoftHsm {
            dir,
            conf,
            module,
            label: label.to_owned(),
        };
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &hsm.conf)
            .args(["--init-token", "--free", "--label", label, "--pin", PIN])
            .args(["--so-pin", SO_PIN])
            .output()
            .expect("run softhsm2-util");
        assert!(
            out.status.success(),
            "softhsm2-util --init-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(hsm)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The URI of key `object` on this token, with the module path.
    fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={};object={object}?module-path={}",
            self.label,
            self.module.display()
        )
    }

    /// `hotfix` seeing this token, with the PIN in HOTFIX_PKCS11_PIN.
    fn hotfix(&self) -> assert_cmd::Command {
        let mut cmd = hotfix();
        cmd.env("SOFTHSM2_CONF", &self.conf)
            .env("HOTFIX_PKCS11_PIN", PIN)
            .env("SOURCE_DATE_EPOCH", EPOCH);
        cmd
    }

    /// `pkcs11-tool` on this token, logged in.
    fn pkcs11_tool(&self, args: &[&str]) -> String {
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .arg("--module")
            .arg(&self.module)
            .args(["--token-label", &self.label, "--login", "--pin", PIN])
            .args(args)
            .output()
            .expect("run pkcs11-tool");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "pkcs11-tool {args:?}: {text}");
        text
    }

    /// `hotfix keygen --key URI --output PREFIX` for object `object`; (pub path, key id).
    fn keygen(&self, object: &str, extra: &[&str]) -> (PathBuf, String) {
        let prefix = self.path(object);
        let out = self
            .hotfix()
            .args(["keygen", "--key", &self.uri(object), "--output"])
            .arg(&prefix)
            .args(extra)
            .output()
            .expect("run keygen");
        assert!(
            out.status.success(),
            "keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        (prefix.with_extension("pub"), id)
    }

    /// Builds the sample signed by `key`; returns the package path.
    fn build(&self, key: &str) -> PathBuf {
        let out = self.path("dist");
        self.hotfix()
            .arg("build")
            .arg(sample_source())
            .args(["--key", key, "--output"])
            .arg(&out)
            .assert()
            .success();
        out.join(format!("{SAMPLE_ID}.zip"))
    }
}

fn verify(pkg: &Path, trusted: &Path, threshold: u32) -> std::process::Output {
    hotfix()
        .arg("verify")
        .arg(pkg)
        .arg("--trusted")
        .arg(trusted)
        .args(["--threshold", &threshold.to_string()])
        .output()
        .expect("run verify")
}

/// Runs the standalone `minisign -V` on the package's manifest and the signature by
/// `key_id`, with the public key file `public`.
fn minisign_verifies(pkg: &Path, key_id: &str, public: &Path) {
    if !(have_tool("minisign") && have_tool("unzip")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let unzip = |entry: &str, to: &Path| {
        let out = Command::new("unzip")
            .arg("-p")
            .arg(pkg)
            .arg(entry)
            .output()
            .expect("unzip");
        assert!(out.status.success(), "unzip -p {entry}");
        std::fs::write(to, out.stdout).expect("write");
    };
    let xml = dir.path().join("hotfix.xml");
    let sig = dir.path().join("hotfix.xml.minisig");
    unzip("hotfix.xml", &xml);
    unzip(&format!("signatures/{key_id}.minisig"), &sig);
    let out = Command::new("minisign")
        .arg("-Vm")
        .arg(&xml)
        .arg("-x")
        .arg(&sig)
        .arg("-p")
        .arg(public)
        .output()
        .expect("run minisign");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "minisign -V: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("hotfix-id:{SAMPLE_ID} version:3")),
        "{said}"
    );
}

/// How many files a folder holds (0 when it does not exist): `build` may have made its
/// output folder before the key was refused, but must leave nothing in it.
fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Runs a command that must fail with exit 2, an `error:` and a `hint:`; returns stderr.
fn fails_with_usage(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("error:") && err.contains("hint:"),
        "stderr: {err}"
    );
    err
}

#[test]
fn a_key_made_on_the_token_builds_a_package_that_hotfix_and_minisign_verify() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let (public_path, key_id) = hsm.keygen("hotfix-release", &[]);
    let public = PublicKey::from_file(&public_path).expect("the .pub parses");
    assert_eq!(public.key_id().to_string(), key_id);
    // The documented key id: BLAKE2b-512 of the public key, first 8 bytes.
    assert_eq!(
        hotfix_pkcs11::key_id_for(&public.ed25519_bytes()),
        public.key_id()
    );
    // No secret key file: the private key stays on the token.
    assert!(!hsm.path("hotfix-release.key").exists());

    // pkcs11-tool sees an Ed25519 pair that cannot be extracted, with the key id as
    // CKA_ID in the order hotfix prints it.
    let objects = hsm.pkcs11_tool(&["--list-objects"]);
    assert!(objects.contains("EC_EDWARDS"), "{objects}");
    assert!(objects.contains("never extractable"), "{objects}");
    assert!(
        objects.contains(&format!("ID:         {}", key_id.to_lowercase())),
        "{objects}"
    );

    let pkg = hsm.build(&hsm.uri("hotfix-release"));
    let out = verify(&pkg, &public_path, 1);
    assert!(
        out.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&key_id));
    minisign_verifies(&pkg, &key_id, &public_path);
}

#[test]
fn the_same_key_named_by_id_builds_the_same_bytes() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let (_, key_id) = hsm.keygen("hotfix-release", &[]);
    let by_label = hsm.build(&hsm.uri("hotfix-release"));
    let first = read(&by_label);
    std::fs::remove_file(&by_label).expect("rm");
    // Ed25519 is deterministic and the build is reproducible: same key, same bytes.
    let id: String = key_id
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|c| format!("%{}", std::str::from_utf8(c).expect("hex")))
        .collect();
    let by_id = format!(
        "pkcs11:token=release;id={id}?module-path={}",
        hsm.module.display()
    );
    let again = hsm.build(&by_id);
    assert_eq!(read(&again), first);
}

#[test]
fn a_key_made_by_pkcs11_tool_cosigns_and_both_signatures_verify() {
    let Some(hsm) = SoftHsm::new("approver") else {
        return;
    };
    hsm.pkcs11_tool(&[
        "--keypairgen",
        "--key-type",
        "EC:edwards25519",
        "--label",
        "approver",
        "--id",
        "a1b2",
    ]);
    // keygen --existing writes the .pub of a key already on the token.
    let (approver_pub, approver_id) = hsm.keygen("approver", &["--existing"]);
    let approver = PublicKey::from_file(&approver_pub).expect("the .pub parses");
    assert_eq!(
        hotfix_pkcs11::key_id_for(&approver.ed25519_bytes()),
        approver.key_id()
    );
    // pkcs11-tool's view of the public point is the key in the .pub file.
    let objects = hsm.pkcs11_tool(&["--list-objects", "--type", "pubkey"]);
    let point_hex: String = approver
        .ed25519_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(objects.contains(&point_hex), "{objects}\n{point_hex}");

    // A package built with a key file, then co-signed on the token.
    let release = hsm.path("release");
    hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&release)
        .assert()
        .success();
    let pkg = hsm.build(release.with_extension("key").to_str().expect("utf-8"));
    hsm.hotfix()
        .arg("sign")
        .arg(&pkg)
        .args(["--key", &hsm.uri("approver")])
        .assert()
        .success();

    let trusted = hsm.path("trusted");
    std::fs::create_dir(&trusted).expect("mkdir");
    std::fs::copy(&approver_pub, trusted.join("approver.pub")).expect("copy");
    std::fs::copy(release.with_extension("pub"), trusted.join("release.pub")).expect("copy");
    let out = verify(&pkg, &trusted, 2);
    assert!(
        out.status.success(),
        "verify --threshold 2: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    minisign_verifies(&pkg, &approver_id, &approver_pub);
}

#[test]
fn the_pin_is_read_from_a_pin_source_file() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.keygen("hotfix-release", &[]);
    let pin_file = hsm.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).expect("write pin");
    let uri = format!(
        "pkcs11:token=release;object=hotfix-release?module-path={}&pin-source=file:{}",
        hsm.module.display(),
        pin_file.display()
    );
    let pkg = hsm.path("dist").join(format!("{SAMPLE_ID}.zip"));
    hsm.hotfix()
        .env_remove("HOTFIX_PKCS11_PIN")
        .arg("build")
        .arg(sample_source())
        .args(["--key", &uri, "--output"])
        .arg(&pkg)
        .assert()
        .success();
    assert!(pkg.is_file());
}

#[test]
fn the_module_can_come_from_hotfix_pkcs11_module() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.keygen("hotfix-release", &[]);
    let pkg = hsm.path(&format!("{SAMPLE_ID}.zip"));
    hsm.hotfix()
        .env("HOTFIX_PKCS11_MODULE", &hsm.module)
        .arg("build")
        .arg(sample_source())
        .args([
            "--key",
            "pkcs11:token=release;object=hotfix-release",
            "--output",
        ])
        .arg(&pkg)
        .assert()
        .success();
}

#[test]
fn a_wrong_pin_is_refused_and_nothing_is_written() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.keygen("hotfix-release", &[]);
    let out = hsm.path("dist");
    let err = fails_with_usage(
        hsm.hotfix()
            .env("HOTFIX_PKCS11_PIN", "000000")
            .arg("build")
            .arg(sample_source())
            .args(["--key", &hsm.uri("hotfix-release"), "--output"])
            .arg(&out),
    );
    assert!(
        err.contains("wrong PIN for PKCS#11 token \"release\""),
        "{err}"
    );
    assert!(err.contains("HOTFIX_PKCS11_PIN"), "{err}");
    assert!(!err.contains("000000"), "the PIN is never printed: {err}");
    assert_eq!(files_in(&out), 0, "build wrote into {}", out.display());

    // sign leaves the package byte for byte.
    let pkg = hsm.build(&hsm.uri("hotfix-release"));
    let before = read(&pkg);
    hsm.keygen("second", &[]);
    fails_with_usage(
        hsm.hotfix()
            .env("HOTFIX_PKCS11_PIN", "000000")
            .arg("sign")
            .arg(&pkg)
            .args(["--key", &hsm.uri("second")]),
    );
    assert_eq!(read(&pkg), before);
}

#[test]
fn no_pin_and_no_terminal_is_refused_with_the_ways_to_give_one() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.keygen("hotfix-release", &[]);
    let err = fails_with_usage(
        hsm.hotfix()
            .env_remove("HOTFIX_PKCS11_PIN")
            .arg("build")
            .arg(sample_source())
            .args(["--key", &hsm.uri("hotfix-release"), "--output"])
            .arg(hsm.path("dist")),
    );
    assert!(err.contains("no terminal"), "{err}");
    assert!(err.contains("pin-source"), "{err}");
}

#[test]
fn a_pin_in_the_uri_is_refused_without_being_echoed() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let uri = format!("{}&pin-value={PIN}", hsm.uri("hotfix-release"));
    let err = fails_with_usage(
        hsm.hotfix()
            .args(["keygen", "--key", &uri, "--output"])
            .arg(hsm.path("k")),
    );
    assert!(err.contains("pin-value"), "{err}");
    assert!(!err.contains(PIN), "{err}");
    assert!(!hsm.path("k.pub").exists());
}

#[test]
fn an_unknown_token_is_named_with_the_tokens_there_are() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let uri = format!(
        "pkcs11:token=relaese;object=k?module-path={}",
        hsm.module.display()
    );
    let err = fails_with_usage(
        hsm.hotfix()
            .args(["keygen", "--key", &uri, "--output"])
            .arg(hsm.path("k")),
    );
    assert!(
        err.contains("no PKCS#11 token matches token=relaese"),
        "{err}"
    );
    assert!(err.contains("\"release\""), "{err}");
    assert!(!hsm.path("k.pub").exists());
}

#[test]
fn an_unknown_key_object_is_refused() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let err = fails_with_usage(
        hsm.hotfix()
            .arg("build")
            .arg(sample_source())
            .args(["--key", &hsm.uri("no-such-key"), "--output"])
            .arg(hsm.path("dist")),
    );
    assert!(
        err.contains("no private key matching object=no-such-key on PKCS#11 token \"release\""),
        "{err}"
    );
    assert_eq!(files_in(&hsm.path("dist")), 0);
}

#[test]
fn a_module_that_cannot_be_loaded_is_refused() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let not_a_module = hsm.path("softhsm2.conf");
    for module in [hsm.path("missing.so"), not_a_module] {
        let uri = format!(
            "pkcs11:token=release;object=k?module-path={}",
            module.display()
        );
        let err = fails_with_usage(
            hsm.hotfix()
                .arg("build")
                .arg(sample_source())
                .args(["--key", &uri, "--output"])
                .arg(hsm.path("dist")),
        );
        assert!(
            err.contains(&format!(
                "cannot load the PKCS#11 module {}",
                module.display()
            )),
            "{err}"
        );
    }
    let err = fails_with_usage(
        hsm.hotfix()
            .arg("build")
            .arg(sample_source())
            .args(["--key", "pkcs11:token=release;object=k", "--output"])
            .arg(hsm.path("dist")),
    );
    assert!(err.contains("HOTFIX_PKCS11_MODULE"), "{err}");
}

#[test]
fn a_key_that_is_not_ed25519_is_refused() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.pkcs11_tool(&[
        "--keypairgen",
        "--key-type",
        "EC:prime256v1",
        "--label",
        "p256",
        "--id",
        "0256",
    ]);
    let err = fails_with_usage(
        hsm.hotfix()
            .arg("build")
            .arg(sample_source())
            .args(["--key", &hsm.uri("p256"), "--output"])
            .arg(hsm.path("dist")),
    );
    assert!(err.contains("object=p256"), "{err}");
    assert!(err.contains("not Ed25519"), "{err}");
    assert!(err.contains("EC:edwards25519"), "{err}");
    assert_eq!(files_in(&hsm.path("dist")), 0);
}

#[test]
fn keygen_refuses_a_label_that_is_taken() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    hsm.keygen("hotfix-release", &[]);
    let err = fails_with_usage(
        hsm.hotfix()
            .args(["keygen", "--key", &hsm.uri("hotfix-release"), "--output"])
            .arg(hsm.path("again")),
    );
    assert!(
        err.contains("already holds an object matching object=hotfix-release"),
        "{err}"
    );
    assert!(!hsm.path("again.pub").exists());
    let objects = hsm.pkcs11_tool(&["--list-objects", "--type", "privkey"]);
    assert_eq!(
        objects.matches("Private Key Object").count(),
        1,
        "{objects}"
    );
}

#[test]
fn a_root_key_in_a_token_signs_the_trust_policy() {
    let Some(hsm) = SoftHsm::new("release") else {
        return;
    };
    let (root_pub, _) = hsm.keygen("root", &[]);
    let policy = hsm.path("policy.toml");
    hotfix()
        .args(["trust", "init", "--root"])
        .arg(&root_pub)
        .args(["--root-threshold", "1", "--output"])
        .arg(&policy)
        .assert()
        .success();
    // Unsigned, it is a draft; the token's signature completes it.
    hotfix()
        .args(["trust", "verify"])
        .arg(&policy)
        .assert()
        .code(1);
    hsm.hotfix()
        .args(["trust", "sign"])
        .arg(&policy)
        .args(["--key", &hsm.uri("root")])
        .assert()
        .success();
    hotfix()
        .args(["trust", "verify"])
        .arg(&policy)
        .assert()
        .success();
}
