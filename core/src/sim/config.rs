//! What a simulation runs: the world's size and length, the chain, the endpoints and their
//! faults, the agents' behaviours, and the engine policies under test.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::fees::FeePolicy;
use crate::health::HealthPolicy;
use crate::nonce::NoncePolicy;
use crate::rpc::RpcPolicy;
use crate::ser;

use super::ChainParams;

/// How an agent behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Behaviour {
    /// Healthy after its warm-up.
    Healthy,
    /// Healthy, but every probe takes `latency_ms`.
    Slow {
        /// Probe latency, ms.
        latency_ms: u64,
    },
    /// Hangs (accepts connections, never answers) `after_ms` after each start.
    Hung {
        /// Time to the hang, ms.
        after_ms: u64,
    },
    /// Exits `after_ms` after each start.
    CrashLoop {
        /// Time to the crash, ms.
        after_ms: u64,
    },
    /// Exits at random, on average every `mean_ms` of running.
    Crashy {
        /// Mean time between crashes, ms.
        mean_ms: u64,
    },
    /// Fails `fail_ppm` of its probes.
    Flaky {
        /// Failed probes, per million.
        fail_ppm: u32,
    },
    /// Ignores SIGTERM (only SIGKILL stops it); otherwise healthy.
    Stubborn,
}

/// The faults of one RPC endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct EndpointFaults {
    /// Base latency, ms.
    pub latency_ms: u64,
    /// Requests that time out, ppm.
    pub timeout_ppm: u32,
    /// Requests answered 429, ppm.
    pub rate_limit_ppm: u32,
    /// The `Retry-After` of a 429, ms.
    pub retry_after_ms: u64,
    /// Requests answered with an internal error, ppm.
    pub error_ppm: u32,
    /// Blocks behind the chain's head.
    pub lag_blocks: u64,
    /// Answers that are wrong, ppm: a receipt hidden, a block hash from nowhere (a reorg that
    /// did not happen), a transaction count one behind. (Lies about heads and balances need
    /// quorum reads to catch and are not simulated.)
    pub wrong_ppm: u32,
}

impl Default for EndpointFaults {
    fn default() -> Self {
        Self {
            latency_ms: 80,
            timeout_ppm: 0,
            rate_limit_ppm: 0,
            retry_after_ms: 1_000,
            error_ppm: 0,
            lag_blocks: 0,
            wrong_ppm: 0,
        }
    }
}

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// The seed of everything random.
    pub seed: u64,
    /// Virtual time to run, ms.
    pub duration_ms: u64,
    /// Virtual start time, ms since the epoch.
    pub start_ms: u64,
    /// Number of services.
    pub services: u32,
    /// Behaviours, assigned round-robin to the services (empty: all healthy).
    pub behaviours: Vec<Behaviour>,
    /// Agent warm-up before its first healthy answer, ms.
    pub warmup_ms: u64,
    /// Spawns that fail, ppm.
    pub spawn_fail_ppm: u32,
    /// The chain.
    pub chain: ChainParams,
    /// The endpoints (at least one).
    pub endpoints: Vec<EndpointFaults>,
    /// The funder's starting balance, wei.
    #[serde(with = "ser::dec")]
    pub funder_balance: U256,
    /// The largest agent wallet's starting balance, wei (wallet `i` of `n` starts with
    /// `(i + 1) / n` of it).
    #[serde(with = "ser::dec")]
    pub wallet_balance: U256,
    /// Refill below this, wei.
    #[serde(with = "ser::dec")]
    pub low: U256,
    /// Refill up to this, wei.
    #[serde(with = "ser::dec")]
    pub target: U256,
    /// What each running agent spends per day, wei.
    #[serde(with = "ser::dec")]
    pub spend_per_day: U256,
    /// Agents' health policy.
    pub health: HealthPolicy,
    /// Nonce policy.
    pub nonce: NoncePolicy,
    /// RPC policy.
    pub rpc: RpcPolicy,
    /// Fee policy.
    pub fees: FeePolicy,
    /// Chain poll period, ms.
    pub poll_ms: u64,
    /// Timeline sample period, ms (0: no timeline).
    pub sample_every_ms: u64,
    /// Step bound: a run that needs more steps fails as a busy loop.
    pub max_steps: u64,
    /// Times the engine crashes (`kill -9`) during the run, at random moments, possibly between
    /// two of its outputs. It restarts from its journal; its agents live on.
    pub engine_crashes: u32,
    /// Longest time the engine stays down after a crash, ms (each downtime is drawn up to it):
    /// blocks go on being mined and the base fee moves while nothing of tend runs.
    pub engine_down_ms: u64,
    /// Pay the top-ups from a Safe the funder owns (one Safe transaction per round): the Safe
    /// starts with `funder_balance`, the funder with a hundredth of it for gas.
    pub safe: bool,
}

const ETHER: u128 = 1_000_000_000_000_000_000;

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            duration_ms: 86_400_000,
            start_ms: 1_767_225_600_000,
            services: 4,
            behaviours: Vec::new(),
            warmup_ms: 20_000,
            spawn_fail_ppm: 0,
            chain: ChainParams::default(),
            endpoints: vec![EndpointFaults::default()],
            funder_balance: U256::from(10_000 * ETHER),
            wallet_balance: U256::from(3 * ETHER / 10),
            low: U256::from(ETHER / 4),
            target: U256::from(ETHER),
            spend_per_day: U256::from(ETHER / 2),
            health: HealthPolicy::tend(),
            nonce: NoncePolicy::default(),
            rpc: RpcPolicy::default(),
            fees: FeePolicy::default(),
            poll_ms: 15_000,
            sample_every_ms: 3_600_000,
            max_steps: 500_000_000,
            engine_crashes: 0,
            engine_down_ms: 0,
            safe: false,
        }
    }
}

impl SimConfig {
    /// Parses a configuration from JSON text (every field optional). Adapters parse through
    /// here, so the wasm package holds one copy of the policies' deserializers.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }

    /// A lively 6-hour world, the benchmarks' recorded run: 20 services (healthy, flaky 10 %,
    /// crashing hourly), a chain that drops (2 %), reorgs (0.5 %) and spikes (0.5 %), one
    /// endpoint that times out (1 %) and rate-limits (2 %) next to a good one, agents spending
    /// 10 ether a day each.
    pub fn lively_6h(seed: u64) -> Self {
        Self {
            seed,
            services: 20,
            duration_ms: 6 * 3_600_000,
            behaviours: vec![
                Behaviour::Healthy,
                Behaviour::Flaky { fail_ppm: 100_000 },
                Behaviour::Crashy { mean_ms: 3_600_000 },
            ],
            chain: ChainParams {
                drop_ppm: 20_000,
                reorg_ppm: 5_000,
                spike_ppm: 5_000,
                ..ChainParams::default()
            },
            endpoints: vec![
                EndpointFaults {
                    timeout_ppm: 10_000,
                    rate_limit_ppm: 20_000,
                    ..EndpointFaults::default()
                },
                EndpointFaults::default(),
            ],
            spend_per_day: U256::from(10_000_000_000_000_000_000u128),
            ..Self::default()
        }
    }
}

/// A refused simulation configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimConfigError {
    /// No endpoint.
    #[error("the simulation needs at least one RPC endpoint")]
    NoEndpoint,
    /// The engine refused the derived configuration.
    #[error("engine configuration: {0}")]
    Engine(#[from] crate::engine::ConfigError),
    /// `block_time_ms` 0 would spin.
    #[error("chain.block_time_ms must be at least 1")]
    ZeroBlockTime,
    /// Too many services.
    #[error("at most 10000 services")]
    TooManyServices,
    /// A recorded run cannot crash the engine.
    #[error("a recorded run holds one engine's life: set engine_crashes to 0")]
    CrashesInRecording,
}
