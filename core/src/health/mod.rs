//! Health verdicts: a reducer over samples of an agent process (probe results, exits, spawns,
//! operator commands) that decides when it is healthy, when to restart it, how long to back off,
//! and when to give up (`shared/domain/olas-middleware.md` §4, `shared/domain/anchors.md` §4).
//!
//! The pieces are reusable: [`Hysteresis`] (consecutive failure and success thresholds) and
//! [`Backoff`] also judge RPC endpoints and chains in [`crate::rpc`]; [`FlapDetector`] is the
//! sliding window that turns a crash loop into [`Status::Failed`] instead of restarting forever
//! (the supervisord hole, Olas quirk Q6).
//!
//! The process life cycle: `Stopped → Starting → Running → Stopping → Stopped`, with
//! `BackingOff` between a failure and the next start and `Failed` when the flap detector or the
//! streak limit gives up. Every verdict carries a [`Reason`].

mod body;
mod counters;
mod monitor;

pub use body::{BodyError, Flag, HealthBody};
pub use counters::{Backoff, FlapDetector, Hysteresis};
pub use monitor::AgentMonitor;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::time::Timestamp;

/// Slack after the probe timeout before an unanswered probe counts as timed out, ms.
pub const PROBE_SLACK_MS: u64 = 1_000;

/// How an agent is judged and restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct HealthPolicy {
    /// Time between the end of one probe and the start of the next, ms.
    pub period_ms: u64,
    /// A probe that takes longer fails (the adapter enforces it), ms.
    pub probe_timeout_ms: u64,
    /// After a start, failed probes do not count for this long; the agent must become healthy
    /// within it, ms.
    pub startup_budget_ms: u64,
    /// Failed probes in a row that make a running agent unhealthy (restart).
    pub failure_threshold: u32,
    /// Successful probes in a row that make a starting or degraded agent healthy.
    pub success_threshold: u32,
    /// Whether a 200 answer must carry an Olas healthcheck body with a true verdict.
    pub require_olas_body: bool,
    /// The first restart delay, ms.
    pub backoff_initial_ms: u64,
    /// The largest restart delay, ms.
    pub backoff_max_ms: u64,
    /// Healthy this long in one run and the restart delay starts again from the first, ms.
    pub backoff_reset_after_ms: u64,
    /// The flap window, ms.
    pub flap_window_ms: u64,
    /// Restarts within the flap window that end in `Failed`.
    pub flap_max_restarts: u32,
    /// Restarts in a row without ever becoming healthy that end in `Failed` (Olas failfast:
    /// 5 since 0.15.47, 15 before).
    pub streak_max_restarts: u32,
    /// Time since the first restart of a streak after which the next failure ends in `Failed`
    /// (Olas failfast: a rolling hour since 0.15.47, 900 s before), ms.
    pub streak_max_ms: u64,
    /// SIGTERM, then this long before SIGKILL to the process group, ms.
    pub stop_grace_ms: u64,
}

impl HealthPolicy {
    /// tend's default: a dead process is known at its exit; an agent that listens but does not
    /// answer is caught within about a minute (5 failures × 10 s period, 5 s probe timeout);
    /// a crash after a healthy run is restarted after 0.5 s, and further restarts back off
    /// (doubling up to 5 min), reset after 10 min healthy; 10 restarts in 30 min or 10 in a row
    /// without becoming healthy (about 8 minutes of a crash loop) end in `Failed`.
    pub const fn tend() -> Self {
        Self {
            period_ms: 10_000,
            probe_timeout_ms: 5_000,
            startup_budget_ms: 180_000,
            failure_threshold: 5,
            success_threshold: 2,
            require_olas_body: false,
            backoff_initial_ms: 500,
            backoff_max_ms: 300_000,
            backoff_reset_after_ms: 600_000,
            flap_window_ms: 1_800_000,
            flap_max_restarts: 10,
            streak_max_restarts: 10,
            streak_max_ms: 3_600_000,
            stop_grace_ms: 10_000,
        }
    }

    /// Olas-compatible timing, as the middleware 0.15.47 has it (§4.1, §12): a probe every 5 s,
    /// 90 s request timeout, no startup budget (Q5: probes count at once), 60 failures in a row
    /// to restart, failing restarts 30 s apart, and failfast: the 5th restart attempt within a
    /// rolling hour stops the service (every attempt counts, a healthy stretch does not reset
    /// the count), so a never-healthy agent ends `Failed` about 25 minutes in. Unlike the
    /// middleware, a restart that never becomes healthy is also bounded by the streak rule (Q7).
    pub const fn olas() -> Self {
        Self {
            period_ms: 5_000,
            probe_timeout_ms: 90_000,
            startup_budget_ms: 0,
            failure_threshold: 60,
            success_threshold: 1,
            require_olas_body: true,
            backoff_initial_ms: 30_000,
            backoff_max_ms: 30_000,
            backoff_reset_after_ms: 600_000,
            flap_window_ms: 3_600_000,
            flap_max_restarts: 5,
            streak_max_restarts: 5,
            streak_max_ms: 3_600_000,
            stop_grace_ms: 10_000,
        }
    }
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self::tend()
    }
}

/// One health probe's result, as the adapter saw it. JSON: tagged by `"result"`, read tag first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ProbeResult {
    /// An HTTP answer.
    Http {
        /// The status code.
        status: u16,
        /// How long the probe took, ms.
        latency_ms: u64,
        /// The body's verdict: `Some` when the body is an Olas healthcheck document.
        body: Option<HealthBody>,
    },
    /// The connection was refused (nothing listens).
    Refused,
    /// No answer within the probe timeout.
    Timeout,
    /// Another transport error.
    Error {
        /// What the adapter saw (never contains secrets).
        message: String,
    },
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct ExitStatus {
    /// The exit code, if it exited.
    pub code: Option<i32>,
    /// The signal, if a signal ended it.
    pub signal: Option<i32>,
}

/// The coarse verdict.
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
pub enum Status {
    /// Not running, by request.
    Stopped,
    /// Started, not yet healthy, within the startup budget.
    Starting,
    /// Running and healthy.
    Healthy,
    /// Running; some probes fail, fewer than the threshold in a row.
    Degraded,
    /// Being stopped: SIGTERM sent, waiting for the exit.
    Stopping,
    /// Waiting before the next start.
    BackingOff,
    /// Given up; needs an operator.
    Failed,
}

/// Why the verdict is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Never started, or stopped by the operator.
    StoppedByOperator,
    /// Just spawned.
    Spawned,
    /// A running process left by a previous daemon was adopted.
    Adopted,
    /// The last probe succeeded.
    ProbeOk,
    /// The probe answered with a non-200 status.
    ProbeStatus {
        /// The status.
        status: u16,
    },
    /// The probe answered 200 but the body says unhealthy (or is missing where required).
    BodyUnhealthy,
    /// Nothing listens.
    ConnectionRefused,
    /// No answer in time.
    ProbeTimeout,
    /// Another probe error.
    ProbeError,
    /// The process exited.
    Exited {
        /// The exit code.
        code: Option<i32>,
        /// The signal.
        signal: Option<i32>,
    },
    /// The process could not be spawned.
    SpawnFailed,
    /// Not healthy within the startup budget.
    StartupBudgetExceeded,
    /// `failure_threshold` failed probes in a row.
    FailureThreshold {
        /// Failures in a row.
        failures: u32,
    },
    /// Too many restarts within the flap window.
    Flapping {
        /// Restarts in the window.
        restarts: u32,
        /// The window, ms.
        window_ms: u64,
    },
    /// Too many restarts in a row without becoming healthy.
    RestartStreak {
        /// Restarts in the streak.
        restarts: u32,
        /// Time since the streak's first restart, ms.
        elapsed_ms: u64,
    },
    /// The grace period passed without an exit; the group was killed.
    KilledAfterGrace,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::StoppedByOperator => f.write_str("stopped by the operator"),
            Self::Spawned => f.write_str("started"),
            Self::Adopted => f.write_str("adopted from a previous tend"),
            Self::ProbeOk => f.write_str("probe ok"),
            Self::ProbeStatus { status } => write!(f, "probe answered HTTP {status}"),
            Self::BodyUnhealthy => f.write_str("healthcheck body says unhealthy"),
            Self::ConnectionRefused => f.write_str("health URL refused the connection"),
            Self::ProbeTimeout => f.write_str("probe timed out"),
            Self::ProbeError => f.write_str("probe failed"),
            Self::Exited {
                code: Some(c),
                signal: _,
            } => write!(f, "exited with code {c}"),
            Self::Exited {
                code: None,
                signal: Some(s),
            } => write!(f, "killed by signal {s}"),
            Self::Exited {
                code: None,
                signal: None,
            } => f.write_str("exited"),
            Self::SpawnFailed => f.write_str("could not be started"),
            Self::StartupBudgetExceeded => f.write_str("not healthy within the startup budget"),
            Self::FailureThreshold { failures } => write!(f, "{failures} failed probes in a row"),
            Self::Flapping {
                restarts,
                window_ms,
            } => write!(
                f,
                "{restarts} restarts within {} s (flapping)",
                window_ms / 1000
            ),
            Self::RestartStreak {
                restarts,
                elapsed_ms,
            } => write!(
                f,
                "{restarts} restarts in {} s without becoming healthy",
                elapsed_ms / 1000
            ),
            Self::KilledAfterGrace => f.write_str("killed after the stop grace period"),
        }
    }
}

/// The verdict: status and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Verdict {
    /// The status.
    pub status: Status,
    /// Why.
    pub reason: Reason,
}

/// What the monitor asks the adapter to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Spawn the agent process.
    Spawn,
    /// Send SIGTERM to the agent's process group.
    Terminate,
    /// Send SIGKILL to the agent's process group.
    Kill,
    /// Probe the health URL now.
    Probe,
    /// Tell the operator: the agent failed for good.
    Alert {
        /// Why.
        reason: Reason,
    },
}

/// What one monitor call asks of the adapter, in order: at most two actions (a terminate and
/// an alert), held inline so that a probe every few seconds allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actions([Option<Action>; 2]);

impl Actions {
    /// No action.
    pub const NONE: Self = Self([None, None]);

    pub(super) fn one(a: Action) -> Self {
        Self([Some(a), None])
    }

    pub(super) fn two(a: Action, b: Action) -> Self {
        Self([Some(a), Some(b)])
    }

    /// True when nothing is asked.
    pub fn is_empty(&self) -> bool {
        self.0[0].is_none()
    }

    /// The actions, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Action> {
        self.0.iter().flatten()
    }

    /// The actions as a vector.
    pub fn to_vec(&self) -> Vec<Action> {
        self.iter().cloned().collect()
    }

    /// Drops every `action` (keeping the order of the rest).
    pub(super) fn without(self, action: &Action) -> Self {
        let mut kept = self.0.into_iter().flatten().filter(|a| a != action);
        Self([kept.next(), kept.next()])
    }
}

impl IntoIterator for Actions {
    type Item = Action;
    type IntoIter = std::iter::Flatten<std::array::IntoIter<Option<Action>, 2>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
}

/// Why the monitor wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Wake {
    /// Time for the next probe.
    Probe,
    /// The outstanding probe never came back: count it as a timeout.
    ProbeOverdue,
    /// The startup budget ends.
    StartupBudget,
    /// The backoff ends: start again.
    BackoffEnd,
    /// The stop grace period ends: kill.
    StopGrace,
}

/// What happens after a stop completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum AfterStop {
    /// Stay stopped (operator stop).
    Stay,
    /// Back off, then start again (restart).
    Restart,
    /// Stay failed.
    Fail,
}

/// The process life cycle, each state named by what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProcessState {
    /// Not running; waits for a start command.
    Stopped,
    /// Spawn asked; waits for the adapter to confirm it.
    Spawning {
        /// When it was asked.
        since: Timestamp,
    },
    /// Running, not yet healthy; waits for `success_threshold` good probes within the budget.
    Starting {
        /// When it was spawned.
        since: Timestamp,
    },
    /// Running and past its start.
    Running {
        /// When it became healthy.
        healthy_since: Timestamp,
    },
    /// SIGTERM sent; waits for the exit, or the grace deadline.
    Stopping {
        /// When to SIGKILL.
        kill_at: Timestamp,
        /// What then.
        then: AfterStop,
    },
    /// Waits until `until` to start again.
    BackingOff {
        /// When to start.
        until: Timestamp,
    },
    /// Given up; waits for an operator.
    Failed,
}

/// One health observation for the browser's health calculator (`healthVerdict`), at a time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthSample {
    /// The operator asked for the agent to run.
    Start {
        /// When.
        at: Timestamp,
    },
    /// The process was spawned.
    Spawned {
        /// When.
        at: Timestamp,
    },
    /// A probe's result (the caller made the probe).
    Probe {
        /// When the result came.
        at: Timestamp,
        /// The result.
        result: ProbeResult,
    },
    /// The process exited.
    Exited {
        /// When.
        at: Timestamp,
        /// How.
        status: ExitStatus,
    },
    /// The operator asked for the agent to stop.
    Stop {
        /// When.
        at: Timestamp,
    },
    /// Time passed.
    Tick {
        /// Now.
        at: Timestamp,
    },
}

/// What the browser's health calculator (`healthVerdict`) is asked: a preset or a policy, and
/// the samples in order. Parsed here so the wasm package holds one copy of each deserializer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, FromJson)]
#[serde(deny_unknown_fields)]
pub struct HealthRequest {
    /// `"tend"` (the default) or `"olas"`; ignored when `policy` is given.
    #[serde(default)]
    pub preset: Option<String>,
    /// A full policy.
    #[serde(default)]
    pub policy: Option<HealthPolicy>,
    /// The observations, oldest first.
    pub samples: Vec<HealthSample>,
}

impl HealthRequest {
    /// Parses a request from JSON text.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }
}
