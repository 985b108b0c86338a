//! Nonces against a real anvil: a dropped transaction's gap is filled, a stuck one is replaced
//! with a bump the node accepts.

use std::time::Duration;

use alloy::primitives::{Address, B256, U64};
use tend::devnet::Devnet;

use crate::support::{Tend, devnet, ep, eventually, funder, scratch, transactions_from, wallet};

const LOW: u128 = 10_000_000_000_000_000;
const TARGET: u128 = 20_000_000_000_000_000;

fn config(dir: &std::path::Path, net: &Devnet, nonce: &str, n: u64) -> std::path::PathBuf {
    crate::support::funding_config(
        dir,
        net,
        &format!("confirmations = 1\npoll_ms = 300\nmax_fee = \"500 gwei\"\nnonce = {{ {nonce} }}"),
        n,
        LOW,
        TARGET,
    )
}

async fn rpc(net: &Devnet, method: &'static str, params: serde_json::Value) -> serde_json::Value {
    ep(net).request(method, params).await.unwrap()
}

/// The funder's pending pool transactions: nonce → (hash, max fee per gas).
async fn pool(net: &Devnet) -> Vec<(u64, B256, u128)> {
    let v = rpc(net, "txpool_content", serde_json::json!([])).await;
    let mut out = Vec::new();
    let from = funder().address();
    for (addr, txs) in v["pending"].as_object().into_iter().flatten() {
        if addr.parse::<Address>().ok() != Some(from) {
            continue;
        }
        for tx in txs.as_object().into_iter().flatten().map(|(_, t)| t) {
            let nonce =
                u64::from_str_radix(tx["nonce"].as_str().unwrap().trim_start_matches("0x"), 16)
                    .unwrap();
            let hash: B256 = tx["hash"].as_str().unwrap().parse().unwrap();
            let fee = u128::from_str_radix(
                tx["maxFeePerGas"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap();
            out.push((nonce, hash, fee));
        }
    }
    out.sort_unstable();
    out
}

async fn all_funded(net: &Devnet, n: u64) -> bool {
    crate::support::all_at(net, n, TARGET).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_leaves_a_gap_that_is_filled() {
    let dir = scratch("dropped");
    let net = devnet(&dir, 31337, 0).await;
    rpc(&net, "evm_setAutomine", serde_json::json!([false])).await;
    let n = 3;
    let config = config(&dir, &net, "rebroadcast_after_ms = 1000", n);
    let mut tend = Tend::start(&config, "tend.log");
    eventually(
        Duration::from_secs(20),
        "three transfers in the pool",
        || async { pool(&net).await.len() == 3 },
    )
    .await;
    let txs = pool(&net).await;
    rpc(&net, "anvil_dropTransaction", serde_json::json!([txs[1].1])).await;
    assert!(
        !pool(&net).await.iter().any(|t| t.1 == txs[1].1),
        "anvil kept the dropped transaction"
    );
    // Mine what can be mined: nonce 0; nonce 2 waits behind the gap.
    rpc(&net, "evm_mine", serde_json::json!([])).await;
    let count: U64 = ep(&net)
        .request("eth_getTransactionCount", (funder().address(), "latest"))
        .await
        .unwrap();
    assert_eq!(count.to::<u64>(), 1);
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;
    eventually(Duration::from_mins(1), "every wallet funded", || {
        all_funded(&net, n)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mined = transactions_from(&net, funder().address()).await;
    for i in 0..n {
        assert_eq!(
            mined.iter().filter(|t| t.0 == wallet(i)).count(),
            1,
            "wallet {i}: {mined:?}\n{}",
            tend.log()
        );
    }
    let mut nonces: Vec<u64> = mined.iter().map(|t| t.2).collect();
    nonces.sort_unstable();
    assert_eq!(
        nonces,
        (0..u64::try_from(mined.len()).unwrap()).collect::<Vec<_>>()
    );
    tend.stop();
    let replayed = tend.keep("gap-fill");
    assert_eq!(replayed.matches("\"event\":\"tx_confirmed\"").count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_with_a_bump_the_node_accepts() {
    let dir = scratch("stuck");
    let net = devnet(&dir, 31337, 0).await;
    rpc(&net, "evm_setAutomine", serde_json::json!([false])).await;
    let config = config(
        &dir,
        &net,
        "stuck_after_ms = 2000, stuck_after_blocks = 2",
        1,
    );
    let mut tend = Tend::start(&config, "tend.log");
    eventually(
        Duration::from_secs(20),
        "the transfer in the pool",
        || async { pool(&net).await.len() == 1 },
    )
    .await;
    let (_, first_hash, first_fee) = pool(&net).await[0];
    // A gas spike: the next blocks' base fee is far above what the transfer offers.
    let spike: u128 = 40_000_000_000;
    assert!(
        first_fee < spike,
        "the first attempt already pays {first_fee}"
    );
    rpc(
        &net,
        "anvil_setNextBlockBaseFeePerGas",
        serde_json::json!([format!("0x{spike:x}")]),
    )
    .await;
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;
    eventually(Duration::from_mins(1), "the wallet funded", || {
        all_funded(&net, 1)
    })
    .await;
    let receipt = rpc(
        &net,
        "eth_getTransactionReceipt",
        serde_json::json!([first_hash]),
    )
    .await;
    assert!(
        receipt.is_null(),
        "the underpriced attempt was mined: {receipt}"
    );
    let mined = transactions_from(&net, funder().address()).await;
    assert_eq!(mined.len(), 1, "{mined:?}");
    assert!(
        tend.log().contains("replaced with higher fees"),
        "{}",
        tend.log()
    );
    tend.stop();
    let replayed = tend.keep("stuck-replacement");
    assert!(replayed.contains("\"event\":\"tx_replaced\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_that_undoes_a_transfer_is_healed_and_the_wallet_funded_once() {
    let dir = scratch("reorg");
    let net = devnet(&dir, 31337, 0).await;
    rpc(&net, "anvil_mine", serde_json::json!([5])).await;
    let config = config(&dir, &net, "rebroadcast_after_ms = 1000", 1);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("confirmations = 1", "confirmations = 3"),
    )
    .unwrap();
    let mut tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_secs(20), "the transfer mined", || {
        all_funded(&net, 1)
    })
    .await;
    let mined = transactions_from(&net, funder().address()).await;
    assert_eq!(mined.len(), 1);
    // tend has seen its receipt (mined, not yet 3 confirmations deep).
    let cfg = config.to_str().unwrap();
    eventually(Duration::from_secs(20), "tend sees it mined", || async {
        let out = crate::support::tend_cmd(&["nonces", "--json", "--config", cfg], &[]);
        String::from_utf8_lossy(&out.stdout).contains("\"mined\"")
    })
    .await;
    // The block with the transfer and the one before are replaced by empty ones.
    rpc(&net, "anvil_reorg", serde_json::json!([2, []])).await;
    let after = transactions_from(&net, funder().address()).await;
    assert!(after.is_empty(), "the reorg kept the transfer: {after:?}");
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;
    eventually(Duration::from_secs(30), "the wallet funded again", || {
        all_funded(&net, 1)
    })
    .await;
    eventually(
        Duration::from_secs(30),
        "the transfer confirmed",
        || async { tend.log().contains("transaction confirmed") },
    )
    .await;
    let mined = transactions_from(&net, funder().address()).await;
    assert_eq!(mined.len(), 1, "funded twice: {mined:?}\n{}", tend.log());
    assert_eq!(mined[0].2, 0, "{mined:?}");
    tend.stop();
    let replayed = tend.keep("reorg");
    assert_eq!(
        replayed.matches("\"output\":\"sign\"").count(),
        1,
        "{replayed}"
    );
    // Sent again after the reorg dropped it.
    assert!(
        replayed.matches("\"call\":\"send_raw\"").count() >= 2,
        "{replayed}"
    );
    assert_eq!(replayed.matches("\"event\":\"tx_confirmed\"").count(), 1);
}

/// A wallet that refuses native transfers (a contract that always reverts): the top-up is mined
/// and reverts, tend says so, and does not send it again and again (each revert burns gas);
/// the other wallet is funded as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_that_reverts_is_reported_and_not_sent_again() {
    let dir = scratch("reverts");
    let net = devnet(&dir, 31337, 0).await;
    // PUSH1 0 PUSH1 0 REVERT: every call reverts.
    rpc(
        &net,
        "anvil_setCode",
        serde_json::json!([wallet(0), "0x60006000fd"]),
    )
    .await;
    let config = config(&dir, &net, "", 2);
    let mut tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_secs(20), "the EOA wallet funded", || async {
        crate::support::balance(&net, wallet(1)).await == alloy::primitives::U256::from(TARGET)
    })
    .await;
    eventually(Duration::from_secs(20), "the revert reported", || async {
        tend.log().contains("top-up reverted")
    })
    .await;
    // Several more polls (300 ms each): no second attempt at the refusing wallet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    tend.stop();
    let log = tend.log();
    assert!(
        log.contains("a wallet is a contract"),
        "the contract wallet was detected: {log}"
    );
    let sent: Vec<_> = transactions_from(&net, funder().address())
        .await
        .into_iter()
        .filter(|t| t.0 == wallet(0))
        .collect();
    assert_eq!(
        sent.len(),
        1,
        "one top-up to the refusing wallet: {sent:?}\n{log}"
    );
    assert_eq!(
        crate::support::balance(&net, wallet(0)).await,
        alloy::primitives::U256::ZERO
    );
}
