//! The worked examples A–E of `shared/domain/olas-middleware.md` §2.8, whole responses, plus
//! one case for each quirk the report copies or fixes.

use serde_json::json;
use tend_core::funding::olas::DiagnosticCode;

use crate::common::*;

#[test]
fn a_fresh_install() {
    let s = snapshot(service(None, -1), json!(null), json!({}), json!({}));
    let (body, r) = report(&s);
    let refill = json!({ "gnosis": {
        "master_eoa": { NATIVE: eth(15, 10), OLAS: "0" },
        "master_safe": { NATIVE: "12000000000000000002", OLAS: eth(100, 1) }
    }});
    assert_eq!(
        body,
        json!({
            "balances": { "gnosis": {
                "master_eoa": { NATIVE: "0", OLAS: "0" },
                "master_safe": { NATIVE: "0", OLAS: "0" }
            }},
            "bonded_assets": { "gnosis": { "master_safe": {} } },
            "total_requirements": refill,
            "refill_requirements": refill,
            "protocol_asset_requirements": { "gnosis": { "master_safe": { NATIVE: "2", OLAS: eth(100, 1) } } },
            "is_refill_required": true,
            "allow_start_agent": false,
            "agent_funding_requests": {},
            "agent_funding_requests_cooldown": false,
            "agent_funding_in_progress": false
        })
    );
    assert!(r.diagnostics.is_empty());
}

#[test]
fn a_matches_upstream_full_funding_flow() {
    // Upstream `test_full_funding_flow`: Safe native = 1 + 1 + 2·agent + safe, OLAS = 2S, with
    // the middleware tests' agent 2e18, safe 5e18.
    let mut svc = service(None, -1);
    svc["chains"]["gnosis"]["fund_requirements"][NATIVE]["safe"] = json!(eth(5, 1));
    let (body, _) = report(&snapshot(svc, json!(null), json!({}), json!({})));
    let safe = &body["refill_requirements"]["gnosis"]["master_safe"];
    assert_eq!(safe[NATIVE], json!((2 + 4 * E18 + 5 * E18).to_string()));
    assert_eq!(safe[OLAS], json!(eth(100, 1)));
}

#[test]
fn b_everything_on_the_master_eoa_without_a_safe() {
    let s = snapshot(
        service(None, -1),
        json!({ "master_eoa": MASTER_EOA, "master_safes": {} }),
        json!({ "gnosis": { MASTER_EOA: { NATIVE: "13500000000000000002", OLAS: eth(100, 1) } } }),
        json!({}),
    );
    let (body, _) = report(&s);
    assert_eq!(
        body,
        json!({
            "balances": { "gnosis": {
                MASTER_EOA: { NATIVE: eth(75, 100), OLAS: "0" },
                "master_safe": { NATIVE: "12750000000000000002", OLAS: eth(100, 1) }
            }},
            "bonded_assets": { "gnosis": { "master_safe": {} } },
            "total_requirements": { "gnosis": {
                MASTER_EOA: { NATIVE: "0", OLAS: "0" },
                "master_safe": { NATIVE: "12000000000000000002", OLAS: eth(100, 1) }
            }},
            "refill_requirements": { "gnosis": {
                MASTER_EOA: { NATIVE: "0", OLAS: "0" },
                "master_safe": { NATIVE: "0", OLAS: "0" }
            }},
            "protocol_asset_requirements": { "gnosis": { "master_safe": { NATIVE: "2", OLAS: eth(100, 1) } } },
            "is_refill_required": false,
            // Q23: the `master_safe` key is present, so the agent may not start.
            "allow_start_agent": false,
            "agent_funding_requests": {},
            "agent_funding_requests_cooldown": false,
            "agent_funding_in_progress": false
        })
    );
}

#[test]
fn c_running_and_staked() {
    let (body, _) = report(&running(&eth(3, 10), &eth(2, 1)));
    assert_eq!(
        body,
        json!({
            "balances": { "gnosis": {
                MASTER_EOA: { NATIVE: eth(3, 10), OLAS: "0" },
                MASTER_SAFE: { NATIVE: eth(2, 1), OLAS: "0" }
            }},
            "bonded_assets": { "gnosis": { MASTER_SAFE: { NATIVE: "2", OLAS: eth(100, 1) } } },
            "total_requirements": { "gnosis": {
                MASTER_EOA: { NATIVE: "0", OLAS: "0" },
                MASTER_SAFE: { NATIVE: eth(45, 100), OLAS: "0" }
            }},
            "refill_requirements": { "gnosis": {
                MASTER_EOA: { NATIVE: "0", OLAS: "0" },
                MASTER_SAFE: { NATIVE: "0", OLAS: "0" }
            }},
            "protocol_asset_requirements": { "gnosis": { MASTER_SAFE: { NATIVE: "2", OLAS: eth(100, 1) } } },
            "is_refill_required": false,
            "allow_start_agent": true,
            "agent_funding_requests": {},
            "agent_funding_requests_cooldown": false,
            "agent_funding_in_progress": false
        })
    );
}

#[test]
fn d_master_eoa_nearly_empty_is_critical() {
    let (body, _) = report(&running(&eth(1, 10), &eth(2, 10)));
    let need = json!({ "gnosis": {
        MASTER_EOA: { NATIVE: eth(65, 100), OLAS: "0" },
        MASTER_SAFE: { NATIVE: "0", OLAS: "0" }
    }});
    assert_eq!(body["refill_requirements"], need);
    assert_eq!(body["total_requirements"], need);
    assert_eq!(
        body["balances"],
        json!({ "gnosis": {
            MASTER_EOA: { NATIVE: eth(1, 10), OLAS: "0" },
            MASTER_SAFE: { NATIVE: eth(2, 10), OLAS: "0" }
        }})
    );
    assert_eq!(body["is_refill_required"], json!(true));
    assert_eq!(body["allow_start_agent"], json!(false));
}

fn e_snapshot() -> serde_json::Value {
    let mut s = running(&eth(3, 10), &eth(2, 1));
    s["agent_funds_status"] = json!({ "gnosis": { SERVICE_SAFE.to_lowercase(): {
        NATIVE: { "deficit": eth(5, 1), "balance": "0", "requirement": eth(5, 1) }
    }}});
    s
}

#[test]
fn e_agent_asks_for_funds() {
    let (body, r) = report(&e_snapshot());
    assert_eq!(
        body["agent_funding_requests"],
        json!({ "gnosis": { SERVICE_SAFE: { NATIVE: eth(5, 1) } } })
    );
    // R is never added to refill or total.
    let (c, _) = report(&running(&eth(3, 10), &eth(2, 1)));
    assert_eq!(body["refill_requirements"], c["refill_requirements"]);
    assert_eq!(body["total_requirements"], c["total_requirements"]);
    assert_eq!(body["is_refill_required"], json!(false));
    assert_eq!(body["allow_start_agent"], json!(true));
    assert!(r.diagnostics.is_empty());
}

#[test]
fn e_after_fund_the_cooldown_hides_requests() {
    let mut s = e_snapshot();
    s["funding_cooldown_until"] = json!(1_763_900_000u64 + 300);
    let (body, _) = report(&s);
    assert_eq!(body["agent_funding_requests"], json!({}));
    assert_eq!(body["agent_funding_requests_cooldown"], json!(true));
    assert_eq!(body["agent_funding_in_progress"], json!(false));
    // At the end of the cooldown the requests are visible again (`now < until` is strict).
    s["funding_cooldown_until"] = json!(1_763_900_000u64);
    let (body, _) = report(&s);
    assert_eq!(body["agent_funding_requests_cooldown"], json!(false));
    assert_ne!(body["agent_funding_requests"], json!({}));
}

#[test]
fn in_progress_wins_over_cooldown() {
    let mut s = e_snapshot();
    s["funding_in_progress"] = json!(true);
    s["funding_cooldown_until"] = json!(1_763_900_000u64 + 300);
    let (body, _) = report(&s);
    assert_eq!(body["agent_funding_requests"], json!({}));
    assert_eq!(body["agent_funding_requests_cooldown"], json!(false));
    assert_eq!(body["agent_funding_in_progress"], json!(true));
}

#[test]
fn q4_unknown_address_is_dropped_not_a_500() {
    let mut s = e_snapshot();
    s["agent_funds_status"]["gnosis"]["0x1111111111111111111111111111111111111111"] =
        json!({ NATIVE: { "deficit": "7" } });
    s["agent_funds_status"]["solana"] = json!({});
    let (body, r) = report(&s);
    assert_eq!(
        body["agent_funding_requests"],
        json!({ "gnosis": { SERVICE_SAFE: { NATIVE: eth(5, 1) } } })
    );
    let codes: Vec<_> = r.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        vec![
            DiagnosticCode::FundsStatusUnknownAddress,
            DiagnosticCode::FundsStatusUnknownChain
        ]
    );
}

#[test]
fn q18_lenient_deficits() {
    let mut s = e_snapshot();
    s["agent_funds_status"] = json!({ "gnosis": {
        AGENT: {
            NATIVE: { "deficit": "not a number" },
            OLAS: { "deficit": 12.0 },
            "0x1111111111111111111111111111111111111111": { "deficit": " +1_000 " },
            "0x2222222222222222222222222222222222222222": { "deficit": -3 },
            "0x3333333333333333333333333333333333333333": { "balance": "1" },
            "bad-asset": { "deficit": "1" }
        }
    }});
    let (body, r) = report(&s);
    assert_eq!(
        body["agent_funding_requests"],
        json!({ "gnosis": { AGENT: {
            NATIVE: "0",
            "0x1111111111111111111111111111111111111111": "1000",
            "0x2222222222222222222222222222222222222222": "0",
            "0x3333333333333333333333333333333333333333": "0",
            OLAS: "12"
        }}})
    );
    let invalid = r
        .diagnostics
        .iter()
        .filter(|d| d.code == DiagnosticCode::FundsStatusInvalidDeficit)
        .count();
    assert_eq!(invalid, 3);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.code == DiagnosticCode::FundsStatusInvalidAsset)
    );
}

#[test]
fn q1_minted_without_staking_returns_a_bare_asset_map() {
    let mut svc = service(Some(SERVICE_SAFE), 7);
    svc["chains"]["gnosis"]["staking"] = json!(null);
    let s = snapshot(
        svc,
        wallet_with_safe(),
        json!({ "gnosis": { MASTER_EOA: { NATIVE: eth(1, 1) }, MASTER_SAFE: { NATIVE: eth(1, 1) } } }),
        json!({ "gnosis": { NATIVE: "20000000000000000" } }),
    );
    let (body, r) = report(&s);
    // The bare asset map: no chain or holder level.
    assert_eq!(
        body["bonded_assets"],
        json!({ NATIVE: "20000000000000000" })
    );
    // Not staking: P = max(1,B)·n + max(1,B) = 2 × 0.01e18, and the shortfall is the full P even
    // though the bond is held.
    assert_eq!(
        body["protocol_asset_requirements"],
        json!({ "gnosis": { MASTER_SAFE: { NATIVE: "20000000000000000" } } })
    );
    assert_eq!(
        body["total_requirements"]["gnosis"][MASTER_SAFE][NATIVE],
        json!("20000000000000000")
    );
    assert_eq!(
        r.diagnostics[0].code,
        DiagnosticCode::BondedAssetsEarlyReturn
    );
}

#[test]
fn q1_drops_every_other_chain() {
    // Two chains, the first without staking: the bare map of the first is the whole result.
    let mut s = running(&eth(1, 1), &eth(1, 1));
    let gnosis = s["service"]["chains"]["gnosis"].clone();
    let mut base = gnosis.clone();
    base["staking"] = json!(null);
    base["fund_requirements"] = json!({});
    s["service"]["chains"] = json!({ "base": base, "gnosis": gnosis });
    s["wallet"]["master_safes"]["base"] = json!(MASTER_SAFE);
    s["bonded_assets"]["base"] = json!({ NATIVE: "5" });
    let (body, _) = report(&s);
    assert_eq!(body["bonded_assets"], json!({ NATIVE: "5" }));
    // Gnosis' protocol shortfall is now its full P although its bonds are held.
    assert_eq!(
        body["total_requirements"]["gnosis"][MASTER_SAFE][OLAS],
        json!(eth(100, 1))
    );
}

#[test]
fn not_staking_requirement_uses_max_one_bond() {
    let mut svc = service(None, -1);
    svc["chains"]["gnosis"]["staking"] = json!(null);
    svc["chains"]["gnosis"]["cost_of_bond"] = json!("0");
    let (body, _) = report(&snapshot(svc, json!(null), json!({}), json!({})));
    assert_eq!(
        body["protocol_asset_requirements"],
        json!({ "gnosis": { "master_safe": { NATIVE: "2" } } })
    );
}

#[test]
fn additional_staking_tokens_are_assigned_not_summed() {
    let mut svc = service(None, -1);
    // A second token equal to the staking token replaces its requirement.
    svc["chains"]["gnosis"]["staking"]["additional_staking_tokens"] = json!({ OLAS: "1000" });
    let (body, _) = report(&snapshot(svc.clone(), json!(null), json!({}), json!({})));
    assert_eq!(
        body["protocol_asset_requirements"]["gnosis"]["master_safe"],
        json!({ NATIVE: "2", OLAS: "1000" })
    );
    let usdc = "0xDDAfbb505ad214D7b80b1f830fcCc89B60fb7A83";
    svc["chains"]["gnosis"]["staking"]["additional_staking_tokens"] = json!({ usdc: "1000" });
    let (body, _) = report(&snapshot(svc, json!(null), json!({}), json!({})));
    assert_eq!(
        body["protocol_asset_requirements"]["gnosis"]["master_safe"],
        json!({ NATIVE: "2", OLAS: eth(100, 1), usdc: "1000" })
    );
    // Zero ERC-20 entries appear under the Master EOA in refill and total.
    assert_eq!(
        body["refill_requirements"]["gnosis"]["master_eoa"],
        json!({ NATIVE: eth(15, 10), OLAS: "0", usdc: "0" })
    );
}

#[test]
fn quickstart_uses_service_balances_and_folds_wrapped_native() {
    let wxdai = "0xe91D153E0b41518A2Ce8Dd3D7944Fa863463a97d";
    let mut s = snapshot(
        service(None, -1),
        wallet_with_safe(),
        json!({ "gnosis": {
            AGENT: { NATIVE: eth(1, 1), wxdai: eth(1, 1) },
            MASTER_EOA: { NATIVE: eth(1, 1) }
        }}),
        json!({}),
    );
    s["quickstart"] = json!(true);
    s["agent_funds_status"] = json!({ "gnosis": { AGENT: { NATIVE: { "deficit": "1" } } } });
    let (body, _) = report(&s);
    // Agent: threshold 4e18 (doubled), balance 1 + 1 (folded) = 2e18 → shortfall 2e18; the
    // service Safe placeholder holds nothing → 8e18. Plus P's 2 wei.
    assert_eq!(
        body["total_requirements"]["gnosis"][MASTER_SAFE][NATIVE],
        json!((2 * E18 + 8 * E18 + 2).to_string())
    );
    // Quickstart never reads the agent's requests.
    assert_eq!(body["agent_funding_requests"], json!({}));
}

#[test]
fn without_a_service_safe_on_some_chain_no_initial_shortfall() {
    // Two chains: one has a service Safe, so the initial funding is assumed requested.
    let mut s = running(&eth(1, 1), &eth(1, 1));
    let mut base = s["service"]["chains"]["gnosis"].clone();
    base["service_safe"] = json!(null);
    base["token"] = json!(-1);
    s["service"]["chains"]["base"] = base;
    let (body, _) = report(&s);
    // Base has no Master Safe: placeholder, doubled EOA top-up, only P in M.
    assert_eq!(
        body["total_requirements"]["base"]["master_safe"][NATIVE],
        json!("2")
    );
    assert_eq!(body["allow_start_agent"], json!(false));
}

#[test]
fn excess_split_keeps_only_the_with_safe_topup() {
    // No Safe on gnosis: an EOA with 1e18 keeps 0.75e18 (with-Safe top-up), 0.25e18 is excess;
    // the threshold is half the doubled top-up (0.75e18), so 0.75e18 is not below it.
    let s = snapshot(
        service(None, -1),
        json!({ "master_eoa": MASTER_EOA, "master_safes": {} }),
        json!({ "gnosis": { MASTER_EOA: { NATIVE: eth(1, 1) } } }),
        json!({}),
    );
    let (body, _) = report(&s);
    assert_eq!(
        body["balances"]["gnosis"][MASTER_EOA][NATIVE],
        json!(eth(75, 100))
    );
    assert_eq!(
        body["balances"]["gnosis"]["master_safe"][NATIVE],
        json!(eth(25, 100))
    );
    assert_eq!(
        body["refill_requirements"]["gnosis"][MASTER_EOA][NATIVE],
        json!("0")
    );
}

#[test]
fn balance_at_threshold_needs_nothing_one_below_needs_the_topup() {
    let at = report(&running("375000000000000000", &eth(2, 1))).0;
    assert_eq!(
        at["total_requirements"]["gnosis"][MASTER_SAFE][NATIVE],
        json!("0")
    );
    let below = report(&running("374999999999999999", &eth(2, 1))).0;
    assert_eq!(
        below["total_requirements"]["gnosis"][MASTER_SAFE][NATIVE],
        json!("375000000000000001")
    );
}

#[test]
fn critical_floor_is_strict() {
    // keep = 0.1875e18 exactly is not critical; one wei less is.
    let at = report(&running("187500000000000000", &eth(2, 1))).0;
    assert_eq!(
        at["refill_requirements"]["gnosis"][MASTER_EOA][NATIVE],
        json!("0")
    );
    assert_eq!(at["allow_start_agent"], json!(true));
    let below = report(&running("187499999999999999", &eth(2, 1))).0;
    assert_eq!(
        below["refill_requirements"]["gnosis"][MASTER_EOA][NATIVE],
        json!("562500000000000001")
    );
    assert_eq!(below["allow_start_agent"], json!(false));
}

#[test]
fn master_eoa_topup_plan_is_hourly_and_capped() {
    use tend_core::funding::olas::master_eoa_topup_plan;
    use tend_core::map::Map;
    let s =
        tend_core::funding::FundingSnapshot::from_json(&running(&eth(1, 10), &eth(2, 10))).unwrap();
    let wallet = s.wallet.clone().unwrap();
    let not_due = master_eoa_topup_plan(&wallet, &s.balances, 10_000, 10_000 - 3600);
    assert!(!not_due.due && not_due.transfers.is_empty());
    let plan = master_eoa_topup_plan(&wallet, &s.balances, 10_000, 10_000 - 3601);
    assert!(plan.due);
    // Shortfall 0.65e18, capped at the Safe's 0.2e18.
    assert_eq!(plan.transfers.len(), 1);
    assert_eq!(plan.transfers[0].amount.to_string(), eth(2, 10));
    assert_eq!(
        plan.uncovered[&tend_core::chain::Chain::Gnosis].to_string(),
        eth(45, 100)
    );
    let full = master_eoa_topup_plan(&wallet, &Map::new(), 10_000, 0);
    assert!(full.transfers.is_empty());
}

#[test]
fn bonded_assets_from_raw_reads() {
    use tend_core::U256;
    use tend_core::address::Asset;
    use tend_core::funding::olas::{BondedAssetReads, StakingReads, bonded_assets_from_reads};
    use tend_core::lifecycle::{OnChainState, StakingState};
    use tend_core::map::Map;
    let olas: Asset = OLAS.parse().unwrap();
    let usdc: Asset = "0xDDAfbb505ad214D7b80b1f830fcCc89B60fb7A83"
        .parse()
        .unwrap();
    let reads = |state, staking_state| BondedAssetReads {
        state,
        security_deposit: U256::from(1),
        num_agent_instances: U256::from(1),
        operator_balance: U256::from(1),
        staking: Some(StakingReads {
            staking_token: olas,
            agent_bonds: vec![(U256::from(1), U256::from(50))],
            token_operator_balance: U256::from(7),
            token_deposit: U256::from(50),
            staking_state,
            additional_staking_tokens: Map::from([(usdc, U256::from(1000))]),
        }),
    };
    let deployed = bonded_assets_from_reads(&reads(OnChainState::Deployed, StakingState::Staked));
    assert_eq!(deployed.get(&Asset::NATIVE), U256::from(2));
    assert_eq!(deployed.get(&olas), U256::from(100));
    assert_eq!(deployed.get(&usdc), U256::from(1000));
    let terminated = bonded_assets_from_reads(&reads(
        OnChainState::TerminatedBonded,
        StakingState::Unstaked,
    ));
    // No deposit outside 2 ≤ state < 5; the token operator balance counts in state 5.
    assert_eq!(terminated.get(&Asset::NATIVE), U256::from(1));
    assert_eq!(terminated.get(&olas), U256::from(57));
    assert_eq!(terminated.get(&usdc), U256::ZERO);
    let mut bare = reads(OnChainState::Deployed, StakingState::Staked);
    bare.staking = None;
    let bare = bonded_assets_from_reads(&bare);
    assert_eq!(bare.len(), 1);
    assert_eq!(bare.get(&Asset::NATIVE), U256::from(2));
}
