//! The Ethereum execution-apis conformance exchanges (tests/corpus/execution-apis, CC0): every
//! exchange of the methods tend uses decodes through tend's wire types and round-trips, error
//! answers map to tend's failure classes, and the files serve as a replay transport (a loopback
//! JSON-RPC server answering from them) that tend's RPC layer runs against.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U64, U256};
use serde_json::{Value, json};
use tend::chain::rpc::{Endpoint, RawStore, wire};
use tend::secret::RpcUrl;
use tend_core::engine::io::{RpcAnswer, RpcCall};
use tend_core::rpc::{RpcErrorClass, RpcFailure, classify};

const METHODS: [&str; 10] = [
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_call",
    "eth_estimateGas",
    "eth_feeHistory",
    "eth_getBlockByNumber",
    "eth_blockNumber",
    "eth_chainId",
    "eth_sendRawTransaction",
    "eth_getTransactionReceipt",
];

/// One recorded exchange.
#[derive(Debug, Clone)]
struct Exchange {
    file: String,
    request: Value,
    response: Value,
}

/// Reads one `.io` file: `//` comments, then `>> request` / `<< response` line pairs.
fn parse_io(file: &str, text: &str) -> Result<Vec<Exchange>, String> {
    let mut out = Vec::new();
    let mut request: Option<Value> = None;
    for (i, line) in text.lines().enumerate() {
        let at = |m: String| format!("{file}:{}: {m}", i + 1);
        if line.trim().is_empty() || line.starts_with("//") {
            continue;
        }
        if let Some(r) = line.strip_prefix(">> ") {
            if request.is_some() {
                return Err(at("two requests in a row".into()));
            }
            request = Some(serde_json::from_str(r).map_err(|e| at(e.to_string()))?);
        } else if let Some(r) = line.strip_prefix("<< ") {
            let response = serde_json::from_str(r).map_err(|e| at(e.to_string()))?;
            let request = request
                .take()
                .ok_or_else(|| at("a response without a request".into()))?;
            out.push(Exchange {
                file: file.to_owned(),
                request,
                response,
            });
        } else {
            return Err(at(format!("not >>, << or //: {line:.40}")));
        }
    }
    if request.is_some() {
        return Err(format!("{file}: a request without a response"));
    }
    Ok(out)
}

fn corpus() -> Vec<Exchange> {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/execution-apis/tests");
    let mut out = Vec::new();
    for m in METHODS {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(m))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "io"))
            .collect();
        files.sort();
        for f in files {
            let name = format!("{m}/{}", f.file_name().unwrap().to_string_lossy());
            out.extend(parse_io(&name, &std::fs::read_to_string(&f).unwrap()).unwrap());
        }
    }
    out
}

/// An error object as tend's failure, through the same mapping as a live answer.
fn failure_of(error: &Value) -> RpcFailure {
    let payload: alloy::rpc::json_rpc::ErrorPayload =
        serde_json::from_value(error.clone()).unwrap();
    tend::chain::rpc::failure(
        alloy::transports::RpcError::ErrorResp(payload),
        &RpcUrl::parse("http://127.0.0.1:1/").unwrap(),
    )
}

#[test]
fn the_io_parser_refuses_malformed_files_with_their_line() {
    for (text, want) in [
        (">> {}\n>> {}\n<< {}", ":2:"),
        ("<< {}", ":1:"),
        (">> {", ":1:"),
        ("junk", ":1:"),
    ] {
        let e = parse_io("f.io", text).unwrap_err();
        assert!(e.contains(want), "{e}");
    }
    assert!(parse_io("f.io", ">> {}").is_err());
    assert_eq!(parse_io("f.io", "// c\n>> {}\n<< {}\n").unwrap().len(), 1);
}

#[test]
fn every_exchange_decodes_through_tends_types_and_round_trips() {
    let all = corpus();
    let mut per_method: BTreeMap<&str, usize> = BTreeMap::new();
    let mut errors = 0;
    for x in &all {
        let method = x.request["method"].as_str().unwrap();
        *per_method
            .entry(METHODS.iter().find(|m| **m == method).unwrap())
            .or_default() += 1;
        if let Some(error) = x.response.get("error") {
            errors += 1;
            let payload: alloy::rpc::json_rpc::ErrorPayload =
                serde_json::from_value(error.clone()).unwrap();
            assert_eq!(
                &serde_json::to_value(&payload).unwrap(),
                error,
                "{}",
                x.file
            );
            let f = failure_of(error);
            let RpcFailure::JsonRpc { code, .. } = &f else {
                panic!("{}: {f:?}", x.file)
            };
            assert_eq!(Some(*code), error["code"].as_i64(), "{}", x.file);
            // Reverts and failed estimates go to the caller; never retried, never a bad endpoint.
            assert!(
                matches!(classify(method, &f), RpcErrorClass::Revert),
                "{}: {:?}",
                x.file,
                classify(method, &f)
            );
            continue;
        }
        let result = &x.response["result"];
        let again = wire::round_trip(method, result).unwrap_or_else(|e| panic!("{}: {e}", x.file));
        match (&again, result) {
            (Value::Object(fields), Value::Object(original)) => {
                assert!(!fields.is_empty(), "{}", x.file);
                for (k, v) in fields {
                    assert_eq!(Some(v), original.get(k), "{}: field {k}", x.file);
                }
            }
            _ => assert_eq!(&again, result, "{}", x.file),
        }
    }
    for m in METHODS {
        assert!(
            per_method.get(m).copied().unwrap_or(0) > 0,
            "no exchange for {m}"
        );
    }
    assert!(all.len() >= 45, "{} exchanges", all.len());
    assert!(errors >= 4, "{errors} error answers");
}

/// A JSON-RPC server on loopback answering from the corpus: a request (single or in a batch)
/// gets the recorded response of the exchange with the same method and params; anything else a
/// -32601 error naming it.
async fn replay_transport(exchanges: Vec<Exchange>) -> String {
    let table: Arc<BTreeMap<String, Value>> = Arc::new(
        exchanges
            .into_iter()
            .map(|x| {
                let key = json!([x.request["method"], x.request["params"]]).to_string();
                (key, x.response)
            })
            .collect(),
    );
    let answer = move |req: &Value| -> Value {
        let key = json!([req["method"], req["params"]]).to_string();
        let mut resp = table.get(&key).cloned().unwrap_or_else(|| {
            json!({"jsonrpc": "2.0", "error": {"code": -32601, "message": format!("not in the corpus: {key}")}})
        });
        resp["id"] = req["id"].clone();
        resp
    };
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: String| {
            let answer = answer.clone();
            async move {
                let req: Value = serde_json::from_str(&body).unwrap_or_default();
                let resp = if let Value::Array(items) = &req {
                    Value::Array(items.iter().map(&answer).collect())
                } else {
                    answer(&req)
                };
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    resp.to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/")
}

fn find<'a>(all: &'a [Exchange], file: &str) -> &'a Exchange {
    all.iter().find(|x| x.file == file).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tends_rpc_layer_runs_against_the_corpus_as_a_replay_transport() {
    let all = corpus();
    let url = replay_transport(all.clone()).await;
    let ep = Endpoint::new(RpcUrl::parse(&url).unwrap(), false).unwrap();
    let raws: RawStore = Arc::new(Mutex::new(BTreeMap::new()));
    let t = Duration::from_secs(5);
    let hex =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();

    let chain = find(&all, "eth_chainId/get-chain-id.io");
    assert_eq!(ep.chain_id().await.unwrap(), hex(&chain.response["result"]));

    // Block hashes by height (tend's reorg checks), found and not found.
    for x in all.iter().filter(|x| {
        x.request["method"] == "eth_getBlockByNumber" && x.request["params"][1] == false
    }) {
        let number = hex(&x.request["params"][0]);
        let answer = ep
            .execute(&RpcCall::BlockHash { number }, &raws, t)
            .await
            .unwrap();
        let want: B256 = serde_json::from_value(x.response["result"]["hash"].clone()).unwrap();
        assert_eq!(
            answer,
            RpcAnswer::BlockHash {
                number,
                hash: Some(want)
            },
            "{}",
            x.file
        );
    }

    // Receipts: mined ones reduced to block and status; unknown hashes are "not mined".
    let mut receipts = 0;
    for x in all
        .iter()
        .filter(|x| x.request["method"] == "eth_getTransactionReceipt")
    {
        let hash: B256 = serde_json::from_value(x.request["params"][0].clone()).unwrap();
        let RpcAnswer::Receipt { receipt, .. } = ep
            .execute(&RpcCall::Receipt { hash }, &raws, t)
            .await
            .unwrap()
        else {
            panic!("{}", x.file)
        };
        let r = &x.response["result"];
        match receipt {
            None => assert!(r.is_null(), "{}", x.file),
            Some(got) => {
                receipts += 1;
                assert_eq!(got.block_number, hex(&r["blockNumber"]), "{}", x.file);
                assert_eq!(got.block_hash.to_string(), r["blockHash"].as_str().unwrap());
                // Without a status (before Byzantium) tend counts a mined receipt as a success.
                let success = r.get("status").is_none_or(|s| s == "0x1");
                assert_eq!(got.success, success, "{}", x.file);
            }
        }
    }
    assert!(receipts >= 5);

    // Broadcasts: the journaled raw transaction goes out as recorded, its hash comes back.
    for x in all
        .iter()
        .filter(|x| x.request["method"] == "eth_sendRawTransaction")
    {
        let raw: Bytes = serde_json::from_value(x.request["params"][0].clone()).unwrap();
        let hash: B256 = serde_json::from_value(x.response["result"].clone()).unwrap();
        raws.lock().unwrap().insert(hash, raw);
        let answer = ep
            .execute(&RpcCall::SendRaw { hash }, &raws, t)
            .await
            .unwrap();
        assert_eq!(answer, RpcAnswer::Sent { hash }, "{}", x.file);
    }

    // Plain reads tend makes outside the engine.
    let b = find(&all, "eth_getBalance/get-balance.io");
    let who: Address = serde_json::from_value(b.request["params"][0].clone()).unwrap();
    let got: U256 = ep.request("eth_getBalance", (who, "latest")).await.unwrap();
    assert_eq!(got, U256::from(hex(&b.response["result"])));
    let n = find(&all, "eth_getTransactionCount/get-nonce.io");
    let who: Address = serde_json::from_value(n.request["params"][0].clone()).unwrap();
    let got: U64 = ep
        .request("eth_getTransactionCount", (who, "latest"))
        .await
        .unwrap();
    assert_eq!(got.to::<u64>(), hex(&n.response["result"]));
    let head: U64 = ep.request("eth_blockNumber", ()).await.unwrap();
    assert_eq!(
        head.to::<u64>(),
        hex(&find(&all, "eth_blockNumber/simple-test.io").response["result"])
    );

    // A revert comes back as tend's JSON-RPC failure with the node's code, classed as a revert.
    let r = find(&all, "eth_call/call-revert-abi-error.io");
    let err = ep
        .request::<_, Bytes>("eth_call", r.request["params"].clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RpcFailure::JsonRpc { code: 3, .. }),
        "{err:?}"
    );
    assert!(matches!(classify("eth_call", &err), RpcErrorClass::Revert));

    // A call the corpus never recorded: a clean failure, not a hang or a panic.
    let err = ep.execute(&RpcCall::Head, &raws, t).await.unwrap_err();
    assert!(
        matches!(err, RpcFailure::JsonRpc { code: -32601, .. }),
        "{err:?}"
    );
}
