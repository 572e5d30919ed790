//! Manifest parse/serialize on a 20,000-file manifest (the "many small files" corpus of
//! `benches/compare.sh`) and payload-name validation.
//!
//! `cargo bench -p hotfix-manifest --bench manifest`; `HOTFIX_BENCH_FILES` changes the count.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotfix_manifest::names::collision_key;
use hotfix_manifest::{
    Base, FORMAT_VERSION, FileEntry, Manifest, Sha256, SoftwarePackage, validate_entry_name,
};

fn files() -> usize {
    std::env::var("HOTFIX_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn path(i: usize) -> String {
    let pkg = ["ChatServer", "RoutingEngine"][i % 2];
    format!("server/{pkg}/d{:03}/f{i:05}.dat", i % 200)
}

fn manifest(n: usize) -> Manifest {
    let packages = ["ChatServer", "RoutingEngine"]
        .iter()
        .map(|name| SoftwarePackage {
            name: (*name).to_owned(),
            version: "7.0.3.1".to_owned(),
            files: (0..n)
                .map(path)
                .filter(|p| p.starts_with(&format!("server/{name}/")))
                .enumerate()
                .map(|(i, path)| FileEntry {
                    path,
                    size: 1024 + (i as u64 * 7919) % 65536,
                    sha256: Sha256([(i % 251) as u8; 32]),
                })
                .collect(),
        })
        .collect();
    let mut m = Manifest {
        format: FORMAT_VERSION,
        id: "BENCH-SMALL".to_owned(),
        version: 1,
        title: "Benchmark corpus".to_owned(),
        description: String::new(),
        base: Base {
            release: "7.0".to_owned(),
            support_package: "SP3".to_owned(),
        },
        created: "2025-11-25T00:00:00Z".to_owned(),
        supersedes: Vec::new(),
        requires: Vec::new(),
        software_packages: packages,
        msis: Vec::new(),
        docs: Vec::new(),
    };
    m.sort();
    m
}

fn bench_manifest(c: &mut Criterion) {
    let n = files();
    let m = manifest(n);
    let xml = m.to_xml();
    assert_eq!(
        Manifest::from_xml(&xml).expect("parses").payload().count(),
        n
    );
    let mut g = c.benchmark_group(format!("manifest {n} files"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("from_xml", |b| {
        b.iter(|| Manifest::from_xml(black_box(&xml)).expect("parses"))
    });
    g.bench_function("to_xml", |b| b.iter(|| black_box(&m).to_xml()));
    g.finish();
}

fn bench_names(c: &mut Criterion) {
    let names: Vec<String> = (0..1000)
        .map(path)
        .chain(["docs/caf\u{e9}-notes.txt".to_owned()])
        .collect();
    let mut g = c.benchmark_group("names (1,001 paths)");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Elements(names.len() as u64));
    g.bench_function("validate_entry_name", |b| {
        b.iter(|| {
            for n in &names {
                validate_entry_name(black_box(n)).expect("valid");
            }
        })
    });
    g.bench_function("collision_key", |b| {
        b.iter(|| {
            for n in &names {
                black_box(collision_key(black_box(n)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_manifest, bench_names);
criterion_main!(benches);
