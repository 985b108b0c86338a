//! The contract calls of each on-chain step of a [`super::plan::TransitionPlan`]: what the owner
//! (or operator) sends, with the `msg.value` quirks and approvals of the Olas contracts
//! (`shared/domain/olas-onchain.md` §5): a token-secured service pays 1 wei with
//! `activateRegistration` and 1 wei per instance with `registerAgents`, the approvals go to the
//! token utility, the NFT is approved to the staking program before `stake`.
//!
//! The adapter sends the calls of one step as one transaction each from an EOA, or as one Safe
//! transaction (a MultiSend batch for two or more) from a Safe.

use alloy_primitives::{Address, B256, U256, address};
use alloy_sol_types::{SolCall, SolValue, sol};
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use super::plan::Step;
use super::transitions::RegistryAction;
use crate::ser;

sol! {
    /// ERC-20 `approve`.
    function approve(address spender, uint256 amount) external returns (bool);
    /// The owner's and operator's calls on ServiceManager(Token).
    interface IServiceManager {
        /// One agent id's slots and bond.
        struct AgentParams { uint32 slots; uint96 bond; }
        /// §5 step 1.
        function create(address serviceOwner, address token, bytes32 configHash, uint32[] agentIds, AgentParams[] agentParams, uint32 threshold) external returns (uint256 serviceId);
        /// §5 step 2.
        function activateRegistration(uint256 serviceId) external payable returns (bool success);
        /// §5 step 3.
        function registerAgents(uint256 serviceId, address[] agentInstances, uint32[] agentIds) external payable returns (bool success);
        /// §5 step 4.
        function deploy(uint256 serviceId, address multisigImplementation, bytes data) external returns (address multisig);
        /// §5 step 13.
        function terminate(uint256 serviceId) external returns (bool success, uint256 refund);
        /// §5 step 14.
        function unbond(uint256 serviceId) external returns (bool success, uint256 refund);
    }
    /// A staking program's calls (StakingToken).
    interface IStaking {
        /// §5 step 5 (after the NFT approval).
        function stake(uint256 serviceId) external;
        /// §5 step 12.
        function unstake(uint256 serviceId) external returns (uint256 reward);
        /// §5 step 9.
        function claim(uint256 serviceId) external returns (uint256 reward);
        /// §5 step 8.
        function checkpoint() external returns (uint256[], uint256[], uint256[], uint256[]);
    }
    /// The RecoveryModule's owner call (§5 step 15).
    function recoverAccess(uint256 serviceId) external;
}

/// The token address a native-secured service names (§5.1).
pub const NATIVE_TOKEN: Address = address!("EeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE");

/// Gas limits per call: the devnet's measured gas (§5, §10) with a third more; about twice for
/// terminate and unbond, whose storage refunds make the gas used read below what they need.
mod gas {
    pub(super) const CREATE: u64 = 410_000;
    pub(super) const APPROVE: u64 = 62_000;
    pub(super) const ACTIVATE: u64 = 126_000;
    pub(super) const REGISTER_BASE: u64 = 130_000;
    pub(super) const REGISTER_PER_INSTANCE: u64 = 200_000;
    pub(super) const DEPLOY_NEW: u64 = 450_000;
    pub(super) const DEPLOY_REUSE: u64 = 200_000;
    pub(super) const NFT_APPROVE: u64 = 65_000;
    pub(super) const STAKE: u64 = 360_000;
    pub(super) const UNSTAKE: u64 = 260_000;
    pub(super) const CLAIM: u64 = 105_000;
    pub(super) const TERMINATE: u64 = 200_000;
    pub(super) const UNBOND: u64 = 180_000;
    pub(super) const RECOVER_ACCESS: u64 = 132_000;
    pub(super) const CHECKPOINT_BASE: u64 = 200_000;
    pub(super) const CHECKPOINT_PER_SERVICE: u64 = 60_000;
}

/// The Olas contracts a service's life cycle writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct LifecycleContracts {
    /// `ServiceRegistry(L2)`: the NFT (approved to a staking program before `stake`).
    pub service_registry: Address,
    /// `ServiceRegistryTokenUtility`: where the deposit and bond approvals go.
    pub token_utility: Address,
    /// `ServiceManager(Token)`: create, activate, register, deploy, terminate, unbond.
    pub service_manager: Address,
    /// The multisig implementation a new service Safe is made by (SafeMultisigWithRecoveryModule
    /// on live chains; DevnetSafeMultisig on a devnet).
    pub multisig_implementation: Address,
    /// The RecoveryModule: reuse of a service's Safe (`recoverAccess`, `deploy` through it).
    pub recovery_module: Address,
    /// The fallback handler of a new service Safe.
    pub fallback_handler: Address,
}

/// What a service is on chain, as tend mints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct ServiceDefinition {
    /// The bond token (OLAS), or [`NATIVE_TOKEN`].
    pub token: Address,
    /// The service's config hash (non-zero).
    pub config_hash: B256,
    /// The agent id (one agent id per service here, as the middleware mints).
    pub agent_id: u32,
    /// The agent instances (their EOAs), in order.
    pub instances: Vec<Address>,
    /// The service Safe's threshold.
    pub threshold: u32,
    /// The bond per agent instance, and the security deposit (token units, or wei).
    #[serde(with = "ser::dec")]
    pub bond: U256,
}

/// Who sends a step's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The service owner (the NFT holder, or the staker while staked).
    Owner,
    /// The operator (bonds the agent instances).
    Operator,
}

/// One contract call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Call {
    /// The contract.
    pub to: Address,
    /// `msg.value`, wei.
    #[serde(with = "ser::dec")]
    pub value: U256,
    /// The calldata.
    #[serde(with = "ser::hex_bytes")]
    pub data: Vec<u8>,
    /// Its gas limit alone (an EOA's transaction) or its share of a Safe transaction's.
    pub gas: u64,
}

/// The calls of one step and who sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct StepCalls {
    /// Who sends them.
    pub role: Role,
    /// In order (an approval before the call that spends it).
    pub calls: Vec<Call>,
}

/// What a step's calls need to know besides the service's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext<'a> {
    /// The contracts.
    pub contracts: &'a LifecycleContracts,
    /// The service as it is minted.
    pub service: &'a ServiceDefinition,
    /// The owner (the NFT's recipient at `create`).
    pub owner: Address,
    /// The service id (`None` before the mint).
    pub service_id: Option<u64>,
    /// The program the service is staked in (for unstake and claim).
    pub staked_in: Option<Address>,
    /// The registry records a multisig for the service: deploy reuses it through the
    /// RecoveryModule.
    pub reuse_multisig: bool,
    /// The salt of a new service Safe (chain time, as the middleware does).
    pub salt: u64,
}

/// Why a step has no calls.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallsError {
    /// The step needs the service id, and there is none yet.
    #[error("{step} needs the service id: mint the service first")]
    NoServiceId {
        /// The step.
        step: &'static str,
    },
    /// Unstake or claim while the service is in no program.
    #[error("{step} needs the program the service is staked in; it is in none")]
    NotStaked {
        /// The step.
        step: &'static str,
    },
    /// A service definition the registry would refuse.
    #[error("the service definition is invalid: {reason}")]
    Definition {
        /// Why.
        reason: String,
    },
    /// A step tend does not send yet.
    #[error("{step} is not something tend sends yet: {what}")]
    Unsupported {
        /// The step.
        step: &'static str,
        /// What to do instead.
        what: &'static str,
    },
}

/// The name of a step, as events and errors show it.
pub const fn step_name(step: &Step) -> &'static str {
    match step {
        Step::StopAgent => "stop_agent",
        Step::ClaimRewards => "claim",
        Step::Unstake => "unstake",
        Step::Registry { action } => match action {
            RegistryAction::Mint => "create",
            RegistryAction::UpdateMint => "update",
            RegistryAction::ActivateRegistration => "activate_registration",
            RegistryAction::RegisterAgents => "register_agents",
            RegistryAction::Deploy => "deploy",
            RegistryAction::Terminate => "terminate",
            RegistryAction::Unbond => "unbond",
        },
        Step::RecoverAccess => "recover_access",
        Step::Stake { .. } => "stake",
        Step::Withdraw => "withdraw",
        Step::Build => "build",
        Step::StartAgent => "start_agent",
    }
}

impl ServiceDefinition {
    /// The registry's checks on `create` (§5.1) that tend can make before sending.
    pub fn check(&self) -> Result<(), CallsError> {
        let bad = |reason: String| Err(CallsError::Definition { reason });
        let n = u32::try_from(self.instances.len()).unwrap_or(u32::MAX);
        if self.config_hash == B256::ZERO {
            return bad("the config hash is zero".into());
        }
        if n == 0 {
            return bad("no agent instances".into());
        }
        if self.bond.is_zero() {
            return bad("the bond is zero".into());
        }
        if self.bond > U256::from(u128::MAX >> 32) {
            return bad(format!("the bond {} does not fit a uint96", self.bond));
        }
        // ceil((2n + 1) / 3) ≤ threshold ≤ n.
        let min = (2 * u64::from(n) + 1).div_ceil(3);
        if u64::from(self.threshold) < min || self.threshold > n {
            return bad(format!(
                "threshold {} is outside {min}..={n} for {n} agent instance(s)",
                self.threshold
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = self.instances.iter().find(|a| !seen.insert(**a)) {
            return bad(format!("agent instance {dup} is listed twice"));
        }
        Ok(())
    }

    fn token_secured(&self) -> bool {
        self.token != NATIVE_TOKEN
    }

    fn instances(&self) -> u32 {
        u32::try_from(self.instances.len()).unwrap_or(u32::MAX)
    }
}

fn call(to: Address, value: U256, data: Vec<u8>, gas: u64) -> Call {
    Call {
        to,
        value,
        data,
        gas,
    }
}

fn id_of(ctx: &StepContext<'_>, step: &'static str) -> Result<U256, CallsError> {
    ctx.service_id
        .map(U256::from)
        .ok_or(CallsError::NoServiceId { step })
}

/// The calls of `step`, or `None` for a step that is not a transaction (agent stop, build,
/// start).
pub fn step_calls(step: &Step, ctx: &StepContext<'_>) -> Result<Option<StepCalls>, CallsError> {
    let name = step_name(step);
    let c = ctx.contracts;
    let owner = |calls| {
        Ok(Some(StepCalls {
            role: Role::Owner,
            calls,
        }))
    };
    match step {
        Step::StopAgent | Step::Build | Step::StartAgent => Ok(None),
        Step::Withdraw => Err(CallsError::Unsupported {
            step: name,
            what: "move what the service Safe and agent wallets hold with their own keys",
        }),
        Step::Registry { action } => registry_calls(*action, ctx).map(Some),
        Step::RecoverAccess => {
            let data = recoverAccessCall {
                serviceId: id_of(ctx, name)?,
            }
            .abi_encode();
            owner(vec![call(
                c.recovery_module,
                U256::ZERO,
                data,
                gas::RECOVER_ACCESS,
            )])
        }
        Step::Stake { program } => {
            let id = id_of(ctx, name)?;
            owner(vec![
                call(
                    c.service_registry,
                    U256::ZERO,
                    approve_data(*program, id),
                    gas::NFT_APPROVE,
                ),
                call(
                    *program,
                    U256::ZERO,
                    IStaking::stakeCall { serviceId: id }.abi_encode(),
                    gas::STAKE,
                ),
            ])
        }
        Step::Unstake => {
            let id = id_of(ctx, name)?;
            let program = ctx.staked_in.ok_or(CallsError::NotStaked { step: name })?;
            let data = IStaking::unstakeCall { serviceId: id }.abi_encode();
            owner(vec![call(program, U256::ZERO, data, gas::UNSTAKE)])
        }
        Step::ClaimRewards => {
            let id = id_of(ctx, name)?;
            let program = ctx.staked_in.ok_or(CallsError::NotStaked { step: name })?;
            let data = IStaking::claimCall { serviceId: id }.abi_encode();
            owner(vec![call(program, U256::ZERO, data, gas::CLAIM)])
        }
    }
}

/// The calls of a registry action.
fn registry_calls(action: RegistryAction, ctx: &StepContext<'_>) -> Result<StepCalls, CallsError> {
    let name = step_name(&Step::Registry { action });
    let c = ctx.contracts;
    let s = ctx.service;
    let owner = |calls| {
        Ok(StepCalls {
            role: Role::Owner,
            calls,
        })
    };
    let operator = |calls| {
        Ok(StepCalls {
            role: Role::Operator,
            calls,
        })
    };
    match action {
        RegistryAction::UpdateMint => Err(CallsError::Unsupported {
            step: name,
            what: "the service's on-chain definition differs from tend.toml: change tend.toml to \
                   match, or terminate the service and mint a new one",
        }),
        RegistryAction::Mint => owner(vec![create_call(ctx)?]),
        RegistryAction::ActivateRegistration => {
            let id = id_of(ctx, name)?;
            let data = IServiceManager::activateRegistrationCall { serviceId: id }.abi_encode();
            if s.token_secured() {
                owner(vec![
                    call(
                        s.token,
                        U256::ZERO,
                        approve_data(c.token_utility, s.bond),
                        gas::APPROVE,
                    ),
                    call(c.service_manager, U256::from(1), data, gas::ACTIVATE),
                ])
            } else {
                owner(vec![call(c.service_manager, s.bond, data, gas::ACTIVATE)])
            }
        }
        RegistryAction::RegisterAgents => {
            let id = id_of(ctx, name)?;
            let n = s.instances();
            let total = s.bond.saturating_mul(U256::from(n));
            let data = IServiceManager::registerAgentsCall {
                serviceId: id,
                agentInstances: s.instances.clone(),
                agentIds: vec![s.agent_id; s.instances.len()],
            }
            .abi_encode();
            let gas = gas::REGISTER_BASE + gas::REGISTER_PER_INSTANCE * u64::from(n);
            if s.token_secured() {
                operator(vec![
                    call(
                        s.token,
                        U256::ZERO,
                        approve_data(c.token_utility, total),
                        gas::APPROVE,
                    ),
                    call(c.service_manager, U256::from(n), data, gas),
                ])
            } else {
                operator(vec![call(c.service_manager, total, data, gas)])
            }
        }
        RegistryAction::Deploy => owner(vec![deploy_call(ctx, id_of(ctx, name)?)]),
        RegistryAction::Terminate => {
            let data = IServiceManager::terminateCall {
                serviceId: id_of(ctx, name)?,
            }
            .abi_encode();
            owner(vec![call(
                c.service_manager,
                U256::ZERO,
                data,
                gas::TERMINATE,
            )])
        }
        RegistryAction::Unbond => {
            let data = IServiceManager::unbondCall {
                serviceId: id_of(ctx, name)?,
            }
            .abi_encode();
            operator(vec![call(c.service_manager, U256::ZERO, data, gas::UNBOND)])
        }
    }
}

/// `create` of the service as tend.toml defines it, after the registry's checks.
fn create_call(ctx: &StepContext<'_>) -> Result<Call, CallsError> {
    let s = ctx.service;
    s.check()?;
    let bond = alloy_primitives::Uint::<96, 2>::saturating_from(s.bond);
    let data = IServiceManager::createCall {
        serviceOwner: ctx.owner,
        token: s.token,
        configHash: s.config_hash,
        agentIds: vec![s.agent_id],
        agentParams: vec![IServiceManager::AgentParams {
            slots: s.instances(),
            bond,
        }],
        threshold: s.threshold,
    }
    .abi_encode();
    Ok(call(
        ctx.contracts.service_manager,
        U256::ZERO,
        data,
        gas::CREATE,
    ))
}

/// `deploy`: a new Safe (`abi.encode(fallbackHandler, saltNonce)` for the multisig
/// implementation) or the recorded one again (`abi.encode(serviceId)` for the RecoveryModule).
fn deploy_call(ctx: &StepContext<'_>, id: U256) -> Call {
    let c = ctx.contracts;
    let (implementation, payload, gas) = if ctx.reuse_multisig {
        (c.recovery_module, id.abi_encode(), gas::DEPLOY_REUSE)
    } else {
        (
            c.multisig_implementation,
            (c.fallback_handler, U256::from(ctx.salt)).abi_encode_params(),
            gas::DEPLOY_NEW,
        )
    };
    let data = IServiceManager::deployCall {
        serviceId: id,
        multisigImplementation: implementation,
        data: payload.into(),
    }
    .abi_encode();
    call(c.service_manager, U256::ZERO, data, gas)
}

/// `approve(spender, amount)`: the same selector for an ERC-20 amount and an ERC-721 token id.
fn approve_data(spender: Address, amount: U256) -> Vec<u8> {
    approveCall { spender, amount }.abi_encode()
}

/// Anyone's `checkpoint()` on `program` with `services` staked in it.
pub fn checkpoint_call(program: Address, services: u64) -> Call {
    let gas = gas::CHECKPOINT_BASE + gas::CHECKPOINT_PER_SERVICE * services.min(1_000);
    call(
        program,
        U256::ZERO,
        IStaking::checkpointCall {}.abi_encode(),
        gas,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::transitions::RegistryAction as A;

    fn contracts() -> LifecycleContracts {
        LifecycleContracts {
            service_registry: Address::repeat_byte(1),
            token_utility: Address::repeat_byte(2),
            service_manager: Address::repeat_byte(3),
            multisig_implementation: Address::repeat_byte(4),
            recovery_module: Address::repeat_byte(5),
            fallback_handler: Address::repeat_byte(6),
        }
    }

    fn service(token: Address) -> ServiceDefinition {
        ServiceDefinition {
            token,
            config_hash: B256::repeat_byte(7),
            agent_id: 25,
            instances: vec![Address::repeat_byte(8)],
            threshold: 1,
            bond: U256::from(10u64).pow(U256::from(19)),
        }
    }

    fn ctx<'a>(c: &'a LifecycleContracts, s: &'a ServiceDefinition) -> StepContext<'a> {
        StepContext {
            contracts: c,
            service: s,
            owner: Address::repeat_byte(9),
            service_id: Some(3),
            staked_in: Some(Address::repeat_byte(10)),
            reuse_multisig: false,
            salt: 1_700_000_000,
        }
    }

    fn reg(action: A) -> Step {
        Step::Registry { action }
    }

    #[test]
    fn selectors_are_the_olas_ones() {
        // The facts' selectors: create 0xe42cdd7c, approve 0x095ea7b3.
        assert_eq!(
            IServiceManager::createCall::SELECTOR,
            [0xe4, 0x2c, 0xdd, 0x7c]
        );
        assert_eq!(approveCall::SELECTOR, [0x09, 0x5e, 0xa7, 0xb3]);
    }

    #[test]
    fn a_token_service_pays_one_wei_and_approves_the_token_utility() {
        let (c, s) = (contracts(), service(Address::repeat_byte(11)));
        let activate = step_calls(&reg(A::ActivateRegistration), &ctx(&c, &s))
            .unwrap()
            .unwrap();
        assert_eq!(activate.role, Role::Owner);
        assert_eq!(activate.calls.len(), 2);
        assert_eq!(activate.calls[0].to, s.token);
        assert_eq!(
            activate.calls[0].data,
            approve_data(c.token_utility, s.bond)
        );
        assert_eq!(activate.calls[1].value, U256::from(1));
        let mut two = s.clone();
        two.instances.push(Address::repeat_byte(12));
        two.threshold = 2;
        let register = step_calls(&reg(A::RegisterAgents), &ctx(&c, &two))
            .unwrap()
            .unwrap();
        assert_eq!(register.role, Role::Operator);
        assert_eq!(
            register.calls[0].data,
            approve_data(c.token_utility, two.bond * U256::from(2))
        );
        assert_eq!(register.calls[1].value, U256::from(2));
    }

    #[test]
    fn a_native_service_pays_the_deposit_and_bonds_as_value() {
        let (c, s) = (contracts(), service(NATIVE_TOKEN));
        let activate = step_calls(&reg(A::ActivateRegistration), &ctx(&c, &s))
            .unwrap()
            .unwrap();
        assert_eq!(activate.calls.len(), 1);
        assert_eq!(activate.calls[0].value, s.bond);
    }

    #[test]
    fn deploy_makes_a_new_safe_or_reuses_the_recorded_one() {
        let (c, s) = (contracts(), service(Address::repeat_byte(11)));
        let new = step_calls(&reg(A::Deploy), &ctx(&c, &s)).unwrap().unwrap();
        let decoded = IServiceManager::deployCall::abi_decode(&new.calls[0].data).unwrap();
        assert_eq!(decoded.multisigImplementation, c.multisig_implementation);
        assert_eq!(
            decoded.data.len(),
            64,
            "abi.encode(fallbackHandler, saltNonce)"
        );
        let mut reuse = ctx(&c, &s);
        reuse.reuse_multisig = true;
        let again = step_calls(&reg(A::Deploy), &reuse).unwrap().unwrap();
        let decoded = IServiceManager::deployCall::abi_decode(&again.calls[0].data).unwrap();
        assert_eq!(decoded.multisigImplementation, c.recovery_module);
        assert_eq!(decoded.data.as_ref(), U256::from(3).abi_encode().as_slice());
    }

    #[test]
    fn stake_approves_the_nft_to_the_program_first() {
        let (c, s) = (contracts(), service(Address::repeat_byte(11)));
        let program = Address::repeat_byte(13);
        let stake = step_calls(&Step::Stake { program }, &ctx(&c, &s))
            .unwrap()
            .unwrap();
        assert_eq!(stake.calls[0].to, c.service_registry);
        assert_eq!(stake.calls[0].data, approve_data(program, U256::from(3)));
        assert_eq!(stake.calls[1].to, program);
    }

    #[test]
    fn steps_without_what_they_need_are_typed_errors() {
        let (c, s) = (contracts(), service(Address::repeat_byte(11)));
        let mut none = ctx(&c, &s);
        none.service_id = None;
        none.staked_in = None;
        assert_eq!(
            step_calls(&reg(A::Deploy), &none),
            Err(CallsError::NoServiceId { step: "deploy" })
        );
        none.service_id = Some(1);
        assert_eq!(
            step_calls(&Step::Unstake, &none),
            Err(CallsError::NotStaked { step: "unstake" })
        );
        assert!(matches!(
            step_calls(&reg(A::UpdateMint), &none),
            Err(CallsError::Unsupported { .. })
        ));
        assert_eq!(step_calls(&Step::StartAgent, &none), Ok(None));
    }

    #[test]
    fn create_refuses_what_the_registry_would() {
        let c = contracts();
        let mut s = service(Address::repeat_byte(11));
        s.threshold = 2;
        assert!(matches!(
            step_calls(&reg(A::Mint), &ctx(&c, &s)),
            Err(CallsError::Definition { .. })
        ));
        s.threshold = 1;
        s.config_hash = B256::ZERO;
        assert!(step_calls(&reg(A::Mint), &ctx(&c, &s)).is_err());
        s.config_hash = B256::repeat_byte(1);
        s.bond = U256::MAX;
        assert!(step_calls(&reg(A::Mint), &ctx(&c, &s)).is_err());
        s.bond = U256::from(1);
        s.instances.push(s.instances[0]);
        s.threshold = 2;
        assert!(step_calls(&reg(A::Mint), &ctx(&c, &s)).is_err());
    }
}
