//! The `wasm-bindgen` exports: camelCase names, JS values in and out.
//!
//! Inputs are a JSON string or a JS value. A JS value is turned into JSON with every `bigint`, and
//! every `0x` string that stands where an amount goes, as a decimal string; a plain number that is not a safe integer (above 2^53 − 1) is refused with
//! code `unsafe_number`, since its digits are already lost. Outputs that mirror the Olas HTTP JSON
//! keep decimal strings; JS-shaped results carry amounts as `bigint`. Errors are JS `Error`s with
//! a stable `code` property.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{BigInt, Error, JSON, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::WebError;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str);
}

/// Installed when the module starts: a panic (a bug in tend) is written to the console with its
/// message and location before the module traps, never silently.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!("tend: internal error (please report it): {info}"));
    }));
}

/// Turns on tend's logging to the browser console: `level` is "error", "warn",
/// "info" (the default) or "debug"; `RpcClient` reports failures, retries and failovers there.
/// Calling it again does nothing. Throws `invalid_input` for an unknown level.
#[wasm_bindgen(js_name = initTracing)]
#[allow(clippy::needless_pass_by_value)] // wasm-bindgen hands JS strings over owned
pub fn init_tracing(level: Option<String>) -> Result<(), JsValue> {
    let level = match level.as_deref().unwrap_or("info") {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        other => {
            return Err(js_error(
                "invalid_input",
                &format!("log level {other:?}: expected error, warn, info, debug or trace"),
            ));
        }
    };
    // A second call finds a subscriber already set: the first one stays.
    let _ = tracing::subscriber::set_global_default(crate::log::Console { max: level });
    Ok(())
}

/// A JS `Error` with a stable `code` property.
pub(crate) fn js_error(code: &str, message: &str) -> JsValue {
    let e = Error::new(message);
    // Setting a property on a fresh Error cannot fail.
    let _ = Reflect::set(&e, &JsValue::from_str("code"), &JsValue::from_str(code));
    e.into()
}

impl From<WebError> for JsValue {
    fn from(e: WebError) -> Self {
        js_error(e.code, &e.message)
    }
}

/// The largest integer a JS number holds exactly.
pub(crate) const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// JSON text of an input: a string is taken as JSON text; any other value is stringified with
/// bigints as decimal strings.
pub(crate) fn input_text(v: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = v.as_string() {
        return Ok(s);
    }
    let unsafe_key: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    let seen = Rc::clone(&unsafe_key);
    let replacer = Closure::<dyn FnMut(JsValue, JsValue) -> JsValue>::new(
        move |key: JsValue, value: JsValue| -> JsValue {
            if value.is_bigint() {
                let b: BigInt = value.unchecked_into();
                return b.to_string(10).map_or(JsValue::NULL, JsValue::from);
            }
            if let Some(text) = value.as_string()
                && let Some(decimal) = hex_amount(&key, &text)
            {
                return JsValue::from(decimal);
            }
            if let Some(n) = value.as_f64()
                && n.fract() == 0.0
                && n.abs() > MAX_SAFE
            {
                seen.borrow_mut()
                    .get_or_insert_with(|| key.as_string().unwrap_or_default());
            }
            value
        },
    );
    let text = JSON::stringify_with_replacer(v, replacer.as_ref().unchecked_ref())
        .map_err(|_| js_error("invalid_input", "the input cannot be turned into JSON"))?;
    if let Some(key) = unsafe_key.borrow().as_ref() {
        return Err(js_error(
            "unsafe_number",
            &format!(
                "{key:?} is a JS number above 2^53 - 1 and has lost digits: pass it as a bigint \
                 (123n) or a decimal string"
            ),
        ));
    }
    text.as_string()
        .ok_or_else(|| js_error("invalid_input", "the input is undefined or a function"))
}

/// Keys whose values are amounts in the inputs (a `0x` string there is a hex amount).
const AMOUNT_INPUT_KEYS: &[&str] = &[
    "low",
    "target",
    "max_transfer",
    "spend_per_day",
    "amount",
    "gas_reserved",
    "max_fee_per_gas",
    "native_transfer_gas",
    "erc20_transfer_gas",
    "l1_fee",
    "cost_of_bond",
    "agent",
    "safe",
    "min_staking_deposit",
    "funder_balance",
    "wallet_balance",
];

/// A `0x` hex amount as a decimal string, when `text` is one and `key` holds an amount: an amount
/// key, or an address key (the values of balance maps keyed by asset). `None` leaves the value
/// as it is (addresses stay addresses; a bad amount is reported by the reader with its path).
fn hex_amount(key: &JsValue, text: &str) -> Option<String> {
    let hex = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    let key = key.as_string()?;
    let key_is_address =
        key.len() == 42 && key.starts_with("0x") && key[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !(AMOUNT_INPUT_KEYS.contains(&key.as_str()) || key_is_address) || hex.is_empty() {
        return None;
    }
    tend_core::U256::from_str_radix(hex, 16)
        .ok()
        .map(|v| v.to_string())
}

/// Keys whose string values are amounts, converted to `bigint` in JS-shaped results.
const AMOUNT_KEYS: &[&str] = &[
    "amount",
    "gas_reserved",
    "missing",
    "balance",
    "low",
    "target",
    "spend_per_day",
    "funded",
    "final_balance",
    "baseline_amount",
    "what_if_amount",
    "funds_spent",
    "funder",
    "wallets",
];

#[wasm_bindgen(inline_js = r#"
export function tend_parse_amounts(text, keys) {
  const amount = new Set(keys.split(","));
  const big = (v) => (typeof v === "string" ? BigInt(v) : Array.isArray(v) ? v.map(big) : v);
  return JSON.parse(text, (k, v) => (amount.has(k) ? big(v) : v));
}
"#)]
extern "C" {
    /// `JSON.parse` with a reviver: a string under an amount key (or in arrays under one)
    /// becomes a `bigint`. Parsing and reviving stay in JS (no call back into the wasm per value).
    #[wasm_bindgen(catch)]
    fn tend_parse_amounts(text: &str, keys: &str) -> Result<JsValue, JsValue>;
}

/// JSON text as a JS value, with the amounts under [`AMOUNT_KEYS`] as `bigint`.
pub(crate) fn parse_amounts(text: &str) -> Result<JsValue, JsValue> {
    thread_local! {
        static KEYS: String = AMOUNT_KEYS.join(",");
    }
    KEYS.with(|keys| tend_parse_amounts(text, keys))
        .map_err(|_| js_error("internal", "an output is not JSON with decimal amounts"))
}

/// The JSON text of an output as a JS value with decimal strings (Olas HTTP JSON shape).
fn parse_out(text: &str) -> Result<JsValue, JsValue> {
    JSON::parse(text).map_err(|_| js_error("internal", "output is not JSON"))
}

/// The Olas `funding_requirements` body for a funding snapshot, exactly as the middleware's
/// HTTP API answers it (amounts as decimal strings).
#[wasm_bindgen(js_name = olasFundingReport)]
pub fn olas_funding_report(snapshot: &JsValue) -> Result<JsValue, JsValue> {
    let text = input_text(snapshot)?;
    parse_out(&crate::olas_funding_report(&text)?)
}

/// tend's funding plan (transfers, shortfalls, runway) with amounts as `bigint`.
#[wasm_bindgen(js_name = planFunding)]
pub fn plan_funding(input: &JsValue) -> Result<JsValue, JsValue> {
    let text = input_text(input)?;
    parse_amounts(&crate::plan_funding(&text)?)
}

/// Runs the seeded simulation world for a span of virtual time: `{ seed, summary, timeline,
/// events, violations }` with amounts as `bigint`. The config is `tend_core::sim::SimConfig`
/// (every field optional).
#[wasm_bindgen]
pub fn simulate(config: &JsValue) -> Result<JsValue, JsValue> {
    let text = if config.is_undefined() || config.is_null() {
        "{}".to_owned()
    } else {
        input_text(config)?
    };
    parse_amounts(&crate::simulate(&text)?)
}

/// The ordered steps from a service's facts to a target: `{facts, target}` in, `{steps,
/// warnings}` out. A guard that forbids it throws code `transition_refused` with what would
/// allow it (for example the unlock time of a staking lock).
#[wasm_bindgen(js_name = planTransition)]
pub fn plan_transition(request: &JsValue) -> Result<JsValue, JsValue> {
    parse_out(&crate::plan_transition(&input_text(request)?)?)
}

/// What the nonce planner would do for one sender: `{records, chain: {latest, pending, head},
/// now, market?, policy?}` in, `{next_nonce, gaps, actions}` out.
#[wasm_bindgen(js_name = planNonces)]
pub fn plan_nonces(request: &JsValue) -> Result<JsValue, JsValue> {
    parse_out(&crate::plan_nonces(&input_text(request)?)?)
}

/// The health reducer over samples: `{preset?: "tend" | "olas", policy?, samples: [{kind, at,
/// …}]}` in, `{verdict, state, restarts, next_deadline, actions}` out.
#[wasm_bindgen(js_name = healthVerdict)]
pub fn health_verdict(request: &JsValue) -> Result<JsValue, JsValue> {
    parse_out(&crate::health_verdict(&input_text(request)?)?)
}

/// Replays a recording (the text `tend run --record` writes): `{ outputs, hash, inputs, count }`
/// where `outputs` is byte for byte what `tend replay` prints and `hash` its Keccak-256. A bad
/// line throws code `invalid_recording` naming the line.
#[wasm_bindgen(js_name = replayRecording)]
pub fn replay_recording(text: &str) -> Result<JsValue, JsValue> {
    let r = crate::replay_recording(text)?;
    let o = Object::new();
    Reflect::set(&o, &"outputs".into(), &r.outputs.into())?;
    Reflect::set(&o, &"hash".into(), &r.hash.into())?;
    #[allow(clippy::cast_precision_loss)]
    {
        Reflect::set(&o, &"inputs".into(), &(r.inputs as f64).into())?;
        Reflect::set(&o, &"count".into(), &(r.count as f64).into())?;
    }
    Ok(o.into())
}

/// What-if on recorded history: the recording's text and another engine configuration (the
/// recording header's `config` shape) in; `{ first_difference, differences, transfers,
/// baseline, what_if, dropped, assumed }` out, amounts as `bigint`.
#[wasm_bindgen(js_name = whatIf)]
pub fn what_if(recording: &str, config: &JsValue) -> Result<JsValue, JsValue> {
    parse_amounts(&crate::what_if(recording, &input_text(config)?)?)
}

/// The engine, driven from JavaScript by a dashboard's own loop: feed inputs (`handleInput`),
/// take outputs (`drain`), and wake it at `pollTimeout().at` with a `{input: "tick", now}`.
/// Inputs and outputs are the engine's JSON (the shapes of a recording's lines; amounts as
/// decimal strings, so an output can be stored and fed back as it is).
#[wasm_bindgen(js_name = Engine)]
pub struct JsEngine {
    inner: crate::WebEngine,
}

#[wasm_bindgen(js_class = Engine)]
impl JsEngine {
    /// A fresh engine: `config` is an engine configuration (a recording header's `config`),
    /// `nowMs` the time in ms since the epoch. Throws `invalid_config`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: &JsValue, now_ms: f64) -> Result<JsEngine, JsValue> {
        Self::restore(config, now_ms, &JsValue::NULL, Vec::new())
    }

    /// An engine restored after a restart from its journal (the `journal` outputs it gave, the
    /// latest per record) with the services whose agents still run (adopted, never spawned
    /// twice).
    #[allow(clippy::needless_pass_by_value)] // wasm-bindgen hands JS arrays over as owned Vecs
    pub fn restore(
        config: &JsValue,
        now_ms: f64,
        journal: &JsValue,
        running: Vec<String>,
    ) -> Result<JsEngine, JsValue> {
        let journal = if journal.is_null() || journal.is_undefined() {
            "[]".to_owned()
        } else {
            input_text(journal)?
        };
        Ok(Self {
            inner: crate::WebEngine::restore(
                &input_text(config)?,
                ms(now_ms)?,
                &journal,
                &running,
            )?,
        })
    }

    /// Hands one input to the engine (`{input: "tick", now}`, `{input: "rpc_response", …}`, …).
    /// Throws `invalid_input` naming what does not parse; the engine itself ignores (with an
    /// `ignored` event) inputs that parse but match nothing.
    #[wasm_bindgen(js_name = handleInput)]
    pub fn handle_input(&mut self, input: &JsValue) -> Result<(), JsValue> {
        Ok(self.inner.handle_input(&input_text(input)?)?)
    }

    /// Every output waiting, in order (an empty array when idle).
    pub fn drain(&mut self) -> Result<JsValue, JsValue> {
        parse_out(&self.inner.drain()?)
    }

    /// `{at, reason}`: when to send the next tick; `null` when nothing is due.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Result<JsValue, JsValue> {
        parse_out(&self.inner.poll_timeout()?)
    }

    /// The engine's clock, ms since the epoch.
    #[allow(clippy::cast_precision_loss)]
    pub fn now(&self) -> f64 {
        self.inner.now_ms() as f64
    }
}

/// A time in ms from JS: a whole, non-negative, safe number.
fn ms(v: f64) -> Result<u64, JsValue> {
    if v.fract() != 0.0 || !(0.0..=MAX_SAFE).contains(&v) {
        return Err(js_error(
            "invalid_input",
            &format!("{v} is not a time in whole milliseconds since the epoch"),
        ));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(v as u64)
}

/// The version of the package.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
