//! The hostile corpus: one good package and one bad package per attack, each with the
//! rule verify must name. Used by `tests/hostile.rs` and by
//! `cargo run -p hotfix-package --example make-hostile-corpus -- OUTDIR`.
//!
//! Packages are assembled with `rawzip` (which writes anything) from a manifest signed
//! with a test key, so that an attack changes exactly one thing. `good_package` is
//! checked to verify cleanly, so every refusal is due to its attack.
#![allow(dead_code)]

use hotfix_manifest::{Base, FileEntry, Manifest, Sha256, SoftwarePackage};
use hotfix_package::format;
use hotfix_sign::{KeyId, SecretKey, TrustSet};
use sha2::Digest;

use super::rawzip::{self, ATTRS_DIR, ATTRS_SYMLINK, RawEntry};

pub const ID: &str = "HF-7.0.3-0042";
pub const VERSION: u64 = 3;
pub const DLL: &str = "server/ChatServer/bin/chat.dll";
pub const CONF: &str = "server/ChatServer/conf/chat.xml";
pub const README: &str = "docs/README.txt";

/// Test keys: `signer` is trusted, `second` is trusted too (for thresholds), `stranger`
/// is not.
#[derive(Debug)]
pub struct Keys {
    pub signer: SecretKey,
    pub second: SecretKey,
    pub stranger: SecretKey,
}

impl Keys {
    pub fn new() -> Keys {
        let k = || SecretKey::generate().expect("generate key");
        Keys {
            signer: k(),
            second: k(),
            stranger: k(),
        }
    }

    /// Trust set with `signer` and `second`.
    pub fn trust(&self) -> TrustSet {
        let mut t = TrustSet::default();
        t.insert(self.signer.public_key(), "signer.pub".as_ref())
            .expect("trust");
        t.insert(self.second.public_key(), "second.pub".as_ref())
            .expect("trust");
        t
    }
}

/// Deterministic bytes that do not compress.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// One payload file: (path, data, method).
pub type Payload = Vec<(String, Vec<u8>, u16)>;

/// The good payload: a stored DLL, a deflated config file and a deflated doc.
pub fn payload() -> Payload {
    let conf: Vec<u8> = (0..200)
        .flat_map(|i| format!("  <setting name=\"s{i}\" value=\"{}\"/>\n", i * 7).into_bytes())
        .collect();
    vec![
        (DLL.to_owned(), noise(4096, 1), format::METHOD_STORED),
        (CONF.to_owned(), conf, format::METHOD_DEFLATE),
        (
            README.to_owned(),
            b"Hotfix HF-7.0.3-0042\nFixes chat routing.\n".repeat(20),
            format::METHOD_DEFLATE,
        ),
    ]
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

fn file_entry(path: &str, data: &[u8]) -> FileEntry {
    FileEntry {
        path: path.to_owned(),
        size: data.len() as u64,
        sha256: Sha256(sha256(data)),
    }
}

/// A manifest listing `payload` (server files under ChatServer, `docs/` as docs; any
/// other path also goes to ChatServer, so bad names reach the name rules).
pub fn manifest_for(id: &str, version: u64, supersedes: &[&str], payload: &Payload) -> Manifest {
    let mut server = Vec::new();
    let mut docs = Vec::new();
    for (path, data, _) in payload {
        if path.starts_with("docs/") {
            docs.push(file_entry(path, data));
        } else {
            server.push(file_entry(path, data));
        }
    }
    let mut m = Manifest {
        format: 1,
        id: id.to_owned(),
        version,
        title: "Chat routing fix".to_owned(),
        description: "Fixes chat routing after failover.".to_owned(),
        base: Base {
            release: "7.0".to_owned(),
            support_package: "SP3".to_owned(),
        },
        created: "2025-06-01T00:00:00Z".to_owned(),
        supersedes: supersedes.iter().map(|s| (*s).to_owned()).collect(),
        requires: Vec::new(),
        software_packages: vec![SoftwarePackage {
            name: "ChatServer".to_owned(),
            version: "7.0.3.12".to_owned(),
            files: server,
        }],
        msis: Vec::new(),
        docs,
    };
    m.sort();
    m
}

/// A minisign signature file over `xml` with the trusted comment binding `id`/`version`.
pub fn signature(key: &SecretKey, xml: &[u8], id: &str, version: u64) -> (KeyId, Vec<u8>) {
    let comment = format::trusted_comment_for(id, version, &sha256(xml));
    let untrusted = format::untrusted_comment_for(id, version);
    let sig = hotfix_sign::sign(key, xml, &comment, &untrusted).expect("sign");
    (key.key_id(), sig.to_file_text().into_bytes())
}

/// Archive entries: the manifest, the signatures (sorted by key id), then the payload in
/// manifest order.
pub fn entries(xml: &[u8], sigs: &[(KeyId, Vec<u8>)], payload: &Payload) -> Vec<RawEntry> {
    let mut out = vec![RawEntry::new(
        hotfix_manifest::MANIFEST_ENTRY,
        xml.to_vec(),
        format::METHOD_STORED,
    )];
    let mut sigs = sigs.to_vec();
    sigs.sort_by(|a, b| format::key_id_order(&a.0, &b.0));
    for (id, text) in sigs {
        out.push(RawEntry::new(
            &format::signature_entry_name(id),
            text,
            format::METHOD_STORED,
        ));
    }
    let manifest_order: Vec<String> = match Manifest::from_xml(xml) {
        Ok(m) => m.payload().map(|f| f.path.clone()).collect(),
        Err(_) => payload.iter().map(|p| p.0.clone()).collect(),
    };
    let mut files: Vec<&(String, Vec<u8>, u16)> = payload.iter().collect();
    files.sort_by_key(|p| {
        manifest_order
            .iter()
            .position(|m| *m == p.0)
            .unwrap_or(usize::MAX)
    });
    for (path, data, method) in files {
        out.push(RawEntry::new(path, data.clone(), *method));
    }
    out
}

/// A whole package of `payload` under `id`/`version`, signed by `keys`.
pub fn package_with(
    keys: &[&SecretKey],
    id: &str,
    version: u64,
    supersedes: &[&str],
    payload: &Payload,
) -> Vec<u8> {
    signed_package(
        keys,
        &manifest_for(id, version, supersedes, payload),
        payload,
    )
}

/// A whole package of `payload` under manifest `m`, signed by `keys`.
pub fn signed_package(keys: &[&SecretKey], m: &Manifest, payload: &Payload) -> Vec<u8> {
    let xml = m.to_xml();
    let sigs: Vec<_> = keys
        .iter()
        .map(|k| signature(k, &xml, &m.id, m.version))
        .collect();
    rawzip::write_zip(&entries(&xml, &sigs, payload))
}

/// The good package, signed by `keys.signer`.
pub fn good_package(keys: &Keys) -> Vec<u8> {
    package_with(&[&keys.signer], ID, VERSION, &[], &payload())
}

/// The good package's entries, for attacks that change the archive but not what is signed.
pub fn good_entries(keys: &Keys) -> Vec<RawEntry> {
    let payload = payload();
    let xml = manifest_for(ID, VERSION, &[], &payload).to_xml();
    let sig = signature(&keys.signer, &xml, ID, VERSION);
    entries(&xml, &[sig], &payload)
}

/// One bad package and what verify must say about it.
#[derive(Debug)]
pub struct Attack {
    /// Also the fixture's file name (`<name>.zip`).
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// The rule id verify must report.
    pub rule: &'static str,
    /// The entry that failure must name, when it is about one entry.
    pub entry: Option<String>,
    pub threshold: u32,
}

fn index_of(entries: &[RawEntry], name: &str) -> usize {
    entries
        .iter()
        .position(|e| e.name == name.as_bytes())
        .expect("entry present")
}

/// Package whose manifest lists `payload` and is signed by the trusted signer, with the
/// archive holding exactly that payload (for names the manifest itself must refuse).
fn resigned(keys: &Keys, payload: &Payload) -> Vec<u8> {
    package_with(&[&keys.signer], ID, VERSION, &[], payload)
}

/// Every attack. Each changes one thing in the good package.
pub fn attacks(keys: &Keys) -> Vec<Attack> {
    let good = good_package(keys);
    let mut out = Vec::new();
    let mut add = |name: &'static str, bytes: Vec<u8>, rule: &'static str, entry: Option<&str>| {
        out.push(Attack {
            name,
            bytes,
            rule,
            entry: entry.map(str::to_owned),
            threshold: 1,
        });
    };
    // Change one archive entry of the good package.
    let with = |f: &dyn Fn(&mut Vec<RawEntry>)| {
        let mut e = good_entries(keys);
        f(&mut e);
        rawzip::write_zip(&e)
    };

    // Payload tampering (CRC recomputed, as an attacker would).
    add(
        "tampered-payload-stored",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].data[100] ^= 1;
        }),
        "entry-sha256-mismatch",
        Some(DLL),
    );
    add(
        "tampered-payload-deflated",
        with(&|e| {
            let i = index_of(e, CONF);
            e[i].data[10] ^= 1;
        }),
        "entry-sha256-mismatch",
        Some(CONF),
    );
    add(
        "tampered-payload-crc-left-stale",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].crc = Some(rawzip::crc32(&e[i].data));
            e[i].data[100] ^= 1;
        }),
        "entry-crc-mismatch",
        Some(DLL),
    );

    // Signatures.
    {
        let p = payload();
        let xml = manifest_for(ID, VERSION, &[], &p).to_xml();
        let sig = signature(&keys.stranger, &xml, ID, VERSION);
        add(
            "signature-from-unknown-key",
            rawzip::write_zip(&entries(&xml, &[sig], &p)),
            "threshold-not-met",
            None,
        );
        let mut changed = xml.clone();
        let at = changed
            .windows(5)
            .position(|w| w == b"Chat ")
            .expect("title in manifest");
        changed[at] = b'K';
        let sig = signature(&keys.signer, &xml, ID, VERSION);
        let name = format::signature_entry_name(keys.signer.key_id());
        add(
            "manifest-changed-one-byte",
            rawzip::write_zip(&entries(&changed, std::slice::from_ref(&sig), &p)),
            "signature-invalid",
            Some(&name),
        );
        // Another package, properly signed by the same trusted key.
        let other_xml = manifest_for("HF-7.0.3-0043", 1, &[], &p).to_xml();
        let other_sig = signature(&keys.signer, &other_xml, "HF-7.0.3-0043", 1);
        add(
            "manifest-from-another-package",
            rawzip::write_zip(&entries(&other_xml, std::slice::from_ref(&sig), &p)),
            "signature-invalid",
            Some(&name),
        );
        add(
            "signature-from-another-package",
            rawzip::write_zip(&entries(&xml, &[other_sig], &p)),
            "signature-invalid",
            Some(&name),
        );
        // Valid signatures over these bytes whose trusted comments bind something else:
        // another hotfix id, or another manifest's hash.
        // The untrusted comment a hotfix signature with this trusted comment carries.
        let untrusted_for = |comment: &str| {
            let id = comment
                .strip_prefix("hotfix-id:")
                .and_then(|r| r.split(' ').next())
                .unwrap_or("x");
            format::untrusted_comment_for(id, VERSION)
        };
        let resign = |comment: String| {
            let s = hotfix_sign::sign(&keys.signer, &xml, &comment, &untrusted_for(&comment))
                .expect("sign");
            rawzip::write_zip(&entries(
                &xml,
                &[(keys.signer.key_id(), s.to_file_text().into_bytes())],
                &p,
            ))
        };
        add(
            "trusted-comment-for-another-hotfix",
            resign(format::trusted_comment_for(
                "HF-7.0.3-0099",
                VERSION,
                &sha256(&xml),
            )),
            "signature-id-mismatch",
            Some(&name),
        );
        add(
            "trusted-comment-for-another-manifest",
            resign(format::trusted_comment_for(
                ID,
                VERSION,
                &sha256(&other_xml),
            )),
            "signature-trusted-comment",
            Some(&name),
        );
        add(
            "trusted-comment-not-a-hotfix-comment",
            resign("timestamp:1700000000\tfile:hotfix.xml".to_owned()),
            "signature-trusted-comment",
            Some(&name),
        );
        let (_, sig_text) = signature(&keys.signer, &xml, ID, VERSION);
        let mut e = entries(&xml, &[], &p);
        e.insert(
            1,
            RawEntry::new(
                &format::signature_entry_name(keys.second.key_id()),
                sig_text,
                format::METHOD_STORED,
            ),
        );
        add(
            "signature-under-another-key-name",
            rawzip::write_zip(&e),
            "signature-name-mismatch",
            Some(&format::signature_entry_name(keys.second.key_id())),
        );
        let mut two = entries(
            &xml,
            &[
                signature(&keys.signer, &xml, ID, VERSION),
                signature(&keys.second, &xml, ID, VERSION),
            ],
            &p,
        );
        two.swap(1, 2);
        add(
            "signatures-out-of-order",
            rawzip::write_zip(&two),
            "entry-order",
            Some(&two[2].name_str()),
        );
        add(
            "no-signatures",
            rawzip::write_zip(&entries(&xml, &[], &p)),
            "signatures-missing",
            None,
        );
    }
    out.push(Attack {
        name: "threshold-2-with-one-signer",
        bytes: good.clone(),
        rule: "threshold-not-met",
        entry: None,
        threshold: 2,
    });
    let mut add = |name: &'static str, bytes: Vec<u8>, rule: &'static str, entry: Option<&str>| {
        out.push(Attack {
            name,
            bytes,
            rule,
            entry: entry.map(str::to_owned),
            threshold: 1,
        });
    };

    // The archive's outer shape.
    add(
        "truncated-archive",
        good[..good.len() - 100].to_vec(),
        "archive-truncated",
        None,
    );
    add(
        "data-prepended",
        [b"#!/bin/sh\necho hello\n".as_slice(), &good].concat(),
        "archive-prepended-data",
        None,
    );
    add(
        "data-appended",
        [good.as_slice(), b"trailing bytes"].concat(),
        "archive-appended-data",
        None,
    );
    {
        let mut c = good.clone();
        let n = c.len();
        c[n - 2..].copy_from_slice(&5u16.to_le_bytes());
        c.extend_from_slice(b"hello");
        add("archive-comment", c, "archive-comment", None);
    }

    // Local header vs central directory.
    add(
        "header-mismatch-name",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].local.name = Some(b"server/ChatServer/bin/evil.dll".to_vec());
        }),
        "local-header-mismatch",
        Some(DLL),
    );
    add(
        "header-mismatch-size",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].local.size = Some(5000);
        }),
        "local-header-mismatch",
        Some(DLL),
    );
    add(
        "header-mismatch-method",
        with(&|e| {
            let i = index_of(e, CONF);
            e[i].local.method = Some(0);
        }),
        "local-header-mismatch",
        Some(CONF),
    );
    add(
        "header-mismatch-crc",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].local.crc = Some(0xdead_beef);
        }),
        "local-header-mismatch",
        Some(DLL),
    );
    add(
        "overlapping-entries",
        with(&|e| {
            let i = index_of(e, DLL);
            let mut alias = e[i].clone();
            alias.alias_of = Some(i);
            e.push(alias);
        }),
        "entries-overlap",
        Some(DLL),
    );
    add(
        "gap-between-entries",
        with(&|e| {
            let i = index_of(e, CONF);
            e[i].gap_before = b"hidden bytes".to_vec();
        }),
        "entries-gap",
        Some(CONF),
    );

    // Entries against the manifest.
    add(
        "unlisted-extra-entry",
        with(&|e| {
            e.push(RawEntry::new(
                "server/ChatServer/bin/extra.dll",
                b"MZ".to_vec(),
                0,
            ))
        }),
        "entry-unlisted",
        Some("server/ChatServer/bin/extra.dll"),
    );
    add(
        "missing-entry",
        with(&|e| {
            let i = index_of(e, CONF);
            e.remove(i);
        }),
        "entry-missing",
        Some(CONF),
    );
    add(
        "duplicate-entry",
        with(&|e| {
            let i = index_of(e, DLL);
            let dup = e[i].clone();
            e.insert(i + 1, dup);
        }),
        "entry-duplicate",
        Some(DLL),
    );
    add(
        "entries-out-of-manifest-order",
        with(&|e| {
            let i = index_of(e, DLL);
            let j = index_of(e, CONF);
            e.swap(i, j);
        }),
        "entry-order",
        Some(DLL),
    );
    add(
        "manifest-not-first",
        with(&|e| e.swap(0, 1)),
        "manifest-missing",
        None,
    );
    add(
        "manifest-deflated",
        with(&|e| e[0].method = format::METHOD_DEFLATE),
        "entry-not-stored",
        Some("hotfix.xml"),
    );

    // Unsafe names, first as unlisted archive entries, then listed in a re-signed manifest.
    let bad_names: [(&'static str, &str, &'static str); 12] = [
        ("traversal", "../x", "name-traversal"),
        (
            "traversal-inside",
            "server/ChatServer/../../x",
            "name-traversal",
        ),
        ("absolute", "/x", "name-absolute"),
        ("drive-letter", "C:x", "name-drive-letter"),
        ("unc", "\\\\srv\\x", "name-unc"),
        ("backslash", "server\\ChatServer\\x.dll", "name-backslash"),
        (
            "ntfs-stream",
            "server/ChatServer/a.txt:stream",
            "name-colon",
        ),
        ("reserved-name", "server/P/CON.txt", "name-reserved-device"),
        (
            "trailing-dot",
            "server/ChatServer/x.",
            "name-trailing-dot-or-space",
        ),
        (
            "trailing-space",
            "server/ChatServer/x ",
            "name-trailing-dot-or-space",
        ),
        (
            "control-char",
            "server/ChatServer/a\u{1}b",
            "name-control-char",
        ),
        ("nfd-name", "docs/cafe\u{301}.txt", "name-not-nfc"),
    ];
    let archive_names: [&'static str; 12] = [
        "name-traversal",
        "name-traversal-inside",
        "name-absolute",
        "name-drive-letter",
        "name-unc",
        "name-backslash",
        "name-ntfs-stream",
        "name-reserved",
        "name-trailing-dot",
        "name-trailing-space",
        "name-control-char",
        "name-nfd",
    ];
    let manifest_names: [&'static str; 12] = [
        "manifest-name-traversal",
        "manifest-name-traversal-inside",
        "manifest-name-absolute",
        "manifest-name-drive-letter",
        "manifest-name-unc",
        "manifest-name-backslash",
        "manifest-name-ntfs-stream",
        "manifest-name-reserved",
        "manifest-name-trailing-dot",
        "manifest-name-trailing-space",
        "manifest-name-control-char",
        "manifest-name-nfd",
    ];
    for (i, (_, bad, rule)) in bad_names.iter().enumerate() {
        add(
            archive_names[i],
            with(&|e| e.push(RawEntry::new(bad, b"owned".to_vec(), 0))),
            rule,
            Some(bad),
        );
        let mut p = payload();
        p.push(((*bad).to_owned(), b"owned".to_vec(), 0));
        add(manifest_names[i], resigned(keys, &p), rule, Some(bad));
    }
    // Names that collide on a case-insensitive or normalizing file system: each adds
    // these extra files (content "a", "b", ...) to the good payload.
    let collisions: [(&'static str, &[&str], &'static str, Option<&str>); 5] = [
        (
            "case-collision",
            &[
                "server/ChatServer/Readme.txt",
                "server/ChatServer/README.txt",
            ],
            "name-collision",
            Some("server/ChatServer/Readme.txt"),
        ),
        (
            "unicode-compatibility-collision",
            &["docs/\u{fb01}le.txt", "docs/file.txt"],
            "name-collision",
            Some("docs/\u{fb01}le.txt"),
        ),
        (
            "nfc-nfd-collision",
            &["docs/caf\u{e9}.txt", "docs/cafe\u{301}.txt"],
            "name-not-nfc",
            Some("docs/cafe\u{301}.txt"),
        ),
        (
            "folder-spelled-two-ways",
            &["server/ChatServer/Lib/a.dll", "server/ChatServer/lib/b.dll"],
            "name-collision",
            Some("server/ChatServer/lib/b.dll"),
        ),
        (
            "file-and-folder-collision",
            &["server/ChatServer/bin"],
            "name-collision",
            None,
        ),
    ];
    for (name, extra, rule, entry) in collisions {
        let mut p = payload();
        for (i, path) in extra.iter().enumerate() {
            p.push(((*path).to_owned(), vec![b'a' + i as u8], 0));
        }
        add(name, resigned(keys, &p), rule, entry);
    }

    // Entry kinds and encodings.
    add(
        "symlink-entry",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].external_attrs = ATTRS_SYMLINK;
        }),
        "entry-symlink",
        Some(DLL),
    );
    add(
        "directory-entry",
        with(&|e| {
            let mut d = RawEntry::new("server/ChatServer/bin/", Vec::new(), 0);
            d.external_attrs = ATTRS_DIR;
            let i = index_of(e, DLL);
            e.insert(i, d);
        }),
        "entry-directory",
        Some("server/ChatServer/bin/"),
    );
    add(
        "encrypted-flag",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].flags |= 1;
        }),
        "entry-encrypted",
        Some(DLL),
    );
    add(
        "unsupported-method-bzip2",
        with(&|e| {
            let i = index_of(e, CONF);
            e[i].method = 12;
            e[i].raw = Some(rawzip::deflate(&e[i].data));
        }),
        "entry-unsupported-method",
        Some(CONF),
    );
    add(
        "data-descriptor-flag",
        with(&|e| {
            let i = index_of(e, CONF);
            e[i].flags |= 1 << 3;
        }),
        "entry-data-descriptor",
        Some(CONF),
    );
    add(
        "extra-field",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].extra = vec![0x55, 0x54, 5, 0, 1, 0, 0, 0, 0];
        }),
        "entry-extra-field",
        Some(DLL),
    );
    add(
        "stored-sizes-disagree",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].size = Some(4000);
        }),
        "entry-size-mismatch",
        Some(DLL),
    );
    // A deflate stream that expands far past the size the signed manifest declares; the
    // central directory is honest about it (CRC and size), only the manifest bounds it.
    add(
        "compression-bomb",
        with(&|e| {
            let i = index_of(e, CONF);
            let bomb = vec![b'A'; 16 * 1024 * 1024];
            e[i].crc = Some(rawzip::crc32(&bomb));
            e[i].size = Some(bomb.len() as u32);
            e[i].raw = Some(rawzip::deflate(&bomb));
        }),
        "entry-size-exceeds-manifest",
        Some(CONF),
    );
    canonical_form_attacks(keys, &mut out);
    out
}

/// Attacks on the canonical form: what a reader must refuse so that no byte of a
/// package can change unnoticed (FORMAT.md 2.2 and 5), and names that are safe on POSIX
/// but not on Windows (FORMAT.md 4).
fn canonical_form_attacks(keys: &Keys, out: &mut Vec<Attack>) {
    let mut add = |name: &'static str, bytes: Vec<u8>, rule: &'static str, entry: Option<&str>| {
        out.push(Attack {
            name,
            bytes,
            rule,
            entry: entry.map(str::to_owned),
            threshold: 1,
        });
    };
    let with = |f: &dyn Fn(&mut Vec<RawEntry>)| {
        let mut e = good_entries(keys);
        f(&mut e);
        rawzip::write_zip(&e)
    };
    let manifest = hotfix_manifest::MANIFEST_ENTRY;

    // ZIP64 where nothing needs it.
    add(
        "zip64-extra-field-not-needed",
        with(&|e| {
            let i = index_of(e, DLL);
            let (size, csize) = (e[i].data.len() as u64, e[i].stored_bytes().len() as u64);
            e[i].extra = rawzip::zip64_extra(&[size, csize]);
            e[i].version_needed = 45;
        }),
        "entry-zip64-unneeded",
        Some(DLL),
    );
    add(
        "zip64-extra-field-64k-on-manifest",
        with(&|e| {
            let mut junk = rawzip::zip64_extra(&[]);
            junk.extend(noise(65_531, 7));
            junk[2..4].copy_from_slice(&65_531u16.to_le_bytes());
            e[0].extra = junk;
            e[0].version_needed = 45;
        }),
        "entry-zip64-unneeded",
        Some(manifest),
    );
    add(
        "zip64-extra-field-in-local-header-only",
        with(&|e| {
            let i = index_of(e, DLL);
            let (size, csize) = (e[i].data.len() as u64, e[i].stored_bytes().len() as u64);
            e[i].local.extra = Some(rawzip::zip64_extra(&[size, csize]));
        }),
        "entry-zip64-unneeded",
        Some(DLL),
    );
    add(
        "zip64-sizes-that-fit-32-bits",
        with(&|e| {
            let i = index_of(e, CONF);
            let (size, csize) = (e[i].data.len() as u64, e[i].stored_bytes().len() as u64);
            e[i].size = Some(u32::MAX);
            e[i].compressed_size = Some(u32::MAX);
            e[i].extra = rawzip::zip64_extra(&[size, csize]);
            e[i].version_needed = 45;
        }),
        "entry-zip64-unneeded",
        Some(CONF),
    );
    add(
        "version-needed-45-without-zip64",
        with(&|e| {
            let i = index_of(e, DLL);
            e[i].version_needed = 45;
        }),
        "entry-version-needed",
        Some(DLL),
    );
    let good = good_package(keys);
    add(
        "zip64-end-record-not-needed",
        rawzip::with_zip64_end(&good, (rawzip::MADE_BY_UNIX, 45)),
        "archive-zip64-unneeded",
        None,
    );
    add(
        "zip64-end-record-odd-versions",
        rawzip::with_zip64_end(&good, (0x002d, 62)),
        "archive-zip64-invalid",
        None,
    );

    // Times: every entry carries the DOS form of the manifest's created time.
    add(
        "entry-times-not-the-created-time",
        with(&|e| {
            for x in e.iter_mut() {
                x.modified = ((44 << 9) | (1 << 5) | 1) << 16;
            }
        }),
        "entry-time",
        Some(manifest),
    );
    add(
        "entry-time-differs-on-one-entry",
        with(&|e| {
            let i = index_of(e, README);
            e[i].modified += 1;
        }),
        "entry-time",
        Some(README),
    );

    // Signature files: only the exact bytes hotfix writes. Each keeps a valid signature
    // (the signed parts are untouched), so only the form is wrong.
    let sig_name = format::signature_entry_name(keys.signer.key_id());
    let edit_sig = |f: &dyn Fn(&str) -> String| {
        with(&|e| {
            let text = String::from_utf8(e[1].data.clone()).expect("signature text");
            e[1].data = f(&text).into_bytes();
        })
    };
    add(
        "signature-crlf",
        edit_sig(&|t| t.replace('\n', "\r\n")),
        "signature-not-canonical",
        Some(&sig_name),
    );
    add(
        "signature-bom",
        edit_sig(&|t| format!("\u{feff}{t}")),
        "signature-not-canonical",
        Some(&sig_name),
    );
    add(
        "signature-trailing-newlines",
        edit_sig(&|t| format!("{t}{}", "\n".repeat(4000))),
        "signature-not-canonical",
        Some(&sig_name),
    );
    add(
        "signature-long-untrusted-comment",
        edit_sig(&|t| t.replacen('\n', &format!(" {}\n", "A".repeat(900)), 1)),
        "signature-not-canonical",
        Some(&sig_name),
    );
    add(
        "signature-other-untrusted-comment",
        edit_sig(&|t| {
            let (_, rest) = t.split_once('\n').expect("first line");
            format!("untrusted comment: signature from minisign secret key\n{rest}")
        }),
        "signature-not-canonical",
        Some(&sig_name),
    );

    // Names safe on POSIX that Windows folds into unsafe ones, and 8.3 lookalikes: in the
    // archive only (unlisted but refused by name), and listed in a signed manifest.
    let names: [(&'static str, &'static str, &str, &'static str); 6] = [
        (
            "name-fullwidth-dots",
            "manifest-name-fullwidth-dots",
            "server/ChatServer/\u{ff0e}\u{ff0e}/x.dll",
            "name-windows-lookalike",
        ),
        (
            "name-fullwidth-backslash-traversal",
            "manifest-name-fullwidth-backslash-traversal",
            "server/ChatServer/a\u{ff3c}..\u{ff3c}x",
            "name-windows-lookalike",
        ),
        (
            "name-fullwidth-colon",
            "manifest-name-fullwidth-colon",
            "server/ChatServer/a\u{ff1a}b",
            "name-windows-lookalike",
        ),
        (
            "name-fullwidth-device",
            "manifest-name-fullwidth-device",
            "server/ChatServer/\u{ff23}\u{ff2f}\u{ff2e}",
            "name-windows-lookalike",
        ),
        (
            "name-fullwidth-trailing-dot",
            "manifest-name-fullwidth-trailing-dot",
            "server/ChatServer/a\u{ff0e}",
            "name-windows-lookalike",
        ),
        (
            "name-short-name-alias",
            "manifest-name-short-name-alias",
            "server/ChatServer/abcdef~1.txt",
            "name-short-name-alias",
        ),
    ];
    for (archive_name, manifest_name, bad, rule) in names {
        add(
            archive_name,
            with(&|e| e.push(RawEntry::new(bad, b"owned".to_vec(), 0))),
            rule,
            Some(bad),
        );
        let mut p = payload();
        if rule == "name-short-name-alias" {
            // The long name whose NTFS alias it mimics.
            p.push((
                "server/ChatServer/abcdefghij.txt".to_owned(),
                b"long".to_vec(),
                0,
            ));
        }
        p.push((bad.to_owned(), b"owned".to_vec(), 0));
        add(manifest_name, resigned(keys, &p), rule, Some(bad));
    }
}
