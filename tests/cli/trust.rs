//! `hotfix trust`: a release engineer's life of a trust policy, from the command line.

use std::path::{Path, PathBuf};

use crate::support::{have_tool, hotfix};

struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    /// Unencrypted keys named `names` in a fresh folder.
    fn new(names: &[&str]) -> Keys {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in names {
            hotfix()
                .args(["keygen", "--no-passphrase", "--output"])
                .arg(dir.path().join(name))
                .assert()
                .success();
        }
        Keys { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }
}

fn trust(keys: &Keys, args: &[&str]) -> assert_cmd::assert::Assert {
    hotfix()
        .current_dir(keys.dir.path())
        .arg("trust")
        .args(args)
        .assert()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

/// root1..3 (2 of 3) and a release key; version 1 signed by root1 and root2.
fn published_v1() -> Keys {
    let k = Keys::new(&["root1", "root2", "root3", "root4", "release"]);
    trust(
        &k,
        &[
            "init",
            "--root",
            "root1.pub",
            "--root",
            "root2.pub",
            "--root",
            "root3.pub",
            "--root-threshold",
            "2",
            "--output",
            "v1.toml",
        ],
    )
    .success();
    trust(
        &k,
        &[
            "add-key",
            "v1.toml",
            "--key",
            "release.pub",
            "--role",
            "release",
        ],
    )
    .success();
    trust(&k, &["sign", "v1.toml", "--key", "root1.key"]).success();
    trust(&k, &["sign", "v1.toml", "--key", "root2.key"]).success();
    k
}

#[test]
fn a_draft_is_not_trusted_until_its_root_threshold_signed_it() {
    let k = Keys::new(&["root1", "root2", "root3", "release"]);
    trust(
        &k,
        &[
            "init",
            "--root",
            "root1.pub",
            "--root",
            "root2.pub",
            "--root",
            "root3.pub",
            "--root-threshold",
            "2",
            "--output",
            "keys/policy.toml",
        ],
    )
    .success();
    trust(
        &k,
        &[
            "add-key",
            "keys/policy.toml",
            "--key",
            "release.pub",
            "--role",
            "release",
        ],
    )
    .success();
    trust(&k, &["sign", "keys/policy.toml", "--key", "root1.key"]).success();
    let refused = trust(&k, &["verify", "keys/policy.toml"]).code(1);
    let err = stderr(&refused);
    assert!(
        err.contains("policy-threshold-not-met")
            && err.contains("1 of its root keys")
            && err.contains("hint:"),
        "{err}"
    );
    trust(&k, &["sign", "keys/policy.toml", "--key", "root3.key"]).success();
    trust(&k, &["verify", "keys/policy.toml"]).success();
    let shown = stdout(&trust(&k, &["show", "keys/policy.toml"]).success());
    assert!(
        shown.contains("2 of 3 keys; signed by 2 (complete)"),
        "{shown}"
    );
    assert!(shown.contains("release"), "{shown}");
}

#[test]
fn a_published_policy_is_never_edited_in_place() {
    let k = published_v1();
    let before = std::fs::read(k.path("v1.toml")).expect("read");
    let refused = trust(
        &k,
        &[
            "revoke",
            "v1.toml",
            "--key-id",
            "0000000000000001",
            "--reason",
            "x",
        ],
    )
    .code(2);
    assert!(
        stderr(&refused).contains("--output policy-v2.toml"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read(k.path("v1.toml")).expect("read"), before);
}

/// Version 2 of `v1.toml` at `out`: the root becomes root2, root3, root4 (2 of 3),
/// signed by two old (root1, root2) and two new (root2, root3) holders.
fn rotate_root(k: &Keys, out: &str) {
    trust(
        k,
        &[
            "rotate-root",
            "v1.toml",
            "--root",
            "root2.pub",
            "--root",
            "root3.pub",
            "--root",
            "root4.pub",
            "--root-threshold",
            "2",
            "--output",
            out,
        ],
    )
    .success();
    for key in ["root1.key", "root2.key", "root3.key"] {
        trust(k, &["sign", out, "--key", key]).success();
    }
}

#[test]
fn a_site_on_version_1_follows_a_root_rotation_and_a_revocation() {
    let k = published_v1();
    let release_id = key_id(&k.path("release.pub"));
    // v2: new root (root2, root3, root4; 2 of 3), signed by 2 old (root1, root2) and 2
    // new (root2, root3) holders.
    rotate_root(&k, "v2.toml");
    // v3 revokes the release key; signed by v2's roots.
    trust(
        &k,
        &[
            "revoke",
            "v2.toml",
            "--key-id",
            &release_id,
            "--reason",
            "laptop stolen",
            "--output",
            "v3.toml",
        ],
    )
    .success();
    for key in ["root3.key", "root4.key"] {
        trust(&k, &["sign", "v3.toml", "--key", key]).success();
    }
    trust(
        &k,
        &[
            "verify", "v3.toml", "--from", "v1.toml", "--chain", "v2.toml",
        ],
    )
    .success();
    let gap = trust(&k, &["verify", "v3.toml", "--from", "v1.toml"]).code(1);
    assert!(
        stderr(&gap).contains("policy-chain-gap"),
        "{}",
        stderr(&gap)
    );
    let back = trust(&k, &["verify", "v1.toml", "--from", "v3.toml"]).code(1);
    assert!(
        stderr(&back).contains("policy-chain-gap") || stderr(&back).contains("policy-rollback"),
        "{}",
        stderr(&back)
    );
    let shown = stdout(&trust(&k, &["show", "v3.toml", "--output-format", "json"]).success());
    let json = crate::support::check_schema("trust-show", shown.as_bytes());
    assert_eq!(json["version"], 3);
    assert_eq!(json["revoked"][0]["key_id"], release_id.as_str());
    assert_eq!(json["revoked"][0]["reason"], "laptop stolen");
    assert_eq!(json["keys"].as_array().map(Vec::len), Some(0));
}

#[test]
fn a_rotation_signed_only_by_the_new_roots_is_refused() {
    let k = published_v1();
    trust(
        &k,
        &[
            "rotate-root",
            "v1.toml",
            "--root",
            "root4.pub",
            "--root-threshold",
            "1",
            "--output",
            "v2.toml",
        ],
    )
    .success();
    trust(&k, &["sign", "v2.toml", "--key", "root4.key"]).success();
    let refused = trust(&k, &["verify", "v2.toml", "--from", "v1.toml"]).code(1);
    let err = stderr(&refused);
    assert!(
        err.contains("policy-threshold-not-met") && err.contains("version 1's root keys"),
        "{err}"
    );
}

#[test]
fn revoking_a_root_key_below_the_threshold_is_refused_and_writes_nothing() {
    let k = Keys::new(&["root1", "root2"]);
    trust(
        &k,
        &[
            "init",
            "--root",
            "root1.pub",
            "--root",
            "root2.pub",
            "--root-threshold",
            "2",
            "--output",
            "p.toml",
        ],
    )
    .success();
    let before = std::fs::read(k.path("p.toml")).expect("read");
    let id = key_id(&k.path("root1.pub"));
    let refused = trust(
        &k,
        &["revoke", "p.toml", "--key-id", &id, "--reason", "lost"],
    )
    .code(2);
    assert!(
        stderr(&refused).contains("rotate-root"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read(k.path("p.toml")).expect("read"), before);
}

#[test]
fn a_tampered_policy_is_refused() {
    let k = published_v1();
    let text = std::fs::read_to_string(k.path("v1.toml")).expect("read");
    std::fs::write(
        k.path("v1.toml"),
        text.replace(
            "threshold = 1\nrequire_role",
            "threshold = 1\n#\nrequire_role",
        ),
    )
    .expect("write");
    let refused = trust(&k, &["verify", "v1.toml", "--output-format", "json"]).code(1);
    let json = crate::support::check_schema("trust-verify", stdout(&refused).as_bytes());
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"][0]["rule"], "policy-threshold-not-met");
}

#[test]
fn each_policy_signature_verifies_with_minisign() {
    if !have_tool("minisign") {
        eprintln!("skipped: minisign is not installed");
        return;
    }
    let k = published_v1();
    let text = std::fs::read_to_string(k.path("v1.toml")).expect("read");
    let marker = "-----BEGIN HOTFIX TRUST POLICY SIGNATURES-----\n";
    let at = text.find(marker).expect("marker");
    std::fs::write(k.path("body"), &text[..at]).expect("write");
    let blocks: Vec<&str> = text[at + marker.len()..].lines().collect();
    for (block, key) in blocks.chunks(4).zip(["root1.pub", "root2.pub"]) {
        std::fs::write(k.path("body.minisig"), format!("{}\n", block.join("\n"))).expect("write");
        let out = std::process::Command::new("minisign")
            .args(["-V", "-m"])
            .arg(k.path("body"))
            .arg("-p")
            .arg(k.path(key))
            .output()
            .expect("minisign");
        assert!(
            out.status.success(),
            "minisign -V: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The key id in a minisign public key file, as `hotfix` prints it.
fn key_id(pub_file: &Path) -> String {
    let text = std::fs::read_to_string(pub_file).expect("read");
    let comment = text.lines().next().expect("line");
    // `hotfix keygen` comments are "hotfix public key <ID>".
    comment.rsplit(' ').next().expect("id").to_owned()
}

fn index(keys: &Keys, args: &[&str]) -> assert_cmd::assert::Assert {
    hotfix()
        .current_dir(keys.dir.path())
        .arg("index")
        .args(args)
        .assert()
}

/// Builds the sample hotfix signed by `release.key` into `dist/`.
fn build_sample(k: &Keys) -> PathBuf {
    hotfix()
        .current_dir(k.dir.path())
        .env("SOURCE_DATE_EPOCH", "1764028800")
        .arg("build")
        .arg(crate::support::sample_source())
        .args(["--key", "release.key", "--output", "dist/"])
        .assert()
        .success();
    k.path("dist/HF-7.0.3-0042.zip")
}

#[test]
fn a_release_engineer_publishes_an_index_then_withdraws_the_hotfix() {
    let k = published_v1();
    build_sample(&k);
    index(
        &k,
        &[
            "init",
            "--release",
            "7.0",
            "--support-package",
            "SP3",
            "--output",
            "index.toml",
        ],
    )
    .success();
    index(&k, &["add", "index.toml", "dist/HF-7.0.3-0042.zip"]).success();
    // Unsigned: not trusted.
    let unsigned = index(&k, &["verify", "index.toml", "--trusted", "v1.toml"]).code(1);
    assert!(
        stderr(&unsigned).contains("threshold-not-met"),
        "{}",
        stderr(&unsigned)
    );
    index(&k, &["sign", "index.toml", "--key", "release.key"]).success();
    index(&k, &["verify", "index.toml", "--trusted", "v1.toml"]).success();

    let in_place = index(
        &k,
        &[
            "withdraw",
            "index.toml",
            "--id",
            "HF-7.0.3-0042",
            "--reason",
            "x",
        ],
    )
    .code(2);
    assert!(
        stderr(&in_place).contains("--output index-v2.toml"),
        "{}",
        stderr(&in_place)
    );
    index(
        &k,
        &[
            "withdraw",
            "index.toml",
            "--id",
            "HF-7.0.3-0042",
            "--reason",
            "breaks chat routing",
            "--output",
            "index-v2.toml",
        ],
    )
    .success();
    index(&k, &["sign", "index-v2.toml", "--key", "release.key"]).success();
    index(&k, &["verify", "index-v2.toml", "--trusted", "v1.toml"]).success();
    let shown = stdout(&index(&k, &["show", "index-v2.toml", "--output-format", "json"]).success());
    let json = crate::support::check_schema("index-show", shown.as_bytes());
    assert_eq!(json["version"], 2);
    assert_eq!(json["base"]["release"], "7.0");
    assert_eq!(json["withdrawn"][0]["id"], "HF-7.0.3-0042");
    assert_eq!(json["hotfixes"].as_array().map(Vec::len), Some(0));
    // The same package cannot be listed again once withdrawn.
    let again = index(
        &k,
        &[
            "add",
            "index-v2.toml",
            "--output",
            "index-v3.toml",
            "dist/HF-7.0.3-0042.zip",
        ],
    )
    .code(2);
    assert!(stderr(&again).contains("withdrawn"), "{}", stderr(&again));
}

#[test]
fn an_index_signed_by_a_key_outside_the_policy_is_refused() {
    let k = published_v1();
    index(
        &k,
        &[
            "init",
            "--release",
            "7.0",
            "--support-package",
            "SP3",
            "--output",
            "index.toml",
        ],
    )
    .success();
    index(&k, &["sign", "index.toml", "--key", "root4.key"]).success();
    let refused = index(&k, &["verify", "index.toml", "--trusted", "v1.toml"]).code(1);
    let err = stderr(&refused);
    assert!(
        err.contains("key-unknown") && err.contains("hint:"),
        "{err}"
    );
}

#[test]
fn sbom_prints_the_packages_cyclonedx_bom_with_the_msi_properties() {
    let k = published_v1();
    let pkg = build_sample(&k);
    let inspected = stdout(
        &hotfix()
            .args(["inspect", "--output-format", "json"])
            .arg(&pkg)
            .assert()
            .success(),
    );
    let inspected: serde_json::Value = serde_json::from_str(&inspected).expect("json");
    let out = hotfix().arg("sbom").arg(&pkg).assert().success();
    let bom: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["metadata"]["component"]["name"], "HF-7.0.3-0042");
    let product_code = inspected["manifest"]["msis"][0]["product_code"]
        .as_str()
        .expect("product code");
    assert!(
        String::from_utf8_lossy(&out.get_output().stdout).contains(product_code),
        "the MSI's ProductCode is in the SBOM"
    );
}

/// `hotfix extract` of the sample with a policy (and index) into `install`.
fn extract_with(
    k: &Keys,
    install: &str,
    policy: &str,
    extra: &[&str],
) -> assert_cmd::assert::Assert {
    std::fs::create_dir_all(k.path(install)).expect("mkdir");
    hotfix()
        .current_dir(k.dir.path())
        .args([
            "extract",
            "dist/HF-7.0.3-0042.zip",
            "--install-dir",
            install,
            "--trusted",
            policy,
        ])
        .args(extra)
        .assert()
}

/// v2 of the index withdraws another hotfix only; v3 withdraws the sample.
fn publish_indexes(k: &Keys) {
    index(
        k,
        &[
            "init",
            "--release",
            "7.0",
            "--support-package",
            "SP3",
            "--output",
            "index-v1.toml",
        ],
    )
    .success();
    index(k, &["add", "index-v1.toml", "dist/HF-7.0.3-0042.zip"]).success();
    index(k, &["sign", "index-v1.toml", "--key", "release.key"]).success();
    index(
        k,
        &[
            "withdraw",
            "index-v1.toml",
            "--id",
            "HF-7.0.3-0001",
            "--reason",
            "old",
            "--output",
            "index-v2.toml",
        ],
    )
    .success();
    index(k, &["sign", "index-v2.toml", "--key", "release.key"]).success();
    index(
        k,
        &[
            "withdraw",
            "index-v2.toml",
            "--id",
            "HF-7.0.3-0042",
            "--reason",
            "breaks chat routing",
            "--output",
            "index-v3.toml",
        ],
    )
    .success();
    index(k, &["sign", "index-v3.toml", "--key", "release.key"]).success();
}

#[test]
fn verify_and_extract_follow_the_policy_and_the_release_index() {
    let k = published_v1();
    build_sample(&k);
    publish_indexes(&k);
    hotfix()
        .current_dir(k.dir.path())
        .args([
            "verify",
            "dist/HF-7.0.3-0042.zip",
            "--trusted",
            "v1.toml",
            "--index",
            "index-v1.toml",
        ])
        .assert()
        .success();
    extract_with(&k, "site", "v1.toml", &["--index", "index-v1.toml"]).success();
    extract_with(
        &k,
        "site",
        "v1.toml",
        &["--index", "index-v2.toml", "--reinstall"],
    )
    .success();
    // The site saw index version 2: version 1 is a rollback now.
    let back = extract_with(
        &k,
        "site",
        "v1.toml",
        &["--index", "index-v1.toml", "--reinstall"],
    )
    .code(1);
    assert!(
        stdout(&back).contains("index-rollback"),
        "{}",
        stdout(&back)
    );

    // Withdrawn: a fresh site refuses it and is left as it was (but for its lock).
    let refused = extract_with(&k, "fresh", "v1.toml", &["--index", "index-v3.toml"]).code(1);
    let out = stdout(&refused);
    assert!(
        out.contains("hotfix-withdrawn") && out.contains("breaks chat routing"),
        "{out}"
    );
    assert!(stderr(&refused).contains("hint:"), "{}", stderr(&refused));
    assert!(!k.path("fresh/Install/hotfixes/HF-7.0.3-0042").exists());
    let verify = hotfix()
        .current_dir(k.dir.path())
        .args([
            "verify",
            "dist/HF-7.0.3-0042.zip",
            "--trusted",
            "v1.toml",
            "--index",
            "index-v3.toml",
            "--output-format",
            "json",
        ])
        .assert()
        .code(1);
    let json = crate::support::check_schema("verify", stdout(&verify).as_bytes());
    assert_eq!(json["problems"][0]["rule"], "hotfix-withdrawn");
    assert!(json["problems"][0]["hint"].is_string(), "{json}");

    // The installed site learns of the withdrawal from `list --index`.
    let listed = hotfix()
        .current_dir(k.dir.path())
        .args([
            "list",
            "--install-dir",
            "site",
            "--trusted",
            "v1.toml",
            "--index",
            "index-v3.toml",
            "--output-format",
            "json",
        ])
        .assert()
        .code(1);
    let json = crate::support::check_schema("list", stdout(&listed).as_bytes());
    assert_eq!(json["hotfixes"][0]["index"], "withdrawn");
    let text = hotfix()
        .current_dir(k.dir.path())
        .args([
            "list",
            "--install-dir",
            "site",
            "--trusted",
            "v1.toml",
            "--index",
            "index-v2.toml",
        ])
        .assert()
        .success();
    assert!(stdout(&text).contains("HF-7.0.3-0042"), "{}", stdout(&text));
}

#[test]
fn an_installation_follows_the_policy_chain_and_refuses_an_older_policy() {
    let k = published_v1();
    build_sample(&k);
    extract_with(&k, "site", "v1.toml", &[]).success();
    // v2 rotates the root; v3 adds nothing but a new version.
    std::fs::create_dir(k.path("next")).expect("mkdir");
    rotate_root(&k, "next/v2.toml");
    let release_id = key_id(&k.path("release.pub"));
    trust(
        &k,
        &[
            "revoke",
            "next/v2.toml",
            "--key-id",
            "00000000000000AA",
            "--reason",
            "test",
            "--output",
            "next/v3.toml",
        ],
    )
    .success();
    for key in ["root3.key", "root4.key"] {
        trust(&k, &["sign", "next/v3.toml", "--key", key]).success();
    }
    // Without v2 beside it, v3 cannot be reached from the accepted v1.
    std::fs::create_dir(k.path("alone")).expect("mkdir");
    std::fs::copy(k.path("next/v3.toml"), k.path("alone/v3.toml")).expect("copy");
    let gap = extract_with(&k, "site", "alone/v3.toml", &["--reinstall"]).code(1);
    assert!(
        stdout(&gap).contains("policy-chain-gap"),
        "{}",
        stdout(&gap)
    );
    // With it, the site moves to v3...
    extract_with(&k, "site", "next/v3.toml", &["--reinstall"]).success();
    // ...and refuses v1 from then on.
    let old = extract_with(&k, "site", "v1.toml", &["--reinstall"]).code(1);
    assert!(stdout(&old).contains("policy-rollback"), "{}", stdout(&old));

    // Revoking the release key stops its packages everywhere.
    trust(
        &k,
        &[
            "revoke",
            "next/v3.toml",
            "--key-id",
            &release_id,
            "--reason",
            "laptop stolen",
            "--output",
            "next/v4.toml",
        ],
    )
    .success();
    for key in ["root3.key", "root4.key"] {
        trust(&k, &["sign", "next/v4.toml", "--key", key]).success();
    }
    let revoked = extract_with(&k, "site", "next/v4.toml", &["--reinstall"]).code(1);
    assert!(
        stderr(&revoked).contains("key-revoked"),
        "{}",
        stderr(&revoked)
    );
    // ...and `list --trusted` judges installed folders by the same policy: the folder
    // signed by the revoked key is no longer trusted, and says why.
    let listed = hotfix()
        .current_dir(k.dir.path())
        .args(["list", "--install-dir", "site", "--trusted", "next/v4.toml"])
        .args(["--output-format", "json"])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&listed)).expect("json");
    assert_eq!(json["hotfixes"][0]["status"], "untrusted", "{json}");
    assert!(
        json["hotfixes"][0]["problems"]
            .to_string()
            .contains("key-revoked"),
        "{json}"
    );
    hotfix()
        .current_dir(k.dir.path())
        .args(["list", "--install-dir", "site", "--trusted", "next/v3.toml"])
        .assert()
        .success();
}

#[test]
fn the_simulator_reports_an_extract_of_a_withdrawn_hotfix_as_a_violation() {
    let k = published_v1();
    build_sample(&k);
    publish_indexes(&k);
    let model = crate::support::repo_root().join("simulator/scenarios/models/contact-center.xml");
    let scenario = |name: &str, index: &str| {
        std::fs::write(
            k.path(name),
            format!(
                "model = {:?}\npackage = \"dist/HF-7.0.3-0042.zip\"\ntrusted = \"v1.toml\"\nindex = \"{index}\"\nrunbook = \"standard-install\"\n",
                model.display().to_string()
            ),
        )
        .expect("write scenario");
    };
    let run = |name: &str| {
        hotfix()
            .current_dir(k.dir.path())
            .args(["sim", "run", name, "--output-format", "json"])
            .assert()
    };
    // Index version 2 lists the sample as current: the standard install passes.
    scenario("current.toml", "index-v2.toml");
    run("current.toml").success();
    // Version 3 withdraws it: the extract step breaks `hotfix-withdrawn`, exit 1.
    scenario("withdrawn.toml", "index-v3.toml");
    let out = run("withdrawn.toml").code(1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let text = json.to_string();
    assert!(text.contains("\"hotfix-withdrawn\""), "{json:#}");
    assert!(text.contains("breaks chat routing"), "{json:#}");
    // The index is an input of a sweep: a different index is a different sweep.
    let plan = hotfix()
        .current_dir(k.dir.path())
        .args([
            "sim",
            "sweep",
            "withdrawn.toml",
            "--seeds",
            "1..=1",
            "--no-fail",
        ])
        .args(["--output-format", "json"])
        .assert()
        .success();
    assert!(stdout(&plan).contains("index-v3.toml"), "{}", stdout(&plan));
    // An index needs a trust policy, not a key.
    std::fs::write(
        k.path("keyonly.toml"),
        format!(
            "model = {:?}\npackage = \"dist/HF-7.0.3-0042.zip\"\ntrusted = \"release.pub\"\nindex = \"index-v3.toml\"\nrunbook = \"standard-install\"\n",
            model.display().to_string()
        ),
    )
    .expect("write scenario");
    let refused = hotfix()
        .current_dir(k.dir.path())
        .args(["sim", "run", "keyonly.toml"])
        .assert()
        .code(2);
    assert!(stderr(&refused).contains("hint:"), "{}", stderr(&refused));
}
