//! The agents: processes with behaviours (healthy, slow, hung, crash-looping, crashing at
//! random, flaky, ignoring SIGTERM) that the engine spawns, signals and probes; each spends gas
//! from its wallet while it runs.

use alloy_primitives::U256;

use crate::engine::{Input, ServiceName};
use crate::health::{ExitStatus, ProbeResult, Status};

use super::{Behaviour, Ev, SPEND_EVERY_MS, TimelineEvent, World, index, index32};

impl World {
    /// The agent's process `run` ends (exit code 1 without a signal). False when that process
    /// is already gone.
    pub(super) fn exit(&mut self, service: usize, run: u32, signal: Option<u8>) -> bool {
        let a = &mut self.agents[service];
        if !(a.alive && a.run == run) {
            return false;
        }
        a.alive = false;
        a.hung_since = None;
        let name = self.service_names[service].clone();
        self.feed(Input::Exited {
            now: self.now,
            service: name,
            status: ExitStatus {
                code: signal.is_none().then_some(1),
                signal: signal.map(i32::from),
            },
        });
        true
    }

    pub(super) fn spend(&mut self) {
        let per_step = self
            .cfg
            .spend_per_day
            .saturating_mul(U256::from(SPEND_EVERY_MS))
            / U256::from(86_400_000u64);
        for i in 0..self.agents.len() {
            if self.agents[i].alive {
                let w = self.agents[i].wallet;
                self.chain.burn(w, per_step);
            }
        }
        self.check_hangs();
    }

    pub(super) fn check_hangs(&mut self) {
        let p = self.cfg.health;
        let bound = u64::from(p.failure_threshold)
            .saturating_mul(p.period_ms.saturating_add(p.probe_timeout_ms))
            .saturating_add(p.probe_timeout_ms)
            .saturating_add(2 * p.period_ms)
            .saturating_add(crate::health::PROBE_SLACK_MS)
            .max(
                p.startup_budget_ms
                    .saturating_add(p.period_ms + p.probe_timeout_ms),
            );
        for i in 0..self.agents.len() {
            let a = &self.agents[i];
            if let Some(since) = a.hung_since
                && a.alive
                && !a.terminated
                && self.now.since(since) > bound
            {
                let status = self
                    .engine
                    .service(&self.service_names[i])
                    .map(|m| m.verdict().status);
                if !matches!(
                    status,
                    Some(Status::Stopping | Status::Failed | Status::Stopped)
                ) {
                    self.violation(&format!(
                        "agent-{i} hung at {since} and is not detected after {} ms",
                        self.now.since(since)
                    ));
                    self.agents[i].hung_since = None;
                }
            }
        }
    }

    pub(super) fn lookup(&mut self, service: &ServiceName) -> Option<&usize> {
        let addr = service.as_ptr() as usize;
        match self.names_by_addr.binary_search_by_key(&addr, |e| e.0) {
            Ok(at) => Some(&self.names_by_addr[at].1),
            Err(at) => {
                let i = *self.names.get(service)?;
                // Remember only names that stay alive: the engine's own (shared with its outputs).
                if self.engine.service(service).is_some() {
                    self.names_by_addr.insert(at, (addr, i));
                }
                self.names.get(service)
            }
        }
    }

    pub(super) fn spawn(&mut self, service: ServiceName) {
        let now = self.now;
        let Some(&i) = self.lookup(&service) else {
            return;
        };
        if self.agents[i].alive {
            self.violation(&format!("{service} spawned while its process is alive"));
        }
        let operator = std::mem::take(&mut self.agents[i].operator_start_pending);
        if !operator {
            // An automatic restart: check the flap limit. The engine counts the failures, each
            // at most one backoff before its restart, so restarts closer together than the
            // window minus the longest backoff prove the failures were within the window.
            let p = self.cfg.health;
            let window = p.flap_window_ms.saturating_sub(p.backoff_max_ms);
            let a = &mut self.agents[i];
            a.auto_spawns.push(now);
            let in_window = a
                .auto_spawns
                .iter()
                .filter(|t| now.since(**t) < window)
                .count();
            if in_window >= p.flap_max_restarts as usize {
                self.violation(&format!(
                    "{service}: {in_window} restarts within {window} ms (flap window {} ms less the longest backoff)",
                    p.flap_window_ms
                ));
            }
            self.report.events.push(TimelineEvent::Restart {
                t: now,
                service: index(i),
            });
        }
        if self.rng.chance_ppm(self.cfg.spawn_fail_ppm) {
            self.feed(Input::SpawnFailed {
                now,
                service: service.clone(),
                error: "simulated spawn failure".into(),
            });
            return;
        }
        let a = &mut self.agents[i];
        a.alive = true;
        a.terminated = false;
        a.run = a.run.wrapping_add(1);
        a.started_at = now;
        a.hung_since = None;
        let run = a.run;
        match a.behaviour {
            Behaviour::Hung { after_ms } => {
                self.schedule(
                    now.plus_ms(after_ms),
                    Ev::Hang {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::CrashLoop { after_ms } => {
                self.schedule(
                    now.plus_ms(after_ms),
                    Ev::Crash {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::Crashy { mean_ms } => {
                let after = self.rng.between(mean_ms / 10, mean_ms.saturating_mul(2));
                self.schedule(
                    now.plus_ms(after),
                    Ev::Crash {
                        service: index32(i),
                        run,
                    },
                );
            }
            Behaviour::Healthy
            | Behaviour::Slow { .. }
            | Behaviour::Flaky { .. }
            | Behaviour::Stubborn => {}
        }
        self.feed(Input::Spawned { now, service });
    }

    pub(super) fn probe(&mut self, service: ServiceName, timeout_ms: u64) {
        let now = self.now;
        let Some(&i) = self.lookup(&service) else {
            return;
        };
        let a = &self.agents[i];
        let warm = now.since(a.started_at) >= self.cfg.warmup_ms;
        let (delay, result) = if !a.alive {
            (1, ProbeResult::Refused)
        } else if a.hung_since.is_some() {
            (timeout_ms, ProbeResult::Timeout)
        } else if !warm {
            (1, ProbeResult::Refused)
        } else {
            match a.behaviour {
                Behaviour::Slow { latency_ms } if latency_ms >= timeout_ms => {
                    (timeout_ms, ProbeResult::Timeout)
                }
                Behaviour::Slow { latency_ms } => (latency_ms, ok(latency_ms)),
                Behaviour::Flaky { fail_ppm } => {
                    if self.rng.chance_ppm(fail_ppm) {
                        (
                            5,
                            ProbeResult::Http {
                                status: 503,
                                latency_ms: 5,
                                body: None,
                            },
                        )
                    } else {
                        (5, ok(5))
                    }
                }
                Behaviour::Healthy
                | Behaviour::Hung { .. }
                | Behaviour::CrashLoop { .. }
                | Behaviour::Crashy { .. }
                | Behaviour::Stubborn => (5, ok(5)),
            }
        };
        let at = now.plus_ms(delay);
        self.deliver(
            at,
            Input::Probed {
                now: at,
                service,
                result,
            },
        );
    }
}
pub(super) fn ok(latency_ms: u64) -> ProbeResult {
    ProbeResult::Http {
        status: 200,
        latency_ms,
        body: None,
    }
}
