//! `BuildSpec::load` on an arbitrary `hotfix.toml`.
//!
//! hotfix-manifest has no in-memory entry point for the spec (only `load(path)`), so
//! each input is written to `hotfix.toml` in a temporary copy of the sample hotfix's
//! folder layout (tiny files: load checks that named paths exist, it does not read
//! payload), and loaded from there.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use hotfix_manifest::BuildSpec;
use libfuzzer_sys::fuzz_target;

fn source_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("hotfix-fuzz-spec-")
            .tempdir()
            .expect("temp dir")
            .keep();
        for d in [
            "server/ChatServer/bin",
            "server/RoutingEngine/bin",
            "server/Tiny/bin",
            "server/Alpha/conf",
            "server/Beta/bin",
            "client",
            "docs",
        ] {
            std::fs::create_dir_all(dir.join(d)).expect("mkdir");
        }
        for (f, body) in [
            ("server/ChatServer/bin/chat-core.jar", &b"jar"[..]),
            ("server/RoutingEngine/bin/routing-engine.jar", b"jar"),
            ("server/Tiny/bin/a.txt", b"hi\n"),
            ("server/Alpha/conf/alpha.properties", b"k = v\n"),
            ("server/Beta/bin/beta.bin", b"\x00\x01"),
            ("client/AgentDesktop.msi", b"msi"),
            ("docs/RELEASE-NOTES.txt", b"Release notes.\n"),
            ("notes.txt", b"A description read from a file.\n"),
        ] {
            std::fs::write(dir.join(f), body).expect("write");
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = source_dir();
    std::fs::write(dir.join("hotfix.toml"), data).expect("write hotfix.toml");
    let _ = BuildSpec::load(dir);
});
