//! Progress reports from verify, extract and a list check: one payload phase with the
//! right total, every byte counted once, every good file reported done in order, and a
//! file that breaks a rule never reported done.

mod support;

use std::sync::Mutex;

use hotfix_package::extract::{ExtractOptions, extract};
use hotfix_package::list::{ListOptions, list};
use hotfix_package::progress::{Phase, Progress};
use hotfix_package::verify::{NullSink, verify_with_progress};

use support::corpus::{self, Keys};

/// Everything a [`Progress`] was told, in order.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Event>>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Phase(Phase),
    File(String, u64),
    Bytes(u64),
    Done(String, u64),
}

impl Progress for Recorder {
    fn phase(&self, phase: Phase) {
        self.push(Event::Phase(phase));
    }
    fn file(&self, name: &str, size: u64) {
        self.push(Event::File(name.to_owned(), size));
    }
    fn bytes(&self, n: u64) {
        self.push(Event::Bytes(n));
    }
    fn file_done(&self, name: &str, size: u64) {
        self.push(Event::Done(name.to_owned(), size));
    }
}

impl Recorder {
    fn push(&self, e: Event) {
        self.0.lock().expect("lock").push(e);
    }
    fn events(&self) -> Vec<Event> {
        self.0.lock().expect("lock").clone()
    }
    fn phases(&self) -> Vec<Phase> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Phase(p) => Some(p),
                _ => None,
            })
            .collect()
    }
    fn bytes(&self) -> u64 {
        self.events()
            .iter()
            .map(|e| match e {
                Event::Bytes(n) => *n,
                _ => 0,
            })
            .sum()
    }
    fn done(&self) -> Vec<(String, u64)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Done(name, size) => Some((name, size)),
                _ => None,
            })
            .collect()
    }
}

/// The good payload plus one file large enough to be streamed chunk by chunk.
fn payload() -> corpus::Payload {
    let mut p = corpus::payload();
    // Before the docs: the archive follows the manifest's order.
    p.insert(
        2,
        (
            "server/ChatServer/lib/big.jar".to_owned(),
            corpus::noise(3 * 1024 * 1024 + 17, 9),
            hotfix_package::format::METHOD_STORED,
        ),
    );
    p
}

fn expected_done(prefix: &str, payload: &corpus::Payload) -> Vec<(String, u64)> {
    // Manifest order: server files, then docs.
    let m = corpus::manifest_for(corpus::ID, corpus::VERSION, &[], payload);
    m.payload()
        .map(|f| (format!("{prefix}{}", f.path), f.size))
        .collect()
}

fn total(payload: &corpus::Payload) -> u64 {
    payload.iter().map(|(_, d, _)| d.len() as u64).sum()
}

#[test]
fn verify_reports_every_byte_and_every_file_once() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = payload();
    let bytes = corpus::package_with(&[&keys.signer], corpus::ID, corpus::VERSION, &[], &payload);
    let path = support::write(dir.path(), "p.zip", &bytes);
    let rec = Recorder::default();
    let report = verify_with_progress(&path, &keys.trust(), 1, &mut NullSink, &rec).expect("runs");
    assert!(report.ok, "{:?}", report.failures);
    assert_eq!(
        rec.phases(),
        vec![Phase::Payload {
            total: total(&payload)
        }]
    );
    assert_eq!(rec.bytes(), total(&payload));
    assert_eq!(rec.done(), expected_done("", &payload));
    // The large file is announced before its bytes arrive, in more than one chunk.
    let events = rec.events();
    let big = events
        .iter()
        .position(|e| matches!(e, Event::File(n, _) if n.ends_with("big.jar")))
        .expect("big.jar announced");
    let chunks = events[big..]
        .iter()
        .take_while(|e| matches!(e, Event::File(..) | Event::Bytes(_)))
        .filter(|e| matches!(e, Event::Bytes(_)))
        .count();
    assert!(chunks > 1, "{chunks} chunk(s)");
}

#[test]
fn a_file_that_fails_its_hash_is_not_reported_done() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let payload = payload();
    let m = corpus::manifest_for(corpus::ID, corpus::VERSION, &[], &payload);
    let mut tampered = payload.clone();
    tampered[0].1[10] ^= 1;
    let xml = m.to_xml();
    let sig = corpus::signature(&keys.signer, &xml, corpus::ID, corpus::VERSION);
    let bytes = support::rawzip::write_zip(&corpus::entries(&xml, &[sig], &tampered));
    let path = support::write(dir.path(), "p.zip", &bytes);
    let rec = Recorder::default();
    let report = verify_with_progress(&path, &keys.trust(), 1, &mut NullSink, &rec).expect("runs");
    assert!(
        report.has_rule("entry-sha256-mismatch"),
        "{:?}",
        report.failures
    );
    let done = rec.done();
    assert!(
        !done.iter().any(|(n, _)| *n == payload[0].0),
        "{done:?} names the tampered file"
    );
    assert_eq!(done.len(), payload.len() - 1, "{done:?}");
}

#[test]
fn extract_and_list_check_report_the_payload_then_sync() {
    let keys = Keys::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let install = tempfile::tempdir().expect("install");
    let payload = payload();
    let bytes = corpus::package_with(&[&keys.signer], corpus::ID, corpus::VERSION, &[], &payload);
    let path = support::write(dir.path(), "p.zip", &bytes);

    let rec = Recorder::default();
    extract(
        &path,
        install.path(),
        &keys.trust(),
        1,
        ExtractOptions {
            progress: Some(&rec),
            ..ExtractOptions::default()
        },
    )
    .expect("extract");
    assert_eq!(
        rec.phases(),
        vec![
            Phase::Payload {
                total: total(&payload)
            },
            Phase::Syncing
        ]
    );
    assert_eq!(rec.bytes(), total(&payload));
    assert_eq!(rec.done(), expected_done("", &payload));

    let rec = Recorder::default();
    let items = list(
        install.path(),
        ListOptions {
            check: true,
            progress: Some(&rec),
            ..ListOptions::default()
        },
    )
    .expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(
        rec.phases(),
        vec![Phase::Payload {
            total: total(&payload)
        }]
    );
    assert_eq!(rec.bytes(), total(&payload));
    assert_eq!(
        rec.done(),
        expected_done(&format!("{}/", corpus::ID), &payload)
    );

    // Without --check nothing is rehashed, so nothing is reported.
    let rec = Recorder::default();
    list(
        install.path(),
        ListOptions {
            progress: Some(&rec),
            ..ListOptions::default()
        },
    )
    .expect("list");
    assert!(rec.events().is_empty(), "{:?}", rec.events());
}
