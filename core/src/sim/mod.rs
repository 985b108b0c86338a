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
//!
//! Where each part lives: [`config`](SimConfig) what a run is given; `world` the event queue, the
//! driver and the engine's crashes; [`chain`] the simulated chain (blocks, pool, fees, reorgs);
//! `endpoints` the RPC endpoints and their faults; `agents` the agent processes and their
//! behaviours; `invariants` the checks; [`report`](SimReport) what a run returns.

mod agents;
pub mod chain;
mod config;
mod endpoints;
mod invariants;
mod report;
mod world;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::map::Map;

use alloy_primitives::{Address, B256, U256};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::engine::{
    ChainConfig, Engine, EngineConfig, Input, JournalEntry, ServiceConfig, ServiceName,
    WalletConfig,
};
use crate::health::Status;
use crate::nonce::TxId;
use crate::rng::Rng;
use crate::time::Timestamp;

pub use chain::{ChainParams, SimChain};
pub use config::{Behaviour, EndpointFaults, SimConfig, SimConfigError};
pub use report::{
    OutputDigest, Sample, ServiceSummary, SimError, SimReport, Summary, TimelineEvent,
};

/// Running agents spend gas in steps this far apart, ms.
pub const SPEND_EVERY_MS: u64 = 60_000;

/// The chain id of the simulated chain.
pub const SIM_CHAIN: ChainId = ChainId(31_337);

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
    /// The crashed engine's successor starts (after [`SimConfig::engine_down_ms`]).
    EngineRestart,
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

/// The funding Safe (when [`SimConfig::safe`]).
fn safe() -> Address {
    Address::repeat_byte(0x5A)
}

/// The simulated MultiSend (the sim moves a batch's native top-ups itself).
fn multisend() -> Address {
    Address::repeat_byte(0x3D)
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
            safe: cfg
                .safe
                .then(|| crate::engine::SafeSource::new(safe(), multisend())),
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
    /// Each Safe nonce signed: the record, the top-ups and the sender nonce it was signed for.
    safe_signed: Map<u64, (TxId, Vec<crate::engine::TopUp>, u64)>,
    hash_record: Map<B256, TxId>,
    funded: Vec<(u64, U256)>,
    last_status: Vec<Status>,
    initial_funder: U256,
    journal: Map<(ChainId, TxId), JournalEntry>,
    crash_in: Option<u64>,
    /// The engine is down (killed, its successor not started yet): inputs are lost.
    down: bool,
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

/// An index as the event queue holds it (services are at most 10,000; slots as many as inputs
/// in flight).
fn index32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
