//! Chain access with alloy: one JSON-RPC client per endpoint; the engine picks the endpoint,
//! retries and fails over ([`tend_core::rpc`]); this module only turns one [`RpcCall`] into wire
//! calls and the answer (or the failure) back into core types.
//!
//! Balance snapshots go through Multicall3 `aggregate3` (`getEthBalance` for native,
//! `balanceOf` for tokens) in one `eth_call` pinned to the requested block; where Multicall3 is
//! absent (no code at its address), a JSON-RPC batch pinned to the same block number.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use alloy::rpc::client::RpcClient;
use alloy::transports::{RpcError, TransportErrorKind};
use tend_core::address::Asset;
use tend_core::engine::io::{Receipt, RpcAnswer, RpcCall};
use tend_core::fees::FeeHistory;
use tend_core::rpc::RpcFailure;

use crate::secret::{RpcUrl, redact_url};

pub use tend_core::multicall::MULTICALL3;
use tend_core::multicall::{self, MulticallError};

alloy::sol! {
    /// ERC-20 transfer.
    function transfer(address to, uint256 amount) external returns (bool ok);
}

/// Per chain, a client for each configured RPC URL, in the order given.
pub type Endpoints = BTreeMap<tend_core::chain::ChainId, Vec<Arc<Endpoint>>>;

/// The endpoints of every chain of `config` (no request is made).
pub fn endpoints_of(config: &crate::config::Config) -> Result<Endpoints, String> {
    let mut out = Endpoints::new();
    for spec in &config.chains {
        let eps = spec
            .rpc
            .iter()
            .map(|u| Endpoint::new(u.clone(), spec.multicall).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        out.insert(spec.chain, eps);
    }
    Ok(out)
}

/// Signed transactions by hash, shared by the signer and the broadcasters (the journal holds
/// the durable copy).
pub type RawStore = Arc<Mutex<BTreeMap<B256, Bytes>>>;

/// One endpoint of one chain.
pub struct Endpoint {
    client: RpcClient,
    url: RpcUrl,
    use_multicall: bool,
    /// Whether Multicall3 has code here (asked once).
    multicall_present: Mutex<Option<bool>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// A client for `url`. `multicall`: use Multicall3 when present.
    pub fn new(url: RpcUrl, multicall: bool) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url.expose())
            .map_err(|e| format!("RPC URL {url} is not a URL: {e}"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Self {
            client: RpcClient::new_http_with_client(http, parsed),
            url,
            use_multicall: multicall,
            multicall_present: Mutex::new(None),
        })
    }

    /// The URL (redacted when printed).
    pub fn url(&self) -> &RpcUrl {
        &self.url
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64, RpcFailure> {
        let id: U64 = self.request("eth_chainId", ()).await?;
        Ok(id.to())
    }

    /// Runs one call within `timeout`.
    pub async fn execute(
        &self,
        call: &RpcCall,
        raws: &RawStore,
        timeout: Duration,
    ) -> Result<RpcAnswer, RpcFailure> {
        match tokio::time::timeout(timeout, self.execute_inner(call, raws)).await {
            Ok(r) => r,
            Err(_) => Err(RpcFailure::Transport {
                message: format!("no answer within {} ms", timeout.as_millis()),
            }),
        }
    }

    #[allow(clippy::too_many_lines)] // one arm per call, each short
    async fn execute_inner(
        &self,
        call: &RpcCall,
        raws: &RawStore,
    ) -> Result<RpcAnswer, RpcFailure> {
        match call {
            RpcCall::Head => {
                let b: Option<BlockHeader> = self
                    .request("eth_getBlockByNumber", ("latest", false))
                    .await?;
                let b = b.ok_or(RpcFailure::MissingResponse)?;
                Ok(RpcAnswer::Head {
                    number: b.number.to(),
                    hash: b.hash,
                    timestamp: b.timestamp.to(),
                })
            }
            RpcCall::BlockHash { number } => {
                let b: Option<BlockHeader> = self
                    .request("eth_getBlockByNumber", (U64::from(*number), false))
                    .await?;
                Ok(RpcAnswer::BlockHash {
                    number: *number,
                    hash: b.map(|b| b.hash),
                })
            }
            RpcCall::TransactionCounts { address } => {
                let mut batch = self.client.new_batch();
                let latest = batch
                    .add_call::<_, U64>("eth_getTransactionCount", &(address, "latest"))
                    .map_err(|e| failure(e, &self.url))?;
                let pending = batch
                    .add_call::<_, U64>("eth_getTransactionCount", &(address, "pending"))
                    .map_err(|e| failure(e, &self.url))?;
                batch.send().await.map_err(|e| failure(e, &self.url))?;
                let latest = latest.await.map_err(|e| failure(e, &self.url))?;
                let pending = pending.await.map_err(|e| failure(e, &self.url))?;
                Ok(RpcAnswer::TransactionCounts {
                    latest: latest.to(),
                    pending: pending.to(),
                })
            }
            RpcCall::Balances {
                block,
                entries,
                safe,
            } => {
                let multicall = self.use_multicall && self.has_multicall(*block).await?;
                let (values, safe_nonce) = match (multicall, safe) {
                    (true, None) => (self.balances_multicall(*block, entries).await?, None),
                    // The Safe's nonce rides in the balances' aggregate3 (the round reader's).
                    (true, Some(safe)) => {
                        let (answer, _) = crate::chain::round::balances_and_facts(
                            self,
                            *block,
                            entries,
                            Some(*safe),
                            &[],
                            &[],
                        )
                        .await?;
                        return Ok(answer);
                    }
                    (false, safe) => {
                        let values = self.balances_batch(*block, entries).await?;
                        let nonce = match safe {
                            Some(safe) => Some(self.safe_nonce(*block, *safe).await?),
                            None => None,
                        };
                        (values, nonce)
                    }
                };
                Ok(RpcAnswer::Balances {
                    block: *block,
                    values,
                    safe_nonce,
                })
            }
            RpcCall::FeeHistory { blocks, percentile } => {
                let h: FeeHistoryWire = self
                    .request(
                        "eth_feeHistory",
                        (U64::from(*blocks), "latest", [f64::from(*percentile)]),
                    )
                    .await?;
                let reward = h
                    .reward
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.first().map_or(0, |v| v.to()))
                    .collect();
                Ok(RpcAnswer::FeeHistory(FeeHistory {
                    base_fee_per_gas: h.base_fee_per_gas.iter().map(|v| v.to()).collect(),
                    reward,
                }))
            }
            RpcCall::SendRaw { hash } => {
                let raw = raws
                    .lock()
                    .map_err(|_| RpcFailure::Transport {
                        message: "raw transaction store poisoned".into(),
                    })?
                    .get(hash)
                    .cloned();
                let Some(raw) = raw else {
                    return Err(RpcFailure::JsonRpc {
                        code: -32602,
                        message: format!("tend has no signed transaction {hash} in its journal"),
                        retry_after_ms: None,
                    });
                };
                let got: B256 = self.request("eth_sendRawTransaction", (raw,)).await?;
                Ok(RpcAnswer::Sent { hash: got })
            }
            RpcCall::Receipt { hash } => {
                let r: Option<ReceiptWire> =
                    self.request("eth_getTransactionReceipt", (hash,)).await?;
                Ok(RpcAnswer::Receipt {
                    hash: *hash,
                    receipt: r.and_then(|r| {
                        Some(Receipt {
                            block_number: r.block_number?.to(),
                            block_hash: r.block_hash?,
                            // A Safe transaction whose inner call failed is mined with status
                            // 1 and an `ExecutionFailure` log: nothing it carried arrived.
                            success: r.status.is_none_or(|s| s == U64::from(1))
                                && !r.logs.iter().any(|l| {
                                    l.topics.first() == Some(&tend_core::safe::EXECUTION_FAILURE)
                                }),
                        })
                    }),
                })
            }
        }
    }

    /// One raw JSON-RPC request (for calls the engine does not make: devnet set-up, tools).
    pub async fn request<P, R>(&self, method: &'static str, params: P) -> Result<R, RpcFailure>
    where
        P: alloy::rpc::json_rpc::RpcSend,
        R: alloy::rpc::json_rpc::RpcRecv,
    {
        self.client
            .request(method, params)
            .await
            .map_err(|e| failure(e, &self.url))
    }

    /// Whether this endpoint reads balances through Multicall3 at `block` (configured, and the
    /// contract is there; asked once).
    pub async fn multicall_at(&self, block: u64) -> Result<bool, RpcFailure> {
        Ok(self.use_multicall && self.has_multicall(block).await?)
    }

    async fn has_multicall(&self, block: u64) -> Result<bool, RpcFailure> {
        if let Ok(g) = self.multicall_present.lock()
            && let Some(p) = *g
        {
            return Ok(p);
        }
        let code: Bytes = self
            .request("eth_getCode", (MULTICALL3, U64::from(block)))
            .await?;
        let present = !code.is_empty();
        if let Ok(mut g) = self.multicall_present.lock() {
            *g = Some(present);
        }
        Ok(present)
    }

    async fn balances_multicall(
        &self,
        block: u64,
        entries: &[(Address, Asset)],
    ) -> Result<Vec<U256>, RpcFailure> {
        let tx = CallRequest {
            to: MULTICALL3,
            data: multicall::encode_balances(entries).into(),
        };
        let out: Bytes = self.request("eth_call", (tx, U64::from(block))).await?;
        multicall::decode_balances(entries, &out).map_err(|e| multicall_failure(&e))
    }

    async fn safe_nonce(&self, block: u64, safe: Address) -> Result<u64, RpcFailure> {
        let tx = CallRequest {
            to: safe,
            data: tend_core::safe::NONCE.to_vec().into(),
        };
        let out: Bytes = self.request("eth_call", (tx, U64::from(block))).await?;
        multicall::decode_safe_nonce(safe, &out).map_err(|e| multicall_failure(&e))
    }

    async fn balances_batch(
        &self,
        block: u64,
        entries: &[(Address, Asset)],
    ) -> Result<Vec<U256>, RpcFailure> {
        let mut batch = self.client.new_batch();
        let mut waiters = Vec::with_capacity(entries.len());
        let tag = U64::from(block);
        for (holder, asset) in entries {
            let w = if asset.is_native() {
                batch
                    .add_call::<_, U256>("eth_getBalance", &(holder, tag))
                    .map(BalanceWaiter::Native)
            } else {
                let (to, data) = multicall::balance_call(*holder, *asset);
                let tx = CallRequest {
                    to,
                    data: data.into(),
                };
                batch
                    .add_call::<_, Bytes>("eth_call", &(tx, tag))
                    .map(BalanceWaiter::Token)
            };
            waiters.push(w.map_err(|e| failure(e, &self.url))?);
        }
        batch.send().await.map_err(|e| failure(e, &self.url))?;
        let mut out = Vec::with_capacity(waiters.len());
        for (w, (holder, asset)) in waiters.into_iter().zip(entries) {
            out.push(match w {
                BalanceWaiter::Native(w) => w.await.map_err(|e| failure(e, &self.url))?,
                BalanceWaiter::Token(w) => {
                    let b = w.await.map_err(|e| failure(e, &self.url))?;
                    multicall::decode_balance(*holder, *asset, &b)
                        .map_err(|e| multicall_failure(&e))?
                }
            });
        }
        Ok(out)
    }
}

enum BalanceWaiter {
    Native(alloy::rpc::client::Waiter<U256>),
    Token(alloy::rpc::client::Waiter<Bytes>),
}

/// A balance answer that cannot be read, as the engine's failure: a holder whose asset is not a
/// token is a revert (the caller's problem, never retried); a garbled answer a transport fault.
pub(crate) fn multicall_failure(e: &MulticallError) -> RpcFailure {
    match e {
        MulticallError::NotAToken { holder, asset } => RpcFailure::JsonRpc {
            code: 3,
            message: format!(
                "execution reverted: the balance of {holder} in {asset} cannot be read (not an ERC-20?)"
            ),
            retry_after_ms: None,
        },
        MulticallError::NotASafe { .. } => RpcFailure::JsonRpc {
            code: 3,
            message: format!("execution reverted: {e}"),
            retry_after_ms: None,
        },
        MulticallError::Malformed(_) => RpcFailure::Transport {
            message: e.to_string(),
        },
    }
}

/// Outside the engine (one-off reads: `tend fund --dry-run`, the Olas report): the answer of
/// the first endpoint, in the configured order, that gives one; else every endpoint's failure.
pub async fn first_answer<'a>(
    endpoints: impl IntoIterator<Item = &'a Endpoint>,
    call: &RpcCall,
) -> Result<RpcAnswer, String> {
    let raws = RawStore::default();
    let mut errors = Vec::new();
    for ep in endpoints {
        match ep.execute(call, &raws, Duration::from_secs(10)).await {
            Ok(a) => return Ok(a),
            Err(e) => errors.push(format!("{}: {e}", ep.url())),
        }
    }
    Err(format!(
        "no endpoint answered {}: {}",
        call.method(),
        errors.join("; ")
    ))
}

#[derive(Debug, Clone, serde::Serialize)]
struct CallRequest {
    to: Address,
    #[serde(rename = "input")]
    data: Bytes,
}

/// The JSON shapes tend reads from nodes: only the fields it uses (unknown fields are skipped).
/// Public so tests can hold them against recorded exchanges of other clients.
pub mod wire {
    use alloy::primitives::{B256, Bytes, U64, U128, U256};
    use serde::{Deserialize, Serialize};

    /// A block as `eth_getBlockByNumber(…, false)` gives it, reduced.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct BlockHeader {
        /// Its height.
        pub number: U64,
        /// Its hash.
        pub hash: B256,
        /// Its timestamp, seconds.
        pub timestamp: U64,
    }

    /// A receipt, reduced.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ReceiptWire {
        /// The block it is in (absent while pending on some nodes).
        pub block_number: Option<U64>,
        /// That block's hash.
        pub block_hash: Option<B256>,
        /// 1 success, 0 reverted (absent before Byzantium).
        #[serde(skip_serializing_if = "Option::is_none")]
        pub status: Option<U64>,
        /// Its logs (tend reads their topics).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub logs: Vec<LogWire>,
    }

    /// A receipt's log: its topics read, the rest kept as it came.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct LogWire {
        /// The topics.
        #[serde(default)]
        pub topics: Vec<B256>,
        /// The other fields, unread.
        #[serde(flatten)]
        pub rest: std::collections::BTreeMap<String, serde_json::Value>,
    }

    /// `eth_feeHistory`'s answer, reduced.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FeeHistoryWire {
        /// Base fee per block, one more than asked (the next block's).
        pub base_fee_per_gas: Vec<U128>,
        /// Rewards per block at the asked percentiles.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub reward: Option<Vec<Vec<U128>>>,
    }

    /// Decodes a `result` of `method` with the type tend reads it as and encodes it again: the
    /// fields tend uses, as tend would send them on. `Err` names what did not decode.
    pub fn round_trip(
        method: &str,
        result: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        fn again<T: serde::de::DeserializeOwned + Serialize>(
            v: &serde_json::Value,
        ) -> Result<serde_json::Value, String> {
            let t: T = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            serde_json::to_value(t).map_err(|e| e.to_string())
        }
        match method {
            "eth_getBalance" => again::<U256>(result),
            "eth_getTransactionCount" | "eth_blockNumber" | "eth_chainId" | "eth_estimateGas" => {
                again::<U64>(result)
            }
            "eth_call" => again::<Bytes>(result),
            "eth_feeHistory" => again::<FeeHistoryWire>(result),
            "eth_getBlockByNumber" => again::<Option<BlockHeader>>(result),
            "eth_sendRawTransaction" => again::<B256>(result),
            "eth_getTransactionReceipt" => again::<Option<ReceiptWire>>(result),
            other => Err(format!("tend does not call {other}")),
        }
    }
}

use wire::{BlockHeader, FeeHistoryWire, ReceiptWire};

/// Seconds (a float from a vendor's error body) to ms, saturating, negative as 0.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn secs_to_ms(s: f64) -> u64 {
    // `as` saturates for floats: NaN becomes 0, huge values u64::MAX.
    (s * 1000.0).max(0.0) as u64
}

/// Turns alloy's error into the core's failure, with every URL in the text redacted.
// alloy's error enums grow: whatever else failed, no answer arrived.
#[allow(clippy::wildcard_enum_match_arm)]
pub fn failure(e: RpcError<TransportErrorKind>, url: &RpcUrl) -> RpcFailure {
    match e {
        RpcError::ErrorResp(p) => {
            let retry_after_ms = p
                .data
                .as_ref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
                .and_then(|v| {
                    v.pointer("/rate/backoff_seconds")
                        .and_then(serde_json::Value::as_f64)
                })
                .map(secs_to_ms);
            RpcFailure::JsonRpc {
                code: p.code,
                message: redact_text(&p.message, url),
                retry_after_ms,
            }
        }
        RpcError::NullResp => RpcFailure::MissingResponse,
        RpcError::Transport(TransportErrorKind::HttpError(h)) => RpcFailure::Http {
            status: h.status,
            retry_after_ms: None,
        },
        RpcError::Transport(TransportErrorKind::HttpErrorWithRetryAfter { error, retry_after }) => {
            RpcFailure::Http {
                status: error.status,
                retry_after_ms: Some(u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX)),
            }
        }
        RpcError::Transport(TransportErrorKind::MissingBatchResponse(_)) => {
            RpcFailure::MissingResponse
        }
        other => RpcFailure::Transport {
            message: redact_text(&transport_message(&other), url),
        },
    }
}

fn transport_message(e: &RpcError<TransportErrorKind>) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let t = s.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        source = s.source();
    }
    if text.len() > 300 {
        text.truncate(300);
    }
    text
}

/// Replaces the endpoint's URL (and anything URL-shaped) in a message with its redacted form.
pub fn redact_text(text: &str, url: &RpcUrl) -> String {
    let text = text.replace(url.expose(), &url.redacted());
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("http") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == ')' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        out.push_str(&redact_url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod multicall_abi {
    //! The core's hand-written Multicall3 ABI against alloy's `sol!` encoder and decoder.
    use alloy::primitives::{Address, Bytes, U256};
    use alloy::sol_types::{SolCall, SolValue};
    use tend_core::address::Asset;
    use tend_core::multicall;

    alloy::sol! {
        struct Call3 { address target; bool allowFailure; bytes callData; }
        struct Result3 { bool success; bytes returnData; }
        function aggregate3(Call3[] calldata calls) external payable returns (Result3[] memory returnData);
        function getEthBalance(address addr) external view returns (uint256 balance);
        function balanceOf(address owner) external view returns (uint256 balance);
    }

    proptest::proptest! {
        #[test]
        fn the_core_encodes_and_decodes_as_alloy_does(
            picks in proptest::collection::vec((0u8..=255, proptest::bool::ANY, 0u128..), 0..20),
        ) {
            let entries: Vec<(Address, Asset)> = picks
                .iter()
                .map(|(b, native, _)| {
                    let asset = if *native {
                        Asset::NATIVE
                    } else {
                        Asset(Address::repeat_byte(b ^ 0x55))
                    };
                    (Address::repeat_byte(*b), asset)
                })
                .collect();
            let calls: Vec<Call3> = entries
                .iter()
                .map(|(holder, asset)| {
                    let (target, data) = if asset.is_native() {
                        (multicall::MULTICALL3, getEthBalanceCall { addr: *holder }.abi_encode())
                    } else {
                        (asset.0, balanceOfCall { owner: *holder }.abi_encode())
                    };
                    Call3 { target, allowFailure: true, callData: data.into() }
                })
                .collect();
            proptest::prop_assert_eq!(
                multicall::encode_balances(&entries),
                aggregate3Call { calls }.abi_encode()
            );
            let results: Vec<Result3> = picks
                .iter()
                .map(|(_, _, v)| Result3 {
                    success: true,
                    returnData: Bytes::from(U256::from(*v).abi_encode()),
                })
                .collect();
            let want: Vec<U256> = picks.iter().map(|(_, _, v)| U256::from(*v)).collect();
            proptest::prop_assert_eq!(
                multicall::decode_balances(&entries, &results.abi_encode()).unwrap(),
                want
            );
        }
    }
}
