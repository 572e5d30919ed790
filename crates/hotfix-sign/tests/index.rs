//! The signed release index: parsing, trust under a policy, freshness, rollback, and
//! what it says of a hotfix.

use hotfix_sign::index::{
    HotfixIdentity, IndexBody, IndexStatus, IndexedHotfix, ReleaseIndex, Withdrawal, sha256_hex,
};
use hotfix_sign::policy::{PolicyBody, PolicyRule, Role, SigningKey, TrustPolicy};
use hotfix_sign::{SecretKey, SignError};
use sha2::{Digest, Sha256};

const NOW: i64 = 1_780_000_000;
const DAY: i64 = 86_400;
const MANIFEST: &[u8] = b"<hotfix id=\"HF-7.0.3-0042\" version=\"2\"/>";

fn rule(err: SignError) -> PolicyRule {
    match err {
        SignError::Policy { rule, .. } => rule,
        other => panic!("not a policy refusal: {other}"),
    }
}

/// A published policy with one release key; returns it and the release key.
fn policy() -> (TrustPolicy, SecretKey) {
    let root = SecretKey::generate().expect("key");
    let release = SecretKey::generate().expect("key");
    let mut p = TrustPolicy::unsigned(PolicyBody {
        version: 1,
        issued: None,
        expires: None,
        root_threshold: 1,
        root_keys: vec![root.public_key()],
        package_threshold: 1,
        require_role: Some(Role::Release),
        keys: vec![SigningKey {
            key: release.public_key(),
            role: Role::Release,
            not_before: None,
            expires: None,
            comment: String::new(),
        }],
        revoked: Vec::new(),
    });
    p.sign(&root).expect("sign");
    (p, release)
}

fn body(version: u64) -> IndexBody {
    IndexBody {
        release: "7.0".into(),
        support_package: "SP3".into(),
        version,
        issued: NOW - DAY,
        expires: NOW + 7 * DAY,
        hotfixes: vec![IndexedHotfix {
            id: "HF-7.0.3-0042".into(),
            version: 2,
            manifest_sha256: hex::encode(Sha256::digest(MANIFEST)),
        }],
        withdrawn: vec![Withdrawal {
            id: "HF-7.0.3-0040".into(),
            date: NOW - DAY,
            reason: "breaks chat routing".into(),
        }],
    }
}

fn signed(body: IndexBody, key: &SecretKey) -> ReleaseIndex {
    let mut index = ReleaseIndex::unsigned(body);
    index.sign(key).expect("sign");
    ReleaseIndex::parse(&index.to_file_text()).expect("parse")
}

fn hotfix(id: &'static str, version: u64, manifest: &[u8]) -> HotfixIdentity<'static> {
    HotfixIdentity {
        id,
        version,
        release: "7.0",
        support_package: "SP3",
        manifest_sha256: Box::leak(sha256_hex(manifest).into_boxed_str()),
    }
}

#[test]
fn body_round_trips_through_its_toml() {
    let b = body(3);
    assert_eq!(IndexBody::parse(&b.to_toml()).expect("parse"), b);
}

#[test]
fn an_index_signed_by_a_release_key_is_trusted() {
    let (p, release) = policy();
    signed(body(1), &release)
        .verify(&p, NOW, false)
        .expect("trusted");
}

#[test]
fn an_index_signed_by_a_stranger_is_refused() {
    let (p, _) = policy();
    let stranger = SecretKey::generate().expect("key");
    let err = signed(body(1), &stranger)
        .verify(&p, NOW, false)
        .expect_err("stranger");
    assert_eq!(rule(err), PolicyRule::KeyUnknown);
}

#[test]
fn an_edited_index_is_refused() {
    let (p, release) = policy();
    let text = signed(body(1), &release)
        .to_file_text()
        .replace("breaks chat routing", "fine after all");
    let index = ReleaseIndex::parse(&text).expect("parses");
    assert_eq!(
        rule(index.verify(&p, NOW, false).expect_err("edited")),
        PolicyRule::ThresholdNotMet
    );
}

#[test]
fn an_expired_index_is_refused_unless_stale_is_accepted() {
    let (p, release) = policy();
    let index = signed(body(1), &release);
    let later = NOW + 8 * DAY;
    assert_eq!(
        rule(index.verify(&p, later, false).expect_err("expired")),
        PolicyRule::IndexExpired
    );
    index.verify(&p, later, true).expect("stale accepted");
}

#[test]
fn an_older_index_than_the_one_seen_is_a_rollback() {
    let (_, release) = policy();
    let index = signed(body(4), &release);
    index.check_not_older_than(4).expect("same version");
    assert_eq!(
        rule(index.check_not_older_than(5).expect_err("older")),
        PolicyRule::IndexRollback
    );
}

#[test]
fn the_index_judges_each_hotfix_by_rule() {
    let (_, release) = policy();
    let index = signed(body(1), &release);
    index
        .check_hotfix(&hotfix("HF-7.0.3-0042", 2, MANIFEST))
        .expect("current");
    let other_manifest = b"<hotfix id=\"HF-7.0.3-0042\" version=\"2\" changed/>";
    let cases = [
        (
            hotfix("HF-7.0.3-0040", 1, MANIFEST),
            PolicyRule::HotfixWithdrawn,
        ),
        (
            hotfix("HF-7.0.3-0042", 1, MANIFEST),
            PolicyRule::IndexMismatch,
        ),
        (
            hotfix("HF-7.0.3-0042", 2, other_manifest),
            PolicyRule::IndexMismatch,
        ),
        (
            hotfix("HF-7.0.3-0099", 1, MANIFEST),
            PolicyRule::HotfixNotInIndex,
        ),
        (
            HotfixIdentity {
                release: "7.1",
                ..hotfix("HF-7.0.3-0042", 2, MANIFEST)
            },
            PolicyRule::IndexMismatch,
        ),
    ];
    for (h, expected) in cases {
        assert_eq!(
            rule(index.check_hotfix(&h).expect_err("refused")),
            expected,
            "{h:?}"
        );
    }
    assert_eq!(
        index.status(&hotfix("HF-7.0.3-0042", 1, MANIFEST)),
        IndexStatus::Superseded { current_version: 2 }
    );
}

#[test]
fn malformed_indexes_name_what_is_wrong() {
    let (_, release) = policy();
    let good = signed(body(1), &release).to_file_text();
    let cases: Vec<(String, &str)> = vec![
        (good.replace("format = 1", "format = 1\nmode = 2"), "mode"),
        (
            good.replace("manifest_sha256 = \"", "manifest_sha256 = \"x"),
            "64 lower-case hex",
        ),
        (
            good.replace("HF-7.0.3-0040", "HF-7.0.3-0042"),
            "both as current and as withdrawn",
        ),
        (good.replace("\n", "\r\n"), "alone on its line"),
        (format!("{}\r\n", good.trim_end_matches('\n')), "line feed"),
    ];
    for (text, needle) in cases {
        let err = ReleaseIndex::parse(&text).expect_err("malformed");
        let msg = err.to_string();
        assert_eq!(rule(err), PolicyRule::IndexMalformed, "{msg}");
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
}
