//! Properties of packages made by the real builder (`hotfix_package::build`):
//! - every tree of files with safe names builds into a package that verifies and whose
//!   manifest lists exactly those files;
//! - changing any single byte of a built package makes verification fail: the v1 layout
//!   is canonical (FORMAT.md 2.4 says exactly what the bytes depend on). The one
//!   exception a single byte can reach is the last byte of a deflate stream, whose
//!   padding bits after the end-of-block code carry no data: there, verification may pass
//!   only if the verified content is byte-identical (SHA-256 still covers every payload
//!   byte). Edits that also fix up CRCs and sizes are the hostile corpus's business
//!   (`tests/support/corpus.rs`: re-encoded ZIP64 fields, times, signature files).

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

/// The size of the SBOM entry every built package carries.
fn sbom_size(package: &[u8]) -> u64 {
    PackageReader::read_records(std::io::Cursor::new(package))
        .expect("records")
        .iter()
        .find(|r| r.name == hotfix_package::sbom::SBOM_ENTRY)
        .map(|r| r.uncompressed_size)
        .expect("a built package has an SBOM")
}

/// Offsets of the last byte of every deflated entry's data.
fn deflate_last_bytes(bytes: &[u8]) -> Vec<usize> {
    PackageReader::read_records(std::io::Cursor::new(bytes))
        .expect("records")
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
        hotfix_package::extract::ExtractOptions::default(),
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
        // The tree's files and the SBOM the build adds.
        prop_assert_eq!(report.files, files.len() as u64 + 1);
        prop_assert_eq!(
            report.bytes,
            files.values().map(|d| d.len() as u64).sum::<u64>() + sbom_size(&bytes)
        );
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

/// Deterministic bytes that deflate cannot shrink (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

/// Many small files (decoded on worker threads) with large ones (streamed) in between.
fn mixed_tree() -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for i in 0..160u64 {
        let data = if i % 3 == 0 {
            format!("line {i}\n")
                .repeat(50 + i as usize * 7)
                .into_bytes()
        } else {
            noise(1 + (i as usize * 977) % 9000, i + 1)
        };
        files.insert(format!("f{i:03}.dat"), data);
    }
    files.insert("f040-big.bin".into(), noise(1536 * 1024, 99));
    files.insert("f041-big.txt".into(), b"0123456789abcdef".repeat(80 * 1024));
    files.insert("f120-exact.bin".into(), noise(1024 * 1024, 7));
    files.insert("f121-over.bin".into(), noise(1024 * 1024 + 1, 8));
    files.insert("f159-empty.txt".into(), Vec::new());
    files
}

/// Records every sink call, and the bytes of each file.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
    current: Option<String>,
    written: BTreeMap<String, Vec<u8>>,
}

impl hotfix_package::verify::EntrySink for Recorder {
    fn begin(
        &mut self,
        _auth: &hotfix_package::verify::Authenticated<'_>,
    ) -> Result<(), hotfix_package::verify::SinkError> {
        self.calls.push("begin".into());
        Ok(())
    }
    fn start_file(
        &mut self,
        file: &hotfix_manifest::FileEntry,
    ) -> Result<(), hotfix_package::verify::SinkError> {
        assert!(self.current.is_none(), "start_file before finish_file");
        self.calls.push(format!("start {}", file.path));
        self.current = Some(file.path.clone());
        Ok(())
    }
    fn write(&mut self, data: &[u8]) -> Result<(), hotfix_package::verify::SinkError> {
        let name = self.current.clone().expect("write inside a file");
        self.written
            .entry(name)
            .or_default()
            .extend_from_slice(data);
        Ok(())
    }
    fn finish_file(&mut self) -> Result<(), hotfix_package::verify::SinkError> {
        let name = self.current.take().expect("finish inside a file");
        self.calls.push(format!("finish {name}"));
        Ok(())
    }
}

#[test]
fn verify_feeds_the_sink_in_archive_order_with_the_exact_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("key");
    let files = mixed_tree();
    let bytes = build_tree(dir.path(), &files, &key);
    let path = dir.path().join("pkg.zip");
    std::fs::write(&path, &bytes).expect("write");

    let mut sink = Recorder::default();
    let report = verify(&path, &trust_for(&key), 1, &mut sink).expect("verify runs");
    assert!(report.ok, "{:?}", report.failures);

    let prefix = "server/ChatServer/";
    let mut expected = vec!["begin".to_string()];
    for name in files.keys() {
        expected.push(format!("start {prefix}{name}"));
        expected.push(format!("finish {prefix}{name}"));
    }
    let sbom = hotfix_package::sbom::SBOM_ENTRY;
    expected.extend([format!("start {sbom}"), format!("finish {sbom}")]);
    assert_eq!(sink.calls, expected);
    for (name, data) in &files {
        let got = sink.written.get(&format!("{prefix}{name}"));
        assert_eq!(
            got.map_or(0, Vec::len),
            data.len(),
            "{name}: bytes handed to the sink"
        );
        assert!(got.is_none_or(|g| g == data), "{name}: content differs");
    }
}

#[test]
fn failures_are_reported_in_archive_order_and_the_sink_stops_at_the_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SecretKey::generate().expect("key");
    let files = mixed_tree();
    let mut bytes = build_tree(dir.path(), &files, &key);

    // Damage one byte in the middle of the data of entries spread over the archive:
    // small ones (decoded on workers), large ones (streamed) and the boundary sizes.
    let damaged = [
        "f010.dat",
        "f011.dat",
        "f040-big.bin",
        "f041-big.txt",
        "f100.dat",
        "f120-exact.bin",
        "f121-over.bin",
        "f158.dat",
    ];
    let records = PackageReader::read_records(std::io::Cursor::new(&bytes)).expect("records");
    let mut in_archive_order = Vec::new();
    for r in &records {
        let short = r.name.rsplit('/').next().expect("name");
        if damaged.contains(&short) {
            let data_at = r.local_header_offset + 30 + r.name.len() as u64;
            bytes[(data_at + r.compressed_size / 2) as usize] ^= 0x55;
            in_archive_order.push(r.name.clone());
        }
    }
    assert_eq!(in_archive_order.len(), damaged.len());
    let path = dir.path().join("bad.zip");
    std::fs::write(&path, &bytes).expect("write");

    let trust = trust_for(&key);
    let mut first: Option<hotfix_package::verify::VerifyReport> = None;
    for _ in 0..5 {
        let mut sink = Recorder::default();
        let report = verify(&path, &trust, 1, &mut sink).expect("verify runs");
        assert!(!report.ok);
        let named: Vec<String> = report
            .failures
            .iter()
            .map(|f| f.entry.clone().expect("names its entry"))
            .collect();
        assert_eq!(named, in_archive_order, "{:#?}", report.failures);
        assert_eq!(
            report.files,
            files.len() as u64 + 1,
            "the tree and the SBOM"
        );

        // The sink saw every file before the first damaged one, finished, and nothing
        // from the first damaged one on.
        let first_bad = &in_archive_order[0];
        assert!(
            !sink
                .calls
                .iter()
                .any(|c| c.ends_with(first_bad.as_str()) && c.starts_with("finish")),
            "{first_bad} was finished"
        );
        let finished = sink
            .calls
            .iter()
            .filter(|c| c.starts_with("finish"))
            .count();
        let before = records
            .iter()
            .filter(|r| r.name.starts_with("server/") && r.name < *first_bad)
            .count();
        assert_eq!(finished, before);
        // The same report every time, whatever the threads did.
        match &first {
            None => first = Some(report),
            Some(f) => assert_eq!(&report, f),
        }
    }
}
