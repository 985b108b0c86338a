//! The real Olas contracts (the `open-autonomy` wheel's builds, and DevnetSafeMultisig) on a
//! real anvil: deployed in the facts' order, a service minted and staked through them.

use alloy::primitives::{U256, keccak256};
use tend::chain::olas_facts as facts;
use tend::devnet::olas::{self, ServiceAccounts};

use crate::support::{devnet, olas_wheel, safe_handler, scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_olas_stack_deploys_and_a_service_is_minted_deployed_and_staked() {
    let (_dir, net, stack) = olas_devnet("olas-stack").await;
    let rewards = olas::read(&net, stack.staking, &facts::availableRewardsCall {})
        .await
        .unwrap();
    assert_eq!(rewards, U256::from(olas::program::REWARDS));

    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let (id, safe) = stack.mint_and_stake(&net, who).await.unwrap();
    assert_eq!(id, 1, "the first service");
    let s = stack.service(&net, id).await.unwrap();
    assert_eq!(s.state, 4, "deployed: {s:?}");
    assert_eq!(s.multisig, safe);
    assert_eq!((s.numAgentInstances, s.maxNumAgentInstances), (1, 1));
    assert_eq!(
        s.securityDeposit,
        alloy::primitives::Uint::from(1u8),
        "1 wei: a token-secured service"
    );
    assert_eq!(stack.staking_state(&net, id).await.unwrap(), 1, "staked");
    let owner = olas::read(
        &net,
        stack.service_registry,
        &facts::ownerOfCall { id: U256::from(id) },
    )
    .await
    .unwrap();
    assert_eq!(owner, stack.staking, "the staking program holds the NFT");
    let deposit = olas::read(
        &net,
        stack.token_utility,
        &facts::mapServiceIdTokenDepositCall {
            serviceId: U256::from(id),
        },
    )
    .await
    .unwrap();
    assert_eq!(deposit.token, stack.olas);
    assert_eq!(
        U256::from(deposit.securityDeposit),
        U256::from(olas::program::MIN_STAKING_DEPOSIT)
    );
    // The service Safe is a Safe 1.3.0 proxy: the runtime the staking program accepts.
    let code: alloy::primitives::Bytes = net
        .endpoint()
        .unwrap()
        .request("eth_getCode", (safe, "latest"))
        .await
        .unwrap();
    assert_eq!(code.len(), 171, "the proxy's runtime");
    assert_ne!(keccak256(&code), alloy::primitives::B256::ZERO);
}

/// The facts tend reads in one pinned `aggregate3` call, against the contracts' own reads, at
/// every state of a service's life: not minted, pre-registration, active registration,
/// finished registration, deployed, staked, evicted, unstaked, terminated-bonded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_facts_read_in_one_call_follow_a_service_through_its_life() {
    use tend::chain::olas_facts::{FactsQuery, OlasContracts, read_service_facts};
    use tend_core::lifecycle::{OnChainState as ServiceState, StakingState};
    let (dir, net, stack) = olas_devnet("olas-facts").await;
    let ep = net.endpoint().unwrap();
    let contracts = OlasContracts {
        service_registry: stack.service_registry,
        token_utility: stack.token_utility,
    };
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let q = FactsQuery {
        service_id: 1,
        agent_id: olas::program::AGENT_ID,
        staking: Some(stack.staking),
        operator: Some(who.operator),
    };
    let facts = || async {
        let block: alloy::primitives::U64 = ep.request("eth_blockNumber", ()).await.unwrap();
        let f = read_service_facts(&ep, &contracts, &q, block.to::<u64>())
            .await
            .unwrap();
        // Against the registry's own reads.
        let s = stack.service(&net, 1).await.unwrap();
        assert_eq!(f.state.value(), s.state, "{f:?}");
        assert_eq!(f.multisig, s.multisig);
        assert_eq!(f.agent_ids, s.agentIds);
        assert_eq!(
            f.staking.as_ref().map(|st| st.state.value()),
            Some(stack.staking_state(&net, 1).await.unwrap())
        );
        f
    };
    let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);
    // The funding report tend serves, at each state: its body is the core's report of the
    // snapshot tend read, and the snapshot carries the registry's facts.
    let text = format!(
        "{}{}",
        crate::support::config_head(&dir.join("home")),
        olas_toml(&net.url, &stack, 1, &who, "")
    );
    let config = tend::config::Config::parse(&dir.join("tend.toml"), &text).unwrap();
    let reader = tend::chain::olas::OlasReader {
        endpoints: tend::chain::rpc::endpoints_of(&config).unwrap(),
        config: std::sync::Arc::new(config),
        round: None,
    };
    let report = || async {
        let v = tend::chain::olas::report(&reader, "olas", None, false, true).await?;
        let snapshot =
            tend_core::funding::FundingSnapshot::from_json_str(&v["snapshot"].to_string()).unwrap();
        let core =
            serde_json::to_value(tend_core::funding::funding_requirements(&snapshot)).unwrap();
        assert_eq!(
            v["report"], core,
            "the body is the core's report of the snapshot"
        );
        Ok::<_, String>(v)
    };
    let checked = |v: &serde_json::Value, f: &tend::chain::olas_facts::ServiceFacts| {
        let chain = &v["snapshot"]["service"]["chains"]["gnosis"];
        assert_eq!(chain["token"], 1, "{v}");
        if f.multisig != alloy::primitives::Address::ZERO {
            assert_eq!(
                chain["service_safe"].as_str().unwrap().to_lowercase(),
                f.multisig.to_string().to_lowercase()
            );
        }
        assert_eq!(v["facts"]["state"], serde_json::json!(f.state), "{v}");
    };

    let f = facts().await;
    assert_eq!((f.state, f.owner), (ServiceState::NonExistent, None));
    let e = report().await.unwrap_err();
    assert!(e.contains("service_id = 1 does not exist"), "{e}");
    let id = stack.mint_service(&net, who).await.unwrap();
    assert_eq!(id, 1);
    let f = facts().await;
    assert_eq!(f.state, ServiceState::PreRegistration);
    checked(&report().await.unwrap(), &f);
    assert_eq!(f.owner, Some(who.owner));
    assert_eq!(
        (f.deposit_token, f.deposit, f.agent_bond),
        (stack.olas, bond, bond)
    );
    let st = f.staking.unwrap();
    assert_eq!(
        (st.min_staking_deposit, st.staking_token),
        (bond, stack.olas)
    );
    assert_eq!(st.available_rewards, U256::from(olas::program::REWARDS));

    stack.activate(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.state, ServiceState::ActiveRegistration);
    checked(&report().await.unwrap(), &f);
    stack.register(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.state, ServiceState::FinishedRegistration);
    checked(&report().await.unwrap(), &f);
    assert_eq!(f.agent_instances, vec![who.agent]);
    assert_eq!(f.instances_of_agent, 1);
    // The operator's bond: 1 wei in the registry, the real bond in the token utility.
    assert_eq!(f.operator_balance, Some((U256::from(1), bond)));
    assert_eq!(f.registry_deposit, U256::from(1));
    let safe = stack.deploy_safe(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!((f.state, f.multisig), (ServiceState::Deployed, safe));
    checked(&report().await.unwrap(), &f);
    assert_eq!(
        f.staking.unwrap().state,
        StakingState::Unstaked,
        "not staked yet"
    );

    stack.stake(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.owner, Some(stack.staking), "the program holds the NFT");
    checked(&report().await.unwrap(), &f);
    let st = f.staking.unwrap();
    assert_eq!(st.state, StakingState::Staked);
    assert!(st.ts_start > U256::ZERO);

    // No Safe activity for a liveness period: the checkpoint evicts it.
    stack
        .advance_time(&net, olas::program::LIVENESS_PERIOD + 1)
        .await
        .unwrap();
    stack.checkpoint(&net).await.unwrap();
    let f = facts().await;
    checked(&report().await.unwrap(), &f);
    assert_eq!(f.staking.unwrap().state, StakingState::Evicted, "evicted");

    // Past the minimum staking duration, the evicted service is unstaked: the NFT comes back.
    stack
        .advance_time(&net, 2 * olas::program::LIVENESS_PERIOD)
        .await
        .unwrap();
    stack.unstake(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(
        (f.state, f.owner),
        (ServiceState::Deployed, Some(who.owner))
    );
    checked(&report().await.unwrap(), &f);
    assert_eq!(f.staking.unwrap().state, StakingState::Unstaked);

    stack.terminate(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.state, ServiceState::TerminatedBonded);
    checked(&report().await.unwrap(), &f);
    assert_eq!(f.multisig, safe, "the Safe is kept through terminate");
    assert_eq!(
        f.agent_instances,
        vec![alloy::primitives::Address::ZERO],
        "§5.3"
    );
}

/// A registry address that is not one (an EOA, a contract of another kind): a typed error that
/// names the address, never a panic or made-up facts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_from_a_wrong_address_are_a_clear_error() {
    use tend::chain::olas_facts::{FactsQuery, OlasContracts, read_service_facts};
    let (_dir, net, stack) = olas_devnet("olas-facts-bad").await;
    let ep = net.endpoint().unwrap();
    let eoa = olas::account(&net, 5).await.unwrap();
    let q = FactsQuery {
        service_id: 1,
        agent_id: 1,
        staking: None,
        operator: None,
    };
    for registry in [eoa, stack.olas] {
        let contracts = OlasContracts {
            service_registry: registry,
            token_utility: stack.token_utility,
        };
        let e = read_service_facts(&ep, &contracts, &q, 0).await;
        let e = e.map(|_| ()).unwrap_err().to_string();
        assert!(e.contains(&registry.to_string()), "{e}");
    }
    // A staking program that is not one.
    let contracts = OlasContracts {
        service_registry: stack.service_registry,
        token_utility: stack.token_utility,
    };
    let q = FactsQuery {
        staking: Some(stack.olas),
        ..q
    };
    let block: alloy::primitives::U64 = ep.request("eth_blockNumber", ()).await.unwrap();
    let e = read_service_facts(&ep, &contracts, &q, block.to::<u64>())
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("StakingToken") && e.contains(&stack.olas.to_string()),
        "{e}"
    );
}

/// `GET /v1/services/{name}/funding` with the service's identity on chain: the Safe, the cost of
/// bond, the agent instances and the staking parameters come from the registries (not from
/// tend.toml), the report is the core's report of that snapshot, and a tend.toml value the chain
/// contradicts is an error naming both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_funding_report_takes_the_service_facts_from_the_registries() {
    let (dir, net, stack) = olas_devnet("olas-report").await;
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let (id, safe) = stack.mint_and_stake(&net, who).await.unwrap();
    let write = |extra: &str| {
        let head = crate::support::config_head(&dir.join("home"));
        let listen = crate::support::listen_of(&head);
        let body = olas_toml(&net.url, &stack, id, &who, extra);
        let path = dir.join("tend.toml");
        std::fs::write(&path, format!("{head}{body}")).unwrap();
        (path, listen)
    };

    let (config, listen) = write("");
    let out = crate::support::tend_cmd(
        &["config", "check", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("found in their registries"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A service id the registry does not have: refused by config check and at start.
    let text = std::fs::read_to_string(&config).unwrap();
    let missing = dir.join("missing.toml");
    std::fs::write(
        &missing,
        text.replace(&format!("service_id = {id}"), "service_id = 99"),
    )
    .unwrap();
    for args in [
        vec!["config", "check", "--config", missing.to_str().unwrap()],
        vec!["run", "--config", missing.to_str().unwrap()],
    ] {
        let out = crate::support::tend_cmd(&args, &[("TEND_TEST_KEY", tend::devnet::DEV_KEYS[0])]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("service_id = 99 does not exist"), "{err}");
    }
    let tend = crate::support::Tend::start(&config, "tend.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let url = format!("http://{listen}/v1/services/olas/funding?snapshot=true");
    let body = crate::support::api_poll(&url, &token, 200).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let chain = &v["snapshot"]["service"]["chains"]["gnosis"];
    assert_eq!(chain["token"], id, "{v}");
    assert_eq!(
        chain["service_safe"].as_str().unwrap().to_lowercase(),
        safe.to_string().to_lowercase()
    );
    assert_eq!(
        chain["cost_of_bond"],
        olas::program::MIN_STAKING_DEPOSIT.to_string(),
        "the program's minimum deposit: {v}"
    );
    assert_eq!(
        chain["staking"]["staking_token"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        stack.olas.to_string().to_lowercase()
    );
    assert_eq!(
        v["snapshot"]["service"]["agent_addresses"][0]
            .as_str()
            .unwrap()
            .to_lowercase(),
        who.agent.to_string().to_lowercase()
    );
    assert_eq!(v["facts"]["staking"]["state"], "STAKED", "staked: {v}");
    // Bonded assets under the Master Safe (here the operator), the middleware's way (§2.5): the
    // operator's 1 wei + the registry's 1 wei deposit; the bond + the deposit in OLAS.
    let bonded = &v["snapshot"]["bonded_assets"]["gnosis"];
    assert_eq!(
        bonded["0x0000000000000000000000000000000000000000"], "2",
        "{v}"
    );
    let olas_key = bonded
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.to_lowercase() == stack.olas.to_string().to_lowercase())
        .cloned()
        .unwrap_or_else(|| panic!("OLAS bonded: {bonded}"));
    assert_eq!(
        bonded[&olas_key],
        (2 * olas::program::MIN_STAKING_DEPOSIT).to_string()
    );
    // The body is the core's report of that very snapshot.
    let snapshot =
        tend_core::funding::FundingSnapshot::from_json_str(&v["snapshot"].to_string()).unwrap();
    let expected =
        serde_json::to_value(tend_core::funding::funding_requirements(&snapshot)).unwrap();
    assert_eq!(v["report"], expected);
    // The CLI reads the same from the chains, without the daemon.
    let out = crate::support::tend_cmd(
        &[
            "funding",
            "olas",
            "--service",
            "olas",
            "--config",
            config.to_str().unwrap(),
            "--snapshot",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli["report"], v["report"]);
    assert_eq!(cli["facts"], v["facts"]);
    drop(tend);

    // tend.toml says another Safe: the report refuses, naming both.
    let wrong = "0x000000000000000000000000000000000000bEEF";
    let (config, listen) = write(&format!("service_safe = \"{wrong}\"\n"));
    let _tend = crate::support::Tend::start(&config, "tend-2.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let url = format!("http://{listen}/v1/services/olas/funding");
    let answer = (409, crate::support::api_poll(&url, &token, 409).await);
    // The CLI refuses it too, with the usage exit code.
    let out = crate::support::tend_cmd(
        &[
            "funding",
            "olas",
            "--service",
            "olas",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("service_safe"));
    let text = answer.1.to_lowercase();
    assert!(
        text.contains("service_safe")
            && text.contains(&wrong.to_lowercase())
            && text.contains(&safe.to_string().to_lowercase()),
        "{text}"
    );
}

/// The core's Safe 1.3.0 encoding against the real GnosisSafeL2 and MultiSend on anvil: the
/// hash equals `getTransactionHash`, an owner's signature over it executes a MultiSend of two
/// top-ups in one transaction (the Safe pays the values, the owner only gas), the Safe's nonce
/// moves by one, and a signature of another key is refused (the whole transaction reverts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_safe_pays_two_top_ups_in_one_multisend() {
    use alloy::signers::SignerSync;
    use tend::devnet::olas::ISafe;
    use tend_core::safe::{
        MultiSendCall, Operation, SafeTx, exec_transaction_data, multisend_data, pack_signatures,
        safe_tx_hash,
    };
    let (_dir, net, stack) = olas_devnet("olas-safe").await;
    let owner = crate::support::funder();
    let safe = stack
        .create_safe(&net, owner.address(), vec![owner.address()], 1, 7)
        .await
        .unwrap();
    let owners = olas::read(&net, safe, &ISafe::getOwnersCall {})
        .await
        .unwrap();
    assert_eq!(owners, vec![owner.address()]);
    net.set_balance(safe, U256::from(5u128 * 10u128.pow(18)))
        .await
        .unwrap();
    let (a, b) = (crate::support::wallet(0), crate::support::wallet(1));
    let amount = |x: u128| U256::from(x * 10u128.pow(17));
    let batch = multisend_data(&[
        MultiSendCall {
            operation: Operation::Call,
            to: a,
            value: amount(3),
            data: Vec::new(),
        },
        MultiSendCall {
            operation: Operation::Call,
            to: b,
            value: amount(4),
            data: Vec::new(),
        },
    ]);
    let tx = SafeTx {
        to: stack.multisend,
        value: U256::ZERO,
        data: batch.clone(),
        operation: Operation::DelegateCall,
        safe_tx_gas: U256::ZERO,
        nonce: U256::ZERO,
    };
    let hash = safe_tx_hash(100, safe, &tx);
    let theirs = olas::read(
        &net,
        safe,
        &ISafe::getTransactionHashCall {
            to: tx.to,
            value: tx.value,
            data: batch.clone().into(),
            operation: 1,
            safeTxGas: U256::ZERO,
            baseGas: U256::ZERO,
            gasPrice: U256::ZERO,
            gasToken: alloy::primitives::Address::ZERO,
            refundReceiver: alloy::primitives::Address::ZERO,
            _nonce: U256::ZERO,
        },
    )
    .await
    .unwrap();
    assert_eq!(hash, theirs, "the core's hash is the Safe's");

    let send = |data: Vec<u8>| {
        let ep = net.endpoint().unwrap();
        async move {
            let tx = serde_json::json!({
                "from": crate::support::funder().address(),
                "to": safe,
                "data": alloy::primitives::Bytes::from(data),
                "gas": "0x100000",
            });
            let h: alloy::primitives::B256 =
                ep.request("eth_sendTransaction", (tx,)).await.unwrap();
            for _ in 0..100 {
                let r: serde_json::Value =
                    ep.request("eth_getTransactionReceipt", (h,)).await.unwrap();
                if !r.is_null() {
                    return r["status"] == "0x1";
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("no receipt for {h}");
        }
    };
    // Another key's signature: refused, nothing moves, the nonce stays.
    let stranger: alloy::signers::local::PrivateKeySigner =
        tend::devnet::DEV_KEYS[3].parse().unwrap();
    let bad = stranger.sign_hash_sync(&hash).unwrap().as_bytes();
    assert!(
        !send(exec_transaction_data(
            &tx,
            &pack_signatures(vec![(stranger.address(), bad)])
        ))
        .await
    );
    assert_eq!(
        olas::read(&net, safe, &ISafe::nonceCall {}).await.unwrap(),
        U256::ZERO
    );
    // The owner's: both top-ups in one transaction.
    let sig = owner.sign_hash_sync(&hash).unwrap().as_bytes();
    assert!(
        matches!(sig[64], 27 | 28),
        "v is 27 or 28 (ECDSA over the hash itself)"
    );
    assert!(
        send(exec_transaction_data(
            &tx,
            &pack_signatures(vec![(owner.address(), sig)])
        ))
        .await
    );
    assert_eq!(crate::support::balance(&net, a).await, amount(3));
    assert_eq!(crate::support::balance(&net, b).await, amount(4));
    assert_eq!(crate::support::balance(&net, safe).await, amount(43));
    assert_eq!(
        olas::read(&net, safe, &ISafe::nonceCall {}).await.unwrap(),
        U256::from(1)
    );
}

/// A fresh devnet (chain 100, automine) with the Olas stack deployed, in scratch folder `name`.
pub(crate) async fn olas_devnet(
    name: &str,
) -> (std::path::PathBuf, tend::devnet::Devnet, olas::OlasStack) {
    let dir = scratch(name);
    let net = devnet(&dir, 100, 0).await;
    let stack = olas::deploy(&net, &olas_wheel(), &safe_handler())
        .await
        .unwrap();
    (dir, net, stack)
}

/// Issue 17 item 2: the daemon's round reads the balances, the funding Safe's nonce and the Olas
/// facts (with the report's balances) in one `aggregate3`; the funding report is served from
/// it. Counted by a real proxy between tend and anvil.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::cast_precision_loss)] // per-round figures printed
async fn a_round_reads_the_olas_facts_in_its_one_balance_call() {
    let (dir, net, stack) = olas_devnet("olas-round").await;
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let (id, _) = stack.mint_and_stake(&net, who).await.unwrap();
    let (url, counts) = crate::support::counting_proxy(&net.url).await;
    let head = crate::support::config_head(&dir.join("home"));
    let listen = crate::support::listen_of(&head);
    let body = olas_toml(&url, &stack, id, &who, "");
    let config = dir.join("tend.toml");
    std::fs::write(&config, format!("{head}{body}")).unwrap();
    let tend = crate::support::Tend::start(&config, "tend.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let report_url = format!("http://{listen}/v1/services/olas/funding?snapshot=true");
    let first = crate::support::api_poll(&report_url, &token, 200).await;
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(
        v["snapshot"]["service"]["chains"]["gnosis"]["token"], id,
        "{v}"
    );
    // Two rounds: the second also reads the holders the facts named.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let before = counts.lock().unwrap().clone();
    let mut last = serde_json::Value::Null;
    for _ in 0..5 {
        let (status, body) = crate::support::api_get(&report_url, &token).await;
        assert_eq!(status, 200, "{body}");
        last = serde_json::from_str(&body).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    let after = counts.lock().unwrap().clone();
    let d = |m: &str| after.of(m) - before.of(m);
    let rounds = d("eth_feeHistory");
    assert!(rounds >= 3, "{rounds} rounds in 3 s: {}", tend.log());
    eprintln!(
        "per round ({rounds} rounds, 5 reports): {:.2} HTTP requests, eth_call {:.2}, eth_getBlockByNumber {:.2}, eth_getTransactionCount {:.2}, eth_feeHistory 1",
        (after.requests - before.requests) as f64 / rounds as f64,
        d("eth_call") as f64 / rounds as f64,
        d("eth_getBlockByNumber") as f64 / rounds as f64,
        d("eth_getTransactionCount") as f64 / rounds as f64,
    );
    // One balance-and-facts call per round; the five reports added none (a round may be cut
    // at either end of the window).
    assert!(
        d("eth_call") <= rounds + 1,
        "{} eth_call in {rounds} rounds with 5 reports: {:?} → {:?}",
        d("eth_call"),
        before.methods,
        after.methods
    );
    // The report's facts are a round's: pinned to a block the daemon read.
    let block = last["facts"]["block"].as_u64().unwrap();
    assert!(block > 0, "{last}");
    assert_eq!(
        last["snapshot"]["service"]["chains"]["gnosis"]["token"], id,
        "{last}"
    );
    drop(tend);
}

/// A `[[chains]]` table for chain 100 at `rpc` with the devnet's registries and an Olas service
/// `olas` with registry id `id` (its chain entry's extra TOML lines `extra`), staked in the
/// devnet's program, Master Safe `who.operator`.
fn olas_toml(
    rpc: &str,
    stack: &olas::OlasStack,
    id: u64,
    who: &ServiceAccounts,
    extra: &str,
) -> String {
    format!(
        "[[chains]]\nchain = 100\nrpc = [\"{rpc}\"]\nconfirmations = 1\npoll_ms = 500\n\
         olas = {{ service_registry = \"{}\", token_utility = \"{}\" }}\n\n\
         [[services]]\nname = \"olas\"\n\
         [services.olas.registry]\nchain = 100\nservice_id = {id}\nstaking = \"{}\"\n\
         [services.olas.wallet]\nmaster_eoa = \"{}\"\nmaster_safes = {{ gnosis = \"{}\" }}\n\
         [services.olas.service]\nservice_config_id = \"sc-1\"\nagent_addresses = []\n\
         [services.olas.service.chains.gnosis]\n{extra}\
         [services.olas.service.chains.gnosis.fund_requirements.\"0x0000000000000000000000000000000000000000\"]\n\
         agent = \"200000000000000000\"\nsafe = \"1000000000000000000\"\n",
        stack.service_registry, stack.token_utility, stack.staking, who.owner, who.operator
    )
}

/// Issue 18 item 4, first slice: `tend olas status` reads a staked service from the chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tend_olas_status_shows_a_staked_service_and_when_it_may_unstake() {
    let (dir, net, stack) = olas_devnet("olas-status").await;
    let who = ServiceAccounts::of_devnet(&net).await.unwrap();
    let (id, safe) = stack.mint_and_stake(&net, who).await.unwrap();
    let write = |id: u64, file: &str| {
        let path = dir.join(file);
        let text = format!(
            "{}{}",
            crate::support::config_head(&dir.join("home")),
            olas_toml(&net.url, &stack, id, &who, "")
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let config = write(id, "tend.toml");
    let ask = |config: &std::path::Path| {
        crate::support::tend_cmd(
            &[
                "olas",
                "status",
                "olas",
                "--json",
                "--config",
                config.to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = ask(&config);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lower = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_lowercase();
    assert_eq!(v["state"], "DEPLOYED", "{v}");
    assert_eq!(
        lower(&v["owner"]),
        stack.staking.to_string().to_lowercase(),
        "the program holds the NFT"
    );
    assert_eq!(
        lower(&v["safe"]["address"]),
        safe.to_string().to_lowercase()
    );
    assert_eq!(v["safe"]["threshold"], 1);
    assert_eq!(
        lower(&v["safe"]["owners"][0]),
        who.agent.to_string().to_lowercase(),
        "{v}"
    );
    let st = &v["staking"];
    assert_eq!(st["state"], "STAKED", "{v}");
    let staked_at = st["staked_at"].as_u64().unwrap();
    let duration = st["min_staking_duration_secs"].as_u64().unwrap();
    assert!(duration > 0, "{v}");
    assert_eq!(st["unlock_at"].as_u64(), Some(staked_at + duration + 1));
    assert_eq!(st["may_unstake"], false, "{v}");
    // Past the unlock time: it may unstake.
    stack.advance_time(&net, duration + 10).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&ask(&config).stdout).unwrap();
    assert_eq!(v["staking"]["may_unstake"], true, "{v}");
    // The text form names the same things.
    let out = crate::support::tend_cmd(
        &[
            "olas",
            "status",
            "olas",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("Safe {safe}: 1 of [")), "{text}");
    assert!(text.contains("may unstake: yes"), "{text}");
    // A service id the registry does not have, a service that is not in tend.toml.
    let missing = write(99, "missing.toml");
    let out = ask(&missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("service_id = 99 does not exist"));
    let out = crate::support::tend_cmd(
        &[
            "olas",
            "status",
            "nobody",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no service \"nobody\""));
    // With a daemon running, the command asks it (`GET /v1/services/olas/olas`): the same view.
    let tend = crate::support::Tend::start(&config, "tend.log");
    let token = crate::support::api_token(&dir.join("home")).await;
    let listen = crate::support::listen_of(&std::fs::read_to_string(&config).unwrap());
    let url = format!("http://{listen}/v1/services/olas/olas");
    let api: serde_json::Value =
        serde_json::from_str(&crate::support::api_poll(&url, &token, 200).await).unwrap();
    let out = ask(&config);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for v in [&api, &cli] {
        assert_eq!(v["state"], "DEPLOYED", "{v}");
        assert_eq!(v["staking"]["may_unstake"], true, "{v}");
        assert_eq!(
            lower(&v["safe"]["address"]),
            safe.to_string().to_lowercase()
        );
    }
    let out = crate::support::tend_cmd(
        &[
            "olas",
            "status",
            "nobody",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(tend);
}
