//! Verify and extract throughput on a generated 64 MiB package (half incompressible and
//! stored, half text and deflated), next to plain SHA-256 over the same payload bytes as
//! the yardstick the design's target refers to.
//!
//! `cargo bench -p hotfix-package --bench verify`; `HOTFIX_BENCH_MIB` changes the size.

#[path = "../tests/support/mod.rs"]
#[allow(dead_code, unused_imports, clippy::all)]
mod support;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hotfix_package::extract::{ExtractOptions, extract};
use hotfix_package::verify::{NullSink, verify};
use sha2::Digest;

use support::corpus::{self, Keys, Payload};

fn payload(total_mib: usize) -> Payload {
    let file = 2 * 1024 * 1024;
    let text: Vec<u8> = (0..)
        .flat_map(|i: u64| format!("line {i}: routing table entry {}\n", i * 31).into_bytes())
        .take(file)
        .collect();
    (0..total_mib / 2)
        .map(|i| {
            if i % 2 == 0 {
                (
                    format!("server/ChatServer/bin/lib{i:03}.dll"),
                    corpus::noise(file, i as u64 + 1),
                    hotfix_package::format::METHOD_STORED,
                )
            } else {
                (
                    format!("server/ChatServer/data/table{i:03}.txt"),
                    text.clone(),
                    hotfix_package::format::METHOD_DEFLATE,
                )
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mib: usize = std::env::var("HOTFIX_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let keys = Keys::new();
    let trust = keys.trust();
    let payload = payload(mib);
    let bytes: u64 = payload.iter().map(|p| p.1.len() as u64).sum();
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = corpus::package_with(&[&keys.signer], "HF-BENCH", 1, &[], &payload);
    let path = support::write(dir.path(), "HF-BENCH.zip", &pkg);
    drop(pkg);

    let mut g = c.benchmark_group(format!("package-{mib}MiB"));
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("sha256-of-payload", |b| {
        b.iter(|| {
            let mut h = sha2::Sha256::new();
            for p in &payload {
                h.update(&p.1);
            }
            black_box(h.finalize())
        })
    });
    g.bench_function("verify", |b| {
        b.iter(|| {
            let r = verify(&path, &trust, 1, &mut NullSink).expect("verify");
            assert!(r.ok);
        })
    });
    g.bench_function("extract", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(dir.path()).expect("install dir"),
            |install| {
                extract(&path, install.path(), &trust, 1, ExtractOptions::default())
                    .expect("extract");
                install
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
