//! Lifecycle: every transition of the three tables against the domain document, the guards'
//! errors, transition plans by example and by property, and start-up recovery.

use proptest::prelude::*;
use tend_core::Address;
use tend_core::lifecycle::plan::{ServiceFacts, Step, Target, Warning, plan};
use tend_core::lifecycle::recovery::{FoundFacts, RecoveryAction, RecoveryReason, recover};
use tend_core::lifecycle::transitions::{
    DeploymentEvent, RegistryAction, StakingAction, StakingFacts, TransitionError, deployment_next,
    registry_next, staking_next,
};
use tend_core::lifecycle::{DeploymentStatus, OnChainState, StakingState};

const ALL_ON_CHAIN: [OnChainState; 7] = [
    OnChainState::NonExistent,
    OnChainState::PreRegistration,
    OnChainState::ActiveRegistration,
    OnChainState::FinishedRegistration,
    OnChainState::Deployed,
    OnChainState::TerminatedBonded,
    OnChainState::Unbonded,
];
const ALL_REGISTRY: [RegistryAction; 7] = [
    RegistryAction::Mint,
    RegistryAction::UpdateMint,
    RegistryAction::ActivateRegistration,
    RegistryAction::RegisterAgents,
    RegistryAction::Deploy,
    RegistryAction::Terminate,
    RegistryAction::Unbond,
];
const ALL_DEPLOYMENT: [DeploymentStatus; 7] = [
    DeploymentStatus::Created,
    DeploymentStatus::Built,
    DeploymentStatus::Deploying,
    DeploymentStatus::Deployed,
    DeploymentStatus::Stopping,
    DeploymentStatus::Stopped,
    DeploymentStatus::Deleted,
];

/// §3.1, row by row: (from, action) → to, with 1 of 1 agent instances registered.
#[test]
fn registry_table() {
    use OnChainState as S;
    use RegistryAction as A;
    let allowed = [
        (S::NonExistent, A::Mint, S::PreRegistration),
        (S::PreRegistration, A::UpdateMint, S::PreRegistration),
        (
            S::PreRegistration,
            A::ActivateRegistration,
            S::ActiveRegistration,
        ),
        (
            S::ActiveRegistration,
            A::RegisterAgents,
            S::FinishedRegistration,
        ),
        (S::FinishedRegistration, A::Deploy, S::Deployed),
        (S::ActiveRegistration, A::Terminate, S::TerminatedBonded),
        (S::FinishedRegistration, A::Terminate, S::TerminatedBonded),
        (S::Deployed, A::Terminate, S::TerminatedBonded),
        (S::TerminatedBonded, A::Unbond, S::PreRegistration),
    ];
    for from in ALL_ON_CHAIN {
        for action in ALL_REGISTRY {
            let got = registry_next(from, action, StakingState::Unstaked, 1, 1);
            match allowed.iter().find(|(f, a, _)| *f == from && *a == action) {
                Some((_, _, to)) => assert_eq!(got, Ok(*to), "{from:?} {action:?}"),
                None => assert!(
                    matches!(got, Err(TransitionError::NotFromState { .. })),
                    "{from:?} {action:?}: {got:?}"
                ),
            }
        }
    }
    // Partial registration stays active; termination without instances goes back to PRE.
    assert_eq!(
        registry_next(
            S::ActiveRegistration,
            A::RegisterAgents,
            StakingState::Unstaked,
            1,
            2
        ),
        Ok(S::ActiveRegistration)
    );
    assert_eq!(
        registry_next(
            S::ActiveRegistration,
            A::Terminate,
            StakingState::Unstaked,
            0,
            2
        ),
        Ok(S::PreRegistration)
    );
    // The staking contract holds the NFT.
    let err = registry_next(S::Deployed, A::Terminate, StakingState::Staked, 1, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot terminate while the service is STAKED: unstake it first"
    );
    let err =
        registry_next(S::TerminatedBonded, A::Unbond, StakingState::Evicted, 1, 1).unwrap_err();
    assert!(matches!(
        err,
        TransitionError::Staked {
            action: "unbond",
            ..
        }
    ));
    let err = registry_next(S::Deployed, A::UpdateMint, StakingState::Unstaked, 1, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot update the service in DEPLOYED: only in PRE_REGISTRATION (terminate and unbond first)"
    );
}

fn staking_facts() -> StakingFacts {
    StakingFacts {
        now_secs: 1_000_000,
        stake_start_secs: 900_000,
        min_staking_duration_secs: 259_200,
        has_available_rewards: true,
        free_slots: 3,
    }
}

/// §3.4 with its guards.
#[test]
fn staking_table_and_guards() {
    use StakingAction as A;
    use StakingState as S;
    let unlocked = StakingFacts {
        now_secs: 2_000_000,
        ..staking_facts()
    };
    let d = OnChainState::Deployed;
    assert_eq!(
        staking_next(S::Unstaked, A::Stake, d, &unlocked),
        Ok(S::Staked)
    );
    assert_eq!(
        staking_next(S::Staked, A::Evict, d, &unlocked),
        Ok(S::Evicted)
    );
    assert_eq!(
        staking_next(S::Staked, A::Unstake, d, &unlocked),
        Ok(S::Unstaked)
    );
    assert_eq!(
        staking_next(S::Evicted, A::Unstake, d, &unlocked),
        Ok(S::Unstaked)
    );
    for (s, a) in [
        (S::Staked, A::Stake),
        (S::Evicted, A::Stake),
        (S::Unstaked, A::Unstake),
        (S::Unstaked, A::Evict),
        (S::Evicted, A::Evict),
    ] {
        assert!(
            matches!(
                staking_next(s, a, d, &unlocked),
                Err(TransitionError::NotFromState { .. })
            ),
            "{s:?} {a:?}"
        );
    }
    // Cannot unstake before the minimum duration: the error carries the unlock time.
    let locked = staking_facts();
    let err = staking_next(S::Staked, A::Unstake, d, &locked).unwrap_err();
    assert_eq!(
        err,
        TransitionError::StakingLocked {
            unlock_at_secs: 1_159_200
        }
    );
    assert!(err.to_string().contains("1159200"));
    // ...unless the program has no rewards left.
    let dry = StakingFacts {
        has_available_rewards: false,
        ..locked
    };
    assert_eq!(
        staking_next(S::Staked, A::Unstake, d, &dry),
        Ok(S::Unstaked)
    );
    // Stake guards.
    let full = StakingFacts {
        free_slots: 0,
        ..unlocked
    };
    assert_eq!(
        staking_next(S::Unstaked, A::Stake, d, &full),
        Err(TransitionError::NoStakingSlots)
    );
    let no_rewards = StakingFacts {
        has_available_rewards: false,
        ..unlocked
    };
    assert_eq!(
        staking_next(S::Unstaked, A::Stake, d, &no_rewards),
        Err(TransitionError::NoRewards)
    );
    assert!(matches!(
        staking_next(
            S::Unstaked,
            A::Stake,
            OnChainState::FinishedRegistration,
            &unlocked
        ),
        Err(TransitionError::NotFromState {
            state: "FINISHED_REGISTRATION",
            ..
        })
    ));
}

/// §3.5, every status against every event.
#[test]
fn deployment_table() {
    use DeploymentEvent as E;
    use DeploymentStatus as S;
    for from in ALL_DEPLOYMENT {
        let build = deployment_next(from, E::Build);
        assert_eq!(build.is_ok(), from != S::Deleted, "{from:?}");
        assert_eq!(deployment_next(from, E::Start).is_ok(), from == S::Built);
        let stop = deployment_next(from, E::Stop { force: false }).unwrap();
        assert_eq!(
            stop,
            if from == S::Deployed {
                S::Stopping
            } else {
                from
            }
        );
        assert_eq!(
            deployment_next(from, E::Stop { force: true }),
            Ok(S::Stopping)
        );
        assert_eq!(
            deployment_next(from, E::StopFinished).is_ok(),
            from == S::Stopping
        );
        assert_eq!(
            deployment_next(from, E::Delete).is_ok(),
            from != S::Deployed
        );
        assert_eq!(
            deployment_next(from, E::StartSucceeded).is_ok(),
            from == S::Deploying
        );
    }
    assert_eq!(
        deployment_next(S::Deploying, E::StartSucceeded),
        Ok(S::Deployed)
    );
    assert_eq!(deployment_next(S::Deploying, E::StartFailed), Ok(S::Built));
    assert_eq!(deployment_next(S::Stopping, E::StopFinished), Ok(S::Built));
    assert_eq!(
        deployment_next(S::Deployed, E::Delete)
            .unwrap_err()
            .to_string(),
        "cannot delete in DEPLOYED: not while DEPLOYED (stop it first)"
    );
}

const PROGRAM: Address = Address::repeat_byte(0x51);
const OTHER: Address = Address::repeat_byte(0x52);

fn fresh() -> ServiceFacts {
    ServiceFacts {
        on_chain: OnChainState::NonExistent,
        staking: StakingState::Unstaked,
        staking_program: None,
        agent_instances: 0,
        max_instances: 1,
        current_program: staking_facts(),
        target_program: staking_facts(),
        has_multisig: false,
        master_safe_owns_multisig: false,
        has_rewards_to_claim: false,
        update_needed: false,
        deployment: DeploymentStatus::Created,
    }
}

fn running_staked() -> ServiceFacts {
    ServiceFacts {
        on_chain: OnChainState::Deployed,
        staking: StakingState::Staked,
        staking_program: Some(PROGRAM),
        agent_instances: 1,
        has_multisig: true,
        deployment: DeploymentStatus::Deployed,
        current_program: StakingFacts {
            now_secs: 2_000_000,
            ..staking_facts()
        },
        ..fresh()
    }
}

fn reg(action: RegistryAction) -> Step {
    Step::Registry { action }
}

#[test]
fn first_deploy_with_staking() {
    use RegistryAction as A;
    let p = plan(
        &fresh(),
        Target::Running {
            staking_program: Some(PROGRAM),
        },
    )
    .unwrap();
    assert_eq!(
        p.steps,
        vec![
            reg(A::Mint),
            reg(A::ActivateRegistration),
            reg(A::RegisterAgents),
            reg(A::Deploy),
            Step::Stake { program: PROGRAM },
            Step::Build,
            Step::StartAgent,
        ]
    );
    assert!(p.warnings.is_empty());
}

#[test]
fn already_there_is_an_empty_plan() {
    let p = plan(
        &running_staked(),
        Target::Running {
            staking_program: Some(PROGRAM),
        },
    )
    .unwrap();
    assert!(p.steps.is_empty(), "{p:?}");
}

#[test]
fn redeploy_with_a_changed_agent() {
    use RegistryAction as A;
    let facts = ServiceFacts {
        update_needed: true,
        ..running_staked()
    };
    let p = plan(
        &facts,
        Target::Running {
            staking_program: Some(PROGRAM),
        },
    )
    .unwrap();
    assert_eq!(
        p.steps,
        vec![
            Step::StopAgent,
            Step::Unstake,
            reg(A::Terminate),
            reg(A::Unbond),
            Step::RecoverAccess,
            reg(A::UpdateMint),
            reg(A::ActivateRegistration),
            reg(A::RegisterAgents),
            reg(A::Deploy),
            Step::Stake { program: PROGRAM },
            Step::Build,
            Step::StartAgent,
        ]
    );
}

#[test]
fn a_staking_lock_refuses_the_plan_with_its_unlock_time() {
    let facts = ServiceFacts {
        update_needed: true,
        current_program: staking_facts(),
        ..running_staked()
    };
    assert_eq!(
        plan(
            &facts,
            Target::Running {
                staking_program: Some(PROGRAM)
            }
        ),
        Err(TransitionError::StakingLocked {
            unlock_at_secs: 1_159_200
        })
    );
    // Terminate-and-withdraw does not return silently (Q12): the same error.
    assert_eq!(
        plan(
            &ServiceFacts {
                current_program: staking_facts(),
                ..running_staked()
            },
            Target::Withdrawn
        ),
        Err(TransitionError::StakingLocked {
            unlock_at_secs: 1_159_200
        })
    );
}

#[test]
fn terminate_and_withdraw() {
    use RegistryAction as A;
    let facts = ServiceFacts {
        has_rewards_to_claim: true,
        master_safe_owns_multisig: true,
        ..running_staked()
    };
    let p = plan(&facts, Target::Withdrawn).unwrap();
    assert_eq!(
        p.steps,
        vec![
            Step::StopAgent,
            Step::ClaimRewards,
            Step::Unstake,
            reg(A::Terminate),
            reg(A::Unbond),
            Step::Withdraw,
        ]
    );
    // Not staked, only active registration: terminate (no instances: back to PRE), no unbond.
    let active = ServiceFacts {
        on_chain: OnChainState::ActiveRegistration,
        ..fresh()
    };
    assert_eq!(
        plan(&active, Target::Withdrawn).unwrap().steps,
        vec![reg(A::Terminate), Step::Withdraw]
    );
}

#[test]
fn unstake_after_eviction_restakes_in_the_freed_slot() {
    let facts = ServiceFacts {
        staking: StakingState::Evicted,
        target_program: StakingFacts {
            free_slots: 0,
            ..staking_facts()
        },
        ..running_staked()
    };
    let p = plan(
        &facts,
        Target::Running {
            staking_program: Some(PROGRAM),
        },
    )
    .unwrap();
    assert_eq!(
        p.steps,
        vec![
            Step::StopAgent,
            Step::Unstake,
            Step::Stake { program: PROGRAM },
            Step::Build,
            Step::StartAgent,
        ]
    );
    // Moving to another full program is refused.
    let to_other = ServiceFacts {
        target_program: StakingFacts {
            free_slots: 0,
            ..staking_facts()
        },
        ..running_staked()
    };
    assert_eq!(
        plan(
            &to_other,
            Target::Running {
                staking_program: Some(OTHER)
            }
        ),
        Err(TransitionError::NoStakingSlots)
    );
}

#[test]
fn no_rewards_drops_the_stake_with_a_warning() {
    let facts = ServiceFacts {
        target_program: StakingFacts {
            has_available_rewards: false,
            ..staking_facts()
        },
        ..fresh()
    };
    let p = plan(
        &facts,
        Target::Running {
            staking_program: Some(PROGRAM),
        },
    )
    .unwrap();
    assert!(!p.steps.contains(&Step::Stake { program: PROGRAM }));
    assert_eq!(
        p.warnings,
        vec![Warning::StakeSkippedNoRewards { program: PROGRAM }]
    );
    assert_eq!(p.steps.last(), Some(&Step::StartAgent));
}

#[test]
fn stop_only_stops_a_running_agent() {
    assert_eq!(
        plan(&running_staked(), Target::Stopped).unwrap().steps,
        vec![Step::StopAgent]
    );
    assert!(plan(&fresh(), Target::Stopped).unwrap().steps.is_empty());
}

#[test]
fn recovery_table() {
    use DeploymentStatus as S;
    use RecoveryAction as A;
    use RecoveryReason as R;
    let rec = |recorded, alive, wants| {
        let r = recover(&FoundFacts {
            recorded,
            process_alive: alive,
            on_chain: Some(OnChainState::Deployed),
            wants_running: wants,
        });
        (r.status, r.action, r.reason)
    };
    assert_eq!(
        rec(S::Deploying, true, true),
        (S::Deployed, A::Adopt, R::StartCompleted)
    );
    assert_eq!(
        rec(S::Deploying, false, true),
        (S::Built, A::Start, R::StartInterrupted)
    );
    assert_eq!(
        rec(S::Deploying, false, false),
        (S::Built, A::None, R::StartInterrupted)
    );
    assert_eq!(
        rec(S::Stopping, true, true),
        (S::Stopping, A::Stop, R::StopInterrupted)
    );
    assert_eq!(
        rec(S::Stopping, false, false),
        (S::Built, A::None, R::StopCompleted)
    );
    assert_eq!(
        rec(S::Deployed, true, true),
        (S::Deployed, A::Adopt, R::Consistent)
    );
    assert_eq!(
        rec(S::Deployed, false, true),
        (S::Built, A::Start, R::ProcessGone)
    );
    assert_eq!(
        rec(S::Deployed, true, false),
        (S::Stopping, A::Stop, R::Consistent)
    );
    assert_eq!(
        rec(S::Built, true, false),
        (S::Built, A::Stop, R::LeftoverProcess)
    );
    assert_eq!(
        rec(S::Deleted, true, false),
        (S::Deleted, A::Stop, R::LeftoverProcess)
    );
    assert_eq!(
        rec(S::Deleted, false, true),
        (S::Deleted, A::None, R::Consistent)
    );
    let r = recover(&FoundFacts {
        recorded: S::Deployed,
        process_alive: true,
        on_chain: Some(OnChainState::TerminatedBonded),
        wants_running: true,
    });
    assert_eq!((r.action, r.reason), (A::Stop, R::NotDeployedOnChain));
}

fn on_chain() -> impl Strategy<Value = OnChainState> {
    (0u64..6).prop_map(|v| OnChainState::from_value(v).unwrap())
}

fn staking_state() -> impl Strategy<Value = StakingState> {
    (0u64..3).prop_map(|v| StakingState::from_value(v).unwrap())
}

proptest! {
    /// Every plan, replayed through the transition tables from the facts, reaches the target:
    /// Running ends DEPLOYED (staked in the target program unless warned) with the agent
    /// started; Withdrawn ends in PRE_REGISTRATION (or NON_EXISTENT), unstaked.
    #[test]
    fn plans_reach_their_target(
        oc in on_chain(), st in staking_state(), update in any::<bool>(), multisig in any::<bool>(),
        owns in any::<bool>(), locked in any::<bool>(), rewards in any::<bool>(), slots in 0u64..2,
        target_kind in 0u8..3, stake_target in any::<bool>(), instances in 0u32..2,
    ) {
        // Staked states only exist for deployed services.
        let st = if oc == OnChainState::Deployed { st } else { StakingState::Unstaked };
        let current = StakingFacts { now_secs: if locked { 1_000_000 } else { 2_000_000 }, ..staking_facts() };
        let facts = ServiceFacts {
            on_chain: oc,
            staking: st,
            staking_program: st.holds_stake().then_some(PROGRAM),
            agent_instances: instances,
            max_instances: 1,
            current_program: current,
            target_program: StakingFacts { has_available_rewards: rewards, free_slots: slots, ..staking_facts() },
            has_multisig: multisig,
            master_safe_owns_multisig: owns,
            has_rewards_to_claim: false,
            update_needed: update,
            deployment: DeploymentStatus::Built,
        };
        let target = match target_kind {
            0 => Target::Running { staking_program: stake_target.then_some(PROGRAM) },
            1 => Target::Running { staking_program: stake_target.then_some(OTHER) },
            _ => Target::Withdrawn,
        };
        let Ok(p) = plan(&facts, target) else { return Ok(()); };
        let (mut s, mut k, mut n) = (facts.on_chain, facts.staking, facts.agent_instances);
        let mut started = false;
        for step in &p.steps {
            match step {
                Step::Registry { action } => {
                    let after = match action { RegistryAction::RegisterAgents => 1, RegistryAction::Unbond => 0, _ => n };
                    s = registry_next(s, *action, k, after, 1).map_err(|e| TestCaseError::fail(format!("{step:?}: {e}")))?;
                    n = after;
                }
                Step::Unstake => k = StakingState::Unstaked,
                Step::Stake { .. } => { prop_assert_eq!(s, OnChainState::Deployed); k = StakingState::Staked; }
                Step::StartAgent => started = true,
                Step::StopAgent | Step::ClaimRewards | Step::RecoverAccess | Step::Withdraw | Step::Build => {}
            }
        }
        match target {
            Target::Running { staking_program } => {
                prop_assert_eq!(s, OnChainState::Deployed);
                prop_assert!(started);
                if staking_program.is_some() && p.warnings.is_empty() { prop_assert_eq!(k, StakingState::Staked); }
                if staking_program.is_none() { prop_assert_eq!(k, StakingState::Unstaked); }
            }
            Target::Withdrawn => {
                prop_assert!(matches!(s, OnChainState::PreRegistration | OnChainState::NonExistent), "{s:?}");
                prop_assert_eq!(k, StakingState::Unstaked);
            }
            Target::Stopped => {}
        }
    }
}
