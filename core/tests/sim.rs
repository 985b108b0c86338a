//! The simulation world: deterministic runs over many seeds, each checking the engine's invariants
//! (see `tend_core::sim`). `TEND_SIM_SEEDS=N` runs N seeds (default 500); `TEND_SIM_SEED=S`
//! reruns one seed and prints its summary.

use tend_core::U256;
use tend_core::fees::GWEI;
use tend_core::health::HealthPolicy;
use tend_core::nonce::NoncePolicy;
use tend_core::rng::Rng;
use tend_core::sim::{self, Behaviour, ChainParams, EndpointFaults, SimConfig, SimError};

const ETHER: u128 = 1_000_000_000_000_000_000;

/// A world drawn from the seed: services, behaviours, chain faults, endpoint faults and policies
/// all vary, so the seeds together cover the engine's paths.
fn world(seed: u64) -> SimConfig {
    let mut r = Rng::new(seed ^ 0x5EED);
    let behaviours = (0..=r.below(4))
        .map(|_| match r.below(8) {
            0 => Behaviour::Slow {
                latency_ms: r.between(500, 8_000),
            },
            1 => Behaviour::Hung {
                after_ms: r.between(60_000, 3_600_000),
            },
            2 => Behaviour::CrashLoop {
                after_ms: r.between(1_000, 300_000),
            },
            3 => Behaviour::Crashy {
                mean_ms: r.between(600_000, 7_200_000),
            },
            4 => Behaviour::Flaky {
                fail_ppm: u32::try_from(r.below(400_000)).unwrap(),
            },
            5 => Behaviour::Stubborn,
            _ => Behaviour::Healthy,
        })
        .collect();
    let endpoint = |r: &mut Rng| EndpointFaults {
        latency_ms: r.between(5, 400),
        timeout_ppm: u32::try_from(r.below(30_000)).unwrap(),
        rate_limit_ppm: u32::try_from(r.below(50_000)).unwrap(),
        retry_after_ms: r.between(100, 30_000),
        error_ppm: u32::try_from(r.below(20_000)).unwrap(),
        lag_blocks: if r.chance_ppm(300_000) {
            r.below(30)
        } else {
            0
        },
        wrong_ppm: if r.chance_ppm(300_000) {
            u32::try_from(r.below(50_000)).unwrap()
        } else {
            0
        },
    };
    let endpoints = (0..=r.below(3)).map(|_| endpoint(&mut r)).collect();
    let target = U256::from(ETHER);
    SimConfig {
        seed,
        duration_ms: r.between(2, 6) * 3_600_000,
        services: u32::try_from(r.between(2, 8)).unwrap(),
        behaviours,
        spawn_fail_ppm: u32::try_from(r.below(100_000)).unwrap(),
        chain: ChainParams {
            block_time_ms: r.between(1_000, 12_000),
            spike_ppm: u32::try_from(r.below(20_000)).unwrap(),
            spike_factor: u32::try_from(r.between(2, 100)).unwrap(),
            drop_ppm: u32::try_from(r.below(50_000)).unwrap(),
            reorg_ppm: u32::try_from(r.below(20_000)).unwrap(),
            reorg_depth_max: r.between(1, 5),
            block_tx_limit: usize::try_from(r.between(1, 200)).unwrap(),
            refuse_below_base_fee: r.chance_ppm(500_000),
            ..ChainParams::default()
        },
        endpoints,
        funder_balance: U256::from(ETHER) * U256::from(r.between(1, 200)),
        wallet_balance: U256::from(ETHER / 10 * u128::from(r.between(0, 10))),
        low: target / U256::from(4),
        target,
        spend_per_day: U256::from(ETHER) * U256::from(r.between(0, 30)),
        health: if r.chance_ppm(300_000) {
            HealthPolicy::olas()
        } else {
            HealthPolicy::tend()
        },
        nonce: NoncePolicy {
            confirmations: r.between(1, 6),
            stuck_after_ms: r.between(20_000, 300_000),
            stuck_after_blocks: if r.chance_ppm(500_000) {
                r.between(2, 20)
            } else {
                0
            },
            rebroadcast_after_ms: r.between(5_000, 60_000),
            max_in_flight: u32::try_from(r.between(1, 16)).unwrap(),
            fee_cap: u128::from(r.between(5, 2_000)) * GWEI,
            lost_after_checks: 3,
        },
        poll_ms: r.between(2_000, 30_000),
        engine_crashes: u32::try_from(r.below(6)).unwrap(),
        engine_down_ms: r.below(20_000),
        sample_every_ms: 0,
        safe: r.chance_ppm(300_000),
        max_steps: 5_000_000,
        ..SimConfig::default()
    }
}

#[test]
#[ignore = "debugging aid"]
fn dump_seed() {
    let seed: u64 = std::env::var("TEND_SIM_SEED").unwrap().parse().unwrap();
    let cfg = world(seed);
    println!("{cfg:#?}");
    let r = sim::run(&cfg).unwrap();
    for e in &r.events {
        println!("{e:?}");
    }
    println!("{:?}", r.violations);
}

fn check(seed: u64) -> Result<sim::SimReport, String> {
    let cfg = world(seed);
    match sim::run(&cfg) {
        Ok(report) => match report.first_violation() {
            Some(v) => Err(format!(
                "{v}\nrerun: TEND_SIM_SEED={seed} cargo test -p tend-core --test core sim::"
            )),
            None => Ok(report),
        },
        Err(e @ SimError::BusyLoop { .. }) => Err(format!("{e}\nrerun: TEND_SIM_SEED={seed}")),
        Err(e) => Err(format!("seed {seed}: {e}")),
    }
}

#[test]
fn invariants_hold_over_many_seeds() {
    if let Ok(one) = std::env::var("TEND_SIM_SEED") {
        let seed: u64 = one.parse().expect("TEND_SIM_SEED is a number");
        let report = check(seed).unwrap_or_else(|e| panic!("{e}"));
        println!("{}", serde_json::to_string_pretty(&report.summary).unwrap());
        return;
    }
    let n: u64 = std::env::var("TEND_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let threads = std::thread::available_parallelism().map_or(2, |p| p.get().min(4)) as u64;
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..n)
                        .filter(|seed| seed % threads == t)
                        .filter_map(|seed| check(seed).err())
                        .collect::<Vec<String>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {n} seeds broke an invariant; the first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// Worlds beyond the default 500 seeds that once broke an invariant (found by a run of 20,000
/// seeds): 1405, a reorg deeper than one confirmation undid transfers the planner had already
/// made again, and resurrecting both funded the wallets twice; 4950, a bump that fitted the
/// balance alone was refused once the lower nonces were mined; 4964, a transfer below the base
/// fee whose bump the funder could not pay stayed in flight for hours.
#[test]
fn seeds_that_once_broke_an_invariant() {
    for seed in [1405, 4950, 4964] {
        if let Err(e) = check(seed) {
            panic!("{e}");
        }
    }
}

#[test]
fn a_run_is_deterministic() {
    let a = sim::run(&world(42)).unwrap();
    let b = sim::run(&world(42)).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

/// The scenarios the seeds may or may not reach, one each, with what they must show.
#[test]
fn scenarios() {
    // A busy fleet on a chain that drops, reorgs and spikes: funding keeps every wallet alive.
    let busy = SimConfig {
        seed: 3,
        services: 12,
        duration_ms: 12 * 3_600_000,
        spend_per_day: U256::from(10 * ETHER),
        chain: ChainParams {
            drop_ppm: 300_000,
            reorg_ppm: 10_000,
            spike_ppm: 5_000,
            ..ChainParams::default()
        },
        ..SimConfig::default()
    };
    let r = sim::run(&busy).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.first_violation());
    assert!(r.summary.reorgs > 0 && r.summary.dropped > 0);
    assert!(
        r.summary.services.iter().all(|s| s.transfers >= 3),
        "{:?}",
        r.summary.services
    );
    assert!(
        r.summary
            .services
            .iter()
            .all(|s| s.final_balance > U256::ZERO)
    );

    // Fees priced tight on a spiky chain: transactions get stuck and are replaced with bumps the
    // node accepts (the chain refuses any other replacement).
    let spiky = SimConfig {
        seed: 5,
        services: 6,
        duration_ms: 12 * 3_600_000,
        spend_per_day: U256::from(10 * ETHER),
        chain: ChainParams {
            spike_ppm: 200_000,
            spike_factor: 40,
            block_time_ms: 2_000,
            ..ChainParams::default()
        },
        // Slow answers: the fee read is several blocks old when the transaction arrives.
        endpoints: vec![EndpointFaults {
            latency_ms: 3_000,
            ..EndpointFaults::default()
        }],
        nonce: NoncePolicy {
            stuck_after_ms: 30_000,
            ..NoncePolicy::default()
        },
        fees: tend_core::fees::FeePolicy {
            base_fee_multiplier_bps: 10_000,
            ..tend_core::fees::FeePolicy::default()
        },
        ..SimConfig::default()
    };
    let r = sim::run(&spiky).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.first_violation());
    assert!(r.summary.replacements > 0, "{:?}", r.summary);

    // A crash-looping agent ends Failed within the flap limit; a hung one is restarted.
    let agents = SimConfig {
        seed: 9,
        services: 3,
        duration_ms: 6 * 3_600_000,
        behaviours: vec![
            Behaviour::CrashLoop { after_ms: 5_000 },
            Behaviour::Hung { after_ms: 900_000 },
            Behaviour::Stubborn,
        ],
        ..SimConfig::default()
    };
    let r = sim::run(&agents).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.first_violation());
    let s = &r.summary.services;
    assert_eq!(s[0].status, tend_core::health::Status::Failed);
    let limit = u64::from(tend_core::health::HealthPolicy::tend().flap_max_restarts);
    assert!(s[0].restarts <= limit, "{:?}", s[0]);
    assert!(s[1].restarts >= 3, "{:?}", s[1]);
    assert_eq!(s[2].restarts, 0);
}

/// The engine is a function of its inputs: replaying a run's inputs into a fresh engine gives the
/// same outputs, byte for byte (the base of recordings and replays).
#[test]
fn a_recorded_run_replays_to_the_same_outputs() {
    let cfg = SimConfig {
        engine_crashes: 0,
        duration_ms: 3 * 3_600_000,
        ..world(11)
    };
    let (report, inputs, digest) = sim::run_recorded(&cfg).unwrap();
    assert!(report.violations.is_empty());
    assert!(inputs.len() > 100);
    let start = tend_core::time::Timestamp(cfg.start_ms);
    let mut engine = tend_core::engine::Engine::new(sim::engine_config(&cfg), start).unwrap();
    let mut replay = sim::OutputDigest::default();
    while let Some(o) = engine.poll_output() {
        replay.write(&o);
    }
    for input in inputs {
        // Through JSON, as a recording file would carry it.
        let text = serde_json::to_string(&input).unwrap();
        engine.handle_input(serde_json::from_str(&text).unwrap());
        while let Some(o) = engine.poll_output() {
            replay.write(&o);
        }
    }
    assert_eq!(replay.value(), digest);
    assert!(
        sim::run_recorded(&SimConfig {
            engine_crashes: 1,
            ..cfg
        })
        .is_err()
    );
}

/// Issue 21 in the simulation: `kill -9` often, answers lost, a base fee that jumps above the
/// transactions in flight and a pool that refuses what is below it (anvil's rule) while keeping
/// the originals of refused rebroadcasts. The invariant "a nonce a pool accepted for one payload
/// is never signed for another" is checked at every signature, from the chain's side.
#[test]
fn a_nonce_a_pool_accepted_is_never_signed_for_another_payload() {
    let mut crashes = 0;
    let mut refused = 0;
    for seed in 0..12 {
        let cfg = SimConfig {
            seed,
            services: 12,
            duration_ms: 2 * 3_600_000,
            // Wallets drained fast: transfers are always in flight when the engine dies.
            spend_per_day: U256::from(2_000 * ETHER),
            chain: ChainParams {
                block_time_ms: 1_000,
                spike_ppm: 100_000,
                spike_factor: 8,
                // Congested: transfers wait in the pool for blocks while the base fee jumps.
                block_tx_limit: 2,
                refuse_below_base_fee: true,
                ..ChainParams::default()
            },
            endpoints: vec![
                EndpointFaults {
                    latency_ms: 1_500,
                    timeout_ppm: 50_000,
                    ..EndpointFaults::default()
                },
                EndpointFaults::default(),
            ],
            nonce: NoncePolicy {
                confirmations: 2,
                ..NoncePolicy::default()
            },
            fees: tend_core::fees::FeePolicy {
                base_fee_multiplier_bps: 11_000,
                ..tend_core::fees::FeePolicy::default()
            },
            poll_ms: 500,
            engine_crashes: 40,
            engine_down_ms: 6_000,
            ..SimConfig::default()
        };
        let r = sim::run(&cfg).unwrap();
        assert!(
            r.violations.is_empty(),
            "seed {seed}: {:?}",
            r.first_violation()
        );
        crashes += r.summary.crashes;
        refused += r.summary.replacements;
    }
    assert!(crashes >= 400, "{crashes} crashes");
    assert!(refused > 0, "nothing was replaced");
}

#[test]
fn a_safe_pays_a_round_in_one_transaction_and_signs_each_safe_nonce_once() {
    let mut batches = 0;
    let mut top_ups = 0;
    let mut crashes = 0;
    for seed in 0..8 {
        let cfg = SimConfig {
            seed,
            services: 10,
            duration_ms: 2 * 3_600_000,
            safe: true,
            // Drained fast from staggered balances: wallets run low a few at a time.
            spend_per_day: U256::from(100 * ETHER),
            behaviours: vec![Behaviour::Healthy, Behaviour::Crashy { mean_ms: 900_000 }],
            nonce: NoncePolicy {
                confirmations: 6,
                ..NoncePolicy::default()
            },
            chain: ChainParams {
                block_time_ms: 12_000,
                spike_ppm: 200_000,
                spike_factor: 8,
                drop_ppm: 20_000,
                reorg_ppm: 10_000,
                refuse_below_base_fee: true,
                ..ChainParams::default()
            },
            endpoints: vec![
                EndpointFaults {
                    latency_ms: 800,
                    timeout_ppm: 30_000,
                    ..EndpointFaults::default()
                },
                EndpointFaults::default(),
            ],
            poll_ms: 2_000,
            engine_crashes: 20,
            engine_down_ms: 5_000,
            ..SimConfig::default()
        };
        let r = sim::run(&cfg).unwrap();
        assert!(
            r.violations.is_empty(),
            "seed {seed}: {:?}",
            r.first_violation()
        );
        batches += r.summary.safe_transactions;
        top_ups += r.summary.safe_top_ups;
        crashes += r.summary.crashes;
        let funded: u64 = r.summary.services.iter().map(|s| s.transfers).sum();
        assert!(funded > 0, "seed {seed}: nothing funded");
    }
    assert!(crashes >= 100, "{crashes} crashes");
    assert!(batches > 0, "no Safe transaction");
    // Rounds with several low wallets batch them: fewer Safe transactions than top-ups.
    assert!(
        top_ups > batches * 3 / 2,
        "{top_ups} top-ups in {batches} Safe transactions"
    );
}
