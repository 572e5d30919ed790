//! Throughput of the timing engine in events per second (one thread).
//!
//! `cargo bench -p hotfix-sim --bench engine`. Criterion reports "elem/s": each element
//! is one processed event (counted by a first run of the same inputs, which is exact since
//! the engine is deterministic). The DESIGN.md target is ≥ 10 M events/s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotfix_sim::timing::{
    self, Dist, PackageInfo, Plan, SECOND, Strategy, TimingConfig, TopologySpec,
};

fn config(faults: bool) -> TimingConfig {
    let mut c = TimingConfig {
        uplink_bandwidth: 5_000_000_000,
        link_bandwidth: 125_000_000,
        max_parallel_transfers: 512,
        apply: Dist::Uniform {
            min: 30 * SECOND,
            max: 90 * SECOND,
        },
        ..TimingConfig::default()
    };
    c.ia.inactivate = Dist::fixed(20_000);
    c.ia.activate = Dist::fixed(50_000);
    c.ia.add_to_package = Dist::fixed(20_000);
    c.workstations.concurrency = 500;
    if faults {
        c.faults.node_unreachable_probability = 0.002;
        c.faults.transfer_failure_probability = 0.02;
        c.faults.apply_failure_probability = 0.01;
        c.faults.workstation_failure_probability = 0.01;
        c.rollout.strategy = Strategy::Batches;
        c.rollout.batch_percent = Some(5.0);
    }
    c
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("timing_engine");
    group.sample_size(10);
    for (name, nodes, faults) in [
        ("install_10k", 10_000u32, false),
        ("install_100k", 100_000, false),
        ("install_100k_faults_batches", 100_000, true),
    ] {
        let topo = TopologySpec {
            nodes,
            vus: nodes / 2,
            instances: 2,
            packages: vec![
                PackageInfo {
                    name: "ChatServer".into(),
                    payload_bytes: 12 << 20,
                },
                PackageInfo {
                    name: "Router".into(),
                    payload_bytes: 3 << 20,
                },
            ],
            workstations: nodes / 10,
            msi: 1,
        }
        .generate();
        let cfg = config(faults);
        let plan = Plan::install();
        let (_, stats) =
            timing::simulate_with_stats(&topo, &plan, &cfg, 1).expect("benchmark scenario runs");
        eprintln!("{name}: {stats}");
        group.throughput(Throughput::Elements(stats.events));
        group.bench_function(name, |b| {
            b.iter(|| timing::simulate(black_box(&topo), &plan, &cfg, black_box(1)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
