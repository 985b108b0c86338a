//! Issue 21 from the outside: `tend run` killed with `kill -9` while transfers are in flight on
//! anvil with 1-second blocks and a base fee pushed above them, then started again; checked from
//! the chain and from the journal's signed transactions, not from tend's own view: no nonce ever
//! carries two payloads, no wallet is funded twice, and funding resumes at once after a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use alloy::consensus::{Transaction as _, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, U256};
use tend::devnet::Devnet;

use crate::support::{
    Tend, balance, devnet, ep, eventually, funder, scratch, transactions_from, wallet,
};

const LOW: u128 = 500_000_000_000_000_000;
const TARGET: u128 = 2_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;

fn config(dir: &Path, net: &Devnet, n: u64) -> std::path::PathBuf {
    crate::support::funding_config(
        dir,
        net,
        "confirmations = 2\npoll_ms = 500\nmax_fee = \"500 gwei\"",
        n,
        LOW,
        TARGET,
    )
}

async fn rpc(net: &Devnet, method: &'static str, params: serde_json::Value) -> serde_json::Value {
    ep(net).request(method, params).await.unwrap()
}

/// Pushes the next block's base fee to `wei`.
async fn push_base_fee(net: &Devnet, wei: u128) {
    rpc(
        net,
        "anvil_setNextBlockBaseFeePerGas",
        serde_json::json!([format!("{wei:#x}")]),
    )
    .await;
}

/// The funder's transactions in the node's pool (pending and queued).
async fn in_pool(net: &Devnet) -> usize {
    let v = rpc(net, "txpool_content", serde_json::json!([])).await;
    let from = funder().address();
    ["pending", "queued"]
        .iter()
        .flat_map(|k| v[*k].as_object().into_iter().flatten())
        .filter(|(a, _)| a.parse::<Address>().ok() == Some(from))
        .map(|(_, txs)| txs.as_object().map_or(0, serde_json::Map::len))
        .sum()
}

/// A signed transaction's payload: where the value goes and how much (a cancel or gap fill is
/// a 0-value send to the funder itself).
type Payload = (Address, U256);

/// Every signed transaction the journal holds, by nonce: the payloads signed at it and how many
/// attempts.
fn journal_payloads(home: &Path) -> BTreeMap<u64, (BTreeSet<Payload>, usize)> {
    let j = tend::store::journal::Journal::open(&home.join("journal.sqlite")).unwrap();
    let mut out: BTreeMap<u64, (BTreeSet<Payload>, usize)> = BTreeMap::new();
    for raw in j.raws().unwrap() {
        let tx = TxEnvelope::decode_2718(&mut raw.raw.as_slice()).unwrap();
        assert_eq!(tx.nonce(), raw.nonce);
        let to = tx.to().unwrap();
        let slot = out.entry(raw.nonce).or_default();
        slot.1 += 1;
        if !(to == funder().address() && tx.value().is_zero()) {
            slot.0.insert((to, tx.value()));
        }
    }
    out
}

/// The promise, checked from the journal and the chain: at most one payload per nonce, and what
/// the chain mined at each nonce is that payload (or a cancel).
async fn assert_one_payload_per_nonce(net: &Devnet, home: &Path, log: &str) {
    let signed = journal_payloads(home);
    let twice: Vec<_> = signed.iter().filter(|(_, (p, _))| p.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "nonces signed for two payloads: {twice:?}\n{log}"
    );
    for (to, value, nonce) in transactions_from(net, funder().address()).await {
        if to == funder().address() && value.is_zero() {
            continue;
        }
        let payloads = signed.get(&nonce).map(|s| &s.0);
        assert!(
            payloads.is_some_and(|p| p.contains(&(to, value))),
            "nonce {nonce} mined a transfer to {to} the journal does not hold: {payloads:?}"
        );
    }
}

/// Wallet 0 at the target plus `deposit` (a transfer signed before the deposit, kept as
/// signed), every other wallet below `n` at the target.
async fn funded(net: &Devnet, n: u64, deposit: u128) -> bool {
    if balance(net, wallet(0)).await != U256::from(TARGET + deposit) {
        return false;
    }
    for i in 1..n {
        if balance(net, wallet(i)).await != U256::from(TARGET) {
            return false;
        }
    }
    true
}

/// Every wallet `0..n` at the target.
async fn all_funded(net: &Devnet, n: u64) -> bool {
    crate::support::all_at(net, n, TARGET).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_after_the_broadcast_under_a_rising_base_fee_never_signs_a_nonce_for_another_transfer()
 {
    let dir = scratch("kill-base-fee");
    let net = devnet(&dir, 31337, 1).await;
    let n = 6;
    let config = config(&dir, &net, n);
    let home = dir.join("home");
    // Blocks paused until every transfer sits in the pool (so none is mined before the kill).
    rpc(&net, "evm_setIntervalMining", serde_json::json!([0])).await;
    let mut tend = Tend::start(&config, "tend-1.log");
    eventually(
        Duration::from_secs(20),
        "every transfer in the pool",
        || async { in_pool(&net).await >= usize::try_from(n).unwrap() },
    )
    .await;
    // The base fee jumps far above what they were signed with, and the daemon dies.
    push_base_fee(&net, 100 * GWEI).await;
    tend.kill9();
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;
    let first_log = tend.log();
    // While it is down, wallet 0 receives a deposit from elsewhere: a transfer planned now would
    // carry another amount, so a nonce re-signed for a new plan shows as a second payload.
    let deposit = 100_000_000_000_000_000u128;
    rpc(
        &net,
        "anvil_setBalance",
        serde_json::json!([wallet(0), format!("{deposit:#x}")]),
    )
    .await;
    // Down for a few blocks; the base fee stays up.
    for _ in 0..4 {
        push_base_fee(&net, 100 * GWEI).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut tend = Tend::start(&config, "tend-2.log");
    // Up again with the base fee held high for longer than the rebroadcast delay (30 s): the
    // rebroadcasts of the signed transactions are refused ("max fee per gas less than block base
    // fee"); what is below the base fee must be bumped as the same payload, at once.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(40) && !funded(&net, n, deposit).await {
        push_base_fee(&net, 100 * GWEI).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_mins(1) && !funded(&net, n, deposit).await {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few blocks for the confirmations, then stop like an operator.
    tokio::time::sleep(Duration::from_secs(3)).await;
    tend.stop();
    let log = format!("{first_log}\n----\n{}", tend.log());
    assert_one_payload_per_nonce(&net, &home, &log).await;
    // Every transfer signed before the kill lands as signed: wallet 0 gets its deposit on top.
    assert!(funded(&net, n, deposit).await, "every wallet funded\n{log}");
    let mined = transactions_from(&net, funder().address()).await;
    for i in 0..n {
        assert_eq!(
            mined.iter().filter(|t| t.0 == wallet(i)).count(),
            1,
            "wallet {i} funded once: {mined:?}\n{log}"
        );
    }
    let signed = journal_payloads(&home);
    assert!(
        signed.values().any(|(_, attempts)| *attempts > 1),
        "some transfer was bumped at its own nonce: {signed:?}\n{log}"
    );
}

/// A small deterministic generator for the kill moments (a test must be repeatable).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loop_with_drained_wallets_never_reuses_a_nonce_and_funding_resumes_at_once() {
    let dir = scratch("kill-loop");
    let net = devnet(&dir, 31337, 1).await;
    let n = 10;
    let config = config(&dir, &net, n);
    let home = dir.join("home");
    let mut rng = Lcg(21);
    let mut logs = String::new();
    let kills = 12;
    for k in 0..kills {
        let mut tend = Tend::start(&config, &format!("tend-{k}.log"));
        // Drain some wallets so transfers are planned while the daemon lives, and now and then
        // push the base fee above what is in flight.
        for i in 0..n {
            if rng.below(3) == 0 {
                rpc(
                    &net,
                    "anvil_setBalance",
                    serde_json::json!([wallet(i), "0x0"]),
                )
                .await;
            }
        }
        if rng.below(2) == 0 {
            push_base_fee(&net, u128::from(20 + rng.below(80)) * GWEI).await;
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.below(2_700))).await;
        tend.kill9();
        let _ = writeln!(logs, "---- life {k}\n{}", tend.log());
        // Down for a moment: blocks go on.
        tokio::time::sleep(Duration::from_millis(rng.below(1_500))).await;
    }
    // The last kill: every wallet drained, killed once transfers are in the pool, and the node
    // loses its pool meanwhile. The next start sends what the journal holds at once.
    for i in 0..n {
        rpc(
            &net,
            "anvil_setBalance",
            serde_json::json!([wallet(i), "0x0"]),
        )
        .await;
    }
    let mut tend = Tend::start(&config, "tend-drained.log");
    eventually(Duration::from_secs(20), "transfers in the pool", || async {
        in_pool(&net).await >= 1
    })
    .await;
    tend.kill9();
    let _ = writeln!(logs, "---- drained\n{}", tend.log());
    rpc(&net, "anvil_dropAllTransactions", serde_json::json!([])).await;
    let mut tend = Tend::start(&config, "tend-last.log");
    let started = Instant::now();
    eventually(Duration::from_secs(90), "every wallet funded", || {
        all_funded(&net, n)
    })
    .await;
    let resumed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    tend.stop();
    let _ = writeln!(logs, "---- last\n{}", tend.log());
    assert_one_payload_per_nonce(&net, &home, &logs).await;
    // Nothing above the target: no shortfall funded twice, whatever the kills interrupted.
    for i in 0..n {
        let b = balance(&net, wallet(i)).await;
        assert_eq!(b, U256::from(TARGET), "wallet {i}");
    }
    // No 30-second stall behind a transaction journaled but not sent: the restored ones go out
    // at once. (A generous bound: one poll, a few blocks, the confirmations.)
    assert!(
        resumed < Duration::from_secs(20),
        "funding resumed {resumed:?} after the start\n{logs}"
    );
    eprintln!("kill loop: {kills} kills; all funded {resumed:?} after the last start");
}
