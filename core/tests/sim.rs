//! The simulation world: deterministic runs over many seeds with invariant checks.

use tend_core::sim::{self, Behaviour, ChainParams, EndpointFaults, SimConfig};

fn faulty(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        duration_ms: 24 * 3_600_000,
        services: 6,
        behaviours: vec![
            Behaviour::Healthy,
            Behaviour::Hung { after_ms: 600_000 },
            Behaviour::CrashLoop { after_ms: 60_000 },
            Behaviour::Crashy { mean_ms: 3_600_000 },
            Behaviour::Flaky { fail_ppm: 200_000 },
            Behaviour::Stubborn,
        ],
        chain: ChainParams {
            drop_ppm: 20_000,
            reorg_ppm: 5_000,
            spike_ppm: 2_000,
            ..ChainParams::default()
        },
        endpoints: vec![
            EndpointFaults {
                timeout_ppm: 20_000,
                rate_limit_ppm: 20_000,
                error_ppm: 10_000,
                ..EndpointFaults::default()
            },
            EndpointFaults {
                lag_blocks: 20,
                ..EndpointFaults::default()
            },
        ],
        ..SimConfig::default()
    }
}

fn busy(seed: u64) -> SimConfig {
    SimConfig {
        services: 20,
        duration_ms: 12 * 3_600_000,
        spend_per_day: tend_core::U256::from(20_000_000_000_000_000_000u128),
        chain: ChainParams {
            drop_ppm: 50_000,
            reorg_ppm: 10_000,
            spike_ppm: 5_000,
            ..ChainParams::default()
        },
        ..faulty(seed)
    }
}

#[test]
fn smoke() {
    for seed in 0..20 {
        let r = sim::run(&busy(seed)).unwrap();
        let s = &r.summary;
        println!(
            "seed {seed}: steps {} blocks {} reorgs {} dropped {} repl {} gaps {} spent {} transfers {:?}",
            s.steps,
            s.blocks,
            s.reorgs,
            s.dropped,
            s.replacements,
            s.gap_fills,
            s.funds_spent,
            s.services.iter().map(|x| x.transfers).collect::<Vec<_>>()
        );
        for v in r.violations.iter().take(5) {
            println!("  VIOLATION {v}");
        }
    }
}
