//! The real Olas contracts (the `open-autonomy` wheel's builds, and DevnetSafeMultisig) on a
//! real anvil: deployed in the facts' order, a service minted and staked through them.

use alloy::primitives::{U256, keccak256};
use tend::devnet::olas::{self, IServiceRegistry, IStaking, ITokenUtility, ServiceAccounts};

use crate::support::{devnet, olas_wheel, scratch};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_olas_stack_deploys_and_a_service_is_minted_deployed_and_staked() {
    let dir = scratch("olas-stack");
    let net = devnet(&dir, 100, 0).await;
    let stack = olas::deploy(&net, &olas_wheel()).await.unwrap();
    let rewards = olas::read(&net, stack.staking, &IStaking::availableRewardsCall {})
        .await
        .unwrap();
    assert_eq!(rewards, U256::from(olas::program::REWARDS));

    let who = ServiceAccounts {
        owner: olas::account(&net, 8).await.unwrap(),
        operator: olas::account(&net, 7).await.unwrap(),
        agent: olas::account(&net, 6).await.unwrap(),
    };
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
        &IServiceRegistry::ownerOfCall { id: U256::from(id) },
    )
    .await
    .unwrap();
    assert_eq!(owner, stack.staking, "the staking program holds the NFT");
    let deposit = olas::read(
        &net,
        stack.token_utility,
        &ITokenUtility::mapServiceIdTokenDepositCall {
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
    use tend::chain::olas_facts::{FactsQuery, OlasContracts, ServiceState, read_service_facts};
    let dir = scratch("olas-facts");
    let net = devnet(&dir, 100, 0).await;
    let stack = olas::deploy(&net, &olas_wheel()).await.unwrap();
    let ep = net.endpoint().unwrap();
    let contracts = OlasContracts {
        service_registry: stack.service_registry,
        token_utility: stack.token_utility,
    };
    let who = ServiceAccounts {
        owner: olas::account(&net, 8).await.unwrap(),
        operator: olas::account(&net, 7).await.unwrap(),
        agent: olas::account(&net, 6).await.unwrap(),
    };
    let q = FactsQuery {
        service_id: 1,
        agent_id: olas::program::AGENT_ID,
        staking: Some(stack.staking),
    };
    let facts = || async {
        let block: alloy::primitives::U64 = ep.request("eth_blockNumber", ()).await.unwrap();
        let f = read_service_facts(&ep, &contracts, &q, block.to::<u64>())
            .await
            .unwrap();
        // Against the registry's own reads.
        let s = stack.service(&net, 1).await.unwrap();
        assert_eq!(f.state as u8, s.state, "{f:?}");
        assert_eq!(f.multisig, s.multisig);
        assert_eq!(f.agent_ids, s.agentIds);
        assert_eq!(
            f.staking.as_ref().map(|st| st.state),
            Some(stack.staking_state(&net, 1).await.unwrap())
        );
        f
    };
    let bond = U256::from(olas::program::MIN_STAKING_DEPOSIT);

    let f = facts().await;
    assert_eq!((f.state, f.owner), (ServiceState::NonExistent, None));
    let id = stack.mint_service(&net, who).await.unwrap();
    assert_eq!(id, 1);
    let f = facts().await;
    assert_eq!(f.state, ServiceState::PreRegistration);
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
    assert_eq!(facts().await.state, ServiceState::ActiveRegistration);
    stack.register(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.state, ServiceState::FinishedRegistration);
    assert_eq!(f.agent_instances, vec![who.agent]);
    let safe = stack.deploy_safe(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!((f.state, f.multisig), (ServiceState::Deployed, safe));
    assert_eq!(f.staking.unwrap().state, 0, "not staked yet");

    stack.stake(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.owner, Some(stack.staking), "the program holds the NFT");
    let st = f.staking.unwrap();
    assert_eq!(st.state, 1);
    assert!(st.ts_start > U256::ZERO);

    // No Safe activity for a liveness period: the checkpoint evicts it.
    stack
        .advance_time(&net, olas::program::LIVENESS_PERIOD + 1)
        .await
        .unwrap();
    stack.checkpoint(&net).await.unwrap();
    assert_eq!(facts().await.staking.unwrap().state, 2, "evicted");

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
    assert_eq!(f.staking.unwrap().state, 0);

    stack.terminate(&net, who, id).await.unwrap();
    let f = facts().await;
    assert_eq!(f.state, ServiceState::TerminatedBonded);
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
    let dir = scratch("olas-facts-bad");
    let net = devnet(&dir, 100, 0).await;
    let stack = olas::deploy(&net, &olas_wheel()).await.unwrap();
    let ep = net.endpoint().unwrap();
    let eoa = olas::account(&net, 5).await.unwrap();
    let q = FactsQuery {
        service_id: 1,
        agent_id: 1,
        staking: None,
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
