//! SHA-256 (and CRC-32, which build and verify compute in the same pass) at the buffer
//! sizes the package code uses, and the per-file cost of many small payload files.
//!
//! `cargo bench -p hotfix-package --bench hash`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};

fn bench_hash(c: &mut Criterion) {
    let data: Vec<u8> = (0..16 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut g = c.benchmark_group("sha256 16 MiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Bytes(data.len() as u64));
    for chunk in [4 * 1024, 64 * 1024, 1024 * 1024] {
        g.bench_with_input(BenchmarkId::new("chunk", chunk), &chunk, |b, &chunk| {
            b.iter(|| {
                let mut h = Sha256::new();
                for part in data.chunks(chunk) {
                    h.update(black_box(part));
                }
                h.finalize()
            })
        });
    }
    g.bench_function("sha256 + crc32 (64 KiB chunks)", |b| {
        b.iter(|| {
            let mut h = Sha256::new();
            let mut crc = crc32fast::Hasher::new();
            for part in data.chunks(64 * 1024) {
                h.update(black_box(part));
                crc.update(part);
            }
            (h.finalize(), crc.finalize())
        })
    });
    g.bench_function("crc32 (64 KiB chunks)", |b| {
        b.iter(|| {
            let mut crc = crc32fast::Hasher::new();
            for part in data.chunks(64 * 1024) {
                crc.update(black_box(part));
            }
            crc.finalize()
        })
    });
    g.finish();

    // 4,096 files of 4 KiB: one hasher per file, as verify does per entry.
    let mut g = c.benchmark_group("sha256 per file");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300))
        .throughput(Throughput::Elements(4096));
    g.bench_function("4096 x 4 KiB", |b| {
        b.iter(|| {
            data.chunks(4096)
                .map(|f| Sha256::digest(black_box(f))[0])
                .fold(0u8, |a, x| a ^ x)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_hash);
criterion_main!(benches);
