//! What-if on recorded history: the same inputs, another configuration, the decisions compared.
//!
//! Two engines run side by side: the recorded configuration (the baseline, which tells what
//! each recorded answer answers) and the other one. Each recorded input goes to the baseline as
//! it is; to the other engine it is translated:
//!
//! - an RPC answer goes to the other engine's pending request for the same call (chain, method
//!   and parameters); an answer to a call it did not make is dropped, and a call the recording
//!   never answered times out in the engine, as on a live chain;
//! - `Signed` goes to the other engine's pending signature of the same transaction; a
//!   transaction the recorded run never signed is assumed signed (a deterministic stand-in
//!   hash);
//! - spawns, exits and probe results of a service go to the other engine when it waits for
//!   them; a spawn or a stop the recorded run did not do is assumed to succeed at once;
//! - ticks and operator commands pass through.
//!
//! The history is the recorded chain's and agents': what the other configuration would have
//! changed in the world (a transfer that was never made, an agent that was never restarted) is
//! not invented. The first decisions that differ are exact; later ones are an estimate.

use crate::map::{Map, Set};
use std::fmt;

use alloy_primitives::{Address, B256, U256, keccak256};
use serde::Serialize;

use crate::address::Asset;
use crate::chain::ChainId;
use crate::engine::Engine;
use crate::engine::config::EngineConfig;
use crate::engine::io::{Event, Input, Output, RequestId, RpcCall, ServiceName, TxRequest};
use crate::health::{ExitStatus, Status};
use crate::nonce::TxId;
use crate::ser;
use crate::time::Timestamp;

use super::{Recording, ReplayError};
use tend_derive::ToJson;

/// A decision of the engine, stamped with the time of the input that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Decision {
    /// When.
    pub at: Timestamp,
    /// What.
    #[serde(flatten)]
    pub kind: DecisionKind,
}

/// What was decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToJson)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum DecisionKind {
    /// A funding transfer.
    Transfer {
        /// The chain.
        chain: ChainId,
        /// The recipient.
        to: Address,
        /// The asset.
        asset: Asset,
        /// The amount.
        #[serde(with = "ser::dec")]
        amount: U256,
    },
    /// A stuck or underpriced transaction replaced.
    Replace {
        /// The chain.
        chain: ChainId,
        /// The nonce.
        nonce: u64,
    },
    /// An agent started.
    Spawn {
        /// The service.
        service: ServiceName,
    },
    /// An agent asked to stop (SIGTERM).
    Terminate {
        /// The service.
        service: ServiceName,
    },
    /// An agent killed (SIGKILL).
    Kill {
        /// The service.
        service: ServiceName,
    },
    /// A service's verdict changed.
    Health {
        /// The service.
        service: ServiceName,
        /// The new verdict.
        status: Status,
    },
    /// A service given up on.
    Alert {
        /// The service.
        service: ServiceName,
        /// Why.
        reason: String,
    },
    /// Funding held on a chain.
    FundingHeld {
        /// The chain.
        chain: ChainId,
        /// Why.
        reason: String,
    },
    /// A wallet left short.
    Shortfall {
        /// The chain.
        chain: ChainId,
        /// The wallet.
        holder: Address,
        /// The asset.
        asset: Asset,
        /// How much is missing.
        #[serde(with = "ser::dec")]
        missing: U256,
    },
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transfer {
                chain,
                to,
                asset,
                amount,
            } => write!(f, "transfer {amount} of {asset} to {to} on chain {chain}"),
            Self::Replace { chain, nonce } => write!(f, "replace nonce {nonce} on chain {chain}"),
            Self::Spawn { service } => write!(f, "start {service}"),
            Self::Terminate { service } => write!(f, "stop {service} (SIGTERM)"),
            Self::Kill { service } => write!(f, "kill {service} (SIGKILL)"),
            Self::Health { service, status } => {
                let s = tend_json::write::to_string(status);
                write!(f, "{service} becomes {}", s.trim_matches('"'))
            }
            Self::Alert { service, reason } => write!(f, "give up on {service}: {reason}"),
            Self::FundingHeld { chain, reason } => {
                write!(f, "hold funding on chain {chain}: {reason}")
            }
            Self::Shortfall {
                chain,
                holder,
                asset,
                missing,
            } => write!(f, "{holder} short by {missing} of {asset} on chain {chain}"),
        }
    }
}

impl DecisionKind {
    /// The decision an output is, if it is one.
    pub fn of(output: &Output) -> Option<Self> {
        Some(match output {
            Output::Spawn { service } => Self::Spawn {
                service: service.clone(),
            },
            Output::Terminate { service } => Self::Terminate {
                service: service.clone(),
            },
            Output::Kill { service } => Self::Kill {
                service: service.clone(),
            },
            Output::Event(Event::TransferPlanned {
                chain,
                to,
                asset,
                amount,
                ..
            }) => Self::Transfer {
                chain: *chain,
                to: *to,
                asset: *asset,
                amount: *amount,
            },
            Output::Event(Event::TxReplaced { chain, nonce, .. }) => Self::Replace {
                chain: *chain,
                nonce: *nonce,
            },
            Output::Event(Event::Health {
                service, status, ..
            }) => Self::Health {
                service: service.clone(),
                status: *status,
            },
            Output::Event(Event::Alert { service, reason }) => Self::Alert {
                service: service.clone(),
                reason: reason.to_string(),
            },
            Output::Event(Event::FundingHeld { chain, reason }) => Self::FundingHeld {
                chain: *chain,
                reason: tend_json::write::to_string(reason),
            },
            Output::Event(Event::Shortfall {
                chain,
                holder,
                asset,
                missing,
                ..
            }) => Self::Shortfall {
                chain: *chain,
                holder: *holder,
                asset: *asset,
                missing: *missing,
            },
            Output::Rpc { .. }
            | Output::Sign { .. }
            | Output::Journal(_)
            | Output::Probe { .. }
            | Output::Event(_) => return None,
        })
    }
}

/// How often one decision was taken in each run (only decisions whose counts differ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct Tally {
    /// The decision.
    pub decision: String,
    /// Times in the recorded run.
    pub baseline: usize,
    /// Times under the other configuration.
    pub what_if: usize,
}

/// Funding totals of one asset on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct TransferTotals {
    /// The chain.
    pub chain: ChainId,
    /// The asset.
    pub asset: Asset,
    /// Transfers in the recorded run.
    pub baseline_count: usize,
    /// Their sum.
    #[serde(with = "ser::dec")]
    pub baseline_amount: U256,
    /// Transfers under the other configuration.
    pub what_if_count: usize,
    /// Their sum.
    #[serde(with = "ser::dec")]
    pub what_if_amount: U256,
}

/// Where the two decision sequences part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct FirstDifference {
    /// The 0-based index in both sequences.
    pub index: usize,
    /// The recorded run's decision there (absent: it had no more).
    pub baseline: Option<Decision>,
    /// The other configuration's decision there.
    pub what_if: Option<Decision>,
}

/// The result of [`what_if`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson)]
pub struct WhatIf {
    /// The recorded configuration's hash.
    pub baseline_config: String,
    /// The other configuration's hash.
    pub what_if_config: String,
    /// Where the decisions part (absent: the same decisions at the same times).
    pub first_difference: Option<FirstDifference>,
    /// Decisions taken a different number of times, sorted.
    pub differences: Vec<Tally>,
    /// Funding per chain and asset in both runs.
    pub transfers: Vec<TransferTotals>,
    /// The recorded run's decisions.
    pub baseline: Vec<Decision>,
    /// The other configuration's decisions.
    pub what_if: Vec<Decision>,
    /// Recorded answers the other engine did not ask for (dropped).
    pub dropped: usize,
    /// Effects the recording does not have, assumed to succeed (spawns, stops, signatures).
    pub assumed: usize,
}

/// What the other engine waits for.
#[derive(Default)]
struct Waiting {
    /// RPC requests: (id, chain, call), oldest first.
    rpc: Vec<(RequestId, ChainId, RpcCall)>,
    /// Signatures: (chain, record, transaction, the step it was asked at).
    sign: Vec<(ChainId, TxId, TxRequest, usize)>,
    /// Spawns asked for: service → the step.
    spawn: Map<ServiceName, usize>,
    /// Stops asked for (SIGTERM or SIGKILL): service → the step.
    stop: Map<ServiceName, usize>,
    /// Services with an agent the other engine believes alive.
    alive: Set<ServiceName>,
    /// Services with a probe outstanding.
    probe: Set<ServiceName>,
}

/// What the recorded run waits for (so the other engine waits for the same answers).
#[derive(Default)]
struct Recorded {
    /// What each RPC request asked.
    calls: Map<RequestId, (ChainId, RpcCall)>,
    /// What each signature request signed.
    signs: Map<(ChainId, TxId), TxRequest>,
    /// Signatures not answered yet.
    signing: Set<(ChainId, TxId)>,
    /// Spawns not answered yet.
    spawning: Set<ServiceName>,
    /// Agents asked to stop that have not exited yet.
    stopping: Set<ServiceName>,
}

impl Recorded {
    /// Bookkeeping for a recorded input.
    fn heard(&mut self, input: &Input) {
        match input {
            Input::Signed { chain, tx, .. } | Input::SignFailed { chain, tx, .. } => {
                self.signing.remove(&(*chain, *tx));
            }
            Input::Spawned { service, .. }
            | Input::SpawnFailed { service, .. }
            | Input::Adopted { service, .. } => {
                self.spawning.remove(service);
            }
            Input::Exited { service, .. } => {
                self.stopping.remove(service);
            }
            Input::Tick { .. }
            | Input::Command { .. }
            | Input::RpcResponse { .. }
            | Input::Probed { .. } => {}
        }
    }

    /// Whether the recorded run waits for the signature of this transaction.
    fn signing(&self, chain: ChainId, request: &TxRequest) -> bool {
        self.signing
            .iter()
            .any(|k| k.0 == chain && self.signs.get(k) == Some(request))
    }
}

/// Replays `rec` under `config` next to the recorded configuration and compares the decisions.
pub fn what_if(rec: &Recording, config: EngineConfig) -> Result<WhatIf, ReplayError> {
    let restore = |c: EngineConfig| {
        rec.header
            .restore(c)
            .map_err(|e| ReplayError::Config(e.to_string()))
    };
    let baseline_config = super::config_hash(&rec.header.config);
    let what_if_config = super::config_hash(&config);
    let mut base = restore(rec.header.config.clone())?;
    let mut alt = restore(config)?;
    let mut r = Recorded::default();
    let mut w = Waiting::default();
    for s in &rec.header.running {
        w.alive.insert(ServiceName::from(s.as_str()));
    }
    let (mut b_dec, mut a_dec) = (Vec::new(), Vec::new());
    let (mut dropped, mut assumed) = (0, 0);
    let start = rec.header.started_at;
    drain_base(&mut base, start, &mut b_dec, &mut r);
    drain_alt(&mut alt, start, 0, &mut a_dec, &mut w);
    for (step, input) in rec.inputs.iter().enumerate() {
        let step = step + 1;
        base.handle_input(input.clone());
        r.heard(input);
        drain_base(&mut base, input.now(), &mut b_dec, &mut r);
        match translate(input, &r, &mut w) {
            Some(i) => alt.handle_input(i),
            None => dropped += 1,
        }
        drain_alt(&mut alt, input.now(), step, &mut a_dec, &mut w);
        // Effects the recording answers at the latest by the next input; older ones it never
        // will: assume them done.
        loop {
            let synthetic = assume(&mut w, &r, step, input.now());
            if synthetic.is_empty() {
                break;
            }
            for i in synthetic {
                assumed += 1;
                alt.handle_input(i);
                drain_alt(&mut alt, input.now(), step, &mut a_dec, &mut w);
            }
        }
    }
    Ok(compare(
        baseline_config,
        what_if_config,
        b_dec,
        a_dec,
        dropped,
        assumed,
    ))
}

fn drain_base(
    engine: &mut Engine,
    now: Timestamp,
    decisions: &mut Vec<Decision>,
    r: &mut Recorded,
) {
    while let Some(o) = engine.poll_output() {
        match &o {
            Output::Rpc {
                id, chain, call, ..
            } => {
                r.calls.insert(*id, (*chain, call.clone()));
            }
            Output::Sign { chain, tx, request } => {
                r.signs.insert((*chain, *tx), (**request).clone());
                r.signing.insert((*chain, *tx));
            }
            Output::Spawn { service } => {
                r.spawning.insert(service.clone());
            }
            Output::Terminate { service } | Output::Kill { service } => {
                r.stopping.insert(service.clone());
            }
            Output::Journal(_) | Output::Probe { .. } | Output::Event(_) => {}
        }
        if let Some(kind) = DecisionKind::of(&o) {
            decisions.push(Decision { at: now, kind });
        }
    }
}

fn drain_alt(
    engine: &mut Engine,
    now: Timestamp,
    step: usize,
    decisions: &mut Vec<Decision>,
    w: &mut Waiting,
) {
    while let Some(o) = engine.poll_output() {
        match &o {
            Output::Rpc {
                id, chain, call, ..
            } => w.rpc.push((*id, *chain, call.clone())),
            Output::Sign { chain, tx, request } => {
                w.sign.push((*chain, *tx, (**request).clone(), step));
            }
            Output::Spawn { service } => {
                w.spawn.insert(service.clone(), step);
            }
            Output::Terminate { service } | Output::Kill { service }
                if w.alive.contains(service) =>
            {
                w.stop.entry(service.clone()).or_insert(step);
            }
            Output::Probe { service, .. } => {
                w.probe.insert(service.clone());
            }
            Output::Terminate { .. }
            | Output::Kill { .. }
            | Output::Journal(_)
            | Output::Event(_) => {}
        }
        if let Some(kind) = DecisionKind::of(&o) {
            decisions.push(Decision { at: now, kind });
        }
    }
}

/// The input the other engine gets for a recorded one (`None`: it does not wait for it).
fn translate(input: &Input, r: &Recorded, w: &mut Waiting) -> Option<Input> {
    match input {
        Input::Tick { .. } | Input::Command { .. } => Some(input.clone()),
        Input::RpcResponse {
            now,
            id,
            latency_ms,
            result,
        } => {
            let (chain, call) = r.calls.get(id)?;
            let at = w.rpc.iter().position(|(_, c, k)| c == chain && k == call)?;
            let (alt_id, _, _) = w.rpc.remove(at);
            Some(Input::RpcResponse {
                now: *now,
                id: alt_id,
                latency_ms: *latency_ms,
                result: result.clone(),
            })
        }
        Input::Signed { chain, tx, .. } | Input::SignFailed { chain, tx, .. } => {
            // The answer to the other engine's signature of the same transaction: its record.
            let at = waiting_sign(w, &r.signs, *chain, *tx)?;
            let (_, alt, _, _) = w.sign.remove(at);
            let mut answer = input.clone();
            if let Input::Signed { tx, .. } | Input::SignFailed { tx, .. } = &mut answer {
                *tx = alt;
            }
            Some(answer)
        }
        Input::Spawned { service, .. } | Input::Adopted { service, .. } => {
            w.spawn.remove(service)?;
            w.alive.insert(service.clone());
            Some(input.clone())
        }
        Input::SpawnFailed { service, .. } => {
            w.spawn.remove(service)?;
            Some(input.clone())
        }
        Input::Exited { service, .. } => {
            w.alive.remove(service).then_some(())?;
            w.stop.remove(service);
            w.probe.remove(service);
            Some(input.clone())
        }
        Input::Probed { service, .. } => {
            w.probe.remove(service).then_some(())?;
            Some(input.clone())
        }
    }
}

fn waiting_sign(
    w: &Waiting,
    signs: &Map<(ChainId, TxId), TxRequest>,
    chain: ChainId,
    tx: TxId,
) -> Option<usize> {
    let request = signs.get(&(chain, tx))?;
    w.sign
        .iter()
        .position(|(c, _, r, _)| *c == chain && r == request)
}

/// Inputs standing in for effects asked before `step` that the recording will not answer (the
/// recorded run does not wait for the same).
fn assume(w: &mut Waiting, r: &Recorded, step: usize, now: Timestamp) -> Vec<Input> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.sign.len() {
        if w.sign[i].3 < step && !r.signing(w.sign[i].0, &w.sign[i].2) {
            let (chain, tx, request, _) = w.sign.remove(i);
            let hash = stand_in_hash(chain, &request);
            out.push(Input::Signed {
                now,
                chain,
                tx,
                hash,
            });
        } else {
            i += 1;
        }
    }
    let due = |m: &Map<ServiceName, usize>, recorded: &Set<ServiceName>| {
        m.iter()
            .filter(|(k, s)| **s < step && !recorded.contains(*k))
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    for service in due(&w.spawn, &r.spawning) {
        w.spawn.remove(&service);
        w.alive.insert(service.clone());
        out.push(Input::Spawned { now, service });
    }
    for service in due(&w.stop, &r.stopping) {
        w.stop.remove(&service);
        w.alive.remove(&service);
        w.probe.remove(&service);
        out.push(Input::Exited {
            now,
            service,
            status: ExitStatus {
                code: None,
                signal: Some(15),
            },
        });
    }
    out
}

/// A deterministic hash for a transaction the recorded run never signed.
fn stand_in_hash(chain: ChainId, request: &TxRequest) -> B256 {
    let json = tend_json::write::to_string(&(chain, request));
    keccak256(format!("tend what-if {json}"))
}

fn compare(
    baseline_config: String,
    what_if_config: String,
    baseline: Vec<Decision>,
    what_if: Vec<Decision>,
    dropped: usize,
    assumed: usize,
) -> WhatIf {
    let first_difference = (0..baseline.len().max(what_if.len()))
        .find(|&i| baseline.get(i) != what_if.get(i))
        .map(|index| FirstDifference {
            index,
            baseline: baseline.get(index).cloned(),
            what_if: what_if.get(index).cloned(),
        });
    let mut counts: Map<&DecisionKind, (usize, usize)> = Map::new();
    for d in &baseline {
        counts.entry(&d.kind).or_default().0 += 1;
    }
    for d in &what_if {
        counts.entry(&d.kind).or_default().1 += 1;
    }
    let differences = counts
        .iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(k, (b, a))| Tally {
            decision: k.to_string(),
            baseline: *b,
            what_if: *a,
        })
        .collect();
    let mut totals: Map<(ChainId, Asset), [(usize, U256); 2]> = Map::new();
    for (side, list) in [&baseline, &what_if].into_iter().enumerate() {
        for d in list {
            if let DecisionKind::Transfer {
                chain,
                asset,
                amount,
                ..
            } = &d.kind
            {
                let t = &mut totals.entry((*chain, *asset)).or_default()[side];
                t.0 += 1;
                t.1 = t.1.saturating_add(*amount);
            }
        }
    }
    let transfers = totals
        .into_iter()
        .map(|((chain, asset), [b, a])| TransferTotals {
            chain,
            asset,
            baseline_count: b.0,
            baseline_amount: b.1,
            what_if_count: a.0,
            what_if_amount: a.1,
        })
        .collect();
    WhatIf {
        baseline_config,
        what_if_config,
        first_difference,
        differences,
        transfers,
        baseline,
        what_if,
        dropped,
        assumed,
    }
}
