//! tend in the browser.
//!
//! This crate is the wasm adapter's boundary: the core's calculators behind JSON text in, JSON
//! text out, with errors that carry a stable `code` (this module, testable natively), and the
//! `wasm-bindgen` exports over them ([`js`]: camelCase names, `bigint` amounts, JS `Error`s with
//! a `code`).

pub mod js;

use tend_core::funding::plan::{PlanInput, plan};
use tend_core::funding::{FundingSnapshot, funding_requirements};
use tend_core::json::InputError;

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
    let report = funding_requirements(&FundingSnapshot::from_json_str(snapshot_json)?);
    Ok(serde_json::to_string(&report).unwrap_or_default())
}

/// The simulation world for a `SimConfig` (JSON text in, `SimReport` JSON text out).
pub fn simulate(config_json: &str) -> Result<String, WebError> {
    let cfg: tend_core::sim::SimConfig =
        serde_json::from_str(config_json).map_err(|e| WebError {
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
    serde_json::to_string(&report).map_err(|e| WebError {
        code: "internal",
        message: e.to_string(),
    })
}

/// tend's funding plan for a planner input (JSON text in and out).
pub fn plan_funding(input_json: &str) -> Result<String, WebError> {
    let p = plan(&PlanInput::from_json_str(input_json)?)?;
    Ok(serde_json::to_string(&p).unwrap_or_default())
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
    fn empty_plan_is_empty() {
        let out = plan_funding("{\"chains\": {}, \"wallets\": []}").unwrap();
        assert_eq!(out, "{\"transfers\":[],\"shortfalls\":[],\"runway\":[]}");
    }
}
