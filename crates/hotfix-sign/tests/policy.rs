//! The signed trust policy: parsing, thresholds, rotation chains, and how package
//! signatures are judged under it. One test per behaviour.

use hotfix_sign::policy::{
    PolicyBody, PolicyRule, Revocation, Role, SIGNATURE_MARKER, SigningKey, TrustPolicy, walk_chain,
};
use hotfix_sign::{PublicKey, SecretKey, SignError, Signature, sign};

const NOW: i64 = 1_780_000_000; // 2026-05-28
const DAY: i64 = 86_400;

fn keys(n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|_| SecretKey::generate().expect("key"))
        .collect()
}

fn publics(keys: &[SecretKey]) -> Vec<PublicKey> {
    keys.iter().map(SecretKey::public_key).collect()
}

fn body(version: u64, roots: &[SecretKey], threshold: usize) -> PolicyBody {
    PolicyBody {
        version,
        issued: Some(NOW - DAY),
        expires: None,
        root_threshold: threshold,
        root_keys: publics(roots),
        package_threshold: 1,
        require_role: Some(Role::Release),
        keys: Vec::new(),
        revoked: Vec::new(),
    }
}

fn signed(body: PolicyBody, signers: &[&SecretKey]) -> TrustPolicy {
    let mut p = TrustPolicy::unsigned(body);
    for k in signers {
        p.sign(*k).expect("sign");
    }
    // Through the file text, as a site receives it.
    TrustPolicy::parse(&p.to_file_text()).expect("parse")
}

fn rule(err: SignError) -> PolicyRule {
    match err {
        SignError::Policy { rule, .. } => rule,
        other => panic!("not a policy refusal: {other}"),
    }
}

#[test]
fn body_round_trips_through_its_toml() {
    let roots = keys(3);
    let signer = keys(1);
    let mut b = body(7, &roots, 2);
    b.expires = Some(NOW + 365 * DAY);
    b.keys.push(SigningKey {
        key: signer[0].public_key(),
        role: Role::Approver,
        not_before: Some(NOW - DAY),
        expires: Some(NOW + DAY),
        comment: "approver \"A\" \\ 2026".into(),
    });
    b.revoked.push(Revocation {
        key_id: roots[2].key_id(),
        date: NOW,
        reason: "laptop stolen".into(),
    });
    assert_eq!(PolicyBody::parse(&b.to_toml()).expect("parse"), b);
}

#[test]
fn policy_needs_its_root_threshold() {
    let roots = keys(3);
    let one = signed(body(1, &roots, 2), &[&roots[0]]);
    assert_eq!(
        rule(one.verify_self(NOW).expect_err("1 of 2")),
        PolicyRule::PolicyThresholdNotMet
    );
    let two = signed(body(1, &roots, 2), &[&roots[0], &roots[2]]);
    let tally = two.verify_self(NOW).expect("2 of 2");
    assert_eq!(tally.signed_by.len(), 2);
}

#[test]
fn a_signature_by_a_key_outside_the_root_does_not_count() {
    let roots = keys(2);
    let stranger = keys(1);
    let p = signed(body(1, &roots, 1), &[&stranger[0]]);
    assert_eq!(
        rule(p.verify_self(NOW).expect_err("stranger")),
        PolicyRule::PolicyThresholdNotMet
    );
}

#[test]
fn an_edited_body_loses_its_signatures() {
    let roots = keys(1);
    let p = signed(body(1, &roots, 1), &[&roots[0]]);
    let tampered = p
        .to_file_text()
        .replace("threshold = 1\nrequire_role", "threshold = 2\nrequire_role");
    assert_ne!(tampered, p.to_file_text());
    let p = TrustPolicy::parse(&tampered).expect("still parses");
    assert_eq!(
        rule(p.verify_self(NOW).expect_err("tampered")),
        PolicyRule::PolicyThresholdNotMet
    );
}

#[test]
fn a_revoked_root_key_does_not_count() {
    let roots = keys(2);
    let mut b = body(1, &roots, 1);
    b.revoked.push(Revocation {
        key_id: roots[0].key_id(),
        date: NOW,
        reason: "lost".into(),
    });
    let p = signed(b, &[&roots[0]]);
    assert_eq!(
        rule(p.verify_self(NOW).expect_err("revoked root")),
        PolicyRule::PolicyThresholdNotMet
    );
}

#[test]
fn an_expired_policy_is_refused() {
    let roots = keys(1);
    let mut b = body(1, &roots, 1);
    b.expires = Some(NOW);
    let p = signed(b, &[&roots[0]]);
    assert!(p.verify_self(NOW - 1).is_ok());
    assert_eq!(
        rule(p.verify_self(NOW).expect_err("expired")),
        PolicyRule::PolicyExpired
    );
}

/// v1 (roots a,b,c; 2 of 3) → v2 (roots c,d,e; 2 of 3) → v3 (roots d,e; 1 of 2).
fn rotation() -> (Vec<SecretKey>, TrustPolicy, TrustPolicy, TrustPolicy) {
    let k = keys(5);
    let v1 = signed(body(1, &k[0..3], 2), &[&k[0], &k[1]]);
    // v2 needs 2 of v1's roots (a, c) and 2 of its own (c, d).
    let v2 = signed(body(2, &k[2..5], 2), &[&k[0], &k[2], &k[3]]);
    // v3 needs 2 of v2's roots (d, e) and 1 of its own (d).
    let v3 = signed(body(3, &k[3..5], 1), &[&k[3], &k[4]]);
    (k, v1, v2, v3)
}

#[test]
fn a_site_on_version_1_follows_the_chain_to_version_3() {
    let (_, v1, v2, v3) = rotation();
    let reached = walk_chain(&v1, &[v3.clone(), v2.clone()], NOW).expect("chain");
    assert_eq!(reached.body.version, 3);
    assert_eq!(reached.body_text(), v3.body_text());
}

#[test]
fn a_chain_with_a_gap_is_refused() {
    let (_, v1, _, v3) = rotation();
    assert_eq!(
        rule(walk_chain(&v1, &[v3], NOW).expect_err("gap")),
        PolicyRule::PolicyChainGap
    );
}

#[test]
fn a_new_version_signed_only_by_its_own_new_roots_is_refused() {
    let k = keys(4);
    let v1 = signed(body(1, &k[0..2], 2), &[&k[0], &k[1]]);
    // An attacker who holds new keys c, d alone cannot take over the root.
    let v2 = signed(body(2, &k[2..4], 2), &[&k[2], &k[3]]);
    assert_eq!(
        rule(v2.verify_successor_of(&v1).expect_err("takeover")),
        PolicyRule::PolicyThresholdNotMet
    );
}

#[test]
fn a_new_version_needs_its_own_threshold_too() {
    let k = keys(4);
    let v1 = signed(body(1, &k[0..2], 1), &[&k[0]]);
    let v2 = signed(body(2, &k[2..4], 2), &[&k[0], &k[2]]);
    assert_eq!(
        rule(v2.verify_successor_of(&v1).expect_err("1 of 2 own")),
        PolicyRule::PolicyThresholdNotMet
    );
}

#[test]
fn an_older_version_is_a_rollback() {
    let (_, _, v2, v3) = rotation();
    assert_eq!(
        rule(v2.verify_successor_of(&v3).expect_err("older")),
        PolicyRule::PolicyRollback
    );
}

#[test]
fn an_expired_link_in_the_chain_is_fine_but_an_expired_end_is_not() {
    let k = keys(1);
    let mut b1 = body(1, &k, 1);
    b1.expires = Some(NOW - DAY);
    let v1 = signed(b1, &[&k[0]]);
    let v2 = signed(body(2, &k, 1), &[&k[0]]);
    assert_eq!(walk_chain(&v1, &[v2], NOW).expect("chain").body.version, 2);
    assert_eq!(
        rule(walk_chain(&v1, &[], NOW).expect_err("expired end")),
        PolicyRule::PolicyExpired
    );
}

#[test]
fn two_different_policies_with_one_version_are_refused() {
    let k = keys(2);
    let v1 = signed(body(1, &k, 1), &[&k[0]]);
    let a = signed(body(2, &k[..1], 1), &[&k[0]]);
    let b = signed(body(2, &k, 1), &[&k[0]]);
    assert_eq!(
        rule(walk_chain(&v1, &[a, b], NOW).expect_err("fork")),
        PolicyRule::PolicyMalformed
    );
}

fn with_signers(roles: &[(Role, Option<i64>, Option<i64>)]) -> (TrustPolicy, Vec<SecretKey>) {
    let roots = keys(1);
    let signers = keys(roles.len());
    let mut b = body(1, &roots, 1);
    for (k, (role, from, to)) in signers.iter().zip(roles) {
        b.keys.push(SigningKey {
            key: k.public_key(),
            role: *role,
            not_before: *from,
            expires: *to,
            comment: String::new(),
        });
    }
    (signed(b, &[&roots[0]]), signers)
}

fn sig(key: &SecretKey, data: &[u8]) -> Signature {
    sign(key, data, "hotfix-id:HF-1 version:1", "signature").expect("sign")
}

#[test]
fn a_valid_release_signature_is_trusted() {
    let (p, s) = with_signers(&[(Role::Release, None, None)]);
    let j = p.judge(&[sig(&s[0], b"manifest")], b"manifest", NOW);
    assert_eq!(j.counted, vec![(s[0].key_id(), Role::Release)]);
    j.verdict().expect("trusted");
}

#[test]
fn package_signatures_are_refused_by_rule() {
    let (mut p, s) = with_signers(&[
        (Role::Release, None, Some(NOW)),       // expired
        (Role::Release, Some(NOW + DAY), None), // not yet valid
        (Role::Release, None, None),            // revoked below
        (Role::Approver, None, None),           // fine, but not a release key
    ]);
    let mut b = p.body.clone();
    b.revoked.push(Revocation {
        key_id: s[2].key_id(),
        date: NOW - DAY,
        reason: "stolen".into(),
    });
    let roots = keys(1);
    b.root_keys = publics(&roots);
    p = signed(b, &[&roots[0]]);
    let stranger = keys(1);
    let data = b"manifest";
    let cases = [
        (&s[0], PolicyRule::KeyExpired),
        (&s[1], PolicyRule::KeyNotYetValid),
        (&s[2], PolicyRule::KeyRevoked),
        (&stranger[0], PolicyRule::KeyUnknown),
        (&s[3], PolicyRule::RoleMissing),
    ];
    for (key, expected) in cases {
        let j = p.judge(&[sig(key, data)], data, NOW);
        assert_eq!(rule(j.verdict().expect_err("refused")), expected, "{j:?}");
    }
}

#[test]
fn a_bad_signature_by_a_listed_key_does_not_count() {
    let (p, s) = with_signers(&[(Role::Release, None, None)]);
    let j = p.judge(&[sig(&s[0], b"manifest")], b"other manifest", NOW);
    assert!(j.counted.is_empty());
    assert_eq!(j.bad.len(), 1);
    assert_eq!(
        rule(j.verdict().expect_err("bad")),
        PolicyRule::ThresholdNotMet
    );
}

#[test]
fn the_package_threshold_counts_distinct_signers() {
    let (p, s) = with_signers(&[(Role::Release, None, None), (Role::Approver, None, None)]);
    let mut b = p.body.clone();
    b.package_threshold = 2;
    let roots = keys(1);
    b.root_keys = publics(&roots);
    let p = signed(b, &[&roots[0]]);
    let data = b"manifest";
    let once = p.judge(&[sig(&s[0], data), sig(&s[0], data)], data, NOW);
    assert_eq!(
        rule(once.verdict().expect_err("one signer twice")),
        PolicyRule::ThresholdNotMet
    );
    p.judge(&[sig(&s[0], data), sig(&s[1], data)], data, NOW)
        .verdict()
        .expect("two signers");
}

#[test]
fn duplicate_key_ids_are_refused() {
    let k = keys(1);
    let mut b = body(1, &k, 1);
    b.root_keys.push(k[0].public_key());
    assert_eq!(
        rule(PolicyBody::parse(&b.to_toml()).expect_err("dup root")),
        PolicyRule::DuplicateKeyId
    );
    let p = signed(body(1, &k, 1), &[&k[0]]);
    let sigs = p.to_file_text();
    let block = &sigs[sigs.find(SIGNATURE_MARKER).expect("marker") + SIGNATURE_MARKER.len() + 1..];
    let doubled = format!("{sigs}{block}");
    assert_eq!(
        rule(TrustPolicy::parse(&doubled).expect_err("dup sig")),
        PolicyRule::DuplicateKeyId
    );
}

#[test]
fn malformed_policies_name_what_is_wrong() {
    let k = keys(1);
    let good = signed(body(1, &k, 1), &[&k[0]]).to_file_text();
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("version = 1", "version = 1\nextra = 2"),
            "extra",
        ),
        (good.replace("format = 1", "format = 9"), "format 9"),
        (
            good.replace("threshold = 1\nkeys", "threshold = 3\nkeys"),
            "root.threshold",
        ),
        (good[..good.len() - 10].to_owned(), "signature"),
        (format!("{}x\n", &good), "4 lines"),
        (good.replace("[root]", "[root"), "line"),
        ("x".repeat(2 * 1024 * 1024), "at most"),
    ];
    for (text, needle) in cases {
        let err = TrustPolicy::parse(&text).expect_err("malformed");
        let msg = err.to_string();
        assert_eq!(rule(err), PolicyRule::PolicyMalformed, "{msg}");
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
}

#[test]
fn each_signature_block_verifies_as_a_plain_minisign_signature_of_the_body() {
    let k = keys(2);
    let p = signed(body(1, &k, 2), &[&k[0], &k[1]]);
    for (key, s) in k.iter().zip(p.signatures()) {
        let reparsed = Signature::parse(&s.to_file_text()).expect("block");
        key.public_key()
            .verify(&reparsed, p.body_text().as_bytes())
            .expect("minisign-style verify");
        assert!(
            s.trusted_comment()
                .starts_with("hotfix-trust-policy version:1 sha256:")
        );
    }
}

#[test]
fn rule_ids_are_distinct_and_kebab_case() {
    let mut ids: Vec<&str> = PolicyRule::ALL.iter().map(|r| r.id()).collect();
    assert!(
        ids.iter()
            .all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), PolicyRule::ALL.len());
}
