//! A fixed, realistic manifest shared by the tests.

use hotfix_manifest::{
    Base, FORMAT_VERSION, FileEntry, Manifest, MsiComponent, Sha256, SoftwarePackage,
};

pub fn digest(byte: u8) -> Sha256 {
    Sha256([byte; 32])
}

pub fn file(path: &str, size: u64, byte: u8) -> FileEntry {
    FileEntry {
        path: path.into(),
        size,
        sha256: digest(byte),
    }
}

/// The manifest whose XML is `tests/data/golden-manifest.xml`.
pub fn sample() -> Manifest {
    Manifest {
        format: FORMAT_VERSION,
        id: "HF-7.0.3-0042".into(),
        version: 3,
        title: "Chat messages lost on failover".into(),
        description: "Fixes lost chat messages when the ChatServer VU fails over.\n\
                      Routing <priority> & \"skills\" are kept.\n\tIndented line."
            .into(),
        base: Base {
            release: "7.0".into(),
            support_package: "SP3".into(),
        },
        created: "2026-11-25T00:00:00Z".into(),
        supersedes: vec!["HF-7.0.3-0040".into()],
        requires: vec!["HF-7.0.3-0031".into()],
        software_packages: vec![
            SoftwarePackage {
                name: "ChatServer".into(),
                version: "7.0.3.12".into(),
                files: vec![
                    file("server/ChatServer/bin/chat-core.jar", 48213, 0x11),
                    file("server/ChatServer/conf/chat.properties", 1204, 0x12),
                ],
            },
            SoftwarePackage {
                name: "RoutingEngine".into(),
                version: "7.0.3.8".into(),
                files: vec![file("server/RoutingEngine/lib/librouting.so", 90112, 0x21)],
            },
        ],
        msis: vec![MsiComponent {
            file: file("client/AgentDesktop.msi", 28672, 0x31),
            product_code: "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}".into(),
            upgrade_code: "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}".into(),
            product_version: "7.0.3.5".into(),
            product_name: "Agent Desktop \"Chat\" & Voice".into(),
            replaces_version: "7.0.3.4".into(),
        }],
        docs: vec![file("docs/RELEASE-NOTES.txt", 2048, 0x41)],
    }
}

pub fn golden() -> &'static str {
    include_str!("../data/golden-manifest.xml")
}
