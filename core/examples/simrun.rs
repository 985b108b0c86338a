//! Runs one simulation and prints its timing (a profiling aid).
//!
//! `cargo run --release -p tend-core --example simrun -- SERVICES DAYS [SEED]`
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use tend_core::sim::{self, SimConfig};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let services = args.first().copied().unwrap_or(100);
    let days = args.get(1).copied().unwrap_or(1);
    let seed = args.get(2).copied().unwrap_or(1);
    let cfg = SimConfig {
        seed,
        services: u32::try_from(services).unwrap(),
        duration_ms: days * 86_400_000,
        ..SimConfig::default()
    };
    #[allow(clippy::disallowed_methods)]
    let t = std::time::Instant::now();
    let r = sim::run(&cfg).unwrap();
    println!(
        "{services} services x {days} days: {:.2?}, {} steps, {} inputs, {} violations",
        t.elapsed(),
        r.summary.steps,
        r.summary.inputs,
        r.violations.len()
    );
}
