//! The Solidity interfaces of the Olas devnet stack ([`super::olas`]): the calls the deployment
//! and the tests make, for alloy's `sol!` encoder and decoder. The life-cycle calls (the
//! service manager's and the staker's) are the core's [`tend_core::lifecycle::calls`]; the views
//! the facts reader makes are [`crate::chain::olas_facts`]'s; neither is repeated here.

#![allow(missing_docs)] // the generated call structs mirror the contracts' own names

alloy::sol! {
    /// The OLAS stand-in (solmate ERC20 with an open `mint`).
    interface IOlasToken {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }

    /// ServiceRegistryL2 (the calls used here).
    interface IServiceRegistry {
        function changeManager(address newManager) external;
        function changeMultisigPermission(address multisig, bool permission) external;
        function approve(address spender, uint256 id) external;
        function totalSupply() external view returns (uint256);
    }

    /// ServiceRegistryTokenUtility (the calls used here).
    interface ITokenUtility {
        function changeManager(address newManager) external;
    }

    /// StakingToken's parameters (tuple order of `initialize`).
    struct StakingParams {
        bytes32 metadataHash;
        uint256 maxNumServices;
        uint256 rewardsPerSecond;
        uint256 minStakingDeposit;
        uint256 minNumStakingPeriods;
        uint256 maxNumInactivityPeriods;
        uint256 livenessPeriod;
        uint256 timeForEmissions;
        uint256 numAgentInstances;
        uint256[] agentIds;
        uint256 threshold;
        bytes32 configHash;
        bytes32 proxyHash;
        address serviceRegistry;
        address activityChecker;
    }

    /// StakingToken 0.2.0's set-up (its staker calls are the core's
    /// [`tend_core::lifecycle::calls::IStaking`]).
    interface IStakingSetup {
        function initialize(StakingParams _stakingParams, address _serviceRegistryTokenUtility, address _stakingToken) external;
        function deposit(uint256 amount) external;
    }

    /// The Safe proxy factory 1.3.0.
    interface IProxyFactory {
        /// The proxy runtime (its keccak is the staking program's proxyHash).
        function proxyRuntimeCode() external pure returns (bytes memory);
        function createProxyWithNonce(address _singleton, bytes initializer, uint256 saltNonce) external returns (address proxy);
    }

    /// Safe 1.3.0 (the calls used here).
    interface ISafe {
        function setup(address[] _owners, uint256 _threshold, address to, bytes data, address fallbackHandler, address paymentToken, uint256 payment, address paymentReceiver) external;
        function nonce() external view returns (uint256);
        function getOwners() external view returns (address[] memory);
        function getThreshold() external view returns (uint256);
        function getTransactionHash(address to, uint256 value, bytes data, uint8 operation, uint256 safeTxGas, uint256 baseGas, uint256 gasPrice, address gasToken, address refundReceiver, uint256 _nonce) external view returns (bytes32);
    }
}
