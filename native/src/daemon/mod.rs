//! The daemon's driver: owns the engine and carries out its outputs — RPC calls on tokio tasks,
//! signing (journaled before the engine hears of it), journal writes, process spawns and
//! signals, probes — and feeds back what happened as inputs, stamped by the one clock.
//!
//! Run-loop invariant: after every input the driver drains `poll_output` until `None`, then
//! waits for the next input or the engine's deadline.
//!
//! Its rooms: this file (start-up checks, the loop, the outputs dispatched), [`effects`] (RPC
//! calls, signing, probes), [`events`] (events logged and kept), [`view`] (the snapshot the API
//! reads), [`plan`] (the funding plan from the latest reads), [`lifecycle`] (Olas services driven
//! to their target, step by step) and [`api`] (the HTTP API). May
//! call [`crate::chain`], [`crate::agents`], [`crate::store`], [`crate::config`]; never the CLI.

pub mod api;
mod effects;
mod events;
pub mod lifecycle;
pub mod plan;
mod view;

use effects::Watched;

pub use view::{
    BalanceView, ChainView, EndpointView, HealthChange, ServiceView, Shared, Snapshot, lock,
};

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use nix::sys::signal::Signal;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::Engine;
use tend_core::engine::io::{Command, Input, Output, ServiceName};
use tend_core::nonce::RecordState;
use tend_core::time::Timestamp;
use tokio::sync::mpsc;

use crate::agents::pidfile::{DaemonLock, PidError};
use crate::agents::probe::Prober;
use crate::agents::process::{ExitReport, Recovered, Supervisor};
use crate::chain::rpc::{Endpoint, RawStore};
use crate::clock;
use crate::config::Config;
use crate::store::journal::{Journal, JournalError, RawTx};

/// Why the daemon cannot start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// PID file or lock.
    #[error(transparent)]
    Pid(#[from] PidError),
    /// The journal.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The funding key.
    #[error(transparent)]
    Key(#[from] crate::chain::keys::KeyError),
    /// The engine refused the configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A chain could not be reached at start-up.
    #[error("chain {chain}: {message}")]
    Chain {
        /// The chain.
        chain: ChainId,
        /// What failed, with the URLs redacted.
        message: String,
    },
    /// Anything else at start-up (HTTP client, API bind).
    #[error("{0}")]
    Startup(String),
}

impl DaemonError {
    /// The process exit code: 2 for what the operator must fix in the configuration or its
    /// secrets, 3 for another tend on the home, 1 for the rest.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) | Self::Key(_) => 2,
            Self::Pid(PidError::AlreadyRunning { .. }) => 3,
            Self::Pid(_) | Self::Journal(_) | Self::Chain { .. } | Self::Startup(_) => 1,
        }
    }
}

/// A request from the API or the CLI to the running daemon.
#[derive(Debug)]
pub enum Request {
    /// An engine command.
    Command(Command),
    /// Take an Olas service to a goal (`tend olas deploy|stake|unstake|claim|terminate`).
    Goal {
        /// The service.
        service: String,
        /// Where to.
        goal: lifecycle::Goal,
    },
    /// Stop the daemon (and every agent).
    Shutdown,
}

/// The daemon, ready to run.
pub struct Daemon {
    config: Config,
    engine: Engine,
    journal: Journal,
    supervisor: Supervisor,
    endpoints: BTreeMap<ChainId, Vec<Arc<Endpoint>>>,
    signer: PrivateKeySigner,
    /// More owner keys of each chain's funding Safe (`safe_owner_keys_env`).
    safe_owners: BTreeMap<ChainId, Vec<PrivateKeySigner>>,
    raws: RawStore,
    /// Signed transactions whose journal entry has not been written yet (it comes with the
    /// engine's next journal output for the record, before the broadcast).
    unjournaled: BTreeMap<alloy::primitives::B256, RawTx>,
    prober: Prober,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    exits_rx: mpsc::UnboundedReceiver<ExitReport>,
    requests_tx: mpsc::UnboundedSender<Request>,
    requests_rx: mpsc::UnboundedReceiver<Request>,
    local: VecDeque<Input>,
    shared: Arc<Shared>,
    /// The Olas services whose facts ride on each chain's balance read.
    chain_rounds: BTreeMap<ChainId, Arc<crate::chain::round::ChainRound>>,
    /// What those reads found (for the funding reports).
    rounds: crate::chain::round::SharedRounds,
    watched: BTreeMap<u64, Watched>,
    balances: BTreeMap<(ChainId, Address, Asset), (U256, u64)>,
    heads: BTreeMap<ChainId, u64>,
    fees: BTreeMap<ChainId, u128>,
    intents: BTreeMap<(ChainId, u64), tend_core::engine::io::TransferIntent>,
    /// The plan from `balances`, `fees` and `intents` (`None`: not every chain read yet)…
    plan: Option<serde_json::Value>,
    /// … stale when one of them changed since.
    plan_stale: bool,
    history: BTreeMap<String, VecDeque<HealthChange>>,
    funds_status: Arc<Mutex<BTreeMap<String, serde_json::Value>>>,
    started_at: Timestamp,
    stats: Arc<Stats>,
    transfers_confirmed: u64,
    recorder: Option<crate::store::recording::Recorder>,
    /// The Olas services driven to a target.
    lifecycle: lifecycle::Lifecycle,
    _lock: DaemonLock,
}

#[derive(Debug, Default)]
struct Stats {
    rpc_calls: AtomicU64,
    rpc_failures: AtomicU64,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("home", &self.config.home)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// Checks everything that could stop the daemon — the home is free, the funding key
    /// decrypts and matches, every chain answers with the configured chain id — and only then
    /// takes the home: locks it, opens the journal and adopts the agents a previous daemon left.
    pub async fn start(
        mut config: Config,
        record: Option<&std::path::Path>,
    ) -> Result<Self, DaemonError> {
        if let Some(pid) = crate::agents::pidfile::running_daemon(&config.home) {
            return Err(PidError::AlreadyRunning {
                home: config.home.clone(),
                pid: pid.to_string(),
            }
            .into());
        }
        let key_source = config.key.clone();
        let funder = config.funder;
        let signer =
            tokio::task::spawn_blocking(move || crate::chain::keys::load(&key_source, funder))
                .await
                .map_err(|e| DaemonError::Startup(e.to_string()))??;
        let endpoints = crate::chain::rpc::endpoints_of(&config).map_err(DaemonError::Startup)?;
        let safe_owners = crate::chain::safe::owner_keys(&config)?;
        check_on_chain(&mut config, &endpoints, &safe_owners).await?;
        let lock = DaemonLock::acquire(&config.home)?;
        let (journal, entries, raws) = open_journal(&config.home)?;
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let mut supervisor = Supervisor::new(
            &config.home,
            &config.services,
            config.log_max_bytes,
            config.log_keep,
            exits_tx,
        )?;
        let running = recover_agents(&mut supervisor);
        let now = clock::now();
        let running_refs: Vec<&str> = running.iter().map(String::as_str).collect();
        let restored = entries.len();
        let recorder = record
            .map(|path| {
                let header = crate::store::recording::Header::new(
                    &config.engine,
                    now,
                    entries.clone(),
                    running.clone(),
                );
                crate::store::recording::Recorder::create(path, &header)
            })
            .transpose()
            .map_err(|e| DaemonError::Startup(e.to_string()))?;
        let engine = Engine::restore(config.engine.clone(), now, entries, &running_refs)
            .map_err(|e| DaemonError::Config(e.to_string()))?;
        if restored > 0 {
            tracing::info!(records = restored, "journal restored");
        }
        let prober = Prober::new().map_err(DaemonError::Startup)?;
        let (inputs_tx, inputs_rx) = mpsc::unbounded_channel();
        let (requests_tx, requests_rx) = mpsc::unbounded_channel();
        let chain_rounds = crate::chain::round::chain_rounds(&config);
        Ok(Self {
            safe_owners,
            config,
            engine,
            journal,
            supervisor,
            endpoints,
            signer,
            raws,
            unjournaled: BTreeMap::new(),
            prober,
            inputs_tx,
            inputs_rx,
            exits_rx,
            requests_tx,
            requests_rx,
            local: VecDeque::new(),
            shared: Arc::new(Shared::default()),
            chain_rounds,
            rounds: crate::chain::round::SharedRounds::default(),
            watched: BTreeMap::new(),
            balances: BTreeMap::new(),
            heads: BTreeMap::new(),
            fees: BTreeMap::new(),
            intents: BTreeMap::new(),
            plan: None,
            plan_stale: true,
            history: BTreeMap::new(),
            funds_status: Arc::new(Mutex::new(BTreeMap::new())),
            started_at: now,
            stats: Arc::new(Stats::default()),
            transfers_confirmed: 0,
            recorder,
            lifecycle: lifecycle::Lifecycle::default(),
            _lock: lock,
        })
    }

    /// The state the API reads.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// A handle to send requests (commands, shutdown) to the running daemon.
    pub fn requests(&self) -> mpsc::UnboundedSender<Request> {
        self.requests_tx.clone()
    }

    /// What the Olas funding report needs (the configuration and the endpoints).
    pub fn olas_reader(&self) -> crate::chain::olas::OlasReader {
        crate::chain::olas::OlasReader {
            config: Arc::new(self.config.clone()),
            endpoints: self.endpoints.clone(),
            round: Some(self.rounds.clone()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs until Ctrl-C, `SIGTERM` or a shutdown request; then stops every agent (`SIGTERM`,
    /// grace, `SIGKILL`). A journal failure stops the daemon at once and leaves the agents
    /// running (the next daemon adopts them): tend never broadcasts what it could not record.
    pub async fn run(mut self) -> Result<(), DaemonError> {
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| DaemonError::Startup(format!("cannot watch SIGTERM: {e}")))?;
        let mut housekeeping = tokio::time::interval(Duration::from_secs(5));
        let mut last_publish = clock::instant();
        let result = loop {
            if let Err(e) = self.drain() {
                break Err(e);
            }
            if last_publish.elapsed() >= Duration::from_millis(200) {
                self.publish();
                last_publish = clock::instant();
            }
            let deadline = self.engine.poll_deadline();
            let sleep = match deadline {
                Some(t) => Duration::from_millis(t.as_ms().saturating_sub(clock::now().as_ms())),
                None => Duration::from_hours(1),
            };
            if sleep >= Duration::from_millis(crate::store::recording::FLUSH_EVERY_MS) {
                // A long wait: what the recorder buffered goes to the file now.
                self.flush_recording();
            }
            tokio::select! {
                Some(input) = self.inputs_rx.recv() => {
                    self.observe(&input);
                    self.feed(input);
                }
                Some(exit) = self.exits_rx.recv() => {
                    if self.supervisor.exited(&exit) {
                        self.feed(Input::Exited {
                            now: clock::now(),
                            service: ServiceName::from(exit.service.as_str()),
                            status: exit.status,
                        });
                    }
                }
                Some(req) = self.requests_rx.recv() => match req {
                    Request::Command(command) => self.feed(Input::Command { now: clock::now(), command }),
                    Request::Goal { service, goal } => {
                        tracing::info!(service = %service, goal = goal.name(), "life-cycle goal set (until tend restarts; tend.toml's target then)");
                        self.lifecycle.set_goal(&service, goal);
                        self.feed(Input::Command { now: clock::now(), command: Command::FundNow });
                    }
                    Request::Shutdown => break Ok(()),
                },
                () = tokio::time::sleep(sleep) => self.feed(Input::Tick { now: clock::now() }),
                _ = housekeeping.tick() => {
                    self.supervisor.rotate_logs();
                    self.publish();
                }
                _ = tokio::signal::ctrl_c() => break Ok(()),
                _ = sigterm.recv() => break Ok(()),
            }
        };
        match &result {
            Ok(()) => {
                let grace = self
                    .config
                    .engine
                    .services
                    .iter()
                    .map(|s| s.health.stop_grace_ms)
                    .max()
                    .unwrap_or(10_000);
                tracing::info!("stopping: SIGTERM to every agent, up to {grace} ms to exit");
                self.supervisor.stop_all(Duration::from_millis(grace)).await;
                tracing::info!("stopped");
            }
            Err(e) => {
                tracing::error!("{e}; agents are left running for the next tend to adopt");
                self.supervisor.detach_all();
            }
        }
        self.flush_recording();
        self.publish();
        result
    }

    fn flush_recording(&mut self) {
        if let Some(r) = &mut self.recorder
            && let Err(e) = r.flush()
        {
            tracing::error!("recording stopped: {e}");
            self.recorder = None;
        }
    }

    /// Records an input (when recording) and hands it to the engine. A recording that cannot be
    /// written is dropped with an error in the log; funding goes on.
    fn feed(&mut self, input: Input) {
        if let Some(r) = &mut self.recorder
            && let Err(e) = r.input(&input)
        {
            tracing::error!("recording stopped: {e}");
            self.recorder = None;
        }
        self.engine.handle_input(input);
    }

    /// Drains every output (and the inputs they produce at once) until the engine is idle.
    fn drain(&mut self) -> Result<(), DaemonError> {
        loop {
            while let Some(out) = self.engine.poll_output() {
                self.execute(out)?;
            }
            match self.local.pop_front() {
                Some(input) => self.feed(input),
                None => return Ok(()),
            }
        }
    }

    fn execute(&mut self, out: Output) -> Result<(), DaemonError> {
        match out {
            Output::Rpc {
                id,
                chain,
                endpoint,
                call,
                timeout_ms,
            } => self.rpc(id, chain, endpoint, call, timeout_ms),
            Output::Sign { chain, tx, request } => {
                let now = clock::now();
                match self.sign(chain, tx, &request) {
                    Ok(hash) => self.local.push_back(Input::Signed {
                        now,
                        chain,
                        tx,
                        hash,
                    }),
                    Err(error) => {
                        tracing::error!(chain = %chain, tx, "signing failed: {error}");
                        self.local.push_back(Input::SignFailed {
                            now,
                            chain,
                            tx,
                            error,
                        });
                    }
                }
            }
            Output::Journal(entry) => {
                // A new attempt's raw transaction goes into the journal with the entry that
                // lists it, in one transaction.
                let fresh = entry
                    .record
                    .attempts
                    .iter()
                    .find_map(|a| self.unjournaled.remove(&a.hash));
                match fresh {
                    Some(raw) => self.journal.put_signed(&entry, &raw)?,
                    None => self.journal.put_entry(&entry)?,
                }
                let key = (entry.chain, entry.record.id);
                match (entry.transfer, entry.record.state) {
                    (
                        Some(t),
                        RecordState::Reserved | RecordState::InFlight | RecordState::Mined { .. },
                    ) => {
                        self.intents.insert(key, t);
                        self.plan_stale = true;
                    }
                    _ => {
                        if self.intents.remove(&key).is_some() {
                            self.plan_stale = true;
                        }
                    }
                }
            }
            Output::Spawn { service } => {
                let now = clock::now();
                match self.supervisor.spawn(&service, now.as_ms()) {
                    Ok(pid) => {
                        tracing::info!(service = %service, pid, "agent started");
                        self.local.push_back(Input::Spawned { now, service });
                    }
                    Err(error) => {
                        tracing::warn!(service = %service, "agent could not start: {error}");
                        self.local.push_back(Input::SpawnFailed {
                            now,
                            service,
                            error,
                        });
                    }
                }
            }
            Output::Terminate { service } => {
                tracing::info!(service = %service, "SIGTERM to the agent's process group");
                self.supervisor.signal(&service, Signal::SIGTERM);
            }
            Output::Kill { service } => {
                tracing::warn!(service = %service, "SIGKILL to the agent's process group (grace period over)");
                self.supervisor.signal(&service, Signal::SIGKILL);
            }
            Output::Probe {
                service,
                timeout_ms,
            } => self.probe(service, timeout_ms),
            Output::Event(event) => self.event(event),
        }
        Ok(())
    }
}

/// Opens the journal: its entries (with the signed transactions their records do not list
/// added as attempts) and the raw transactions by hash.
fn open_journal(
    home: &std::path::Path,
) -> Result<(Journal, Vec<tend_core::engine::io::JournalEntry>, RawStore), DaemonError> {
    let journal = Journal::open(&home.join("journal.sqlite"))?;
    let stored = journal.raws()?;
    let (entries, repaired) =
        crate::store::journal::with_stored_attempts(journal.entries()?, &stored);
    if repaired > 0 {
        tracing::warn!(
            attempts = repaired,
            "the journal held signed transactions its records did not list: they count as sent"
        );
    }
    let raws: RawStore = Arc::new(Mutex::new(
        stored
            .into_iter()
            .map(|r| (r.hash, Bytes::from(r.raw)))
            .collect(),
    ));
    Ok((journal, entries, raws))
}

/// Start-up: the agents a previous daemon left, adopted or cleaned up (logged); the names of
/// the adopted ones.
fn recover_agents(supervisor: &mut Supervisor) -> Vec<String> {
    let mut running = Vec::new();
    for (service, found) in supervisor.recover() {
        match found {
            Recovered::Nothing => {}
            Recovered::Adopted { pid } => {
                tracing::info!(service = %service, pid, "adopted the agent a previous tend left running");
                running.push(service);
            }
            Recovered::Retired { pid } => {
                tracing::warn!(service = %service, pid, "service no longer configured: its agent was sent SIGTERM");
            }
            Recovered::Stale { reason } => {
                tracing::warn!(service = %service, "stale PID file cleared: {reason}");
            }
        }
    }
    running
}

/// What start-up asks the chains before anything runs: each chain is the one configured, wallets
/// that are contracts, the Olas services in their registries, the funding Safes usable.
async fn check_on_chain(
    config: &mut Config,
    endpoints: &crate::chain::rpc::Endpoints,
    safe_owners: &BTreeMap<ChainId, Vec<PrivateKeySigner>>,
) -> Result<(), DaemonError> {
    for (chain, eps) in endpoints {
        check_chain(*chain, eps).await?;
    }
    contract_wallet_gas(config, endpoints).await;
    let problems = crate::chain::olas::check_registries(config, endpoints).await;
    if !problems.is_empty() {
        let lines: Vec<String> = problems.into_iter().map(|(_, m)| m).collect();
        return Err(DaemonError::Config(lines.join("; ")));
    }
    // A funding Safe the key cannot sign for is refused before anything is signed; one the
    // chain cannot be asked about now is checked by every round's nonce read.
    let (wrong, unreachable): (Vec<_>, Vec<_>) =
        crate::chain::safe::check_safes(config, endpoints, Some(safe_owners))
            .await
            .into_iter()
            .filter_map(|(_, _, checked)| checked.err())
            .partition(crate::chain::safe::SafeError::is_config);
    if !wrong.is_empty() {
        let lines: Vec<String> = wrong.iter().map(ToString::to_string).collect();
        return Err(DaemonError::Config(lines.join("; ")));
    }
    for e in unreachable {
        tracing::warn!("{e}; funding from it waits until its nonce can be read");
    }
    Ok(())
}

/// Native top-ups to a contract wallet (a Safe: its `receive` emits an event) need more than
/// 21,000 gas, and a transfer that runs out of gas reverts. A chain whose native wallets include a
/// contract sends native top-ups with
/// [`CONTRACT_NATIVE_TRANSFER_GAS`] (only the gas used is paid; the limit is an upper bound).
async fn contract_wallet_gas(
    config: &mut Config,
    endpoints: &BTreeMap<ChainId, Vec<Arc<Endpoint>>>,
) {
    for chain in &mut config.engine.chains {
        if chain.native_transfer_gas != tend_core::funding::plan::NATIVE_TRANSFER_GAS {
            continue;
        }
        let Some(ep) = endpoints.get(&chain.chain).and_then(|e| e.first()) else {
            continue;
        };
        let wallets: Vec<Address> = config
            .engine
            .services
            .iter()
            .flat_map(|s| &s.wallets)
            .filter(|w| w.chain == chain.chain && w.asset.is_native())
            .map(|w| w.address)
            .collect();
        for w in wallets {
            let code: Result<alloy::primitives::Bytes, _> = tokio::time::timeout(
                Duration::from_secs(5),
                ep.request("eth_getCode", (w, "latest")),
            )
            .await
            .unwrap_or(Err(tend_core::rpc::RpcFailure::MissingResponse));
            if code.is_ok_and(|c| !c.is_empty()) {
                tracing::info!(
                    chain = %chain.chain,
                    wallet = %w,
                    gas = CONTRACT_NATIVE_TRANSFER_GAS,
                    "a wallet is a contract: native top-ups on this chain use a higher gas limit"
                );
                chain.native_transfer_gas = CONTRACT_NATIVE_TRANSFER_GAS;
                break;
            }
        }
    }
}

/// The gas limit of native top-ups on a chain with a contract wallet (a Safe 1.3.0 proxy's
/// `receive` takes about 24,000 gas in all; generous for other wallet contracts).
pub const CONTRACT_NATIVE_TRANSFER_GAS: u64 = 60_000;

/// Asks every endpoint of a chain for its chain id; fails when none answers or one serves
/// another chain.
async fn check_chain(chain: ChainId, eps: &[Arc<Endpoint>]) -> Result<(), DaemonError> {
    let mut problems = Vec::new();
    let mut ok = false;
    for ep in eps {
        match tokio::time::timeout(Duration::from_secs(5), ep.chain_id()).await {
            Ok(Ok(id)) if id == chain.0 => ok = true,
            Ok(Ok(id)) => {
                return Err(DaemonError::Chain {
                    chain,
                    message: format!(
                        "endpoint {} serves chain id {id}, not {}: fix its URL in tend.toml",
                        ep.url(),
                        chain.0
                    ),
                });
            }
            Ok(Err(f)) => problems.push(format!("{}: {f}", ep.url())),
            Err(_) => problems.push(format!("{}: no answer within 5 s", ep.url())),
        }
    }
    if ok {
        for p in problems {
            tracing::warn!(chain = %chain, "endpoint unreachable at start-up: {p}");
        }
        Ok(())
    } else {
        Err(DaemonError::Chain {
            chain,
            message: format!(
                "no RPC endpoint answered ({}); check the URLs and the network",
                problems.join("; ")
            ),
        })
    }
}
