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

pub use body::{BodyError, Flag, HealthBody};

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::time::Timestamp;

/// Slack after the probe timeout before an unanswered probe counts as timed out, ms.
pub const PROBE_SLACK_MS: u64 = 1_000;

/// Consecutive-failure and consecutive-success thresholds with hysteresis: `up` until
/// `failure_threshold` failures in a row, then `down` until `success_threshold` successes in a
/// row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Hysteresis {
    /// Failures in a row that turn it down (at least 1).
    pub failure_threshold: u32,
    /// Successes in a row that turn it up again (at least 1).
    pub success_threshold: u32,
    failures: u32,
    successes: u32,
    up: bool,
}

impl Hysteresis {
    /// Starts up, with no streak.
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
            failures: 0,
            successes: 0,
            up: true,
        }
    }

    /// Starts down: it must earn `success_threshold` successes first.
    pub fn new_down(failure_threshold: u32, success_threshold: u32) -> Self {
        Self {
            up: false,
            ..Self::new(failure_threshold, success_threshold)
        }
    }

    /// Records one sample; returns whether it is up afterwards.
    pub fn record(&mut self, ok: bool) -> bool {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if !self.up && self.successes >= self.success_threshold {
                self.up = true;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.up && self.failures >= self.failure_threshold {
                self.up = false;
            }
        }
        self.up
    }

    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Failures in a row now.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Successes in a row now.
    pub fn successes(&self) -> u32 {
        self.successes
    }
}

/// Exponential backoff: `initial × 2^attempt`, capped, reset by [`Backoff::reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Backoff {
    /// The first delay, ms.
    pub initial_ms: u64,
    /// The largest delay, ms.
    pub max_ms: u64,
    attempt: u32,
}

impl Backoff {
    /// A backoff at attempt 0.
    pub const fn new(initial_ms: u64, max_ms: u64) -> Self {
        Self {
            initial_ms,
            max_ms,
            attempt: 0,
        }
    }

    /// The next delay; the one after it is twice as long (up to the cap).
    pub fn next_delay(&mut self) -> u64 {
        let d = self.peek();
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// The next delay without counting it.
    pub fn peek(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt.min(63)).unwrap_or(u64::MAX);
        self.initial_ms.saturating_mul(factor).min(self.max_ms)
    }

    /// Back to the first delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Delays taken since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// Counts events in a sliding time window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct FlapDetector {
    /// The window, ms.
    pub window_ms: u64,
    /// Events in the window at which it trips.
    pub max_events: u32,
    events: VecDeque<Timestamp>,
}

impl FlapDetector {
    /// A detector that trips at `max_events` events within `window_ms`.
    pub fn new(window_ms: u64, max_events: u32) -> Self {
        Self {
            window_ms,
            max_events,
            events: VecDeque::new(),
        }
    }

    /// Records an event at `now`; returns whether the window now holds `max_events` or more.
    pub fn record(&mut self, now: Timestamp) -> bool {
        self.events.push_back(now);
        self.count(now) >= self.max_events
    }

    /// Events within the window ending at `now` (older ones are forgotten).
    pub fn count(&mut self, now: Timestamp) -> u32 {
        while self
            .events
            .front()
            .is_some_and(|t| now.since(*t) >= self.window_ms)
        {
            self.events.pop_front();
        }
        u32::try_from(self.events.len()).unwrap_or(u32::MAX)
    }
}

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
    /// 15).
    pub streak_max_restarts: u32,
    /// Time since the first restart of a streak after which the next failure ends in `Failed`
    /// (Olas failfast: 900 s), ms.
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

    /// Olas-compatible timing (§4.1): a probe every 5 s, 90 s request timeout, no startup budget
    /// (Q5: probes count at once), 60 failures in a row to restart, failing restarts 30 s apart,
    /// failfast after 15 restarts in a streak or 900 s. Unlike the middleware, a restart that
    /// never becomes healthy counts toward failfast (Q7) and successful restarts are bounded by
    /// the flap window (Q6).
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
            flap_max_restarts: 12,
            streak_max_restarts: 15,
            streak_max_ms: 900_000,
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

    fn one(a: Action) -> Self {
        Self([Some(a), None])
    }

    fn two(a: Action, b: Action) -> Self {
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
    fn without(self, action: &Action) -> Self {
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

/// The health monitor of one agent process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct AgentMonitor {
    policy: HealthPolicy,
    state: ProcessState,
    verdict: Verdict,
    liveness: Hysteresis,
    backoff: Backoff,
    flaps: FlapDetector,
    /// Restarts since the agent was last healthy, and when the first of them happened.
    streak: Option<(u32, Timestamp)>,
    /// A probe is out (since when); no new one until its result.
    probe_out: bool,
    probe_sent_at: Timestamp,
    next_probe_at: Timestamp,
    restarts: u64,
}

impl AgentMonitor {
    /// A stopped agent under `policy`.
    pub fn new(policy: HealthPolicy) -> Self {
        Self {
            policy,
            state: ProcessState::Stopped,
            verdict: Verdict {
                status: Status::Stopped,
                reason: Reason::StoppedByOperator,
            },
            liveness: Hysteresis::new_down(policy.failure_threshold, policy.success_threshold),
            backoff: Backoff::new(policy.backoff_initial_ms, policy.backoff_max_ms),
            flaps: FlapDetector::new(policy.flap_window_ms, policy.flap_max_restarts),
            streak: None,
            probe_out: false,
            probe_sent_at: Timestamp::ZERO,
            next_probe_at: Timestamp::MAX,
            restarts: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &HealthPolicy {
        &self.policy
    }

    /// The life-cycle state.
    pub fn state(&self) -> ProcessState {
        self.state
    }

    /// The current verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// Restarts so far (automatic ones; operator starts do not count).
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    fn set(&mut self, status: Status, reason: Reason) {
        self.verdict = Verdict { status, reason };
    }

    /// The operator wants it running. From `Stopped` or `Failed` this spawns (and clears the
    /// failure history); otherwise it changes nothing.
    pub fn start(&mut self, now: Timestamp) -> Actions {
        match self.state {
            ProcessState::Stopped | ProcessState::Failed => {
                self.streak = None;
                self.backoff.reset();
                self.flaps =
                    FlapDetector::new(self.policy.flap_window_ms, self.policy.flap_max_restarts);
                self.spawn(now)
            }
            ProcessState::Spawning { .. }
            | ProcessState::Starting { .. }
            | ProcessState::Running { .. }
            | ProcessState::Stopping { .. }
            | ProcessState::BackingOff { .. } => Actions::NONE,
        }
    }

    /// A live agent process left by a previous daemon was found (same PID, start time and
    /// command line): supervise it without spawning another. It starts over as `Starting`, so
    /// it must prove its health within the startup budget like a fresh start. Only from
    /// `Stopped`; otherwise it changes nothing.
    pub fn adopt(&mut self, now: Timestamp) -> Actions {
        if self.state != ProcessState::Stopped {
            return Actions::NONE;
        }
        self.state = ProcessState::Spawning { since: now };
        let actions = self.spawned(now);
        self.set(Status::Starting, Reason::Adopted);
        actions.without(&Action::Spawn)
    }

    fn spawn(&mut self, now: Timestamp) -> Actions {
        self.state = ProcessState::Spawning { since: now };
        self.set(Status::Starting, Reason::Spawned);
        Actions::one(Action::Spawn)
    }

    /// The adapter spawned the process.
    pub fn spawned(&mut self, now: Timestamp) -> Actions {
        if !matches!(self.state, ProcessState::Spawning { .. }) {
            return Actions::NONE;
        }
        self.state = ProcessState::Starting { since: now };
        self.liveness =
            Hysteresis::new_down(self.policy.failure_threshold, self.policy.success_threshold);
        self.probe_out = false;
        self.next_probe_at = now;
        self.set(Status::Starting, Reason::Spawned);
        self.due_probe(now)
    }

    /// The adapter could not spawn the process (a failed outcome: backs off).
    pub fn spawn_failed(&mut self, now: Timestamp) -> Actions {
        if !matches!(self.state, ProcessState::Spawning { .. }) {
            return Actions::NONE;
        }
        self.fail_and_restart(now, Reason::SpawnFailed, false)
    }

    /// The operator wants it stopped: SIGTERM, then SIGKILL after the grace period.
    pub fn stop(&mut self, now: Timestamp) -> Actions {
        match self.state {
            ProcessState::Starting { .. }
            | ProcessState::Running { .. }
            | ProcessState::Spawning { .. } => {
                self.state = ProcessState::Stopping {
                    kill_at: now.plus_ms(self.policy.stop_grace_ms),
                    then: AfterStop::Stay,
                };
                self.set(Status::Stopping, Reason::StoppedByOperator);
                Actions::one(Action::Terminate)
            }
            ProcessState::Stopping { kill_at, .. } => {
                self.state = ProcessState::Stopping {
                    kill_at,
                    then: AfterStop::Stay,
                };
                Actions::NONE
            }
            ProcessState::BackingOff { .. } | ProcessState::Failed | ProcessState::Stopped => {
                self.state = ProcessState::Stopped;
                self.set(Status::Stopped, Reason::StoppedByOperator);
                Actions::NONE
            }
        }
    }

    /// The process exited (or was found gone).
    pub fn exited(&mut self, now: Timestamp, status: ExitStatus) -> Actions {
        let reason = Reason::Exited {
            code: status.code,
            signal: status.signal,
        };
        match self.state {
            ProcessState::Stopping { then, .. } => match then {
                AfterStop::Stay => {
                    self.state = ProcessState::Stopped;
                    self.set(Status::Stopped, Reason::StoppedByOperator);
                    Actions::NONE
                }
                AfterStop::Restart => self.back_off(now),
                AfterStop::Fail => {
                    self.state = ProcessState::Failed;
                    Actions::NONE
                }
            },
            ProcessState::Starting { .. }
            | ProcessState::Running { .. }
            | ProcessState::Spawning { .. } => self.fail_and_restart(now, reason, true),
            ProcessState::BackingOff { .. } | ProcessState::Failed | ProcessState::Stopped => {
                Actions::NONE
            }
        }
    }

    /// A probe result.
    ///
    /// A result with no probe out (a late answer to a probe already counted as timed out) is
    /// ignored.
    pub fn probe(&mut self, now: Timestamp, result: &ProbeResult) -> Actions {
        if !self.probe_out {
            return Actions::NONE;
        }
        self.probe_out = false;
        self.next_probe_at = now.plus_ms(self.policy.period_ms);
        let (ok, reason) = self.judge(result);
        match self.state {
            ProcessState::Starting { since } => {
                let up = self.liveness.record(ok);
                if up {
                    self.state = ProcessState::Running { healthy_since: now };
                    self.streak = None;
                    self.set(Status::Healthy, Reason::ProbeOk);
                } else if now.since(since) >= self.policy.startup_budget_ms
                    && self.policy.startup_budget_ms > 0
                {
                    return self.fail_and_restart(now, Reason::StartupBudgetExceeded, false);
                } else if self.policy.startup_budget_ms == 0
                    && self.liveness.failures() >= self.policy.failure_threshold
                {
                    // No budget (Olas timing): failures count from the first probe.
                    let failures = self.liveness.failures();
                    return self.fail_and_restart(
                        now,
                        Reason::FailureThreshold { failures },
                        false,
                    );
                } else {
                    self.set(Status::Starting, reason);
                }
            }
            ProcessState::Running { healthy_since } => {
                let was_up = self.liveness.is_up();
                let up = self.liveness.record(ok);
                if ok && now.since(healthy_since) >= self.policy.backoff_reset_after_ms {
                    self.backoff.reset();
                }
                if !up && was_up {
                    let failures = self.liveness.failures();
                    return self.fail_and_restart(
                        now,
                        Reason::FailureThreshold { failures },
                        false,
                    );
                }
                if ok && self.liveness.failures() == 0 {
                    self.set(Status::Healthy, Reason::ProbeOk);
                } else {
                    self.set(Status::Degraded, reason);
                }
            }
            ProcessState::Spawning { .. }
            | ProcessState::Stopping { .. }
            | ProcessState::BackingOff { .. }
            | ProcessState::Failed
            | ProcessState::Stopped => {}
        }
        Actions::NONE
    }

    fn judge(&self, result: &ProbeResult) -> (bool, Reason) {
        match result {
            ProbeResult::Http {
                status,
                latency_ms,
                body,
            } => {
                if *latency_ms > self.policy.probe_timeout_ms {
                    (false, Reason::ProbeTimeout)
                } else if *status != 200 {
                    (false, Reason::ProbeStatus { status: *status })
                } else {
                    match body {
                        Some(b) if b.verdict() => (true, Reason::ProbeOk),
                        Some(_) => (false, Reason::BodyUnhealthy),
                        None if self.policy.require_olas_body => (false, Reason::BodyUnhealthy),
                        None => (true, Reason::ProbeOk),
                    }
                }
            }
            ProbeResult::Refused => (false, Reason::ConnectionRefused),
            ProbeResult::Timeout => (false, Reason::ProbeTimeout),
            ProbeResult::Error { .. } => (false, Reason::ProbeError),
        }
    }

    /// A failed outcome: decide between restarting (after a backoff) and giving up.
    fn fail_and_restart(&mut self, now: Timestamp, reason: Reason, exited: bool) -> Actions {
        self.restarts = self.restarts.saturating_add(1);
        let (count, first) = self
            .streak
            .map_or((1, now), |(n, t)| (n.saturating_add(1), t));
        self.streak = Some((count, first));
        let flapping = self.flaps.record(now);
        let give_up = if flapping {
            Some(Reason::Flapping {
                restarts: self.flaps.count(now),
                window_ms: self.policy.flap_window_ms,
            })
        } else if count >= self.policy.streak_max_restarts
            || (count > 1 && now.since(first) > self.policy.streak_max_ms)
        {
            Some(Reason::RestartStreak {
                restarts: count,
                elapsed_ms: now.since(first),
            })
        } else {
            None
        };
        let running = !exited
            && matches!(
                self.state,
                ProcessState::Starting { .. } | ProcessState::Running { .. }
            );
        match give_up {
            Some(why) => {
                self.set(Status::Failed, why.clone());
                let alert = Action::Alert { reason: why };
                if running {
                    self.state = ProcessState::Stopping {
                        kill_at: now.plus_ms(self.policy.stop_grace_ms),
                        then: AfterStop::Fail,
                    };
                    Actions::two(Action::Terminate, alert)
                } else {
                    self.state = ProcessState::Failed;
                    Actions::one(alert)
                }
            }
            None => {
                if running {
                    self.state = ProcessState::Stopping {
                        kill_at: now.plus_ms(self.policy.stop_grace_ms),
                        then: AfterStop::Restart,
                    };
                    self.set(Status::Stopping, reason);
                    Actions::one(Action::Terminate)
                } else {
                    self.set(Status::BackingOff, reason);
                    self.back_off(now)
                }
            }
        }
    }

    fn back_off(&mut self, now: Timestamp) -> Actions {
        let delay = self.backoff.next_delay();
        self.state = ProcessState::BackingOff {
            until: now.plus_ms(delay),
        };
        if self.verdict.status != Status::BackingOff {
            let reason = self.verdict.reason.clone();
            self.set(Status::BackingOff, reason);
        }
        Actions::NONE
    }

    fn due_probe(&mut self, now: Timestamp) -> Actions {
        if !self.probe_out && now >= self.next_probe_at {
            self.probe_out = true;
            self.probe_sent_at = now;
            Actions::one(Action::Probe)
        } else {
            Actions::NONE
        }
    }

    /// When an outstanding probe counts as timed out even if the adapter never answers.
    fn probe_overdue_at(&self) -> Timestamp {
        self.probe_sent_at
            .plus_ms(self.policy.probe_timeout_ms)
            .plus_ms(PROBE_SLACK_MS)
    }

    /// Time passed: run whatever is due at `now`.
    pub fn tick(&mut self, now: Timestamp) -> Actions {
        match self.state {
            ProcessState::Starting { .. } | ProcessState::Running { .. }
                if self.probe_out && now >= self.probe_overdue_at() =>
            {
                self.probe(now, &ProbeResult::Timeout)
            }
            ProcessState::Starting { since }
                if self.policy.startup_budget_ms > 0
                    && now.since(since) >= self.policy.startup_budget_ms =>
            {
                self.fail_and_restart(now, Reason::StartupBudgetExceeded, false)
            }
            ProcessState::Starting { .. } | ProcessState::Running { .. } => self.due_probe(now),
            ProcessState::Stopping { kill_at, then } if now >= kill_at => {
                // Kill, and push the deadline so a lost exit does not kill in a loop.
                self.state = ProcessState::Stopping {
                    kill_at: now.plus_ms(self.policy.stop_grace_ms),
                    then,
                };
                Actions::one(Action::Kill)
            }
            ProcessState::BackingOff { until } if now >= until => self.spawn(now),
            ProcessState::Stopping { .. }
            | ProcessState::BackingOff { .. }
            | ProcessState::Spawning { .. }
            | ProcessState::Failed
            | ProcessState::Stopped => Actions::NONE,
        }
    }

    /// When to call [`AgentMonitor::tick`] next, and why.
    pub fn next_deadline(&self) -> Option<(Timestamp, Wake)> {
        let probe = if self.probe_out {
            (self.probe_overdue_at(), Wake::ProbeOverdue)
        } else {
            (self.next_probe_at, Wake::Probe)
        };
        match self.state {
            ProcessState::Starting { since } if self.policy.startup_budget_ms > 0 => {
                let budget = since.plus_ms(self.policy.startup_budget_ms);
                Some(if budget < probe.0 {
                    (budget, Wake::StartupBudget)
                } else {
                    probe
                })
            }
            ProcessState::Starting { .. } | ProcessState::Running { .. } => Some(probe),
            ProcessState::Stopping { kill_at, .. } => Some((kill_at, Wake::StopGrace)),
            ProcessState::BackingOff { until } => Some((until, Wake::BackoffEnd)),
            ProcessState::Spawning { .. } | ProcessState::Failed | ProcessState::Stopped => None,
        }
    }
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
    pub fn from_json(text: &str) -> Result<Self, crate::from_json::Error> {
        crate::from_json::from_str(text)
    }
}
