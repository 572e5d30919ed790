//! Property tests: every valid manifest survives its XML form unchanged, and the reader
//! never panics, whatever bytes it is given.

use std::collections::BTreeMap;

use hotfix_manifest::names::{
    collision_key, validate_entry_name, validate_hotfix_id, validate_software_package_name,
};
use hotfix_manifest::{
    Base, FORMAT_VERSION, FileEntry, Manifest, MsiComponent, Sha256, SoftwarePackage,
};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common::golden;

fn hotfix_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,20}[A-Za-z0-9_-]"
        .prop_filter("valid id", |s| validate_hotfix_id(s).is_ok())
}

fn version() -> impl Strategy<Value = String> {
    "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-[a-z0-9]{1,4})?"
}

fn one_line() -> impl Strategy<Value = String> {
    "[\\PC&<>\"' ]{1,40}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn sha() -> impl Strategy<Value = Sha256> {
    any::<[u8; 32]>().prop_map(Sha256)
}

/// A relative file path: folders without dots, a file name with an extension, so no
/// generated file name can equal a generated folder.
fn rel_path() -> impl Strategy<Value = String> {
    (
        vec("[a-zA-Z0-9_é][a-zA-Z0-9_é -]{0,6}[a-zA-Z0-9_é]", 0..3),
        "[a-zA-Z0-9_é][a-zA-Z0-9_é -]{0,8}\\.[a-z0-9]{1,4}",
    )
        .prop_map(|(dirs, name)| {
            let mut p = dirs.join("/");
            if !p.is_empty() {
                p.push('/');
            }
            p.push_str(&name);
            p
        })
}

fn files(prefix: String) -> impl Strategy<Value = Vec<FileEntry>> {
    vec((rel_path(), any::<u64>(), sha()), 1..6).prop_map(move |fs| {
        fs.into_iter()
            .map(|(rel, size, sha256)| FileEntry {
                path: format!("{prefix}{rel}"),
                size,
                sha256,
            })
            .collect()
    })
}

fn software_package() -> impl Strategy<Value = SoftwarePackage> {
    ("[A-Za-z][A-Za-z0-9_.-]{0,10}[A-Za-z0-9]", version())
        .prop_filter("valid name", |(n, _)| {
            validate_software_package_name(n).is_ok()
        })
        .prop_flat_map(|(name, version)| {
            files(format!("server/{name}/")).prop_map(move |files| SoftwarePackage {
                name: name.clone(),
                version: version.clone(),
                files,
            })
        })
}

fn guid() -> impl Strategy<Value = String> {
    "\\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\\}"
}

fn msi() -> impl Strategy<Value = MsiComponent> {
    (
        "[a-zA-Z0-9_][a-zA-Z0-9_ -]{0,10}\\.(msi|MSI)",
        any::<u64>(),
        sha(),
        guid(),
        guid(),
        version(),
        one_line(),
        version(),
    )
        .prop_map(|(name, size, sha256, pc, uc, pv, pn, rv)| MsiComponent {
            file: FileEntry {
                path: format!("client/{name}"),
                size,
                sha256,
            },
            product_code: pc,
            upgrade_code: uc,
            product_version: pv,
            product_name: pn,
            replaces_version: rv,
        })
}

fn created() -> impl Strategy<Value = String> {
    (
        1980u32..=2107,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// Keeps the first of each set of names equal under `collision_key`.
fn dedup_by_collision<T>(items: Vec<T>, key: impl Fn(&T) -> String) -> Vec<T> {
    let mut seen = BTreeMap::new();
    items
        .into_iter()
        .filter(|i| seen.insert(collision_key(&key(i)), ()).is_none())
        .collect()
}

prop_compose! {
    fn manifest()(
        id in hotfix_id(),
        version in 1u64..,
        title in one_line(),
        description in "[\\PC\n\t&<>]{0,80}",
        release in version(),
        support_package in "SP[0-9]{1,2}",
        created in created(),
        refs in vec(hotfix_id(), 0..5),
        split in any::<prop::sample::Index>(),
        packages in vec(software_package(), 0..4),
        msis in vec(msi(), 0..3),
        docs in vec((rel_path(), any::<u64>(), sha()), 0..3),
    ) -> Manifest {
        let mut refs = dedup_by_collision(refs, |s| s.to_ascii_lowercase());
        refs.retain(|r| !r.eq_ignore_ascii_case(&id));
        let cut = split.index(refs.len() + 1);
        let requires = refs.split_off(cut);
        let mut packages = dedup_by_collision(packages, |p| p.name.clone());
        for p in &mut packages {
            p.files = dedup_by_collision(std::mem::take(&mut p.files), |f| f.path.clone());
        }
        let mut m = Manifest {
            format: FORMAT_VERSION,
            id,
            version,
            title,
            description,
            base: Base { release, support_package },
            created,
            supersedes: refs,
            requires,
            software_packages: packages,
            msis: dedup_by_collision(msis, |m| m.file.path.clone()),
            docs: dedup_by_collision(
                docs.into_iter()
                    .map(|(rel, size, sha256)| FileEntry { path: format!("docs/{rel}"), size, sha256 })
                    .collect(),
                |f| f.path.clone(),
            ),
        };
        m.sort();
        m
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn valid_manifests_round_trip(m in manifest()) {
        prop_assume!(!m.software_packages.is_empty() || !m.msis.is_empty());
        for f in m.payload() {
            prop_assume!(validate_entry_name(&f.path).is_ok());
        }
        let xml = m.to_xml();
        let back = Manifest::from_xml(&xml).map_err(|e| {
            TestCaseError::fail(format!("{e}\n{}", String::from_utf8_lossy(&xml)))
        })?;
        prop_assert_eq!(&back, &m);
        // And the bytes are canonical: writing what was read gives the same bytes.
        prop_assert_eq!(back.to_xml(), xml);
        prop_assert!(m.validate().is_ok());
    }

    #[test]
    fn reader_never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
        let _ = Manifest::from_xml(&bytes);
    }

    #[test]
    fn reader_never_panics_on_damaged_manifests(
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = golden().as_bytes().to_vec();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let keep = cut.index(bytes.len() + 1);
        let _ = Manifest::from_xml(&bytes);
        let _ = Manifest::from_xml(&bytes[..keep]);
    }
}
