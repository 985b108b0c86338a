//! The daemon's driver: owns the engine and carries out its outputs — RPC calls on tokio tasks,
//! signing (journaled before the engine hears of it), journal writes, process spawns and
//! signals, probes — and feeds back what happened as inputs, stamped by the one clock.
//!
//! Run-loop invariant: after every input the driver drains `poll_output` until `None`, then
//! waits for the next input or the engine's deadline.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use nix::sys::signal::Signal;
use serde::Serialize;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::Engine;
use tend_core::engine::io::{
    Command, Event, HoldReason, Input, Output, RpcAnswer, RpcCall, ServiceName, TxBody, TxRequest,
};
use tend_core::health::{ProbeResult, Status};
use tend_core::nonce::{RecordState, TxRecord};
use tend_core::time::Timestamp;
use tokio::sync::mpsc;

use crate::clock;
use crate::config::Config;
use crate::journal::{Journal, JournalError, RawTx};
use crate::pidfile::{DaemonLock, PidError};
use crate::probe::Prober;
use crate::process::{ExitReport, Recovered, Supervisor};
use crate::rpc::{Endpoint, RawStore, transferCall};

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
    Key(#[from] crate::keys::KeyError),
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
    /// Stop the daemon (and every agent).
    Shutdown,
}

/// One service as the API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ServiceView {
    /// The name.
    pub name: String,
    /// The status.
    pub status: Status,
    /// Why, for a person.
    pub reason: String,
    /// The agent's PID when running.
    pub pid: Option<u32>,
    /// Restarts so far (this daemon's life).
    pub restarts: u64,
    /// Health history: the latest status changes, oldest first.
    pub history: Vec<HealthChange>,
    /// The agent's funds-status document, when configured and read.
    pub funds_status: Option<serde_json::Value>,
}

/// A status change.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct HealthChange {
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// The status.
    pub status: Status,
    /// Why.
    pub reason: String,
}

/// A wallet balance as last read.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BalanceView {
    /// The chain.
    pub chain: ChainId,
    /// The holder.
    pub holder: Address,
    /// The asset.
    pub asset: Asset,
    /// The balance, smallest unit, decimal.
    pub balance: String,
    /// The block it was read at.
    pub block: u64,
}

/// One endpoint as the API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EndpointView {
    /// The URL, redacted.
    pub url: String,
    /// Its standing (breaker, score, head, lag), when the engine has one.
    pub status: Option<tend_core::rpc::EndpointStatus>,
}

/// One chain as the API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ChainView {
    /// The chain.
    pub chain: ChainId,
    /// The funding key.
    pub funder: Address,
    /// The endpoints (redacted URLs) and their standing.
    pub endpoints: Vec<EndpointView>,
    /// The last head seen.
    pub head: Option<u64>,
    /// The nonce book's records.
    pub records: Vec<TxRecord>,
}

/// What the daemon publishes for the API after each batch of work.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The daemon's PID.
    pub pid: u32,
    /// When it started, ms since the epoch.
    pub started_at_ms: u64,
    /// When this snapshot was taken.
    pub now_ms: u64,
    /// Inputs handled.
    pub inputs: u64,
    /// Services.
    pub services: Vec<ServiceView>,
    /// Chains.
    pub chains: Vec<ChainView>,
    /// The latest balances.
    pub balances: Vec<BalanceView>,
    /// Funding transfers sent and confirmed since start.
    pub transfers_confirmed: u64,
    /// RPC calls made since start.
    pub rpc_calls: u64,
    /// RPC calls that failed.
    pub rpc_failures: u64,
    /// The funding plan from the latest balances and fees, counting transfers in flight (what
    /// the next poll would send); `null` until every chain has been read.
    pub plan: Option<serde_json::Value>,
}

/// Shared between the driver (writer) and the API (readers).
#[derive(Debug, Default)]
pub struct Shared {
    /// The latest snapshot.
    pub snapshot: Mutex<Snapshot>,
    /// The latest events (newest last), with their time.
    pub events: Mutex<VecDeque<(u64, Event)>>,
}

const EVENTS_KEPT: usize = 500;
const HISTORY_KEPT: usize = 50;

/// The daemon, ready to run.
pub struct Daemon {
    config: Config,
    engine: Engine,
    journal: Journal,
    supervisor: Supervisor,
    endpoints: BTreeMap<ChainId, Vec<Arc<Endpoint>>>,
    signer: PrivateKeySigner,
    raws: RawStore,
    prober: Prober,
    inputs_tx: mpsc::UnboundedSender<Input>,
    inputs_rx: mpsc::UnboundedReceiver<Input>,
    exits_rx: mpsc::UnboundedReceiver<ExitReport>,
    requests_tx: mpsc::UnboundedSender<Request>,
    requests_rx: mpsc::UnboundedReceiver<Request>,
    local: VecDeque<Input>,
    shared: Arc<Shared>,
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
    recorder: Option<crate::recording::Recorder>,
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

/// Locks a mutex, recovering from poisoning (the data are snapshots).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Daemon {
    /// Checks everything that could stop the daemon — the home is free, the funding key
    /// decrypts and matches, every chain answers with the configured chain id — and only then
    /// takes the home: locks it, opens the journal and adopts the agents a previous daemon left.
    pub async fn start(
        config: Config,
        record: Option<&std::path::Path>,
    ) -> Result<Self, DaemonError> {
        if let Some(pid) = crate::pidfile::running_daemon(&config.home) {
            return Err(PidError::AlreadyRunning {
                home: config.home.clone(),
                pid: pid.to_string(),
            }
            .into());
        }
        let key_source = config.key.clone();
        let funder = config.funder;
        let signer = tokio::task::spawn_blocking(move || crate::keys::load(&key_source, funder))
            .await
            .map_err(|e| DaemonError::Startup(e.to_string()))??;
        let mut endpoints = BTreeMap::new();
        for spec in &config.chains {
            let eps = spec
                .rpc
                .iter()
                .map(|u| Endpoint::new(u.clone(), spec.multicall).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()
                .map_err(DaemonError::Startup)?;
            check_chain(spec.chain, &eps).await?;
            endpoints.insert(spec.chain, eps);
        }
        let lock = DaemonLock::acquire(&config.home)?;
        let journal = Journal::open(&config.home.join("journal.sqlite"))?;
        let entries = journal.entries()?;
        let raws: RawStore = Arc::new(Mutex::new(
            journal
                .raws()?
                .into_iter()
                .map(|r| (r.hash, Bytes::from(r.raw)))
                .collect(),
        ));
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
                let header = crate::recording::Header::new(
                    &config.engine,
                    now,
                    entries.clone(),
                    running.clone(),
                );
                crate::recording::Recorder::create(path, &header)
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
        Ok(Self {
            config,
            engine,
            journal,
            supervisor,
            endpoints,
            signer,
            raws,
            prober,
            inputs_tx,
            inputs_rx,
            exits_rx,
            requests_tx,
            requests_rx,
            local: VecDeque::new(),
            shared: Arc::new(Shared::default()),
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
    pub fn olas_reader(&self) -> crate::olas::OlasReader {
        crate::olas::OlasReader {
            config: Arc::new(self.config.clone()),
            endpoints: self.endpoints.clone(),
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
            if sleep >= Duration::from_millis(crate::recording::FLUSH_EVERY_MS) {
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
                    Err(SignError::Journal(e)) => return Err(e.into()),
                    Err(SignError::Sign(error)) => {
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
                self.journal.put_entry(&entry)?;
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

    fn rpc(&mut self, id: u64, chain: ChainId, endpoint: usize, call: RpcCall, timeout_ms: u64) {
        let Some(ep) = self
            .endpoints
            .get(&chain)
            .and_then(|eps| eps.get(endpoint))
            .cloned()
        else {
            self.local.push_back(Input::RpcResponse {
                now: clock::now(),
                id,
                latency_ms: 0,
                result: Err(tend_core::rpc::RpcFailure::Transport {
                    message: format!("no endpoint {endpoint} on chain {chain}"),
                }),
            });
            return;
        };
        match &call {
            RpcCall::Balances { entries, .. } => {
                self.watched
                    .insert(id, Watched::Balances(chain, entries.clone()));
            }
            RpcCall::Head => {
                self.watched.insert(id, Watched::Head(chain));
            }
            RpcCall::FeeHistory { .. } => {
                self.watched.insert(id, Watched::Fees(chain));
            }
            RpcCall::BlockHash { .. }
            | RpcCall::TransactionCounts { .. }
            | RpcCall::SendRaw { .. }
            | RpcCall::Receipt { .. } => {}
        }
        let raws = self.raws.clone();
        let tx = self.inputs_tx.clone();
        let stats = self.stats.clone();
        tokio::spawn(async move {
            let started = clock::instant();
            stats.rpc_calls.fetch_add(1, Ordering::Relaxed);
            let result = ep
                .execute(&call, &raws, Duration::from_millis(timeout_ms))
                .await;
            if let Err(f) = &result {
                stats.rpc_failures.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(chain = %chain, endpoint = %ep.url(), method = call.method(), "RPC failed: {f:?}");
            }
            let _ = tx.send(Input::RpcResponse {
                now: clock::now(),
                id,
                latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                result,
            });
        });
    }

    /// Signs, stores the raw transaction durably, and only then reports the hash.
    fn sign(
        &mut self,
        chain: ChainId,
        record: u64,
        req: &TxRequest,
    ) -> Result<alloy::primitives::B256, SignError> {
        let (raw, hash) = sign_eip1559(&self.signer, chain, req).map_err(SignError::Sign)?;
        self.journal
            .put_raw(&RawTx {
                chain,
                record,
                nonce: req.nonce,
                hash,
                raw: raw.to_vec(),
            })
            .map_err(SignError::Journal)?;
        lock(&self.raws).insert(hash, raw);
        Ok(hash)
    }

    fn probe(&mut self, service: ServiceName, timeout_ms: u64) {
        let spec = self.config.service(&service);
        let health_url = spec.and_then(|s| s.health_url.clone());
        let funds_url = spec.and_then(|s| s.funds_status_url.clone());
        let prober = self.prober.clone();
        let tx = self.inputs_tx.clone();
        let funds = self.funds_status.clone();
        tokio::spawn(async move {
            let timeout = Duration::from_millis(timeout_ms);
            let result = match &health_url {
                Some(url) => prober.probe(url, timeout).await,
                // No health URL: the process being alive is the health.
                None => ProbeResult::Http {
                    status: 200,
                    latency_ms: 0,
                    body: None,
                },
            };
            let _ = tx.send(Input::Probed {
                now: clock::now(),
                service: service.clone(),
                result,
            });
            if let Some(url) = funds_url
                && let Some(doc) = prober.fetch_json(&url, timeout).await
            {
                lock(&funds).insert(service.to_string(), doc);
            }
        });
    }

    fn event(&mut self, event: Event) {
        let now = clock::now().as_ms();
        log_event(&event);
        match &event {
            Event::Health {
                service,
                status,
                reason,
            } => {
                let h = self.history.entry(service.to_string()).or_default();
                h.push_back(HealthChange {
                    at_ms: now,
                    status: *status,
                    reason: reason.to_string(),
                });
                while h.len() > HISTORY_KEPT {
                    h.pop_front();
                }
            }
            Event::TxConfirmed { .. } => self.transfers_confirmed += 1,
            Event::Alert { .. }
            | Event::TransferPlanned { .. }
            | Event::TxReplaced { .. }
            | Event::SendRejected { .. }
            | Event::FundingHeld { .. }
            | Event::Shortfall { .. }
            | Event::NonceLost { .. }
            | Event::DeepReorg { .. }
            | Event::Chain { .. }
            | Event::RpcFailed { .. }
            | Event::Ignored { .. } => {}
        }
        let mut events = lock(&self.shared.events);
        events.push_back((now, event));
        while events.len() > EVENTS_KEPT {
            events.pop_front();
        }
    }

    /// Records what an input says that the API shows (balances, heads) before the engine takes
    /// it. Called by the loop for RPC answers.
    fn observe(&mut self, input: &Input) {
        if let Input::RpcResponse { id, result, .. } = input {
            match (self.watched.remove(id), result) {
                (
                    Some(Watched::Balances(chain, entries)),
                    Ok(RpcAnswer::Balances { block, values }),
                ) => {
                    for ((holder, asset), v) in entries.iter().zip(values) {
                        self.balances.insert((chain, *holder, *asset), (*v, *block));
                        self.plan_stale = true;
                    }
                }
                (Some(Watched::Fees(chain)), Ok(RpcAnswer::FeeHistory(history))) => {
                    if let Some(c) = self.config.engine.chains.iter().find(|c| c.chain == chain)
                        && let Ok(est) = tend_core::fees::estimate(history, &c.fees)
                    {
                        self.fees.insert(chain, est.fees.max_fee_per_gas);
                        self.plan_stale = true;
                    }
                }
                (Some(Watched::Head(chain)), Ok(RpcAnswer::Head { number, .. })) => {
                    let h = self.heads.entry(chain).or_default();
                    *h = (*h).max(*number);
                }
                _ => {}
            }
        }
    }

    /// Publishes a snapshot for the API.
    fn publish(&mut self) {
        let now = clock::now().as_ms();
        let services = self
            .config
            .services
            .iter()
            .map(|s| {
                let m = self.engine.service(&s.name);
                let (status, reason, restarts) =
                    m.map_or((Status::Stopped, String::new(), 0), |m| {
                        let v = m.verdict();
                        (v.status, v.reason.to_string(), m.restarts())
                    });
                ServiceView {
                    name: s.name.clone(),
                    status,
                    reason,
                    pid: self.supervisor.pid(&s.name),
                    restarts,
                    history: self
                        .history
                        .get(&s.name)
                        .map(|h| h.iter().cloned().collect())
                        .unwrap_or_default(),
                    funds_status: lock(&self.funds_status).get(&s.name).cloned(),
                }
            })
            .collect();
        let chains = self
            .config
            .chains
            .iter()
            .map(|c| ChainView {
                chain: c.chain,
                funder: self.config.funder,
                endpoints: {
                    let status = self
                        .engine
                        .endpoints(c.chain)
                        .map(tend_core::rpc::EndpointSet::status)
                        .unwrap_or_default();
                    c.rpc
                        .iter()
                        .enumerate()
                        .map(|(i, u)| EndpointView {
                            url: u.to_string(),
                            status: status.get(i).copied(),
                        })
                        .collect()
                },
                head: self.heads.get(&c.chain).copied(),
                records: self
                    .engine
                    .nonce_book(c.chain)
                    .map(|b| b.records().cloned().collect())
                    .unwrap_or_default(),
            })
            .collect();
        let balances = self
            .balances
            .iter()
            .map(|((chain, holder, asset), (v, block))| BalanceView {
                chain: *chain,
                holder: *holder,
                asset: *asset,
                balance: v.to_string(),
                block: *block,
            })
            .collect();
        *lock(&self.shared.snapshot) = Snapshot {
            pid: std::process::id(),
            started_at_ms: self.started_at.as_ms(),
            now_ms: now,
            inputs: self.engine.inputs_handled(),
            services,
            chains,
            balances,
            transfers_confirmed: self.transfers_confirmed,
            rpc_calls: self.stats.rpc_calls.load(Ordering::Relaxed),
            rpc_failures: self.stats.rpc_failures.load(Ordering::Relaxed),
            plan: self.plan(),
        };
    }
}

impl Daemon {
    /// The plan the latest reads give, with what is in flight counted as done.
    /// Computed again only after balances, fees or the transfers in flight changed.
    fn plan(&mut self) -> Option<serde_json::Value> {
        if self.plan_stale {
            self.plan = self.compute_plan();
            self.plan_stale = false;
        }
        self.plan.clone()
    }

    fn compute_plan(&self) -> Option<serde_json::Value> {
        if self.fees.len() < self.config.engine.chains.len() {
            return None;
        }
        let in_flight = self
            .intents
            .iter()
            .map(|((chain, _), t)| tend_core::funding::plan::Transfer {
                chain: *chain,
                from: self.config.funder,
                to: t.to,
                asset: t.asset,
                amount: t.amount,
                gas_reserved: t.gas_reserved,
                reason: None,
            })
            .collect();
        let input = crate::funding::plan_input(
            &self.config,
            &self.fees,
            |c, h, a| self.balances.get(&(c, h, a)).map(|(v, _)| *v),
            in_flight,
        );
        let plan = tend_core::funding::plan::plan(&input).ok()?;
        serde_json::to_value(&plan).ok()
    }
}

enum Watched {
    Head(ChainId),
    Balances(ChainId, Vec<(Address, Asset)>),
    Fees(ChainId),
}

enum SignError {
    Sign(String),
    Journal(JournalError),
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

/// Signs an EIP-1559 transaction; returns its EIP-2718 encoding and hash.
pub fn sign_eip1559(
    signer: &PrivateKeySigner,
    chain: ChainId,
    req: &TxRequest,
) -> Result<(Bytes, alloy::primitives::B256), String> {
    let (to, value, input) = match req.body {
        TxBody::Native { to, value } => (to, value, Bytes::new()),
        TxBody::Erc20 { token, to, amount } => (
            token,
            U256::ZERO,
            Bytes::from(transferCall { to, amount }.abi_encode()),
        ),
        TxBody::Noop => (req.from, U256::ZERO, Bytes::new()),
    };
    if signer.address() != req.from {
        return Err(format!(
            "the engine asked to sign from {}, but the funding key is {}",
            req.from,
            signer.address()
        ));
    }
    let mut tx = TxEip1559 {
        chain_id: chain.0,
        nonce: req.nonce,
        gas_limit: req.gas_limit,
        max_fee_per_gas: req.fees.max_fee_per_gas,
        max_priority_fee_per_gas: req.fees.max_priority_fee_per_gas,
        to: TxKind::Call(to),
        value,
        access_list: alloy::eips::eip2930::AccessList::default(),
        input,
    };
    let sig = signer
        .sign_transaction_sync(&mut tx)
        .map_err(|e| e.to_string())?;
    let sealed = tx.into_signed(sig);
    let hash = *sealed.hash();
    let envelope = TxEnvelope::from(sealed);
    Ok((Bytes::from(envelope.encoded_2718()), hash))
}

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

/// Logs an event with its fields.
fn log_event(event: &Event) {
    match event {
        Event::Health {
            service,
            status,
            reason,
        } => tracing::info!(service = %service, status = ?status, "health: {status:?} ({reason})"),
        Event::Alert { service, reason } => {
            tracing::error!(service = %service, "agent FAILED, an operator must act: {reason}");
        }
        Event::TransferPlanned {
            chain,
            tx,
            nonce,
            to,
            asset,
            amount,
        } => {
            tracing::info!(chain = %chain, tx, nonce, to = %to, asset = %asset, amount = %amount, "transfer planned");
        }
        Event::TxConfirmed {
            chain,
            tx,
            nonce,
            hash,
            cancelled,
        } => {
            tracing::info!(chain = %chain, tx, nonce, hash = %hash, cancelled, "transaction confirmed");
        }
        Event::TxReplaced {
            chain,
            tx,
            nonce,
            fees,
        } => {
            tracing::warn!(chain = %chain, tx, nonce, max_fee = fees.max_fee_per_gas, tip = fees.max_priority_fee_per_gas, "transaction replaced with higher fees");
        }
        Event::SendRejected { chain, tx, class } => {
            tracing::warn!(chain = %chain, tx, "broadcast rejected: {class:?}");
        }
        Event::FundingHeld {
            chain,
            reason: HoldReason::Nonce { message },
        } => tracing::info!(chain = %chain, "funding waits: {message}"),
        Event::FundingHeld { chain, reason } => {
            tracing::warn!(chain = %chain, "funding held: {reason:?}");
        }
        Event::Shortfall {
            chain,
            holder,
            asset,
            missing,
            message,
        } => {
            tracing::warn!(chain = %chain, holder = %holder, asset = %asset, missing = %missing, "shortfall: {message}");
        }
        Event::NonceLost { chain, tx, nonce } => {
            tracing::error!(chain = %chain, tx, nonce, "nonce taken by a transaction that is not tend's: is the funding key used elsewhere?");
        }
        Event::DeepReorg {
            chain,
            confirmed,
            now_count,
        } => {
            tracing::error!(chain = %chain, confirmed, now_count, "reorg deeper than the confirmation depth: raise confirmations");
        }
        Event::Chain { chain, verdict } => tracing::info!(chain = %chain, "chain: {verdict:?}"),
        Event::RpcFailed {
            chain,
            method,
            failure,
        } => {
            tracing::warn!(chain = %chain, method = %method, "RPC failed after retries: {failure:?}");
        }
        Event::Ignored { reason } => tracing::debug!("input ignored: {reason}"),
    }
}
