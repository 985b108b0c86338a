//! The Olas description of a service in `tend.toml` (`[services.olas]`): the parts of a funding
//! snapshot that are configured, the snapshot document built from them, and what the report
//! must read from the chains. Pure: the reads themselves are in [`crate::chain::olas`].

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use serde_json::{Map, Value, json};
use tend_core::address::{Asset, checksum};

/// A service as the Olas middleware describes it (the `service`, `wallet` and `bonded_assets`
/// parts of a funding snapshot; see the README's snapshot format).
#[derive(Debug, Clone, PartialEq)]
pub struct OlasSpec {
    /// `service`: `service_config_id`, `agent_addresses`, `chains`.
    pub service: serde_json::Value,
    /// `wallet`: `master_eoa`, `master_safes` (null: no master wallet).
    pub wallet: serde_json::Value,
    /// `bonded_assets` per chain.
    pub bonded_assets: serde_json::Value,
    /// The middleware's quickstart mode.
    pub quickstart: bool,
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
