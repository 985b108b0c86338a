//! The engine: one facade that runs every service and chain (str0m / quinn-proto style).
//!
//! ```text
//! let mut engine = Engine::new(config, now)?;
//! loop {
//!     while let Some(output) = engine.poll_output() { execute(output) }   // drain first
//!     let (deadline, _why) = engine.poll_timeout().unwrap_or((far_future, ..));
//!     let input = wait_for_input_or(deadline);                           // Tick on timeout
//!     engine.handle_input(input);
//! }
//! ```
//!
//! Run-loop invariant: after every [`Engine::handle_input`] the driver drains
//! [`Engine::poll_output`] until `None`, then sleeps until [`Engine::poll_timeout`]. Inputs carry
//! the time; time that goes backwards is ignored. Anything due at the input's time is done before
//! `handle_input` returns, so a driver may also feed `Tick`s early or late without harm.
//!
//! Per chain, every `poll_ms`: read the head; then the funding key's transaction counts, the fee
//! history and every balance pinned to that head. With counts, the nonce planner runs (receipts,
//! confirmations, replacements, gap fills, rebroadcasts). With all three, the funding planner runs
//! and each planned transfer gets a nonce, is signed, journaled and broadcast. A transfer counts
//! as in flight until a balance snapshot taken at or after its block shows it, so no shortfall is
//! funded twice. Per service, an [`AgentMonitor`] judges health and asks for spawns, signals and
//! probes.
//!
//! Where each concern lives: this file holds the facade, the state and the timers; [`config`]
//! and [`io`] the configuration and the `Input`/`Output` data; `rounds` the chain rounds (head,
//! counts, fees, balances; receipts and block hashes); `requests` RPC requests (endpoint
//! selection, deadlines, retries); `funding` the funding planner's runs and the transfers they
//! send; `sending` signing, journaling, broadcasting and the nonce book's plan; `services` the
//! agent monitors.

pub mod config;
mod funding;
pub mod io;
mod requests;
mod rounds;
mod sending;
mod services;
mod steps;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::map::{Map, Set};

use alloy_primitives::{Address, B256, U256};

pub use config::{
    ChainConfig, ConfigError, EngineConfig, MULTISEND_1_3_0, SafeSource, ServiceConfig,
    WalletConfig,
};
pub use io::{
    Call, CallIntent, Command, Event, HoldReason, Input, JournalEntry, Output, Receipt, RequestId,
    RpcAnswer, RpcCall, SafeStep, ServiceName, TopUp, TransferIntent, TxBody, TxRequest,
    WakeReason,
};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::fees::{FeeError, FeeEstimate, Fees};
use crate::health::{AgentMonitor, Status};
use crate::nonce::{NonceBook, RecordState, TxId};
use crate::rng::Rng;
use crate::rpc::{ChainVerdict, EndpointSet, RpcFailure};
use crate::time::{Clock, Timestamp};

/// Slack after an RPC timeout before the engine gives up on an answer itself, ms.
pub const RPC_SLACK_MS: u64 = 1_000;

/// The round number of head cross-checks (rounds count from 1): their answers only update the
/// endpoint's head, and they are never retried.
const HEAD_CHECK: u64 = 0;

/// A funding transfer and the record that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Payload {
    intent: TransferIntent,
    /// Mined (or confirmed) at this block; in flight for the planner until a balance snapshot
    /// at or after it.
    mined_block: Option<u64>,
    /// Confirmed: the record is gone from the book, only the snapshot rule keeps it.
    confirmed: bool,
    /// Its mined attempt reverted (receipt status 0).
    reverted: bool,
}

/// A life-cycle step's transaction and the record that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StepPayload {
    intent: CallIntent,
    /// Its mined attempt reverted (receipt status 0).
    reverted: bool,
}

/// One funding round's progress: which of its reads have arrived.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Round {
    id: u64,
    head: Option<u64>,
    counts: bool,
    fees: bool,
    balances: bool,
    planned: bool,
}

/// Something the engine waits on, so it never asks twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Busy {
    Sign(TxId),
    Send(B256),
    Receipts(TxId),
    Block(u64),
    Round,
}

/// FNV-1a of a service's name (an index key; equal hashes are told apart by the name).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A balance snapshot: the block and the value of each (holder, asset).
type Snapshot = (u64, Balances);

/// Balances by (holder, asset), sorted (the read order is already sorted): the read's entries
/// and the answer's values, kept as they came (no copy per round). The engine looks a wallet up
/// by its position in the read ([`Balances::get_at`]), a search only when that does not match.
struct Balances {
    entries: Vec<(Address, Asset)>,
    values: Vec<U256>,
}

impl Balances {
    fn from_read(entries: Vec<(Address, Asset)>, values: Vec<U256>) -> Self {
        if entries.is_sorted() {
            return Self { entries, values };
        }
        let pairs = crate::order::sorted_by(entries.into_iter().zip(values).collect(), |a, b| {
            a.0.cmp(&b.0)
        });
        let (entries, values) = pairs.into_iter().unzip();
        Self { entries, values }
    }

    /// The value of `key`, looked for at `index` first (where the engine's read put it).
    fn get_at(&self, index: usize, key: &(Address, Asset)) -> Option<U256> {
        match (self.entries.get(index), self.values.get(index)) {
            (Some(k), Some(v)) if k == key => Some(*v),
            _ => self.get(key),
        }
    }

    fn get(&self, key: &(Address, Asset)) -> Option<U256> {
        let i = self.entries.binary_search(key).ok()?;
        self.values.get(i).copied()
    }

    fn of(&self, holder: Address) -> impl Iterator<Item = (Asset, U256)> + '_ {
        let start = self.entries.partition_point(|(h, _)| *h < holder);
        self.entries
            .iter()
            .zip(&self.values)
            .skip(start)
            .take_while(move |((h, _), _)| *h == holder)
            .map(|((_, a), v)| (*a, *v))
    }
}

struct ChainState {
    cfg: ChainConfig,
    endpoints: EndpointSet,
    book: NonceBook,
    next_poll: Timestamp,
    round: Round,
    market: Option<FeeEstimate>,
    fee_hold: Option<FeeError>,
    verdict: ChainVerdict,
    payloads: Map<TxId, Payload>,
    /// Life-cycle transactions in flight.
    steps: Map<TxId, StepPayload>,
    /// The transfers of the last [`crate::nonce::KEPT_CONFIRMED`] confirmed records, oldest
    /// first: a reorg deeper than the confirmation depth puts them back in flight.
    settled: Vec<(TxId, TransferIntent)>,
    /// The latest balance snapshot: block and values.
    snapshot: Option<Snapshot>,
    /// The funding Safe's `nonce()` at the snapshot's block.
    safe_nonce: Option<u64>,
    /// The Safe nonce and block of the last life-cycle step of ours confirmed, until a
    /// snapshot at or after that block (a step leaves the steps in flight when it confirms).
    safe_step_done: Option<(u64, u64)>,
    /// Fees and kind of each signature asked for.
    signing: Map<TxId, (Fees, bool)>,
    /// Receipt checks in progress: (answers still due, found one).
    receipt_checks: Map<TxId, (usize, bool)>,
    busy: Set<Busy>,
    last_shortfalls: Set<(Address, Asset, U256)>,
    /// Wallets whose top-up reverted: not topped up again by this engine.
    reverted: Set<(Address, Asset)>,
    /// Top-ups of a Safe batch that failed as a whole: each goes out again alone, in a Safe
    /// transaction of its own, so the one that fails is found and held, the others paid.
    suspect: Set<(Address, Asset)>,
    last_hold: Option<HoldReason>,
    /// Every (holder, asset) read on the chain: the funder's assets, then each wallet's.
    entries: Vec<(Address, Asset)>,
}

impl ChainState {
    /// The highest Safe nonce at or above `read` (the Safe's `nonce()`) that a Safe transaction
    /// of ours (top-ups or a step, in flight or confirmed but not yet seen) consumes: while
    /// there is one, no other Safe transaction is signed (a Safe nonce is signed once).
    fn safe_ahead(&self, read: u64) -> Option<u64> {
        self.payloads
            .values()
            .filter_map(|p| p.intent.safe_nonce())
            .chain(self.steps.values().filter_map(|p| p.intent.safe_nonce()))
            .chain(self.safe_step_done.map(|(n, _)| n))
            .filter(|&n| n >= read)
            .max()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PendingState {
    /// Sent to `endpoint`; give up at the deadline.
    Sent {
        endpoint: usize,
        deadline: Timestamp,
    },
    /// Waiting to be (re)sent at `at`, avoiding `avoid`.
    Scheduled { at: Timestamp, avoid: Option<usize> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    chain: ChainId,
    call: RpcCall,
    attempt: u32,
    round: u64,
    state: PendingState,
}

struct ServiceState {
    name: ServiceName,
    monitor: AgentMonitor,
    last: Status,
    /// The monitor's deadline as indexed in `agent_deadlines`.
    deadline: Option<Timestamp>,
}

/// The engine. See the module documentation for the run loop.
pub struct Engine {
    config: EngineConfig,
    clock: Clock,
    rng: Rng,
    out: VecDeque<Output>,
    next_id: RequestId,
    chains: Map<ChainId, ChainState>,
    services: Vec<ServiceState>,
    /// (FNV-1a hash of a service's name, its index), sorted: a name that is not the engine's own
    /// string (a replayed or JS input) is found by one hash, a binary search of integers and one
    /// string comparison, not a string comparison per step.
    service_by_hash: Vec<(u64, usize)>,
    /// The address of each service's name (shared with the outputs) → its index, sorted by
    /// address (a binary search over a vector: no B-tree walk per input).
    service_by_addr: Vec<(usize, usize)>,
    /// (deadline, service index), to find what is due without scanning every service. Lazy: an
    /// entry whose deadline is no longer the service's is stale and dropped when it surfaces.
    agent_deadlines: BinaryHeap<Reverse<(Timestamp, usize)>>,
    wallets: Vec<(String, WalletConfig)>,
    /// Where each wallet's balance is in its chain's balance read (`ChainState::entries`, which
    /// a snapshot keeps in order): a lookup by position, checked, instead of a search per round.
    wallet_reads: Vec<usize>,
    /// Requests in flight, sorted by id. A handful at a time: sorted vectors are cheaper to keep
    /// than B-trees (ids grow, so a new request usually goes at the end).
    requests: Vec<(RequestId, Pending)>,
    /// (deadline or retry time, request), sorted, the earliest first.
    request_deadlines: Set<(Timestamp, RequestId)>,
    inputs: u64,
    /// The next deadline, computed after every input (state changes only there).
    deadline: Option<Timestamp>,
    /// The earliest chain poll (kept with every change of a chain's `next_poll`: it is read
    /// after every input).
    next_poll: Option<Timestamp>,
}

impl Engine {
    /// An engine at `now`. Autostart services are started at once (drain the outputs).
    pub fn new(config: EngineConfig, now: Timestamp) -> Result<Self, ConfigError> {
        Self::restore(config, now, Vec::new(), &[])
    }

    /// An engine at `now` rebuilt from the journal (the latest entry of each record, in any
    /// order), as after a crash. Live records and the transfers they carry come back; a record
    /// that was reserved but never signed is released (nothing is broadcast before its signed
    /// attempt is journaled, so it never reached a node) and its transfer is planned again.
    /// Entries for chains that are no longer configured are ignored.
    ///
    /// `running` names the services whose agents a previous daemon left alive (found through
    /// validated PID files): they are adopted, never spawned twice; the other autostart services
    /// are started.
    pub fn restore(
        config: EngineConfig,
        now: Timestamp,
        journal: Vec<JournalEntry>,
        running: &[&str],
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut by_chain: Map<ChainId, Vec<JournalEntry>> = Map::new();
        for e in journal {
            by_chain.entry(e.chain).or_default().push(e);
        }
        let chains: Map<ChainId, ChainState> = config
            .chains
            .iter()
            .map(|c| {
                let entries = by_chain.remove(&c.chain).unwrap_or_default();
                (c.chain, ChainState::new(&config, c, now, entries))
            })
            .collect();
        let services: Vec<ServiceState> = config
            .services
            .iter()
            .map(|s| ServiceState {
                name: ServiceName::from(s.name.as_str()),
                monitor: AgentMonitor::new(s.health),
                last: Status::Stopped,
                deadline: None,
            })
            .collect();
        let service_by_addr = crate::order::sorted_by(
            services
                .iter()
                .enumerate()
                .map(|(i, s)| (s.name.as_ptr() as usize, i))
                .collect(),
            |a: &(usize, usize), b| a.0.cmp(&b.0),
        );
        let service_by_hash = crate::order::sorted_by(
            services
                .iter()
                .enumerate()
                .map(|(i, s)| (name_hash(&s.name), i))
                .collect(),
            |a: &(u64, usize), b| a.cmp(b),
        );
        let seed = config.seed;
        let wallets: Vec<(String, WalletConfig)> = config
            .services
            .iter()
            .flat_map(|s| s.wallets.iter().map(|w| (s.name.clone(), w.clone())))
            .collect();
        let wallet_reads = wallet_reads(&chains, &wallets);
        let mut engine = Self {
            config,
            clock: Clock::new(now),
            rng: Rng::new(seed),
            out: VecDeque::new(),
            next_id: 1,
            chains,
            service_by_addr,
            services,
            service_by_hash,
            agent_deadlines: BinaryHeap::new(),
            wallets,
            wallet_reads,
            requests: Vec::new(),
            request_deadlines: Set::new(),
            inputs: 0,
            deadline: None,
            next_poll: None,
        };
        engine.refresh_next_poll();
        // Reservations that were never signed never reached a node: release them.
        let chain_ids: Vec<ChainId> = engine.chains.keys().copied().collect();
        for chain in chain_ids {
            let Some(c) = engine.chains.get_mut(&chain) else {
                continue;
            };
            let unsigned: Vec<TxId> = c
                .book
                .records()
                .filter(|r| r.state == RecordState::Reserved)
                .map(|r| r.id)
                .collect();
            for id in unsigned {
                let _ = c.book.release(id);
            }
            engine.settle_finished(chain);
        }
        let autostart: Vec<String> = engine
            .config
            .services
            .iter()
            .filter(|s| s.autostart)
            .map(|s| s.name.clone())
            .collect();
        for name in running {
            engine.agent(name, |m| m.adopt(now));
        }
        for name in autostart {
            if !running.contains(&name.as_str()) {
                engine.agent(&name, |m| m.start(now));
            }
        }
        engine.run_due(now);
        engine.deadline = engine.compute_deadline();
        Ok(engine)
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The next request for the adapter, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Inputs handled so far.
    pub fn inputs_handled(&self) -> u64 {
        self.inputs
    }

    /// The engine's time (the latest input time).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A service's monitor.
    pub fn service(&self, name: &str) -> Option<&AgentMonitor> {
        self.find_service(name)
            .and_then(|i| self.services.get(i))
            .map(|s| &s.monitor)
    }

    /// A chain's nonce book.
    pub fn nonce_book(&self, chain: ChainId) -> Option<&NonceBook> {
        self.chains.get(&chain).map(|c| &c.book)
    }

    /// A chain's funding Safe's `nonce()` as the latest balance read saw it.
    pub fn safe_nonce(&self, chain: ChainId) -> Option<u64> {
        self.chains.get(&chain).and_then(|c| c.safe_nonce)
    }

    /// A chain's endpoints.
    pub fn endpoints(&self, chain: ChainId) -> Option<&EndpointSet> {
        self.chains.get(&chain).map(|c| &c.endpoints)
    }

    /// When to wake the engine next, without the reason (cheaper, for tight driver loops).
    #[must_use]
    pub fn poll_deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    fn compute_deadline(&self) -> Option<Timestamp> {
        // After every input: plain comparisons, not an iterator chain.
        let earliest = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        };
        let request = self.request_deadlines.first().map(|r| r.0);
        let agent = self.agent_deadlines.peek().map(|r| r.0.0);
        earliest(earliest(self.next_poll, request), agent)
    }

    /// When to wake the engine next, and why.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<(Timestamp, WakeReason)> {
        let chain = self.chains.iter().map(|(id, c)| (c.next_poll, *id)).min();
        let request = self.request_deadlines.first().copied();
        let agent = self.agent_deadlines.peek().map(|r| r.0);
        let mut best: Option<(Timestamp, u8)> = None;
        for (t, which) in [
            (chain.map(|c| c.0), 0u8),
            (request.map(|r| r.0), 1),
            (agent.map(|a| a.0), 2),
        ] {
            if let Some(t) = t
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, which));
            }
        }
        let (t, which) = best?;
        let why = match (which, chain, request, agent) {
            (0, Some((_, chain)), _, _) => WakeReason::ChainPoll { chain },
            (1, _, Some((_, id)), _) => match self.request(id).map(|p| &p.state) {
                Some(PendingState::Scheduled { .. }) => WakeReason::RpcRetry { id },
                Some(PendingState::Sent { .. }) | None => WakeReason::RpcTimeout { id },
            },
            (_, _, _, Some((_, i))) => {
                let s = self.services.get(i)?;
                WakeReason::Agent {
                    service: s.name.clone(),
                    // The heap's top is kept valid; a stale top would only wake early.
                    wake: s
                        .monitor
                        .next_deadline()
                        .map_or(crate::health::Wake::Probe, |d| d.1),
                }
            }
            _ => return None,
        };
        Some((t, why))
    }

    /// Handles one input, then everything due at its time.
    pub fn handle_input(&mut self, input: Input) {
        self.inputs += 1;
        let now = self.clock.observe(input.now());
        match input {
            Input::Tick { .. } => {}
            Input::Command { command, .. } => self.command(now, command),
            Input::RpcResponse {
                id,
                latency_ms,
                result,
                ..
            } => self.rpc_response(now, id, latency_ms, result),
            Input::Signed {
                chain, tx, hash, ..
            } => self.signed(now, chain, tx, hash),
            Input::SignFailed {
                chain, tx, error, ..
            } => self.sign_failed(chain, tx, &error),
            Input::Spawned { service, .. } => self.agent(&service, |m| m.spawned(now)),
            Input::Adopted { service, .. } => self.agent(&service, |m| m.adopt(now)),
            Input::SpawnFailed { service, .. } => self.agent(&service, |m| m.spawn_failed(now)),
            Input::Exited {
                service, status, ..
            } => self.agent(&service, |m| m.exited(now, status)),
            Input::Probed {
                service, result, ..
            } => self.agent(&service, |m| m.probe(now, &result)),
        }
        self.run_due(now);
        self.deadline = self.compute_deadline();
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn ignored(&mut self, reason: String) {
        self.event(Event::Ignored { reason });
    }

    // -----------------------------------------------------------------------------------------
    // Services

    fn command(&mut self, now: Timestamp, command: Command) {
        match command {
            Command::Start { service } => self.agent(&service, |m| m.start(now)),
            Command::Stop { service } => self.agent(&service, |m| m.stop(now)),
            Command::FundNow => {
                for c in self.chains.values_mut() {
                    c.next_poll = now;
                }
                self.refresh_next_poll();
            }
            Command::Cancel { chain, tx } => {
                let Some(c) = self.chains.get_mut(&chain) else {
                    self.ignored(format!("no chain {chain}"));
                    return;
                };
                match c.book.request_cancel(tx) {
                    Ok(_) => {
                        self.after_record_change(chain, tx);
                        self.run_nonce_plan(chain, now);
                    }
                    Err(e) => self.ignored(e.to_string()),
                }
            }
            Command::Execute {
                chain,
                service,
                step,
                calls,
            } => self.execute(now, chain, &service, &step, calls),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Timers

    fn run_due(&mut self, now: Timestamp) {
        // Agents: each due monitor ticks once.
        // Each monitor due now ticks; a tick moves its deadline past `now`, and the bound stops a
        // monitor that would not from spinning here.
        let mut budget = 2 * self.services.len() + 2;
        while let Some(Reverse((t, i))) = self.agent_deadlines.peek().copied() {
            if t > now || budget == 0 {
                break;
            }
            budget -= 1;
            self.agent_deadlines.pop();
            let Some(s) = self.services.get_mut(i) else {
                continue;
            };
            if s.deadline != Some(t) {
                continue;
            }
            // Popped: the next change of deadline pushes a fresh entry.
            s.deadline = None;
            self.agent_at(i, |m| m.tick(now));
        }
        // RPC deadlines and retries.
        if self.request_deadlines.first().is_none_or(|(t, _)| *t > now) {
            self.run_due_polls(now);
            return;
        }
        let due: Vec<RequestId> = self
            .request_deadlines
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| *id)
            .collect();
        for id in due {
            let Some(p) = self.request(id).cloned() else {
                continue;
            };
            match p.state {
                PendingState::Sent { .. } => self.rpc_response(
                    now,
                    id,
                    self.chains
                        .get(&p.chain)
                        .map_or(0, |c| c.cfg.rpc.request_timeout_ms),
                    Err(RpcFailure::Transport {
                        message: "no answer within the request timeout".into(),
                    }),
                ),
                PendingState::Scheduled { avoid, .. } => {
                    // Each attempt gets its own id, so a late answer to an earlier one is told
                    // apart.
                    self.take_request(id);
                    let fresh = self.next_id;
                    self.next_id += 1;
                    self.dispatch(now, fresh, p.chain, p.call, p.attempt, p.round, avoid);
                }
            }
        }
        self.run_due_polls(now);
    }

    // -----------------------------------------------------------------------------------------
    // RPC

    // One arm per call; splitting it would scatter the protocol.

    // -----------------------------------------------------------------------------------------
    // Funding

    // -----------------------------------------------------------------------------------------
    // Nonces
}

impl ChainState {
    fn new(
        config: &EngineConfig,
        c: &ChainConfig,
        now: Timestamp,
        entries: Vec<JournalEntry>,
    ) -> Self {
        let payloads = entries
            .iter()
            .filter(|e| !e.record.state.is_final())
            .filter_map(|e| {
                e.transfer.clone().map(|intent| {
                    (
                        e.record.id,
                        Payload {
                            intent,
                            mined_block: match e.record.state {
                                RecordState::Mined { block_number, .. } => Some(block_number),
                                RecordState::Reserved
                                | RecordState::InFlight
                                | RecordState::Confirmed { .. }
                                | RecordState::Released { .. }
                                | RecordState::Lost => None,
                            },
                            confirmed: false,
                            reverted: false,
                        },
                    )
                })
            })
            .collect();
        let steps = entries
            .iter()
            .filter(|e| !e.record.state.is_final())
            .filter_map(|e| {
                e.call.clone().map(|intent| {
                    (
                        e.record.id,
                        StepPayload {
                            intent,
                            reverted: false,
                        },
                    )
                })
            })
            .collect();
        Self {
            cfg: c.clone(),
            endpoints: EndpointSet::new(c.endpoints, c.rpc, now),
            book: NonceBook::restore(entries.into_iter().map(|e| e.record)),
            next_poll: now,
            round: Round::default(),
            market: None,
            fee_hold: None,
            verdict: ChainVerdict::Unknown,
            payloads,
            steps,
            settled: Vec::new(),
            snapshot: None,
            safe_nonce: None,
            safe_step_done: None,
            signing: Map::new(),
            receipt_checks: Map::new(),
            busy: Set::new(),
            last_shortfalls: Set::new(),
            reverted: Set::new(),
            suspect: Set::new(),
            last_hold: None,
            entries: balance_entries(config, c),
        }
    }
}

/// Every (holder, asset) read on a chain: the funder's assets, then each wallet's.
/// Where each wallet's (address, asset) is in its chain's balance read (`usize::MAX` when not).
fn wallet_reads(
    chains: &Map<ChainId, ChainState>,
    wallets: &[(String, WalletConfig)],
) -> Vec<usize> {
    wallets
        .iter()
        .map(|(_, w)| {
            chains
                .get(&w.chain)
                .and_then(|c| c.entries.binary_search(&(w.address, w.asset)).ok())
                .unwrap_or(usize::MAX)
        })
        .collect()
}

fn balance_entries(config: &EngineConfig, chain: &ChainConfig) -> Vec<(Address, Asset)> {
    let mut set: Set<(Address, Asset)> = Set::new();
    set.insert((chain.funder, Asset::NATIVE));
    // The Safe pays the top-ups; the funding key, its owner, pays the gas.
    let source = chain.safe.map_or(chain.funder, |s| s.address);
    set.insert((source, Asset::NATIVE));
    for w in config
        .services
        .iter()
        .flat_map(|s| &s.wallets)
        .filter(|w| w.chain == chain.chain)
    {
        set.insert((source, w.asset));
        set.insert((w.address, w.asset));
    }
    set.into_iter().collect()
}

impl PendingState {
    /// When the request needs attention: its answer deadline, or its retry time.
    fn due(&self) -> Timestamp {
        match *self {
            Self::Sent { deadline, .. } => deadline,
            Self::Scheduled { at, .. } => at,
        }
    }
}
