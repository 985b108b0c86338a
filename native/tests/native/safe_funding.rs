//! Issue 17 item 3 from the outside: `tend run` pays top-ups from a Master Safe (GnosisSafeL2
//! 1.3.0 of the `open-autonomy` wheel on anvil, owned by the funding key), one `execTransaction`
//! per round with a MultiSend delegatecall for two or more, through kill -9 while batches are
//! in flight; and the Safes it must refuse. Checked from the chain: every transaction of the
//! funding key goes to the Safe and runs (no revert, no `ExecutionFailure`), the Safe's nonce
//! counts them one by one (none reused or skipped), and every wallet ends exactly at its target
//! (a top-up sent twice would take it above).

use std::time::Duration;

use alloy::primitives::{Address, U256};
use tend::devnet::Devnet;
use tend::devnet::olas;
use tend::devnet::olas::ISafe;

use crate::support::{
    Tend, balance, devnet, ep, eventually, funder, olas_wheel, scratch, tend_cmd,
    transactions_from, wallet,
};

const LOW: u128 = 500_000_000_000_000_000;
const TARGET: u128 = 2_000_000_000_000_000_000;
const ETH: u128 = 1_000_000_000_000_000_000;

/// A devnet (chain 100) with the Olas stack, a Master Safe owned by `owners` with `threshold`,
/// holding 100 ETH, and interval mining of one block a second from then on.
async fn safe_devnet(
    name: &str,
    owners: &[Address],
    threshold: u64,
) -> (std::path::PathBuf, Devnet, olas::OlasStack, Address) {
    let dir = scratch(name);
    let net = devnet(&dir, 100, 0).await;
    let stack = olas::deploy(&net, &olas_wheel(), &crate::support::safe_handler())
        .await
        .unwrap();
    let safe = stack
        .create_safe(&net, stack.deployer, owners.to_vec(), threshold, 7)
        .await
        .unwrap();
    net.set_balance(safe, U256::from(100 * ETH)).await.unwrap();
    (dir, net, stack, safe)
}

fn config(
    dir: &std::path::Path,
    net: &Devnet,
    safe: Address,
    multisend: Address,
    n: u64,
) -> std::path::PathBuf {
    crate::support::funding_config(
        dir,
        net,
        &format!(
            "confirmations = 2\npoll_ms = 500\nsafe = \"{safe}\"\nmultisend = \"{multisend}\""
        ),
        n,
        LOW,
        TARGET,
    )
}

async fn rpc(net: &Devnet, method: &'static str, params: serde_json::Value) -> serde_json::Value {
    ep(net).request(method, params).await.unwrap()
}

/// The Safe's `nonce()`.
pub(crate) async fn safe_nonce(net: &Devnet, safe: Address) -> u64 {
    olas::read(net, safe, &ISafe::nonceCall {})
        .await
        .unwrap()
        .saturating_to()
}

/// Every mined transaction of the funding key: to the Safe, value 0, status 1, no
/// `ExecutionFailure`; returns how many.
async fn all_ran_on_the_safe(net: &Devnet, safe: Address) -> u64 {
    let txs = transactions_from(net, funder().address()).await;
    for (i, (to, value, nonce)) in txs.iter().enumerate() {
        assert_eq!(
            *to, safe,
            "transaction {i} (nonce {nonce}) is not to the Safe"
        );
        assert_eq!(*value, U256::ZERO);
        assert_eq!(*nonce, i as u64, "the funding key's nonces in order");
    }
    // Receipts: every one ran (a failed batch would log ExecutionFailure).
    let e = ep(net);
    let head: alloy::primitives::U64 = e.request("eth_blockNumber", ()).await.unwrap();
    for n in 0..=head.to::<u64>() {
        let receipts: serde_json::Value = e
            .request("eth_getBlockReceipts", (alloy::primitives::U64::from(n),))
            .await
            .unwrap();
        for r in receipts.as_array().into_iter().flatten() {
            let from: Address = r["from"].as_str().unwrap().parse().unwrap();
            if from != funder().address() {
                continue;
            }
            assert_eq!(r["status"], "0x1", "a Safe transaction reverted: {r}");
            let failure = format!("{:#x}", tend_core::safe::EXECUTION_FAILURE);
            assert!(
                !r["logs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l["topics"][0].as_str() == Some(failure.as_str())),
                "a Safe transaction failed inside: {r}"
            );
        }
    }
    txs.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_tops_up_from_a_master_safe_in_one_multisend_and_survives_kill_9() {
    let owner = funder().address();
    let (dir, net, stack, safe) = safe_devnet("safe-funding", &[owner], 1).await;
    let n = 6;
    let config = config(&dir, &net, safe, stack.multisend, n);
    let out = tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("funding Safe on chain gnosis") && said.contains("1 of 1 owners"),
        "{said}"
    );
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;

    let mut tend = Tend::start(&config, "tend.log");
    eventually(Duration::from_mins(1), "all wallets at target", || async {
        crate::support::all_at(&net, n, TARGET).await
    })
    .await;
    // All six were low in the first round: one Safe transaction paid them (a MultiSend).
    let first = all_ran_on_the_safe(&net, safe).await;
    assert_eq!(
        first,
        1,
        "six top-ups in one Safe transaction: {}",
        tend.log()
    );
    assert_eq!(safe_nonce(&net, safe).await, 1);
    // The status shows where the top-ups come from, and the Safe's nonce tend read.
    eventually(
        Duration::from_secs(10),
        "the status shows the Safe at nonce 1",
        || {
            let shown = crate::support::status(&config);
            let s = &shown["chains"][0]["safe"];
            let ok = s["address"].as_str().map(str::to_lowercase)
                == Some(safe.to_string().to_lowercase())
                && s["nonce"] == 1;
            async move { ok }
        },
    )
    .await;
    let text = tend_cmd(&["status", "--config", config.to_str().unwrap()], &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("paying from Safe {safe} (nonce 1)")),
        "{text}"
    );
    assert_eq!(
        balance(&net, safe).await,
        U256::from(100 * ETH - 6 * TARGET),
        "the Safe paid the top-ups"
    );

    // kill -9 while batches are signed, in the pool or mined: drain wallets that sit at their
    // target (none in flight), wait a moment that varies, kill, start again.
    let mut rng = 0x9E37_79B9_u64;
    for round in 0..6u64 {
        for i in 0..n {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            if (rng >> 33).is_multiple_of(2) && balance(&net, wallet(i)).await == U256::from(TARGET)
            {
                net.set_balance(wallet(i), U256::ZERO).await.unwrap();
            }
        }
        let wait = 100 + (rng >> 40) % 1_400;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        tend.kill9();
        let log = format!("tend-{round}.log");
        tend = Tend::start(&config, &log);
    }
    eventually(
        Duration::from_mins(1),
        "all wallets at target after the kills",
        || async { crate::support::all_at(&net, n, TARGET).await },
    )
    .await;
    // Settled: a few more rounds change nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sent = all_ran_on_the_safe(&net, safe).await;
    assert!(
        crate::support::all_at(&net, n, TARGET).await,
        "a wallet funded twice"
    );
    assert_eq!(
        safe_nonce(&net, safe).await,
        sent,
        "each of the funding key's transactions used the next Safe nonce"
    );
    assert!(sent >= 2, "the kills left nothing to fund: {sent}");
    drop(tend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_safe_the_key_cannot_sign_for_is_refused_before_anything_is_sent() {
    let owner = funder().address();
    let other: Address = Address::repeat_byte(0x77);
    let (dir, net, stack, mine) = safe_devnet("safe-refused", &[owner], 1).await;
    let theirs = stack
        .create_safe(&net, stack.deployer, vec![other], 1, 8)
        .await
        .unwrap();
    let two_of_two = stack
        .create_safe(&net, stack.deployer, vec![owner, other], 2, 9)
        .await
        .unwrap();
    let cases = [
        (theirs, stack.multisend, "is not one of its owners"),
        (two_of_two, stack.multisend, "needs 2 of its 2 owners"),
        (
            Address::repeat_byte(0x42),
            stack.multisend,
            "no contract at this address",
        ),
        (
            stack.service_registry,
            stack.multisend,
            "this is not a Safe",
        ),
        (mine, Address::repeat_byte(0x43), "multisend = \"0x4343"),
    ];
    for (safe, multisend, says) in cases {
        let config = config(&dir, &net, safe, multisend, 2);
        for args in [
            vec!["config", "check", "--config", config.to_str().unwrap()],
            vec!["run", "--config", config.to_str().unwrap()],
        ] {
            let out = tend_cmd(&args, &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} with safe {safe}: {err}"
            );
            assert!(err.contains(says), "{args:?}: wanted {says:?} in: {err}");
            assert!(err.contains("safe = "), "names the key: {err}");
        }
    }
    // The funding key is its own Safe: a config error naming the key.
    let config = config(&dir, &net, owner, stack.multisend, 2);
    let out = tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("safe is the funding key's own address"),
        "{err}"
    );
    assert!(
        transactions_from(&net, owner).await.is_empty(),
        "nothing was sent from the funding key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_safe_cannot_pay_fails_once_uses_its_nonce_and_is_not_sent_again() {
    let owner = funder().address();
    let (dir, net, stack, safe) = safe_devnet("safe-short", &[owner], 1).await;
    // Two wallets at 0, 3 ETH in the Safe: the batch pays 2 + 1 ETH.
    net.set_balance(safe, U256::from(3 * ETH)).await.unwrap();
    let config = config(&dir, &net, safe, stack.multisend, 2);
    rpc(&net, "evm_setIntervalMining", serde_json::json!([2])).await;
    let tend = Tend::start(&config, "tend.log");
    // Once the batch is in the pool, the Safe's coin goes elsewhere (an operator's own use of
    // the Safe between tend's read and the block).
    eventually(Duration::from_secs(20), "the batch in the pool", || async {
        let v = rpc(&net, "txpool_content", serde_json::json!([])).await;
        v["pending"].as_object().is_some_and(|m| !m.is_empty())
    })
    .await;
    net.set_balance(safe, U256::ZERO).await.unwrap();
    eventually(Duration::from_secs(20), "the failure reported", || async {
        tend.log().contains("failed: a top-up failed")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        transactions_from(&net, owner).await.len(),
        1,
        "never sent again: {}",
        tend.log()
    );
    assert_eq!(
        safe_nonce(&net, safe).await,
        1,
        "the failed batch used its Safe nonce"
    );
    assert_eq!(balance(&net, wallet(0)).await, U256::ZERO);
    drop(tend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_of_two_safe_funds_with_both_local_owner_keys() {
    use alloy::signers::local::PrivateKeySigner;
    let owner = funder().address();
    let second: PrivateKeySigner = tend::devnet::DEV_KEYS[2].parse().unwrap();
    let (dir, net, stack, safe) = safe_devnet("safe-2of2", &[owner, second.address()], 2).await;
    let config = crate::support::funding_config(
        &dir,
        &net,
        &format!(
            "confirmations = 1\npoll_ms = 300\nsafe = \"{safe}\"\nmultisend = \"{}\"\n\
             safe_owner_keys_env = [\"TEND_OWNER2_KEY\"]",
            stack.multisend
        ),
        3,
        LOW,
        TARGET,
    );
    // Without the second key's variable: refused, naming it.
    let out = tend_cmd(
        &["run", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("TEND_OWNER2_KEY"), "{err}");
    // A key that is not an owner: refused, naming its address.
    let stranger: PrivateKeySigner = tend::devnet::DEV_KEYS[3].parse().unwrap();
    let out = tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[
            ("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0]),
            ("TEND_OWNER2_KEY", tend::devnet::DEV_KEYS[3]),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&stranger.address().to_string()), "{err}");
    // Both owners' keys: the batch carries two signatures and runs.
    let tend = Tend::start_env(
        &config,
        "tend.log",
        &[],
        &[("TEND_OWNER2_KEY", tend::devnet::DEV_KEYS[2])],
    );
    eventually(Duration::from_mins(1), "all wallets at target", || async {
        crate::support::all_at(&net, 3, TARGET).await
    })
    .await;
    assert_eq!(all_ran_on_the_safe(&net, safe).await, 1, "{}", tend.log());
    assert_eq!(safe_nonce(&net, safe).await, 1);
    assert!(
        !tend
            .log()
            .contains(tend::devnet::DEV_KEYS[2].trim_start_matches("0x")),
        "a key in the log"
    );
    drop(tend);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_that_refuses_its_top_up_is_found_and_held_and_the_others_are_paid() {
    let owner = funder().address();
    let (dir, net, stack, safe) = safe_devnet("safe-refuser", &[owner], 1).await;
    // Wallet 0 is a contract that reverts on every call: its top-up fails the whole batch.
    let revert = alloy::primitives::Bytes::from(vec![0x60, 0x00, 0x60, 0x00, 0xfd]);
    let _: serde_json::Value = ep(&net)
        .request("anvil_setCode", (wallet(0), revert))
        .await
        .unwrap();
    let config = config(&dir, &net, safe, stack.multisend, 3);
    rpc(&net, "evm_setIntervalMining", serde_json::json!([1])).await;
    let tend = Tend::start(&config, "tend.log");
    eventually(
        Duration::from_mins(1),
        "wallets 1 and 2 at target",
        || async {
            balance(&net, wallet(1)).await == U256::from(TARGET)
                && balance(&net, wallet(2)).await == U256::from(TARGET)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The batch of three, then wallet 0 alone (fails), then 1 and 2 alone: four Safe
    // transactions, each at the next Safe nonce, and no more.
    let txs = transactions_from(&net, owner).await;
    assert_eq!(txs.len(), 4, "{txs:?}\n{}", tend.log());
    assert_eq!(safe_nonce(&net, safe).await, 4);
    assert_eq!(balance(&net, wallet(0)).await, U256::ZERO);
    let log = tend.log();
    assert!(log.contains("one per Safe transaction"), "{log}");
    assert!(log.contains("its wallet waits for an operator"), "{log}");
    drop(tend);
}
