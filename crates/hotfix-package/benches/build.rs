//! Build throughput on a generated corpus: `cargo bench -p hotfix-package --bench build`.
//!
//! Two corpora, generated once per run in a temporary folder (deterministic bytes):
//! - `mixed`: 64 MiB, three quarters incompressible (files from 4 KiB to 8 MiB), one
//!   quarter log-like text, in four software packages;
//! - `text`: 16 MiB of log-like text only, where deflate dominates.
//!
//! Each iteration builds a complete signed package into a fresh file. The side-by-side
//! comparison with `zip -r` lives in `benches/compare.sh`.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotfix_manifest::{BuildSpec, SoftwarePackageSpec};
use hotfix_package::{BuildOptions, build};
use hotfix_sign::SecretKey;

const MIB: usize = 1 << 20;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "chat",
    "routing",
    "queue",
    "agent",
    "session",
    "failover",
    "instance",
    "node",
    "virtual",
    "unit",
    "package",
    "hotfix",
    "apply",
    "synchronize",
    "monitoring",
    "deployment",
    "INFO",
    "WARN",
    "DEBUG",
    "message",
    "contact",
    "center",
    "workstation",
    "component",
    "version",
];

fn text(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 128);
    while out.len() < n {
        out.extend_from_slice(format!("{:05} ", rng.below(100_000)).as_bytes());
        for _ in 0..4 + rng.below(10) {
            out.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(n);
    out
}

const PACKAGES: [&str; 4] = [
    "ChatServer",
    "RoutingEngine",
    "MediaGateway",
    "ReportingService",
];

/// Writes a corpus of `noise` incompressible and `text_bytes` text bytes under `root`.
fn corpus(root: &Path, noise: usize, text_bytes: usize) -> (BuildSpec, u64) {
    let mut rng = Rng(0x5EED_1234_ABCD_0042);
    let mut total = 0u64;
    let mut i = 0usize;
    let mut write = |pkg: &str, name: String, data: &[u8]| {
        let dir = root
            .join("server")
            .join(pkg)
            .join(format!("lib{:02}", i % 7));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), data).expect("write");
        total += data.len() as u64;
        i += 1;
    };
    let mut left = noise;
    let mut n = 0;
    while left > 0 {
        let kind = rng.below(100);
        let size = match kind {
            0..60 => 4096 + rng.below(252 * 1024),
            60..95 => 256 * 1024 + rng.below(2 * MIB),
            _ => 2 * MIB + rng.below(6 * MIB),
        }
        .min(left);
        let mut data = vec![0u8; size];
        rng.fill(&mut data);
        write(PACKAGES[n % 4], format!("blob{n:05}.bin"), &data);
        left -= size;
        n += 1;
    }
    let mut left = text_bytes;
    while left > 0 {
        let size = (16 * 1024 + rng.below(MIB)).min(left);
        let data = text(&mut rng, size);
        write(PACKAGES[n % 4], format!("settings{n:05}.log"), &data);
        left -= size;
        n += 1;
    }
    let spec = BuildSpec {
        root: root.to_path_buf(),
        id: "BENCH-0001".into(),
        version: 1,
        title: "Benchmark corpus".into(),
        description: String::new(),
        release: "7.0".into(),
        support_package: "SP3".into(),
        supersedes: vec![],
        requires: vec![],
        software_packages: PACKAGES
            .iter()
            .map(|p| SoftwarePackageSpec {
                name: (*p).into(),
                version: "7.0.3.1".into(),
                dir: root.join("server").join(p),
            })
            .collect(),
        msis: vec![],
        docs: None,
    };
    (spec, total)
}

fn bench_corpus(c: &mut Criterion, name: &str, noise: usize, text_bytes: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spec, total) = corpus(&dir.path().join("src"), noise, text_bytes);
    let key = SecretKey::generate().expect("key");
    let out_dir: PathBuf = dir.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let out = out_dir.join("BENCH-0001.zip");

    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(total));
    group.bench_function(name, |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(&out);
            build(
                &spec,
                &key,
                &BuildOptions::new(&out).source_date_epoch(Some(1_700_000_000)),
            )
            .expect("build")
        })
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    bench_corpus(c, "mixed_64MiB", 48 * MIB, 16 * MIB);
    bench_corpus(c, "text_16MiB", 0, 16 * MIB);
}

criterion_group!(build_benches, benches);
criterion_main!(build_benches);
