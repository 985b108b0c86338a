//! Start-up recovery: a service found mid-transition, or whose recorded status disagrees with
//! the process table, is resolved to its true state from process and chain facts — not blindly
//! reset to BUILT as the middleware does (§3.5), and never left DEPLOYED for an agent that does
//! not run (Q8).

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use super::{DeploymentStatus, OnChainState};

/// What the daemon found at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct FoundFacts {
    /// The status the journal recorded.
    pub recorded: DeploymentStatus,
    /// A live agent process was found through its PID file (same PID, start time and command
    /// line).
    pub process_alive: bool,
    /// The on-chain state, if it could be read.
    pub on_chain: Option<OnChainState>,
    /// The operator wants the service running.
    pub wants_running: bool,
}

/// What to do about the found process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryAction {
    /// Nothing.
    None,
    /// Keep the live process and supervise it.
    Adopt,
    /// Stop the live process (it should not run).
    Stop,
    /// Start the agent (it should run and does not).
    Start,
}

/// Why the recovered state is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryReason {
    /// The record and the process agree.
    Consistent,
    /// A start was interrupted, but the agent runs: it finished.
    StartCompleted,
    /// A start was interrupted and no agent runs.
    StartInterrupted,
    /// A stop was interrupted and the agent still runs: finish the stop.
    StopInterrupted,
    /// A stop was interrupted and the agent is gone: it finished.
    StopCompleted,
    /// Recorded as running, but no agent runs (it died while the daemon was down).
    ProcessGone,
    /// An agent runs that the record says should not.
    LeftoverProcess,
    /// The service is not deployed on chain, so the agent cannot run.
    NotDeployedOnChain,
}

/// The resolved state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Recovery {
    /// The true status.
    pub status: DeploymentStatus,
    /// What to do.
    pub action: RecoveryAction,
    /// Why.
    pub reason: RecoveryReason,
}

/// Resolves a service's true state at daemon start-up.
pub fn recover(f: &FoundFacts) -> Recovery {
    use DeploymentStatus as S;
    use RecoveryAction as A;
    use RecoveryReason as R;
    let r = |status, action, reason| Recovery {
        status,
        action,
        reason,
    };
    let deployed_on_chain = f.on_chain.is_none_or(|s| s == OnChainState::Deployed);
    let (status, reason) = match (f.recorded, f.process_alive) {
        (S::Deploying, true) => (S::Deployed, R::StartCompleted),
        (S::Deploying, false) => (S::Built, R::StartInterrupted),
        (S::Stopping, true) => {
            return r(S::Stopping, A::Stop, R::StopInterrupted);
        }
        (S::Stopping, false) => (S::Built, R::StopCompleted),
        (S::Deployed, true) => (S::Deployed, R::Consistent),
        (S::Deployed, false) => (S::Built, R::ProcessGone),
        (S::Created | S::Built | S::Stopped | S::Deleted, true) => {
            return r(f.recorded, A::Stop, R::LeftoverProcess);
        }
        (S::Created | S::Built | S::Stopped | S::Deleted, false) => (f.recorded, R::Consistent),
    };
    if status == S::Deployed {
        if !f.wants_running {
            return r(S::Stopping, A::Stop, reason);
        }
        if !deployed_on_chain {
            return r(S::Stopping, A::Stop, R::NotDeployedOnChain);
        }
        return r(S::Deployed, A::Adopt, reason);
    }
    if f.wants_running && status != S::Deleted && deployed_on_chain {
        return r(status, A::Start, reason);
    }
    r(status, A::None, reason)
}
