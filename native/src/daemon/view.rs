//! What the daemon shows: the snapshot it publishes for the API after each batch of work
//! (services, chains, balances, the plan), the latest events and each service's health history.
//! Written by the driver only; read by the API through [`Shared`].

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use alloy::primitives::Address;
use serde::Serialize;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{Event, Input, RpcAnswer};
use tend_core::health::Status;
use tend_core::nonce::TxRecord;

use super::Daemon;
use super::effects::Watched;
use crate::clock;

/// One service as the API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ServiceView {
    /// The name.
    pub name: String,
    /// The status.
    pub status: Status,
    /// Why, for a person.
    pub reason: String,
    /// Whether a process is supervised (false: the service only has wallets kept funded).
    #[serde(default = "yes")]
    pub agent: bool,
    /// The agent's PID when running.
    pub pid: Option<u32>,
    /// Restarts so far (this daemon's life).
    pub restarts: u64,
    /// Health history: the latest status changes, oldest first.
    pub history: Vec<HealthChange>,
    /// The agent's funds-status document, when configured and read.
    pub funds_status: Option<serde_json::Value>,
    /// Where the service is on its way to its on-chain target, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<super::lifecycle::LifecycleView>,
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
    /// The Safe that pays this chain's top-ups (the funding key sends and pays the gas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe: Option<SafeView>,
    /// The endpoints (redacted URLs) and their standing.
    pub endpoints: Vec<EndpointView>,
    /// The last head seen.
    pub head: Option<u64>,
    /// The nonce book's records.
    pub records: Vec<TxRecord>,
}

/// A chain's funding Safe as the API shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SafeView {
    /// The Safe.
    pub address: Address,
    /// The MultiSend it batches with.
    pub multisend: Address,
    /// Its `nonce()` at the latest balance read (`None` before the first).
    pub nonce: Option<u64>,
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

fn yes() -> bool {
    true
}

/// Locks a mutex, recovering from poisoning (the data are snapshots).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
impl Daemon {
    /// Records what an input says that the API shows (balances, heads) before the engine takes
    /// it. Called by the loop for RPC answers.
    pub(super) fn observe(&mut self, input: &Input) {
        if let Input::RpcResponse { id, result, .. } = input {
            match (self.watched.remove(id), result) {
                (
                    Some(Watched::Balances(chain, entries)),
                    Ok(RpcAnswer::Balances { block, values, .. }),
                ) => {
                    for ((holder, asset), v) in entries.iter().zip(values) {
                        self.balances.insert((chain, *holder, *asset), (*v, *block));
                        self.plan_stale = true;
                    }
                    self.drive_lifecycle(chain);
                }
                (Some(Watched::Fees(chain)), Ok(RpcAnswer::FeeHistory(history))) => {
                    if let Some(c) = self.config.engine.chains.iter().find(|c| c.chain == chain)
                        && let Ok(est) = tend_core::fees::estimate(history, &c.fees)
                    {
                        self.fees.insert(chain, est.fees.max_fee_per_gas);
                        self.plan_stale = true;
                    }
                }
                (
                    Some(Watched::Head(chain)),
                    Ok(RpcAnswer::Head {
                        number, timestamp, ..
                    }),
                ) => {
                    let h = self.heads.entry(chain).or_default();
                    *h = (*h).max(*number);
                    self.lifecycle.saw_head(chain, *timestamp);
                }
                _ => {}
            }
        }
    }

    /// Publishes a snapshot for the API.
    pub(super) fn publish(&mut self) {
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
                    reason: if s.has_agent() {
                        reason
                    } else {
                        "funding only: no agent process is configured".into()
                    },
                    agent: s.has_agent(),
                    pid: self.supervisor.pid(&s.name),
                    restarts,
                    history: self
                        .history
                        .get(&s.name)
                        .map(|h| h.iter().cloned().collect())
                        .unwrap_or_default(),
                    funds_status: lock(&self.funds_status).get(&s.name).cloned(),
                    lifecycle: self.lifecycle.view(&s.name),
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
                safe: self
                    .config
                    .engine
                    .chains
                    .iter()
                    .find(|e| e.chain == c.chain)
                    .and_then(|e| e.safe)
                    .map(|s| SafeView {
                        address: s.address,
                        multisend: s.multisend,
                        nonce: self.engine.safe_nonce(c.chain),
                    }),
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
