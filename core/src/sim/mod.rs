//! A seeded simulation world around the [`Engine`]: a chain ([`chain::SimChain`]), RPC endpoints
//! with faults (timeouts, 429 with `Retry-After`, lagging heads, errors), and agents with
//! behaviours (healthy, slow, hung, crash-looping, crashing at random, flaky, ignoring SIGTERM),
//! each spending gas at a rate. A discrete-event driver advances virtual time to the earliest
//! deadline, with a bound on steps so a busy loop fails instead of hanging.
//!
//! While it runs it checks the engine's invariants and records the first violation:
//! no nonce signed by two different transactions once one may have reached a node; every
//! reservation ends mined, cancelled or released; no shortfall funded twice (a transfer never
//! takes a wallet above its target, counting what is already on its way); the funder never sends
//! what it does not hold; every crash and hang detected; restarts within the flap limit; no busy
//! loop.

pub mod chain;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::map::{Map, Set};

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::engine::{
    ChainConfig, Engine, EngineConfig, Event, Input, JournalEntry, Output, RpcAnswer, RpcCall,
    ServiceConfig, ServiceName, TxBody, WalletConfig,
};
use crate::fees::{FeeHistory, FeePolicy};
use crate::health::{ExitStatus, HealthPolicy, ProbeResult, Status};
use crate::nonce::{NoncePolicy, TxId};
use crate::rng::Rng;
use crate::rpc::{RpcFailure, RpcPolicy};
use crate::ser;
use crate::time::Timestamp;

pub use chain::{ChainParams, SimChain};

/// Running agents spend gas in steps this far apart, ms.
pub const SPEND_EVERY_MS: u64 = 60_000;

/// The chain id of the simulated chain.
pub const SIM_CHAIN: ChainId = ChainId(31_337);

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
    /// two of its outputs. It restarts from its journal; its agents die with it.
    pub engine_crashes: u32,
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
        }
    }
}

impl SimConfig {
    /// Parses a configuration from JSON text (every field optional). Adapters parse through
    /// here, so the wasm package holds one copy of the policies' deserializers.
    pub fn from_json(text: &str) -> Result<Self, crate::from_json::Error> {
        crate::from_json::from_str(text)
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

/// One point of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Sample {
    /// When, ms.
    pub t: Timestamp,
    /// Each service wallet's balance, wei, in service order.
    #[serde(with = "ser::dec::vec")]
    pub wallets: Vec<U256>,
    /// The funder's balance, wei.
    #[serde(with = "ser::dec")]
    pub funder: U256,
    /// Each service's status, in service order.
    pub status: Vec<Status>,
}

/// Something that happened, for a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// A funding transfer was planned.
    Transfer {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
        /// Wei.
        #[serde(with = "ser::dec")]
        amount: U256,
    },
    /// A service's status changed.
    Health {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
        /// The new status.
        status: Status,
    },
    /// An agent was spawned again after a failure.
    Restart {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
    },
}

/// Per-service figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct ServiceSummary {
    /// The service's name.
    pub name: String,
    /// Automatic restarts.
    pub restarts: u64,
    /// Funding transfers planned to its wallet.
    pub transfers: u64,
    /// Wei sent to its wallet.
    #[serde(with = "ser::dec")]
    pub funded: U256,
    /// The wallet's balance at the end, wei.
    #[serde(with = "ser::dec")]
    pub final_balance: U256,
    /// Seconds the wallet lasts at its spend rate from the end balance (`None`: no spend).
    pub runway_secs: Option<u64>,
    /// The status at the end.
    pub status: Status,
}

/// Whole-run figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Summary {
    /// Steps the driver took.
    pub steps: u64,
    /// Inputs the engine handled.
    pub inputs: u64,
    /// Blocks mined.
    pub blocks: u64,
    /// Reorgs.
    pub reorgs: u64,
    /// Dropped transactions.
    pub dropped: u64,
    /// Sum over blocks of our executable transactions left waiting (stuck time, in blocks).
    pub waits: u64,
    /// Replacements asked by the engine.
    pub replacements: u64,
    /// Gap fills.
    pub gap_fills: u64,
    /// Engine crashes and restarts.
    pub crashes: u64,
    /// Reorgs deeper than the confirmation depth that undid confirmed transactions.
    pub deep_reorgs: u64,
    /// What the funder spent (transfers and gas), wei.
    #[serde(with = "ser::dec")]
    pub funds_spent: U256,
    /// Per service.
    pub services: Vec<ServiceSummary>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Figures.
    pub summary: Summary,
    /// Samples every `sample_every_ms`.
    pub timeline: Vec<Sample>,
    /// Transfers, status changes, restarts.
    pub events: Vec<TimelineEvent>,
    /// Broken invariants, first first (empty on a good run).
    pub violations: Vec<String>,
}

impl SimReport {
    /// The first broken invariant, with the seed to rerun it.
    pub fn first_violation(&self) -> Option<String> {
        self.violations
            .first()
            .map(|v| format!("seed {}: {v}", self.seed))
    }
}

/// A run that could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] SimConfigError),
    /// More steps than `max_steps`, or too many steps without time passing.
    #[error("busy loop: seed {seed}, {steps} steps, stuck at t = {at}")]
    BusyLoop {
        /// The seed.
        seed: u64,
        /// Steps taken.
        steps: u64,
        /// The virtual time.
        at: Timestamp,
    },
}

/// A scheduled event. Kept to 12 bytes (32-bit indices, the signal a byte): the queue moves
/// these around millions of times in a long run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    /// An input waiting in the slab, by slot.
    Deliver(u32),
    Block,
    Spend,
    Crash {
        service: u32,
        run: u32,
    },
    Hang {
        service: u32,
        run: u32,
    },
    Exit {
        service: u32,
        run: u32,
        signal: Option<u8>,
    },
    Sample,
    EngineCrash,
}

/// A scheduled event, ordered by time, then by scheduling order (so runs are deterministic).
#[derive(Debug)]
struct Item {
    at: Timestamp,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Item {}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Agent {
    behaviour: Behaviour,
    alive: bool,
    run: u32,
    started_at: Timestamp,
    hung_since: Option<Timestamp>,
    terminated: bool,
    wallet: Address,
    auto_spawns: Vec<Timestamp>,
    operator_start_pending: bool,
}

/// Addresses of the world.
fn funder() -> Address {
    Address::repeat_byte(0xF0)
}

fn wallet(i: usize) -> Address {
    let mut b = [0u8; 20];
    b[0] = 0xA0;
    b[12..20].copy_from_slice(&(i as u64).to_be_bytes());
    Address::from(b)
}

/// The engine configuration the simulation runs.
pub fn engine_config(cfg: &SimConfig) -> EngineConfig {
    let services = (0..cfg.services as usize)
        .map(|i| ServiceConfig {
            name: format!("agent-{i}"),
            autostart: true,
            health: cfg.health,
            wallets: vec![WalletConfig {
                chain: SIM_CHAIN,
                address: wallet(i),
                asset: Asset::NATIVE,
                low: cfg.low,
                target: cfg.target,
                max_transfer: None,
                spend_per_day: Some(cfg.spend_per_day),
                priority: 0,
            }],
        })
        .collect();
    EngineConfig {
        seed: cfg.seed,
        chains: vec![ChainConfig {
            chain: SIM_CHAIN,
            endpoints: cfg.endpoints.len(),
            funder: funder(),
            poll_ms: cfg.poll_ms,
            native_transfer_gas: 21_000,
            erc20_transfer_gas: 65_000,
            rpc: cfg.rpc,
            nonce: cfg.nonce,
            fees: cfg.fees,
        }],
        services,
    }
}

struct World {
    cfg: SimConfig,
    rng: Rng,
    engine: Engine,
    chain: SimChain,
    agents: Vec<Agent>,
    names: Map<ServiceName, usize>,
    /// Address of a name the engine sent → service index (the engine's names live as long as it).
    /// Sorted by address (a handful of names: a binary search over a vector beats a B-tree).
    names_by_addr: Vec<(usize, usize)>,
    service_names: Vec<ServiceName>,
    queue: BinaryHeap<Reverse<Item>>,
    seq: u64,
    now: Timestamp,
    sign_serial: u64,
    report: SimReport,
    // Invariant bookkeeping.
    nonce_owner: Map<u64, TxId>,
    broadcast_records: Set<TxId>,
    hash_record: Map<B256, TxId>,
    funded: Vec<(u64, U256)>,
    last_status: Vec<Status>,
    initial_funder: U256,
    journal: Map<(ChainId, TxId), JournalEntry>,
    crash_in: Option<u64>,
    recording: Option<Vec<Input>>,
    digest: OutputDigest,
    in_transit: Vec<Option<Input>>,
    free_slots: Vec<usize>,
}

/// Runs a simulation.
pub fn run(cfg: &SimConfig) -> Result<SimReport, SimError> {
    if cfg.endpoints.is_empty() {
        return Err(SimConfigError::NoEndpoint.into());
    }
    if cfg.chain.block_time_ms == 0 {
        return Err(SimConfigError::ZeroBlockTime.into());
    }
    if cfg.services > 10_000 {
        return Err(SimConfigError::TooManyServices.into());
    }
    let mut w = World::new(cfg)?;
    w.drain_outputs();
    w.run_loop()?;
    Ok(w.finish())
}

/// Runs a simulation and returns, with its report, every input the engine received, in order,
/// and the [`OutputDigest`] of every output it gave.
/// A fresh `Engine::new(engine_config(cfg), start)` fed the same inputs makes the same decisions
/// (the engine is deterministic), so the recording can be replayed without the world. Refused
/// for runs with engine crashes (a recording holds one engine's life).
pub fn run_recorded(cfg: &SimConfig) -> Result<(SimReport, Vec<Input>, u64), SimError> {
    if cfg.engine_crashes > 0 {
        return Err(SimConfigError::CrashesInRecording.into());
    }
    if cfg.endpoints.is_empty() {
        return Err(SimConfigError::NoEndpoint.into());
    }
    if cfg.chain.block_time_ms == 0 {
        return Err(SimConfigError::ZeroBlockTime.into());
    }
    let mut w = World::new(cfg)?;
    w.recording = Some(Vec::new());
    w.drain_outputs();
    w.run_loop()?;
    let inputs = w.recording.take().unwrap_or_default();
    let digest = w.digest.value();
    Ok((w.finish(), inputs, digest))
}

/// An FNV-1a hash of outputs in their JSON form: equal digests, equal decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputDigest(u64);

impl Default for OutputDigest {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl OutputDigest {
    /// Adds one output.
    pub fn write(&mut self, o: &Output) {
        let text = crate::to_json::to_string(o);
        for b in text.bytes().chain(std::iter::once(b'\n')) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

impl World {
    fn new(cfg: &SimConfig) -> Result<Self, SimError> {
        let start = Timestamp(cfg.start_ms);
        let ecfg = engine_config(cfg);
        let engine = Engine::new(ecfg, start).map_err(SimConfigError::from)?;
        let root = Rng::new(cfg.seed);
        let mut balances = Map::new();
        balances.insert(funder(), cfg.funder_balance);
        // Staggered start balances, so the wallets run low at different times.
        let n = U256::from(cfg.services.max(1));
        for i in 0..cfg.services as usize {
            let share = cfg.wallet_balance.saturating_mul(U256::from(i + 1)) / n;
            balances.insert(wallet(i), share);
        }
        let chain = SimChain::new(
            cfg.chain,
            root.fork(1).next_u64(),
            start.as_secs(),
            balances,
        );
        let agents = (0..cfg.services as usize)
            .map(|i| Agent {
                behaviour: if cfg.behaviours.is_empty() {
                    Behaviour::Healthy
                } else {
                    cfg.behaviours[i % cfg.behaviours.len()]
                },
                alive: false,
                run: 0,
                started_at: start,
                hung_since: None,
                terminated: false,
                wallet: wallet(i),
                auto_spawns: Vec::new(),
                operator_start_pending: true,
            })
            .collect();
        let service_names: Vec<ServiceName> = (0..cfg.services as usize)
            .map(|i| ServiceName::from(format!("agent-{i}").as_str()))
            .collect();
        let names = service_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let mut w = World {
            cfg: cfg.clone(),
            rng: root.fork(2),
            engine,
            chain,
            agents,
            names,
            names_by_addr: Vec::new(),
            service_names,
            queue: BinaryHeap::new(),
            seq: 0,
            now: start,
            sign_serial: 0,
            report: SimReport {
                seed: cfg.seed,
                summary: Summary {
                    steps: 0,
                    inputs: 0,
                    blocks: 0,
                    reorgs: 0,
                    dropped: 0,
                    waits: 0,
                    replacements: 0,
                    gap_fills: 0,
                    crashes: 0,
                    deep_reorgs: 0,
                    funds_spent: U256::ZERO,
                    services: Vec::new(),
                },
                timeline: Vec::new(),
                events: Vec::new(),
                violations: Vec::new(),
            },
            nonce_owner: Map::new(),
            broadcast_records: Set::new(),
            hash_record: Map::new(),
            funded: vec![(0, U256::ZERO); cfg.services as usize],
            last_status: vec![Status::Stopped; cfg.services as usize],
            initial_funder: cfg.funder_balance,
            journal: Map::new(),
            crash_in: None,
            recording: None,
            digest: OutputDigest::default(),
            in_transit: Vec::new(),
            free_slots: Vec::new(),
        };
        for _ in 0..cfg.engine_crashes {
            let at = start.plus_ms(w.rng.below(cfg.duration_ms.max(1)));
            w.schedule(at, Ev::EngineCrash);
        }
        w.schedule(start.plus_ms(cfg.chain.block_time_ms), Ev::Block);
        w.schedule(start.plus_ms(SPEND_EVERY_MS), Ev::Spend);
        if cfg.sample_every_ms > 0 {
            w.schedule(start, Ev::Sample);
        }
        Ok(w)
    }
}

impl World {
    fn schedule(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Item {
            at,
            seq: self.seq,
            ev,
        }));
    }

    fn violation(&mut self, v: &str) {
        if self.report.violations.len() < 100 {
            self.report
                .violations
                .push(format!("t = {}: {v}", self.now));
        }
    }

    fn run_loop(&mut self) -> Result<(), SimError> {
        let end = Timestamp(self.cfg.start_ms).plus_ms(self.cfg.duration_ms);
        let mut steps: u64 = 0;
        let mut same_time = 0u64;
        loop {
            let next_ev = self.queue.peek().map(|Reverse(item)| item.at);
            let next_engine = self.engine.poll_deadline();
            if next_engine.is_none() {
                // Every chain always has a next poll: no deadline means the engine lost track.
                self.violation("the engine reports no deadline at all");
            }
            let next = match (next_ev, next_engine) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(end),
            };
            if next > end {
                break;
            }
            steps += 1;
            if next <= self.now {
                same_time += 1;
            } else {
                same_time = 0;
            }
            if steps > self.cfg.max_steps || same_time > 100_000 {
                return Err(SimError::BusyLoop {
                    seed: self.cfg.seed,
                    steps,
                    at: self.now,
                });
            }
            self.now = self.now.max(next);
            if next_ev == Some(next) {
                let Some(Reverse(item)) = self.queue.pop() else {
                    continue;
                };
                self.event(item.ev);
            } else {
                self.feed(Input::Tick { now: self.now });
            }
            self.drain_outputs();
        }
        self.report.summary.steps = steps;
        self.now = end;
        Ok(())
    }

    /// Hands an input to the engine (and to the recording, if one is kept).
    fn feed(&mut self, input: Input) {
        if let Some(r) = &mut self.recording {
            r.push(input.clone());
        }
        self.engine.handle_input(input);
    }

    fn deliver(&mut self, at: Timestamp, input: Input) {
        // A slab of inputs on their way: no allocation per delivery.
        let slot = if let Some(slot) = self.free_slots.pop() {
            self.in_transit[slot] = Some(input);
            slot
        } else {
            self.in_transit.push(Some(input));
            self.in_transit.len() - 1
        };
        self.schedule(at, Ev::Deliver(index32(slot)));
    }

    fn event(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Deliver(slot) => {
                let slot = slot as usize;
                let Some(mut input) = self.in_transit.get_mut(slot).and_then(Option::take) else {
                    return;
                };
                self.free_slots.push(slot);
                retime(&mut input, now);
                self.feed(input);
            }
            Ev::Spend => {
                self.spend();
                self.schedule(now.plus_ms(SPEND_EVERY_MS), Ev::Spend);
            }
            Ev::Block => {
                self.chain.mine(now.as_secs());
                self.schedule(now.plus_ms(self.cfg.chain.block_time_ms), Ev::Block);
            }
            Ev::Crash { service, run } => {
                let service = service as usize;
                if self.exit(service, run, None) {
                    // Every crash is detected at once: the verdict no longer says it runs.
                    let name = self.service_names[service].clone();
                    let status = self.engine.service(&name).map(|m| m.verdict().status);
                    if matches!(
                        status,
                        Some(Status::Healthy | Status::Degraded | Status::Starting)
                    ) {
                        self.violation(&format!(
                            "{name} crashed and the verdict is still {status:?}"
                        ));
                    }
                }
            }
            Ev::Exit {
                service,
                run,
                signal,
            } => {
                self.exit(service as usize, run, signal);
            }
            Ev::Hang { service, run } => {
                let a = &mut self.agents[service as usize];
                if a.alive && a.run == run {
                    a.hung_since = Some(now);
                }
            }
            Ev::EngineCrash => {
                self.crash_in = Some(self.rng.below(4));
            }
            Ev::Sample => {
                self.sample();
                self.schedule(now.plus_ms(self.cfg.sample_every_ms), Ev::Sample);
            }
        }
    }

    /// The agent's process `run` ends (exit code 1 without a signal). False when that process
    /// is already gone.
    fn exit(&mut self, service: usize, run: u32, signal: Option<u8>) -> bool {
        let a = &mut self.agents[service];
        if !(a.alive && a.run == run) {
            return false;
        }
        a.alive = false;
        a.hung_since = None;
        let name = self.service_names[service].clone();
        self.feed(Input::Exited {
            now: self.now,
            service: name,
            status: ExitStatus {
                code: signal.is_none().then_some(1),
                signal: signal.map(i32::from),
            },
        });
        true
    }

    fn spend(&mut self) {
        let per_step = self
            .cfg
            .spend_per_day
            .saturating_mul(U256::from(SPEND_EVERY_MS))
            / U256::from(86_400_000u64);
        for i in 0..self.agents.len() {
            if self.agents[i].alive {
                let w = self.agents[i].wallet;
                self.chain.burn(w, per_step);
            }
        }
        self.check_hangs();
    }

    fn check_hangs(&mut self) {
        let p = self.cfg.health;
        let bound = u64::from(p.failure_threshold)
            .saturating_mul(p.period_ms.saturating_add(p.probe_timeout_ms))
            .saturating_add(p.probe_timeout_ms)
            .saturating_add(2 * p.period_ms)
            .saturating_add(crate::health::PROBE_SLACK_MS)
            .max(
                p.startup_budget_ms
                    .saturating_add(p.period_ms + p.probe_timeout_ms),
            );
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            if let Some(since) = a.hung_since
                && a.alive
                && !a.terminated
                && self.now.since(since) > bound
            {
                let status = self
                    .engine
                    .service(&self.service_names[i])
                    .map(|m| m.verdict().status);
                if !matches!(
                    status,
                    Some(Status::Stopping | Status::Failed | Status::Stopped)
                ) {
                    self.violation(&format!(
                        "agent-{i} hung at {since} and is not detected after {} ms",
                        self.now.since(since)
                    ));
                    self.agents[i].hung_since = None;
                }
            }
        }
    }

    fn sample(&mut self) {
        let wallets = self
            .agents
            .iter()
            .map(|a| self.chain.balance(a.wallet))
            .collect();
        let status = (0..self.agents.len())
            .map(|i| {
                self.engine
                    .service(&self.service_names[i])
                    .map_or(Status::Stopped, |m| m.verdict().status)
            })
            .collect();
        self.report.timeline.push(Sample {
            t: self.now,
            wallets,
            funder: self.chain.balance(funder()),
            status,
        });
    }

    fn endpoint_fault(&mut self, endpoint: usize) -> (u64, Option<RpcFailure>) {
        let f = self
            .cfg
            .endpoints
            .get(endpoint)
            .copied()
            .unwrap_or_default();
        let latency = f.latency_ms + self.rng.below(f.latency_ms / 2 + 1);
        if self.rng.chance_ppm(f.timeout_ppm) {
            return (
                self.cfg.rpc.request_timeout_ms,
                Some(RpcFailure::Transport {
                    message: "operation timed out".into(),
                }),
            );
        }
        if self.rng.chance_ppm(f.rate_limit_ppm) {
            return (
                latency,
                Some(RpcFailure::Http {
                    status: 429,
                    retry_after_ms: Some(f.retry_after_ms),
                }),
            );
        }
        if self.rng.chance_ppm(f.error_ppm) {
            return (
                latency,
                Some(RpcFailure::JsonRpc {
                    code: -32603,
                    message: "internal error".into(),
                    retry_after_ms: None,
                }),
            );
        }
        (latency, None)
    }

    fn rpc(&mut self, id: u64, endpoint: usize, call: RpcCall) {
        let (latency, fault) = self.endpoint_fault(endpoint);
        let lag = self.cfg.endpoints.get(endpoint).map_or(0, |f| f.lag_blocks);
        let result = if let Some(f) = fault {
            Err(f)
        } else {
            let wrong_ppm = self.cfg.endpoints.get(endpoint).map_or(0, |f| f.wrong_ppm);
            let wrong = wrong_ppm > 0 && self.rng.chance_ppm(wrong_ppm);
            self.answer(lag, call)
                .map(|a| if wrong { lie(a) } else { a })
        };
        let at = self.now.plus_ms(latency);
        self.deliver(
            at,
            Input::RpcResponse {
                now: at,
                id,
                latency_ms: latency,
                result,
            },
        );
    }

    fn answer(&mut self, lag: u64, call: RpcCall) -> Result<RpcAnswer, RpcFailure> {
        let head = self.chain.head().saturating_sub(lag);
        let lagging = || RpcFailure::JsonRpc {
            code: -32000,
            message: "header not found".into(),
            retry_after_ms: None,
        };
        Ok(match call {
            RpcCall::Head => {
                let (hash, timestamp) = self.chain.block(head).ok_or_else(lagging)?;
                RpcAnswer::Head {
                    number: head,
                    hash,
                    timestamp,
                }
            }
            RpcCall::BlockHash { number } => RpcAnswer::BlockHash {
                number,
                hash: if number <= head {
                    self.chain.block(number).map(|b| b.0)
                } else {
                    None
                },
            },
            RpcCall::TransactionCounts { address } => {
                let (latest, pending) = self.chain.counts(address);
                RpcAnswer::TransactionCounts { latest, pending }
            }
            RpcCall::Balances { block, entries } => {
                if block > head {
                    return Err(lagging());
                }
                RpcAnswer::Balances {
                    block: self.chain.head(),
                    values: entries
                        .iter()
                        .map(|(h, a)| {
                            if a.is_native() {
                                self.chain.balance(*h)
                            } else {
                                U256::ZERO
                            }
                        })
                        .collect(),
                }
            }
            RpcCall::FeeHistory { blocks, .. } => {
                let (base_fee_per_gas, reward) = self.chain.fee_history(blocks);
                RpcAnswer::FeeHistory(FeeHistory {
                    base_fee_per_gas,
                    reward,
                })
            }
            RpcCall::SendRaw { hash } => match self.chain.send(hash) {
                Ok(()) => RpcAnswer::Sent { hash },
                Err((code, message)) => {
                    return Err(RpcFailure::JsonRpc {
                        code,
                        message: message.into(),
                        retry_after_ms: None,
                    });
                }
            },
            RpcCall::Receipt { hash } => RpcAnswer::Receipt {
                hash,
                receipt: self.chain.receipt(hash).filter(|r| r.block_number <= head),
            },
        })
    }

    fn drain_outputs(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            if self.recording.is_some() {
                self.digest.write(&o);
            }
            if let Some(k) = self.crash_in {
                if k == 0 {
                    self.crash_in = None;
                    self.restart_engine();
                    continue;
                }
                self.crash_in = Some(k - 1);
            }
            self.output(o);
        }
    }

    /// `kill -9` of the engine: the outputs it had not executed, and the answers on their way to
    /// it, are lost; its agents live on (their own process groups) and are adopted by the new
    /// engine, which comes back from its journal.
    fn restart_engine(&mut self) {
        self.report.summary.crashes += 1;
        let items: Vec<Item> = std::mem::take(&mut self.queue)
            .into_iter()
            .map(|Reverse(i)| i)
            .filter(|i| !matches!(i.ev, Ev::Deliver(_)))
            .collect();
        self.queue = items.into_iter().map(Reverse).collect();
        self.in_transit.clear();
        self.free_slots.clear();
        let mut running = Vec::new();
        let now = self.now;
        for (i, a) in self.agents.iter_mut().enumerate() {
            // The new engine starts what does not run (an operator start) and adopts the rest.
            a.operator_start_pending = !a.alive;
            // The engine's flap window lives in memory: it starts over after a crash.
            a.auto_spawns.clear();
            // A stop in progress is lost with the engine; the adopter decides anew.
            a.terminated = false;
            if a.alive {
                running.push(self.service_names[i].to_string());
                // The new engine cannot know how long it has hung: the clock restarts.
                if a.hung_since.is_some() {
                    a.hung_since = Some(now);
                }
            }
        }
        // The old engine's names are freed: their addresses may come back for other names.
        self.names_by_addr.clear();
        let journal: Vec<JournalEntry> = self.journal.values().cloned().collect();
        let running: Vec<&str> = running.iter().map(String::as_str).collect();
        match Engine::restore(engine_config(&self.cfg), self.now, journal, &running) {
            Ok(engine) => self.engine = engine,
            Err(e) => self.violation(&format!("the engine cannot restart from its journal: {e}")),
        }
    }

    fn output(&mut self, o: Output) {
        let now = self.now;
        match o {
            Output::Rpc {
                id, endpoint, call, ..
            } => {
                if let RpcCall::SendRaw { hash } = call
                    && let Some(id) = self.hash_record.get(&hash).copied()
                {
                    self.broadcast_records.insert(id);
                }
                self.rpc(id, endpoint, call);
            }
            Output::Sign { chain, tx, request } => {
                // Invariant: a nonce is never signed by two records once one was broadcast.
                if let Some(prev) = self.nonce_owner.get(&request.nonce).copied()
                    && prev != tx
                    && self.broadcast_records.contains(&prev)
                    && self
                        .chain
                        .included
                        .get(&(request.from, request.nonce))
                        .is_none_or(|h| self.hash_record.get(h) == Some(&prev))
                {
                    self.violation(&format!(
                        "nonce {} signed by record {tx} after record {prev} was broadcast at it",
                        request.nonce
                    ));
                }
                self.nonce_owner.insert(request.nonce, tx);
                if request.body == TxBody::Noop
                    && self
                        .engine
                        .nonce_book(chain)
                        .and_then(|b| b.record(tx))
                        .is_some_and(|r| r.attempts.is_empty())
                {
                    self.report.summary.gap_fills += 1;
                }
                self.sign_serial += 1;
                let hash = self.chain.sign(*request, self.sign_serial);
                self.hash_record.insert(hash, tx);
                self.feed(Input::Signed {
                    now,
                    chain,
                    tx,
                    hash,
                });
            }
            Output::Journal(entry) => {
                self.journal.insert((entry.chain, entry.record.id), *entry);
            }
            Output::Spawn { service } => self.spawn(service),
            Output::Terminate { service } => {
                if let Some(&i) = self.lookup(&service) {
                    let a = &mut self.agents[i];
                    if a.alive && a.behaviour != Behaviour::Stubborn {
                        a.terminated = true;
                        let run = a.run;
                        self.schedule(
                            now.plus_ms(300),
                            Ev::Exit {
                                service: index32(i),
                                run,
                                signal: Some(15),
                            },
                        );
                    }
                }
            }
            Output::Kill { service } => {
                if let Some(&i) = self.lookup(&service) {
                    let a = &mut self.agents[i];
                    if a.alive {
                        a.terminated = true;
                        let run = a.run;
                        self.schedule(
                            now.plus_ms(10),
                            Ev::Exit {
                                service: index32(i),
                                run,
                                signal: Some(9),
                            },
                        );
                    }
                }
            }
            Output::Probe {
                service,
                timeout_ms,
            } => self.probe(service, timeout_ms),
            Output::Event(e) => self.observe(e),
        }
    }

    fn lookup(&mut self, service: &ServiceName) -> Option<&usize> {
        let addr = service.as_ptr() as usize;
        match self.names_by_addr.binary_search_by_key(&addr, |e| e.0) {
            Ok(at) => Some(&self.names_by_addr[at].1),
            Err(at) => {
                let i = *self.names.get(service)?;
                // Remember only names that stay alive: the engine's own (shared with its outputs).
                if self.engine.service(service).is_some() {
                    self.names_by_addr.insert(at, (addr, i));
                }
                self.names.get(service)
            }
        }
    }

    fn spawn(&mut self, service: ServiceName) {
        let now = self.now;
        let Some(&i) = self.lookup(&service) else {
            return;
        };
        if self.agents[i].alive {
            self.violation(&format!("{service} spawned while its process is alive"));
        }
        let operator = std::mem::take(&mut self.agents[i].operator_start_pending);
        if !operator {
            // An automatic restart: check the flap limit. The engine counts the failures, each
            // at most one backoff before its restart, so restarts closer together than the
            // window minus the longest backoff prove the failures were within the window.
            let p = self.cfg.health;
            let window = p.flap_window_ms.saturating_sub(p.backoff_max_ms);
            let a = &mut self.agents[i];
            a.auto_spawns.push(now);
            let in_window = a
                .auto_spawns
                .iter()
                .filter(|t| now.since(**t) < window)
                .count();
            if in_window >= p.flap_max_restarts as usize {
                self.violation(&format!(
                    "{service}: {in_window} restarts within {window} ms (flap window {} ms less the longest backoff)",
                    p.flap_window_ms
                ));
            }
            self.report.events.push(TimelineEvent::Restart {
                t: now,
                service: index(i),
            });
        }
        if self.rng.chance_ppm(self.cfg.spawn_fail_ppm) {
            self.feed(Input::SpawnFailed {
                now,
                service: service.clone(),
                error: "simulated spawn failure".into(),
            });
            return;
        }
        let a = &mut self.agents[i];
        a.alive = true;
        a.terminated = false;
        a.run = a.run.wrapping_add(1);
        a.started_at = now;
        a.hung_since = None;
        let run = a.run;
        match a.behaviour {
            Behaviour::Hung { after_ms } => {
                self.schedule(
                    now.plus_ms(after_ms),
                    Ev::Hang {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::CrashLoop { after_ms } => {
                self.schedule(
                    now.plus_ms(after_ms),
                    Ev::Crash {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::Crashy { mean_ms } => {
                let after = self.rng.between(mean_ms / 10, mean_ms.saturating_mul(2));
                self.schedule(
                    now.plus_ms(after),
                    Ev::Crash {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::Healthy
            | Behaviour::Slow { .. }
            | Behaviour::Flaky { .. }
            | Behaviour::Stubborn => {}
        }
        self.feed(Input::Spawned { now, service });
    }

    fn probe(&mut self, service: ServiceName, timeout_ms: u64) {
        let now = self.now;
        let Some(&i) = self.lookup(&service) else {
            return;
        };
        let a = &self.agents[i];
        let warm = now.since(a.started_at) >= self.cfg.warmup_ms;
        let (delay, result) = if !a.alive {
            (1, ProbeResult::Refused)
        } else if a.hung_since.is_some() {
            (timeout_ms, ProbeResult::Timeout)
        } else if !warm {
            (1, ProbeResult::Refused)
        } else {
            match a.behaviour {
                Behaviour::Slow { latency_ms } if latency_ms >= timeout_ms => {
                    (timeout_ms, ProbeResult::Timeout)
                }
                Behaviour::Slow { latency_ms } => (latency_ms, ok(latency_ms)),
                Behaviour::Flaky { fail_ppm } => {
                    if self.rng.chance_ppm(fail_ppm) {
                        (
                            5,
                            ProbeResult::Http {
                                status: 503,
                                latency_ms: 5,
                                body: None,
                            },
                        )
                    } else {
                        (5, ok(5))
                    }
                }
                Behaviour::Healthy
                | Behaviour::Hung { .. }
                | Behaviour::CrashLoop { .. }
                | Behaviour::Crashy { .. }
                | Behaviour::Stubborn => (5, ok(5)),
            }
        };
        let at = now.plus_ms(delay);
        self.deliver(
            at,
            Input::Probed {
                now: at,
                service,
                result,
            },
        );
    }

    fn observe(&mut self, e: Event) {
        let now = self.now;
        match e {
            Event::TransferPlanned { to, amount, .. } => {
                let Some(i) = self.agents.iter().position(|a| a.wallet == to) else {
                    self.violation(&format!("transfer to unknown wallet {to}"));
                    return;
                };
                // No shortfall funded twice: what the wallet holds, plus what of ours is on its
                // way, plus this transfer, stays within the target.
                let on_way = self.pending_to(to);
                let total = self
                    .chain
                    .balance(to)
                    .saturating_add(on_way)
                    .saturating_add(amount);
                if total > self.cfg.target {
                    self.violation(&format!(
                        "transfer of {amount} to agent-{i} would bring it to {total}, above the target {} (balance {}, on its way {on_way})",
                        self.cfg.target,
                        self.chain.balance(to)
                    ));
                }
                self.funded[i].0 += 1;
                self.funded[i].1 = self.funded[i].1.saturating_add(amount);
                self.report.events.push(TimelineEvent::Transfer {
                    t: now,
                    service: index(i),
                    amount,
                });
            }
            Event::Health {
                service, status, ..
            } => {
                if let Some(&i) = self.lookup(&service) {
                    self.last_status[i] = status;
                    self.report.events.push(TimelineEvent::Health {
                        t: now,
                        service: index(i),
                        status,
                    });
                }
            }
            Event::TxReplaced { .. } => self.report.summary.replacements += 1,
            Event::DeepReorg {
                confirmed,
                now_count,
                ..
            } => {
                // The engine gave these nonces up on purpose: a new transaction may take them.
                for n in now_count..confirmed {
                    self.nonce_owner.remove(&n);
                }
                self.report.summary.deep_reorgs += 1;
            }
            Event::Alert { .. }
            | Event::TxConfirmed { .. }
            | Event::SendRejected { .. }
            | Event::FundingHeld { .. }
            | Event::Shortfall { .. }
            | Event::NonceLost { .. }
            | Event::Chain { .. }
            | Event::RpcFailed { .. }
            | Event::Ignored { .. } => {}
        }
    }

    /// Amounts of our signed native transfers to `to` whose nonce the chain has not used yet.
    fn pending_to(&self, to: Address) -> U256 {
        let Some(book) = self.engine.nonce_book(SIM_CHAIN) else {
            return U256::ZERO;
        };
        let (latest, _) = self.chain.counts(funder());
        book.records()
            .filter(|r| r.nonce >= latest)
            .filter_map(|r| {
                r.attempts
                    .iter()
                    .rev()
                    .find(|a| !a.cancel)
                    .and_then(|a| self.chain.known(a.hash))
                    .and_then(|t| match t.req.body {
                        TxBody::Native { to: dest, value } if dest == to => Some(value),
                        TxBody::Native { .. } | TxBody::Erc20 { .. } | TxBody::Noop => None,
                    })
            })
            .fold(U256::ZERO, U256::saturating_add)
    }

    fn finish(mut self) -> SimReport {
        let end = self.now;
        // Every reservation ends: nothing older than two hours may still be open.
        if let Some(book) = self.engine.nonce_book(SIM_CHAIN) {
            let stale: Vec<(TxId, u64, &'static str)> = book
                .records()
                .filter(|r| end.since(r.reserved_at) > 7_200_000)
                .map(|r| (r.id, r.nonce, r.state.name()))
                .collect();
            for (id, nonce, state) in stale {
                self.violation(&format!(
                    "record {id} (nonce {nonce}) still {state} two hours after its reservation"
                ));
            }
        }
        if self
            .chain
            .insufficient_funds
            .get(&funder())
            .copied()
            .unwrap_or(0)
            > 0
        {
            self.violation("the funder sent a transaction it could not pay for");
        }
        let per_day = self.cfg.spend_per_day;
        let services = (0..self.agents.len())
            .map(|i| {
                let name = self.service_names[i].to_string();
                let m = self.engine.service(&name);
                let final_balance = self.chain.balance(self.agents[i].wallet);
                let runway_secs = (!per_day.is_zero()).then(|| {
                    let secs = final_balance.saturating_mul(U256::from(86_400u64)) / per_day;
                    u64::try_from(secs).unwrap_or(u64::MAX)
                });
                ServiceSummary {
                    name,
                    restarts: m.map_or(0, crate::health::AgentMonitor::restarts),
                    transfers: self.funded[i].0,
                    funded: self.funded[i].1,
                    final_balance,
                    runway_secs,
                    status: m.map_or(Status::Stopped, |m| m.verdict().status),
                }
            })
            .collect();
        self.report.summary.services = services;
        self.report.summary.inputs = self.engine.inputs_handled();
        self.report.summary.blocks = self.chain.head();
        self.report.summary.reorgs = self.chain.reorgs;
        self.report.summary.dropped = self.chain.dropped;
        self.report.summary.waits = self.chain.waits;
        self.report.summary.funds_spent = self
            .initial_funder
            .saturating_sub(self.chain.balance(funder()));
        self.report
    }
}

/// A wrong answer of the kinds [`EndpointFaults::wrong_ppm`] covers; others stay right.
fn lie(answer: RpcAnswer) -> RpcAnswer {
    match answer {
        RpcAnswer::Receipt { hash, .. } => RpcAnswer::Receipt {
            hash,
            receipt: None,
        },
        RpcAnswer::BlockHash { number, hash } => RpcAnswer::BlockHash {
            number,
            hash: hash.map(|h| B256::from(h.0.map(|b| b ^ 0x5A))),
        },
        RpcAnswer::TransactionCounts { latest, pending } => RpcAnswer::TransactionCounts {
            latest: latest.saturating_sub(1),
            pending: pending.saturating_sub(1),
        },
        a @ (RpcAnswer::Head { .. }
        | RpcAnswer::Balances { .. }
        | RpcAnswer::FeeHistory(_)
        | RpcAnswer::Sent { .. }) => a,
    }
}

fn ok(latency_ms: u64) -> ProbeResult {
    ProbeResult::Http {
        status: 200,
        latency_ms,
        body: None,
    }
}

/// An index as the event queue holds it (services are at most 10,000; slots as many as inputs
/// in flight).
fn index32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Inputs carry the time they are delivered at (set in place: an input is large).
fn retime(input: &mut Input, at: Timestamp) {
    match input {
        Input::RpcResponse { now, .. } | Input::Probed { now, .. } => *now = at,
        Input::Tick { .. }
        | Input::Command { .. }
        | Input::Signed { .. }
        | Input::SignFailed { .. }
        | Input::Spawned { .. }
        | Input::Adopted { .. }
        | Input::SpawnFailed { .. }
        | Input::Exited { .. } => {}
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
