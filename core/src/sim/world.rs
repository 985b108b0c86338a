//! The world's clock and its driver: the event queue in virtual time, inputs delivered to the
//! engine, every output drained and carried out, the engine crashed and restored from its
//! journal, samples taken for the report, and the run finished into a report.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::map::Map;

use alloy_primitives::U256;

use crate::engine::{Engine, Input, JournalEntry, Output, ServiceName, TxBody};
use crate::health::Status;
use crate::rng::Rng;
use crate::time::Timestamp;

use super::{
    Agent, Behaviour, Ev, Item, OutputDigest, SPEND_EVERY_MS, Sample, SimChain, SimConfig,
    SimConfigError, SimError, SimReport, Summary, World, engine_config, funder, index32, wallet,
};

impl World {
    /// Invariant: a Safe nonce that went out in a transaction a pool accepted is never signed
    /// for other top-ups (a signature that never left the engine may be redone; its record may
    /// sign it again with other fees: the same Safe transaction).
    fn check_safe_sign(&mut self, tx: crate::nonce::TxId, request: &crate::engine::TxRequest) {
        let TxBody::Safe { nonce, .. } = request.body else {
            return;
        };
        // The first signing went out when a pool accepted a transaction at its sender nonce
        // carrying this Safe nonce and its top-ups (a record keeps its sender nonce).
        let sent = |w: &Self, first: &(crate::nonce::TxId, Vec<crate::engine::TopUp>, u64)| {
            w.chain
                .accepted
                .get(&(request.from, first.2))
                .and_then(|h| w.chain.known(*h))
                .is_some_and(|t| {
                    matches!(t.req.body, TxBody::Safe { nonce: n, .. } if n == nonce)
                        && t.req.top_ups == first.1
                })
        };
        let same = |first: &(crate::nonce::TxId, Vec<crate::engine::TopUp>, u64)| {
            first.0 == tx && first.1 == request.top_ups
        };
        match self.safe_signed.get(&nonce) {
            Some(first) if same(first) => {}
            Some(first) if sent(self, first) => {
                let record = first.0;
                self.violation(&format!(
                    "Safe nonce {nonce} signed for record {tx} after record {record} sent it with other top-ups"
                ));
            }
            Some(_) | None => {
                self.report.summary.safe_transactions += 1;
                self.report.summary.safe_top_ups += request.top_ups.len() as u64;
                self.safe_signed
                    .insert(nonce, (tx, request.top_ups.clone(), request.nonce));
            }
        }
    }

    pub(super) fn new(cfg: &SimConfig) -> Result<Self, SimError> {
        let start = Timestamp(cfg.start_ms);
        let ecfg = engine_config(cfg);
        let engine = Engine::new(ecfg, start).map_err(SimConfigError::from)?;
        let root = Rng::new(cfg.seed);
        let balances = start_balances(cfg);
        let chain = SimChain::new(
            cfg.chain,
            root.fork(1).next_u64(),
            start.as_secs(),
            balances,
        );
        let agents = (0..cfg.services as usize)
            .map(|i| Agent {
                behaviour: if cfg.behaviours.is_empty() {
                    Behaviour::Healthy
                } else {
                    cfg.behaviours[i % cfg.behaviours.len()]
                },
                alive: false,
                run: 0,
                started_at: start,
                hung_since: None,
                terminated: false,
                wallet: wallet(i),
                auto_spawns: Vec::new(),
                operator_start_pending: true,
            })
            .collect();
        let service_names: Vec<ServiceName> = (0..cfg.services as usize)
            .map(|i| ServiceName::from(format!("agent-{i}").as_str()))
            .collect();
        let names = service_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let mut w = World {
            cfg: cfg.clone(),
            rng: root.fork(2),
            engine,
            chain,
            agents,
            names,
            names_by_addr: Vec::new(),
            service_names,
            queue: BinaryHeap::new(),
            seq: 0,
            now: start,
            sign_serial: 0,
            report: SimReport {
                seed: cfg.seed,
                summary: Summary {
                    steps: 0,
                    inputs: 0,
                    blocks: 0,
                    reorgs: 0,
                    dropped: 0,
                    waits: 0,
                    replacements: 0,
                    gap_fills: 0,
                    crashes: 0,
                    deep_reorgs: 0,
                    safe_transactions: 0,
                    safe_top_ups: 0,
                    funds_spent: U256::ZERO,
                    services: Vec::new(),
                },
                timeline: Vec::new(),
                events: Vec::new(),
                violations: Vec::new(),
            },
            nonce_owner: Map::new(),
            safe_signed: Map::new(),
            hash_record: Map::new(),
            funded: vec![(0, U256::ZERO); cfg.services as usize],
            last_status: vec![Status::Stopped; cfg.services as usize],
            initial_funder: if cfg.safe {
                cfg.funder_balance + cfg.funder_balance / U256::from(100)
            } else {
                cfg.funder_balance
            },
            journal: Map::new(),
            crash_in: None,
            down: false,
            recording: None,
            digest: OutputDigest::default(),
            in_transit: Vec::new(),
            free_slots: Vec::new(),
        };
        for _ in 0..cfg.engine_crashes {
            let at = start.plus_ms(w.rng.below(cfg.duration_ms.max(1)));
            w.schedule(at, Ev::EngineCrash);
        }
        w.schedule(start.plus_ms(cfg.chain.block_time_ms), Ev::Block);
        w.schedule(start.plus_ms(SPEND_EVERY_MS), Ev::Spend);
        if cfg.sample_every_ms > 0 {
            w.schedule(start, Ev::Sample);
        }
        Ok(w)
    }

    pub(super) fn schedule(&mut self, at: Timestamp, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Item {
            at,
            seq: self.seq,
            ev,
        }));
    }

    pub(super) fn run_loop(&mut self) -> Result<(), SimError> {
        let end = Timestamp(self.cfg.start_ms).plus_ms(self.cfg.duration_ms);
        let mut steps: u64 = 0;
        let mut same_time = 0u64;
        loop {
            let next_ev = self.queue.peek().map(|Reverse(item)| item.at);
            let next_engine = if self.down {
                None
            } else {
                self.engine.poll_deadline()
            };
            if next_engine.is_none() && !self.down {
                // Every chain always has a next poll: no deadline means the engine lost track.
                self.violation("the engine reports no deadline at all");
            }
            let next = match (next_ev, next_engine) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(end),
            };
            if next > end {
                break;
            }
            steps += 1;
            if next <= self.now {
                same_time += 1;
            } else {
                same_time = 0;
            }
            if steps > self.cfg.max_steps || same_time > 100_000 {
                return Err(SimError::BusyLoop {
                    seed: self.cfg.seed,
                    steps,
                    at: self.now,
                });
            }
            self.now = self.now.max(next);
            if next_ev == Some(next) {
                let Some(Reverse(item)) = self.queue.pop() else {
                    continue;
                };
                self.event(item.ev);
            } else {
                self.feed(Input::Tick { now: self.now });
            }
            self.drain_outputs();
        }
        self.report.summary.steps = steps;
        self.now = end;
        Ok(())
    }

    /// Hands an input to the engine (and to the recording, if one is kept).
    pub(super) fn feed(&mut self, input: Input) {
        if self.down {
            // Nobody listens: what the dead engine would have heard is lost.
            return;
        }
        if let Some(r) = &mut self.recording {
            r.push(input.clone());
        }
        self.engine.handle_input(input);
    }

    pub(super) fn deliver(&mut self, at: Timestamp, input: Input) {
        // A slab of inputs on their way: no allocation per delivery.
        let slot = if let Some(slot) = self.free_slots.pop() {
            self.in_transit[slot] = Some(input);
            slot
        } else {
            self.in_transit.push(Some(input));
            self.in_transit.len() - 1
        };
        self.schedule(at, Ev::Deliver(index32(slot)));
    }

    pub(super) fn event(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Deliver(slot) => {
                let slot = slot as usize;
                let Some(mut input) = self.in_transit.get_mut(slot).and_then(Option::take) else {
                    return;
                };
                self.free_slots.push(slot);
                retime(&mut input, now);
                self.feed(input);
            }
            Ev::Spend => {
                self.spend();
                self.schedule(now.plus_ms(SPEND_EVERY_MS), Ev::Spend);
            }
            Ev::Block => {
                self.chain.mine(now.as_secs());
                self.schedule(now.plus_ms(self.cfg.chain.block_time_ms), Ev::Block);
            }
            Ev::Crash { service, run } => {
                let service = service as usize;
                // (While the engine is down nobody hears the exit: its successor finds it.)
                if self.exit(service, run, None) && !self.down {
                    // Every crash is detected at once: the verdict no longer says it runs.
                    let name = self.service_names[service].clone();
                    let status = self.engine.service(&name).map(|m| m.verdict().status);
                    if matches!(
                        status,
                        Some(Status::Healthy | Status::Degraded | Status::Starting)
                    ) {
                        self.violation(&format!(
                            "{name} crashed and the verdict is still {status:?}"
                        ));
                    }
                }
            }
            Ev::Exit {
                service,
                run,
                signal,
            } => {
                self.exit(service as usize, run, signal);
            }
            Ev::Hang { service, run } => {
                let a = &mut self.agents[service as usize];
                if a.alive && a.run == run {
                    a.hung_since = Some(now);
                }
            }
            Ev::EngineCrash => {
                if !self.down {
                    self.crash_in = Some(self.rng.below(4));
                }
            }
            Ev::EngineRestart => self.restart_engine(),
            Ev::Sample => {
                self.sample();
                self.schedule(now.plus_ms(self.cfg.sample_every_ms), Ev::Sample);
            }
        }
    }

    pub(super) fn drain_outputs(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            if self.recording.is_some() {
                self.digest.write(&o);
            }
            if let Some(k) = self.crash_in {
                if k == 0 {
                    self.crash_in = None;
                    self.kill_engine();
                    // The rest of the dead engine's outputs are never carried out.
                    while self.engine.poll_output().is_some() {}
                    return;
                }
                self.crash_in = Some(k - 1);
            }
            self.output(o);
        }
    }

    /// `kill -9` of the engine: the outputs it had not executed, and the answers on their way to
    /// it, are lost; its agents live on (their own process groups) and are adopted by the new
    /// engine, which comes back from its journal after a downtime of up to
    /// [`SimConfig::engine_down_ms`].
    pub(super) fn kill_engine(&mut self) {
        self.report.summary.crashes += 1;
        let items: Vec<Item> = std::mem::take(&mut self.queue)
            .into_iter()
            .map(|Reverse(i)| i)
            .filter(|i| !matches!(i.ev, Ev::Deliver(_)))
            .collect();
        self.queue = items.into_iter().map(Reverse).collect();
        self.in_transit.clear();
        self.free_slots.clear();
        self.down = true;
        let down_ms = match self.cfg.engine_down_ms {
            0 => 0,
            max => self.rng.below(max + 1),
        };
        self.schedule(self.now.plus_ms(down_ms), Ev::EngineRestart);
    }

    fn restart_engine(&mut self) {
        self.down = false;
        let mut running = Vec::new();
        let now = self.now;
        for (i, a) in self.agents.iter_mut().enumerate() {
            // The new engine starts what does not run (an operator start) and adopts the rest.
            a.operator_start_pending = !a.alive;
            // The engine's flap window lives in memory: it starts over after a crash.
            a.auto_spawns.clear();
            // A stop in progress is lost with the engine; the adopter decides anew.
            a.terminated = false;
            if a.alive {
                running.push(self.service_names[i].to_string());
                // The new engine cannot know how long it has hung: the clock restarts.
                if a.hung_since.is_some() {
                    a.hung_since = Some(now);
                }
            }
        }
        // The old engine's names are freed: their addresses may come back for other names.
        self.names_by_addr.clear();
        let journal: Vec<JournalEntry> = self.journal.values().cloned().collect();
        let running: Vec<&str> = running.iter().map(String::as_str).collect();
        match Engine::restore(engine_config(&self.cfg), self.now, journal, &running) {
            Ok(engine) => self.engine = engine,
            Err(e) => self.violation(&format!("the engine cannot restart from its journal: {e}")),
        }
    }

    pub(super) fn output(&mut self, o: Output) {
        let now = self.now;
        match o {
            Output::Rpc {
                id, endpoint, call, ..
            } => {
                self.rpc(id, endpoint, call);
            }
            Output::Sign { chain, tx, request } => {
                // Invariant: a nonce that a pool accepted for one payload is never signed for
                // another (only the same record signs there again: a bump, or its cancel).
                if let Some(first) = self.chain.accepted.get(&(request.from, request.nonce))
                    && let Some(prev) = self.hash_record.get(first).copied()
                    && self.nonce_owner.contains_key(&request.nonce)
                {
                    let first_body = self.chain.known(*first).map(|t| t.req.body);
                    let same = prev == tx
                        && (request.body == TxBody::Noop || first_body == Some(request.body));
                    if !same {
                        let what = if prev == tx {
                            "another payload of"
                        } else {
                            "record"
                        };
                        self.violation(&format!(
                            "nonce {} signed for {what} {tx} after a pool accepted it for record {prev}",
                            request.nonce
                        ));
                    }
                }
                self.nonce_owner.insert(request.nonce, tx);
                self.check_safe_sign(tx, &request);
                if request.body == TxBody::Noop
                    && self
                        .engine
                        .nonce_book(chain)
                        .and_then(|b| b.record(tx))
                        .is_some_and(|r| r.attempts.is_empty())
                {
                    self.report.summary.gap_fills += 1;
                }
                self.sign_serial += 1;
                let hash = self.chain.sign(*request, self.sign_serial);
                self.hash_record.insert(hash, tx);
                self.feed(Input::Signed {
                    now,
                    chain,
                    tx,
                    hash,
                });
            }
            Output::Journal(entry) => {
                self.journal.insert((entry.chain, entry.record.id), *entry);
            }
            Output::Spawn { service } => self.spawn(service),
            Output::Terminate { service } => {
                if let Some(&i) = self.lookup(&service) {
                    let a = &mut self.agents[i];
                    if a.alive && a.behaviour != Behaviour::Stubborn {
                        a.terminated = true;
                        let run = a.run;
                        self.schedule(
                            now.plus_ms(300),
                            Ev::Exit {
                                service: index32(i),
                                run,
                                signal: Some(15),
                            },
                        );
                    }
                }
            }
            Output::Kill { service } => {
                if let Some(&i) = self.lookup(&service) {
                    let a = &mut self.agents[i];
                    if a.alive {
                        a.terminated = true;
                        let run = a.run;
                        self.schedule(
                            now.plus_ms(10),
                            Ev::Exit {
                                service: index32(i),
                                run,
                                signal: Some(9),
                            },
                        );
                    }
                }
            }
            Output::Probe {
                service,
                timeout_ms,
            } => self.probe(service, timeout_ms),
            Output::Event(e) => self.observe(e),
        }
    }
}
/// Inputs carry the time they are delivered at (set in place: an input is large).
pub(super) fn retime(input: &mut Input, at: Timestamp) {
    match input {
        Input::RpcResponse { now, .. } | Input::Probed { now, .. } => *now = at,
        Input::Tick { .. }
        | Input::Command { .. }
        | Input::Signed { .. }
        | Input::SignFailed { .. }
        | Input::Spawned { .. }
        | Input::Adopted { .. }
        | Input::SpawnFailed { .. }
        | Input::Exited { .. } => {}
    }
}

impl World {
    pub(super) fn sample(&mut self) {
        let wallets = self
            .agents
            .iter()
            .map(|a| self.chain.balance(a.wallet))
            .collect();
        let status = (0..self.agents.len())
            .map(|i| {
                self.engine
                    .service(&self.service_names[i])
                    .map_or(Status::Stopped, |m| m.verdict().status)
            })
            .collect();
        self.report.timeline.push(Sample {
            t: self.now,
            wallets,
            funder: self.chain.balance(funder()),
            status,
        });
    }
}

/// The chain's first balances: the funder's (or the Safe's, and the funder's gas money) and the
/// agents' staggered ones, so the wallets run low at different times.
fn start_balances(cfg: &SimConfig) -> Map<alloy_primitives::Address, U256> {
    let mut balances = Map::new();
    if cfg.safe {
        balances.insert(super::safe(), cfg.funder_balance);
        balances.insert(funder(), cfg.funder_balance / U256::from(100));
    } else {
        balances.insert(funder(), cfg.funder_balance);
    }
    let n = U256::from(cfg.services.max(1));
    for i in 0..cfg.services as usize {
        let share = cfg.wallet_balance.saturating_mul(U256::from(i + 1)) / n;
        balances.insert(wallet(i), share);
    }
    balances
}
