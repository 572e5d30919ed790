//! Library-level tests of build, co-sign and inspect on small generated sources.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hotfix_manifest::{BuildSpec, FileEntry, Manifest, SoftwarePackageSpec};
use hotfix_sign::{SecretKey, Signature};
use sha2::Digest;

use super::*;
use crate::cosign::{CosignError, add_signature};
use crate::format;
use crate::inspect::inspect;
use crate::progress::{Phase, Progress};

const EPOCH: i64 = 1_700_000_000;

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn text(n: usize) -> Vec<u8> {
    b"session failover instance node queue agent 42\n"
        .iter()
        .copied()
        .cycle()
        .take(n)
        .collect()
}

fn write(path: &Path, data: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, data).expect("write");
}

/// A source with two software packages, nested folders, a non-ASCII name, an empty
/// file, files on both sides of the in-memory limit, and docs.
fn source(root: &Path) -> BuildSpec {
    let chat = root.join("server/ChatServer");
    write(&chat.join("bin/chat.dll"), &noise(300_000, 1));
    write(&chat.join("bin/big.bin"), &noise(2_500_000, 2));
    write(&chat.join("conf/chat.xml"), &text(40_000));
    write(&chat.join("conf/big.log"), &text(3_000_000));
    write(&chat.join("conf/empty.txt"), b"");
    write(&chat.join("r\u{e9}sum\u{e9}.txt"), b"caf\xc3\xa9");
    let routing = root.join("server/RoutingEngine");
    write(&routing.join("lib/route.so"), &noise(10_000, 3));
    write(&root.join("docs/README.txt"), b"release notes\n");
    BuildSpec {
        root: root.to_path_buf(),
        id: "HF-7.0.3-0001".into(),
        version: 3,
        title: "Test hotfix".into(),
        description: "Fixes things.".into(),
        release: "7.0".into(),
        support_package: "SP3".into(),
        supersedes: vec!["HF-7.0.3-0000".into()],
        requires: vec![],
        software_packages: vec![
            SoftwarePackageSpec {
                name: "RoutingEngine".into(),
                version: "7.0.3.2".into(),
                dir: routing,
            },
            SoftwarePackageSpec {
                name: "ChatServer".into(),
                version: "7.0.3.12".into(),
                dir: chat,
            },
        ],
        msis: vec![],
        docs: Some(root.join("docs")),
    }
}

fn build_into(spec: &BuildSpec, key: &SecretKey, out: &Path, epoch: i64) -> BuildReport {
    build(
        spec,
        key,
        &BuildOptions::new(out)
            .source_date_epoch(Some(epoch))
            .hash_output(true),
    )
    .expect("build")
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    spec: BuildSpec,
    key: SecretKey,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let spec = source(&root.join("src"));
    Fixture {
        _dir: dir,
        root,
        spec,
        key: SecretKey::generate().expect("key"),
    }
}

fn entries(path: &Path) -> Vec<(String, Vec<u8>, zip::CompressionMethod)> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).expect("open")).expect("zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            (f.name().expect("name").into_owned(), data, f.compression())
        })
        .collect()
}

#[test]
fn builds_a_signed_package_in_the_v1_layout() {
    let fx = fixture();
    let out = fx.root.join("out/HF-7.0.3-0001.zip");
    std::fs::create_dir_all(out.parent().expect("parent")).expect("mkdir");
    let report = build_into(&fx.spec, &fx.key, &out, EPOCH);
    // Seven source files, one document and the SBOM the build adds.
    assert_eq!(report.files, 9);
    assert_eq!(report.created, "2023-11-14T22:13:20Z");
    assert_eq!(report.signer, fx.key.key_id());
    let bytes = std::fs::read(&out).expect("read");
    assert_eq!(report.size, bytes.len() as u64);
    assert_eq!(
        report.sha256.expect("hashed").0,
        <[u8; 32]>::from(sha2::Sha256::digest(&bytes))
    );

    let got = entries(&out);
    let names: Vec<&str> = got.iter().map(|e| e.0.as_str()).collect();
    let sig_name = format::signature_entry_name(fx.key.key_id());
    assert_eq!(
        names,
        [
            "hotfix.xml",
            sig_name.as_str(),
            "server/ChatServer/bin/big.bin",
            "server/ChatServer/bin/chat.dll",
            "server/ChatServer/conf/big.log",
            "server/ChatServer/conf/chat.xml",
            "server/ChatServer/conf/empty.txt",
            "server/ChatServer/r\u{e9}sum\u{e9}.txt",
            "server/RoutingEngine/lib/route.so",
            "docs/README.txt",
            "docs/sbom.cdx.json",
        ]
    );
    use zip::CompressionMethod::{Deflated, Stored};
    let methods: Vec<_> = got.iter().map(|e| e.2).collect();
    assert_eq!(
        methods,
        [
            Stored, Stored, Stored, Stored, Deflated, Deflated, Stored, Stored, Stored, Stored,
            Deflated
        ]
    );
    assert_eq!((report.stored, report.deflated), (6, 3));

    // The manifest lists exactly the payload, with the digests of the source files.
    let xml = &got[0].1;
    let manifest = Manifest::from_xml(xml).expect("manifest parses");
    let listed: Vec<&FileEntry> = manifest.payload().collect();
    assert_eq!(listed.len(), got.len() - 2);
    // The SBOM inside is the one `hotfix sbom` prints from the manifest.
    assert_eq!(
        got.last().map(|e| e.1.clone()),
        Some(crate::sbom::cyclonedx_json(
            &manifest,
            env!("CARGO_PKG_VERSION")
        ))
    );
    for (entry, (name, data, _)) in listed.iter().zip(&got[2..]) {
        assert_eq!(&entry.path, name);
        assert_eq!(entry.size, data.len() as u64);
        assert_eq!(entry.sha256.0, <[u8; 32]>::from(sha2::Sha256::digest(data)));
    }
    assert_eq!(manifest.created, "2023-11-14T22:13:20Z");
    assert_eq!(manifest.supersedes, ["HF-7.0.3-0000"]);

    // The signature checks out with the package's trusted comment.
    let sig = Signature::parse(std::str::from_utf8(&got[1].1).expect("utf-8")).expect("sig");
    fx.key
        .public_key()
        .verify(&sig, xml)
        .expect("signature verifies");
    let digest: [u8; 32] = sha2::Sha256::digest(xml).into();
    assert_eq!(
        sig.trusted_comment(),
        format::trusted_comment(&manifest, &digest)
    );

    // plan_manifest derives the same manifest without writing anything.
    let created = time::OffsetDateTime::from_unix_timestamp(EPOCH).expect("time");
    let (planned, files) = plan_manifest(&fx.spec, created).expect("plan");
    assert_eq!(planned, manifest);
    assert_eq!(files.len(), 9);
    assert_eq!(files[8].entry, crate::sbom::SBOM_ENTRY);
    assert_eq!(files[8].source, std::path::PathBuf::new());
    assert_eq!(
        files[0].source,
        fx.spec.software_packages[1].dir.join("bin/big.bin")
    );
}

#[test]
fn same_inputs_give_the_same_bytes_and_another_epoch_does_not() {
    let fx = fixture();
    let a = fx.root.join("a.zip");
    let b = fx.root.join("b.zip");
    let c = fx.root.join("c.zip");
    build_into(&fx.spec, &fx.key, &a, EPOCH);
    build_into(&fx.spec, &fx.key, &b, EPOCH);
    build_into(&fx.spec, &fx.key, &c, EPOCH + 2);
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
    assert_ne!(std::fs::read(&a).expect("a"), std::fs::read(&c).expect("c"));
}

#[test]
fn a_wrong_head_reservation_still_gives_the_same_package() {
    let fx = fixture();
    let a = fx.root.join("a.zip");
    let b = fx.root.join("b.zip");
    build_into(&fx.spec, &fx.key, &a, EPOCH);
    MISRESERVE.set(7);
    build_into(&fx.spec, &fx.key, &b, EPOCH);
    MISRESERVE.set(0);
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
}

#[test]
fn building_inside_a_one_thread_rayon_pool_does_not_deadlock() {
    let fx = fixture();
    let a = fx.root.join("a.zip");
    let b = fx.root.join("b.zip");
    build_into(&fx.spec, &fx.key, &a, EPOCH);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    pool.install(|| build_into(&fx.spec, &fx.key, &b, EPOCH));
    assert_eq!(std::fs::read(&a).expect("a"), std::fs::read(&b).expect("b"));
}

#[derive(Default)]
struct Recorder {
    phases: std::sync::Mutex<Vec<Phase>>,
    bytes: AtomicU64,
    done: std::sync::Mutex<Vec<(String, u64)>>,
}

impl Progress for Recorder {
    fn phase(&self, phase: Phase) {
        self.phases.lock().expect("lock").push(phase);
    }
    fn bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
    fn file_done(&self, name: &str, size: u64) {
        self.done
            .lock()
            .expect("lock")
            .push((name.to_owned(), size));
    }
}

#[test]
fn progress_counts_every_byte_names_every_file_and_each_phase() {
    let fx = fixture();
    let rec = Recorder::default();
    let report = build(
        &fx.spec,
        &fx.key,
        &BuildOptions::new(fx.root.join("p.zip"))
            .hash_output(true)
            .progress(&rec),
    )
    .expect("build");
    let total = report.payload_bytes;
    assert_eq!(
        *rec.phases.lock().expect("lock"),
        vec![
            Phase::Signing,
            Phase::Payload { total },
            Phase::Signing,
            Phase::Syncing,
            Phase::Hashing
        ]
    );
    assert_eq!(rec.bytes.load(Ordering::Relaxed), total);
    let done = rec.done.lock().expect("lock");
    assert_eq!(done.len(), report.files);
    let xml = entries(&fx.root.join("p.zip"))
        .into_iter()
        .find(|(name, _, _)| name == hotfix_manifest::MANIFEST_ENTRY)
        .expect("manifest entry")
        .1;
    let manifest = Manifest::from_xml(&xml).expect("manifest");
    let listed: Vec<(String, u64)> = manifest
        .payload()
        .map(|f| (f.path.clone(), f.size))
        .collect();
    assert_eq!(*done, listed);
}

#[test]
fn an_existing_output_is_never_overwritten() {
    let fx = fixture();
    let out = fx.root.join("HF.zip");
    std::fs::write(&out, b"precious").expect("write");
    let err = build(&fx.spec, &fx.key, &BuildOptions::new(&out)).expect_err("refused");
    assert!(matches!(err, BuildError::OutputExists { .. }), "{err}");
    assert_eq!(std::fs::read(&out).expect("read"), b"precious");
}

#[test]
fn failures_leave_no_output_and_no_temporary_file() {
    let fx = fixture();
    let mut spec = fx.spec.clone();
    spec.software_packages[0].dir = fx.root.join("src/server/Nope");
    let out_dir = fx.root.join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let err =
        build(&spec, &fx.key, &BuildOptions::new(out_dir.join("x.zip"))).expect_err("missing");
    assert!(matches!(err, BuildError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("server/Nope"), "{err}");
    assert_eq!(std::fs::read_dir(&out_dir).expect("ls").count(), 0);
}

#[test]
fn names_that_collide_on_windows_are_refused() {
    let fx = fixture();
    let dir = &fx.spec.software_packages[1].dir;
    write(&dir.join("conf/Chat.XML"), b"x");
    let err =
        build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err("collision");
    let msg = err.to_string();
    assert!(matches!(err, BuildError::NameCollision { .. }), "{msg}");
    assert!(
        msg.contains("Chat.XML") && msg.contains("chat.xml"),
        "{msg}"
    );
}

#[test]
fn a_file_and_a_folder_with_the_same_name_are_refused() {
    let fx = fixture();
    let dir = &fx.spec.software_packages[1].dir;
    write(&dir.join("BIN"), b"x");
    let err =
        build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err("collision");
    assert!(matches!(err, BuildError::NameCollision { .. }), "{err}");
}

#[test]
fn one_folder_spelled_two_ways_is_refused() {
    let fx = fixture();
    let dir = &fx.spec.software_packages[1].dir;
    write(&dir.join("Conf/extra.txt"), b"x");
    let err =
        build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err("collision");
    assert!(matches!(err, BuildError::NameCollision { .. }), "{err}");
}

#[test]
fn unsafe_entry_names_are_refused_with_the_path() {
    let fx = fixture();
    let dir = &fx.spec.software_packages[1].dir;
    write(&dir.join("aux.txt"), b"x");
    let err =
        build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err("reserved");
    assert!(matches!(err, BuildError::InvalidName { .. }), "{err}");
    assert!(err.to_string().contains("aux.txt"), "{err}");
}

/// Names safe on POSIX that Windows folds into unsafe ones, and 8.3 short-name
/// lookalikes, are refused at build time with their own rule, like in verify.
#[test]
fn windows_lookalike_and_short_name_alias_names_are_refused() {
    for (file, rule) in [
        ("\u{ff0e}\u{ff0e}/x.txt", "name-windows-lookalike"),
        ("a\u{ff3c}..\u{ff3c}x", "name-windows-lookalike"),
        ("a\u{ff1a}b", "name-windows-lookalike"),
        ("\u{ff23}\u{ff2f}\u{ff2e}", "name-windows-lookalike"),
        ("a\u{ff0e}", "name-windows-lookalike"),
        ("abcdef~1.txt", "name-short-name-alias"),
    ] {
        let fx = fixture();
        let dir = &fx.spec.software_packages[1].dir;
        write(&dir.join(file), b"x");
        let err =
            build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err(file);
        match &err {
            BuildError::InvalidName { source, .. } => assert_eq!(source.rule_id(), rule, "{file}"),
            other => panic!("{file}: {other}"),
        }
    }
}

#[cfg(unix)]
#[test]
fn symlinks_in_the_source_are_refused_with_the_path() {
    let fx = fixture();
    let dir = &fx.spec.software_packages[1].dir;
    std::os::unix::fs::symlink("/etc/passwd", dir.join("bin/passwd")).expect("symlink");
    let err =
        build(&fx.spec, &fx.key, &BuildOptions::new(fx.root.join("x.zip"))).expect_err("symlink");
    assert!(matches!(err, BuildError::Symlink { .. }), "{err}");
    assert!(err.to_string().contains("bin/passwd"), "{err}");
}

#[test]
fn source_date_epoch_must_be_an_integer_in_range() {
    assert_eq!(
        parse_source_date_epoch("1700000000").expect("ok"),
        1_700_000_000
    );
    assert_eq!(parse_source_date_epoch("0").expect("ok"), 0);
    for bad in [
        "",
        " 1",
        "1.5",
        "abc",
        "+5",
        "99999999999999999999",
        "253402300800",
    ] {
        assert!(parse_source_date_epoch(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cosigning_adds_a_signature_and_keeps_the_payload() {
    let fx = fixture();
    let pkg = fx.root.join("p.zip");
    build_into(&fx.spec, &fx.key, &pkg, EPOCH);
    let before = std::fs::read(&pkg).expect("read");
    let second = SecretKey::generate().expect("key");

    assert_eq!(
        add_signature(&pkg, &second).expect("cosign"),
        second.key_id()
    );
    let after = std::fs::read(&pkg).expect("read");
    let got = entries(&pkg);
    let mut ids = [fx.key.key_id(), second.key_id()];
    ids.sort_by(format::key_id_order);
    assert_eq!(got[1].0, format::signature_entry_name(ids[0]));
    assert_eq!(got[2].0, format::signature_entry_name(ids[1]));
    let xml = &got[0].1;
    for (i, id) in ids.iter().enumerate() {
        let sig =
            Signature::parse(std::str::from_utf8(&got[1 + i].1).expect("utf-8")).expect("sig");
        let key = if *id == second.key_id() {
            &second
        } else {
            &fx.key
        };
        key.public_key().verify(&sig, xml).expect("verifies");
    }
    // Payload bytes (headers and data) are the original ones, verbatim.
    let first_payload = |bytes: &[u8], first: usize| {
        let z = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("zip");
        let start = z.offsets_of(first);
        let cd = z.central_directory_start() as usize;
        bytes[start..cd].to_vec()
    };
    let (a, b) = (first_payload(&before, 2), first_payload(&after, 3));
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a.len() == b.len() && first_diff.is_none(),
        "{} vs {} bytes, first difference at {first_diff:?}",
        a.len(),
        b.len()
    );

    // The same key again: refused, and the file is left exactly as it was.
    let err = add_signature(&pkg, &second).expect_err("twice");
    assert!(matches!(err, CosignError::AlreadySigned { .. }), "{err}");
    assert!(
        err.to_string().contains(&second.key_id().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&pkg).expect("read"), after);

    let seen = inspect(&pkg).expect("inspect");
    assert!(!seen.verified);
    let signer_ids: Vec<_> = seen.signers.iter().map(|s| s.key_id).collect();
    assert_eq!(signer_ids, ids);
    assert!(seen.problems.is_empty());
    assert_eq!(seen.manifest.id, "HF-7.0.3-0001");
}

/// Offset of entry `i`'s local header, via the zip crate.
trait Offsets {
    fn offsets_of(&self, i: usize) -> usize;
}

impl Offsets for zip::ZipArchive<std::io::Cursor<Vec<u8>>> {
    fn offsets_of(&self, i: usize) -> usize {
        let mut z = self.clone();
        z.by_index_raw(i).expect("entry").header_start() as usize
    }
}

/// The strict reader (verify) accepts what build and co-sign write.
fn verify_with(pkg: &Path, keys: &[&SecretKey], threshold: u32) -> crate::verify::VerifyReport {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, k) in keys.iter().enumerate() {
        std::fs::write(
            dir.path().join(format!("k{i}.pub")),
            k.public_key().to_file_text("test"),
        )
        .expect("write pub");
    }
    let trust = hotfix_sign::TrustSet::load(dir.path()).expect("trust set");
    crate::verify::verify(pkg, &trust, threshold, &mut crate::verify::NullSink)
        .expect("verify runs")
}

#[test]
fn the_strict_reader_verifies_built_and_cosigned_packages() {
    let fx = fixture();
    let pkg = fx.root.join("p.zip");
    build_into(&fx.spec, &fx.key, &pkg, EPOCH);
    let report = verify_with(&pkg, &[&fx.key], 1);
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(
        report.files, 9,
        "seven source files, a document and the SBOM"
    );

    let second = second_key(&fx.key, true);
    add_signature(&pkg, &second).expect("cosign");
    let report = verify_with(&pkg, &[&fx.key, &second], 2);
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(report.trusted_signers, 2);
}

/// A second key whose order relative to `first` is the same under the byte order of
/// `KeyId` and under [`format::key_id_order`] (`agree`), or differs (`!agree`).
fn second_key(first: &SecretKey, agree: bool) -> SecretKey {
    loop {
        let k = SecretKey::generate().expect("key");
        let (a, b) = (first.key_id(), k.key_id());
        if (a.cmp(&b) == format::key_id_order(&a, &b)) == agree {
            return k;
        }
    }
}

/// `KeyId`'s derived order (bytes) and the format's order (hex digits) differ for these
/// two keys: the writer and the reader must both use the format's.
#[test]
fn the_strict_reader_accepts_signatures_in_hex_digit_order() {
    let fx = fixture();
    let pkg = fx.root.join("p.zip");
    build_into(&fx.spec, &fx.key, &pkg, EPOCH);
    let second = second_key(&fx.key, false);
    add_signature(&pkg, &second).expect("cosign");
    let report = verify_with(&pkg, &[&fx.key, &second], 2);
    assert!(report.ok, "{:?}", report.failures);
}

#[test]
fn zip64_forms_are_read_by_the_strict_reader_the_zip_crate_and_unzip() {
    let fx = fixture();
    let pkg = fx.root.join("z.zip");
    format::FORCE_ZIP64.set(true);
    build_into(&fx.spec, &fx.key, &pkg, EPOCH);
    let second = second_key(&fx.key, true);
    add_signature(&pkg, &second).expect("cosign");
    let bytes = std::fs::read(&pkg).expect("read");
    assert!(
        bytes
            .windows(4)
            .any(|w| w == format::ZIP64_EOCD_SIG.to_le_bytes())
    );
    // The reader, forced the same way, requires exactly these forms...
    let report = verify_with(&pkg, &[&fx.key, &second], 2);
    assert!(report.ok, "{:?}", report.failures);
    // ...and a real reader refuses them: nothing in this small package needs ZIP64.
    format::FORCE_ZIP64.set(false);
    let report = verify_with(&pkg, &[&fx.key, &second], 2);
    assert!(
        report.has_rule("archive-zip64-unneeded"),
        "{:?}",
        report.failures
    );
    assert_eq!(
        entries(&pkg).len(),
        12,
        "head, two signatures, nine payload files"
    );
    if std::process::Command::new("unzip")
        .arg("-v")
        .output()
        .is_ok()
    {
        let out = std::process::Command::new("unzip")
            .arg("-tq")
            .arg(&pkg)
            .output()
            .expect("unzip");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

mod mutations {
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;

    /// One small built package, shared by all cases.
    fn package() -> &'static Vec<u8> {
        static PKG: OnceLock<Vec<u8>> = OnceLock::new();
        PKG.get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("src");
            let dll = root.join("server/Chat/bin.dll");
            write(&dll, &text(20_000));
            let spec = BuildSpec {
                root: root.clone(),
                id: "HF-1".into(),
                version: 1,
                title: "t".into(),
                description: String::new(),
                release: "7.0".into(),
                support_package: "SP3".into(),
                supersedes: vec![],
                requires: vec![],
                software_packages: vec![SoftwarePackageSpec {
                    name: "Chat".into(),
                    version: "1".into(),
                    dir: root.join("server/Chat"),
                }],
                msis: vec![],
                docs: None,
            };
            let key = SecretKey::generate().expect("key");
            let out = dir.path().join("p.zip");
            build_into(&spec, &key, &out, EPOCH);
            std::fs::read(&out).expect("read")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Inspect and co-sign read untrusted files: damage gives errors, never panics.
        #[test]
        fn damaged_packages_give_errors_not_panics(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut bytes = package().clone();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()));
            }
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("p.zip");
            std::fs::write(&path, &bytes).expect("write");
            let _ = inspect(&path);
            let _ = add_signature(&path, &SecretKey::generate().expect("key"));
        }
    }
}
