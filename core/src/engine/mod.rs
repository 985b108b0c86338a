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

pub mod config;
pub mod io;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::map::{Map, Set};

use alloy_primitives::{Address, B256, U256};

pub use config::{ChainConfig, ConfigError, EngineConfig, ServiceConfig, WalletConfig};
pub use io::{
    Command, Event, HoldReason, Input, JournalEntry, Output, Receipt, RequestId, RpcAnswer,
    RpcCall, ServiceName, TransferIntent, TxBody, TxRequest, WakeReason,
};

use crate::address::Asset;
use crate::chain::ChainId;
use crate::chain_amounts::AssetAmounts;
use crate::fees::{self, FeeError, FeeEstimate, Fees, TxKind};
use crate::funding::plan::{self as planner, GasParams, PlanInput, Source, Transfer, Wallet};
use crate::health::{Action, Actions, AgentMonitor, Status};
use crate::nonce::{NonceAction, NonceBook, Purpose, RecordState, TxId};
use crate::rng::Rng;
use crate::rpc::{
    self, ChainVerdict, EndpointSet, RetryDecision, RpcErrorClass, RpcFailure, Selection,
};
use crate::time::{Clock, Timestamp};

/// Slack after an RPC timeout before the engine gives up on an answer itself, ms.
pub const RPC_SLACK_MS: u64 = 1_000;

/// The round number of head cross-checks (rounds count from 1): their answers only update the
/// endpoint's head, and they are never retried.
const HEAD_CHECK: u64 = 0;

/// A funding transfer and the record that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Payload {
    intent: TransferIntent,
    /// Mined (or confirmed) at this block; in flight for the planner until a balance snapshot
    /// at or after it.
    mined_block: Option<u64>,
    /// Confirmed: the record is gone from the book, only the snapshot rule keeps it.
    confirmed: bool,
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
    /// The latest balance snapshot: block and values.
    snapshot: Option<Snapshot>,
    /// Fees and kind of each signature asked for.
    signing: Map<TxId, (Fees, bool)>,
    /// Receipt checks in progress: (answers still due, found one).
    receipt_checks: Map<TxId, (usize, bool)>,
    busy: Set<Busy>,
    last_shortfalls: Set<(Address, Asset, U256)>,
    last_hold: Option<HoldReason>,
    /// Every (holder, asset) read on the chain: the funder's assets, then each wallet's.
    entries: Vec<(Address, Asset)>,
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

    fn agent(&mut self, service: &str, f: impl FnOnce(&mut AgentMonitor) -> Actions) {
        let Some(i) = self.find_service(service) else {
            self.ignored(format!("no service named {service:?}"));
            return;
        };
        self.agent_at(i, f);
    }

    /// The index of a service. Inputs usually carry back the very name the engine sent out, so
    /// the name's address finds it without comparing strings; any other string is looked up.
    fn find_service(&self, service: &str) -> Option<usize> {
        let addr = service.as_ptr() as usize;
        if let Ok(at) = self.service_by_addr.binary_search_by_key(&addr, |e| e.0)
            && let Some(&(_, i)) = self.service_by_addr.get(at)
            && self.services.get(i).is_some_and(|s| {
                std::ptr::eq(s.name.as_ptr(), service.as_ptr()) && s.name.len() == service.len()
            })
        {
            return Some(i);
        }
        let h = name_hash(service);
        let from = self.service_by_hash.partition_point(|e| e.0 < h);
        self.service_by_hash[from..]
            .iter()
            .take_while(|e| e.0 == h)
            .map(|e| e.1)
            .find(|&i| self.services.get(i).is_some_and(|s| &*s.name == service))
    }

    fn agent_at(&mut self, index: usize, f: impl FnOnce(&mut AgentMonitor) -> Actions) {
        let Some(s) = self.services.get_mut(index) else {
            return;
        };
        let actions = f(&mut s.monitor);
        let timeout_ms = s.monitor.policy().probe_timeout_ms;
        for a in actions {
            let service = s.name.clone();
            let o = match a {
                Action::Spawn => Output::Spawn { service },
                Action::Terminate => Output::Terminate { service },
                Action::Kill => Output::Kill { service },
                Action::Probe => Output::Probe {
                    service,
                    timeout_ms,
                },
                Action::Alert { reason } => Output::Event(Event::Alert { service, reason }),
            };
            self.out.push_back(o);
        }
        let v = s.monitor.verdict();
        if v.status != s.last {
            s.last = v.status;
            let e = Event::Health {
                service: s.name.clone(),
                status: v.status,
                reason: v.reason.clone(),
            };
            self.out.push_back(Output::Event(e));
        }
        let deadline = s.monitor.next_deadline().map(|d| d.0);
        if deadline != s.deadline {
            s.deadline = deadline;
            if let Some(new) = deadline {
                self.agent_deadlines.push(Reverse((new, index)));
            }
            self.purge_agent_deadlines();
        }
    }

    /// Drops stale entries from the top of the agent deadline heap.
    fn purge_agent_deadlines(&mut self) {
        while let Some(Reverse((t, i))) = self.agent_deadlines.peek().copied() {
            if self.services.get(i).is_some_and(|s| s.deadline == Some(t)) {
                break;
            }
            self.agent_deadlines.pop();
        }
    }

    fn request(&self, id: RequestId) -> Option<&Pending> {
        let i = self.requests.binary_search_by_key(&id, |e| e.0).ok()?;
        self.requests.get(i).map(|e| &e.1)
    }

    fn put_request(&mut self, id: RequestId, p: Pending) {
        let at = p.state.due();
        self.request_deadlines.insert((at, id));
        match self.requests.binary_search_by_key(&id, |e| e.0) {
            Ok(i) => {
                let old = std::mem::replace(&mut self.requests[i].1, p);
                let old_at = old.state.due();
                if old_at != at {
                    self.request_deadlines.remove(&(old_at, id));
                }
            }
            Err(i) => self.requests.insert(i, (id, p)),
        }
    }

    fn take_request(&mut self, id: RequestId) -> Option<Pending> {
        let i = self.requests.binary_search_by_key(&id, |e| e.0).ok()?;
        let (_, p) = self.requests.remove(i);
        self.request_deadlines.remove(&(p.state.due(), id));
        Some(p)
    }

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

    fn run_due_polls(&mut self, now: Timestamp) {
        // Every path out of `run_due` passes here: leave a valid entry on top of the agent heap
        // for `poll_timeout`.
        self.purge_agent_deadlines();
        if self.next_poll.is_none_or(|t| t > now) {
            return;
        }
        let polls: Vec<ChainId> = self
            .chains
            .iter()
            .filter(|(_, c)| c.next_poll <= now)
            .map(|(id, _)| *id)
            .collect();
        for chain in polls {
            self.start_round(chain, now);
        }
        self.refresh_next_poll();
    }

    /// Recomputes the earliest chain poll, after a change of any chain's `next_poll`.
    fn refresh_next_poll(&mut self) {
        self.next_poll = self.chains.values().map(|c| c.next_poll).min();
    }

    fn start_round(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.next_poll = now.plus_ms(c.cfg.poll_ms);
        if c.busy.contains(&Busy::Round) {
            // The previous round is still waiting on an answer: do not pile up.
            return;
        }
        c.busy.insert(Busy::Round);
        c.round = Round {
            id: c.round.id + 1,
            ..Round::default()
        };
        let round = c.round.id;
        self.call(now, chain, RpcCall::Head, round);
    }

    // -----------------------------------------------------------------------------------------
    // RPC

    fn call(&mut self, now: Timestamp, chain: ChainId, call: RpcCall, round: u64) {
        let id = self.next_id;
        self.next_id += 1;
        self.dispatch(now, id, chain, call, 1, round, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        now: Timestamp,
        id: RequestId,
        chain: ChainId,
        call: RpcCall,
        attempt: u32,
        round: u64,
        avoid: Option<usize>,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        match c.endpoints.select(now, avoid) {
            Selection::Use { index } => {
                self.send(now, id, chain, index, call, attempt, round);
            }
            Selection::Wait { until, .. } => {
                self.put_request(
                    id,
                    Pending {
                        chain,
                        call,
                        attempt,
                        round,
                        state: PendingState::Scheduled {
                            at: until.max(now.plus_ms(1)),
                            avoid,
                        },
                    },
                );
            }
        }
    }

    /// Sends `call` to endpoint `endpoint` now.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        now: Timestamp,
        id: RequestId,
        chain: ChainId,
        endpoint: usize,
        call: RpcCall,
        attempt: u32,
        round: u64,
    ) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        let timeout_ms = c.cfg.rpc.request_timeout_ms;
        self.put_request(
            id,
            Pending {
                chain,
                call: call.clone(),
                attempt,
                round,
                state: PendingState::Sent {
                    endpoint,
                    deadline: now.plus_ms(timeout_ms).plus_ms(RPC_SLACK_MS),
                },
            },
        );
        self.out.push_back(Output::Rpc {
            id,
            chain,
            endpoint,
            call,
            timeout_ms,
        });
    }

    fn rpc_response(
        &mut self,
        now: Timestamp,
        id: RequestId,
        latency_ms: u64,
        result: Result<RpcAnswer, RpcFailure>,
    ) {
        let Some(p) = self.take_request(id) else {
            self.ignored(format!("RPC answer {id} matches no request in flight"));
            return;
        };
        let PendingState::Sent { endpoint, .. } = p.state else {
            // An answer for a request that was not sent: put it back.
            self.put_request(id, p);
            self.ignored(format!(
                "RPC answer {id} arrived before the request was sent"
            ));
            return;
        };
        let Some(c) = self.chains.get_mut(&p.chain) else {
            return;
        };
        match result {
            Ok(answer) => {
                c.endpoints.success(endpoint, latency_ms);
                self.answer(now, p.chain, endpoint, p.round, p.call, answer);
            }
            Err(failure) => {
                let class = rpc::classify(p.call.method(), &failure);
                c.endpoints.failure(endpoint, class, now);
                if p.round == HEAD_CHECK {
                    // The endpoint's standing took the failure; nothing waits for the answer.
                    return;
                }
                let policy = *c.endpoints.policy();
                let decision = match class {
                    // A tx-level answer to a send is an answer, not a failure to retry.
                    RpcErrorClass::TxSemantic { .. } => RetryDecision::Fail,
                    RpcErrorClass::Transport
                    | RpcErrorClass::RateLimit { .. }
                    | RpcErrorClass::NodeLag
                    | RpcErrorClass::Revert
                    | RpcErrorClass::AuthConfig
                    | RpcErrorClass::Invalid => {
                        rpc::decide(&policy, class, p.attempt, &mut self.rng)
                    }
                };
                match decision {
                    RetryDecision::Retry { after_ms, failover } => {
                        self.put_request(
                            id,
                            Pending {
                                attempt: p.attempt + 1,
                                state: PendingState::Scheduled {
                                    at: now.plus_ms(after_ms),
                                    avoid: failover.then_some(endpoint),
                                },
                                ..p
                            },
                        );
                    }
                    RetryDecision::Fail => self.failed(now, p.chain, &p.call, class, failure),
                }
            }
        }
    }

    /// A call failed for good.
    fn failed(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        call: &RpcCall,
        class: RpcErrorClass,
        failure: RpcFailure,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        match call {
            RpcCall::SendRaw { hash } => {
                c.busy.remove(&Busy::Send(*hash));
                let (code, message) = match &failure {
                    RpcFailure::JsonRpc { code, message, .. } => (Some(*code), message.clone()),
                    RpcFailure::Transport { message } => (None, message.clone()),
                    RpcFailure::Http { status, .. } => (None, format!("HTTP {status}")),
                    RpcFailure::MissingResponse => (None, "missing response".into()),
                };
                let tx = c.book.record_of(*hash);
                match c.book.send_failed(*hash, code, &message, now) {
                    Ok(send_class) => {
                        if let Some(tx) = tx {
                            self.after_record_change(chain, tx);
                            if matches!(class, RpcErrorClass::TxSemantic { .. }) {
                                self.event(Event::SendRejected {
                                    chain,
                                    tx,
                                    class: send_class,
                                });
                            }
                        }
                    }
                    Err(e) => self.ignored(e.to_string()),
                }
                if !matches!(class, RpcErrorClass::TxSemantic { .. }) {
                    self.event(Event::RpcFailed {
                        chain,
                        method: call.method().into(),
                        failure,
                    });
                }
                return;
            }
            RpcCall::Receipt { hash } => {
                // This check of the record is void (neither found nor proven missing); the next
                // plan asks again. Other records' checks go on.
                let owner = c.book.record_of(*hash);
                if let Some(id) = owner {
                    c.receipt_checks.remove(&id);
                    c.busy.remove(&Busy::Receipts(id));
                }
            }
            RpcCall::BlockHash { number } => {
                c.busy.remove(&Busy::Block(*number));
            }
            RpcCall::Head
            | RpcCall::TransactionCounts { .. }
            | RpcCall::Balances { .. }
            | RpcCall::FeeHistory { .. } => {
                c.busy.remove(&Busy::Round);
            }
        }
        self.event(Event::RpcFailed {
            chain,
            method: call.method().into(),
            failure,
        });
    }

    // One arm per call; splitting it would scatter the protocol.
    #[allow(clippy::too_many_lines)]
    fn answer(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        endpoint: usize,
        round: u64,
        call: RpcCall,
        answer: RpcAnswer,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let current_round = c.round.id == round;
        match (call, answer) {
            (
                RpcCall::Head,
                RpcAnswer::Head {
                    number, timestamp, ..
                },
            ) => self.on_head(now, chain, endpoint, round, number, timestamp),
            (
                RpcCall::TransactionCounts { .. },
                RpcAnswer::TransactionCounts { latest, pending },
            ) => {
                let head = c
                    .round
                    .head
                    .or(c.endpoints.best_head().map(|h| h.0))
                    .unwrap_or(0);
                let fell = c.book.observe_chain(crate::nonce::ChainView {
                    latest,
                    pending,
                    head,
                });
                if let Some(from) = fell {
                    self.event(Event::DeepReorg {
                        chain,
                        confirmed: from,
                        now_count: latest,
                    });
                }
                self.settle_finished(chain);
                self.run_nonce_plan(chain, now);
                if current_round && let Some(c) = self.chains.get_mut(&chain) {
                    c.round.counts = true;
                }
                self.maybe_fund(chain, now);
            }
            (RpcCall::FeeHistory { .. }, RpcAnswer::FeeHistory(history)) => {
                match fees::estimate(&history, &c.cfg.fees) {
                    Ok(e) => {
                        c.market = Some(e);
                        c.fee_hold = None;
                    }
                    Err(err) => c.fee_hold = Some(err),
                }
                if current_round {
                    c.round.fees = true;
                }
                self.maybe_fund(chain, now);
            }
            (RpcCall::Balances { entries, .. }, RpcAnswer::Balances { block, values }) => {
                if values.len() != entries.len() {
                    c.busy.remove(&Busy::Round);
                    let reason = format!(
                        "balances answer has {} values for {} entries",
                        values.len(),
                        entries.len()
                    );
                    self.ignored(reason);
                    return;
                }
                if c.snapshot.as_ref().is_none_or(|(b, _)| block >= *b) {
                    c.snapshot = Some((block, Balances::from_read(entries, values)));
                    // Confirmed transfers the snapshot shows are no longer in flight.
                    c.payloads
                        .retain(|_, p| !(p.confirmed && p.mined_block.is_some_and(|m| m <= block)));
                }
                if current_round {
                    c.round.balances = true;
                }
                self.maybe_fund(chain, now);
            }
            (RpcCall::SendRaw { hash }, RpcAnswer::Sent { .. }) => {
                c.busy.remove(&Busy::Send(hash));
                if let Err(e) = c.book.sent(hash, now) {
                    self.ignored(e.to_string());
                    return;
                }
                let tx = c.book.record_of(hash);
                if let Some(tx) = tx {
                    self.after_record_change(chain, tx);
                }
            }
            (RpcCall::Receipt { hash }, RpcAnswer::Receipt { receipt, .. }) => {
                self.receipt(now, chain, hash, receipt);
            }
            (RpcCall::BlockHash { number }, RpcAnswer::BlockHash { hash, .. }) => {
                c.busy.remove(&Busy::Block(number));
                if let Some(hash) = hash {
                    self.block(chain, number, hash);
                }
            }
            (call, answer) => {
                if matches!(
                    call,
                    RpcCall::Head
                        | RpcCall::TransactionCounts { .. }
                        | RpcCall::Balances { .. }
                        | RpcCall::FeeHistory { .. }
                ) {
                    c.busy.remove(&Busy::Round);
                }
                self.ignored(format!(
                    "answer {answer:?} does not fit call {}",
                    call.method()
                ));
            }
        }
    }

    fn on_head(
        &mut self,
        now: Timestamp,
        chain: ChainId,
        endpoint: usize,
        round: u64,
        number: u64,
        timestamp: u64,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.endpoints.observe_head(endpoint, number, timestamp);
        let verdict = c.endpoints.chain_verdict(now);
        let changed = std::mem::discriminant(&verdict) != std::mem::discriminant(&c.verdict);
        c.verdict = verdict;
        if changed {
            self.event(Event::Chain { chain, verdict });
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if c.round.id != round {
            return;
        }
        if let Some(other) = c.endpoints.head_check(now, endpoint) {
            let id = self.next_id;
            self.next_id += 1;
            self.send(now, id, chain, other, RpcCall::Head, 1, HEAD_CHECK);
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let head = c
            .endpoints
            .best_head()
            .map_or(number, |(n, _)| n)
            .max(number);
        c.round.head = Some(head);
        let funder = c.cfg.funder;
        let fee_call = RpcCall::FeeHistory {
            blocks: c.cfg.fees.history_blocks,
            percentile: c.cfg.fees.reward_percentile,
        };
        let entries = c.entries.clone();
        self.call(
            now,
            chain,
            RpcCall::TransactionCounts { address: funder },
            round,
        );
        self.call(now, chain, fee_call, round);
        self.call(
            now,
            chain,
            RpcCall::Balances {
                block: number,
                entries,
            },
            round,
        );
    }

    // -----------------------------------------------------------------------------------------
    // Funding

    fn maybe_fund(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let r = c.round;
        if r.planned || !(r.counts && r.fees && r.balances) {
            return;
        }
        c.round.planned = true;
        c.busy.remove(&Busy::Round);
        if let ChainVerdict::Stale { .. } = c.endpoints.chain_verdict(now) {
            self.hold(chain, HoldReason::StaleChain);
            return;
        }
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if let Some(error) = c.fee_hold.clone() {
            self.hold(chain, HoldReason::Fees { error });
            return;
        }
        let Some(market) = c.market else {
            return;
        };
        // Lend the snapshot to the planner's input without copying it.
        let Some(snapshot) = c.snapshot.take() else {
            return;
        };
        let input = self.plan_input(chain, market.fees, &snapshot.1);
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.snapshot = Some(snapshot);
        let Some(input) = input else {
            // No wallet below `low`: the plan is empty (no transfer, no shortfall).
            c.last_hold = None;
            c.last_shortfalls.clear();
            return;
        };
        let Ok(plan) = planner::plan(&input) else {
            self.ignored(format!("funding plan input for chain {chain} is invalid"));
            return;
        };
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        c.last_hold = None;
        // Inserted one by one: `collect` would sort first, a sort's code for one more type.
        let mut shortfalls: Set<(Address, Asset, U256)> = Set::new();
        for s in &plan.shortfalls {
            shortfalls.insert((s.holder, s.asset, s.missing));
        }
        let new: Vec<_> = plan
            .shortfalls
            .iter()
            .filter(|s| !c.last_shortfalls.contains(&(s.holder, s.asset, s.missing)))
            .cloned()
            .collect();
        c.last_shortfalls = shortfalls;
        for s in new {
            self.event(Event::Shortfall {
                chain,
                holder: s.holder,
                asset: s.asset,
                missing: s.missing,
                message: s.message,
            });
        }
        for t in plan.transfers {
            if !self.send_transfer(chain, now, &t, market.fees) {
                break;
            }
        }
    }

    fn hold(&mut self, chain: ChainId, reason: HoldReason) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if c.last_hold.as_ref() != Some(&reason) {
            c.last_hold = Some(reason.clone());
            self.event(Event::FundingHeld { chain, reason });
        }
    }

    /// The planner's input for `chain`, or `None` when no wallet is below `low` (the most
    /// common round: the plan would be empty).
    fn plan_input(&self, chain: ChainId, fees: Fees, snapshot: &Balances) -> Option<PlanInput> {
        let c = self.chains.get(&chain)?;
        let amounts = |holder: Address| {
            let mut a = AssetAmounts::default();
            for (asset, v) in snapshot.of(holder) {
                a.add(asset, v);
            }
            a
        };
        // Only wallets below `low` (counting what is on its way) can get a transfer, so only they
        // go to the planner: the plan is the same, and a fleet of healthy wallets costs nothing.
        let mut on_way: Map<(Address, Asset), U256> = Map::new();
        for p in c.payloads.values() {
            let e = on_way.entry((p.intent.to, p.intent.asset)).or_default();
            *e = e.saturating_add(p.intent.amount);
        }
        let mut wallets: Map<Address, Wallet> = Map::new();
        for ((service, w), &read) in self.wallets.iter().zip(&self.wallet_reads) {
            if w.chain != chain {
                continue;
            }
            let held = snapshot
                .get_at(read, &(w.address, w.asset))
                .unwrap_or_default();
            let coming = on_way
                .get(&(w.address, w.asset))
                .copied()
                .unwrap_or_default();
            if held.saturating_add(coming) >= w.low {
                continue;
            }
            let entry = wallets.entry(w.address).or_insert_with(|| Wallet {
                chain,
                address: w.address,
                name: Some(service.clone()),
                priority: w.priority,
                balances: amounts(w.address),
                policy: Map::new(),
            });
            entry.priority = entry.priority.min(w.priority);
            entry.policy.insert(w.asset, w.policy());
        }
        if wallets.is_empty() {
            return None;
        }
        let in_flight = c
            .payloads
            .values()
            .map(|p| Transfer {
                chain,
                from: c.cfg.funder,
                to: p.intent.to,
                asset: p.intent.asset,
                amount: p.intent.amount,
                gas_reserved: p.intent.gas_reserved,
                reason: None,
            })
            .collect();
        Some(PlanInput {
            chains: Map::from([(
                chain,
                GasParams {
                    max_fee_per_gas: U256::from(fees.max_fee_per_gas)
                        .saturating_mul(U256::from(c.cfg.fees.gas_reserve_bps))
                        / U256::from(10_000u32),
                    native_transfer_gas: U256::from(c.cfg.native_transfer_gas),
                    erc20_transfer_gas: U256::from(c.cfg.erc20_transfer_gas),
                    l1_fee: U256::ZERO,
                },
            )]),
            sources: vec![Source {
                chain,
                address: c.cfg.funder,
                name: Some("funder".into()),
                balances: amounts(c.cfg.funder),
            }],
            wallets: wallets.into_values().collect(),
            in_flight,
        })
    }

    /// Reserves a nonce for a planned transfer and asks for its signature. False when the nonce
    /// book refuses (the rest of the plan waits for the next round).
    fn send_transfer(&mut self, chain: ChainId, now: Timestamp, t: &Transfer, fees: Fees) -> bool {
        let Some(c) = self.chains.get_mut(&chain) else {
            return false;
        };
        let (body, gas_limit) = if t.asset.is_native() {
            (
                TxBody::Native {
                    to: t.to,
                    value: t.amount,
                },
                c.cfg.native_transfer_gas,
            )
        } else {
            (
                TxBody::Erc20 {
                    token: t.asset.0,
                    to: t.to,
                    amount: t.amount,
                },
                c.cfg.erc20_transfer_gas,
            )
        };
        let policy = c.cfg.nonce;
        match c.book.reserve(Purpose::Payload, now, &policy) {
            Ok((tx, nonce)) => {
                c.payloads.insert(
                    tx,
                    Payload {
                        intent: TransferIntent {
                            to: t.to,
                            asset: t.asset,
                            amount: t.amount,
                            gas_reserved: t.gas_reserved,
                            body,
                            gas_limit,
                        },
                        mined_block: None,
                        confirmed: false,
                    },
                );
                self.event(Event::TransferPlanned {
                    chain,
                    tx,
                    nonce,
                    to: t.to,
                    asset: t.asset,
                    amount: t.amount,
                });
                self.journal(chain, tx);
                self.sign(chain, tx, nonce, body, gas_limit, fees, false);
                true
            }
            Err(error) => {
                self.hold(
                    chain,
                    HoldReason::Nonce {
                        message: error.to_string(),
                    },
                );
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &mut self,
        chain: ChainId,
        tx: TxId,
        nonce: u64,
        body: TxBody,
        gas_limit: u64,
        fees: Fees,
        cancel: bool,
    ) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.busy.insert(Busy::Sign(tx)) {
            return;
        }
        c.signing.insert(tx, (fees, cancel));
        let from = c.cfg.funder;
        self.out.push_back(Output::Sign {
            chain,
            tx,
            request: Box::new(TxRequest {
                from,
                nonce,
                body,
                gas_limit,
                fees,
            }),
        });
    }

    fn journal(&mut self, chain: ChainId, tx: TxId) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        if let Some(record) = c.book.record(tx).cloned() {
            let transfer = c.payloads.get(&tx).map(|p| p.intent);
            self.out.push_back(Output::Journal(Box::new(JournalEntry {
                chain,
                record,
                transfer,
            })));
        }
    }

    /// Journals and settles the records the book finished: a confirmed transfer stays in flight
    /// for the planner until a balance snapshot shows it; a released or lost one is gone.
    fn settle_finished(&mut self, chain: ChainId) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.book.has_finished() {
            return;
        }
        let finished = c.book.drain_finished();
        for record in finished {
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
            let transfer = c.payloads.get(&record.id).map(|p| p.intent);
            let event = match record.state {
                RecordState::Confirmed {
                    hash,
                    block_number,
                    cancelled,
                } => {
                    match c.payloads.get_mut(&record.id) {
                        Some(p) if !cancelled => {
                            p.confirmed = true;
                            p.mined_block = Some(block_number);
                        }
                        Some(_) | None => {
                            c.payloads.remove(&record.id);
                        }
                    }
                    Some(Event::TxConfirmed {
                        chain,
                        tx: record.id,
                        nonce: record.nonce,
                        hash,
                        cancelled,
                    })
                }
                RecordState::Lost => {
                    c.payloads.remove(&record.id);
                    Some(Event::NonceLost {
                        chain,
                        tx: record.id,
                        nonce: record.nonce,
                    })
                }
                RecordState::Released { .. }
                | RecordState::Reserved
                | RecordState::InFlight
                | RecordState::Mined { .. } => {
                    c.payloads.remove(&record.id);
                    None
                }
            };
            self.out.push_back(Output::Journal(Box::new(JournalEntry {
                chain,
                record,
                transfer,
            })));
            if let Some(e) = event {
                self.event(e);
            }
        }
    }

    fn signed(&mut self, now: Timestamp, chain: ChainId, tx: TxId, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.ignored(format!("no chain {chain}"));
            return;
        };
        c.busy.remove(&Busy::Sign(tx));
        let Some((fees, cancel)) = c.signing.remove(&tx) else {
            self.ignored(format!("signature for record {tx} that was not asked for"));
            return;
        };
        if let Err(e) = c.book.signed(tx, hash, fees, TxKind::Standard, cancel, now) {
            self.ignored(e.to_string());
            return;
        }
        // Write-ahead: the journal entry goes out before the broadcast.
        self.journal(chain, tx);
        self.broadcast(now, chain, hash);
    }

    fn broadcast(&mut self, now: Timestamp, chain: ChainId, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        if !c.busy.insert(Busy::Send(hash)) {
            return;
        }
        let round = c.round.id;
        self.call(now, chain, RpcCall::SendRaw { hash }, round);
    }

    fn sign_failed(&mut self, chain: ChainId, tx: TxId, error: &str) {
        let Some(c) = self.chains.get_mut(&chain) else {
            self.ignored(format!("no chain {chain}"));
            return;
        };
        c.busy.remove(&Busy::Sign(tx));
        c.signing.remove(&tx);
        let unsigned = c
            .book
            .record(tx)
            .is_some_and(|r| r.state == RecordState::Reserved);
        if unsigned {
            let _ = c.book.release(tx);
            self.settle_finished(chain);
        }
        self.ignored(format!(
            "signing record {tx} on chain {chain} failed: {error}"
        ));
    }

    /// After a record changed: journal it (if live) and settle whatever finished.
    fn after_record_change(&mut self, chain: ChainId, tx: TxId) {
        self.journal(chain, tx);
        self.settle_finished(chain);
    }

    // -----------------------------------------------------------------------------------------
    // Nonces

    fn run_nonce_plan(&mut self, chain: ChainId, now: Timestamp) {
        let Some(c) = self.chains.get(&chain) else {
            return;
        };
        let policy = c.cfg.nonce;
        let market = c.market.map(|m| m.fees);
        let actions = c.book.plan(now, market, &policy);
        for a in actions {
            match a {
                NonceAction::FillGap { nonce } => {
                    let Some(fees) = market else { continue };
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if let Ok((tx, n)) = c.book.reserve_gap(nonce, now, &policy) {
                        self.journal(chain, tx);
                        self.sign(chain, tx, n, TxBody::Noop, 21_000, fees, false);
                    }
                }
                NonceAction::Replace {
                    id,
                    nonce,
                    fees,
                    cancel,
                } => {
                    let Some(c) = self.chains.get(&chain) else {
                        return;
                    };
                    if c.busy.contains(&Busy::Sign(id)) {
                        continue;
                    }
                    let (body, gas_limit) = match c.payloads.get(&id) {
                        Some(p) if !cancel => (p.intent.body, p.intent.gas_limit),
                        Some(_) | None => (TxBody::Noop, 21_000),
                    };
                    // A node refuses a transaction whose worst cost exceeds the sender's balance:
                    // hold rather than send one that cannot be paid.
                    let value = match body {
                        TxBody::Native { value, .. } => value,
                        TxBody::Erc20 { .. } | TxBody::Noop => U256::ZERO,
                    };
                    let needed = value.saturating_add(
                        U256::from(gas_limit).saturating_mul(U256::from(fees.max_fee_per_gas)),
                    );
                    let available = c
                        .snapshot
                        .as_ref()
                        .and_then(|(_, m)| m.get(&(c.cfg.funder, Asset::NATIVE)));
                    if let Some(available) = available
                        && needed > available
                    {
                        self.hold(chain, HoldReason::Unaffordable { needed, available });
                        continue;
                    }
                    self.event(Event::TxReplaced {
                        chain,
                        tx: id,
                        nonce,
                        fees,
                    });
                    self.sign(chain, id, nonce, body, gas_limit, fees, cancel);
                }
                NonceAction::Rebroadcast { hash, .. } => self.broadcast(now, chain, hash),
                NonceAction::CheckReceipts { id, hashes } => {
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if !c.busy.insert(Busy::Receipts(id)) {
                        continue;
                    }
                    c.receipt_checks.insert(id, (hashes.len(), false));
                    let round = c.round.id;
                    for hash in hashes {
                        self.call(now, chain, RpcCall::Receipt { hash }, round);
                    }
                }
                NonceAction::CheckBlock { number } => {
                    let Some(c) = self.chains.get_mut(&chain) else {
                        return;
                    };
                    if !c.busy.insert(Busy::Block(number)) {
                        continue;
                    }
                    let round = c.round.id;
                    self.call(now, chain, RpcCall::BlockHash { number }, round);
                }
                NonceAction::HeldAtCap { error, .. } => {
                    self.hold(chain, HoldReason::Fees { error });
                }
            }
        }
    }

    fn receipt(&mut self, now: Timestamp, chain: ChainId, hash: B256, receipt: Option<Receipt>) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let Some(tx) = c.book.record_of(hash) else {
            return;
        };
        let Some((due, found)) = c.receipt_checks.get_mut(&tx) else {
            return;
        };
        *due = due.saturating_sub(1);
        if let Some(r) = receipt {
            *found = true;
            if c.book.mined(hash, r.block_number, r.block_hash).is_ok()
                && let Some(p) = c.payloads.get_mut(&tx)
            {
                p.mined_block = Some(r.block_number);
            }
        }
        let (due, found) = *c.receipt_checks.get(&tx).unwrap_or(&(0, true));
        if due > 0 {
            return;
        }
        c.receipt_checks.remove(&tx);
        c.busy.remove(&Busy::Receipts(tx));
        if found {
            self.journal(chain, tx);
            self.run_nonce_plan(chain, now);
            return;
        }
        let policy = c.cfg.nonce;
        let _ = c.book.receipts_missing(tx, &policy);
        self.after_record_change(chain, tx);
    }

    fn block(&mut self, chain: ChainId, number: u64, hash: B256) {
        let Some(c) = self.chains.get_mut(&chain) else {
            return;
        };
        let policy = c.cfg.nonce;
        let at_height: Vec<TxId> = c
            .book
            .records()
            .filter(|r| matches!(r.state, RecordState::Mined { block_number, .. } if block_number == number))
            .map(|r| r.id)
            .collect();
        c.book.block(number, hash, &policy);
        for id in at_height {
            let Some(c) = self.chains.get_mut(&chain) else {
                return;
            };
            if c.book.record(id).is_some() {
                // Reorged away: back in flight.
                if let Some(p) = c.payloads.get_mut(&id) {
                    p.mined_block = None;
                }
                self.journal(chain, id);
            }
        }
        self.settle_finished(chain);
    }
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
                e.transfer.map(|intent| {
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
            snapshot: None,
            signing: Map::new(),
            receipt_checks: Map::new(),
            busy: Set::new(),
            last_shortfalls: Set::new(),
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
    for w in config
        .services
        .iter()
        .flat_map(|s| &s.wallets)
        .filter(|w| w.chain == chain.chain)
    {
        set.insert((chain.funder, w.asset));
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
