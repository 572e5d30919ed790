//! Signature verification (what `verify` does once per trusted signature) and signing,
//! over a manifest-sized message.
//!
//! `cargo bench -p hotfix-sign --bench signature`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotfix_sign::{SecretKey, Signature, sign};

fn bench_signature(c: &mut Criterion) {
    let key = SecretKey::generate().expect("key");
    let public = key.public_key();
    // About the size of a 20,000-file manifest.
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let small = b"<hotfix format=\"1\" id=\"HF-7.0.3-0042\"/>".to_vec();
    let sig = sign(&key, &data, "hotfix-id:BENCH version:1", "signature").expect("sign");
    let sig_small = sign(&key, &small, "hotfix-id:BENCH version:1", "signature").expect("sign");
    let text = sig.to_file_text();

    let mut g = c.benchmark_group("signature");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    g.bench_function("verify 40 B manifest", |b| {
        b.iter(|| {
            public
                .verify(black_box(&sig_small), black_box(&small))
                .expect("valid")
        })
    });
    g.bench_function("parse .minisig", |b| {
        b.iter(|| Signature::parse(black_box(&text)).expect("parses"))
    });
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("verify 3 MiB manifest", |b| {
        b.iter(|| {
            public
                .verify(black_box(&sig), black_box(&data))
                .expect("valid")
        })
    });
    g.bench_function("sign 3 MiB manifest", |b| {
        b.iter(|| sign(&key, black_box(&data), "hotfix-id:BENCH version:1", "s").expect("sign"))
    });
    g.finish();
}

criterion_group!(benches, bench_signature);
criterion_main!(benches);
