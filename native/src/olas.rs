//! The Olas-compatible funding report of a service (`GET /v1/services/{name}/funding`): the body
//! the Olas middleware serves at `/api/v2/service/{id}/funding_requirements`, computed by the
//! core from the service's `[services.olas]` description, balances read now (one Multicall3 call
//! per chain, pinned to the head), and the agent's funds-status document.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use serde_json::{Map, Value, json};
use tend_core::address::{Asset, checksum};
use tend_core::chain::ChainId;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::funding::{FundingSnapshot, funding_requirements};

use crate::config::{Config, OlasSpec};
use crate::rpc::Endpoint;

/// What the report needs of the daemon: the configuration and the chains' endpoints.
#[derive(Debug, Clone)]
pub struct OlasReader {
    /// The configuration.
    pub config: Arc<Config>,
    /// Endpoints per chain.
    pub endpoints: BTreeMap<ChainId, Vec<Arc<Endpoint>>>,
}

/// The snapshot document of a spec with the given balances and agent funds-status.
pub fn snapshot_json(
    spec: &OlasSpec,
    now_secs: u64,
    balances: &BTreeMap<String, BTreeMap<Address, BTreeMap<Asset, U256>>>,
    funds_status: Option<&Value>,
    in_progress: bool,
) -> Value {
    let balances: Map<String, Value> = balances
        .iter()
        .map(|(chain, holders)| {
            let h: Map<String, Value> = holders
                .iter()
                .map(|(holder, assets)| {
                    let a: Map<String, Value> = assets
                        .iter()
                        .map(|(asset, v)| (asset.to_string(), Value::String(v.to_string())))
                        .collect();
                    (checksum(holder), Value::Object(a))
                })
                .collect();
            (chain.clone(), Value::Object(h))
        })
        .collect();
    json!({
        "now": now_secs,
        "service": spec.service,
        "wallet": spec.wallet,
        "balances": balances,
        "bonded_assets": spec.bonded_assets,
        "agent_funds_status": funds_status.cloned().unwrap_or(Value::Null),
        "funding_in_progress": in_progress,
        "funding_cooldown_until": 0,
        "quickstart": spec.quickstart,
    })
}

fn address_of(v: &Value) -> Option<Address> {
    v.as_str()
        .and_then(|s| tend_core::address::parse_address(s).ok())
}

/// Every (holder, asset) the report reads, per chain name.
pub fn reads(spec: &OlasSpec) -> BTreeMap<String, Vec<(Address, Asset)>> {
    let mut out = BTreeMap::new();
    let agents: Vec<Address> = spec.service["agent_addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(address_of)
        .collect();
    for (name, c) in spec.service["chains"].as_object().into_iter().flatten() {
        let mut holders = agents.clone();
        holders.extend(address_of(&c["service_safe"]));
        holders.extend(address_of(&spec.wallet["master_eoa"]));
        holders.extend(address_of(&spec.wallet["master_safes"][name]));
        let mut assets = vec![Asset::NATIVE];
        let tokens = c["fund_requirements"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .chain(c["staking"]["staking_token"].as_str())
            .chain(
                c["staking"]["additional_staking_tokens"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str()),
            );
        for t in tokens {
            if let Ok(a) = t.parse::<Asset>()
                && !assets.contains(&a)
            {
                assets.push(a);
            }
        }
        let mut entries = Vec::new();
        for h in &holders {
            for a in &assets {
                if !entries.contains(&(*h, *a)) {
                    entries.push((*h, *a));
                }
            }
        }
        out.insert(name.clone(), entries);
    }
    out
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
    let mut balances = BTreeMap::new();
    for (name, entries) in reads(spec) {
        let chain: ChainId = name.parse().map_err(|e| format!("{e}"))?;
        let eps = reader
            .endpoints
            .get(&chain)
            .ok_or_else(|| format!("chain {name} is not configured in [[chains]]"))?;
        let values = read_at_head(eps, &entries).await?;
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
        Ok(json!({ "snapshot": doc, "report": report, "warning": warning }))
    } else {
        Ok(report)
    }
}

async fn read_at_head(
    eps: &[Arc<Endpoint>],
    entries: &[(Address, Asset)],
) -> Result<Vec<U256>, String> {
    let eps = || eps.iter().map(AsRef::as_ref);
    let RpcAnswer::Head { number, .. } = crate::rpc::first_answer(eps(), &RpcCall::Head).await?
    else {
        return Err("unexpected answer to a head request".into());
    };
    let call = RpcCall::Balances {
        block: number,
        entries: entries.to_vec(),
    };
    let RpcAnswer::Balances { values, .. } = crate::rpc::first_answer(eps(), &call).await? else {
        return Err("unexpected answer to a balance request".into());
    };
    Ok(values)
}
