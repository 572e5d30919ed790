//! `hotfix build`, `hotfix sign` and `hotfix inspect` end to end.
//!
//! Keys are made with `hotfix keygen --no-passphrase` except in one test: an encrypted
//! key costs about 1 GiB and a few seconds of scrypt per use.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use crate::support::{have_tool, hotfix, read, sample_source};

const EPOCH: &str = "1700000000";
const SAMPLE_ID: &str = "HF-7.0.3-0042";

fn sha256_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new unencrypted key pair `dir/name.{key,pub}`; returns (prefix, key id).
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let prefix = dir.join(name);
    let out = hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(&prefix)
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
    (prefix, id)
}

fn key_file(prefix: &Path) -> PathBuf {
    prefix.with_extension("key")
}

fn pub_file(prefix: &Path) -> PathBuf {
    prefix.with_extension("pub")
}

/// `hotfix build SOURCE --key KEY --output OUT` with a fixed SOURCE_DATE_EPOCH.
fn build(source: &Path, key: &Path, output: &Path) -> assert_cmd::Command {
    let mut cmd = hotfix();
    cmd.env("SOURCE_DATE_EPOCH", EPOCH)
        .arg("build")
        .arg(source)
        .arg("--key")
        .arg(key)
        .arg("--output")
        .arg(output);
    cmd
}

/// Builds the sample into `dir/out/`; returns the package path.
fn build_sample(dir: &Path, key: &Path) -> PathBuf {
    let out = dir.join("out");
    let assert = build(&sample_source(), key, &out).assert().success();
    let printed = String::from_utf8_lossy(&assert.get_output().stdout)
        .trim()
        .to_owned();
    let pkg = out.join(format!("{SAMPLE_ID}.zip"));
    assert_eq!(PathBuf::from(printed), pkg);
    pkg
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a failing command: exit code 2, returns stderr.
fn fails_with_usage(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("run");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains("error:") && err.contains("hint:"),
        "stderr: {err}"
    );
    err
}

/// Every file of a source folder as (entry name, bytes), for sources laid out like the
/// sample (entry names are the paths under the source folder).
fn source_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, read(&path)));
            }
        }
    }
    let mut out = Vec::new();
    for sub in ["server", "client", "docs"] {
        if root.join(sub).is_dir() {
            walk(root, &root.join(sub), &mut out);
        }
    }
    out.sort();
    out
}

/// A small source without MSI: `hotfix.toml` plus one software package.
fn tiny_source(dir: &Path, extra_toml: &str) -> PathBuf {
    let root = dir.join("src");
    let files = root.join("server/ChatServer");
    std::fs::create_dir_all(files.join("bin")).expect("mkdir");
    std::fs::write(files.join("bin/chat.jar"), b"PK not really a jar").expect("write");
    std::fs::write(files.join("chat.properties"), "retries=3\n".repeat(50)).expect("write");
    std::fs::write(
        root.join("hotfix.toml"),
        format!(
            "id = \"HF-TEST-0001\"\nversion = 1\ntitle = \"Test\"\nrelease = \"7.0\"\n\
             support-package = \"SP3\"\n\n[[software-package]]\nname = \"ChatServer\"\n\
             version = \"7.0.3.1\"\ndir = \"server/ChatServer\"\n{extra_toml}"
        ),
    )
    .expect("write toml");
    root
}

fn inspect_json(pkg: &Path) -> serde_json::Value {
    let out = hotfix()
        .args(["inspect", "--output-format", "json"])
        .arg(pkg)
        .output()
        .expect("inspect");
    assert!(out.status.success(), "inspect: {}", stderr_of(&out));
    crate::support::check_schema("inspect", &out.stdout)
}

#[test]
fn inspect_shows_what_the_sample_source_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, key_id) = keygen(dir.path(), "release");
    let pkg = build_sample(dir.path(), &key_file(&key));
    let files = source_files(&sample_source());
    assert_eq!(files.len(), 10, "the sample changed; update this test");

    let out = hotfix().arg("inspect").arg(&pkg).output().expect("inspect");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.contains("NOT VERIFIED") && first.contains("hotfix verify"),
        "{first}"
    );
    assert!(
        text.contains(&format!("id:          {SAMPLE_ID}")),
        "{text}"
    );
    assert!(text.contains("version:     3"), "{text}");
    assert!(text.contains("base:        7.0 SP3"), "{text}");
    assert!(text.contains("supersedes:  HF-7.0.3-0040"), "{text}");
    assert!(
        text.contains("software package ChatServer 7.0.3.12"),
        "{text}"
    );
    for (name, data) in &files {
        let line = format!("{:>12}  {}  {name}", data.len(), sha256_hex(data));
        assert!(text.contains(&line), "missing {line:?} in\n{text}");
    }
    assert!(
        text.contains(&format!("{key_id}  signatures/{key_id}.minisig")),
        "{text}"
    );

    let json = inspect_json(&pkg);
    assert_eq!(json["verified"], false);
    let m = &json["manifest"];
    assert_eq!(m["id"], SAMPLE_ID);
    assert_eq!(m["version"], 3);
    assert_eq!(m["created"], "2023-11-14T22:13:20Z");
    assert_eq!(json["signers"][0]["key_id"], key_id.as_str());
    let mut listed: Vec<(String, u64, String)> = Vec::new();
    let mut push = |f: &serde_json::Value| {
        listed.push((
            f["path"].as_str().expect("path").to_owned(),
            f["size"].as_u64().expect("size"),
            f["sha256"].as_str().expect("sha256").to_owned(),
        ))
    };
    for p in m["software_packages"].as_array().expect("packages") {
        p["files"]
            .as_array()
            .expect("files")
            .iter()
            .for_each(&mut push);
    }
    for msi in m["msis"].as_array().expect("msis") {
        push(&msi["file"]);
    }
    m["docs"]
        .as_array()
        .expect("docs")
        .iter()
        .for_each(&mut push);
    listed.sort();
    // The source files, and the SBOM the build adds (its bytes are `hotfix sbom`'s).
    let sbom = hotfix().arg("sbom").arg(&pkg).output().expect("sbom");
    assert!(sbom.status.success(), "{}", stderr_of(&sbom));
    let mut expected: Vec<(String, u64, String)> = files
        .iter()
        .map(|(n, d)| (n.clone(), d.len() as u64, sha256_hex(d)))
        .collect();
    expected.push((
        "docs/sbom.cdx.json".to_owned(),
        sbom.stdout.len() as u64,
        sha256_hex(&sbom.stdout),
    ));
    expected.sort();
    assert_eq!(listed, expected);

    // The MSI's identity is what the MSI itself says (read by an independent tool).
    let msi = &m["msis"][0];
    assert_eq!(msi["replaces_version"], "7.0.3.4");
    if have_tool("msiinfo") {
        let props = Command::new("msiinfo")
            .arg("export")
            .arg(sample_source().join("client/AgentDesktop.msi"))
            .arg("Property")
            .output()
            .expect("msiinfo");
        let props = String::from_utf8_lossy(&props.stdout);
        let value = |name: &str| {
            props
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name}\t")))
                .map(|v| v.trim_end_matches('\r').to_owned())
                .unwrap_or_else(|| panic!("msiinfo shows no {name}"))
        };
        assert_eq!(msi["product_code"], value("ProductCode").as_str());
        assert_eq!(msi["upgrade_code"], value("UpgradeCode").as_str());
        assert_eq!(msi["product_version"], value("ProductVersion").as_str());
        assert!(
            text.contains(&format!("ProductCode:    {}", value("ProductCode"))),
            "{text}"
        );
    }
}

#[test]
fn build_json_report_names_the_package_its_hash_and_signer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, key_id) = keygen(dir.path(), "release");
    let out = build(
        &sample_source(),
        &key_file(&key),
        &dir.path().join("dist/pkg.zip"),
    )
    .args(["--output-format", "json"])
    .output()
    .expect("build");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = crate::support::check_schema("build", &out.stdout);
    let pkg = dir.path().join("dist/pkg.zip");
    let bytes = read(&pkg);
    assert_eq!(report["id"], SAMPLE_ID);
    assert_eq!(report["version"], 3);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["ok"], true);
    assert_eq!(report["package"], pkg.to_str().expect("utf-8 path"));
    assert_eq!(report["package_bytes"], bytes.len() as u64);
    assert_eq!(report["sha256"], sha256_hex(&bytes).as_str());
    assert_eq!(report["files"], 11, "the sample's ten files and the SBOM");
    assert_eq!(report["signers"][0]["key_id"], key_id.as_str());
    assert_eq!(
        report["signers"][0]["entry"],
        format!("signatures/{key_id}.minisig")
    );
}

#[test]
fn builds_with_the_same_source_date_epoch_are_byte_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let a = build_sample(&dir.path().join("a"), &key_file(&key));
    let b = build_sample(&dir.path().join("b"), &key_file(&key));
    assert!(read(&a) == read(&b), "two builds differ");

    let c = dir.path().join("c.zip");
    build(&sample_source(), &key_file(&key), &c)
        .env("SOURCE_DATE_EPOCH", "1700000100")
        .assert()
        .success();
    assert!(
        read(&a) != read(&c),
        "another SOURCE_DATE_EPOCH gave the same bytes"
    );
}

#[test]
fn an_invalid_source_date_epoch_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let out = dir.path().join("out");
    let err = fails_with_usage(
        build(&sample_source(), &key_file(&key), &out).env("SOURCE_DATE_EPOCH", "yesterday"),
    );
    assert!(err.contains("SOURCE_DATE_EPOCH"), "{err}");
    assert!(!out.join(format!("{SAMPLE_ID}.zip")).exists());
}

#[test]
fn unzip_accepts_the_package() {
    if !have_tool("unzip") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let pkg = build_sample(dir.path(), &key_file(&key));
    let out = Command::new("unzip")
        .arg("-t")
        .arg(&pkg)
        .output()
        .expect("unzip");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Extracts one entry with `unzip -p` into `to`.
fn unzip_entry(pkg: &Path, entry: &str, to: &Path) {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(pkg)
        .arg(entry)
        .output()
        .expect("unzip");
    assert!(out.status.success(), "unzip -p {entry}");
    std::fs::write(to, out.stdout).expect("write");
}

#[test]
fn minisign_verifies_the_manifest_signature() {
    if !(have_tool("minisign") && have_tool("unzip")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, key_id) = keygen(dir.path(), "release");
    let pkg = build_sample(dir.path(), &key_file(&key));
    let xml = dir.path().join("hotfix.xml");
    let sig = dir.path().join("hotfix.xml.minisig");
    unzip_entry(&pkg, "hotfix.xml", &xml);
    unzip_entry(&pkg, &format!("signatures/{key_id}.minisig"), &sig);
    let out = Command::new("minisign")
        .arg("-Vm")
        .arg(&xml)
        .arg("-x")
        .arg(&sig)
        .arg("-p")
        .arg(pub_file(&key))
        .output()
        .expect("minisign");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "minisign -V: {said}{}",
        stderr_of(&out)
    );
    assert!(
        said.contains(&format!(
            "hotfix-id:{SAMPLE_ID} version:3 manifest-sha256:{}",
            sha256_hex(&read(&xml))
        )),
        "{said}"
    );
}

#[test]
fn a_key_made_by_minisign_builds_a_package() {
    if !(have_tool("minisign") && have_tool("unzip")) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, public) = (dir.path().join("m.key"), dir.path().join("m.pub"));
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&key)
        .output()
        .expect("minisign -G");
    assert!(out.status.success(), "minisign -G: {}", stderr_of(&out));
    let pkg = build_sample(dir.path(), &key);
    let signer = inspect_json(&pkg)["signers"][0]["key_id"]
        .as_str()
        .expect("signer")
        .to_owned();
    let xml = dir.path().join("hotfix.xml");
    let sig = dir.path().join("sig");
    unzip_entry(&pkg, "hotfix.xml", &xml);
    unzip_entry(&pkg, &format!("signatures/{signer}.minisig"), &sig);
    let out = Command::new("minisign")
        .arg("-Vm")
        .arg(&xml)
        .arg("-x")
        .arg(&sig)
        .arg("-p")
        .arg(&public)
        .output()
        .expect("minisign -V");
    assert!(out.status.success(), "minisign -V: {}", stderr_of(&out));
}

#[test]
fn a_wrong_passphrase_is_refused_and_leaves_no_output() {
    // The only encrypted key of the suite: scrypt makes each use take seconds.
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = dir.path().join("locked");
    hotfix()
        .env("HOTFIX_PASSPHRASE", "correct horse")
        .args(["keygen", "--output"])
        .arg(&prefix)
        .assert()
        .success();
    let out = dir.path().join("out");
    let err = fails_with_usage(
        build(&sample_source(), &key_file(&prefix), &out)
            .env("HOTFIX_PASSPHRASE", "battery staple"),
    );
    assert!(
        err.contains("passphrase") && err.contains("HOTFIX_PASSPHRASE"),
        "{err}"
    );
    let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "the failed build left files in {}", out.display());

    build(&sample_source(), &key_file(&prefix), &out)
        .env("HOTFIX_PASSPHRASE", "correct horse")
        .assert()
        .success();
    assert!(out.join(format!("{SAMPLE_ID}.zip")).is_file());
}

#[test]
fn a_missing_payload_folder_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(
        dir.path(),
        "\n[[software-package]]\nname = \"RoutingEngine\"\nversion = \"7.0.3.8\"\ndir = \"server/Missing\"\n",
    );
    let err = fails_with_usage(&mut build(&src, &key_file(&key), &dir.path().join("out")));
    assert!(err.contains("server/Missing"), "{err}");
}

#[test]
fn a_missing_msi_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(
        dir.path(),
        "\n[[msi]]\nfile = \"client/Gone.msi\"\nreplaces-version = \"1.0\"\n",
    );
    let err = fails_with_usage(&mut build(&src, &key_file(&key), &dir.path().join("out")));
    assert!(err.contains("client/Gone.msi"), "{err}");
}

#[test]
fn a_file_that_is_not_an_msi_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(
        dir.path(),
        "\n[[msi]]\nfile = \"client/Fake.msi\"\nreplaces-version = \"1.0\"\n",
    );
    std::fs::create_dir_all(src.join("client")).expect("mkdir");
    std::fs::write(
        src.join("client/Fake.msi"),
        b"this is a text file, not an MSI\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let err = fails_with_usage(&mut build(&src, &key_file(&key), &out));
    assert!(err.contains("Fake.msi"), "{err}");
    assert!(err.contains("not an MSI"), "{err}");
    assert!(!out.join("HF-TEST-0001.zip").exists());
}

#[test]
fn a_bad_hotfix_toml_names_the_key_and_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(dir.path(), "");
    let toml = src.join("hotfix.toml");
    let text = std::fs::read_to_string(&toml).expect("read");
    // Line 3 is `title = ...`; misspell its key.
    std::fs::write(&toml, text.replacen("title =", "titel =", 1)).expect("write");
    let err = fails_with_usage(&mut build(&src, &key_file(&key), &dir.path().join("out")));
    assert!(err.contains("hotfix.toml:3"), "{err}");
    assert!(err.contains("titel"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlink_in_the_payload_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(dir.path(), "");
    std::os::unix::fs::symlink("/etc/hostname", src.join("server/ChatServer/bin/host"))
        .expect("symlink");
    let err = fails_with_usage(&mut build(&src, &key_file(&key), &dir.path().join("out")));
    assert!(
        err.contains("bin/host") && err.contains("symbolic link"),
        "{err}"
    );
}

#[test]
fn an_existing_output_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let existing = out.join(format!("{SAMPLE_ID}.zip"));
    std::fs::write(&existing, b"precious").expect("write");
    let err = fails_with_usage(&mut build(&sample_source(), &key_file(&key), &out));
    assert!(err.contains("already exists"), "{err}");
    assert!(
        err.contains("remove it or choose another --output"),
        "{err}"
    );
    assert_eq!(read(&existing), b"precious");
    // Naming the file itself is refused the same way.
    fails_with_usage(&mut build(&sample_source(), &key_file(&key), &existing));
    assert_eq!(read(&existing), b"precious");
}

#[test]
fn cosigning_adds_a_signature_and_the_same_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, first_id) = keygen(dir.path(), "first");
    let (second, second_id) = keygen(dir.path(), "second");
    let src = tiny_source(dir.path(), "");
    let pkg = dir.path().join("HF-TEST-0001.zip");
    build(&src, &key_file(&first), &pkg).assert().success();

    hotfix()
        .arg("sign")
        .arg(&pkg)
        .arg("--key")
        .arg(key_file(&second))
        .assert()
        .success();
    let json = inspect_json(&pkg);
    let mut signers: Vec<&str> = json["signers"]
        .as_array()
        .expect("signers")
        .iter()
        .map(|s| s["key_id"].as_str().expect("key id"))
        .collect();
    let mut expected = vec![first_id.as_str(), second_id.as_str()];
    expected.sort();
    assert_eq!(signers, expected, "signatures are in key-id order");
    signers.dedup();
    assert_eq!(signers.len(), 2);
    if have_tool("unzip") {
        let out = Command::new("unzip")
            .arg("-t")
            .arg(&pkg)
            .output()
            .expect("unzip");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    let before = read(&pkg);
    for key in [&second, &first] {
        let err = fails_with_usage(
            hotfix()
                .arg("sign")
                .arg(&pkg)
                .arg("--key")
                .arg(key_file(key)),
        );
        assert!(err.contains("already signed"), "{err}");
    }
    let err = fails_with_usage(
        hotfix()
            .arg("sign")
            .arg(&pkg)
            .arg("--key")
            .arg(key_file(&second)),
    );
    assert!(err.contains(&second_id), "{err}");
    assert!(
        read(&pkg) == before,
        "a refused signing changed the package"
    );
}

/// Rules the strict reader finds from the archive's structure alone (no payload data
/// read): inspect and sign must see exactly these, as verify does.
fn is_structure_rule(rule: &str) -> bool {
    rule.starts_with("archive-")
        || rule.starts_with("entries-")
        || rule.starts_with("local-header-")
        || [
            "entry-data-descriptor",
            "entry-directory",
            "entry-encrypted",
            "entry-extra-field",
            "entry-symlink",
            "entry-unsupported-method",
            "entry-version-needed",
            "entry-zip64-unneeded",
            "entry-time",
        ]
        .contains(&rule)
}

/// The hostile corpus rows whose rule the strict reader finds from the structure.
fn structure_attacks() -> Vec<(PathBuf, String)> {
    let dir = crate::support::repo_root().join("tests/data/hostile");
    let tsv = std::fs::read_to_string(dir.join("corpus.tsv")).expect("corpus.tsv");
    let rows: Vec<(PathBuf, String)> = tsv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let (file, rule) = (cols.next()?, cols.next()?);
            // Every entry agreeing on a time that is not the manifest's `created` is
            // judged against the (verified) manifest, not from the structure.
            (is_structure_rule(rule) && file != "entry-times-not-the-created-time.zip")
                .then(|| (dir.join(file), rule.to_owned()))
        })
        .collect();
    assert!(rows.len() > 15, "{rows:?}");
    rows
}

#[test]
fn inspect_names_every_structure_problem_with_the_rule_verify_uses() {
    for (file, rule) in structure_attacks() {
        let out = hotfix().arg("inspect").arg(&file).output().expect("run");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), stderr_of(&out));
        assert_ne!(
            out.status.code(),
            Some(0),
            "{}: inspect accepted it\n{stdout}",
            file.display()
        );
        assert!(
            stdout.contains(&rule) || stderr.contains(&rule),
            "{}: {rule} not named\nstdout: {stdout}\nstderr: {stderr}",
            file.display()
        );
        assert!(stderr.contains("hint:"), "{}: {stderr}", file.display());
    }
}

#[test]
fn inspect_shows_what_it_can_of_a_package_broken_after_its_signatures() {
    let file = crate::support::repo_root().join("tests/data/hostile/gap-between-entries.zip");
    let out = hotfix().arg("inspect").arg(&file).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr_of(&out));
    assert!(stdout.contains("id:"), "{stdout}");
    assert!(stdout.contains("entries-gap"), "{stdout}");
}

#[test]
fn sign_refuses_every_structure_problem_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "approver");
    for (file, rule) in structure_attacks() {
        let copy = dir.path().join(file.file_name().expect("name"));
        std::fs::copy(&file, &copy).expect("copy");
        let before = read(&copy);
        let err = fails_with_usage(
            hotfix()
                .arg("sign")
                .arg(&copy)
                .arg("--key")
                .arg(key_file(&key)),
        );
        assert!(
            err.contains(&rule),
            "{}: {rule} not named: {err}",
            file.display()
        );
        assert!(read(&copy) == before, "{}: sign changed it", file.display());
    }
}

#[test]
fn inspect_refuses_what_is_not_a_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip at all").expect("write");
    let err = fails_with_usage(hotfix().arg("inspect").arg(&junk));
    assert!(err.contains("junk.zip"), "{err}");
    let err = fails_with_usage(hotfix().arg("inspect").arg(dir.path().join("missing.zip")));
    assert!(err.contains("missing.zip"), "{err}");
}

#[test]
fn inspect_escapes_characters_that_could_disguise_the_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = keygen(dir.path(), "release");
    let src = tiny_source(dir.path(), "");
    let toml = src.join("hotfix.toml");
    let text = std::fs::read_to_string(&toml).expect("read");
    // U+202E RIGHT-TO-LEFT OVERRIDE would make the rest of the line read backwards.
    std::fs::write(
        &toml,
        text.replacen("title = \"Test\"", "title = \"Fix \u{202e}exe.txt\"", 1),
    )
    .expect("write");
    let pkg = dir.path().join("HF-TEST-0001.zip");
    build(&src, &key_file(&key), &pkg).assert().success();
    let out = hotfix().arg("inspect").arg(&pkg).output().expect("inspect");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let shown = String::from_utf8(out.stdout).expect("utf-8");
    assert!(!shown.contains('\u{202e}'), "{shown}");
    assert!(
        shown.contains("title:       Fix \\u{202e}exe.txt"),
        "{shown}"
    );
}
