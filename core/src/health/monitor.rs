//! [`AgentMonitor`]: the reducer over one agent process's samples (spawns, exits, probes,
//! operator commands, time) that moves its life cycle and answers with the actions to take.

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::time::Timestamp;

use super::{
    Action, Actions, AfterStop, Backoff, ExitStatus, FlapDetector, HealthPolicy, Hysteresis,
    PROBE_SLACK_MS, ProbeResult, ProcessState, Reason, Status, Verdict, Wake,
};

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
