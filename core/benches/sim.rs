//! The simulation benchmark (results in BENCHMARKS.md): 100 services for 30 virtual days
//! (goal: under 10 seconds on the 2-core machine). A bench binary rather than criterion: one
//! sample takes seconds. Runs `TEND_BENCH_RUNS` times (default 3) and prints each run and the
//! best.
//!
//! Run: `cargo bench -p tend-core --bench sim`.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss
)]

use tend_core::sim::{self, SimConfig};

fn main() {
    // `cargo bench` passes `--bench`; a filter that does not match skips the run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.iter().any(|a| !"sim_100x30d".contains(a.as_str())) {
        return;
    }
    let runs: usize = std::env::var("TEND_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cfg = SimConfig {
        seed: 1,
        services: 100,
        duration_ms: 30 * 86_400_000,
        sample_every_ms: 3_600_000,
        ..SimConfig::default()
    };
    let mut times = Vec::new();
    for run in 1..=runs {
        #[allow(clippy::disallowed_methods)]
        let t = std::time::Instant::now();
        let r = sim::run(&cfg).unwrap();
        let dt = t.elapsed();
        assert!(r.violations.is_empty(), "{:?}", r.first_violation());
        println!(
            "sim_100x30d run {run}: {:.2} s, {} steps, {} engine inputs ({:.2} M inputs/s), {} transfers",
            dt.as_secs_f64(),
            r.summary.steps,
            r.summary.inputs,
            r.summary.inputs as f64 / dt.as_secs_f64() / 1e6,
            r.summary.services.iter().map(|s| s.transfers).sum::<u64>()
        );
        times.push(dt.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "sim_100x30d: best {:.2} s, median {:.2} s over {runs} runs (goal: under 10 s)",
        times[0],
        times[times.len() / 2]
    );
}
