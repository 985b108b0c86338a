//! The Olas-compatible funding report of a service (`GET /v1/services/{name}/funding`): the body
//! the Olas middleware serves at `/api/v2/service/{id}/funding_requirements`, computed by the
//! core from the service's `[services.olas]` description, balances read now (one Multicall3 call
//! per chain, pinned to the head), and the agent's funds-status document.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use serde_json::{Value, json};
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::funding::olas::{BondedAssetReads, StakingReads, bonded_assets_from_reads};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::lifecycle::OnChainState;

use crate::chain::olas_facts::{FactsError, FactsQuery, ServiceFacts, read_service_facts};
use crate::chain::rpc::Endpoint;
use crate::config::{Config, OlasRegistry, OlasSpec, reads, snapshot_json};

/// What the report needs of the daemon: the configuration and the chains' endpoints.
#[derive(Debug, Clone)]
pub struct OlasReader {
    /// The configuration.
    pub config: Arc<Config>,
    /// Endpoints per chain.
    pub endpoints: crate::chain::rpc::Endpoints,
    /// The daemon's latest rounds (facts and balances read in them), when a daemon runs.
    pub round: Option<crate::chain::round::SharedRounds>,
}

/// Reads the balances and computes the report. Returns `{snapshot, report}` when
/// `with_snapshot`, else the report alone (the middleware's exact body).
pub async fn report(
    reader: &OlasReader,
    service: &str,
    funds_status: Option<Value>,
    in_progress: bool,
    with_snapshot: bool,
) -> Result<Value, String> {
    let spec = reader
        .config
        .service(service)
        .ok_or_else(|| format!("no service {service:?}"))?
        .olas
        .as_ref()
        .ok_or_else(|| {
            format!("service {service:?} has no [services.olas] section in tend.toml")
        })?;
    // The registry's facts first, at the home chain's head: the balances of that chain are read
    // at the same block.
    let mut pinned = None;
    let mut facts = None;
    let mut round_values: Option<BTreeMap<(Address, Asset), U256>> = None;
    let filled;
    let spec = match &spec.registry {
        None => spec,
        Some(r) => {
            let eps = reader
                .endpoints
                .get(&r.chain)
                .ok_or_else(|| format!("chain {} is not configured in [[chains]]", r.chain))?;
            // The daemon's latest round read the facts and the report's balances of this chain
            // in its one call: use them. Else read them now, at the head.
            let (block, f) = if let Some((block, f, values)) = cached(reader, service, r.chain) {
                round_values = Some(values);
                (block, f)
            } else {
                let block = head(eps).await?;
                let f = read_facts(eps, r, query_of(spec, r), block)
                    .await
                    .map_err(|e| e.to_string())?;
                (block, f)
            };
            filled = apply_facts(spec, r, &f)?;
            pinned = Some((r.chain, block));
            facts = Some(f);
            &filled
        }
    };
    let mut balances = BTreeMap::new();
    for (name, entries) in reads(spec) {
        let chain: ChainId = name.parse().map_err(|e| format!("{e}"))?;
        let eps = reader
            .endpoints
            .get(&chain)
            .ok_or_else(|| format!("chain {name} is not configured in [[chains]]"))?;
        let block = match pinned {
            Some((c, b)) if c == chain => b,
            _ => head(eps).await?,
        };
        let from_round = match (&round_values, pinned) {
            (Some(v), Some((c, _))) if c == chain => entries
                .iter()
                .map(|e| v.get(e).copied())
                .collect::<Option<Vec<U256>>>(),
            _ => None,
        };
        let values = match from_round {
            Some(v) => v,
            None => read_at(eps, block, &entries).await?,
        };
        let by_holder: &mut BTreeMap<Address, BTreeMap<Asset, U256>> =
            balances.entry(name).or_default();
        for ((h, a), v) in entries.into_iter().zip(values) {
            by_holder.entry(h).or_default().insert(a, v);
        }
    }
    let now = crate::clock::now().as_secs();
    let mut doc = snapshot_json(spec, now, &balances, funds_status.as_ref(), in_progress);
    let mut warning = None;
    let snapshot = match FundingSnapshot::from_json_str(&doc.to_string()) {
        Ok(s) => s,
        // The agent's document does not have the Olas shape: report without it.
        Err(e) if funds_status.is_some() => {
            warning = Some(format!("the agent's funds-status was ignored: {e}"));
            doc = snapshot_json(spec, now, &balances, None, in_progress);
            FundingSnapshot::from_json_str(&doc.to_string()).map_err(|e| e.to_string())?
        }
        Err(e) => return Err(e.to_string()),
    };
    let report =
        serde_json::to_value(funding_requirements(&snapshot)).map_err(|e| e.to_string())?;
    if with_snapshot {
        Ok(json!({ "snapshot": doc, "report": report, "warning": warning, "facts": facts }))
    } else {
        Ok(report)
    }
}

/// A round's block, a service's facts and every balance the round read.
type Cached = (u64, ServiceFacts, BTreeMap<(Address, Asset), U256>);

/// The latest round's facts of `service` on `chain` and every balance it read there, when the
/// daemon's rounds read them.
fn cached(reader: &OlasReader, service: &str, chain: ChainId) -> Option<Cached> {
    let round = reader.round.as_ref()?;
    let c = round
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let x = c.chains.get(&chain)?;
    let f = x.facts.get(service)?.as_ref().ok()?.clone();
    Some((x.block, f, x.balances.clone()))
}

/// The head block of a chain (the first endpoint that answers).
async fn head(eps: &[Arc<Endpoint>]) -> Result<u64, String> {
    let eps = eps.iter().map(AsRef::as_ref);
    let RpcAnswer::Head { number, .. } =
        crate::chain::rpc::first_answer(eps, &RpcCall::Head).await?
    else {
        return Err("unexpected answer to a head request".into());
    };
    Ok(number)
}

/// Balances at `block`.
async fn read_at(
    eps: &[Arc<Endpoint>],
    block: u64,
    entries: &[(Address, Asset)],
) -> Result<Vec<U256>, String> {
    let eps = || eps.iter().map(AsRef::as_ref);
    let call = RpcCall::Balances {
        block,
        entries: entries.to_vec(),
        safe: None,
    };
    let RpcAnswer::Balances { values, .. } = crate::chain::rpc::first_answer(eps(), &call).await?
    else {
        return Err("unexpected answer to a balance request".into());
    };
    Ok(values)
}

/// What to read of a service: its registry identity, and its Master Safe on the registry's
/// chain as the operator (the middleware's operator bonds the agents).
pub fn query_of(spec: &OlasSpec, r: &OlasRegistry) -> FactsQuery {
    FactsQuery {
        service_id: r.service_id,
        agent_id: r.agent_id,
        staking: r.staking,
        operator: spec.wallet["master_safes"][r.chain.to_string()]
            .as_str()
            .and_then(|a| tend_core::address::parse_address(a).ok()),
    }
}

/// The service's facts at `block` from the first endpoint that answers.
async fn read_facts(
    eps: &[Arc<Endpoint>],
    r: &OlasRegistry,
    q: FactsQuery,
    block: u64,
) -> Result<ServiceFacts, FactsError> {
    let mut answer = Err(FactsError::Rpc("no endpoint".into()));
    for ep in eps {
        answer = read_service_facts(ep, &r.contracts, &q, block).await;
        // Facts, or a wrong contract (the same on every endpoint): no other endpoint is asked.
        if !matches!(answer, Err(FactsError::Rpc(_))) {
            break;
        }
    }
    answer
}

/// An error naming the key when the registry has no such service.
fn exists(r: &OlasRegistry, f: &ServiceFacts) -> Result<(), String> {
    if f.state == OnChainState::NonExistent {
        return Err(format!(
            "[services.olas.registry] service_id = {} does not exist in the registry {} on \
             chain {}",
            r.service_id, r.contracts.service_registry, r.chain
        ));
    }
    Ok(())
}

/// The spec with the registry's facts in place of what `tend.toml` leaves out: the service id
/// as `token`, the Safe, the cost of bond (the staking program's minimum deposit when a program
/// is named, else the agent's bond), the agent instances, the staking parameters. A value given
/// in `tend.toml` that the chain contradicts is an error naming both.
pub fn apply_facts(
    spec: &OlasSpec,
    r: &OlasRegistry,
    f: &ServiceFacts,
) -> Result<OlasSpec, String> {
    exists(r, f)?;
    let mut out = spec.clone();
    let name = r.chain.to_string();
    let conflict = |key: &str, configured: &Value, chain: &Value| {
        format!(
            "[services.olas.service.chains.{name}] {key} is {configured} in tend.toml, but the \
             registry on chain {} says {chain} (service {}): fix tend.toml or drop the key",
            r.chain, r.service_id
        )
    };
    let chain_entry = out.service["chains"]
        .get_mut(&name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| format!("[services.olas.service.chains.{name}] is missing"))?;
    let mut put =
        |key: &str, v: Value, same: &dyn Fn(&Value, &Value) -> bool| match chain_entry.get(key) {
            Some(c) if !c.is_null() && !same(c, &v) => Err(conflict(key, c, &v)),
            _ => {
                chain_entry.insert(key.to_owned(), v);
                Ok(())
            }
        };
    let same_amount = |a: &Value, b: &Value| {
        let n = |v: &Value| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_u64().map(|x| x.to_string()))
        };
        n(a) == n(b)
    };
    let same_address = |a: &Value, b: &Value| {
        a.as_str()
            .and_then(|s| tend_core::address::parse_address(s).ok())
            == b.as_str()
                .and_then(|s| tend_core::address::parse_address(s).ok())
    };
    put("token", json!(r.service_id), &|a: &Value, b: &Value| {
        a.as_u64() == b.as_u64()
    })?;
    if f.multisig != Address::ZERO {
        put("service_safe", json!(f.multisig.to_string()), &same_address)?;
    }
    let bond = f
        .staking
        .as_ref()
        .map_or(f.agent_bond, |s| s.min_staking_deposit);
    put("cost_of_bond", json!(bond.to_string()), &same_amount)?;
    if let Some(s) = &f.staking {
        let staking = json!({
            "min_staking_deposit": s.min_staking_deposit.to_string(),
            "staking_token": s.staking_token.to_string(),
        });
        if chain_entry.get("staking").is_none_or(Value::is_null) {
            chain_entry.insert("staking".into(), staking);
        }
    }
    if let Some(read) = bonded_assets(f) {
        match out.bonded_assets.get(&name) {
            Some(c) if !c.is_null() && *c != read => {
                return Err(format!(
                    "[services.olas.bonded_assets.{name}] is {c} in tend.toml, but the registry on \
                     chain {} says {read} for service {}: drop it (it is read from the chain)",
                    r.chain, r.service_id
                ));
            }
            _ => {
                if !out.bonded_assets.is_object() {
                    out.bonded_assets = json!({});
                }
                out.bonded_assets[&name] = read;
            }
        }
    }
    agents_from_facts(&mut out, r, f)?;
    Ok(out)
}

/// Checks each `[services.olas.registry]` of `config` against its chain: the registry and token
/// utility answer like the Olas contracts and the service exists. The problems (empty: all
/// good), each marked `true` when it is the configuration's (a wrong address or id) and `false`
/// when the chain could not be asked.
pub async fn check_registries(
    config: &Config,
    endpoints: &crate::chain::rpc::Endpoints,
) -> Vec<(bool, String)> {
    let mut problems = Vec::new();
    for s in &config.services {
        let Some((spec, r)) = s
            .olas
            .as_ref()
            .and_then(|o| o.registry.as_ref().map(|r| (o, r)))
        else {
            continue;
        };
        let Some(eps) = endpoints.get(&r.chain) else {
            problems.push((
                true,
                format!(
                    "service {:?}: chain {} has no [[chains]] entry",
                    s.name, r.chain
                ),
            ));
            continue;
        };
        let block = match head(eps).await {
            Ok(b) => b,
            Err(e) => {
                problems.push((
                    false,
                    format!("service {:?}: chain {}: {e}", s.name, r.chain),
                ));
                continue;
            }
        };
        let q = FactsQuery {
            operator: None,
            ..query_of(spec, r)
        };
        match read_facts(eps, r, q, block).await {
            Ok(f) => {
                if let Err(m) = exists(r, &f) {
                    problems.push((true, format!("service {:?}: {m}", s.name)));
                }
            }
            Err(e @ FactsError::Unexpected { .. }) => {
                problems.push((true, format!("service {:?}: {e}", s.name)));
            }
            Err(e) => problems.push((false, format!("service {:?}: {e}", s.name))),
        }
    }
    problems
}

/// The bonded assets of a service (§2.5) from its facts, through the core's
/// [`bonded_assets_from_reads`] (as JSON amounts by asset). `None` without the Master Safe's
/// operator balances.
fn bonded_assets(f: &ServiceFacts) -> Option<Value> {
    let (operator_balance, token_operator_balance) = f.operator_balance?;
    let reads = BondedAssetReads {
        state: f.state,
        security_deposit: f.registry_deposit,
        num_agent_instances: U256::from(f.num_agent_instances),
        operator_balance,
        staking: f.staking.as_ref().map(|s| StakingReads {
            staking_token: Asset(s.staking_token),
            agent_bonds: vec![(U256::from(f.instances_of_agent), f.agent_bond)],
            token_operator_balance,
            token_deposit: f.deposit,
            staking_state: s.state,
            additional_staking_tokens: tend_core::map::Map::new(),
        }),
    };
    let amounts = bonded_assets_from_reads(&reads);
    let assets: serde_json::Map<String, Value> = amounts
        .iter()
        .map(|(a, v)| (a.to_string(), json!(v.to_string())))
        .collect();
    Some(Value::Object(assets))
}

/// The registry's agent instances as the spec's `agent_addresses` when tend.toml leaves them
/// empty; a configured list the registry contradicts is an error naming both.
fn agents_from_facts(out: &mut OlasSpec, r: &OlasRegistry, f: &ServiceFacts) -> Result<(), String> {
    let instances: Vec<Address> = f
        .agent_instances
        .iter()
        .copied()
        .filter(|a| *a != Address::ZERO)
        .collect();
    let configured: Vec<Address> = out.service["agent_addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            v.as_str()
                .and_then(|s| tend_core::address::parse_address(s).ok())
        })
        .collect();
    if configured.is_empty() {
        out.service["agent_addresses"] = json!(
            instances
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    } else if !instances.is_empty() && configured != instances {
        return Err(format!(
            "[services.olas.service] agent_addresses is {configured:?} in tend.toml, but the \
             registry on chain {} lists {instances:?} for service {}",
            r.chain, r.service_id
        ));
    }
    Ok(())
}
