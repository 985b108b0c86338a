//! Properties of the funding snapshot and the Olas report over generated snapshots.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tend_core::address::Holder;
use tend_core::chain::Chain;
use tend_core::funding::{FundingSnapshot, funding_requirements};

use crate::common::NATIVE;

fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_owned()),
        (0u64..4).prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<u128>().prop_map(|v| v.to_string()),
        Just(tend_core::U256::MAX.to_string()),
    ]
}

fn address() -> impl Strategy<Value = String> {
    // A small pool so that holders collide with wallet and service addresses.
    (1u8..6).prop_map(|i| format!("0x{i:040x}"))
}

fn asset(chain: Chain) -> impl Strategy<Value = String> {
    let t = chain.tokens();
    prop_oneof![
        Just(NATIVE.to_owned()),
        Just(t.olas.to_string()),
        Just(t.wrapped_native.to_string()),
        Just(t.usdc.to_string()),
    ]
}

fn chain() -> impl Strategy<Value = Chain> {
    proptest::sample::select(Chain::ALL.to_vec())
}

fn asset_map(chain: Chain) -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(asset(chain), amount(), 0..4)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, json!(v))).collect())
}

fn chain_config(chain: Chain) -> impl Strategy<Value = Value> {
    (
        proptest::option::of(address()),
        prop_oneof![Just(-1i64), 0i64..1000],
        amount(),
        proptest::collection::btree_map(asset(chain), (amount(), amount()), 0..3),
        proptest::option::of((amount(), asset(chain), asset_map(chain))),
    )
        .prop_map(|(safe, token, bond, fr, staking)| {
            let fr: Map<String, Value> = fr
                .into_iter()
                .map(|(a, (agent, safe))| (a, json!({ "agent": agent, "safe": safe })))
                .collect();
            json!({
                "service_safe": safe,
                "token": token,
                "cost_of_bond": bond,
                "fund_requirements": fr,
                "staking": staking.map(|(s, t, extra)| json!({
                    "min_staking_deposit": s, "staking_token": t, "additional_staking_tokens": extra
                })),
            })
        })
}

prop_compose! {
    fn snapshot()(
        chains in proptest::collection::vec(chain(), 1..4),
        agents in proptest::collection::vec(address(), 0..3),
        has_wallet in any::<bool>(),
        eoa in address(),
        safe_chains in proptest::collection::vec(chain(), 0..4),
        safe in address(),
        now in 0u64..2_000_000_000,
        cooldown in 0u64..2_000_000_000,
        in_progress in any::<bool>(),
        quickstart in any::<bool>(),
        seed in any::<u64>(),
    )(
        configs in chains.iter().map(|c| chain_config(*c)).collect::<Vec<_>>(),
        balances in chains.iter().map(|c| proptest::collection::btree_map(address(), asset_map(*c), 0..4)).collect::<Vec<_>>(),
        bonded in chains.iter().map(|c| asset_map(*c)).collect::<Vec<_>>(),
        deficits in chains.iter().map(|c| proptest::collection::btree_map(address(), asset_map(*c), 0..3)).collect::<Vec<_>>(),
        chains in Just(chains), agents in Just(agents), has_wallet in Just(has_wallet), eoa in Just(eoa),
        safe_chains in Just(safe_chains), safe in Just(safe), now in Just(now), cooldown in Just(cooldown),
        in_progress in Just(in_progress), quickstart in Just(quickstart), seed in Just(seed),
    ) -> Value {
        let mut cmap = Map::new();
        let mut bmap = Map::new();
        let mut bonded_map = Map::new();
        let mut status = Map::new();
        for (i, c) in chains.iter().enumerate() {
            cmap.insert(c.name().into(), configs[i].clone());
            let by: Map<String, Value> = balances[i].iter().map(|(a, m)| (a.clone(), Value::Object(m.clone()))).collect();
            bmap.insert(c.name().into(), Value::Object(by));
            bonded_map.insert(c.name().into(), Value::Object(bonded[i].clone()));
            let st: Map<String, Value> = deficits[i].iter().map(|(a, m)| {
                let entries: Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), json!({ "deficit": v }))).collect();
                (a.clone(), Value::Object(entries))
            }).collect();
            status.insert(c.name().into(), Value::Object(st));
        }
        let safes: Map<String, Value> = safe_chains.iter().map(|c| (c.name().to_owned(), json!(safe))).collect();
        json!({
            "now": now,
            "service": { "service_config_id": format!("sc-{seed}"), "agent_addresses": agents, "chains": cmap },
            "wallet": if has_wallet { json!({ "master_eoa": eoa, "master_safes": safes }) } else { Value::Null },
            "balances": bmap,
            "bonded_assets": bonded_map,
            "agent_funds_status": if seed % 3 == 0 { Value::Null } else { Value::Object(status) },
            "funding_in_progress": in_progress,
            "funding_cooldown_until": cooldown,
            "quickstart": quickstart,
        })
    }
}

fn all_amounts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            out.push(s.clone());
        }
        Value::Object(m) => m.values().for_each(|x| all_amounts(x, out)),
        Value::Array(a) => a.iter().for_each(|x| all_amounts(x, out)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn snapshot_json_round_trips(v in snapshot()) {
        let s = FundingSnapshot::from_json(&v).unwrap();
        let again = FundingSnapshot::from_json(&s.to_json()).unwrap();
        prop_assert_eq!(&again, &s);
        // Reading the written form and writing it again is a fixed point.
        prop_assert_eq!(again.to_json(), s.to_json());
    }

    #[test]
    fn report_amounts_are_non_negative_decimals_and_flags_agree(v in snapshot()) {
        let s = FundingSnapshot::from_json(&v).unwrap();
        let r = funding_requirements(&s);
        let body = serde_json::to_value(&r).unwrap();
        let mut amounts = Vec::new();
        all_amounts(&body, &mut amounts);
        for a in &amounts {
            prop_assert!(!a.starts_with('-') && !a.is_empty(), "{}", a);
            prop_assert!(tend_core::amount::parse_decimal(a).is_ok(), "{}", a);
        }
        prop_assert_eq!(r.is_refill_required, r.refill_requirements.any_positive());
        // Refill (Ec + Ms) never exceeds total (Ec + M), key by key.
        for (c, h, a, v) in r.refill_requirements.iter() {
            prop_assert!(*v <= r.total_requirements.get(c, h, a));
        }
        // A chain without a Master Safe always blocks the start (Q23).
        let lacks_safe = s.service.chains.iter().any(|(c, _)| {
            s.wallet.as_ref().is_none_or(|w| !w.master_safes.contains_key(c))
        });
        if lacks_safe {
            prop_assert!(!r.allow_start_agent);
            prop_assert!(r.refill_requirements.0.values().any(|h| h.contains_key(&Holder::MasterSafe)));
        }
        // The flags exclude each other and hide the requests.
        prop_assert!(!(r.agent_funding_in_progress && r.agent_funding_requests_cooldown));
        if r.agent_funding_in_progress || r.agent_funding_requests_cooldown || s.quickstart {
            prop_assert!(r.agent_funding_requests.0.is_empty());
        }
    }

    #[test]
    fn report_is_deterministic(v in snapshot()) {
        let s = FundingSnapshot::from_json(&v).unwrap();
        let a = serde_json::to_string(&funding_requirements(&s)).unwrap();
        let b = serde_json::to_string(&funding_requirements(&s.clone())).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn mutated_snapshots_never_panic(v in snapshot(), path_seed in any::<u64>(), junk in junk_value()) {
        // Replace one value somewhere in the document with junk: the parser answers with an
        // error or a snapshot, never a panic, and a parsed snapshot always yields a report.
        let mut v = v;
        replace_somewhere(&mut v, path_seed, junk);
        if let Ok(s) = FundingSnapshot::from_json(&v) {
            let _ = funding_requirements(&s);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = FundingSnapshot::from_json_str(&text);
        let _ = tend_core::funding::plan::PlanInput::from_json_str(&text);
    }
}

fn junk_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
        Just(json!("-1")),
        Just(json!("0x")),
        Just(json!([])),
        Just(json!({})),
        Just(json!({ "x": 1 })),
    ]
}

fn replace_somewhere(v: &mut Value, mut seed: u64, junk: Value) {
    let mut cur = v;
    loop {
        let next_len = match cur {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => 0,
        };
        if next_len == 0 || seed.is_multiple_of(4) {
            *cur = junk;
            return;
        }
        let i = usize::try_from((seed / 4) % next_len as u64).unwrap();
        seed /= 7;
        cur = match cur {
            Value::Object(m) => m.values_mut().nth(i).unwrap(),
            Value::Array(a) => &mut a[i],
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => unreachable!(),
        };
    }
}
