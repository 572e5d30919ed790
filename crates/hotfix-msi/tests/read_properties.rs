//! `read_properties` on the sample MSI (checked against msitools when present) and on
//! files that are not usable MSIs.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use hotfix_msi::{MsiError, MsiProperties, read_properties, read_properties_from};

fn sample_msi() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packages/HF-7.0.3-0042/client/AgentDesktop.msi")
}

fn expected() -> MsiProperties {
    MsiProperties {
        product_code: "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}".into(),
        upgrade_code: "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}".into(),
        product_version: "7.0.3.5".into(),
        product_name: "Agent Desktop".into(),
    }
}

#[test]
fn reads_the_sample_msi() {
    assert_eq!(
        read_properties(&sample_msi()).expect("sample MSI reads"),
        expected()
    );
}

/// Interop: the same values as Debian's `msiinfo export FILE Property` (msitools).
/// Skipped when msiinfo is missing, unless HOTFIX_REQUIRE_INTEROP is set.
#[test]
fn agrees_with_msiinfo() {
    let out = match Command::new("msiinfo")
        .arg("export")
        .arg(sample_msi())
        .arg("Property")
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("HOTFIX_REQUIRE_INTEROP").is_none(),
                "HOTFIX_REQUIRE_INTEROP is set but msiinfo cannot run: {e}"
            );
            eprintln!("skipped: msiinfo not found (apt-get install msitools)");
            return;
        }
    };
    assert!(
        out.status.success(),
        "msiinfo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    // Three header lines (column names, column types, table name), then name<TAB>value.
    let value = |name: &str| {
        text.lines()
            .skip(3)
            .filter_map(|l| l.trim_end_matches('\r').split_once('\t'))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| panic!("msiinfo shows no {name}:\n{text}"))
    };
    let from_msiinfo = MsiProperties {
        product_code: value("ProductCode"),
        upgrade_code: value("UpgradeCode"),
        product_version: value("ProductVersion"),
        product_name: value("ProductName"),
    };
    assert_eq!(read_properties(&sample_msi()).expect("reads"), from_msiinfo);
}

#[test]
fn refuses_a_file_that_is_not_an_ole_compound_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ReadMe.msi");
    std::fs::write(&path, "this is a text file, not an installer\n").expect("write");
    let e = read_properties(&path).expect_err("refused");
    assert!(
        matches!(&e, MsiError::NotMsi { path: p, .. } if *p == path),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("ReadMe.msi") && msg.contains("not an OLE compound file"),
        "{msg}"
    );

    std::fs::write(&path, b"").expect("write");
    assert!(matches!(
        read_properties(&path),
        Err(MsiError::NotMsi { .. })
    ));
}

#[test]
fn refuses_a_folder_and_names_a_missing_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let e = read_properties(dir.path()).expect_err("refused");
    assert!(
        matches!(e, MsiError::NotMsi { .. } | MsiError::Io { .. }),
        "{e:?}"
    );
    let missing = dir.path().join("Missing.msi");
    let e = read_properties(&missing).expect_err("refused");
    assert!(
        matches!(&e, MsiError::Io { path, .. } if *path == missing),
        "{e:?}"
    );
    assert!(e.to_string().contains("Missing.msi"));
}

/// An MSI database made with the msi crate, with the given Property rows (or no table).
fn make_msi(properties: Option<&[(&str, &str)]>) -> Vec<u8> {
    let mut package =
        msi::Package::create(msi::PackageType::Installer, Cursor::new(Vec::new())).expect("create");
    if let Some(rows) = properties {
        package
            .create_table(
                "Property",
                vec![
                    msi::Column::build("Property").primary_key().id_string(72),
                    msi::Column::build("Value").nullable().formatted_string(0),
                ],
            )
            .expect("table");
        let rows = rows
            .iter()
            .map(|(k, v)| vec![msi::Value::from(*k), msi::Value::from(*v)])
            .collect();
        package
            .insert_rows(msi::Insert::into("Property").rows(rows))
            .expect("insert");
    }
    package.into_inner().expect("flush").into_inner()
}

fn read_bytes(bytes: &[u8]) -> Result<MsiProperties, MsiError> {
    read_properties_from(
        Cursor::new(bytes),
        bytes.len() as u64,
        Path::new("made.msi"),
    )
}

#[test]
fn refuses_an_msi_without_a_property_table() {
    let e = read_bytes(&make_msi(None)).expect_err("refused");
    assert!(matches!(e, MsiError::NoPropertyTable { .. }), "{e:?}");
    assert_eq!(e.to_string(), "made.msi: the MSI has no Property table");
}

#[test]
fn refuses_an_msi_missing_a_required_property() {
    let bytes = make_msi(Some(&[
        ("ProductCode", "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}"),
        ("ProductName", "Agent Desktop"),
        ("ProductVersion", "7.0.3.5"),
        ("ALLUSERS", "1"),
    ]));
    let e = read_bytes(&bytes).expect_err("refused");
    assert!(
        matches!(
            e,
            MsiError::MissingProperty {
                property: "UpgradeCode",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "made.msi: the MSI's Property table has no UpgradeCode"
    );
}

#[test]
fn reads_an_msi_made_by_another_writer() {
    let bytes = make_msi(Some(&[
        ("UpgradeCode", "{0F9E8D7C-6B5A-4948-8372-61504F3E2D1C}"),
        ("ProductCode", "{6A1E2F4C-3B5D-4E6F-8A9B-0C1D2E3F4A5B}"),
        ("ProductName", "Agent Desktop"),
        ("ProductVersion", "7.0.3.5"),
    ]));
    assert_eq!(read_bytes(&bytes).expect("reads"), expected());
}

#[test]
fn damaged_msis_give_errors_not_panics() {
    let good = std::fs::read(sample_msi()).expect("sample");
    // Truncations, and deterministic byte damage spread over the file.
    for keep in [8, 512, 1024, 4096, good.len() / 2, good.len() - 1] {
        let r = read_bytes(&good[..keep]);
        assert!(r.is_err(), "truncated to {keep} still read");
    }
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..48 {
        let mut bad = good.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % bad.len() as u64) as usize;
            bad[at] = (state >> 32) as u8;
        }
        // Either outcome is fine; what matters is that this returns.
        let _ = read_bytes(&bad);
    }
}
