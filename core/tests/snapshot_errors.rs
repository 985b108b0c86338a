//! A bad value in every field of the funding snapshot and of the planner input: a typed error
//! naming the JSON path, never a panic.

use serde_json::{Value, json};
use tend_core::funding::FundingSnapshot;
use tend_core::funding::plan::PlanInput;
use tend_core::json::InputErrorKind;

use crate::common::*;

fn base() -> Value {
    let mut s = running(&eth(3, 10), &eth(2, 1));
    s["agent_funds_status"] = json!({ "gnosis": { SERVICE_SAFE: { NATIVE: { "deficit": "1" } } } });
    s
}

/// Sets the value at a `/`-separated pointer (creating nothing) and returns the error path.
fn error_at(pointer: &str, value: Value) -> (String, InputErrorKind) {
    let mut s = base();
    *s.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no field {pointer}")) = value;
    let e = FundingSnapshot::from_json(&s).expect_err(pointer);
    (e.path, e.kind)
}

#[test]
fn base_snapshot_is_valid() {
    FundingSnapshot::from_json(&base()).unwrap();
}

#[test]
fn every_field_names_its_path() {
    let svc = "/service/chains/gnosis";
    let cases: Vec<(String, Value, &str)> = vec![
        ("/now".into(), json!(-1), "$.now"),
        ("/now".into(), json!("1"), "$.now"),
        ("/now".into(), json!(1.5), "$.now"),
        ("/service".into(), json!([]), "$.service"),
        (
            "/service/service_config_id".into(),
            json!(""),
            "$.service.service_config_id",
        ),
        (
            "/service/service_config_id".into(),
            json!("sc/../x"),
            "$.service.service_config_id",
        ),
        (
            "/service/service_config_id".into(),
            json!(7),
            "$.service.service_config_id",
        ),
        (
            "/service/agent_addresses".into(),
            json!("0x"),
            "$.service.agent_addresses",
        ),
        (
            "/service/agent_addresses/0".into(),
            json!("0x123"),
            "$.service.agent_addresses[0]",
        ),
        (
            "/service/agent_addresses/0".into(),
            json!(null),
            "$.service.agent_addresses[0]",
        ),
        (
            "/service/chains".into(),
            json!({ "solana": {} }),
            "$.service.chains.solana",
        ),
        (
            "/service/chains".into(),
            json!({ "Gnosis": {} }),
            "$.service.chains.Gnosis",
        ),
        (
            format!("{svc}/service_safe"),
            json!("0xZZ"),
            "$.service.chains.gnosis.service_safe",
        ),
        (
            format!("{svc}/token"),
            json!(-2),
            "$.service.chains.gnosis.token",
        ),
        (
            format!("{svc}/token"),
            json!("123"),
            "$.service.chains.gnosis.token",
        ),
        (
            format!("{svc}/token"),
            json!(1e30),
            "$.service.chains.gnosis.token",
        ),
        (
            format!("{svc}/cost_of_bond"),
            json!("-5"),
            "$.service.chains.gnosis.cost_of_bond",
        ),
        (
            format!("{svc}/cost_of_bond"),
            json!("1e16"),
            "$.service.chains.gnosis.cost_of_bond",
        ),
        (
            format!("{svc}/cost_of_bond"),
            json!(10),
            "$.service.chains.gnosis.cost_of_bond",
        ),
        (
            format!("{svc}/cost_of_bond"),
            json!("9".repeat(79)),
            "$.service.chains.gnosis.cost_of_bond",
        ),
        (
            format!("{svc}/fund_requirements"),
            json!({ "native": { "agent": "1", "safe": "1" } }),
            "$.service.chains.gnosis.fund_requirements.native",
        ),
        (
            format!("{svc}/fund_requirements/{NATIVE}/agent"),
            json!("x"),
            "$.service.chains.gnosis.fund_requirements[\"0x0000000000000000000000000000000000000000\"].agent",
        ),
        (
            format!("{svc}/fund_requirements/{NATIVE}"),
            json!({ "agent": "1" }),
            "$.service.chains.gnosis.fund_requirements[\"0x0000000000000000000000000000000000000000\"].safe",
        ),
        (
            format!("{svc}/staking/min_staking_deposit"),
            json!("-1"),
            "$.service.chains.gnosis.staking.min_staking_deposit",
        ),
        (
            format!("{svc}/staking/staking_token"),
            json!("OLAS"),
            "$.service.chains.gnosis.staking.staking_token",
        ),
        (
            format!("{svc}/staking/additional_staking_tokens"),
            json!({ OLAS: "-1" }),
            "$.service.chains.gnosis.staking.additional_staking_tokens[\"0xcE11e14225575945b8E6Dc0D4F2dD4C570f79d9f\"]",
        ),
        (
            "/wallet/master_eoa".into(),
            json!("0x"),
            "$.wallet.master_eoa",
        ),
        (
            "/wallet/master_safes".into(),
            json!({ "mars": MASTER_SAFE }),
            "$.wallet.master_safes.mars",
        ),
        (
            "/wallet/master_safes/gnosis".into(),
            json!(1),
            "$.wallet.master_safes.gnosis",
        ),
        (
            "/balances".into(),
            json!({ "gnosis": { "master_safe": {} } }),
            "$.balances.gnosis.master_safe",
        ),
        (
            "/balances".into(),
            json!({ "gnosis": { MASTER_SAFE: { NATIVE: 5 } } }),
            "$.balances.gnosis[\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"][\"0x0000000000000000000000000000000000000000\"]",
        ),
        (
            "/balances".into(),
            json!({ "gnosis": { MASTER_SAFE: { "eth": "5" } } }),
            "$.balances.gnosis[\"0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC\"].eth",
        ),
        ("/balances".into(), json!([]), "$.balances"),
        (
            "/bonded_assets".into(),
            json!({ "gnosis": { NATIVE: "1.5" } }),
            "$.bonded_assets.gnosis[\"0x0000000000000000000000000000000000000000\"]",
        ),
        (
            "/bonded_assets".into(),
            json!({ "xdai": {} }),
            "$.bonded_assets.xdai",
        ),
        (
            "/agent_funds_status".into(),
            json!({ "gnosis": { SERVICE_SAFE: { NATIVE: "5" } } }),
            "$.agent_funds_status.gnosis[\"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB\"][\"0x0000000000000000000000000000000000000000\"]",
        ),
        (
            "/agent_funds_status".into(),
            json!([]),
            "$.agent_funds_status",
        ),
        (
            "/funding_in_progress".into(),
            json!("false"),
            "$.funding_in_progress",
        ),
        (
            "/funding_cooldown_until".into(),
            json!(-300),
            "$.funding_cooldown_until",
        ),
        ("/quickstart".into(), json!(1), "$.quickstart"),
    ];
    for (pointer, value, path) in cases {
        let (got, kind) = error_at(&pointer, value.clone());
        assert_eq!(got, path, "{pointer} = {value}: {kind}");
    }
}

#[test]
fn error_kinds_are_typed() {
    let (_, k) = error_at("/service/chains/gnosis/cost_of_bond", json!("-5"));
    assert!(matches!(k, InputErrorKind::InvalidAmount { .. }), "{k}");
    assert!(k.to_string().contains("negative"));
    let (_, k) = error_at("/service/chains/gnosis/cost_of_bond", json!("five"));
    assert!(k.to_string().contains("not a decimal integer"), "{k}");
    let (_, k) = error_at("/service/agent_addresses/0", json!("0x123"));
    assert!(matches!(k, InputErrorKind::InvalidAddress { .. }), "{k}");
    let (_, k) = error_at("/service/chains", json!({ "solana": {} }));
    assert!(matches!(k, InputErrorKind::UnknownChain(_)), "{k}");
    assert!(
        k.to_string().contains("gnosis"),
        "the message lists the valid names: {k}"
    );
}

#[test]
fn unknown_and_missing_fields() {
    for (pointer, field) in [
        ("", "$.extra"),
        ("/service", "$.service.extra"),
        ("/service/chains/gnosis", "$.service.chains.gnosis.extra"),
        (
            "/service/chains/gnosis/staking",
            "$.service.chains.gnosis.staking.extra",
        ),
        ("/wallet", "$.wallet.extra"),
    ] {
        let mut s = base();
        s.pointer_mut(pointer).unwrap()["extra"] = json!(1);
        let e = FundingSnapshot::from_json(&s).unwrap_err();
        assert_eq!(e.path, field);
        assert!(matches!(e.kind, InputErrorKind::UnknownField { .. }));
    }
    for (pointer, field, path) in [
        ("", "now", "$.now"),
        ("", "service", "$.service"),
        ("/service", "agent_addresses", "$.service.agent_addresses"),
        (
            "/service/chains/gnosis",
            "token",
            "$.service.chains.gnosis.token",
        ),
        (
            "/service/chains/gnosis",
            "fund_requirements",
            "$.service.chains.gnosis.fund_requirements",
        ),
        ("/wallet", "master_eoa", "$.wallet.master_eoa"),
    ] {
        let mut s = base();
        s.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(field);
        let e = FundingSnapshot::from_json(&s).unwrap_err();
        assert_eq!(e.path, path);
        assert_eq!(e.kind, InputErrorKind::Missing);
    }
}

#[test]
fn duplicate_addresses_in_balances_are_refused() {
    let mut s = base();
    s["balances"]["gnosis"][MASTER_SAFE.to_lowercase()] = json!({ NATIVE: "1" });
    let e = FundingSnapshot::from_json(&s).unwrap_err();
    assert!(e.to_string().contains("appears twice"), "{e}");
}

#[test]
fn not_json_at_all() {
    for text in [
        "",
        "{",
        "[1,2",
        "nul",
        "{\"now\": 1} trailing",
        "\u{feff}{}",
    ] {
        let e = FundingSnapshot::from_json_str(text).unwrap_err();
        assert_eq!(e.path, "$", "{text:?}");
    }
}

fn plan_base() -> Value {
    json!({
        "chains": { "gnosis": { "max_fee_per_gas": "1", "l1_fee": "0" }, "31337": { "max_fee_per_gas": "1" } },
        "sources": [{ "chain": "gnosis", "address": MASTER_SAFE, "balances": { NATIVE: "100" } }],
        "wallets": [{ "chain": "gnosis", "address": AGENT, "priority": 0, "balances": {},
                      "policy": { NATIVE: { "low": "1", "target": "2" } } }],
        "in_flight": [{ "chain": "gnosis", "from": MASTER_SAFE, "to": SERVICE_SAFE, "asset": NATIVE, "amount": "1" }]
    })
}

#[test]
fn planner_fields_name_their_paths() {
    PlanInput::from_json(&plan_base()).unwrap();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "/chains",
            json!({ "mars": { "max_fee_per_gas": "1" } }),
            "$.chains.mars",
        ),
        (
            "/chains",
            json!({ "0": { "max_fee_per_gas": "1" } }),
            "$.chains[\"0\"]",
        ),
        (
            "/chains/gnosis/max_fee_per_gas",
            json!(1),
            "$.chains.gnosis.max_fee_per_gas",
        ),
        (
            "/chains/gnosis/l1_fee",
            json!("-1"),
            "$.chains.gnosis.l1_fee",
        ),
        ("/sources/0/chain", json!("nope"), "$.sources[0].chain"),
        ("/sources/0/address", json!("0x1"), "$.sources[0].address"),
        (
            "/sources/0/balances",
            json!({ NATIVE: "x" }),
            "$.sources[0].balances[\"0x0000000000000000000000000000000000000000\"]",
        ),
        ("/sources/0/chain", json!("base"), "$.sources[0].chain"),
        ("/wallets/0/priority", json!(-1), "$.wallets[0].priority"),
        (
            "/wallets/0/priority",
            json!(5_000_000_000u64),
            "$.wallets[0].priority",
        ),
        (
            "/wallets/0/address",
            json!(MASTER_SAFE),
            "$.wallets[0].address",
        ),
        (
            "/wallets/0/policy",
            json!({ NATIVE: { "low": "3", "target": "2" } }),
            "$.wallets[0].policy[\"0x0000000000000000000000000000000000000000\"].low",
        ),
        (
            "/wallets/0/policy",
            json!({ NATIVE: { "low": "1", "target": "2", "max_transfer": "0" } }),
            "$.wallets[0].policy[\"0x0000000000000000000000000000000000000000\"].max_transfer",
        ),
        (
            "/wallets/0/policy",
            json!({ NATIVE: { "low": "1" } }),
            "$.wallets[0].policy[\"0x0000000000000000000000000000000000000000\"].target",
        ),
        (
            "/wallets/0/policy",
            json!({ NATIVE: { "low": "1", "target": "2", "spend_per_day": "-1" } }),
            "$.wallets[0].policy[\"0x0000000000000000000000000000000000000000\"].spend_per_day",
        ),
        ("/in_flight/0/amount", json!("-1"), "$.in_flight[0].amount"),
        (
            "/in_flight/0/asset",
            json!("native"),
            "$.in_flight[0].asset",
        ),
        ("/in_flight/0/to", json!(null), "$.in_flight[0].to"),
    ];
    for (pointer, value, path) in cases {
        let mut v = plan_base();
        *v.pointer_mut(pointer).unwrap() = value.clone();
        let e = PlanInput::from_json(&v).expect_err(pointer);
        assert_eq!(e.path, path, "{pointer} = {value}: {e}");
    }
    // A wallet listed twice, and a chain without gas parameters.
    let mut v = plan_base();
    let w = v["wallets"][0].clone();
    v["wallets"].as_array_mut().unwrap().push(w);
    assert_eq!(
        PlanInput::from_json(&v).unwrap_err().path,
        "$.wallets[1].address"
    );
    let mut v = plan_base();
    v["wallets"][0]["chain"] = json!("31338");
    let e = PlanInput::from_json(&v).unwrap_err();
    assert_eq!(e.path, "$.wallets[0].chain");
    assert!(e.to_string().contains("no gas parameters"), "{e}");
}
