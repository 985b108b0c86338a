//! `tend olas status NAME`: an Olas service as its chain has it — the registry state, the NFT's
//! holder, the service Safe with its owners and threshold, the agent instances, and the staking
//! program's view (state, rewards, when it may unstake), read at the head in one `aggregate3`
//! plus the Safe's owners.

use std::fmt::Write as _;

use serde_json::{Value, json};
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::lifecycle::OnChainState;

use crate::chain::olas_facts::{ServiceFacts, read_service_facts};
use crate::cli::{Failure, OlasStatusArgs};
use crate::config::Config;

/// Reads and prints the service's on-chain status.
pub async fn status(args: &OlasStatusArgs) -> Result<String, Failure> {
    let path = &args.config.config;
    let config = Config::load(path)?;
    let name = &args.service;
    let spec = config
        .service(name)
        .ok_or_else(|| Failure::invalid(format!("{}: no service {name:?}", path.display())))?
        .olas
        .as_ref()
        .and_then(|o| o.registry.as_ref().map(|r| (o, r)))
        .ok_or_else(|| {
            Failure::invalid(format!(
                "{}: service {name:?} has no [services.olas.registry] (chain, service_id): tend \
                 reads an Olas service's status from the registries by its id",
                path.display()
            ))
        })?;
    let (olas, r) = spec;
    let endpoints = crate::chain::rpc::endpoints_of(&config).map_err(Failure::io)?;
    let eps = endpoints
        .get(&r.chain)
        .ok_or_else(|| Failure::invalid(format!("chain {} has no [[chains]] entry", r.chain)))?;
    let RpcAnswer::Head {
        number, timestamp, ..
    } = crate::chain::rpc::first_answer(eps.iter().map(AsRef::as_ref), &RpcCall::Head)
        .await
        .map_err(Failure::io)?
    else {
        return Err(Failure::io("unexpected answer to a head request"));
    };
    let q = crate::chain::olas::query_of(olas, r);
    let mut last = String::from("no endpoint");
    let mut facts = None;
    for ep in eps {
        match read_service_facts(ep, &r.contracts, &q, number).await {
            Ok(f) => {
                facts = Some(f);
                break;
            }
            Err(e @ crate::chain::olas_facts::FactsError::Unexpected { .. }) => {
                return Err(Failure::invalid(e.to_string()));
            }
            Err(e) => last = e.to_string(),
        }
    }
    let f = facts.ok_or_else(|| Failure::io(format!("chain {}: {last}", r.chain)))?;
    if f.state == OnChainState::NonExistent {
        return Err(Failure::invalid(format!(
            "[services.olas.registry] service_id = {} does not exist in the registry {} on chain {}",
            r.service_id, r.contracts.service_registry, r.chain
        )));
    }
    let safe = if f.multisig.is_zero() {
        None
    } else {
        crate::chain::safe::read_owners(eps, f.multisig).await
    };
    let v = view(name, r.chain, r.service_id, &f, safe.as_ref(), timestamp);
    if args.json {
        return Ok(format!("{v:#}\n"));
    }
    Ok(text(&v))
}

fn view(
    name: &str,
    chain: tend_core::chain::ChainId,
    id: u64,
    f: &ServiceFacts,
    safe: Option<&(Vec<alloy::primitives::Address>, u64)>,
    now: u64,
) -> Value {
    let staking = f.staking.as_ref().map(|s| {
        let unlock = s.unlock_at();
        json!({
            "program": cs(s.program),
            "state": s.state,
            "reward": s.reward.to_string(),
            "available_rewards": s.available_rewards.to_string(),
            "min_staking_deposit": s.min_staking_deposit.to_string(),
            "staking_token": cs(s.staking_token),
            "staked_at": (!s.ts_start.is_zero()).then(|| s.ts_start.to::<u64>()),
            "min_staking_duration_secs": s.min_staking_duration.saturating_to::<u64>(),
            "unlock_at": unlock.map(|u| u.saturating_to::<u64>()),
            "may_unstake": unlock.map(|u| alloy::primitives::U256::from(now) >= u || s.available_rewards.is_zero()),
        })
    });
    json!({
        "service": name,
        "chain": chain,
        "service_id": id,
        "block": f.block,
        "block_time": now,
        "state": f.state,
        "owner": f.owner.map(cs),
        "safe": (!f.multisig.is_zero()).then(|| json!({
            "address": cs(f.multisig),
            "owners": safe.map(|s| s.0.iter().copied().map(cs).collect::<Vec<_>>()),
            "threshold": safe.map(|s| s.1),
        })),
        "agent_ids": f.agent_ids,
        "agent_instances": f.agent_instances.iter().copied().map(cs).collect::<Vec<_>>(),
        "security_deposit": f.deposit.to_string(),
        "agent_bond": f.agent_bond.to_string(),
        "staking": staking,
    })
}

/// An address in EIP-55 form, as tend writes them.
fn cs(a: alloy::primitives::Address) -> String {
    tend_core::address::checksum(&a)
}

fn text(v: &Value) -> String {
    let mut s = format!(
        "service {} (id {} on chain {}, block {}): {}\n",
        v["service"].as_str().unwrap_or_default(),
        v["service_id"],
        v["chain"]
            .as_str()
            .map_or_else(|| v["chain"].to_string(), str::to_owned),
        v["block"],
        v["state"].as_str().unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "  NFT held by {}",
        v["owner"].as_str().unwrap_or("nobody")
    );
    match v["safe"].as_object() {
        Some(safe) => {
            let owners: Vec<&str> = safe["owners"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let _ = writeln!(
                s,
                "  Safe {}: {} of [{}]",
                safe["address"].as_str().unwrap_or_default(),
                safe["threshold"],
                owners.join(", ")
            );
        }
        None => {
            let _ = writeln!(s, "  no Safe yet");
        }
    }
    let _ = writeln!(s, "  agent instances: {}", v["agent_instances"]);
    if let Some(st) = v["staking"].as_object() {
        let _ = writeln!(
            s,
            "  staking {}: {}, reward {} (program has {} left)",
            st["program"].as_str().unwrap_or_default(),
            st["state"].as_str().unwrap_or_default(),
            st["reward"].as_str().unwrap_or_default(),
            st["available_rewards"].as_str().unwrap_or_default()
        );
        if let Some(u) = st["unlock_at"].as_u64() {
            let _ = writeln!(
                s,
                "  may unstake: {} (from block time {u} on)",
                if st["may_unstake"] == true {
                    "yes"
                } else {
                    "not yet"
                }
            );
        }
    }
    s
}
