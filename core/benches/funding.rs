//! Funding benchmarks (results in BENCHMARKS.md):
//! - one Olas report for a service on 8 chains with 3 assets each (goal: under 50 µs);
//! - one plan for 10,000 wallets over 8 chains (goal: under 20 ms).
//!
//! Run: `cargo bench -p tend-core --bench funding`.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tend_core::chain::Chain;
use tend_core::funding::plan::{PlanInput, plan};
use tend_core::funding::{FundingSnapshot, funding_requirements};

const NATIVE: &str = "0x0000000000000000000000000000000000000000";

fn addr(i: u64) -> String {
    format!("0x{i:040x}")
}

/// A service staked on all 8 chains; each chain has native, OLAS and USDC in play.
fn eight_chain_snapshot() -> Value {
    let mut chains = serde_json::Map::new();
    let mut balances = serde_json::Map::new();
    let mut bonded = serde_json::Map::new();
    let mut safes = serde_json::Map::new();
    let mut status = serde_json::Map::new();
    let agent = addr(1);
    for (i, c) in Chain::ALL.iter().enumerate() {
        let t = c.tokens();
        let (olas, usdc) = (t.olas.to_string(), t.usdc.to_string());
        let safe = addr(100 + i as u64);
        let master_safe = addr(200 + i as u64);
        chains.insert(
            c.name().into(),
            json!({
                "service_safe": safe, "token": 10 + i, "cost_of_bond": "10000000000000000",
                "fund_requirements": {
                    NATIVE: {"agent": "2000000000000000000", "safe": "8000000000000000000"},
                    usdc.clone(): {"agent": "0", "safe": "5000000"}
                },
                "staking": {"min_staking_deposit": "50000000000000000000", "staking_token": olas,
                            "additional_staking_tokens": {}}
            }),
        );
        balances.insert(c.name().into(), json!({
            addr(999): {NATIVE: "300000000000000000", olas.clone(): "0", usdc.clone(): "0"},
            master_safe.clone(): {NATIVE: "2000000000000000000", olas.clone(): "1", usdc.clone(): "7"}
        }));
        bonded.insert(
            c.name().into(),
            json!({NATIVE: "2", olas.clone(): "100000000000000000000"}),
        );
        safes.insert(c.name().into(), json!(master_safe));
        status.insert(
            c.name().into(),
            json!({ safe: { NATIVE: {"deficit": "5"}, usdc: {"deficit": "1"} } }),
        );
    }
    json!({
        "now": 1_763_900_000u64,
        "service": {"service_config_id": "sc-bench", "agent_addresses": [agent], "chains": chains},
        "wallet": {"master_eoa": addr(999), "master_safes": safes},
        "balances": balances, "bonded_assets": bonded, "agent_funds_status": status,
        "funding_in_progress": false, "funding_cooldown_until": 0, "quickstart": false
    })
}

/// 10,000 wallets spread over the 8 chains, two assets each, two sources per chain.
fn ten_thousand_wallets() -> Value {
    let mut chains = serde_json::Map::new();
    let mut sources = Vec::new();
    let mut wallets = Vec::new();
    for (i, c) in Chain::ALL.iter().enumerate() {
        let olas = c.tokens().olas.to_string();
        chains.insert(
            c.name().into(),
            json!({"max_fee_per_gas": "1000000000", "l1_fee": "1000"}),
        );
        // The last chain's sources run dry, so the plan also reports shortfalls.
        let native = if i == 7 {
            "100000000000000000000"
        } else {
            "1000000000000000000000"
        };
        for k in 0..2u64 {
            sources.push(
                json!({"chain": c.name(), "address": addr(1_000_000 + i as u64 * 10 + k),
                "balances": {NATIVE: native, olas.clone(): "500000000000000000000"}}),
            );
        }
    }
    for w in 0..10_000u64 {
        let c = Chain::ALL[(w % 8) as usize];
        let olas = c.tokens().olas.to_string();
        let bal = if w % 3 == 0 {
            "1000"
        } else {
            "900000000000000000"
        };
        wallets.push(json!({"chain": c.name(), "address": addr(10 + w), "priority": w % 4,
            "balances": {NATIVE: bal, olas.clone(): "0"},
            "policy": {
                NATIVE: {"low": "500000000000000000", "target": "1000000000000000000", "spend_per_day": "100000000000000000"},
                olas: {"low": "1", "target": "10000000000000000", "max_transfer": "5000000000000000"}
            }}));
    }
    json!({"chains": chains, "sources": sources, "wallets": wallets, "in_flight": []})
}

fn bench(c: &mut Criterion) {
    let snap_json = eight_chain_snapshot();
    let snap_text = snap_json.to_string();
    let snapshot = FundingSnapshot::from_json(&snap_json).unwrap();
    let report = funding_requirements(&snapshot);
    assert!(report.diagnostics.is_empty());
    c.bench_function("olas_report/8_chains_3_assets/compute", |b| {
        b.iter(|| funding_requirements(black_box(&snapshot)));
    });
    c.bench_function(
        "olas_report/8_chains_3_assets/parse_compute_serialize",
        |b| {
            b.iter(|| {
                let s = FundingSnapshot::from_json_str(black_box(&snap_text)).unwrap();
                serde_json::to_string(&funding_requirements(&s)).unwrap()
            });
        },
    );

    let plan_json = ten_thousand_wallets();
    let input = PlanInput::from_json(&plan_json).unwrap();
    let p = plan(&input).unwrap();
    assert!(!p.transfers.is_empty() && !p.shortfalls.is_empty());
    let mut g = c.benchmark_group("plan");
    g.sample_size(30);
    g.bench_function("10000_wallets_8_chains/compute", |b| {
        b.iter(|| plan(black_box(&input)).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
