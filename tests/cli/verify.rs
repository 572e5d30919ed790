//! `hotfix verify` end to end, on packages made by `hotfix build` from the sample source.

use std::path::{Path, PathBuf};

use crate::support::{hotfix, sample_source};

/// Keys and a package built from a (possibly edited) copy of the sample source.
pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    /// Signed the package.
    pub signer: PathBuf,
    /// Trusted nowhere unless a test says so.
    pub other: PathBuf,
    pub package: PathBuf,
}

impl Fixture {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The public key file of `key` (`x.key` → `x.pub`).
    pub fn public(key: &Path) -> PathBuf {
        key.with_extension("pub")
    }
}

fn keygen(prefix: &Path) -> PathBuf {
    hotfix()
        .args(["keygen", "--no-passphrase", "--output"])
        .arg(prefix)
        .assert()
        .success();
    prefix.with_extension("key")
}

/// Copies the sample source with `edit` applied to its hotfix.toml, builds it with `key`
/// into `out`, and returns the package path.
pub(crate) fn build_variant(
    work: &Path,
    name: &str,
    key: &Path,
    edit: impl Fn(String) -> String,
) -> PathBuf {
    build_variant_with(work, name, key, edit, |_| {})
}

/// [`build_variant`], with `add` run on the copied source folder before the build (to add
/// or change payload files).
pub(crate) fn build_variant_with(
    work: &Path,
    name: &str,
    key: &Path,
    edit: impl Fn(String) -> String,
    add: impl Fn(&Path),
) -> PathBuf {
    let src = work.join(format!("src-{name}"));
    copy_dir(&sample_source(), &src);
    add(&src);
    let spec = src.join("hotfix.toml");
    let text = std::fs::read_to_string(&spec).expect("read hotfix.toml");
    std::fs::write(&spec, edit(text)).expect("write hotfix.toml");
    let out = work.join(format!("dist-{name}"));
    hotfix()
        .env("SOURCE_DATE_EPOCH", "1750000000")
        .arg("build")
        .arg(&src)
        .arg("--key")
        .arg(key)
        .arg("--output")
        .arg(&out)
        .assert()
        .success();
    let mut zips: Vec<PathBuf> = std::fs::read_dir(&out)
        .expect("dist")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    assert_eq!(zips.len(), 1, "{zips:?}");
    zips.remove(0)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Two keys and the sample package signed by the first.
pub(crate) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = keygen(&dir.path().join("signer"));
    let other = keygen(&dir.path().join("other"));
    let package = build_variant(dir.path(), "sample", &signer, |t| t);
    Fixture {
        dir,
        signer,
        other,
        package,
    }
}

pub(crate) fn stdout_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8 stdout")
}

/// `hotfix verify PACKAGE --trusted <key>.pub`, for the key pair at `key`.
fn verify_cmd(package: &Path, key: &Path) -> assert_cmd::Command {
    let mut cmd = hotfix();
    cmd.arg("verify")
        .arg(package)
        .arg("--trusted")
        .arg(Fixture::public(key));
    cmd
}

pub(crate) fn stderr_of(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stderr.clone()).expect("UTF-8 stderr")
}

#[test]
fn verify_passes_with_the_signers_key() {
    let fx = fixture();
    let out = verify_cmd(&fx.package, &fx.signer).assert().code(0);
    let stdout = stdout_of(&out);
    assert!(
        stdout.starts_with("OK: HF-7.0.3-0042 v3 signed by 1 trusted key ("),
        "{stdout}"
    );
    assert_eq!(stderr_of(&out), "", "named <ID>.zip: nothing to note");
}

#[test]
fn verify_notes_a_package_file_named_after_another_hotfix() {
    let fx = fixture();
    let renamed = fx.path("HF-7.0.3-0050.zip");
    std::fs::copy(&fx.package, &renamed).expect("copy");
    let out = verify_cmd(&renamed, &fx.signer).assert().code(0);
    assert_eq!(
        stderr_of(&out).trim_end(),
        "note: the file is named HF-7.0.3-0050.zip, but the package inside is HF-7.0.3-0042 \
         (format v1 names it HF-7.0.3-0042.zip)"
    );
    // --quiet drops notes.
    let out = verify_cmd(&renamed, &fx.signer)
        .arg("--quiet")
        .assert()
        .code(0);
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn verify_fails_with_another_key_and_says_how_to_trust_the_signer() {
    let fx = fixture();
    let out = verify_cmd(&fx.package, &fx.other).assert().code(1);
    let stdout = stdout_of(&out);
    let stderr = stderr_of(&out);
    assert!(stdout.starts_with("FAILED: "), "{stdout}");
    assert!(stdout.contains("threshold-not-met: 0 valid"), "{stdout}");
    assert!(
        stderr.contains("add the signer's .pub to --trusted if you trust it"),
        "{stderr}"
    );
}

#[test]
fn verify_with_threshold_2_and_one_signer_fails_then_passes_once_cosigned() {
    let fx = fixture();
    let trusted = fx.path("trusted");
    std::fs::create_dir(&trusted).expect("mkdir");
    for (key, name) in [(&fx.signer, "signer.pub"), (&fx.other, "other.pub")] {
        std::fs::copy(Fixture::public(key), trusted.join(name)).expect("copy");
    }
    let verify = || {
        let mut cmd = hotfix();
        cmd.arg("verify")
            .arg(&fx.package)
            .arg("--trusted")
            .arg(&trusted)
            .args(["--threshold", "2"]);
        cmd
    };
    let out = verify().assert().code(1);
    assert!(
        stdout_of(&out).contains(
            "threshold-not-met: 1 valid signature(s) from distinct trusted keys, 2 required"
        ),
        "{}",
        stdout_of(&out)
    );
    assert!(stderr_of(&out).contains("co-sign"), "{}", stderr_of(&out));
    hotfix()
        .arg("sign")
        .arg(&fx.package)
        .arg("--key")
        .arg(&fx.other)
        .assert()
        .success();
    let out = verify().assert().code(0);
    assert!(
        stdout_of(&out).contains("signed by 2 trusted keys"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn verify_json_lists_signers_and_failures() {
    let fx = fixture();
    let out = verify_cmd(&fx.package, &fx.other)
        .args(["--output-format", "json"])
        .assert()
        .code(1);
    let v = crate::support::check_schema("verify", &out.get_output().stdout);
    assert_eq!(v["ok"], false);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["signers"][0]["trusted"], false);
    // A key outside the trust set cannot be checked: not checked, not "invalid".
    assert!(v["signers"][0]["valid"].is_null(), "{v}");
    assert_eq!(v["problems"][0]["rule"], "threshold-not-met");
    assert!(v.get("failures").is_none(), "{v}");
    assert!(v["id"].is_null(), "nothing unauthenticated is parsed: {v}");
}

#[test]
fn verify_names_every_problem_of_a_damaged_package() {
    let fx = fixture();
    let mut bytes = std::fs::read(&fx.package).expect("read");
    bytes.extend_from_slice(b"appended");
    let bad = fx.path("appended.zip");
    std::fs::write(&bad, bytes).expect("write");
    let out = verify_cmd(&bad, &fx.signer).assert().code(1);
    assert!(
        stdout_of(&out).contains("archive-appended-data: "),
        "{}",
        stdout_of(&out)
    );
    assert!(stderr_of(&out).contains("hint: "), "{}", stderr_of(&out));
}

#[test]
fn verify_hints_at_a_package_whose_central_directory_is_corrupt() {
    let fx = fixture();
    let mut bytes = std::fs::read(&fx.package).expect("read");
    // The end record (no comment: the last 22 bytes) says where the central directory
    // starts; break the signature of its first record.
    let end = bytes.len() - 22;
    assert_eq!(&bytes[end..end + 4], b"PK\x05\x06");
    let at = u32::from_le_bytes(bytes[end + 16..end + 20].try_into().expect("4 bytes")) as usize;
    assert_eq!(&bytes[at..at + 4], b"PK\x01\x02");
    bytes[at + 3] = 0x7f;
    let bad = fx.path("corrupt-cd.zip");
    std::fs::write(&bad, bytes).expect("write");
    let out = verify_cmd(&bad, &fx.signer).assert().code(1);
    let stdout = stdout_of(&out);
    assert!(stdout.starts_with("FAILED: "), "{stdout}");
    assert!(stdout.contains("central-directory-invalid: "), "{stdout}");
    assert!(
        stderr_of(&out).contains("hint: the package is damaged"),
        "{}",
        stderr_of(&out)
    );
}

/// Bytes no deflate can shrink (so the build stores them as they are), from a fixed seed.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn verify_reports_a_cut_download_as_truncated_even_when_a_stored_file_holds_an_end_record_signature()
 {
    // A stored payload file (a jar inside the package, say) that carries the zip
    // end-record signature followed by zeros: cut the package right after it, and the
    // last 64 KiB hold something that looks like an end record with bytes after it.
    let fx = fixture();
    let mut blob = noise(200_000);
    let mark = 150_000;
    blob[mark..mark + 4].copy_from_slice(b"PK\x05\x06");
    blob[mark + 4..mark + 22].fill(0);
    let package = build_variant_with(
        fx.dir.path(),
        "eocd-inside",
        &fx.signer,
        |t| t,
        |src| std::fs::write(src.join("server/ChatServer/lib/bundle.jar"), &blob).expect("write"),
    );
    let bytes = std::fs::read(&package).expect("read");
    let at = bytes
        .windows(22)
        .position(|w| w == &blob[mark..mark + 22])
        .expect("the blob is stored, so its bytes appear in the package");
    let cut = &bytes[..at + 22 + 1000];
    let bad = fx.path("cut.zip");
    std::fs::write(&bad, cut).expect("write");
    let out = verify_cmd(&bad, &fx.signer).assert().code(1);
    let stdout = stdout_of(&out);
    assert!(stdout.contains("archive-truncated"), "{stdout}");
    assert!(!stdout.contains("archive-appended-data"), "{stdout}");
    assert!(stdout.contains("bytes expected"), "{stdout}");
    let expected = format!("truncated: {} bytes", cut.len());
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(
        stderr_of(&out).contains("hint: the file is incomplete"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn verify_exits_2_for_a_missing_package_or_trusted_key() {
    let fx = fixture();
    let out = hotfix()
        .arg("verify")
        .arg(fx.path("nope.zip"))
        .arg("--trusted")
        .arg(Fixture::public(&fx.signer))
        .assert()
        .code(2);
    assert!(stderr_of(&out).contains("hint: "), "{}", stderr_of(&out));
    let out = hotfix()
        .arg("verify")
        .arg(&fx.package)
        .arg("--trusted")
        .arg(fx.path("missing.pub"))
        .assert()
        .code(2);
    assert!(
        stderr_of(&out).contains("hint: --trusted takes"),
        "{}",
        stderr_of(&out)
    );
}

/// Every file of the committed hostile corpus (`tests/data/hostile`, made by
/// `cargo run -p hotfix-package --example make-hostile-corpus -- tests/data/hostile`)
/// fails `hotfix verify` with exit 1 and a line naming its entry and rule, and fails
/// `hotfix extract` with exit 1 without touching the installation.
#[test]
fn every_hostile_fixture_is_refused_by_verify_and_extract() {
    let data = crate::support::repo_root().join("tests/data/hostile");
    let trusted = data.join("trusted.pub");
    let index = std::fs::read_to_string(data.join("corpus.tsv")).expect("corpus.tsv");
    let install = tempfile::tempdir().expect("install");
    hotfix()
        .arg("extract")
        .arg(data.join("good.zip"))
        .arg("--install-dir")
        .arg(install.path())
        .arg("--trusted")
        .arg(&trusted)
        .assert()
        .code(0);
    let before = crate::support::read(
        &install
            .path()
            .join("Install/hotfixes/HF-7.0.3-0042/hotfix.xml"),
    );
    let mut count = 0;
    let mut problems = Vec::new();
    for line in index.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, rule, entry, threshold] = cols[..] else {
            panic!("bad corpus.tsv line {line:?}");
        };
        count += 1;
        let out = hotfix()
            .arg("verify")
            .arg(data.join(file))
            .arg("--trusted")
            .arg(&trusted)
            .args(["--threshold", threshold])
            .assert();
        let code = out.get_output().status.code();
        let stdout = stdout_of(&out);
        let want = if entry == "-" {
            format!("{rule}: ")
        } else {
            format!("{entry}: {rule}: ")
        };
        if code != Some(1) || !stdout.lines().any(|l| l.contains(&want)) {
            problems.push(format!(
                "verify {file}: exit {code:?}, want {want:?} in:\n{stdout}"
            ));
        }
        if !stderr_of(&out).contains("hint: ") {
            problems.push(format!("verify {file}: no hint in:\n{}", stderr_of(&out)));
        }
        let out = hotfix()
            .arg("extract")
            .arg(data.join(file))
            .arg("--install-dir")
            .arg(install.path())
            .arg("--trusted")
            .arg(&trusted)
            .args(["--threshold", threshold])
            .assert();
        if out.get_output().status.code() != Some(1) {
            problems.push(format!("extract {file}: {:?}", out.get_output()));
        }
    }
    assert!(count >= 60, "only {count} fixtures");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let hotfixes = install.path().join("Install/hotfixes");
    let names: Vec<String> = std::fs::read_dir(&hotfixes)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    // The lock lives beside Install/, so the IA sees exactly the hotfix.
    assert_eq!(names, vec!["HF-7.0.3-0042"]);
    assert_eq!(
        crate::support::read(&hotfixes.join("HF-7.0.3-0042/hotfix.xml")),
        before
    );
}
