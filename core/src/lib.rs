//! tend's sans-IO core.
//!
//! Everything here is computed from injected inputs: no network, files, processes, clock or
//! randomness. Money is [`alloy_primitives::U256`] in the asset's smallest unit; time is an
//! integer carried by the inputs. The same code runs in the native daemon, in the browser (wasm)
//! and in deterministic replays.
//!
//! - [`chain`], [`address`], [`amount`], [`chain_amounts`]: the domain types;
//! - [`funding::olas`]: the Olas middleware's `funding_requirements` report, reproduced exactly;
//! - [`funding::plan`]: tend's own funding planner;
//! - [`time`]: time as an input;
//! - [`fees`]: EIP-1559 estimation, the fee cap and the replacement bump;
//! - [`nonce`]: the nonce planner of one sender on one chain;
//! - [`health`]: health verdicts and the agent process life cycle;
//! - [`rpc`]: RPC policy (failure classes, retries, endpoint ranking, breakers, rate limits);
//! - [`rng`]: the seeded generator behind jitter and simulation;
//! - [`engine`]: the facade that runs services and chains from inputs to outputs;
//! - [`sim`]: a seeded simulation world around the engine;
//! - [`json`], [`ser`]: how the domain's values are read from and written to JSON (addresses,
//!   amounts, chains; errors that name the bad field's JSONPath), on top of `tend-json`;
//! - [`map`]: the small ordered `Map`/`Set` the domain keeps its tables in.
//!
//! JSON itself (the reader, the writer, their derives) is the `tend-json` crate: the core calls
//! it, it knows nothing of the core.

pub mod address;
pub mod amount;
pub mod chain;
pub mod chain_amounts;
pub mod engine;
pub mod fees;
pub mod funding;
pub mod health;
pub mod json;
pub mod lifecycle;
pub mod map;
pub mod multicall;
pub mod nonce;
mod order;
pub mod recording;
pub mod rng;
pub mod rpc;
pub mod safe;
pub mod ser;
pub mod sim;
pub mod time;

pub use alloy_primitives::{Address, B256, U256};

#[cfg(test)]
mod input_tests;
