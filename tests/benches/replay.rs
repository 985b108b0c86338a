//! Replay benchmarks (results in BENCHMARKS.md): inputs per second of `tend replay`'s work.
//! - `replay/corpus`: every recording of tests/corpus (real anvil sessions), text in, output
//!   text out: parse, restore, every input through the engine, every output as JSON;
//! - `replay/corpus_engine`: the same recordings parsed beforehand: the engine alone;
//! - `replay/sim_6h`: a recorded 6-hour simulation (20 services, faulty endpoints, drops,
//!   reorgs, spikes; 60k+ inputs) as recording text, text to output text; `sim_6h_parse` the
//!   parse alone, `sim_6h_engine` the engine alone (parsed inputs, outputs dropped).
//!
//! The simulation's recording is also written to `target/replay-bench/sim-6h.jsonl` for the same
//! figure in Node (`node npm/bench/replay.mjs`). Run: `cargo bench -p tend-replay --bench replay`.

#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tend_core::recording::{Header, Recording, replay, replay_each, replay_text};
use tend_core::sim::{self, SimConfig};
use tend_core::time::Timestamp;

fn sim_recording() -> String {
    let cfg = SimConfig::lively_6h(7);
    let (report, inputs, _) = sim::run_recorded(&cfg).unwrap();
    assert!(report.violations.is_empty());
    Recording {
        header: Header::new(
            &sim::engine_config(&cfg),
            Timestamp(cfg.start_ms),
            Vec::new(),
            Vec::new(),
        ),
        inputs,
    }
    .to_text()
}

fn benches(c: &mut Criterion) {
    let texts: Vec<String> = tend_replay::corpus()
        .iter()
        .map(|(r, _)| std::fs::read_to_string(r).unwrap())
        .collect();
    let parsed: Vec<Recording> = texts.iter().map(|t| Recording::parse(t).unwrap()).collect();
    let inputs: usize = parsed.iter().map(|r| r.inputs.len()).sum();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(inputs as u64));
    g.bench_function("corpus", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(replay_text(black_box(t)).unwrap());
            }
        });
    });
    g.bench_function("corpus_engine", |b| {
        b.iter(|| {
            for r in &parsed {
                black_box(replay(black_box(r)).unwrap());
            }
        });
    });
    let sim = sim_recording();
    let dir = tend_replay::tests_dir().join("../target/replay-bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sim-6h.jsonl"), &sim).unwrap();
    let n = Recording::parse(&sim).unwrap().inputs.len();
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20);
    g.bench_function("sim_6h", |b| {
        b.iter(|| black_box(replay_text(black_box(&sim)).unwrap()));
    });
    g.bench_function("sim_6h_parse", |b| {
        b.iter(|| black_box(Recording::parse(black_box(&sim)).unwrap()));
    });
    let rec = Recording::parse(&sim).unwrap();
    g.bench_function("sim_6h_engine", |b| {
        b.iter(|| {
            let mut n = 0usize;
            replay_each(&rec.header, rec.inputs.iter().cloned(), |o| {
                n += 1;
                black_box(o);
            })
            .unwrap();
            n
        });
    });
    g.finish();
    println!(
        "corpus: {} recordings, {inputs} inputs; sim_6h: {n} inputs",
        texts.len()
    );
}

criterion_group!(replay_benches, benches);
criterion_main!(replay_benches);
