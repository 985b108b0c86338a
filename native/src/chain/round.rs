//! A funding round's balance read with the Olas facts in it: the balances the engine asked for,
//! the funding Safe's nonce, the registry facts of every Olas service on the chain and the
//! balances its funding report needs, all in **one** Multicall3 `aggregate3` pinned to the
//! round's block. The engine gets its answer; the daemon keeps the rest for the report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::RpcAnswer;
use tend_core::multicall::{MULTICALL3, MulticallError, balance_call};
use tend_core::rpc::RpcFailure;

use crate::chain::olas_facts::{
    FactCall, FactsQuery, ServiceFacts, aggregate3Call, decode_fact_results, facts_calls,
};
use crate::chain::rpc::{Endpoint, multicall_failure};
use crate::config::{Config, OlasContracts, OlasRegistry, OlasSpec, reads};

/// An Olas service whose facts ride on its chain's round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundService {
    /// The service's name.
    pub name: String,
    /// The registries.
    pub contracts: OlasContracts,
    /// What to read.
    pub query: FactsQuery,
}

/// What a round read beyond the engine's answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoundExtras {
    /// The block.
    pub block: u64,
    /// Each service's facts (or why they could not be read).
    pub facts: BTreeMap<String, Result<ServiceFacts, String>>,
    /// Every balance read (the engine's and the extra ones).
    pub balances: BTreeMap<(Address, Asset), U256>,
}

/// Reads `entries` (and `safe`'s nonce) for the engine, plus the facts of `services` and the
/// balances `extra`, in one `aggregate3` at `block`.
pub async fn balances_and_facts(
    ep: &Endpoint,
    block: u64,
    entries: &[(Address, Asset)],
    safe: Option<Address>,
    services: &[RoundService],
    extra: &[(Address, Asset)],
) -> Result<(RpcAnswer, RoundExtras), RpcFailure> {
    let call = |(target, data): (Address, Vec<u8>)| FactCall {
        target,
        allowFailure: true,
        callData: data.into(),
    };
    let mut calls: Vec<FactCall> = entries
        .iter()
        .chain(extra)
        .map(|(h, a)| call(balance_call(*h, *a)))
        .collect();
    if let Some(s) = safe {
        calls.push(call((s, tend_core::safe::NONCE.to_vec())));
    }
    let mut spans = Vec::with_capacity(services.len());
    for s in services {
        let c = facts_calls(&s.contracts, &s.query);
        spans.push(c.len());
        calls.extend(c);
    }
    let n = calls.len();
    let tx = serde_json::json!({ "to": MULTICALL3, "input": Bytes::from(aggregate3Call { calls }.abi_encode()) });
    let out: Bytes = ep.request("eth_call", (tx, format!("{block:#x}"))).await?;
    let results = aggregate3Call::abi_decode_returns(&out)
        .ok()
        .filter(|r| r.len() == n)
        .ok_or_else(|| {
            multicall_failure(&MulticallError::Malformed(format!(
                "an aggregate3 answer of {n} results expected"
            )))
        })?;
    let word = |i: usize| {
        results
            .get(i)
            .filter(|r| r.success && r.returnData.len() >= 32)
            .map(|r| U256::from_be_slice(&r.returnData[..32]))
    };
    let mut values = Vec::with_capacity(entries.len());
    for (i, (holder, asset)) in entries.iter().enumerate() {
        values.push(word(i).ok_or_else(|| {
            multicall_failure(&MulticallError::NotAToken {
                holder: *holder,
                asset: *asset,
            })
        })?);
    }
    let mut more = RoundExtras {
        block,
        ..RoundExtras::default()
    };
    for (key, v) in entries.iter().zip(&values) {
        more.balances.insert(*key, *v);
    }
    for (k, key) in extra.iter().enumerate() {
        if let Some(v) = word(entries.len() + k) {
            more.balances.insert(*key, v);
        }
    }
    let mut at = entries.len() + extra.len();
    let safe_nonce = match safe {
        Some(s) => {
            let nonce = word(at)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| multicall_failure(&MulticallError::NotASafe { safe: s }))?;
            at += 1;
            Some(nonce)
        }
        None => None,
    };
    for (s, len) in services.iter().zip(spans) {
        let slice = results.get(at..at + len).unwrap_or_default();
        more.facts.insert(
            s.name.clone(),
            decode_fact_results(&s.contracts, &s.query, block, slice).map_err(|e| e.to_string()),
        );
        at += len;
    }
    Ok((
        RpcAnswer::Balances {
            block,
            values,
            safe_nonce,
        },
        more,
    ))
}

/// The latest round's Olas reads, per chain, and the balances the next round adds for the
/// reports (the holders the facts name: agent instances, the service Safe, the Master Safe).
#[derive(Debug, Default)]
pub struct RoundCache {
    /// Per chain, the latest round's reads.
    pub chains: BTreeMap<ChainId, RoundExtras>,
    /// Per chain, the extra balances the next round reads.
    pub extra: BTreeMap<ChainId, Vec<(Address, Asset)>>,
}

/// The cache, shared by the effect tasks (writers) and the API (reader).
pub type SharedRounds = Arc<Mutex<RoundCache>>;

/// One chain's Olas services as its rounds read them.
#[derive(Debug, Clone, Default)]
pub struct ChainRound {
    /// What to read.
    pub services: Vec<RoundService>,
    /// Each service's `[services.olas]` and registry identity (to find the report's holders).
    pub specs: Vec<(OlasSpec, OlasRegistry)>,
    /// Who pays the deposits and bonds of the services driven to a target (the chain's Safe,
    /// or tend's funding key): its balance of each service's bond token is read too.
    pub bonder: Option<Address>,
}

/// The Olas services of `config` with a registry identity, by their chain.
pub fn chain_rounds(config: &Config) -> BTreeMap<ChainId, Arc<ChainRound>> {
    let mut out: BTreeMap<ChainId, ChainRound> = BTreeMap::new();
    for s in &config.services {
        let Some(spec) = s.olas.as_ref() else {
            continue;
        };
        let Some(r) = spec.registry.as_ref() else {
            continue;
        };
        let e = out.entry(r.chain).or_default();
        e.services.push(RoundService {
            name: s.name.clone(),
            contracts: r.contracts,
            query: crate::chain::olas::query_of(spec, r),
        });
        e.specs.push((spec.clone(), *r));
        if r.lifecycle.is_some() {
            e.bonder = Some(config.lifecycle_owner(r.chain));
        }
    }
    out.into_iter().map(|(c, r)| (c, Arc::new(r))).collect()
}

/// Keeps a round's reads and works out the next round's extra balances: the holders of each
/// service's report on this chain that the engine does not read itself.
pub fn remember(
    cache: &SharedRounds,
    chain: ChainId,
    round: &ChainRound,
    entries: &[(Address, Asset)],
    extras: RoundExtras,
) {
    let mut c = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The holders follow from the facts: worked out again only when a service's facts changed.
    let unchanged = c.chains.get(&chain).is_some_and(|last| {
        last.facts.len() == extras.facts.len()
            && last
                .facts
                .iter()
                .zip(&extras.facts)
                .all(|((a, fa), (b, fb))| {
                    a == b
                        && match (fa, fb) {
                            (Ok(x), Ok(y)) => {
                                ServiceFacts {
                                    block: y.block,
                                    ..x.clone()
                                } == *y
                            }
                            (Err(x), Err(y)) => x == y,
                            _ => false,
                        }
                })
    });
    if unchanged && c.extra.contains_key(&chain) {
        c.chains.insert(chain, extras);
        return;
    }
    let mut next: Vec<(Address, Asset)> = Vec::new();
    for (s, (spec, r)) in round.services.iter().zip(&round.specs) {
        let Some(Ok(f)) = extras.facts.get(&s.name) else {
            continue;
        };
        if let Some(b) = round.bonder
            && r.lifecycle.is_some()
            && f.deposit_token != Address::ZERO
        {
            let e = (b, Asset::from(f.deposit_token));
            if !entries.contains(&e) && !next.contains(&e) {
                next.push(e);
            }
        }
        let Ok(filled) = crate::chain::olas::apply_facts(spec, r, f) else {
            continue;
        };
        for e in reads(&filled)
            .remove(&chain.to_string())
            .unwrap_or_default()
        {
            if !entries.contains(&e) && !next.contains(&e) {
                next.push(e);
            }
        }
    }
    c.extra.insert(chain, next);
    c.chains.insert(chain, extras);
}
