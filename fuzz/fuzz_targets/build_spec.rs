//! `BuildSpec::parse` on an arbitrary `hotfix.toml`.
//!
//! The spec names folders and files that the parser checks on disk, so the text is
//! parsed as if it were `hotfix.toml` in a temporary copy of the sample hotfix's folder
//! layout (tiny files: the parser checks that named paths exist, it does not read
//! payload). Inputs are parsed from memory; nothing is written per input.
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
    let _ = BuildSpec::parse(data, &source_dir().join("hotfix.toml"));
});
