//! Hostile packages: every attack in `support::corpus` must be refused by verify (naming
//! the rule and the entry) and by extract (leaving the installation byte for byte as it
//! was). Also the extract policy: re-extract, anti-rollback, supersedes, the lock.

mod support;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use hotfix_package::extract::{
    ExtractError, ExtractOptions, Outcome, Waivers, extract, hotfixes_dir,
};
use hotfix_package::verify::{NullSink, VerifyReport, verify};
use hotfix_sign::TrustSet;

use support::corpus::{self, Keys};

fn verify_bytes(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    trust: &TrustSet,
    threshold: u32,
) -> VerifyReport {
    let path = support::write(dir, name, bytes);
    verify(&path, trust, threshold, &mut NullSink).expect("verify runs")
}

fn extract_bytes(
    dir: &Path,
    install: &Path,
    name: &str,
    bytes: &[u8],
    trust: &TrustSet,
    threshold: u32,
    waivers: Waivers,
) -> Result<hotfix_package::extract::ExtractReport, ExtractError> {
    let path = support::write(dir, name, bytes);
    extract(
        &path,
        install,
        trust,
        threshold,
        ExtractOptions {
            waivers,
            ..ExtractOptions::default()
        },
    )
}

#[test]
fn the_good_package_verifies() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let report = verify_bytes(
        dir.path(),
        "good.zip",
        &corpus::good_package(&keys),
        &keys.trust(),
        1,
    );
    assert!(report.ok, "{:#?}", report.failures);
    assert_eq!(report.id.as_deref(), Some(corpus::ID));
    assert_eq!(report.version, Some(corpus::VERSION));
    assert_eq!(report.trusted_signers, 1);
    assert_eq!(report.files, 3);
}

#[test]
fn every_attack_is_refused_by_verify_with_its_rule_and_entry() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for attack in corpus::attacks(&keys) {
        let report = verify_bytes(
            dir.path(),
            &format!("{}.zip", attack.name),
            &attack.bytes,
            &trust,
            attack.threshold,
        );
        let hit = report.failures.iter().any(|f| {
            f.rule == attack.rule
                && attack
                    .entry
                    .as_ref()
                    .is_none_or(|e| f.entry.as_deref() == Some(e.as_str()))
        });
        if report.ok || !hit {
            problems.push(format!(
                "{}: want {} on {:?}, got ok={} {:#?}",
                attack.name, attack.rule, attack.entry, report.ok, report.failures
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_attack_is_refused_by_extract_and_changes_nothing() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install dir");
    // A hotfix already installed, which no attack may disturb.
    let other = corpus::package_with(&[&keys.signer], "HF-7.0.3-0001", 1, &[], &corpus::payload());
    extract_bytes(
        dir.path(),
        install.path(),
        "HF-7.0.3-0001.zip",
        &other,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("install the bystander");
    let before = support::snapshot(install.path());
    let mut problems = Vec::new();
    for attack in corpus::attacks(&keys) {
        let result = extract_bytes(
            dir.path(),
            install.path(),
            &format!("{}.zip", attack.name),
            &attack.bytes,
            &trust,
            attack.threshold,
            Waivers::default(),
        );
        match result {
            Ok(r) => problems.push(format!(
                "{}: extracted to {}",
                attack.name,
                r.target.display()
            )),
            Err(e) if !e.rules().iter().any(|r| *r == attack.rule) => problems.push(format!(
                "{}: want {}, got {e} {:?}",
                attack.name,
                attack.rule,
                e.rules()
            )),
            Err(_) => {}
        }
        if support::snapshot(install.path()) != before {
            problems.push(format!("{}: the installation changed", attack.name));
            break;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_attack_leaves_a_fresh_installation_empty() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    for attack in corpus::attacks(&keys) {
        // No Install/ folder yet: a refused package must not even create it.
        let install = tempfile::tempdir().expect("install dir");
        let before = support::snapshot(install.path());
        let result = extract_bytes(
            dir.path(),
            install.path(),
            &format!("{}.zip", attack.name),
            &attack.bytes,
            &trust,
            attack.threshold,
            Waivers::default(),
        );
        if result.is_ok() {
            problems.push(format!("{}: extracted", attack.name));
        }
        let after = support::snapshot(install.path());
        if after != before {
            problems.push(format!("{}: left {:?}", attack.name, after.keys()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn extract_installs_then_treats_the_same_package_as_already_installed() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let good = corpus::good_package(&keys);
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "a.zip",
        &good,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("extract");
    assert_eq!(r.outcome, Outcome::Installed);
    let target = hotfixes_dir(install.path()).join(corpus::ID);
    assert_eq!(r.target, target);
    for (path, data, _) in corpus::payload() {
        assert_eq!(
            std::fs::read(target.join(&path)).expect("extracted file"),
            data,
            "{path}"
        );
    }
    assert!(target.join("hotfix.xml").is_file());
    let sig = hotfix_package::format::signature_entry_name(keys.signer.key_id());
    assert!(target.join(sig).is_file());
    let before = support::snapshot(install.path());
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "a.zip",
        &good,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("again");
    assert_eq!(r.outcome, Outcome::AlreadyInstalled);
    assert_eq!(support::snapshot(install.path()), before);
}

/// Cleanup of `.tmp-*` folders under the install lock never touches one whose owner
/// marker is still locked by a live process; it removes dead runs' folders (marker not
/// held) and markerless ones (older versions, or killed before making the marker).
#[cfg(unix)]
#[test]
fn cleanup_never_removes_a_temporary_folder_whose_owner_is_alive() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let hotfixes = hotfixes_dir(install.path());
    std::fs::create_dir_all(&hotfixes).expect("mkdir");
    let live = hotfixes.join(".tmp-HF-LIVE-1x0");
    std::fs::create_dir(&live).expect("mkdir");
    std::fs::write(live.join("part.bin"), b"being written").expect("write");
    let live_marker = hotfixes.join(".tmp-HF-LIVE-1x0.owner");
    let held = std::fs::File::create(&live_marker).expect("marker");
    fs4::FileExt::lock(&held).expect("lock marker");
    let dead = hotfixes.join(".tmp-HF-DEAD-2x0");
    std::fs::create_dir(&dead).expect("mkdir");
    std::fs::File::create(hotfixes.join(".tmp-HF-DEAD-2x0.owner")).expect("marker");
    let markerless = hotfixes.join(".tmp-HF-OLD-abc123");
    std::fs::create_dir(&markerless).expect("mkdir");

    let good = corpus::good_package(&keys);
    extract_bytes(
        dir.path(),
        install.path(),
        "a.zip",
        &good,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("extract");
    assert!(
        live.join("part.bin").is_file(),
        "a live run's folder was removed"
    );
    assert!(live_marker.is_file());
    assert!(!dead.exists() && !hotfixes.join(".tmp-HF-DEAD-2x0.owner").exists());
    assert!(!markerless.exists());

    // Once its owner is gone, the next run removes it and its marker.
    drop(held);
    extract_bytes(
        dir.path(),
        install.path(),
        "a.zip",
        &good,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("again");
    assert!(!live.exists() && !live_marker.exists());
    let names: Vec<String> = std::fs::read_dir(&hotfixes)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec![corpus::ID.to_owned()]);
}

#[test]
fn extract_refuses_a_lower_version_unless_downgrade_is_allowed() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let p = corpus::payload();
    let v3 = corpus::package_with(&[&keys.signer], corpus::ID, 3, &[], &p);
    let v2 = corpus::package_with(&[&keys.signer], corpus::ID, 2, &[], &p);
    extract_bytes(
        dir.path(),
        install.path(),
        "v3.zip",
        &v3,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("v3");
    let before = support::snapshot(install.path());
    let err = extract_bytes(
        dir.path(),
        install.path(),
        "v2.zip",
        &v2,
        &trust,
        1,
        Waivers::default(),
    )
    .expect_err("rollback");
    assert_eq!(err.rules(), vec!["install-rollback"]);
    assert_eq!(support::snapshot(install.path()), before);
    let downgrade = Waivers {
        allow_downgrade: true,
        ..Waivers::default()
    };
    // No other waiver stands in for --allow-downgrade.
    let others = Waivers {
        reinstall: true,
        allow_superseded: true,
        ignore_missing_requires: true,
        ..Waivers::default()
    };
    let err = extract_bytes(dir.path(), install.path(), "v2.zip", &v2, &trust, 1, others)
        .expect_err("rollback");
    assert_eq!(err.rules(), vec!["install-rollback"]);
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "v2.zip",
        &v2,
        &trust,
        1,
        downgrade,
    )
    .expect("downgrade allowed");
    assert_eq!(r.outcome, Outcome::Downgraded);
    assert_eq!(r.waived.len(), 1);
    assert_eq!(r.waived[0].rule, "install-rollback");
    assert_eq!(r.replaced_version, Some(3));
    let installed = std::fs::read(r.target.join("hotfix.xml")).expect("manifest");
    assert_eq!(
        hotfix_manifest::Manifest::from_xml(&installed)
            .expect("parse")
            .version,
        2
    );
    let leftovers: Vec<_> = std::fs::read_dir(hotfixes_dir(install.path()))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-") || n.starts_with(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn extract_upgrades_a_higher_version_but_refuses_another_package_of_the_same_version() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let p = corpus::payload();
    let v3 = corpus::package_with(&[&keys.signer], corpus::ID, 3, &[], &p);
    let v4 = corpus::package_with(&[&keys.signer], corpus::ID, 4, &[], &p);
    let mut other = corpus::manifest_for(corpus::ID, 4, &[], &p);
    other.title = "another package, same id and version".into();
    let v4_other = corpus::signed_package(&[&keys.signer], &other, &p);
    extract_bytes(
        dir.path(),
        install.path(),
        "v3.zip",
        &v3,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("v3");
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "v4.zip",
        &v4,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("upgrade");
    assert_eq!(r.outcome, Outcome::Upgraded);
    assert_eq!(r.replaced_version, Some(3));
    assert!(r.waived.is_empty());
    let err = extract_bytes(
        dir.path(),
        install.path(),
        "v4-other.zip",
        &v4_other,
        &trust,
        1,
        Waivers::default(),
    )
    .expect_err("differs");
    assert_eq!(err.rules(), vec!["install-differs"]);
    let reinstall = Waivers {
        reinstall: true,
        ..Waivers::default()
    };
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "v4-other.zip",
        &v4_other,
        &trust,
        1,
        reinstall,
    )
    .expect("reinstall");
    assert_eq!(r.outcome, Outcome::Reinstalled);
}

#[test]
fn extract_refuses_a_hotfix_an_installed_one_supersedes() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let p = corpus::payload();
    let newer = corpus::package_with(&[&keys.signer], "HF-7.0.3-0050", 1, &[corpus::ID], &p);
    extract_bytes(
        dir.path(),
        install.path(),
        "newer.zip",
        &newer,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("newer");
    let before = support::snapshot(install.path());
    let err = extract_bytes(
        dir.path(),
        install.path(),
        "old.zip",
        &corpus::good_package(&keys),
        &trust,
        1,
        Waivers::default(),
    )
    .expect_err("superseded");
    assert_eq!(err.rules(), vec!["install-superseded"]);
    assert_eq!(support::snapshot(install.path()), before);
}

#[test]
fn extract_refuses_a_hotfix_whose_requirement_is_not_installed() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let p = corpus::payload();
    let mut m = corpus::manifest_for("HF-7.0.3-0060", 1, &[], &p);
    m.requires = vec!["HF-7.0.3-0050".into()];
    let needs_0050 = corpus::signed_package(&[&keys.signer], &m, &p);
    let run = |name: &str, bytes: &[u8], waivers: Waivers| {
        extract_bytes(dir.path(), install.path(), name, bytes, &trust, 1, waivers)
    };

    // Nothing installed: refused, nothing written (not even Install/hotfixes).
    let before = support::snapshot(install.path());
    let err = run("needs.zip", &needs_0050, Waivers::default()).expect_err("requirement missing");
    assert_eq!(err.rules(), vec!["install-requires-missing"]);
    assert!(err.to_string().contains("requires HF-7.0.3-0050"), "{err}");
    assert_eq!(support::snapshot(install.path()), before);

    // A cumulative hotfix that supersedes the requirement stands in for it.
    let cumulative =
        corpus::package_with(&[&keys.signer], "HF-7.0.3-0055", 1, &["HF-7.0.3-0050"], &p);
    run("cumulative.zip", &cumulative, Waivers::default()).expect("cumulative");
    run("needs.zip", &needs_0050, Waivers::default()).expect("met through supersedes");

    // Installed directly: met; with --ignore-missing-requires it is not enforced.
    let other = tempfile::tempdir().expect("install");
    let required = corpus::package_with(&[&keys.signer], "HF-7.0.3-0050", 1, &[], &p);
    let run_other = |name: &str, bytes: &[u8], waivers: Waivers| {
        extract_bytes(dir.path(), other.path(), name, bytes, &trust, 1, waivers)
    };
    let r = run_other(
        "needs.zip",
        &needs_0050,
        Waivers {
            ignore_missing_requires: true,
            ..Waivers::default()
        },
    )
    .expect("waived");
    assert_eq!(r.waived[0].rule, "install-requires-missing");
    let fresh = tempfile::tempdir().expect("install");
    extract_bytes(
        dir.path(),
        fresh.path(),
        "required.zip",
        &required,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("required");
    extract_bytes(
        dir.path(),
        fresh.path(),
        "needs.zip",
        &needs_0050,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("met directly");
}

#[test]
fn extract_removes_temp_folders_left_by_killed_runs() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let hotfixes = hotfixes_dir(install.path());
    std::fs::create_dir_all(hotfixes.join(".tmp-HF-7.0.3-0042-abc123/server")).expect("stale");
    std::fs::write(
        hotfixes.join(".tmp-HF-7.0.3-0042-abc123/server/x"),
        b"partial",
    )
    .expect("stale");
    extract_bytes(
        dir.path(),
        install.path(),
        "a.zip",
        &corpus::good_package(&keys),
        &keys.trust(),
        1,
        Waivers::default(),
    )
    .expect("extract");
    assert!(!hotfixes.join(".tmp-HF-7.0.3-0042-abc123").exists());
}

#[test]
fn extract_restores_a_folder_moved_aside_by_an_interrupted_replace() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let hotfixes = hotfixes_dir(install.path());
    std::fs::create_dir_all(hotfixes.join(".old-HF-7.0.3-0001-123x456")).expect("aside");
    let other = corpus::package_with(&[&keys.signer], "HF-7.0.3-0002", 1, &[], &corpus::payload());
    extract_bytes(
        dir.path(),
        install.path(),
        "b.zip",
        &other,
        &keys.trust(),
        1,
        Waivers::default(),
    )
    .expect("extract");
    assert!(hotfixes.join("HF-7.0.3-0001").is_dir());
}

#[test]
fn a_cancelled_extract_leaves_nothing_behind() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    std::fs::create_dir_all(hotfixes_dir(install.path())).expect("mkdir");
    let before = support::snapshot(install.path());
    let path = support::write(dir.path(), "a.zip", &corpus::good_package(&keys));
    let cancel = AtomicBool::new(true);
    let err = extract(
        &path,
        install.path(),
        &keys.trust(),
        1,
        ExtractOptions {
            cancel: Some(&cancel),
            ..ExtractOptions::default()
        },
    )
    .expect_err("cancelled");
    assert!(matches!(err, ExtractError::Cancelled), "{err}");
    let mut after = support::snapshot(install.path());
    after.remove(Path::new("Install/hotfixes/.hotfix.lock"));
    assert_eq!(after, before);
}

#[test]
fn concurrent_extracts_serialize_on_the_lock() {
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let path = support::write(dir.path(), "a.zip", &corpus::good_package(&keys));
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    extract(&path, install.path(), &trust, 1, ExtractOptions::default())
                        .expect("extract")
                        .outcome
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let installed = outcomes
        .iter()
        .filter(|o| **o == Outcome::Installed)
        .count();
    assert_eq!(installed, 1, "{outcomes:?}");
    assert_eq!(outcomes.len() - installed, 3);
}

/// A fresh installation with the sample payload extracted under each of `ids`, signed
/// by `keys.signer`.
fn install_signed(keys: &Keys, ids: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let p = corpus::payload();
    for id in ids {
        let pkg = corpus::package_with(&[&keys.signer], id, 1, &[], &p);
        extract_bytes(
            dir.path(),
            install.path(),
            &format!("{id}.zip"),
            &pkg,
            &keys.trust(),
            1,
            Waivers::default(),
        )
        .expect("extract");
    }
    install
}

/// Flips the first bit of a file (same size, other content); returns the new bytes.
fn flip_first_byte(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("read");
    bytes[0] ^= 1;
    std::fs::write(path, &bytes).expect("write");
    bytes
}

#[test]
fn list_reports_intact_modified_missing_and_unreadable_folders() {
    use hotfix_package::list::{ListOptions, Status};
    let list = |dir: &Path, check: bool| {
        hotfix_package::list::list(
            dir,
            ListOptions {
                check,
                ..ListOptions::default()
            },
        )
    };
    let keys = Keys::new();
    let empty = tempfile::tempdir().expect("install");
    assert!(list(empty.path(), true).expect("empty").is_empty());
    let install = install_signed(&keys, &["HF-1", "HF-2", "HF-3", "HF-4"]);
    let hotfixes = hotfixes_dir(install.path());
    // HF-2: same size, different content (only --check sees it).
    flip_first_byte(&hotfixes.join("HF-2").join(corpus::DLL));
    // HF-3: a file removed.
    std::fs::remove_file(hotfixes.join("HF-3").join(corpus::CONF)).expect("remove");
    // HF-4: manifest damaged.
    std::fs::write(hotfixes.join("HF-4").join("hotfix.xml"), b"<nope").expect("write");

    let quick = list(install.path(), false).expect("list");
    let status: Vec<_> = quick
        .iter()
        .map(|i| (i.folder.as_str(), i.status))
        .collect();
    assert_eq!(
        status,
        vec![
            ("HF-1", Status::Ok),
            ("HF-2", Status::Ok),
            ("HF-3", Status::MissingFiles),
            ("HF-4", Status::UnreadableManifest),
        ]
    );
    let checked = list(install.path(), true).expect("list");
    assert_eq!(checked[1].status, Status::Modified);
    assert!(
        checked[1].problems[0].starts_with(corpus::DLL),
        "{:?}",
        checked[1].problems
    );
    assert_eq!(checked[0].id.as_deref(), Some("HF-1"));
    assert_eq!(checked[0].software_packages[0].name, "ChatServer");
    assert_eq!(
        checked[0].base.as_ref().map(ToString::to_string).as_deref(),
        Some("7.0 SP3")
    );

    // An extra file is only noticed by --check.
    std::fs::write(
        hotfixes.join("HF-1").join("server/ChatServer/extra.dll"),
        b"x",
    )
    .expect("write");
    assert_eq!(
        list(install.path(), false).expect("list")[0].status,
        Status::Ok
    );
    assert_eq!(
        list(install.path(), true).expect("list")[0].status,
        Status::Modified
    );
}

#[test]
fn list_with_a_trust_set_rechecks_the_signatures_of_each_folder() {
    use hotfix_package::list::{ListOptions, Status, list};
    let keys = Keys::new();
    let trust = keys.trust();
    let install = install_signed(&keys, &["HF-1", "HF-2", "HF-3"]);
    let hotfixes = hotfixes_dir(install.path());
    // HF-2: a file changed and the manifest edited to match it: the rehash matches, but
    // the stored signature no longer binds the edited manifest (its trusted comment
    // names the old manifest's SHA-256), and the signatures checked again fail.
    let bytes = flip_first_byte(&hotfixes.join("HF-2").join(corpus::DLL));
    let xml_path = hotfixes.join("HF-2").join("hotfix.xml");
    let mut m = hotfix_manifest::Manifest::from_xml(&std::fs::read(&xml_path).expect("read"))
        .expect("manifest");
    for f in &mut m.software_packages[0].files {
        if f.path == corpus::DLL {
            f.sha256 = hotfix_manifest::Sha256(corpus::sha256(&bytes));
        }
    }
    std::fs::write(&xml_path, m.to_xml()).expect("write");
    // HF-3: its signatures removed.
    std::fs::remove_dir_all(hotfixes.join("HF-3").join("signatures")).expect("rm");

    let status = |options: ListOptions<'_>| -> Vec<(String, Status)> {
        list(install.path(), options)
            .expect("list")
            .into_iter()
            .map(|i| (i.folder, i.status))
            .collect()
    };
    let rehashed = status(ListOptions {
        check: true,
        trust: None,
        ..ListOptions::default()
    });
    assert_eq!(
        rehashed,
        vec![
            ("HF-1".to_owned(), Status::Ok),
            ("HF-2".to_owned(), Status::Modified),
            ("HF-3".to_owned(), Status::Ok),
        ]
    );

    let signed = list(
        install.path(),
        ListOptions {
            check: true,
            trust: Some((&trust, 1)),
            ..ListOptions::default()
        },
    )
    .expect("list");
    let got: Vec<_> = signed
        .iter()
        .map(|i| (i.folder.as_str(), i.status, i.trusted_signers))
        .collect();
    assert_eq!(
        got,
        vec![
            ("HF-1", Status::Ok, Some(1)),
            ("HF-2", Status::Untrusted, Some(0)),
            ("HF-3", Status::Untrusted, Some(0)),
        ]
    );
    assert!(
        signed[1]
            .problems
            .iter()
            .any(|p| p.contains("[signature-invalid]")),
        "{:?}",
        signed[1].problems
    );
    // A key outside the trust set counts for nothing; a threshold above the signers fails.
    let other = Keys::new().trust();
    assert_eq!(
        status(ListOptions {
            check: false,
            trust: Some((&other, 1)),
            ..ListOptions::default()
        })[0]
            .1,
        Status::Untrusted
    );
    assert_eq!(
        status(ListOptions {
            check: false,
            trust: Some((&trust, 2)),
            ..ListOptions::default()
        })[0]
            .1,
        Status::Untrusted
    );
}

mod mutations {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Mutation {
        Flip { at: usize, bit: u8 },
        Set { at: usize, value: u8 },
        Truncate { len: usize },
        Insert { at: usize, bytes: Vec<u8> },
        Remove { at: usize, len: usize },
    }

    fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
        for m in muts {
            let n = data.len().max(1);
            match m {
                Mutation::Flip { at, bit } => {
                    let i = at % n;
                    if let Some(b) = data.get_mut(i) {
                        *b ^= 1 << (bit % 8);
                    }
                }
                Mutation::Set { at, value } => {
                    let i = at % n;
                    if let Some(b) = data.get_mut(i) {
                        *b = *value;
                    }
                }
                Mutation::Truncate { len } => data.truncate(len % n),
                Mutation::Insert { at, bytes } => {
                    let i = at % (data.len() + 1);
                    data.splice(i..i, bytes.iter().copied());
                }
                Mutation::Remove { at, len } => {
                    let i = at % n;
                    let end = (i + len).min(data.len());
                    if i < end {
                        data.drain(i..end);
                    }
                }
            }
        }
        data
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            4 => (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
            2 => (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Mutation::Set { at, value }),
            1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
            1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
                .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
            1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        /// Whatever happens to the bytes, verify returns a verdict (no panic), and a
        /// mutated package it accepts extracts exactly the original payload: mutations
        /// can only hit bytes no rule needs (such as DOS timestamps).
        #[test]
        fn mutated_packages_never_extract_different_content(
            muts in prop::collection::vec(mutation(), 1..4)
        ) {
            thread_local! {
                static FIXTURE: (Keys, Vec<u8>) = {
                    let keys = Keys::new();
                    let good = corpus::good_package(&keys);
                    (keys, good)
                };
            }
            let (trust, bytes) = FIXTURE.with(|(k, g)| (k.trust(), apply(g.clone(), &muts)));
            let dir = tempfile::tempdir().expect("tempdir");
            let report = verify_bytes(dir.path(), "m.zip", &bytes, &trust, 1);
            prop_assert_eq!(report.ok, report.failures.is_empty());
            if report.ok {
                let install = tempfile::tempdir().expect("install");
                let r = extract_bytes(dir.path(), install.path(), "m.zip", &bytes, &trust, 1, Waivers::default())
                    .expect("a verified package extracts");
                for (path, data, _) in corpus::payload() {
                    prop_assert_eq!(std::fs::read(r.target.join(&path)).expect("file"), data);
                }
            }
        }
    }
}

/// Files larger than one chunk take the pipelined hashing path: it must agree with the
/// inline one on good and bad data.
#[test]
fn large_files_are_hashed_correctly_in_the_pipeline() {
    use support::rawzip;
    let keys = Keys::new();
    let trust = keys.trust();
    let dir = tempfile::tempdir().expect("tempdir");
    let big_text: Vec<u8> = (0..60_000u32)
        .flat_map(|i| format!("row {i}\n").into_bytes())
        .collect();
    let payload: corpus::Payload = vec![
        (
            "server/ChatServer/big.bin".into(),
            corpus::noise(1_100_000, 9),
            0,
        ),
        ("server/ChatServer/big.txt".into(), big_text, 8),
        ("server/ChatServer/small.txt".into(), b"small".to_vec(), 0),
    ];
    let good = corpus::package_with(&[&keys.signer], "HF-BIG", 1, &[], &payload);
    let report = verify_bytes(dir.path(), "big.zip", &good, &trust, 1);
    assert!(report.ok, "{:#?}", report.failures);
    let install = tempfile::tempdir().expect("install");
    let r = extract_bytes(
        dir.path(),
        install.path(),
        "big.zip",
        &good,
        &trust,
        1,
        Waivers::default(),
    )
    .expect("extract");
    for (path, data, _) in &payload {
        assert_eq!(&std::fs::read(r.target.join(path)).expect("file"), data);
    }

    let xml = corpus::manifest_for("HF-BIG", 1, &[], &payload).to_xml();
    let sig = corpus::signature(&keys.signer, &xml, "HF-BIG", 1);
    let mut entries = corpus::entries(&xml, &[sig], &payload);
    for e in entries
        .iter_mut()
        .filter(|e| e.name.starts_with(b"server/ChatServer/big"))
    {
        let mid = e.data.len() - 1000;
        e.data[mid] ^= 0x40;
    }
    let bad = rawzip::write_zip(&entries);
    let report = verify_bytes(dir.path(), "bad.zip", &bad, &trust, 1);
    let hits: Vec<_> = report
        .failures
        .iter()
        .map(|f| (f.entry.clone().unwrap_or_default(), f.rule.id()))
        .collect();
    assert_eq!(
        hits,
        vec![
            (
                "server/ChatServer/big.bin".to_owned(),
                "entry-sha256-mismatch"
            ),
            (
                "server/ChatServer/big.txt".to_owned(),
                "entry-sha256-mismatch"
            ),
        ]
    );
}

/// The ZIP64 forms (extra fields in both headers, ZIP64 end record and locator) as the
/// real writer produces them when forced on a small package: a reader refuses them,
/// because nothing in it needs ZIP64 (FORMAT.md 2.2), so no byte can be re-encoded
/// unnoticed. (The unit tests read the forced forms with the reader forced too.)
#[test]
fn a_small_package_in_zip64_form_is_refused() {
    use hotfix_package::zipwrite::{
        CentralDirectory, DosDateTime, EntryHeader, Zip64, local_header,
    };
    let keys = Keys::new();
    let trust = keys.trust();
    let mut out = Vec::new();
    let mut cd = CentralDirectory::new(Zip64::ALWAYS);
    let modified = DosDateTime::from_utc(time::macros::datetime!(2025-06-01 0:00 UTC));
    for e in corpus::good_entries(&keys) {
        let body = e.stored_bytes();
        let name = e.name_str();
        let h = EntryHeader {
            name: &name,
            method: e.method,
            crc32: support::rawzip::crc32(&e.data),
            compressed_size: body.len() as u64,
            size: e.data.len() as u64,
            modified,
        };
        let offset = out.len() as u64;
        out.extend_from_slice(&local_header(&h, offset, Zip64::ALWAYS));
        out.extend_from_slice(&body);
        cd.push(&h, offset);
    }
    let cd_offset = out.len() as u64;
    out.extend_from_slice(&cd.finish(cd_offset));
    let dir = tempfile::tempdir().expect("tempdir");
    let report = verify_bytes(dir.path(), "zip64.zip", &out, &trust, 1);
    assert!(
        report.has_rule("archive-zip64-unneeded"),
        "{:#?}",
        report.failures
    );
    let install = tempfile::tempdir().expect("install");
    let before = support::snapshot(install.path());
    assert!(
        extract_bytes(
            dir.path(),
            install.path(),
            "zip64.zip",
            &out,
            &trust,
            1,
            Waivers::default(),
        )
        .is_err()
    );
    assert_eq!(support::snapshot(install.path()), before);
}

/// A hostile 64 KiB entry name is shown shortened, with its length, in the report.
#[test]
fn long_entry_names_are_shortened_in_reports() {
    use support::rawzip::{RawEntry, write_zip};
    let keys = Keys::new();
    let mut entries = corpus::good_entries(&keys);
    let long = format!("docs/{}", "n".repeat(65_000));
    entries.push(RawEntry::new(&long, b"x".to_vec(), 0));
    let dir = tempfile::tempdir().expect("tempdir");
    let report = verify_bytes(
        dir.path(),
        "long.zip",
        &write_zip(&entries),
        &keys.trust(),
        1,
    );
    assert!(!report.ok);
    for f in &report.failures {
        let shown = f.entry.as_deref().unwrap_or_default();
        assert!(shown.len() < 300, "{} bytes shown", shown.len());
        assert!(
            f.message.len() < 1000,
            "{} bytes of message",
            f.message.len()
        );
    }
    let f = &report.failures[0];
    assert!(
        f.entry
            .as_deref()
            .is_some_and(|e| e.ends_with("… (65005 bytes)")),
        "{f:?}"
    );
}

#[test]
fn two_signers_in_key_id_order_meet_threshold_2() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = corpus::package_with(
        &[&keys.second, &keys.signer],
        corpus::ID,
        corpus::VERSION,
        &[],
        &corpus::payload(),
    );
    let report = verify_bytes(dir.path(), "two.zip", &pkg, &keys.trust(), 2);
    assert!(report.ok, "{:#?}", report.failures);
    assert_eq!(report.trusted_signers, 2);
}

#[test]
fn a_report_lists_at_most_max_failures() {
    use hotfix_package::verify::MAX_FAILURES;
    use support::rawzip::{RawEntry, write_zip};
    let keys = Keys::new();
    let mut entries = corpus::good_entries(&keys);
    for i in 0..MAX_FAILURES + 50 {
        entries.push(RawEntry::new(&format!("docs/extra-{i}.txt"), Vec::new(), 0));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let report = verify_bytes(
        dir.path(),
        "many.zip",
        &write_zip(&entries),
        &keys.trust(),
        1,
    );
    assert_eq!(report.failures.len(), MAX_FAILURES + 1);
    assert_eq!(report.suppressed, 50);
    assert_eq!(report.failures[MAX_FAILURES].rule, "failures-truncated");
}

/// A `Read + Seek` that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// An unsigned package whose central directory is huge (here 12 MiB of records with
/// 60,000-byte names after a real `hotfix.xml`) costs a bounded read before verify
/// finds that nothing is signed: the directory is read one record at a time, and the
/// payload records are not reached before the signatures are checked.
#[test]
fn an_unsigned_package_with_a_huge_central_directory_is_refused_after_a_bounded_read() {
    use hotfix_package::zipwrite::{
        CentralDirectory, DosDateTime, EntryHeader, Zip64, local_header,
    };
    let keys = Keys::new();
    let modified = DosDateTime::from_utc(time::macros::datetime!(2025-06-01 0:00 UTC));
    let xml = corpus::manifest_for(corpus::ID, corpus::VERSION, &[], &corpus::payload()).to_xml();
    let h = EntryHeader {
        name: "hotfix.xml",
        method: 0,
        crc32: support::rawzip::crc32(&xml),
        compressed_size: xml.len() as u64,
        size: xml.len() as u64,
        modified,
    };
    let mut out = local_header(&h, 0, Zip64::WHEN_NEEDED);
    out.extend_from_slice(&xml);
    let mut cd = CentralDirectory::new(Zip64::WHEN_NEEDED);
    cd.push(&h, 0);
    let names: Vec<String> = (0..220)
        .map(|i| format!("server/ChatServer/{i:03}{}", "n".repeat(60_000)))
        .collect();
    for name in &names {
        let junk = EntryHeader {
            name,
            size: 1,
            compressed_size: 1,
            ..h
        };
        cd.push(&junk, 0);
    }
    let cd_offset = out.len() as u64;
    out.extend_from_slice(&cd.finish(cd_offset));
    assert!(out.len() > 12 << 20);

    let read = std::rc::Rc::new(std::cell::Cell::new(0));
    let src = Counting {
        inner: std::io::Cursor::new(&out),
        read: read.clone(),
    };
    let report =
        hotfix_package::verify::verify_reader(src, "huge-cd.zip", &keys.trust(), 1, &mut NullSink)
            .expect("verify runs");
    assert!(
        report.has_rule("signatures-missing"),
        "{:#?}",
        report.failures
    );
    assert!(
        report.has_rule("threshold-not-met"),
        "{:#?}",
        report.failures
    );
    assert!(
        read.get() < 1 << 20,
        "{} bytes read from a {}-byte package before refusing it",
        read.get(),
        out.len()
    );
}
