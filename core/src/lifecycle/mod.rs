//! Olas service states with their wire values (`shared/domain/olas-middleware.md` §3), their
//! transition tables with guards ([`transitions`]), the planner from where a service is to where
//! the operator wants it ([`plan`]), and start-up recovery of services found mid-transition
//! ([`recovery`]). The local process life cycle of an agent is [`crate::health::ProcessState`].

pub mod calls;
pub mod plan;
pub mod recovery;
pub mod transitions;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

/// The on-chain service state of `ServiceRegistryL2` (§3.1).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OnChainState {
    /// 0: no service with this id.
    NonExistent,
    /// 1: minted, not yet open for registration.
    PreRegistration,
    /// 2: open for agent registration; the security deposit is held.
    ActiveRegistration,
    /// 3: every agent instance registered.
    FinishedRegistration,
    /// 4: the service multisig exists.
    Deployed,
    /// 5: terminated, agent bonds still held.
    TerminatedBonded,
    /// 6: exists in the enum only; the chain never returns it.
    Unbonded,
}

/// A wire value that is not a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{value} is not a valid {what} (expected 0..={max})")]
pub struct InvalidStateValue {
    /// The value as read.
    pub value: u64,
    /// Which enum.
    pub what: &'static str,
    /// The largest valid value.
    pub max: u8,
}

impl OnChainState {
    /// The wire value (0–6).
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The state with this wire value.
    pub fn from_value(value: u64) -> Result<Self, InvalidStateValue> {
        Ok(match value {
            0 => Self::NonExistent,
            1 => Self::PreRegistration,
            2 => Self::ActiveRegistration,
            3 => Self::FinishedRegistration,
            4 => Self::Deployed,
            5 => Self::TerminatedBonded,
            6 => Self::Unbonded,
            _ => {
                return Err(InvalidStateValue {
                    value,
                    what: "on-chain service state",
                    max: 6,
                });
            }
        })
    }

    /// Whether the registry holds the security deposit: `ACTIVE_REGISTRATION ≤ state <
    /// TERMINATED_BONDED`.
    pub fn holds_security_deposit(self) -> bool {
        (Self::ActiveRegistration..Self::TerminatedBonded).contains(&self)
    }
}

/// The staking state of a service in a staking program (§3.4).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StakingState {
    /// 0: not staked.
    Unstaked,
    /// 1: staked.
    Staked,
    /// 2: evicted for inactivity, still holding its stake.
    Evicted,
}

impl StakingState {
    /// The wire value (0–2).
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The state with this wire value.
    pub fn from_value(value: u64) -> Result<Self, InvalidStateValue> {
        Ok(match value {
            0 => Self::Unstaked,
            1 => Self::Staked,
            2 => Self::Evicted,
            _ => {
                return Err(InvalidStateValue {
                    value,
                    what: "staking state",
                    max: 2,
                });
            }
        })
    }

    /// Staked or evicted: the program still holds the service's stake.
    pub fn holds_stake(self) -> bool {
        matches!(self, Self::Staked | Self::Evicted)
    }
}

/// The local deployment status of a service (§3.5).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    /// 0: first access, or a corrupt deployment record.
    Created,
    /// 1: built, not running.
    Built,
    /// 2: starting.
    Deploying,
    /// 3: running.
    Deployed,
    /// 4: stopping.
    Stopping,
    /// 5: exists in the enum; the middleware never assigns it (Q10).
    Stopped,
    /// 6: deleted.
    Deleted,
}

impl DeploymentStatus {
    /// The wire value (0–6).
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The status with this wire value.
    pub fn from_value(value: u64) -> Result<Self, InvalidStateValue> {
        Ok(match value {
            0 => Self::Created,
            1 => Self::Built,
            2 => Self::Deploying,
            3 => Self::Deployed,
            4 => Self::Stopping,
            5 => Self::Stopped,
            6 => Self::Deleted,
            _ => {
                return Err(InvalidStateValue {
                    value,
                    what: "deployment status",
                    max: 6,
                });
            }
        })
    }

    /// The dashboard's "transitioning" group: DEPLOYING or STOPPING.
    pub fn is_transitioning(self) -> bool {
        matches!(self, Self::Deploying | Self::Stopping)
    }

    /// The dashboard's "running" group: DEPLOYED or DEPLOYING.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Deployed | Self::Deploying)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_round_trip() {
        for v in 0..=6 {
            assert_eq!(u64::from(OnChainState::from_value(v).unwrap().value()), v);
        }
        assert!(OnChainState::from_value(7).is_err());
        for v in 0..=2 {
            assert_eq!(u64::from(StakingState::from_value(v).unwrap().value()), v);
        }
        assert!(StakingState::from_value(3).is_err());
        for v in 0..=6 {
            assert_eq!(
                u64::from(DeploymentStatus::from_value(v).unwrap().value()),
                v
            );
        }
        assert!(DeploymentStatus::from_value(7).is_err());
    }

    #[test]
    fn deposit_window() {
        let held: Vec<u8> = (0..=6)
            .map(|v| OnChainState::from_value(v).unwrap())
            .filter(|s| s.holds_security_deposit())
            .map(OnChainState::value)
            .collect();
        assert_eq!(held, vec![2, 3, 4]);
    }
}
