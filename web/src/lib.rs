//! tend in the browser.
//!
//! This crate is the wasm adapter's boundary: the core's calculators behind JSON text in, JSON
//! text out, with errors that carry a stable `code` (this module, testable natively), and the
//! `wasm-bindgen` exports over them ([`js`]: camelCase names, `bigint` amounts, JS `Error`s with
//! a `code`).

pub mod js;
mod log;
pub mod rpc;

use tend_core::funding::plan::{PlanInput, plan};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::json::InputError;
use tend_derive::ToJson;

/// An error as it crosses to JavaScript: a stable code and a message naming the bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct WebError {
    /// A stable machine-readable code (`invalid_input`).
    pub code: &'static str,
    /// The JSON path of the bad field and what is wrong with it.
    pub message: String,
}

impl From<InputError> for WebError {
    fn from(e: InputError) -> Self {
        WebError {
            code: "invalid_input",
            message: e.to_string(),
        }
    }
}

/// The Olas `funding_requirements` body for a funding snapshot (JSON text in and out).
pub fn olas_funding_report(snapshot_json: &str) -> Result<String, WebError> {
    out(&funding_requirements(&FundingSnapshot::from_json_str(
        snapshot_json,
    )?))
}

/// The simulation world for a `SimConfig` (JSON text in, `SimReport` JSON text out).
pub fn simulate(config_json: &str) -> Result<String, WebError> {
    let cfg = tend_core::sim::SimConfig::from_json(config_json).map_err(|e| WebError {
        code: "invalid_config",
        message: format!("simulation config: {e}"),
    })?;
    let report = tend_core::sim::run(&cfg).map_err(|e| WebError {
        code: match e {
            tend_core::sim::SimError::Config(_) => "invalid_config",
            tend_core::sim::SimError::BusyLoop { .. } => "busy_loop",
        },
        message: e.to_string(),
    })?;
    out(&report)
}

/// A recording's replay: its outputs as JSON lines (byte for byte what `tend replay` prints),
/// their Keccak-256 hash, and the counts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ToJson)]
pub struct Replayed {
    /// The outputs, one JSON line each.
    pub outputs: String,
    /// Keccak-256 of `outputs`, hex.
    pub hash: String,
    /// Inputs replayed.
    pub inputs: usize,
    /// Outputs given.
    pub count: usize,
}

fn recording_error(e: tend_core::recording::ReplayError) -> WebError {
    match e {
        tend_core::recording::ReplayError::Parse(p) => WebError {
            code: "invalid_recording",
            message: p.to_string(),
        },
        tend_core::recording::ReplayError::Config(m) => WebError {
            code: "invalid_config",
            message: m,
        },
    }
}

/// Replays a recording's text (`tend run --record`).
pub fn replay_recording(text: &str) -> Result<Replayed, WebError> {
    use tend_core::recording as r;
    let rec = r::Recording::parse(text).map_err(|e| recording_error(e.into()))?;
    let outputs = r::replay(&rec).map_err(recording_error)?;
    let text = r::outputs_text(&outputs);
    Ok(Replayed {
        hash: r::text_hash(&text),
        outputs: text,
        inputs: rec.inputs.len(),
        count: outputs.len(),
    })
}

/// What-if on recorded history: the recording's text and another engine configuration (JSON)
/// in, the comparison (`tend replay --policy … --json`) out.
pub fn what_if(recording: &str, config_json: &str) -> Result<String, WebError> {
    use tend_core::recording as r;
    let rec = r::Recording::parse(recording).map_err(|e| recording_error(e.into()))?;
    let config =
        tend_core::engine::config::EngineConfig::from_json(config_json).map_err(|e| WebError {
            code: "invalid_config",
            message: format!("engine configuration: {e}"),
        })?;
    out(&r::what_if(&rec, config).map_err(recording_error)?)
}

/// The engine driven by a caller's own loop, JSON text at the boundary (the same inputs and
/// outputs a recording holds).
pub struct WebEngine {
    inner: tend_core::engine::Engine,
}

impl WebEngine {
    /// An engine for `config_json` (an `EngineConfig`) at `now_ms`, restored from a journal
    /// (`JournalEntry` array JSON) with the services whose agents are running; empty journal and
    /// list for a first start.
    pub fn restore(
        config_json: &str,
        now_ms: u64,
        journal_json: &str,
        running: &[String],
    ) -> Result<Self, WebError> {
        let config =
            tend_core::engine::config::EngineConfig::from_json(config_json).map_err(|e| {
                WebError {
                    code: "invalid_config",
                    message: format!("engine configuration: {e}"),
                }
            })?;
        let journal = tend_core::engine::io::JournalEntry::list_from_json(journal_json)
            .map_err(|e| parse_error(&e, "journal"))?;
        let running: Vec<&str> = running.iter().map(String::as_str).collect();
        let inner = tend_core::engine::Engine::restore(
            config,
            tend_core::time::Timestamp::from_ms(now_ms),
            journal,
            &running,
        )
        .map_err(|e| WebError {
            code: "invalid_config",
            message: e.to_string(),
        })?;
        Ok(Self { inner })
    }

    /// Hands one input (JSON of an engine `Input`) to the engine.
    pub fn handle_input(&mut self, input_json: &str) -> Result<(), WebError> {
        let input = tend_core::engine::io::Input::from_json(input_json)
            .map_err(|e| parse_error(&e, "engine input"))?;
        self.inner.handle_input(input);
        Ok(())
    }

    /// Every output waiting, as JSON text of an array (empty when idle).
    pub fn drain(&mut self) -> Result<String, WebError> {
        let mut out = Vec::new();
        while let Some(o) = self.inner.poll_output() {
            out.push(o);
        }
        self::out(&out)
    }

    /// When the engine wants a tick, and why (`{at, reason}` JSON, or `null`).
    pub fn poll_timeout(&self) -> Result<String, WebError> {
        out(&self
            .inner
            .poll_timeout()
            .map(|(at, reason)| Due { at, reason }))
    }

    /// The engine's clock, ms since the epoch.
    pub fn now_ms(&self) -> u64 {
        self.inner.now().as_ms()
    }
}

/// When the engine wants its next tick, and why.
#[derive(serde::Serialize, ToJson)]
struct Due<R> {
    at: tend_core::time::Timestamp,
    reason: R,
}

/// The nonce planner's answer for one sender.
#[derive(serde::Serialize, ToJson)]
struct Planned<G, A> {
    next_nonce: Option<u64>,
    gaps: G,
    actions: A,
}

/// An action the health reducer asked for, with the time it asked.
#[derive(serde::Serialize, ToJson)]
struct Asked<A> {
    at: tend_core::time::Timestamp,
    action: A,
}

/// The health reducer's answer over a list of samples.
#[derive(serde::Serialize, ToJson)]
struct HealthAnswer<V, S, D, A> {
    verdict: V,
    state: S,
    restarts: u64,
    next_deadline: D,
    actions: Vec<A>,
}

fn parse_error(e: &tend_json::read::Error, what: &str) -> WebError {
    WebError {
        code: "invalid_input",
        message: format!("{what}: {e}"),
    }
}

// A Result like every export's other steps (writing JSON itself cannot fail).
#[allow(clippy::unnecessary_wraps)]
fn out<T: tend_json::write::ToJson>(v: &T) -> Result<String, WebError> {
    Ok(tend_json::write::to_string(v))
}

/// The ordered steps from a service's facts to a target (`{facts, target}` in, `{steps,
/// warnings}` out); a guard that forbids it is an error with code `transition_refused`.
pub fn plan_transition(request_json: &str) -> Result<String, WebError> {
    let r = tend_core::lifecycle::plan::TransitionRequest::from_json(request_json)
        .map_err(|e| parse_error(&e, "transition request"))?;
    let plan = tend_core::lifecycle::plan::plan(&r.facts, r.target).map_err(|e| WebError {
        code: "transition_refused",
        message: e.to_string(),
    })?;
    out(&plan)
}

/// What the nonce planner would do for a sender (`{records, chain, now, market?, policy?}` in,
/// `{next_nonce, gaps, actions}` out).
pub fn plan_nonces(request_json: &str) -> Result<String, WebError> {
    let r = tend_core::nonce::NonceRequest::from_json(request_json)
        .map_err(|e| parse_error(&e, "nonce request"))?;
    let mut book = tend_core::nonce::NonceBook::restore(r.records);
    // The deep-reorg watch needs a history; a single view never triggers it.
    let _ = book.observe_chain(r.chain);
    let actions = book.plan(r.now, r.market, &r.policy);
    out(&Planned {
        next_nonce: book.next_nonce(),
        gaps: book.gaps(),
        actions,
    })
}

/// The health reducer over a list of samples (`{preset?, policy?, samples}` in; `{verdict,
/// state, restarts, next_deadline, actions}` out, `actions` with the time each was asked).
pub fn health_verdict(request_json: &str) -> Result<String, WebError> {
    use tend_core::health::{AgentMonitor, HealthPolicy, HealthRequest, HealthSample};
    let r =
        HealthRequest::from_json(request_json).map_err(|e| parse_error(&e, "health request"))?;
    let policy = match (r.policy, r.preset.as_deref()) {
        (Some(p), _) => p,
        (None, None | Some("tend")) => HealthPolicy::tend(),
        (None, Some("olas")) => HealthPolicy::olas(),
        (None, Some(other)) => {
            return Err(WebError {
                code: "invalid_input",
                message: format!("preset {other:?}: expected \"tend\" or \"olas\""),
            });
        }
    };
    let mut m = AgentMonitor::new(policy);
    let mut actions = Vec::new();
    for s in r.samples {
        let (at, done): (_, Vec<_>) = match s {
            HealthSample::Start { at } => (at, m.start(at).to_vec()),
            HealthSample::Spawned { at } => (at, m.spawned(at).to_vec()),
            HealthSample::Probe { at, result } => {
                // A sample is a probe the caller made: count it as asked for.
                let mut asked = m.tick(at).to_vec();
                asked.extend(m.probe(at, &result));
                (at, asked)
            }
            HealthSample::Exited { at, status } => (at, m.exited(at, status).to_vec()),
            HealthSample::Stop { at } => (at, m.stop(at).to_vec()),
            HealthSample::Tick { at } => (at, m.tick(at).to_vec()),
        };
        actions.extend(done.into_iter().map(|action| Asked { at, action }));
    }
    out(&HealthAnswer {
        verdict: m.verdict(),
        state: m.state(),
        restarts: m.restarts(),
        next_deadline: m.next_deadline(),
        actions,
    })
}

/// tend's funding plan for a planner input (JSON text in and out).
pub fn plan_funding(input_json: &str) -> Result<String, WebError> {
    out(&plan(&PlanInput::from_json_str(input_json)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_a_code_and_the_path() {
        let e = olas_funding_report("{\"now\": -1}").unwrap_err();
        assert_eq!(e.code, "invalid_input");
        assert!(e.message.starts_with("$.now:"), "{}", e.message);
        let e = plan_funding("[]").unwrap_err();
        assert!(e.message.starts_with("$:"), "{}", e.message);
    }

    #[test]
    fn simulate_reports_and_refuses_bad_configs() {
        let out = simulate(r#"{"services": 2, "duration_ms": 3600000, "sample_every_ms": 600000}"#)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["summary"]["services"].as_array().unwrap().len(), 2);
        // A sample at the start, every 10 minutes, and at the end.
        assert_eq!(v["timeline"].as_array().unwrap().len(), 7);
        assert!(v["violations"].as_array().unwrap().is_empty());
        let e = simulate(r#"{"servics": 2}"#).unwrap_err();
        assert_eq!(e.code, "invalid_config");
        assert!(e.message.contains("servics"), "{}", e.message);
        let e = simulate(r#"{"endpoints": []}"#).unwrap_err();
        assert_eq!(e.code, "invalid_config");
    }

    #[test]
    fn transitions_nonces_and_health() {
        let facts = r#"{"on_chain":"NON_EXISTENT","staking":"UNSTAKED","staking_program":null,
            "agent_instances":0,"max_instances":1,
            "current_program":{"now_secs":0,"stake_start_secs":0,"min_staking_duration_secs":0,"has_available_rewards":true,"free_slots":1},
            "target_program":{"now_secs":0,"stake_start_secs":0,"min_staking_duration_secs":0,"has_available_rewards":true,"free_slots":1},
            "has_multisig":false,"master_safe_owns_multisig":false,"has_rewards_to_claim":false,
            "update_needed":false,"deployment":"CREATED"}"#;
        let out = plan_transition(&format!(
            r#"{{"facts":{facts},"target":{{"target":"running","staking_program":null}}}}"#
        ))
        .unwrap();
        assert!(
            out.starts_with(r#"{"steps":[{"step":"registry","action":"mint"}"#),
            "{out}"
        );
        let e = plan_transition(&format!(
            r#"{{"facts":{facts},"target":{{"target":"flying"}}}}"#
        ))
        .unwrap_err();
        assert_eq!(e.code, "invalid_input");

        let nonces =
            plan_nonces(r#"{"records":[],"chain":{"latest":4,"pending":6,"head":100},"now":0}"#)
                .unwrap();
        assert_eq!(nonces, r#"{"next_nonce":6,"gaps":[],"actions":[]}"#);

        let h = health_verdict(
            r#"{"samples":[{"kind":"start","at":0},{"kind":"spawned","at":1},
                {"kind":"probe","at":2,"result":{"result":"http","status":200,"latency_ms":3,"body":null}},
                {"kind":"probe","at":10002,"result":{"result":"http","status":200,"latency_ms":3,"body":null}},
                {"kind":"exited","at":20000,"status":{"code":1,"signal":null}}]}"#,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&h).unwrap();
        assert_eq!(v["verdict"]["status"], "backing_off");
        assert_eq!(v["verdict"]["reason"]["reason"], "exited");
        assert_eq!(v["restarts"], 1);
        assert_eq!(
            health_verdict(r#"{"preset":"k8s","samples":[]}"#)
                .unwrap_err()
                .code,
            "invalid_input"
        );
    }

    #[test]
    fn empty_plan_is_empty() {
        let out = plan_funding("{\"chains\": {}, \"wallets\": []}").unwrap();
        assert_eq!(out, "{\"transfers\":[],\"shortfalls\":[],\"runway\":[]}");
    }
}
