//! The trust policy and release index parsers on arbitrary text (both come from outside:
//! a policy file handed to `--trusted`, an index to `--index`). Whatever parses must
//! write its body back to TOML that parses to the same body, and judging a package or
//! walking a chain with it must return, not panic.
#![no_main]

use hotfix_sign::index::{IndexBody, ReleaseIndex};
use hotfix_sign::policy::{PolicyBody, TrustPolicy, walk_chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = TrustPolicy::parse(text) {
        let back = PolicyBody::parse(&policy.body.to_toml()).expect("written body parses");
        assert_eq!(back, policy.body, "policy body round trip");
        let _ = policy.verify_self(0);
        let _ = walk_chain(&policy, std::slice::from_ref(&policy), 0);
        let _ = policy.judge(policy.signatures(), text.as_bytes(), 0).verdict();
        if let Ok(index) = ReleaseIndex::parse(&policy.to_file_text()) {
            let _ = index.verify(&policy, 0, false);
        }
    }
    if let Ok(index) = ReleaseIndex::parse(text) {
        let back = IndexBody::parse(&index.body.to_toml()).expect("written body parses");
        assert_eq!(back, index.body, "index body round trip");
        let _ = index.check_not_older_than(1);
    }
});
