//! Browser-side JSON-RPC (`RpcClient`): `fetch` through gloo-net, with the core's endpoint policy
//! (scores, circuit breakers, rate limits, failure classes, retries with backoff and failover) and
//! balance snapshots through Multicall3 pinned to one block, as the daemon reads them.

use std::cell::RefCell;
use std::rc::Rc;

use alloy_primitives::{Address, U256};
use js_sys::{Object, Reflect};
use serde_json::{Value, json};
use tend_core::address::Asset;
use tend_core::multicall;
use tend_core::rng::Rng;
use tend_core::rpc::{
    EndpointSet, RetryDecision, RpcFailure, RpcPolicy, Selection, classify, decide,
};
use tend_core::time::Timestamp;
use tend_json::write as to_json;
use wasm_bindgen::prelude::*;

use crate::js::{input_text, js_error, parse_amounts};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: f64) -> JsValue;
}

/// Waits `ms` (browser and Node alike).
async fn sleep(ms: u64) {
    #[allow(clippy::cast_precision_loss)]
    let ms = ms.min(60_000) as f64;
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = set_timeout(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn now() -> Timestamp {
    Timestamp::from_ms(js_sys::Date::now().max(0.0) as u64)
}

struct Client {
    urls: Vec<String>,
    endpoints: EndpointSet,
    policy: RpcPolicy,
    rng: Rng,
    next_id: u64,
    chain: Option<u64>,
    /// Whether the chain has Multicall3 (asked once per client, as the daemon does).
    multicall: Option<bool>,
}

/// A JSON-RPC client over several endpoints of one chain.
#[wasm_bindgen(js_name = RpcClient)]
pub struct JsRpcClient {
    inner: Rc<RefCell<Client>>,
}

/// One POST: the parsed JSON body, or the failure as the core classes it.
async fn post(url: &str, body: &str) -> Result<Value, RpcFailure> {
    let req = gloo_net::http::Request::post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .map_err(|e| RpcFailure::Transport {
            message: e.to_string(),
        })?;
    let resp = req.send().await.map_err(|e| RpcFailure::Transport {
        message: format!("no answer: {e}"),
    })?;
    if !resp.ok() {
        let retry_after_ms = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| s.saturating_mul(1000));
        return Err(RpcFailure::Http {
            status: resp.status(),
            retry_after_ms,
        });
    }
    let text = resp.text().await.map_err(|e| RpcFailure::Transport {
        message: e.to_string(),
    })?;
    tend_core::json::parse_value(&text).map_err(|_| RpcFailure::MissingResponse)
}

/// The `result` of one JSON-RPC answer object, or its error.
fn result_of(answer: &Value) -> Result<Value, RpcFailure> {
    if let Some(e) = answer.get("error") {
        return Err(RpcFailure::JsonRpc {
            code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: e
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(300)
                .collect(),
            retry_after_ms: None,
        });
    }
    answer
        .get("result")
        .cloned()
        .ok_or(RpcFailure::MissingResponse)
}

fn failure_error(method: &str, f: &RpcFailure) -> JsValue {
    js_error("rpc_failed", &format!("{method}: {f}"))
}

impl JsRpcClient {
    /// Sends `calls` (method, params) as one request (a batch when more than one) with the
    /// core's retries and failover; the results in order.
    async fn send(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, RpcFailure> {
        let method = calls.first().map_or("", |c| c.0);
        let mut attempt = 1;
        let mut avoid = None;
        loop {
            let t = now();
            let picked = {
                let mut c = self.inner.borrow_mut();
                match c.endpoints.select(t, avoid) {
                    Selection::Use { index } => {
                        let first_id = c.next_id;
                        c.next_id += calls.len() as u64;
                        Ok((c.urls[index].clone(), index, first_id))
                    }
                    Selection::Wait { until, .. } => Err(until.since(t).max(1)),
                }
            };
            let (url, index, first_id) = match picked {
                Ok(p) => p,
                Err(wait_ms) => {
                    sleep(wait_ms).await;
                    continue;
                }
            };
            let items: Vec<Value> = calls
                .iter()
                .zip(first_id..)
                .map(|((m, p), id)| request(m, p.clone(), id))
                .collect();
            let body = if items.len() == 1 {
                to_json::to_string(&items[0])
            } else {
                to_json::to_string(&items)
            };
            tracing::debug!(method, endpoint = index, attempt, "RPC request");
            let started = js_sys::Date::now();
            let answer = post(&url, &body).await.and_then(|v| {
                let list = if let Value::Array(a) = v { a } else { vec![v] };
                (first_id..first_id + calls.len() as u64)
                    .map(|id| {
                        list.iter()
                            .find(|a| a.get("id").and_then(Value::as_u64) == Some(id))
                            .ok_or(RpcFailure::MissingResponse)
                            .and_then(result_of)
                    })
                    .collect::<Result<Vec<Value>, RpcFailure>>()
            });
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let latency = (js_sys::Date::now() - started).max(0.0) as u64;
            let retry = {
                let mut c = self.inner.borrow_mut();
                match answer {
                    Ok(v) => {
                        c.endpoints.success(index, latency);
                        return Ok(v);
                    }
                    Err(f) => {
                        let class = classify(method, &f);
                        c.endpoints.failure(index, class, now());
                        let policy = c.policy;
                        match decide(&policy, class, attempt, &mut c.rng) {
                            RetryDecision::Retry { after_ms, failover } => {
                                tracing::warn!(
                                    method,
                                    endpoint = index,
                                    attempt,
                                    after_ms,
                                    failover,
                                    "RPC failed, retrying: {f}"
                                );
                                (after_ms, failover)
                            }
                            RetryDecision::Fail => {
                                tracing::error!(
                                    method,
                                    endpoint = index,
                                    attempt,
                                    "RPC failed: {f}"
                                );
                                return Err(f);
                            }
                        }
                    }
                }
            };
            sleep(retry.0).await;
            attempt += 1;
            avoid = retry.1.then_some(index);
        }
    }

    /// Whether the chain has Multicall3 (its code at `tag`), asked once per client.
    async fn has_multicall(&self, tag: &str) -> Result<bool, JsValue> {
        if let Some(known) = self.inner.borrow().multicall {
            return Ok(known);
        }
        let params = at_block(hex_address(multicall::MULTICALL3), tag);
        let code = self.one("eth_getCode", params).await?;
        let present = code.as_str().is_some_and(|c| c.len() > 2);
        self.inner.borrow_mut().multicall = Some(present);
        Ok(present)
    }

    async fn one(&self, method: &str, params: Value) -> Result<Value, JsValue> {
        let mut v = self
            .send(&[(method, params)])
            .await
            .map_err(|f| failure_error(method, &f))?;
        Ok(v.pop().unwrap_or(Value::Null))
    }
}

/// A JSON-RPC request object (built by hand: `json!` would serialise through serde).
fn request(method: &str, params: Value, id: u64) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("jsonrpc".into(), Value::from("2.0"));
    m.insert("id".into(), Value::from(id));
    m.insert("method".into(), Value::from(method));
    m.insert("params".into(), params);
    Value::Object(m)
}

/// An address as JSON-RPC writes it (`0x` and lowercase hex).
fn hex_address(a: Address) -> Value {
    Value::String(format!("{a:#x}"))
}

/// The parameters `[first, tag]` of a call at a block.
fn at_block(first: Value, tag: &str) -> Value {
    Value::Array(vec![first, Value::String(tag.to_owned())])
}

/// The `{to, data}` object of an `eth_call`.
fn eth_call(to: Address, data: &[u8]) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("to".into(), hex_address(to));
    let data = format!("0x{}", alloy_primitives::hex::encode(data));
    m.insert("data".into(), Value::String(data));
    Value::Object(m)
}

fn hex_u64(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

fn parse_addresses(list: &[String], what: &str) -> Result<Vec<Address>, JsValue> {
    list.iter()
        .map(|a| {
            a.parse::<Address>()
                .map_err(|_| js_error("invalid_input", &format!("{what} {a:?} is not an address")))
        })
        .collect()
}

#[wasm_bindgen(js_class = RpcClient)]
impl JsRpcClient {
    /// A client over `urls` (tried in score order, failing ones benched), with the core's RPC
    /// policy or `policy` (the same fields as a chain's `rpc_policy` in tend.toml).
    #[wasm_bindgen(constructor)]
    pub fn new(urls: Vec<String>, policy: &JsValue) -> Result<JsRpcClient, JsValue> {
        if urls.is_empty() {
            return Err(js_error(
                "invalid_input",
                "an RpcClient needs at least one URL",
            ));
        }
        for u in &urls {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(js_error(
                    "invalid_input",
                    "RPC URLs must start with http:// or https://",
                ));
            }
        }
        let policy: RpcPolicy = if policy.is_undefined() || policy.is_null() {
            RpcPolicy::default()
        } else {
            RpcPolicy::from_json(&input_text(policy)?)
                .map_err(|e| js_error("invalid_input", &format!("policy: {e}")))?
        };
        let seed = js_sys::Date::now().to_bits();
        Ok(Self {
            inner: Rc::new(RefCell::new(Client {
                endpoints: EndpointSet::new(urls.len(), policy, now()),
                urls,
                policy,
                rng: Rng::new(seed),
                next_id: 1,
                chain: None,
                multicall: None,
            })),
        })
    }

    /// One JSON-RPC call with retries and failover: its `result`. Throws code `rpc_failed`.
    pub async fn request(&self, method: String, params: JsValue) -> Result<JsValue, JsValue> {
        let params: Value = if params.is_undefined() {
            json!([])
        } else {
            tend_core::json::parse_value(&input_text(&params)?)
                .map_err(|e| js_error("invalid_input", &e.to_string()))?
        };
        let v = self.one(&method, params).await?;
        parse_amounts(&to_json::to_string(&v))
    }

    /// `eth_chainId` as a number.
    #[wasm_bindgen(js_name = chainId)]
    pub async fn chain_id(&self) -> Result<f64, JsValue> {
        let v = self.one("eth_chainId", json!([])).await?;
        let id = hex_u64(&v).ok_or_else(|| js_error("rpc_failed", "eth_chainId: not a number"))?;
        self.inner.borrow_mut().chain = Some(id);
        #[allow(clippy::cast_precision_loss)]
        Ok(id as f64)
    }

    /// Balances of every holder in every asset (the zero address for the native one) at one
    /// block: `{ block, balances: { holder: { asset: bigint } } }`. One Multicall3 `aggregate3`
    /// `eth_call` pinned to the latest block, or a JSON-RPC batch where Multicall3 has no code.
    /// Throws `wrong_chain` when the endpoints serve another chain than `chainId`.
    #[wasm_bindgen(js_name = readBalances)]
    pub async fn read_balances(
        &self,
        chain_id: f64,
        holders: Vec<String>,
        assets: Vec<String>,
    ) -> Result<JsValue, JsValue> {
        let holders = parse_addresses(&holders, "holder")?;
        let assets: Vec<Asset> = parse_addresses(&assets, "asset")?
            .into_iter()
            .map(Asset)
            .collect();
        let known = self.inner.borrow().chain;
        #[allow(clippy::cast_precision_loss)]
        let actual = match known {
            Some(id) => id as f64,
            None => self.chain_id().await?,
        };
        if (actual - chain_id).abs() > 0.5 {
            return Err(js_error(
                "wrong_chain",
                &format!("the endpoints serve chain {actual}, not {chain_id}"),
            ));
        }
        let block = hex_u64(&self.one("eth_blockNumber", json!([])).await?)
            .ok_or_else(|| js_error("rpc_failed", "eth_blockNumber: not a number"))?;
        let tag = format!("{block:#x}");
        let entries: Vec<(Address, Asset)> = holders
            .iter()
            .flat_map(|h| assets.iter().map(move |a| (*h, *a)))
            .collect();
        let has_multicall = self.has_multicall(&tag).await?;
        let values: Vec<U256> = if has_multicall {
            let data = multicall::encode_balances(&entries);
            let call = eth_call(multicall::MULTICALL3, &data);
            let out = self.one("eth_call", at_block(call, &tag)).await?;
            let bytes = alloy_primitives::hex::decode(out.as_str().unwrap_or(""))
                .map_err(|e| js_error("rpc_failed", &format!("eth_call: {e}")))?;
            multicall::decode_balances(&entries, &bytes)
                .map_err(|e| js_error("rpc_failed", &e.to_string()))?
        } else {
            let calls: Vec<(&str, Value)> = entries
                .iter()
                .map(|(h, a)| {
                    if a.is_native() {
                        ("eth_getBalance", at_block(hex_address(*h), &tag))
                    } else {
                        let (to, data) = multicall::balance_call(*h, *a);
                        let call = eth_call(to, &data);
                        ("eth_call", at_block(call, &tag))
                    }
                })
                .collect();
            let answers = self
                .send(&calls)
                .await
                .map_err(|f| failure_error("balances batch", &f))?;
            answers
                .iter()
                .zip(&entries)
                .map(|(v, (h, a))| {
                    let text = v.as_str().unwrap_or("");
                    if a.is_native() {
                        U256::from_str_radix(text.trim_start_matches("0x"), 16)
                            .map_err(|_| js_error("rpc_failed", "eth_getBalance: not a number"))
                    } else {
                        let bytes = alloy_primitives::hex::decode(text)
                            .map_err(|e| js_error("rpc_failed", &e.to_string()))?;
                        multicall::decode_balance(*h, *a, &bytes)
                            .map_err(|e| js_error("rpc_failed", &e.to_string()))
                    }
                })
                .collect::<Result<_, _>>()?
        };
        let balances = Object::new();
        for ((h, a), v) in entries.iter().zip(values) {
            let key = JsValue::from_str(&h.to_string());
            let per = match Reflect::get(&balances, &key) {
                Ok(o) if o.is_object() => o,
                _ => {
                    let o: JsValue = Object::new().into();
                    Reflect::set(&balances, &key, &o)?;
                    o
                }
            };
            let amount = js_sys::BigInt::new(&JsValue::from_str(&v.to_string()))
                .map_err(|_| js_error("internal", "amount"))?;
            Reflect::set(&per, &JsValue::from_str(&a.0.to_string()), &amount)?;
        }
        let out = Object::new();
        #[allow(clippy::cast_precision_loss)]
        Reflect::set(&out, &"block".into(), &(block as f64).into())?;
        Reflect::set(&out, &"multicall".into(), &has_multicall.into())?;
        Reflect::set(&out, &"balances".into(), &balances)?;
        Ok(out.into())
    }

    /// Every endpoint's standing: `[{ index, score_bps, breaker, head, lag }]`.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        let text = tend_json::write::to_string(&self.inner.borrow().endpoints.status());
        parse_amounts(&text)
    }
}
