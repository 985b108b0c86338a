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
