//! Properties of packages made by the real builder (`hotfix_package::build`):
//! - every tree of files with safe names builds into a package that verifies and whose
//!   manifest lists exactly those files;
//! - changing any single byte of a built package makes verification fail: the v1 layout
//!   is canonical, so there is no byte an attacker can change unnoticed. The one
//!   exception is the last byte of a deflate stream, whose padding bits after the
//!   end-of-block code carry no data: there, verification may pass only if the verified
//!   content is byte-identical (SHA-256 still covers every payload byte).

use std::collections::BTreeMap;
use std::path::Path;

use hotfix_manifest::BuildSpec;
use hotfix_package::reader::PackageReader;
use hotfix_package::verify::{NullSink, verify};
use hotfix_package::{BuildOptions, build};
use hotfix_sign::{SecretKey, TrustSet};
use proptest::prelude::*;

const EPOCH: i64 = 1_764_028_800;

fn trust_for(key: &SecretKey) -> TrustSet {
    let mut t = TrustSet::default();
    t.insert(key.public_key(), "signer.pub".as_ref())
        .expect("trust");
    t
}

/// Writes `files` (paths relative to the package folder) and a spec; builds; returns the
/// package bytes.
fn build_tree(dir: &Path, files: &BTreeMap<String, Vec<u8>>, key: &SecretKey) -> Vec<u8> {
    let pkg_dir = dir.join("src/server/ChatServer");
    for (rel, data) in files {
        let path = pkg_dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, data).expect("write");
    }
    std::fs::write(
        dir.join("src/hotfix.toml"),
        "id = \"HF-PROP-1\"\nversion = 1\ntitle = \"property\"\nrelease = \"7.0\"\n\
         support-package = \"SP3\"\n\n[[software-package]]\nname = \"ChatServer\"\n\
         version = \"7.0.3.12\"\ndir = \"server/ChatServer\"\n",
    )
    .expect("write spec");
    let spec = BuildSpec::load(&dir.join("src")).expect("spec");
    let out = dir.join("pkg.zip");
    build(
        &spec,
        key,
        &BuildOptions::new(&out).source_date_epoch(Some(EPOCH)),
    )
    .expect("build");
    std::fs::read(&out).expect("read package")
}

/// Offsets of the last byte of every deflated entry's data.
fn deflate_last_bytes(bytes: &[u8]) -> Vec<usize> {
    let reader = PackageReader::open(std::io::Cursor::new(bytes)).expect("open");
    reader
        .records()
        .iter()
        .filter(|r| r.method == 8 && r.compressed_size > 0)
        .map(|r| {
            (r.local_header_offset + 30 + r.name.len() as u64 + r.compressed_size - 1) as usize
        })
        .collect()
}

/// Files a package extracts to, read back from a fresh installation.
fn extracted(dir: &Path, bytes: &[u8], trust: &TrustSet) -> Option<BTreeMap<String, Vec<u8>>> {
    let pkg = dir.join("extract.zip");
    std::fs::write(&pkg, bytes).expect("write");
    let install = tempfile::tempdir_in(dir).expect("install");
    let report = hotfix_package::extract::extract(
        &pkg,
        install.path(),
        trust,
        1,
        hotfix_package::extract::ExtractOptions {
            force: false,
            cancel: None,
        },
    )
    .ok()?;
    let root = report.target;
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&root).expect("prefix");
            files.insert(
                rel.to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read"),
            );
        }
    }
    Some(files)
}

fn verifies(dir: &Path, bytes: &[u8], trust: &TrustSet) -> bool {
    let path = dir.join("check.zip");
    std::fs::write(&path, bytes).expect("write");
    // An Err (unreadable archive) counts as a failed verification too.
    verify(&path, trust, 1, &mut NullSink).is_ok_and(|r| r.ok)
}

/// File trees with safe names: up to 3 levels of `[a-z0-9_-]` components, distinct
/// case-insensitively, no name both a file and a folder.
fn safe_tree() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let component = "[a-z0-9][a-z0-9_-]{0,7}";
    let path = proptest::collection::vec(component, 1..4).prop_map(|c| c.join("/"));
    let content = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        "[a-z ]{0,2000}".prop_map(String::into_bytes),
    ];
    proptest::collection::btree_map(path, content, 1..12).prop_map(|mut files| {
        // Drop paths that would make a file also a folder ("a" and "a/b").
        let names: Vec<String> = files.keys().cloned().collect();
        files.retain(|p, _| !names.iter().any(|o| o.starts_with(&format!("{p}/"))));
        files
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_tree_with_safe_names_builds_into_a_package_that_verifies(files in safe_tree()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = SecretKey::generate().expect("key");
        let bytes = build_tree(dir.path(), &files, &key);
        let path = dir.path().join("check.zip");
        std::fs::write(&path, &bytes).expect("write");
        let report = verify(&path, &trust_for(&key), 1, &mut NullSink).expect("verify runs");
        prop_assert!(report.ok, "{:?}", report.failures);
        prop_assert_eq!(report.files, files.len() as u64);
        prop_assert_eq!(report.bytes, files.values().map(|d| d.len() as u64).sum::<u64>());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_single_byte_change_makes_verify_fail(at in any::<prop::sample::Index>(), flip in 1u8..=255) {
        thread_local! {
            static BUILT: (tempfile::TempDir, Vec<u8>, TrustSet) = {
                let dir = tempfile::tempdir().expect("tempdir");
                let key = SecretKey::generate().expect("key");
                let mut files = BTreeMap::new();
                files.insert("bin/chat.dll".to_string(), (0..5000u32).map(|i| (i * 7 % 251) as u8).collect());
                files.insert("conf/chat.properties".to_string(), b"timeout=30\nretries=3\n".repeat(40));
                files.insert("empty.txt".to_string(), Vec::new());
                let bytes = build_tree(dir.path(), &files, &key);
                let trust = trust_for(&key);
                (dir, bytes, trust)
            };
        }
        BUILT.with(|(dir, bytes, trust)| {
            prop_assert!(verifies(dir.path(), bytes, trust), "the unchanged package must verify");
            let mut changed = bytes.clone();
            let i = at.index(changed.len());
            changed[i] ^= flip;
            if deflate_last_bytes(bytes).contains(&i) {
                if verifies(dir.path(), &changed, trust) {
                    prop_assert_eq!(
                        extracted(dir.path(), &changed, trust),
                        extracted(dir.path(), bytes, trust),
                        "byte {} is deflate padding: the content must be unchanged", i
                    );
                }
                return Ok(());
            }
            prop_assert!(
                !verifies(dir.path(), &changed, trust),
                "changing byte {} (of {}) by xor {:#04x} went unnoticed",
                i,
                bytes.len(),
                flip
            );
            Ok(())
        })?;
    }
}

#[test]
fn every_byte_position_is_guarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("key");
    let mut files = BTreeMap::new();
    files.insert(
        "bin/a.dll".to_string(),
        (0..3000u32).map(|i| (i * 13 % 241) as u8).collect(),
    );
    files.insert("conf/b.properties".to_string(), b"x=1\n".repeat(30));
    let bytes = build_tree(dir.path(), &files, &key);
    let trust = trust_for(&key);
    let padding = deflate_last_bytes(&bytes);
    let mut unnoticed = Vec::new();
    for i in 0..bytes.len() {
        if padding.contains(&i) {
            continue; // covered by the property above: content must stay identical
        }
        for flip in [0x01u8, 0x80] {
            let mut changed = bytes.clone();
            changed[i] ^= flip;
            if verifies(dir.path(), &changed, &trust) {
                unnoticed.push(format!("byte {i} ^ {flip:#04x}"));
            }
        }
    }
    assert!(
        unnoticed.is_empty(),
        "changes verify did not notice: {unnoticed:?}"
    );
}
