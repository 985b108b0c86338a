//! Driving Olas services to their `target` (`[services.olas.registry] target`): after each round
//! of a chain, for each of its services with a target, the facts the round read are turned into
//! the core's plan ([`tend_core::lifecycle::plan`]); its first on-chain step becomes the calls of
//! [`tend_core::lifecycle::calls`], sent by the engine ([`Command::Execute`]: journaled with the
//! step before it is signed, one step in flight per service). The next step is planned only from
//! facts read at or after the block the last one was confirmed in, so a step that landed is never
//! sent again; one that never landed is re-planned from the chain as it is. A step that reverted
//! holds the service for an operator.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde::Serialize;
use tend_core::chain::ChainId;
use tend_core::engine::io::{Command, Input, ServiceName};
use tend_core::lifecycle::calls::{LifecycleContracts, ServiceDefinition, StepContext, step_calls};
use tend_core::lifecycle::plan::{ServiceFacts, Step, Target, plan};
use tend_core::lifecycle::transitions::{StakingAction, StakingFacts, staking_next};
use tend_core::lifecycle::{DeploymentStatus, OnChainState, StakingState};

use super::Daemon;
use crate::chain::olas_facts::ServiceFacts as Read;
use crate::clock;
use crate::config::{OlasRegistry, OlasTarget};

/// A service's life cycle as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LifecycleView {
    /// The target (`deployed_and_staked`, …).
    pub target: String,
    /// `at_target`, `sending` (a step's transaction is in flight), `waiting` (for facts, fees or
    /// a guard such as the unlock time), `held` (a step reverted: an operator must look).
    pub state: String,
    /// The next step, when one is due.
    pub next_step: Option<String>,
    /// Why, for a person.
    pub message: String,
    /// What stops the next step, typed (`waiting` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<Blocked>,
}

/// What stops a service's next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "blocked", rename_all = "snake_case")]
pub enum Blocked {
    /// Unstaking waits for the program's minimum staking duration.
    Locked {
        /// When it may unstake, unix seconds (chain time).
        unlock_at: u64,
    },
    /// The paying key holds too little of the bond token for the deposit or the bonds.
    TokenShort {
        /// The key.
        holder: Address,
        /// The token.
        token: Address,
        /// What it holds (smallest unit, decimal).
        has: String,
        /// What the step needs.
        needs: String,
    },
    /// The service's NFT is held by someone else.
    NotOwner {
        /// The holder.
        owner: Address,
        /// Who tend drives it as: the chain's Safe, or tend's funding key.
        expected: Address,
    },
    /// Anything else: the message says what to do.
    Other,
}

/// What the driver keeps per service.
#[derive(Debug, Default)]
pub(super) struct Drive {
    /// The next step is planned only from facts read at or after this block.
    after_block: u64,
    /// A step reverted: why (the service waits for an operator until tend restarts).
    held: Option<String>,
    /// The latest view.
    view: Option<LifecycleView>,
}

/// Where a service should go: a target, or one claim of its rewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// A target of `tend.toml`'s kind.
    Target(OlasTarget),
    /// Its staking rewards claimed once (then the tend.toml target again).
    Claimed,
}

impl Goal {
    /// The name (a target's, or `claimed`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Target(t) => t.name(),
            Self::Claimed => "claimed",
        }
    }

    /// The goal with this name.
    pub fn parse(name: &str) -> Option<Self> {
        if name == "claimed" {
            return Some(Self::Claimed);
        }
        serde_json::from_value(serde_json::Value::String(name.to_owned()))
            .ok()
            .map(Self::Target)
    }
}

/// The driver's state: each service's drive, the goals set by `tend olas …` (over tend.toml's
/// targets, until tend restarts) and each chain's latest head time.
#[derive(Debug, Default)]
pub(super) struct Lifecycle {
    drives: BTreeMap<String, Drive>,
    goals: BTreeMap<String, Goal>,
    chain_time: BTreeMap<ChainId, u64>,
}

impl Lifecycle {
    /// A chain's head time, seconds (the guards' clock).
    pub(super) fn saw_head(&mut self, chain: ChainId, timestamp: u64) {
        let t = self.chain_time.entry(chain).or_default();
        *t = (*t).max(timestamp);
    }

    /// Sets a service's goal (a `tend olas …` command): a held service is tried again.
    pub(super) fn set_goal(&mut self, service: &str, goal: Goal) {
        self.goals.insert(service.to_owned(), goal);
        let d = self.drives.entry(service.to_owned()).or_default();
        d.held = None;
        d.view = None;
    }

    /// A service's goal: the one set by a command, else tend.toml's target.
    pub(super) fn goal(&self, service: &str, r: &OlasRegistry) -> Option<Goal> {
        self.goals
            .get(service)
            .copied()
            .or_else(|| r.lifecycle.and_then(|l| l.target).map(Goal::Target))
    }

    /// A service's view, when it has a target.
    pub(super) fn view(&self, service: &str) -> Option<LifecycleView> {
        self.drives.get(service).and_then(|d| d.view.clone())
    }

    /// A step's transaction confirmed at `block`: the next step waits for facts from there on;
    /// a reverted one holds the service; a claim ends a `claimed` goal.
    pub(super) fn confirmed(
        &mut self,
        service: &str,
        step: &str,
        hash: alloy::primitives::B256,
        block: u64,
        success: bool,
    ) {
        let d = self.drives.entry(service.to_owned()).or_default();
        d.after_block = d.after_block.max(block);
        if !success {
            d.held = Some(format!(
                "step {step} reverted on chain (transaction {hash}): the service waits for an \
                 operator; `tend olas status` shows where it is, a restart of tend tries again"
            ));
        } else if step == "claim" && self.goals.get(service) == Some(&Goal::Claimed) {
            self.goals.remove(service);
        }
    }

    /// The engine refused to send a step (`StepTxDropped` with record 0): the view says why.
    pub(super) fn refused(&mut self, service: &str, step: &str, reason: &str) {
        if let Some(v) = self.drives.get_mut(service).and_then(|d| d.view.as_mut()) {
            v.state = "waiting".into();
            v.next_step = Some(step.to_owned());
            reason.clone_into(&mut v.message);
            v.blocked = Some(Blocked::Other);
        }
    }
}

/// The core's facts of a service from what the round read, at chain time `now_secs`.
pub(super) fn plan_facts(f: &Read, now_secs: u64, instances: u32) -> ServiceFacts {
    let staking = f
        .staking
        .as_ref()
        .map_or(StakingState::Unstaked, |s| s.state);
    let program = f.staking.as_ref().map_or_else(StakingFacts::default, |s| {
        let slots = u64::try_from(s.max_services).unwrap_or(u64::MAX);
        StakingFacts {
            now_secs,
            stake_start_secs: u64::try_from(s.ts_start).unwrap_or(u64::MAX),
            min_staking_duration_secs: u64::try_from(s.min_staking_duration).unwrap_or(u64::MAX),
            has_available_rewards: !s.available_rewards.is_zero(),
            free_slots: slots.saturating_sub(s.staked_services),
        }
    });
    ServiceFacts {
        on_chain: f.state,
        staking,
        staking_program: f
            .staking
            .as_ref()
            .filter(|s| s.state.holds_stake())
            .map(|s| s.program),
        agent_instances: f.num_agent_instances,
        max_instances: if f.state == OnChainState::NonExistent {
            instances
        } else {
            f.max_agent_instances
        },
        current_program: program,
        target_program: program,
        has_multisig: f.multisig != Address::ZERO,
        // Re-registering the same agents lets the RecoveryModule reuse the Safe they own.
        master_safe_owns_multisig: true,
        has_rewards_to_claim: f.staking.as_ref().is_some_and(|s| !s.reward.is_zero()),
        update_needed: false,
        // The agent process is the supervisor's: the plan's agent steps are not the driver's.
        deployment: DeploymentStatus::Deployed,
    }
}

/// The on-chain steps from `facts` to `goal`: a target's, or one claim when there is a reward.
pub(super) fn goal_steps(
    facts: &ServiceFacts,
    goal: Goal,
    staking: Option<Address>,
) -> Result<Vec<Step>, tend_core::lifecycle::transitions::TransitionError> {
    match goal {
        Goal::Target(t) => chain_steps(facts, t, staking),
        Goal::Claimed if facts.staking == StakingState::Staked && facts.has_rewards_to_claim => {
            Ok(vec![Step::ClaimRewards])
        }
        Goal::Claimed => Ok(Vec::new()),
    }
}

/// The on-chain steps from `facts` to `target`, or why none can be taken now.
pub(super) fn chain_steps(
    facts: &ServiceFacts,
    target: OlasTarget,
    staking: Option<Address>,
) -> Result<Vec<Step>, tend_core::lifecycle::transitions::TransitionError> {
    let steps = match target {
        OlasTarget::DeployedAndStaked => plan(
            facts,
            Target::Running {
                staking_program: staking,
            },
        ),
        OlasTarget::Deployed => plan(
            facts,
            Target::Running {
                staking_program: None,
            },
        ),
        OlasTarget::Unstaked if facts.staking.holds_stake() => staking_next(
            facts.staking,
            StakingAction::Unstake,
            facts.on_chain,
            &facts.current_program,
        )
        .map(|_| tend_core::lifecycle::plan::TransitionPlan {
            steps: vec![Step::Unstake],
            warnings: Vec::new(),
        }),
        OlasTarget::Unstaked => Ok(tend_core::lifecycle::plan::TransitionPlan::default()),
        OlasTarget::Terminated => plan(facts, Target::Withdrawn),
    }?;
    Ok(steps
        .steps
        .into_iter()
        .filter(|s| match s {
            // The agent process is the supervisor's; moving funds out is not a step tend sends.
            Step::StopAgent | Step::Build | Step::StartAgent | Step::Withdraw => false,
            // Terminated is the end: the Safe's access moves back only for a reuse.
            Step::RecoverAccess => target != OlasTarget::Terminated,
            Step::ClaimRewards | Step::Unstake | Step::Registry { .. } | Step::Stake { .. } => true,
        })
        .collect())
}

impl Daemon {
    /// After a round of `chain`: the next step of each of its services with a target.
    pub(super) fn drive_lifecycle(&mut self, chain: ChainId) {
        let services: Vec<(String, OlasRegistry, Goal, Vec<Address>)> = self
            .config
            .services
            .iter()
            .filter_map(|s| {
                let spec = s.olas.as_ref()?;
                let r = spec.registry?;
                let goal = self.lifecycle.goal(&s.name, &r)?;
                (r.chain == chain).then(|| (s.name.clone(), r, goal, agents_of(spec)))
            })
            .collect();
        for (name, r, goal, agents) in services {
            let view = self.next_step(chain, &name, &r, goal, &agents);
            self.lifecycle.drives.entry(name).or_default().view = Some(view);
        }
    }

    fn next_step(
        &mut self,
        chain: ChainId,
        name: &str,
        r: &OlasRegistry,
        goal: Goal,
        agents: &[Address],
    ) -> LifecycleView {
        let view = |state: &str, next: Option<&Step>, message: String| LifecycleView {
            target: goal.name().into(),
            state: state.into(),
            next_step: next.map(|s| tend_core::lifecycle::calls::step_name(s).into()),
            blocked: (state == "waiting").then_some(Blocked::Other),
            message,
        };
        let blocked = |next: Option<&Step>, message: String, why: Blocked| LifecycleView {
            blocked: Some(why),
            ..view("waiting", next, message)
        };
        if let Some((tx, c)) = self
            .engine
            .steps_in_flight(chain)
            .find(|(_, c)| &*c.service == name)
        {
            let mut v = view(
                "sending",
                None,
                format!("step {} is in flight (record {tx})", c.step),
            );
            v.next_step = Some(c.step.clone());
            return v;
        }
        let drive = self.lifecycle.drives.entry(name.to_owned()).or_default();
        if let Some(why) = &drive.held {
            return view("held", None, why.clone());
        }
        let after = drive.after_block;
        let facts = super::lock(&self.rounds)
            .chains
            .get(&chain)
            .and_then(|c| c.facts.get(name).cloned());
        let f = match facts {
            Some(Ok(f)) if f.block >= after => f,
            Some(Ok(_)) | None => {
                return view(
                    "waiting",
                    None,
                    format!("waiting for the registry's facts at block {after} or later"),
                );
            }
            Some(Err(e)) => return view("waiting", None, format!("the facts: {e}")),
        };
        let now_secs = self.lifecycle.chain_time.get(&chain).copied().unwrap_or(0);
        let n = u32::try_from(agents.len()).unwrap_or(u32::MAX);
        let facts = plan_facts(&f, now_secs, n);
        let steps = match goal_steps(&facts, goal, r.staking) {
            Ok(s) => s,
            Err(
                e @ tend_core::lifecycle::transitions::TransitionError::StakingLocked {
                    unlock_at_secs,
                },
            ) => {
                return blocked(
                    Some(&Step::Unstake),
                    e.to_string(),
                    Blocked::Locked {
                        unlock_at: unlock_at_secs,
                    },
                );
            }
            Err(e) => return view("waiting", None, e.to_string()),
        };
        let Some(step) = steps.first() else {
            return view("at_target", None, format!("the service is {}", goal.name()));
        };
        let owner = self.config.lifecycle_owner(chain);
        if let Err((message, why)) = self.guards(chain, r, step, &f, agents.len()) {
            return match why {
                Some(why) => blocked(Some(step), message, why),
                None => view("waiting", Some(step), message),
            };
        }
        let calls = match step_calls_of(step, r, &f, &facts, agents, owner, now_secs) {
            Ok(Some(c)) => c,
            Ok(None) => return view("at_target", None, "nothing to send".into()),
            Err(e) => return view("waiting", Some(step), e),
        };
        let step_name = tend_core::lifecycle::calls::step_name(step);
        tracing::info!(service = %name, step = step_name, calls = calls.len(), "life-cycle step: sending");
        self.local.push_back(Input::Command {
            now: clock::now(),
            command: Command::Execute {
                chain,
                service: ServiceName::from(name),
                step: step_name.into(),
                calls,
            },
        });
        view("sending", Some(step), format!("step {step_name} goes out"))
    }

    /// What must hold before `step` is sent: the NFT is tend's (the funding key's, or the
    /// chain's Safe's), the bond token is there.
    fn guards(
        &self,
        chain: ChainId,
        r: &OlasRegistry,
        step: &Step,
        f: &Read,
        instances: usize,
    ) -> Result<(), (String, Option<Blocked>)> {
        let owner = self.config.lifecycle_owner(chain);
        let who = if owner == self.config.funder {
            "the funding key"
        } else {
            "the Safe"
        };
        if let Some((message, why)) = not_owner(r, f, owner) {
            return Err((message, Some(why)));
        }
        if let Some(needs) = bond_needed(step, f, instances) {
            let has = super::lock(&self.rounds)
                .chains
                .get(&chain)
                .and_then(|c| c.balances.get(&(owner, f.deposit_token.into())).copied());
            let Some(has) = has else {
                return Err((format!("reading {who}'s balance of the bond token"), None));
            };
            if has < needs {
                return Err((
                    format!(
                        "{} needs {needs} of token {} on {who} {owner}, which holds {has}: send \
                         it {} more",
                        tend_core::lifecycle::calls::step_name(step),
                        f.deposit_token,
                        needs - has
                    ),
                    Some(Blocked::TokenShort {
                        holder: owner,
                        token: f.deposit_token,
                        has: has.to_string(),
                        needs: needs.to_string(),
                    }),
                ));
            }
        }
        Ok(())
    }
}

/// The calls of `step` for service `r` as the round found it (`f`, `facts`), made by `owner`
/// (the funding key, or the Safe whose transaction carries them); why not, for a person.
fn step_calls_of(
    step: &Step,
    r: &OlasRegistry,
    f: &Read,
    facts: &ServiceFacts,
    agents: &[Address],
    owner: Address,
    now_secs: u64,
) -> Result<Option<Vec<tend_core::engine::io::Call>>, String> {
    let Some(lc) = r.lifecycle else {
        return Err(format!(
            "the life-cycle contracts of chain {} are unknown: give its [[chains]] entry olas = \
             {{ …, recovery_module = \"0x…\", multisig_implementation = \"0x…\" }}",
            r.chain
        ));
    };
    let Some(manager) = lc.service_manager.or(f.manager) else {
        return Err(
            "the registry did not name its service manager: set [[chains]] olas.service_manager"
                .into(),
        );
    };
    let reuse = f.multisig != Address::ZERO;
    if matches!(step, Step::Registry { action } if *action == tend_core::lifecycle::transitions::RegistryAction::Deploy)
        && !reuse
        && lc.multisig_implementation.is_none()
    {
        return Err(
            "a new service Safe needs the multisig implementation: set [[chains]] \
             olas.multisig_implementation"
                .into(),
        );
    }
    if agents.is_empty() {
        return Err(
            "the agent instances are not configured: set [services.olas.service] \
             agent_addresses"
                .into(),
        );
    }
    let contracts = LifecycleContracts {
        service_registry: r.contracts.service_registry,
        token_utility: r.contracts.token_utility,
        service_manager: manager,
        multisig_implementation: lc.multisig_implementation.unwrap_or(Address::ZERO),
        recovery_module: lc.recovery_module,
        fallback_handler: lc.fallback_handler,
    };
    let bond = if f.agent_bond.is_zero() {
        f.deposit
    } else {
        f.agent_bond
    };
    let service = ServiceDefinition {
        token: f.deposit_token,
        config_hash: B256::ZERO,
        agent_id: r.agent_id,
        instances: agents.to_vec(),
        threshold: u32::try_from(agents.len()).unwrap_or(u32::MAX),
        bond: bond.max(U256::from(1)),
    };
    let ctx = StepContext {
        contracts: &contracts,
        service: &service,
        owner,
        service_id: Some(r.service_id),
        staked_in: facts.staking_program,
        reuse_multisig: reuse,
        salt: now_secs,
    };
    step_calls(step, &ctx)
        .map(|c| c.map(|c| c.calls))
        .map_err(|e| e.to_string())
}

/// The service's NFT is held by neither `expected` (tend's funding key or the chain's Safe) nor
/// its staking program: what to say.
fn not_owner(r: &OlasRegistry, f: &Read, expected: Address) -> Option<(String, Blocked)> {
    let owner = f.owner?;
    (owner != expected && Some(owner) != f.staking.as_ref().map(|s| s.program)).then(|| {
        (
            format!(
                "service {} is owned by {owner}, not by {expected} (tend's funding key, or the \
                 chain's safe when it pays from one): tend cannot take it to its target",
                r.service_id
            ),
            Blocked::NotOwner { owner, expected },
        )
    })
}

/// What a token-secured step takes from its owner: the deposit (activate) or the bonds
/// (register); `None` for the other steps and for a native-secured service.
fn bond_needed(step: &Step, f: &Read, instances: usize) -> Option<U256> {
    use tend_core::lifecycle::transitions::RegistryAction as A;
    if f.deposit_token == Address::ZERO
        || f.deposit_token == tend_core::lifecycle::calls::NATIVE_TOKEN
    {
        return None;
    }
    let bond = if f.agent_bond.is_zero() {
        f.deposit
    } else {
        f.agent_bond
    };
    match step {
        Step::Registry {
            action: A::ActivateRegistration,
        } => Some(f.deposit),
        Step::Registry {
            action: A::RegisterAgents,
        } => Some(bond.saturating_mul(U256::from(instances))),
        Step::Registry { .. }
        | Step::StopAgent
        | Step::ClaimRewards
        | Step::Unstake
        | Step::RecoverAccess
        | Step::Stake { .. }
        | Step::Withdraw
        | Step::Build
        | Step::StartAgent => None,
    }
}

/// The agent instances `[services.olas.service] agent_addresses` names.
pub fn agents_of(spec: &crate::config::OlasSpec) -> Vec<Address> {
    spec.service["agent_addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str()?.parse::<Address>().ok())
        .collect()
}

/// What taking service `name` to `goal` would send from where the chain has it now, step by
/// step (`tend olas … --dry-run`, `GET /v1/services/{name}/olas/plan`): each step's calls are
/// those of the facts read now (a later step's may differ once the earlier ones landed).
pub fn preview(
    name: &str,
    now: &crate::chain::olas_status::FactsNow,
    goal: Goal,
    agents: &[Address],
    owner: Address,
) -> serde_json::Value {
    let f = &now.facts;
    let n = u32::try_from(agents.len()).unwrap_or(u32::MAX);
    let facts = plan_facts(f, now.timestamp, n);
    let (steps, blocked) = match goal_steps(&facts, goal, now.registry.staking) {
        Ok(s) => (s, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut blocked = blocked.or_else(|| {
        (!steps.is_empty())
            .then(|| not_owner(&now.registry, f, owner).map(|(m, _)| m))
            .flatten()
    });
    let steps: Vec<serde_json::Value> = steps
        .iter()
        .map(|step| {
            let calls =
                match step_calls_of(step, &now.registry, f, &facts, agents, owner, now.timestamp) {
                    Ok(c) => c.unwrap_or_default(),
                    Err(e) => {
                        blocked.get_or_insert(e);
                        Vec::new()
                    }
                };
            serde_json::json!({
                "step": tend_core::lifecycle::calls::step_name(step),
                "calls": calls.iter().map(|c| serde_json::json!({
                    "to": tend_core::address::checksum(&c.to),
                    "value": c.value.to_string(),
                    "gas": c.gas,
                    "data": alloy::primitives::hex::encode_prefixed(&c.data),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "service": name,
        "goal": goal.name(),
        "chain": now.registry.chain,
        "block": f.block,
        "state": f.state,
        "staking": f.staking.as_ref().map(|s| s.state),
        "at_goal": steps.is_empty() && blocked.is_none(),
        "blocked": blocked,
        "transactions": steps.iter().map(|s| s["calls"].as_array().map_or(0, Vec::len)).sum::<usize>(),
        "steps": steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tend_core::lifecycle::transitions::{RegistryAction as A, TransitionError};

    fn facts(on_chain: OnChainState, staking: StakingState, reward: bool) -> ServiceFacts {
        let program = StakingFacts {
            now_secs: 10_000,
            stake_start_secs: 1_000,
            min_staking_duration_secs: 5_000,
            has_available_rewards: true,
            free_slots: 3,
        };
        ServiceFacts {
            on_chain,
            staking,
            staking_program: staking.holds_stake().then_some(Address::repeat_byte(7)),
            agent_instances: u32::from(on_chain >= OnChainState::FinishedRegistration),
            max_instances: 1,
            current_program: program,
            target_program: program,
            has_multisig: on_chain == OnChainState::Deployed,
            master_safe_owns_multisig: true,
            has_rewards_to_claim: reward,
            update_needed: false,
            deployment: DeploymentStatus::Deployed,
        }
    }

    fn names(steps: &[Step]) -> Vec<&'static str> {
        steps
            .iter()
            .map(tend_core::lifecycle::calls::step_name)
            .collect()
    }

    #[test]
    fn each_goal_from_each_state_takes_the_olas_steps() {
        use OnChainState as S;
        use StakingState as K;
        let p = Some(Address::repeat_byte(7));
        let to_staked =
            |f| names(&goal_steps(&f, Goal::Target(OlasTarget::DeployedAndStaked), p).unwrap());
        assert_eq!(
            to_staked(facts(S::PreRegistration, K::Unstaked, false)),
            [
                "activate_registration",
                "register_agents",
                "deploy",
                "stake"
            ]
        );
        assert_eq!(
            to_staked(facts(S::FinishedRegistration, K::Unstaked, false)),
            ["deploy", "stake"]
        );
        assert!(to_staked(facts(S::Deployed, K::Staked, true)).is_empty());
        // Evicted: out and in again.
        assert_eq!(
            to_staked(facts(S::Deployed, K::Evicted, false)),
            ["unstake", "stake"]
        );
        let staked = facts(S::Deployed, K::Staked, true);
        assert_eq!(
            names(&goal_steps(&staked, Goal::Target(OlasTarget::Terminated), p).unwrap()),
            ["claim", "unstake", "terminate", "unbond"]
        );
        assert_eq!(
            names(&goal_steps(&staked, Goal::Target(OlasTarget::Deployed), p).unwrap()),
            ["unstake"]
        );
        assert_eq!(
            names(&goal_steps(&staked, Goal::Claimed, p).unwrap()),
            ["claim"]
        );
        assert!(
            goal_steps(&facts(S::Deployed, K::Staked, false), Goal::Claimed, p)
                .unwrap()
                .is_empty()
        );
        assert!(
            goal_steps(
                &facts(S::PreRegistration, K::Unstaked, false),
                Goal::Target(OlasTarget::Unstaked),
                p
            )
            .unwrap()
            .is_empty()
        );
        // Locked: the unlock time, typed.
        let mut locked = staked;
        locked.current_program.now_secs = 2_000;
        assert_eq!(
            goal_steps(&locked, Goal::Target(OlasTarget::Unstaked), p),
            Err(TransitionError::StakingLocked {
                unlock_at_secs: locked.current_program.unlock_at_secs()
            })
        );
        assert_eq!(
            goal_steps(
                &facts(S::TerminatedBonded, K::Unstaked, false),
                Goal::Target(OlasTarget::Terminated),
                p
            )
            .unwrap(),
            [Step::Registry { action: A::Unbond }]
        );
    }
}
