//! The wasm exports, run by `wasm-bindgen-test` under Node (`cargo test -p tend-web --target
//! wasm32-unknown-unknown`) and in headless Chromium (the same with `WASM_BINDGEN_USE_BROWSER=1
//! CHROMEDRIVER=/usr/bin/chromedriver`; browser options in web/webdriver.json): parity with the
//! native goldens, amounts across the boundary, errors with codes, and the simulation.

#![cfg(target_arch = "wasm32")]
#![allow(missing_docs, clippy::unwrap_used)]

use js_sys::{BigInt, JSON, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use tend_web::js::{
    health_verdict, olas_funding_report, plan_funding, plan_nonces, plan_transition, simulate,
    version,
};

const OLAS: &[(&str, &str)] = &[
    (
        include_str!("../../tests/fixtures/olas/a-fresh-install.json"),
        include_str!("../../tests/golden/olas/a-fresh-install.json"),
    ),
    (
        include_str!("../../tests/fixtures/olas/c-running-staked.json"),
        include_str!("../../tests/golden/olas/c-running-staked.json"),
    ),
    (
        include_str!("../../tests/fixtures/olas/e-agent-asks-for-funds.json"),
        include_str!("../../tests/golden/olas/e-agent-asks-for-funds.json"),
    ),
];

const PLAN: &str = include_str!("../../tests/fixtures/plan/two-chains.json");
const PLAN_GOLDEN: &str = include_str!("../../tests/golden/plan/two-chains.json");

fn json_of(v: &JsValue) -> serde_json::Value {
    serde_json::from_str(&JSON::stringify(v).unwrap().as_string().unwrap()).unwrap()
}

fn code_of(e: &JsValue) -> String {
    Reflect::get(e, &"code".into())
        .unwrap()
        .as_string()
        .unwrap()
}

fn get(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |acc, k| {
        let key: JsValue = match k.parse::<u32>() {
            Ok(i) => i.into(),
            Err(_) => (*k).into(),
        };
        Reflect::get(&acc, &key).unwrap()
    })
}

fn set(v: &JsValue, path: &[&str], value: &JsValue) {
    let (last, parents) = path.split_last().unwrap();
    let parent = get(v, parents);
    let key: JsValue = match last.parse::<u32>() {
        Ok(i) => i.into(),
        Err(_) => (*last).into(),
    };
    Reflect::set(&parent, &key, value).unwrap();
}

fn bigint(decimal: &str) -> JsValue {
    BigInt::new(&decimal.into()).unwrap().into()
}

#[wasm_bindgen_test]
fn olas_reports_equal_the_native_goldens() {
    for (fixture, golden) in OLAS {
        // As JSON text and as a JS object: the same body the native CLI prints.
        let from_text = olas_funding_report(&JsValue::from_str(fixture)).unwrap();
        let object = JSON::parse(fixture).unwrap();
        let from_object = olas_funding_report(&object).unwrap();
        let want: serde_json::Value = serde_json::from_str(golden).unwrap();
        assert_eq!(json_of(&from_text), want);
        assert_eq!(json_of(&from_object), want);
    }
}

#[wasm_bindgen_test]
fn plans_equal_the_native_golden_with_bigint_amounts() {
    let plan = plan_funding(&JsValue::from_str(PLAN)).unwrap();
    let amount = get(&plan, &["transfers", "0", "amount"]);
    assert!(amount.is_bigint(), "amounts are bigint");
    // The same plan as the native golden once bigints are written as decimal strings.
    let golden: serde_json::Value = serde_json::from_str(PLAN_GOLDEN).unwrap();
    let got: serde_json::Value = serde_json::from_str(&json_of_bigints(&plan)).unwrap();
    assert_eq!(got, golden);
}

#[wasm_bindgen_test]
fn amounts_cross_the_boundary_exactly() {
    let wallet_policy = [
        "wallets",
        "0",
        "policy",
        "0x0000000000000000000000000000000000000000",
    ];
    let source_native = [
        "sources",
        "0",
        "balances",
        "0x0000000000000000000000000000000000000000",
    ];
    for (big, ok) in [
        ("0", true),
        ("9007199254740991", true),
        ("9007199254740992", true),
        ("9007199254740993", true),
        ("18446744073709551616", true),
        (
            "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            true,
        ),
        (
            "115792089237316195423570985008687907853269984665640564039457584007913129639936",
            false,
        ),
        ("-1", false),
    ] {
        let input = JSON::parse(PLAN).unwrap();
        set(&input, &source_native, &bigint(big));
        let out = plan_funding(&input);
        assert_eq!(
            out.is_ok(),
            ok,
            "{big}: {:?}",
            out.err().map(|e| code_of(&e))
        );
        if let Err(e) = out {
            assert_eq!(code_of(&e), "invalid_input", "{big}");
        }
    }
    // The same amount as a decimal string.
    let input = JSON::parse(PLAN).unwrap();
    set(
        &input,
        &source_native,
        &JsValue::from_str("3000000000000000000"),
    );
    assert!(plan_funding(&input).is_ok());
    // A plain JS number above 2^53 has lost digits: refused with a clear code.
    let input = JSON::parse(PLAN).unwrap();
    let mut target = wallet_policy.to_vec();
    target.push("target");
    set(&input, &target, &JsValue::from_f64(2f64.powi(60)));
    let e = plan_funding(&input).unwrap_err();
    assert_eq!(code_of(&e), "unsafe_number");
    assert!(
        e.unchecked_ref::<js_sys::Error>()
            .message()
            .as_string()
            .unwrap()
            .contains("target")
    );
    // A malformed amount names its path.
    let input = JSON::parse(PLAN).unwrap();
    set(&input, &target, &JsValue::from_str("12e3"));
    let e = plan_funding(&input).unwrap_err();
    assert_eq!(code_of(&e), "invalid_input");
    let message = e
        .unchecked_ref::<js_sys::Error>()
        .message()
        .as_string()
        .unwrap();
    assert!(message.contains("$.wallets[0].policy"), "{message}");
}

#[wasm_bindgen_test]
fn bad_inputs_are_errors_with_codes() {
    let e = olas_funding_report(&JsValue::from_str("{not json")).unwrap_err();
    assert_eq!(code_of(&e), "invalid_input");
    assert!(e.is_instance_of::<js_sys::Error>());
    let e = olas_funding_report(&JsValue::UNDEFINED).unwrap_err();
    assert_eq!(code_of(&e), "invalid_input");
    let e = simulate(&JSON::parse(r#"{"services": "many"}"#).unwrap()).unwrap_err();
    assert_eq!(code_of(&e), "invalid_config");
}

#[wasm_bindgen_test]
fn simulate_runs_in_wasm_with_bigint_results() {
    let cfg = JSON::parse(
        r#"{"seed": 3, "services": 3, "duration_ms": 21600000, "sample_every_ms": 3600000}"#,
    )
    .unwrap();
    set(&cfg, &["wallet_balance"], &bigint("300000000000000000"));
    let r = simulate(&cfg).unwrap();
    let services = get(&r, &["summary", "services"]);
    assert_eq!(js_sys::Array::from(&services).length(), 3);
    assert!(get(&r, &["summary", "funds_spent"]).is_bigint());
    assert!(get(&r, &["timeline", "0", "funder"]).is_bigint());
    assert!(get(&r, &["timeline", "0", "wallets", "0"]).is_bigint());
    assert_eq!(js_sys::Array::from(&get(&r, &["violations"])).length(), 0);
    // Deterministic: the same seed, the same report.
    let again = simulate(&cfg).unwrap();
    assert_eq!(json_of_bigints(&r), json_of_bigints(&again));
    assert!(!version().is_empty());
}

fn json_of_bigints(v: &JsValue) -> String {
    JSON::stringify_with_replacer(
        v,
        &wasm_bindgen::closure::Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(
            |_k: JsValue, v: JsValue| {
                if v.is_bigint() {
                    JsValue::from(v.unchecked_into::<BigInt>().to_string(10).unwrap())
                } else {
                    v
                }
            },
        )
        .into_js_value()
        .unchecked_into(),
    )
    .unwrap()
    .as_string()
    .unwrap()
}

#[wasm_bindgen_test]
fn engine_calculators_from_js_objects() {
    // A hung agent under Olas timing: 60 refused probes 5 s apart restart it.
    let samples = js_sys::Array::new();
    let push = |text: &str| {
        samples.push(&JSON::parse(text).unwrap());
    };
    push(r#"{"kind":"start","at":0}"#);
    push(r#"{"kind":"spawned","at":1}"#);
    for i in 0..60 {
        push(&format!(
            r#"{{"kind":"probe","at":{},"result":{{"result":"refused"}}}}"#,
            1 + i * 5000
        ));
    }
    let request = JSON::parse(r#"{"preset":"olas"}"#).unwrap();
    set(&request, &["samples"], &samples);
    let v = health_verdict(&request).unwrap();
    assert_eq!(
        get(&v, &["verdict", "status"]).as_string().unwrap(),
        "stopping"
    );
    assert_eq!(
        get(&v, &["verdict", "reason", "reason"])
            .as_string()
            .unwrap(),
        "failure_threshold"
    );

    let nonces = plan_nonces(
        &JSON::parse(r#"{"records":[],"chain":{"latest":3,"pending":3,"head":9},"now":0}"#)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(get(&nonces, &["next_nonce"]).as_f64(), Some(3.0));

    let e = plan_transition(&JSON::parse(r#"{"facts":{},"target":{"target":"stopped"}}"#).unwrap())
        .unwrap_err();
    assert_eq!(code_of(&e), "invalid_input");
}
