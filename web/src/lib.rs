//! tend in the browser.
//!
//! This crate is the wasm adapter's boundary: the core's calculators behind JSON text in, JSON
//! text out, with errors that carry a stable `code`. The `wasm-bindgen` exports (camelCase
//! names, `bigint` amounts) wrap these functions; they land with the npm package.

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
    fn empty_plan_is_empty() {
        let out = plan_funding("{\"chains\": {}, \"wallets\": []}").unwrap();
        assert_eq!(out, "{\"transfers\":[],\"shortfalls\":[],\"runway\":[]}");
    }
}
