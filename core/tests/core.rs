//! Integration tests of tend-core, one binary (fewer link steps on small machines):
//! - `olas_examples`: the worked examples A–E of the domain document (§2.8) and the quirks;
//! - `snapshot_errors`: a bad value in every field of the funding snapshot;
//! - `olas_props`: properties of the Olas report;
//! - `plan`: tend's own planner, by example and by property.
//! - `engine`: the facade by hand: output order, restart from the journal, bad inputs, config;
//! - `health`: health verdicts and the agent life cycle, by example and by property;
//! - `lifecycle`: transition tables, guards, transition plans and start-up recovery;
//! - `nonce`: the nonce planner, by example, by node error message and against a reference model.
//! - `rpc`: RPC policy: failure classes, decisions, breakers, ranking, head lag, rate limits.
//! - `recording`: recordings replayed, and what-if on recorded history;
//! - `safe_funding`: top-ups from a Safe: batching, the Safe nonce, bumps, failures, restarts;
//! - `sim`: the simulation world over many seeds, determinism, and named scenarios;
//! - `steps`: life-cycle steps sent by the engine: nonces, journal, events, bumps, restarts;
//! - `world`: a chain that answers the engine at once, for the tests above.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::needless_pass_by_value,
    clippy::doc_markdown,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    clippy::collapsible_if,
    clippy::wildcard_enum_match_arm
)]

mod common;
mod engine;
mod health;
mod lifecycle;
mod nonce;
mod olas_examples;
mod olas_props;
mod plan;
mod recording;
mod rpc;
mod safe_funding;
mod sim;
mod snapshot_errors;
mod steps;
mod world;
