//! Health verdicts: the building blocks against reference models, the agent monitor by example
//! (tend and Olas timing), and a property test of the life cycle under random events.

use proptest::prelude::*;
use tend_core::health::{
    Action, Actions, AgentMonitor, Backoff, ExitStatus, FlapDetector, HealthBody, HealthPolicy,
    Hysteresis, ProbeResult, ProcessState, Reason, Status, Wake,
};
use tend_core::time::Timestamp;

fn ok() -> ProbeResult {
    ProbeResult::Http {
        status: 200,
        latency_ms: 3,
        body: None,
    }
}

fn olas_body(text: &str) -> ProbeResult {
    ProbeResult::Http {
        status: 200,
        latency_ms: 3,
        body: Some(HealthBody::parse(text).unwrap()),
    }
}

const CRASH: ExitStatus = ExitStatus {
    code: Some(1),
    signal: None,
};

/// Drives a monitor the way the engine does: at each deadline, tick; answer each Probe with
/// `probe(at)`, each Spawn with spawned, each Terminate with an exit after `exit_after_ms`.
struct Driver {
    m: AgentMonitor,
    now: Timestamp,
    log: Vec<(Timestamp, Action)>,
}

impl Driver {
    fn new(policy: HealthPolicy) -> Self {
        Self {
            m: AgentMonitor::new(policy),
            now: Timestamp::from_secs(1_000),
            log: Vec::new(),
        }
    }

    fn apply(&mut self, actions: Actions, probe: &mut dyn FnMut(Timestamp) -> ProbeResult) {
        let mut queue = actions.to_vec();
        while !queue.is_empty() {
            let a = queue.remove(0);
            self.log.push((self.now, a.clone()));
            let more = match a {
                Action::Spawn => self.m.spawned(self.now),
                Action::Probe => {
                    let r = probe(self.now);
                    if matches!(r, ProbeResult::Timeout) {
                        self.now = self.now.plus_ms(self.m.policy().probe_timeout_ms);
                    }
                    self.m.probe(self.now, &r)
                }
                Action::Terminate | Action::Kill => self.m.exited(
                    self.now,
                    ExitStatus {
                        code: None,
                        signal: Some(15),
                    },
                ),
                Action::Alert { .. } => Actions::NONE,
            };
            queue.extend(more);
        }
    }

    /// Runs until `until`, following deadlines.
    fn run(&mut self, until: Timestamp, probe: &mut dyn FnMut(Timestamp) -> ProbeResult) {
        let mut steps = 0;
        while let Some((at, _)) = self.m.next_deadline() {
            if at > until {
                break;
            }
            steps += 1;
            assert!(steps < 100_000, "busy loop");
            self.now = self.now.max(at);
            let actions = self.m.tick(self.now);
            self.apply(actions, probe);
        }
        self.now = self.now.max(until);
    }

    fn start(&mut self, probe: &mut dyn FnMut(Timestamp) -> ProbeResult) {
        let a = self.m.start(self.now);
        self.apply(a, probe);
    }

    fn count(&self, f: impl Fn(&Action) -> bool) -> usize {
        self.log.iter().filter(|(_, a)| f(a)).count()
    }
}

#[test]
fn hysteresis_thresholds() {
    let mut h = Hysteresis::new(3, 2);
    assert!(h.record(false) && h.record(false));
    assert!(!h.record(false), "third failure in a row");
    assert!(!h.record(true), "one success is not enough");
    assert!(!h.record(false));
    assert!(!h.record(true));
    assert!(h.record(true));
    assert!(h.record(false) && h.record(true) && h.record(false) && h.record(false));
}

#[test]
fn backoff_doubles_to_the_cap_and_resets() {
    let mut b = Backoff::new(10_000, 300_000);
    let got: Vec<u64> = (0..7).map(|_| b.next_delay()).collect();
    assert_eq!(
        got,
        vec![10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]
    );
    b.reset();
    assert_eq!(b.next_delay(), 10_000);
    let mut huge = Backoff::new(u64::MAX / 2, u64::MAX);
    for _ in 0..100 {
        huge.next_delay();
    }
    assert_eq!(huge.peek(), u64::MAX);
}

#[test]
fn flap_window_slides() {
    let mut f = FlapDetector::new(1_000, 3);
    assert!(!f.record(Timestamp(0)));
    assert!(!f.record(Timestamp(500)));
    assert!(f.record(Timestamp(999)));
    assert_eq!(f.count(Timestamp(1_000)), 2);
    assert!(!f.record(Timestamp(1_600)));
}

#[test]
fn a_healthy_start() {
    let mut d = Driver::new(HealthPolicy::tend());
    let mut probe = |_| ok();
    d.start(&mut probe);
    assert_eq!(d.m.verdict().status, Status::Starting);
    d.run(d.now.plus_ms(10_000), &mut probe);
    assert_eq!(d.m.verdict().status, Status::Healthy);
    assert_eq!(d.m.verdict().reason, Reason::ProbeOk);
    assert_eq!(d.count(|a| *a == Action::Probe), 2);
    assert_eq!(d.m.next_deadline().unwrap().1, Wake::Probe);
}

#[test]
fn a_dead_process_is_known_at_its_exit() {
    let mut d = Driver::new(HealthPolicy::tend());
    let mut probe = |_| ok();
    d.start(&mut probe);
    d.run(d.now.plus_ms(60_000), &mut probe);
    let actions = d.m.exited(d.now, CRASH);
    assert!(actions.is_empty(), "nothing to stop: it is gone");
    assert_eq!(d.m.verdict().status, Status::BackingOff);
    assert_eq!(
        d.m.verdict().reason,
        Reason::Exited {
            code: Some(1),
            signal: None
        }
    );
    let first = HealthPolicy::tend().backoff_initial_ms;
    assert!(
        first < 1_000,
        "a crash after a healthy run restarts within a second"
    );
    assert_eq!(
        d.m.state(),
        ProcessState::BackingOff {
            until: d.now.plus_ms(first)
        }
    );
    let crashed_at = d.now;
    d.run(crashed_at.plus_ms(first), &mut probe);
    assert_eq!(
        d.log.iter().rfind(|(_, a)| *a == Action::Spawn).unwrap().0,
        crashed_at.plus_ms(first)
    );
}

#[test]
fn a_hung_agent_is_caught_within_a_minute() {
    let mut d = Driver::new(HealthPolicy::tend());
    let hang_at = Timestamp::from_secs(2_000);
    let mut probe = move |t: Timestamp| {
        if t < hang_at {
            ok()
        } else {
            ProbeResult::Timeout
        }
    };
    d.start(&mut probe);
    d.run(hang_at.plus_ms(120_000), &mut probe);
    let (terminated_at, _) = d
        .log
        .iter()
        .find(|(_, a)| *a == Action::Terminate)
        .cloned()
        .unwrap();
    let detection = terminated_at.since(hang_at);
    assert!(detection <= 65_000, "took {detection} ms");
    assert!(detection >= 40_000, "too eager: {detection} ms");
}

#[test]
fn olas_timing_restarts_after_sixty_refused_probes() {
    let mut d = Driver::new(HealthPolicy::olas());
    let mut probe = |_| ProbeResult::Refused;
    d.start(&mut probe);
    let started = d.now;
    d.run(started.plus_ms(400_000), &mut probe);
    let (t, _) = d
        .log
        .iter()
        .find(|(_, a)| *a == Action::Terminate)
        .cloned()
        .unwrap();
    // 60 probes 5 s apart, the first at once: the 60th fails at 295 s.
    assert_eq!(t.since(started), 295_000);
}

/// The middleware 0.15.47's failfast: every restart attempt counts in a rolling hour, and the
/// 5th stops the service; an agent that never becomes healthy ends `Failed` about 25 minutes in,
/// after 4 restarts.
#[test]
fn olas_failfast_stops_a_never_healthy_agent_at_the_fifth_attempt_in_an_hour() {
    let mut d = Driver::new(HealthPolicy::olas());
    let mut probe = |_| ProbeResult::Refused;
    d.start(&mut probe);
    let started = d.now;
    d.run(started.plus_ms(2 * 3_600_000), &mut probe);
    let spawns = d.log.iter().filter(|(_, a)| *a == Action::Spawn).count();
    assert_eq!(spawns, 5, "the first start and 4 restarts: {:?}", d.log);
    let (failed_at, reason) = d
        .log
        .iter()
        .find_map(|(t, a)| match a {
            Action::Alert { reason } => Some((*t, reason.clone())),
            _ => None,
        })
        .expect("failfast alerts");
    assert!(
        matches!(reason, Reason::Flapping { restarts: 5, .. }),
        "{reason:?}"
    );
    let minutes = failed_at.since(started) / 60_000;
    assert!((24..=30).contains(&minutes), "failed {minutes} min in");
    assert_eq!(d.m.verdict().status, Status::Failed);
}

#[test]
fn olas_body_verdicts() {
    let mut d = Driver::new(HealthPolicy::olas());
    let t0 = d.now;
    let flip = t0.plus_ms(20_000);
    let bare = t0.plus_ms(40_000);
    let mut probe = move |t: Timestamp| {
        if t < flip {
            olas_body(r#"{"is_healthy": true}"#)
        } else if t < bare {
            olas_body(r#"{"is_healthy": null, "is_transitioning_fast": true}"#)
        } else {
            ok()
        }
    };
    d.start(&mut probe);
    assert_eq!(d.m.verdict().status, Status::Healthy);
    d.run(flip, &mut probe);
    assert_eq!(d.m.verdict().status, Status::Degraded);
    assert_eq!(d.m.verdict().reason, Reason::BodyUnhealthy);
    // A 200 without a healthcheck body is unhealthy under Olas timing.
    d.run(bare.plus_ms(5_000), &mut probe);
    assert_eq!(d.m.verdict().status, Status::Degraded);
    assert_eq!(d.m.verdict().reason, Reason::BodyUnhealthy);
    // ...and healthy under tend's.
    let mut t = Driver::new(HealthPolicy::tend());
    let mut bare_probe = |_| ok();
    t.start(&mut bare_probe);
    t.run(t.now.plus_ms(10_000), &mut bare_probe);
    assert_eq!(t.m.verdict().status, Status::Healthy);
}

#[test]
fn a_crash_loop_ends_in_failed_with_an_alert() {
    let mut d = Driver::new(HealthPolicy::tend());
    let mut probe = |_| ok();
    d.start(&mut probe);
    let limit = HealthPolicy::tend().flap_max_restarts;
    for _ in 0..40 {
        d.run(d.now.plus_ms(12_000), &mut probe);
        let a = d.m.exited(d.now, CRASH);
        d.apply(a, &mut probe);
        // Until the backoff ends and the agent is spawned again.
        if let ProcessState::BackingOff { until } = d.m.state() {
            d.run(until.plus_ms(1), &mut probe);
        }
        if d.m.verdict().status == Status::Failed {
            break;
        }
    }
    assert_eq!(d.m.verdict().status, Status::Failed);
    assert!(
        matches!(
            d.m.verdict().reason,
            Reason::Flapping { restarts, .. } if restarts == limit
        ) || matches!(d.m.verdict().reason, Reason::RestartStreak { .. }),
        "{:?}",
        d.m.verdict()
    );
    assert_eq!(d.count(|a| matches!(a, Action::Alert { .. })), 1);
    let spawns = d.count(|a| *a == Action::Spawn);
    assert_eq!(
        spawns,
        usize::try_from(limit).unwrap(),
        "the first start and limit - 1 restarts"
    );
    // Failed stays failed: no deadline, no spawn.
    assert_eq!(d.m.next_deadline(), None);
    // The operator can start it again.
    d.start(&mut probe);
    d.run(d.now.plus_ms(15_000), &mut probe);
    assert_eq!(d.m.verdict().status, Status::Healthy);
}

#[test]
fn an_agent_that_never_becomes_healthy_fails_after_its_streak() {
    let policy = HealthPolicy {
        flap_max_restarts: 1_000,
        ..HealthPolicy::tend()
    };
    let mut d = Driver::new(policy);
    let mut probe = |_| ProbeResult::Refused;
    d.start(&mut probe);
    d.run(d.now.plus_ms(10 * 3_600_000), &mut probe);
    assert_eq!(d.m.verdict().status, Status::Failed);
    assert!(
        matches!(
            d.m.verdict().reason,
            Reason::RestartStreak { restarts, .. } if restarts == policy.streak_max_restarts
        ),
        "{:?}",
        d.m.verdict()
    );
    // Each try got its full startup budget.
    let terms: Vec<Timestamp> = d
        .log
        .iter()
        .filter(|(_, a)| *a == Action::Terminate)
        .map(|(t, _)| *t)
        .collect();
    let spawns: Vec<Timestamp> = d
        .log
        .iter()
        .filter(|(_, a)| *a == Action::Spawn)
        .map(|(t, _)| *t)
        .collect();
    for (s, t) in spawns.iter().zip(&terms) {
        assert_eq!(t.since(*s), 180_000);
    }
}

#[test]
fn stop_is_graceful_then_kills() {
    let mut m = AgentMonitor::new(HealthPolicy::tend());
    let t0 = Timestamp::from_secs(10);
    assert_eq!(m.start(t0).to_vec(), vec![Action::Spawn]);
    m.spawned(t0);
    assert_eq!(m.stop(t0).to_vec(), vec![Action::Terminate]);
    assert_eq!(m.verdict().status, Status::Stopping);
    assert_eq!(
        m.next_deadline(),
        Some((t0.plus_ms(10_000), Wake::StopGrace))
    );
    assert!(m.tick(t0.plus_ms(9_999)).is_empty());
    assert_eq!(m.tick(t0.plus_ms(10_000)).to_vec(), vec![Action::Kill]);
    m.exited(
        t0.plus_ms(10_001),
        ExitStatus {
            code: None,
            signal: Some(9),
        },
    );
    assert_eq!(m.state(), ProcessState::Stopped);
    assert_eq!(m.verdict().status, Status::Stopped);
    assert_eq!(m.next_deadline(), None);
}

#[test]
fn backoff_resets_after_a_clean_run() {
    let mut d = Driver::new(HealthPolicy::tend());
    let mut probe = |_| ok();
    d.start(&mut probe);
    for _ in 0..3 {
        d.run(d.now.plus_ms(30_000), &mut probe);
        let a = d.m.exited(d.now, CRASH);
        d.apply(a, &mut probe);
    }
    let ProcessState::BackingOff { until } = d.m.state() else {
        panic!()
    };
    let first = HealthPolicy::tend().backoff_initial_ms;
    assert_eq!(
        until.since(d.now),
        4 * first,
        "third restart in a row: four times the first"
    );
    d.run(d.now.plus_ms(4 * first), &mut probe);
    // Healthy for 11 minutes, then a crash: the delay is back to the first.
    d.run(d.now.plus_ms(660_000), &mut probe);
    let a = d.m.exited(d.now, CRASH);
    d.apply(a, &mut probe);
    let ProcessState::BackingOff { until } = d.m.state() else {
        panic!()
    };
    assert_eq!(until.since(d.now), first);
}

#[test]
fn a_spawn_failure_backs_off() {
    let mut m = AgentMonitor::new(HealthPolicy::tend());
    let t0 = Timestamp::from_secs(10);
    m.start(t0);
    assert!(m.spawn_failed(t0).is_empty());
    assert_eq!(m.verdict().reason, Reason::SpawnFailed);
    let first = HealthPolicy::tend().backoff_initial_ms;
    assert_eq!(
        m.next_deadline(),
        Some((t0.plus_ms(first), Wake::BackoffEnd))
    );
    assert_eq!(m.tick(t0.plus_ms(first)).to_vec(), vec![Action::Spawn]);
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Ev {
    Wait(u32),
    ProbeAnswer(u8),
    Exit,
    Stop,
    Start,
    SpawnFails,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => (0u32..120_000).prop_map(Ev::Wait),
        4 => (0u8..5).prop_map(Ev::ProbeAnswer),
        1 => Just(Ev::Exit),
        1 => Just(Ev::Stop),
        1 => Just(Ev::Start),
        1 => Just(Ev::SpawnFails),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Hysteresis against a reference: up iff the last run of failures is shorter than the
    /// threshold, or a run of `success_threshold` successes came after the last crossing.
    #[test]
    fn hysteresis_matches_the_reference(samples in proptest::collection::vec(any::<bool>(), 0..200), f in 1u32..6, s in 1u32..4) {
        let mut h = Hysteresis::new(f, s);
        let mut up = true;
        let (mut fails, mut oks) = (0, 0);
        for ok in samples {
            if ok { fails = 0; oks += 1; if oks >= s { up = true; } } else { oks = 0; fails += 1; if fails >= f { up = false; } }
            prop_assert_eq!(h.record(ok), up);
        }
    }

    /// The life cycle under random events: a spawn only when no process is alive, never two
    /// probes out, nothing spawns while failed or stopped, the monitor never asks to be woken in
    /// the past, and automatic restarts within any flap window stay under the limit.
    #[test]
    fn life_cycle_invariants(events in proptest::collection::vec(ev(), 1..150)) {
        let mut w = World { m: AgentMonitor::new(HealthPolicy::tend()), now: Timestamp::from_secs(100), alive: false, probe_out: false, spawn_fails: false, auto_spawns: Vec::new() };
        for e in events {
            match e {
                Ev::Wait(ms) => {
                    let until = w.now.plus_ms(u64::from(ms));
                    let mut steps = 0;
                    while let Some((at, why)) = w.m.next_deadline() {
                        if at > until { break; }
                        if why == Wake::ProbeOverdue {
                            // The monitor gives up on the probe; the adapter's answer would be ignored.
                            w.probe_out = false;
                        }
                        steps += 1;
                        prop_assert!(steps < 10_000, "busy loop");
                        prop_assert!(at >= w.now || w.m.state() != ProcessState::Stopped);
                        w.now = w.now.max(at);
                        let a = w.m.tick(w.now);
                        w.drive(a, true)?;
                    }
                    w.now = w.now.max(until);
                }
                Ev::ProbeAnswer(k) => if w.probe_out {
                    w.probe_out = false;
                    let r = match k { 0 | 1 => ok(), 2 => ProbeResult::Refused, 3 => ProbeResult::Timeout, _ => ProbeResult::Http { status: 500, latency_ms: 1, body: None } };
                    let a = w.m.probe(w.now, &r);
                    w.drive(a, true)?;
                },
                Ev::Exit => if w.alive {
                    w.alive = false;
                    w.probe_out = false;
                    let a = w.m.exited(w.now, CRASH);
                    w.drive(a, true)?;
                },
                Ev::Stop => { let a = w.m.stop(w.now); w.drive(a, false)?; }
                Ev::Start => {
                    let a = w.m.start(w.now);
                    if !a.is_empty() { w.auto_spawns.clear(); }
                    w.drive(a, false)?;
                }
                Ev::SpawnFails => w.spawn_fails = true,
            }
            if matches!(w.m.state(), ProcessState::Stopped | ProcessState::Failed) {
                prop_assert!(!w.alive, "a process outlived its stop");
            }
            let policy = *w.m.policy();
            for (i, t) in w.auto_spawns.iter().enumerate() {
                let in_window = w.auto_spawns[i..].iter().filter(|u| u.since(*t) < policy.flap_window_ms).count();
                prop_assert!(in_window < policy.flap_max_restarts as usize, "{} restarts within the window", in_window);
            }
        }
    }
}

/// The adapter side of the property test: processes that spawn (or fail to), exit when told.
struct World {
    m: AgentMonitor,
    now: Timestamp,
    alive: bool,
    probe_out: bool,
    spawn_fails: bool,
    auto_spawns: Vec<Timestamp>,
}

impl World {
    fn drive(&mut self, actions: Actions, auto: bool) -> Result<(), TestCaseError> {
        let mut queue = actions.to_vec();
        while !queue.is_empty() {
            let more = match queue.remove(0) {
                Action::Spawn => {
                    prop_assert!(!self.alive, "spawn while a process is alive");
                    if auto {
                        self.auto_spawns.push(self.now);
                    }
                    if std::mem::take(&mut self.spawn_fails) {
                        self.m.spawn_failed(self.now)
                    } else {
                        self.alive = true;
                        self.m.spawned(self.now)
                    }
                }
                Action::Probe => {
                    prop_assert!(!self.probe_out, "two probes out");
                    prop_assert!(self.alive, "probe of a dead process");
                    self.probe_out = true;
                    Actions::NONE
                }
                Action::Terminate | Action::Kill => {
                    prop_assert!(self.alive, "signal to a dead process");
                    self.alive = false;
                    self.probe_out = false;
                    self.m.exited(
                        self.now,
                        ExitStatus {
                            code: None,
                            signal: Some(15),
                        },
                    )
                }
                Action::Alert { .. } => Actions::NONE,
            };
            queue.extend(more);
        }
        Ok(())
    }
}

#[test]
fn an_adopted_agent_is_probed_not_spawned() {
    let mut m = AgentMonitor::new(HealthPolicy::tend());
    let t0 = Timestamp::from_secs(10);
    let actions = m.adopt(t0);
    assert_eq!(actions.to_vec(), vec![Action::Probe]);
    assert_eq!(m.verdict().reason, Reason::Adopted);
    assert_eq!(m.state(), ProcessState::Starting { since: t0 });
    // Adopting twice, or a running agent, changes nothing.
    assert!(m.adopt(t0).is_empty());
    // It must prove its health like a fresh start.
    m.probe(t0, &ok());
    m.tick(t0.plus_ms(10_000));
    m.probe(t0.plus_ms(10_000), &ok());
    assert_eq!(m.verdict().status, Status::Healthy);
}
