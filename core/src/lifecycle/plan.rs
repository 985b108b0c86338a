//! From where a service is to where the operator wants it: the ordered steps, consistent with the
//! middleware's deploy flow (§3.2) and terminate-and-withdraw flow (§3.3), every step checked
//! against the guards of [`super::transitions`].

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use super::transitions::{
    RegistryAction, StakingAction, StakingFacts, TransitionError, registry_next, staking_next,
};
use super::{DeploymentStatus, OnChainState, StakingState};

/// One step of a transition plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Stop the local agent (SIGTERM, grace, SIGKILL).
    StopAgent,
    /// Claim staking rewards to the Master Safe.
    ClaimRewards,
    /// Unstake from the current program.
    Unstake,
    /// A registry transaction.
    Registry {
        /// The action.
        action: RegistryAction,
    },
    /// Move ownership of the service Safe to the Master Safe (`recoverAccess`).
    RecoverAccess,
    /// Stake in a program.
    Stake {
        /// The program.
        program: Address,
    },
    /// Move what the service Safe and agent wallets hold back to the Master Safe.
    Withdraw,
    /// Build the local deployment.
    Build,
    /// Start the local agent.
    StartAgent,
}

/// Where the operator wants the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    /// Deployed on chain (staked in `staking_program` if given) with the agent running.
    Running {
        /// The staking program, if any.
        staking_program: Option<Address>,
    },
    /// The agent stopped; the chain untouched.
    Stopped,
    /// Terminated, unbonded and withdrawn.
    Withdrawn,
}

/// What the planner knows about the service now.
// Independent facts read from the chain and the journal; an enum would not make them clearer.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct ServiceFacts {
    /// The registry state.
    pub on_chain: OnChainState,
    /// The staking state in the current program.
    pub staking: StakingState,
    /// The current program (the NFT owner), if staked or evicted.
    pub staking_program: Option<Address>,
    /// Registered agent instances.
    pub agent_instances: u32,
    /// Agent instances the service needs.
    pub max_instances: u32,
    /// The current program's guard facts (for unstaking).
    pub current_program: StakingFacts,
    /// The target program's guard facts (for staking).
    pub target_program: StakingFacts,
    /// The service has a multisig.
    pub has_multisig: bool,
    /// The Master Safe owns the service multisig.
    pub master_safe_owns_multisig: bool,
    /// `calculateStakingReward(id) > 0`.
    pub has_rewards_to_claim: bool,
    /// The agent id, bond, staking token, description or instance set changed (§3.2 step 3).
    pub update_needed: bool,
    /// The local deployment status.
    pub deployment: DeploymentStatus,
}

/// A step the plan leaves out on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum Warning {
    /// The target program has no rewards: the stake step is dropped (as the middleware does).
    StakeSkippedNoRewards {
        /// The program.
        program: Address,
    },
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct TransitionPlan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What was left out, and why.
    pub warnings: Vec<Warning>,
}

/// Applies steps to a copy of the facts, checking each guard.
struct Walk {
    facts: ServiceFacts,
    plan: TransitionPlan,
}

impl Walk {
    fn registry(&mut self, action: RegistryAction) -> Result<(), TransitionError> {
        let instances_after = match action {
            RegistryAction::RegisterAgents => self.facts.max_instances,
            RegistryAction::Unbond => 0,
            RegistryAction::Terminate
            | RegistryAction::Mint
            | RegistryAction::UpdateMint
            | RegistryAction::ActivateRegistration
            | RegistryAction::Deploy => self.facts.agent_instances,
        };
        self.facts.on_chain = registry_next(
            self.facts.on_chain,
            action,
            self.facts.staking,
            instances_after,
            self.facts.max_instances,
        )?;
        self.facts.agent_instances = instances_after;
        self.plan.steps.push(Step::Registry { action });
        Ok(())
    }

    fn unstake(&mut self, target: Option<Address>) -> Result<(), TransitionError> {
        let leaving = self.facts.staking_program;
        self.facts.staking = staking_next(
            self.facts.staking,
            StakingAction::Unstake,
            self.facts.on_chain,
            &self.facts.current_program,
        )?;
        self.facts.staking_program = None;
        self.plan.steps.push(Step::Unstake);
        // Leaving a program frees a slot in it; a re-stake in the same program may use it.
        if leaving.is_some() && leaving == target {
            self.facts.target_program.free_slots =
                self.facts.target_program.free_slots.saturating_add(1);
        }
        Ok(())
    }

    fn stake(&mut self, program: Address) -> Result<(), TransitionError> {
        match staking_next(
            self.facts.staking,
            StakingAction::Stake,
            self.facts.on_chain,
            &self.facts.target_program,
        ) {
            Ok(next) => {
                self.facts.staking = next;
                self.facts.staking_program = Some(program);
                self.plan.steps.push(Step::Stake { program });
                Ok(())
            }
            Err(TransitionError::NoRewards) => {
                self.plan
                    .warnings
                    .push(Warning::StakeSkippedNoRewards { program });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn teardown(&mut self) -> Result<(), TransitionError> {
        use OnChainState as S;
        if matches!(
            self.facts.on_chain,
            S::ActiveRegistration | S::FinishedRegistration | S::Deployed
        ) {
            self.registry(RegistryAction::Terminate)?;
        }
        if self.facts.on_chain == S::TerminatedBonded {
            self.registry(RegistryAction::Unbond)?;
        }
        if self.facts.has_multisig && !self.facts.master_safe_owns_multisig {
            self.plan.steps.push(Step::RecoverAccess);
            self.facts.master_safe_owns_multisig = true;
        }
        Ok(())
    }

    fn stop_agent(&mut self) {
        if self.facts.deployment.is_running() || self.facts.deployment == DeploymentStatus::Stopping
        {
            self.plan.steps.push(Step::StopAgent);
            self.facts.deployment = DeploymentStatus::Built;
        }
    }
}

/// The ordered steps from `facts` to `target`, or the guard that forbids getting there.
///
/// - **Running:** stop the agent if the chain must change; unstake when evicted, staked in another
///   program, or before an update; tear down (terminate → unbond → recover access) and update
///   the mint when the service changed; then mint / activate / register / deploy as the state
///   needs; stake in the target program; build and start the agent.
/// - **Stopped:** stop the agent if it runs.
/// - **Withdrawn:** stop the agent; claim rewards; unstake (refused with the unlock time while
///   the minimum staking duration holds — the middleware returns silently there, Q12); terminate;
///   unbond; recover access; withdraw.
pub fn plan(facts: &ServiceFacts, target: Target) -> Result<TransitionPlan, TransitionError> {
    use OnChainState as S;
    let mut w = Walk {
        facts: *facts,
        plan: TransitionPlan::default(),
    };
    match target {
        Target::Stopped => w.stop_agent(),
        Target::Withdrawn => {
            w.stop_agent();
            if w.facts.staking.holds_stake() {
                if w.facts.has_rewards_to_claim && w.facts.staking == StakingState::Staked {
                    w.plan.steps.push(Step::ClaimRewards);
                }
                w.unstake(None)?;
            }
            w.teardown()?;
            w.plan.steps.push(Step::Withdraw);
        }
        Target::Running { staking_program } => {
            let update = facts.update_needed && facts.on_chain != S::NonExistent;
            let wrong_program = facts.staking.holds_stake()
                && (facts.staking == StakingState::Evicted
                    || facts.staking_program != staking_program
                    || update);
            let chain_changes = update
                || wrong_program
                || facts.on_chain != S::Deployed
                || (staking_program.is_some() && facts.staking == StakingState::Unstaked);
            if chain_changes {
                w.stop_agent();
            }
            if wrong_program {
                w.unstake(staking_program)?;
            }
            if update {
                w.teardown()?;
                w.registry(RegistryAction::UpdateMint)?;
            } else if w.facts.on_chain == S::TerminatedBonded {
                w.registry(RegistryAction::Unbond)?;
            }
            if w.facts.on_chain == S::NonExistent {
                w.registry(RegistryAction::Mint)?;
            }
            if w.facts.on_chain == S::PreRegistration {
                w.registry(RegistryAction::ActivateRegistration)?;
            }
            if w.facts.on_chain == S::ActiveRegistration {
                w.registry(RegistryAction::RegisterAgents)?;
            }
            if w.facts.on_chain == S::FinishedRegistration {
                w.registry(RegistryAction::Deploy)?;
            }
            if let Some(program) = staking_program
                && w.facts.staking == StakingState::Unstaked
            {
                w.stake(program)?;
            }
            if !w.facts.deployment.is_running() {
                w.plan.steps.push(Step::Build);
                w.plan.steps.push(Step::StartAgent);
            }
        }
    }
    Ok(w.plan)
}

/// What the browser's transition calculator (`planTransition`) is asked: a service's facts and
/// the target. Parsed here so the wasm package holds one copy of each deserializer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// What is known of the service.
    pub facts: ServiceFacts,
    /// Where it should go.
    pub target: Target,
}

impl TransitionRequest {
    /// Parses a request from JSON text.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }
}
