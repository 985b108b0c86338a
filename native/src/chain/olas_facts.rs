//! An Olas service's facts read from the registries (`shared/domain/olas-onchain.md` §4, §9):
//! `getService`, `getAgentInstances`, `getInstancesForAgentId`, `ownerOf`, the token utility's
//! deposit and agent bond, the operator's balances, and the staking program's state, parameters
//! and rewards, all in **one** Multicall3 `aggregate3`
//! `eth_call` pinned to one block (each read allowed to fail: a service that does not exist has
//! no owner, a program may not be known).

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;

use tend_core::lifecycle::{OnChainState, StakingState};

use crate::chain::rpc::{Endpoint, MULTICALL3};
pub use crate::config::OlasContracts;

alloy::sol! {
    /// Multicall3's `aggregate3`.
    struct FactCall {
        address target;
        bool allowFailure;
        bytes callData;
    }
    /// One answer of `aggregate3`.
    struct FactResult {
        bool success;
        bytes returnData;
    }
    function aggregate3(FactCall[] calls) external payable returns (FactResult[] returnData);

    /// A service as `getService` returns it.
    #[derive(Debug, PartialEq, Eq)]
    struct RegistryService {
        uint96 securityDeposit;
        address multisig;
        bytes32 configHash;
        uint32 threshold;
        uint32 maxNumAgentInstances;
        uint32 numAgentInstances;
        uint8 state;
        uint32[] agentIds;
    }
    function getService(uint256 serviceId) external view returns (RegistryService service);
    function getAgentInstances(uint256 serviceId) external view returns (uint256 numAgentInstances, address[] agentInstances);
    function ownerOf(uint256 id) external view returns (address owner);
    function mapServiceIdTokenDeposit(uint256 serviceId) external view returns (address token, uint96 securityDeposit);
    function getAgentBond(uint256 serviceId, uint256 agentId) external view returns (uint256 bond);
    function getStakingState(uint256 serviceId) external view returns (uint8 stakingState);
    function minStakingDeposit() external view returns (uint256);
    function stakingToken() external view returns (address);
    function availableRewards() external view returns (uint256);
    function calculateStakingReward(uint256 serviceId) external view returns (uint256 reward);
    function minStakingDuration() external view returns (uint256);
    /// A staked service as the program records it (returned as one struct).
    struct StakedServiceInfo {
        address multisig;
        address owner;
        uint256[] nonces;
        uint256 tsStart;
        uint256 reward;
        uint256 inactivity;
    }
    function getOperatorBalance(address operator, uint256 serviceId) external view returns (uint256 balance);
    function getInstancesForAgentId(uint256 serviceId, uint256 agentId) external view returns (uint256 numAgentInstances, address[] agentInstances);
    function getServiceInfo(uint256 serviceId) external view returns (StakedServiceInfo sInfo);
    function manager() external view returns (address);
    function maxNumServices() external view returns (uint256);
    function getServiceIds() external view returns (uint256[]);
}

/// What to read about one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactsQuery {
    /// The service id (its NFT's token id).
    pub service_id: u64,
    /// The agent id whose bond is the cost of bond (the service's `agent_id`).
    pub agent_id: u32,
    /// The staking program, when one is known (the configured one, or the NFT's owner).
    pub staking: Option<Address>,
    /// The operator whose bonds count (the Master Safe), when known.
    pub operator: Option<Address>,
}

/// The staking program's view of the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StakingFacts {
    /// The program.
    pub program: Address,
    /// Staked, evicted or not.
    pub state: StakingState,
    /// The program's minimum deposit and per-agent bond.
    pub min_staking_deposit: U256,
    /// The token staked.
    pub staking_token: Address,
    /// Rewards left in the program.
    pub available_rewards: U256,
    /// What a claim would pay now (stored plus pending).
    pub reward: U256,
    /// When the service was staked (0 when not), seconds.
    pub ts_start: U256,
    /// How long a service stays staked before it may unstake while rewards remain, seconds.
    pub min_staking_duration: U256,
    /// The program's slots (`maxNumServices`).
    pub max_services: U256,
    /// Services staked now (`getServiceIds().length`).
    pub staked_services: u64,
}

impl StakingFacts {
    /// When the service may unstake while the program has rewards (`now − tsStart >
    /// minStakingDuration`: the first second after `tsStart + minStakingDuration`); `None`
    /// when not staked.
    pub fn unlock_at(&self) -> Option<U256> {
        (!self.ts_start.is_zero()).then(|| {
            self.ts_start
                .saturating_add(self.min_staking_duration)
                .saturating_add(U256::from(1))
        })
    }
}

/// A service's facts at one block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceFacts {
    /// The block they were read at.
    pub block: u64,
    /// The registry state.
    pub state: OnChainState,
    /// The service Safe (zero before deployment).
    pub multisig: Address,
    /// The agent ids.
    pub agent_ids: Vec<u32>,
    /// Agent slots.
    pub max_agent_instances: u32,
    /// Filled slots (`getService().numAgentInstances`; kept through terminate until unbond).
    pub num_agent_instances: u32,
    /// Registered agent instances now.
    pub agent_instances: Vec<Address>,
    /// The NFT's holder (the staking program while staked); `None` when not minted.
    pub owner: Option<Address>,
    /// The security deposit's token and amount (the token utility's record; the registry's own
    /// deposit reads 1 wei for a token-secured service).
    pub deposit_token: Address,
    /// The security deposit.
    pub deposit: U256,
    /// The bond of the queried agent id.
    pub agent_bond: U256,
    /// The registry's own security deposit (1 wei for a token-secured service).
    pub registry_deposit: U256,
    /// Instances registered for the queried agent id.
    pub instances_of_agent: u64,
    /// The operator's balances (registry native, token utility token), when an operator was
    /// queried.
    pub operator_balance: Option<(U256, U256)>,
    /// The staking program's facts, when one was queried and answered.
    pub staking: Option<StakingFacts>,
    /// The registry's service manager (`manager()`), the contract the owner and operator call.
    pub manager: Option<Address>,
}

/// Why the facts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactsError {
    /// The call failed.
    #[error("reading the Olas registries failed: {0}")]
    Rpc(String),
    /// An answer does not decode (a contract at the address is not the expected one).
    #[error(
        "{what} at {address} answered something else than the Olas contract does: is the address right?"
    )]
    Unexpected {
        /// The read.
        what: &'static str,
        /// The contract asked.
        address: Address,
    },
}

fn read<C: SolCall>(
    results: &[FactResult],
    i: usize,
    address: Address,
) -> Result<Option<C::Return>, FactsError> {
    let Some(r) = results.get(i) else {
        return Err(FactsError::Unexpected {
            what: C::SIGNATURE,
            address,
        });
    };
    if !r.success {
        return Ok(None);
    }
    C::abi_decode_returns(&r.returnData)
        .map(Some)
        .map_err(|_| FactsError::Unexpected {
            what: C::SIGNATURE,
            address,
        })
}

/// Reads a service's facts at `block` in one `aggregate3` call.
pub async fn read_service_facts(
    ep: &Endpoint,
    contracts: &OlasContracts,
    q: &FactsQuery,
    block: u64,
) -> Result<ServiceFacts, FactsError> {
    let data = aggregate3Call {
        calls: facts_calls(contracts, q),
    }
    .abi_encode();
    let tx = serde_json::json!({ "to": MULTICALL3, "data": Bytes::from(data) });
    let out: Bytes = ep
        .request("eth_call", (tx, format!("{block:#x}")))
        .await
        .map_err(|e| FactsError::Rpc(e.to_string()))?;
    decode_facts(contracts, q, block, &out)
}

/// The `aggregate3` sub-calls that read the facts of `q` (each allowed to fail), in the order
/// [`decode_fact_results`] reads them.
pub fn facts_calls(contracts: &OlasContracts, q: &FactsQuery) -> Vec<FactCall> {
    let id = U256::from(q.service_id);
    let reg = contracts.service_registry;
    let util = contracts.token_utility;
    let call = |target: Address, data: Vec<u8>| FactCall {
        target,
        allowFailure: true,
        callData: data.into(),
    };
    let mut calls = vec![
        call(reg, getServiceCall { serviceId: id }.abi_encode()),
        call(reg, getAgentInstancesCall { serviceId: id }.abi_encode()),
        call(reg, ownerOfCall { id }.abi_encode()),
        call(
            util,
            mapServiceIdTokenDepositCall { serviceId: id }.abi_encode(),
        ),
        call(
            util,
            getAgentBondCall {
                serviceId: id,
                agentId: U256::from(q.agent_id),
            }
            .abi_encode(),
        ),
    ];
    calls.push(call(
        reg,
        getInstancesForAgentIdCall {
            serviceId: id,
            agentId: U256::from(q.agent_id),
        }
        .abi_encode(),
    ));
    calls.push(call(reg, managerCall {}.abi_encode()));
    if let Some(op) = q.operator {
        calls.push(call(
            reg,
            getOperatorBalanceCall {
                operator: op,
                serviceId: id,
            }
            .abi_encode(),
        ));
        calls.push(call(
            util,
            getOperatorBalanceCall {
                operator: op,
                serviceId: id,
            }
            .abi_encode(),
        ));
    }
    if let Some(p) = q.staking {
        calls.extend([
            call(p, getStakingStateCall { serviceId: id }.abi_encode()),
            call(p, minStakingDepositCall {}.abi_encode()),
            call(p, stakingTokenCall {}.abi_encode()),
            call(p, availableRewardsCall {}.abi_encode()),
            call(p, calculateStakingRewardCall { serviceId: id }.abi_encode()),
            call(p, getServiceInfoCall { serviceId: id }.abi_encode()),
            call(p, minStakingDurationCall {}.abi_encode()),
            call(p, maxNumServicesCall {}.abi_encode()),
            call(p, getServiceIdsCall {}.abi_encode()),
        ]);
    }
    calls
}

/// The facts in an `aggregate3` answer to the reads [`read_service_facts`] makes for `q`.
pub fn decode_facts(
    contracts: &OlasContracts,
    q: &FactsQuery,
    block: u64,
    out: &[u8],
) -> Result<ServiceFacts, FactsError> {
    let results = aggregate3Call::abi_decode_returns(out).map_err(|_| FactsError::Unexpected {
        what: "aggregate3",
        address: MULTICALL3,
    })?;
    decode_fact_results(contracts, q, block, &results)
}

/// The facts in the results of [`facts_calls`] (a slice of a larger `aggregate3` answer).
pub fn decode_fact_results(
    contracts: &OlasContracts,
    q: &FactsQuery,
    block: u64,
    results: &[FactResult],
) -> Result<ServiceFacts, FactsError> {
    let reg = contracts.service_registry;
    let util = contracts.token_utility;
    let base = 7 + if q.operator.is_some() { 2 } else { 0 };
    let n = base + if q.staking.is_some() { 9 } else { 0 };
    if results.len() != n {
        return Err(FactsError::Unexpected {
            what: "aggregate3",
            address: MULTICALL3,
        });
    }
    let unexpected = |what, address| FactsError::Unexpected { what, address };
    let service = read::<getServiceCall>(results, 0, reg)?
        .ok_or_else(|| unexpected(getServiceCall::SIGNATURE, reg))?;
    let state = OnChainState::from_value(u64::from(service.state))
        .map_err(|_| unexpected(getServiceCall::SIGNATURE, reg))?;
    let instances = read::<getAgentInstancesCall>(results, 1, reg)?
        .ok_or_else(|| unexpected(getAgentInstancesCall::SIGNATURE, reg))?;
    let owner = read::<ownerOfCall>(results, 2, reg)?;
    let deposit = read::<mapServiceIdTokenDepositCall>(results, 3, util)?
        .ok_or_else(|| unexpected(mapServiceIdTokenDepositCall::SIGNATURE, util))?;
    let bond = read::<getAgentBondCall>(results, 4, util)?.unwrap_or_default();
    let of_agent = read::<getInstancesForAgentIdCall>(results, 5, reg)?.map_or(0, |r| {
        u64::try_from(r.numAgentInstances).unwrap_or(u64::MAX)
    });
    let manager = read::<managerCall>(results, 6, reg)?;
    let operator_balance = match q.operator {
        None => None,
        Some(_) => Some((
            read::<getOperatorBalanceCall>(results, 7, reg)?.unwrap_or_default(),
            read::<getOperatorBalanceCall>(results, 8, util)?.unwrap_or_default(),
        )),
    };
    let staking = match q.staking {
        None => None,
        Some(p) => {
            let st = read::<getStakingStateCall>(results, base, p)?;
            let min = read::<minStakingDepositCall>(results, base + 1, p)?;
            let token = read::<stakingTokenCall>(results, base + 2, p)?;
            let rewards = read::<availableRewardsCall>(results, base + 3, p)?;
            let reward = read::<calculateStakingRewardCall>(results, base + 4, p)?;
            let info = read::<getServiceInfoCall>(results, base + 5, p)?;
            let duration = read::<minStakingDurationCall>(results, base + 6, p)?;
            let slots = read::<maxNumServicesCall>(results, base + 7, p)?;
            let ids = read::<getServiceIdsCall>(results, base + 8, p)?;
            match (st, min, token, rewards) {
                (Some(state), Some(min), Some(token), Some(rewards)) => Some(StakingFacts {
                    program: p,
                    state: StakingState::from_value(u64::from(state))
                        .map_err(|_| unexpected(getStakingStateCall::SIGNATURE, p))?,
                    min_staking_deposit: min,
                    staking_token: token,
                    available_rewards: rewards,
                    reward: reward.unwrap_or_default(),
                    ts_start: info.map(|i| i.tsStart).unwrap_or_default(),
                    min_staking_duration: duration.unwrap_or_default(),
                    max_services: slots.unwrap_or_default(),
                    staked_services: ids.map_or(0, |v| v.len() as u64),
                }),
                _ => return Err(unexpected("a StakingToken program", p)),
            }
        }
    };
    Ok(ServiceFacts {
        block,
        state,
        multisig: service.multisig,
        agent_ids: service.agentIds,
        max_agent_instances: service.maxNumAgentInstances,
        num_agent_instances: service.numAgentInstances,
        agent_instances: instances.agentInstances,
        owner,
        deposit_token: deposit.token,
        deposit: U256::from(deposit.securityDeposit),
        agent_bond: bond,
        registry_deposit: U256::from(service.securityDeposit),
        instances_of_agent: of_agent,
        operator_balance,
        staking,
        manager,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// No answer makes the decoder panic: an error or facts, whatever the bytes.
        #[test]
        fn no_answer_panics_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), staking in proptest::prelude::any::<bool>()) {
            let c = OlasContracts { service_registry: Address::repeat_byte(1), token_utility: Address::repeat_byte(2) };
            let q = FactsQuery { service_id: 1, agent_id: 1, staking: staking.then(|| Address::repeat_byte(3)), operator: staking.then(|| Address::repeat_byte(4)) };
            let _ = decode_facts(&c, &q, 0, &bytes);
        }
    }

    #[test]
    fn a_short_answer_is_an_error() {
        let c = OlasContracts {
            service_registry: Address::repeat_byte(1),
            token_utility: Address::repeat_byte(2),
        };
        let q = FactsQuery {
            service_id: 1,
            agent_id: 1,
            staking: None,
            operator: None,
        };
        let one = aggregate3Call::abi_encode_returns(&vec![FactResult {
            success: true,
            returnData: Bytes::new(),
        }]);
        assert!(matches!(
            decode_facts(&c, &q, 0, &one),
            Err(FactsError::Unexpected {
                what: "aggregate3",
                ..
            })
        ));
    }
}
