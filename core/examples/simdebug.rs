#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]
use tend_core::U256;
use tend_core::sim::{self, ChainParams, SimConfig};
fn main() {
    let cfg = SimConfig {
        seed: 5,
        services: 6,
        duration_ms: 12 * 3_600_000,
        spend_per_day: U256::from(10_000_000_000_000_000_000u128),
        chain: ChainParams {
            spike_ppm: 200_000,
            spike_factor: 40,
            block_time_ms: 2_000,
            ..ChainParams::default()
        },
        endpoints: vec![tend_core::sim::EndpointFaults {
            latency_ms: 3_000,
            ..Default::default()
        }],
        nonce: tend_core::nonce::NoncePolicy {
            stuck_after_ms: 30_000,
            ..Default::default()
        },
        fees: tend_core::fees::FeePolicy {
            base_fee_multiplier_bps: 10_000,
            ..Default::default()
        },
        ..SimConfig::default()
    };
    let mut c = tend_core::sim::SimChain::new(cfg.chain, 1, 0, Default::default());
    let mut spikes = 0;
    let mut prev = c.base_fee();
    for i in 0..2000 {
        c.mine(i * 5);
        if c.base_fee() > prev * 5 {
            spikes += 1;
        }
        prev = c.base_fee();
    }
    println!("spikes {spikes}");
    for seed in 0..10 {
        let r = sim::run(&SimConfig {
            seed,
            ..cfg.clone()
        })
        .unwrap();
        println!(
            "seed {seed} repl {} waits {} transfers {}",
            r.summary.replacements,
            r.summary.waits,
            r.summary.services.iter().map(|s| s.transfers).sum::<u64>()
        );
    }
    let r = sim::run(&cfg).unwrap();
    println!(
        "repl {} waits {} blocks {}",
        r.summary.replacements, r.summary.waits, r.summary.blocks
    );
}
