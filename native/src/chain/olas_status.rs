//! An Olas service as its chain has it (`tend olas status`, `GET /v1/services/{name}/olas`): the
//! registry state, the NFT's holder, the service Safe with its owners and threshold, the agent
//! instances, and the staking program's view (state, rewards, when it may unstake), read at the
//! head in one `aggregate3` plus the Safe's owners.

use serde_json::{Value, json};
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::lifecycle::OnChainState;

use crate::chain::olas_facts::{FactsError, ServiceFacts, read_service_facts};
use crate::chain::rpc::Endpoints;
use crate::config::Config;

/// Why a service's status cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    /// The configuration does not name an Olas service (or its chain) to read.
    #[error("{0}")]
    Config(String),
    /// The registry has no such service, or the addresses are not Olas contracts.
    #[error("{0}")]
    Registry(String),
    /// The chain did not answer.
    #[error("{0}")]
    Chain(String),
}

/// A service's facts as read now: its registry identity, the facts at the head, the head's time.
#[derive(Debug, Clone)]
pub struct FactsNow {
    /// The service's registry identity.
    pub registry: crate::config::OlasRegistry,
    /// Its facts at the head.
    pub facts: ServiceFacts,
    /// The head's timestamp, seconds.
    pub timestamp: u64,
}

/// Reads the facts of service `name` at the head (the first endpoint that answers).
pub async fn facts_now(
    config: &Config,
    endpoints: &Endpoints,
    name: &str,
) -> Result<FactsNow, StatusError> {
    let (olas, r) = config
        .service(name)
        .ok_or_else(|| StatusError::Config(format!("no service {name:?}")))?
        .olas
        .as_ref()
        .and_then(|o| o.registry.as_ref().map(|r| (o, r)))
        .ok_or_else(|| {
            StatusError::Config(format!(
                "service {name:?} has no [services.olas.registry] (chain, service_id): tend \
                 reads an Olas service's status from the registries by its id"
            ))
        })?;
    let eps = endpoints
        .get(&r.chain)
        .ok_or_else(|| StatusError::Config(format!("chain {} has no [[chains]] entry", r.chain)))?;
    let RpcAnswer::Head {
        number, timestamp, ..
    } = crate::chain::rpc::first_answer(eps.iter().map(AsRef::as_ref), &RpcCall::Head)
        .await
        .map_err(StatusError::Chain)?
    else {
        return Err(StatusError::Chain(
            "unexpected answer to a head request".into(),
        ));
    };
    let q = crate::chain::olas::query_of(olas, r);
    let mut last = String::from("no endpoint");
    for ep in eps {
        match read_service_facts(ep, &r.contracts, &q, number).await {
            Ok(f) if f.state == OnChainState::NonExistent => {
                return Err(StatusError::Registry(format!(
                    "[services.olas.registry] service_id = {} does not exist in the registry {} \
                     on chain {}",
                    r.service_id, r.contracts.service_registry, r.chain
                )));
            }
            Ok(facts) => {
                return Ok(FactsNow {
                    registry: *r,
                    facts,
                    timestamp,
                });
            }
            Err(e @ FactsError::Unexpected { .. }) => {
                return Err(StatusError::Registry(e.to_string()));
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(StatusError::Chain(format!("chain {}: {last}", r.chain)))
}

/// Reads the status of service `name` now.
pub async fn read_status(
    config: &Config,
    endpoints: &Endpoints,
    name: &str,
) -> Result<Value, StatusError> {
    let FactsNow {
        registry: r,
        facts: f,
        timestamp,
    } = facts_now(config, endpoints, name).await?;
    let eps = endpoints.get(&r.chain).map_or(&[][..], Vec::as_slice);
    let safe = if f.multisig.is_zero() {
        None
    } else {
        crate::chain::safe::read_owners(eps, f.multisig).await
    };
    Ok(view(
        name,
        r.chain,
        r.service_id,
        &f,
        safe.as_ref(),
        timestamp,
    ))
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
