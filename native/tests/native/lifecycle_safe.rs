//! Issue 18 item 1 with the Master Safe as the service's owner and operator (the middleware's
//! way): each life-cycle step is ONE Safe transaction the funding key signs and sends as the
//! Safe's owner, an approval and the call that spends it batched with MultiSend. Real contracts
//! on anvil (the `open-autonomy` stack, Safe 1.3.0 with its `CompatibilityFallbackHandler`);
//! every transaction counted from the chain.

use alloy::primitives::{Address, B256, U256};
use tend::devnet::olas::{self, OlasStack, ServiceAccounts};

use crate::lifecycle::{kill_9_on_progress, lifecycle_toml_with, olas_calls, wait_for};
use crate::olas::olas_devnet;

use crate::safe_funding::safe_nonce;

/// A devnet with the Olas stack, a Master Safe owned by tend's funding key (1 of 1, with the
/// fallback handler), native and OLAS for the deposit and bond on the Safe, and a service
/// created for the Safe (pre-registration): (folder, devnet, stack, roles, key, Safe, id).
async fn safe_minted(
    name: &str,
) -> (
    std::path::PathBuf,
    tend::devnet::Devnet,
    OlasStack,
    ServiceAccounts,
    Address,
    Address,
    u64,
) {
    let (dir, net, stack) = olas_devnet(name).await;
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let funder = crate::support::funder().address();
    let master = stack
        .create_safe(&net, stack.deployer, vec![funder], 1, 0x5afe)
        .await
        .unwrap();
    net.set_balance(master, U256::from(10u128.pow(18)))
        .await
        .unwrap();
    // The agent holds more than its requirement: no top-up shares the Safe's nonces.
    net.set_balance(who.agent, U256::from(10u128.pow(18)))
        .await
        .unwrap();
    let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);
    stack
        .mint_olas(&net, master, bond * U256::from(2))
        .await
        .unwrap();
    let id = stack
        .create_service_for(&net, stack.deployer, master)
        .await
        .unwrap();
    (dir, net, stack, who, funder, master, id)
}

/// The config: the chain pays from (and its services are owned by) the Master Safe.
fn safe_toml(
    dir: &std::path::Path,
    net: &tend::devnet::Devnet,
    stack: &OlasStack,
    id: u64,
    agent: Address,
    master: Address,
    target: &str,
) -> std::path::PathBuf {
    lifecycle_toml_with(
        dir,
        &net.url,
        stack,
        id,
        agent,
        target,
        &format!("safe = \"{master}\"\nmultisend = \"{}\"\n", stack.multisend),
    )
}

/// `keccak256("ExecutionSuccess(bytes32,uint256)")`.
fn execution_success() -> B256 {
    alloy::primitives::keccak256("ExecutionSuccess(bytes32,uint256)")
}

/// The transactions `from` sent to `safe`, in chain order: (gas used, the Safe ran its call).
async fn safe_txs(net: &tend::devnet::Devnet, from: Address, safe: Address) -> Vec<(u64, bool)> {
    let mut out = Vec::new();
    for tx in crate::support::mined_from(net, from).await {
        if tx["to"].as_str().and_then(|t| t.parse::<Address>().ok()) != Some(safe) {
            continue;
        }
        let (receipt, gas) = crate::support::receipt_of(net, &tx).await;
        let ran = receipt["logs"].as_array().into_iter().flatten().any(|l| {
            l["topics"][0].as_str().and_then(|t| t.parse::<B256>().ok())
                == Some(execution_success())
        });
        out.push((gas, ran));
    }
    out
}

/// A new service owned by the Master Safe goes to deployed-and-staked in FOUR Safe transactions
/// (approve + activate, approve + register, deploy, approve + stake: MultiSend for each pair),
/// the funding key never calling an Olas contract itself; then back to terminated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_safe_takes_its_service_to_staked_in_four_safe_transactions_and_back() {
    let (dir, net, stack, who, funder, master, id) = safe_minted("lifecycle-safe").await;
    let config = safe_toml(
        &dir,
        &net,
        &stack,
        id,
        who.agent,
        master,
        "deployed_and_staked",
    );
    let check = crate::support::tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])],
    );
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let tend = crate::support::Tend::start(&config, "tend.log");
    wait_for(&net, &stack, id, 4, 1, &tend).await;
    let txs = safe_txs(&net, funder, master).await;
    eprintln!(
        "Master Safe to deployed-and-staked: {} transactions, {} gas ({txs:?})",
        txs.len(),
        txs.iter().map(|t| t.0).sum::<u64>()
    );
    assert_eq!(txs.len(), 4, "{txs:?} {}", tend.log());
    assert!(
        txs.iter().all(|t| t.1),
        "each Safe transaction ran: {txs:?}"
    );
    assert_eq!(safe_nonce(&net, master).await, 4);
    assert!(
        olas_calls(&net, &stack, funder).await.is_empty(),
        "the funding key called no Olas contract itself"
    );
    let service = stack.service(&net, id).await.unwrap();
    assert_ne!(service.multisig, Address::ZERO, "the service Safe exists");
    // Rounds go on at the target: nothing more is sent.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(safe_txs(&net, funder, master).await.len(), 4);
    drop(tend);

    // Back out once the minimum staking duration has passed.
    stack
        .advance_time(&net, 2 * olas::program::LIVENESS_PERIOD + 10)
        .await
        .unwrap();
    let config = safe_toml(&dir, &net, &stack, id, who.agent, master, "terminated");
    let _ = std::fs::remove_file(dir.join("home").join("api-token"));
    let tend = crate::support::Tend::start(&config, "tend-back.log");
    wait_for(&net, &stack, id, 1, 0, &tend).await;
    let back = safe_txs(&net, funder, master).await;
    eprintln!("Master Safe back to terminated: {:?}", &back[4..]);
    // (claim,) unstake, terminate, unbond: one Safe transaction each.
    assert!(
        (3..=4).contains(&(back.len() - 4)),
        "{back:?} {}",
        tend.log()
    );
    assert!(back.iter().all(|t| t.1), "{back:?}");
    // The deposit and the bond came back to the Safe.
    let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);
    assert!(
        crate::support::token_balance(&net, stack.olas, master).await >= bond * U256::from(2),
        "deposit and bond returned"
    );
    drop(tend);
}

/// Issue 18 item 3 through the Safe: kill -9 after every Safe transaction on the way to staked;
/// the Safe transactions sent equal the uninterrupted run's four.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_after_every_safe_step_sends_no_step_twice() {
    let (dir, net, stack, who, funder, master, id) = safe_minted("lifecycle-safe-kill").await;
    let config = safe_toml(
        &dir,
        &net,
        &stack,
        id,
        who.agent,
        master,
        "deployed_and_staked",
    );
    let (kills, logs) = kill_9_on_progress(&config, || async {
        (
            safe_txs(&net, funder, master).await.len(),
            stack.staking_state(&net, id).await.unwrap() == 1,
        )
    })
    .await;
    assert_eq!(stack.staking_state(&net, id).await.unwrap(), 1, "{logs}");
    let txs = safe_txs(&net, funder, master).await;
    assert_eq!(txs.len(), 4, "{kills} kills: {txs:?} {logs}");
    assert!(txs.iter().all(|t| t.1), "{txs:?}");
    assert_eq!(safe_nonce(&net, master).await, 4);
    assert!(
        kills >= 3,
        "{kills} kills: the daemon was killed at most steps"
    );
    eprintln!("{kills} daemons killed with -9 on the way to staked; 4 Safe transactions sent");
    let _ = dir;
}
