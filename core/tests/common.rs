//! Shared fixtures: the Gnosis trader of the domain document's worked examples.

use serde_json::{Value, json};

pub(crate) const NATIVE: &str = "0x0000000000000000000000000000000000000000";
pub(crate) const OLAS: &str = "0xcE11e14225575945b8E6Dc0D4F2dD4C570f79d9f";
pub(crate) const AGENT: &str = "0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa";
pub(crate) const SERVICE_SAFE: &str = "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB";
pub(crate) const MASTER_SAFE: &str = "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC";
pub(crate) const MASTER_EOA: &str = "0xDDdDddDdDdddDDddDDddDDDDdDdDDdDDdDDDDDDd";

pub(crate) const E18: u128 = 1_000_000_000_000_000_000;

/// `n × 10^18 / d` as a decimal string.
pub(crate) fn eth(n: u128, d: u128) -> String {
    (n * E18 / d).to_string()
}

/// The worked examples' service: staking with S = 50e18 OLAS, fund_requirements agent 2e18,
/// safe 8e18.
pub(crate) fn service(service_safe: Option<&str>, token: i64) -> Value {
    json!({
        "service_config_id": "sc-4f1d6e0e-1a2b-4c3d-9e8f-000000000001",
        "agent_addresses": [AGENT],
        "chains": {
            "gnosis": {
                "service_safe": service_safe,
                "token": token,
                "cost_of_bond": "10000000000000000",
                "fund_requirements": { NATIVE: { "agent": eth(2, 1), "safe": eth(8, 1) } },
                "staking": {
                    "min_staking_deposit": eth(50, 1),
                    "staking_token": OLAS,
                    "additional_staking_tokens": {}
                }
            }
        }
    })
}

pub(crate) fn snapshot(service: Value, wallet: Value, balances: Value, bonded: Value) -> Value {
    json!({
        "now": 1_763_900_000u64,
        "service": service,
        "wallet": wallet,
        "balances": balances,
        "bonded_assets": bonded,
        "agent_funds_status": null,
        "funding_in_progress": false,
        "funding_cooldown_until": 0,
        "quickstart": false
    })
}

pub(crate) fn wallet_with_safe() -> Value {
    json!({ "master_eoa": MASTER_EOA, "master_safes": { "gnosis": MASTER_SAFE } })
}

/// The running, staked service of examples C–E with the given EOA and Safe native balances.
pub(crate) fn running(eoa: &str, safe: &str) -> Value {
    snapshot(
        service(Some(SERVICE_SAFE), 123),
        wallet_with_safe(),
        json!({ "gnosis": {
            MASTER_EOA: { NATIVE: eoa },
            MASTER_SAFE: { NATIVE: safe, OLAS: "0" }
        }}),
        json!({ "gnosis": { NATIVE: "2", OLAS: eth(100, 1) } }),
    )
}

pub(crate) fn report(snapshot: &Value) -> (Value, tend_core::funding::OlasReport) {
    let s = tend_core::funding::FundingSnapshot::from_json(snapshot).unwrap();
    let r = tend_core::funding::funding_requirements(&s);
    (serde_json::to_value(&r).unwrap(), r)
}
