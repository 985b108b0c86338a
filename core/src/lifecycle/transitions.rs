//! Transition tables with guards (`shared/domain/olas-middleware.md` §3.1, §3.4, §3.5).
//!
//! Each `*_next` function takes a state, an action and the facts its guards read, and returns the
//! next state or a [`TransitionError`] that says why not and what would allow it.

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use super::{DeploymentStatus, OnChainState, StakingState};

/// An action on the service registry (each a Master-Safe transaction).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum RegistryAction {
    /// Create the service (mint its NFT).
    Mint,
    /// Change the service's hash, agents or bond (pre-registration only).
    UpdateMint,
    /// Open registration; pays the security deposit.
    ActivateRegistration,
    /// Register the agent instances; pays their bonds.
    RegisterAgents,
    /// Create (or reuse) the service multisig.
    Deploy,
    /// Terminate; refunds the security deposit.
    Terminate,
    /// Unbond the agent instances; refunds the bonds.
    Unbond,
}

/// An action on a staking program.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum StakingAction {
    /// NFT approve + `stake(id)`.
    Stake,
    /// `unstake(id)`.
    Unstake,
    /// The contract evicted the service for inactivity.
    Evict,
}

/// A local deployment event.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentEvent {
    /// (Re)build the deployment; the host force-stops processes first.
    Build,
    /// Start the agent.
    Start,
    /// The start finished.
    StartSucceeded,
    /// The start failed.
    StartFailed,
    /// Stop (a no-op unless DEPLOYED, unless forced).
    Stop {
        /// Stop whatever the status.
        force: bool,
    },
    /// The stop finished (with or without an error: both end in BUILT).
    StopFinished,
    /// Delete the deployment.
    Delete,
}

/// What the staking guards read (§3.3, §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct StakingFacts {
    /// Now, seconds since the epoch (chain time).
    pub now_secs: u64,
    /// When the service was staked, seconds.
    pub stake_start_secs: u64,
    /// The program's minimum staking duration, seconds.
    pub min_staking_duration_secs: u64,
    /// Whether the program has rewards left (`availableRewards > 0`).
    pub has_available_rewards: bool,
    /// Free slots: `maxNumServices − len(getServiceIds())`.
    pub free_slots: u64,
}

impl StakingFacts {
    /// When unstaking becomes possible, seconds.
    pub fn unlock_at_secs(&self) -> u64 {
        self.stake_start_secs
            .saturating_add(self.min_staking_duration_secs)
    }

    /// `can_unstake` for a staked or evicted service: the minimum duration has passed, or the
    /// program has no rewards left.
    pub fn unstake_allowed(&self) -> bool {
        self.now_secs.saturating_sub(self.stake_start_secs) >= self.min_staking_duration_secs
            || !self.has_available_rewards
    }
}

/// A refused transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, ToJson)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TransitionError {
    /// The action does not apply to the state.
    #[error("cannot {action} in {state}: {allowed}")]
    NotFromState {
        /// The action.
        action: &'static str,
        /// The current state.
        state: &'static str,
        /// Where the action is allowed.
        allowed: &'static str,
    },
    /// The service is staked and the minimum staking duration has not passed.
    #[error(
        "cannot unstake before the minimum staking duration: unstaking is possible from \
         {unlock_at_secs} (unix seconds), or earlier if the program runs out of rewards"
    )]
    StakingLocked {
        /// When it unlocks, seconds.
        unlock_at_secs: u64,
    },
    /// The program has no free slot.
    #[error("the staking program has no free slot: wait for one, or choose another program")]
    NoStakingSlots,
    /// The program has no rewards left.
    #[error("the staking program has no rewards left: staking now would earn nothing")]
    NoRewards,
    /// The service must not be staked for this action.
    #[error("cannot {action} while the service is {staking}: unstake it first")]
    Staked {
        /// The action.
        action: &'static str,
        /// The staking state.
        staking: &'static str,
    },
}

/// The name of an on-chain state.
pub const fn on_chain_name(s: OnChainState) -> &'static str {
    match s {
        OnChainState::NonExistent => "NON_EXISTENT",
        OnChainState::PreRegistration => "PRE_REGISTRATION",
        OnChainState::ActiveRegistration => "ACTIVE_REGISTRATION",
        OnChainState::FinishedRegistration => "FINISHED_REGISTRATION",
        OnChainState::Deployed => "DEPLOYED",
        OnChainState::TerminatedBonded => "TERMINATED_BONDED",
        OnChainState::Unbonded => "UNBONDED",
    }
}

/// The name of a staking state.
pub const fn staking_name(s: StakingState) -> &'static str {
    match s {
        StakingState::Unstaked => "UNSTAKED",
        StakingState::Staked => "STAKED",
        StakingState::Evicted => "EVICTED",
    }
}

/// The name of a deployment status.
pub const fn deployment_name(s: DeploymentStatus) -> &'static str {
    match s {
        DeploymentStatus::Created => "CREATED",
        DeploymentStatus::Built => "BUILT",
        DeploymentStatus::Deploying => "DEPLOYING",
        DeploymentStatus::Deployed => "DEPLOYED",
        DeploymentStatus::Stopping => "STOPPING",
        DeploymentStatus::Stopped => "STOPPED",
        DeploymentStatus::Deleted => "DELETED",
    }
}

/// The registry's next state (§3.1). `instances_after` is the number of registered agent
/// instances after the action (for `RegisterAgents`) or now (for `Terminate`); `max_instances`
/// the number the service needs. The registry's NFT is held by the staking contract while the
/// service is staked, so `Terminate` and `Unbond` refuse a staked or evicted service.
// Written as the domain document's table, one row per arm, even where rows share a result.
#[allow(clippy::match_same_arms)]
pub fn registry_next(
    state: OnChainState,
    action: RegistryAction,
    staking: StakingState,
    instances_after: u32,
    max_instances: u32,
) -> Result<OnChainState, TransitionError> {
    use OnChainState as S;
    use RegistryAction as A;
    let refuse = |allowed: &'static str, name: &'static str| TransitionError::NotFromState {
        action: name,
        state: on_chain_name(state),
        allowed,
    };
    if matches!(action, A::Terminate | A::Unbond) && staking.holds_stake() {
        return Err(TransitionError::Staked {
            action: if action == A::Terminate {
                "terminate"
            } else {
                "unbond"
            },
            staking: staking_name(staking),
        });
    }
    match (action, state) {
        (A::Mint, S::NonExistent) => Ok(S::PreRegistration),
        (A::Mint, _) => Err(refuse("only a NON_EXISTENT service is minted", "mint")),
        (A::UpdateMint, S::PreRegistration) => Ok(S::PreRegistration),
        (A::UpdateMint, _) => Err(refuse(
            "only in PRE_REGISTRATION (terminate and unbond first)",
            "update the service",
        )),
        (A::ActivateRegistration, S::PreRegistration) => Ok(S::ActiveRegistration),
        (A::ActivateRegistration, _) => {
            Err(refuse("only in PRE_REGISTRATION", "activate registration"))
        }
        (A::RegisterAgents, S::ActiveRegistration) => Ok(if instances_after >= max_instances {
            S::FinishedRegistration
        } else {
            S::ActiveRegistration
        }),
        (A::RegisterAgents, _) => Err(refuse(
            "only in ACTIVE_REGISTRATION",
            "register agent instances",
        )),
        (A::Deploy, S::FinishedRegistration) => Ok(S::Deployed),
        (A::Deploy, _) => Err(refuse("only in FINISHED_REGISTRATION", "deploy")),
        (A::Terminate, S::ActiveRegistration | S::FinishedRegistration | S::Deployed) => {
            Ok(if instances_after > 0 {
                S::TerminatedBonded
            } else {
                S::PreRegistration
            })
        }
        (A::Terminate, _) => Err(refuse(
            "only in ACTIVE_REGISTRATION, FINISHED_REGISTRATION or DEPLOYED",
            "terminate",
        )),
        (A::Unbond, S::TerminatedBonded) => Ok(S::PreRegistration),
        (A::Unbond, _) => Err(refuse(
            "only in TERMINATED_BONDED (terminate first)",
            "unbond",
        )),
    }
}

/// The staking state after an action (§3.4). `on_chain` is the registry state; `facts` feed the
/// guards.
pub fn staking_next(
    state: StakingState,
    action: StakingAction,
    on_chain: OnChainState,
    facts: &StakingFacts,
) -> Result<StakingState, TransitionError> {
    use StakingAction as A;
    use StakingState as S;
    let refuse = |allowed: &'static str, name: &'static str| TransitionError::NotFromState {
        action: name,
        state: staking_name(state),
        allowed,
    };
    match (action, state) {
        (A::Stake, S::Unstaked) => {
            if on_chain != OnChainState::Deployed {
                return Err(TransitionError::NotFromState {
                    action: "stake",
                    state: on_chain_name(on_chain),
                    allowed: "only a DEPLOYED service is staked",
                });
            }
            if facts.free_slots == 0 {
                return Err(TransitionError::NoStakingSlots);
            }
            if !facts.has_available_rewards {
                return Err(TransitionError::NoRewards);
            }
            Ok(S::Staked)
        }
        (A::Stake, S::Staked) => Err(refuse("the service is already staked", "stake")),
        (A::Stake, S::Evicted) => Err(refuse("the service is evicted: unstake it first", "stake")),
        (A::Unstake, S::Staked | S::Evicted) => {
            if facts.unstake_allowed() {
                Ok(S::Unstaked)
            } else {
                Err(TransitionError::StakingLocked {
                    unlock_at_secs: facts.unlock_at_secs(),
                })
            }
        }
        (A::Unstake, S::Unstaked) => Err(refuse("only a STAKED or EVICTED service", "unstake")),
        (A::Evict, S::Staked) => Ok(S::Evicted),
        (A::Evict, _) => Err(refuse("only a STAKED service is evicted", "evict")),
    }
}

/// The local deployment status after an event (§3.5). `Stop` from anything but DEPLOYED without
/// `force` is a no-op (the same status); both stop outcomes end in BUILT (Q10).
// Written as the domain document's table, one row per arm, even where rows share a result.
#[allow(clippy::match_same_arms)]
pub fn deployment_next(
    status: DeploymentStatus,
    event: DeploymentEvent,
) -> Result<DeploymentStatus, TransitionError> {
    use DeploymentEvent as E;
    use DeploymentStatus as S;
    let refuse = |allowed: &'static str, name: &'static str| TransitionError::NotFromState {
        action: name,
        state: deployment_name(status),
        allowed,
    };
    match (event, status) {
        (E::Build, S::Deleted) => Err(refuse("a deleted service is not rebuilt", "build")),
        (E::Build, _) => Ok(S::Built),
        (E::Start, S::Built) => Ok(S::Deploying),
        (E::Start, _) => Err(refuse("only from BUILT (build first)", "start")),
        (E::StartSucceeded, S::Deploying) => Ok(S::Deployed),
        (E::StartFailed, S::Deploying) => Ok(S::Built),
        (E::StartSucceeded | E::StartFailed, _) => {
            Err(refuse("only while DEPLOYING", "finish a start"))
        }
        (E::Stop { .. }, S::Deployed) | (E::Stop { force: true }, _) => Ok(S::Stopping),
        (E::Stop { force: false }, _) => Ok(status),
        (E::StopFinished, S::Stopping) => Ok(S::Built),
        (E::StopFinished, _) => Err(refuse("only while STOPPING", "finish a stop")),
        (E::Delete, S::Deployed) => Err(refuse("not while DEPLOYED (stop it first)", "delete")),
        (E::Delete, _) => Ok(S::Deleted),
    }
}
