//! Engine benchmarks (results in BENCHMARKS.md):
//! - `engine/replay`: a recorded simulation's inputs (20 services, 6 virtual hours with faulty
//!   endpoints and a lively chain) fed to a fresh engine, outputs drained: inputs per second;
//! - `engine/plan_nonces`: the nonce planner over a book with 16 transactions in flight.
//!
//! Run: `cargo bench -p tend-core --bench engine`. The 30-day simulation of 100 services is the
//! `sim` bench (`cargo bench -p tend-core --bench sim`).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tend_core::B256;
use tend_core::engine::Engine;
use tend_core::fees::{Fees, TxKind};
use tend_core::nonce::{ChainView, NonceBook, NoncePolicy, Purpose};
use tend_core::sim::{self, SimConfig};
use tend_core::time::Timestamp;

fn recorded() -> (SimConfig, Vec<tend_core::engine::Input>) {
    let cfg = SimConfig::lively_6h(7);
    let (report, inputs, _) = sim::run_recorded(&cfg).unwrap();
    assert!(report.violations.is_empty());
    (cfg, inputs)
}

fn replay(c: &mut Criterion) {
    let (cfg, inputs) = recorded();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(inputs.len() as u64));
    g.sample_size(20);
    g.bench_function("replay", |b| {
        b.iter_batched(
            || inputs.clone(),
            |inputs| {
                let mut e = Engine::new(sim::engine_config(&cfg), Timestamp(cfg.start_ms)).unwrap();
                let mut n = 0usize;
                while e.poll_output().is_some() {
                    n += 1;
                }
                for i in inputs {
                    e.handle_input(i);
                    while e.poll_output().is_some() {
                        n += 1;
                    }
                }
                black_box(n)
            },
            criterion::BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn plan_nonces(c: &mut Criterion) {
    let p = NoncePolicy::default();
    let mut book = NonceBook::new();
    book.observe_chain(ChainView {
        latest: 100,
        pending: 100,
        head: 1_000,
        base_fee: 0,
    });
    for i in 0..16u64 {
        let (id, _) = book.reserve(Purpose::Payload, Timestamp(0), &p).unwrap();
        let hash = B256::left_padding_from(&i.to_be_bytes());
        book.signed(
            id,
            hash,
            Fees::new(30, 2),
            TxKind::Standard,
            false,
            Timestamp(0),
        )
        .unwrap();
        book.sent(hash, Timestamp(0)).unwrap();
    }
    c.bench_function("engine/plan_nonces", |b| {
        b.iter(|| black_box(book.plan(Timestamp(600_000), Some(Fees::new(40, 3)), &p)));
    });
}

criterion_group!(benches, replay, plan_nonces);
criterion_main!(benches);
