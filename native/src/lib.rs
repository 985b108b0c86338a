//! tend's native adapter: the `tend` command line and the daemon that supervises agents, reads
//! chains and sends funding transactions. It only translates between the outside world and
//! [`tend_core`], which makes every decision.
//!
//! The modules, from the outside in (each may call only the ones below it):
//! - [`cli`]: argument parsing and one file per command; commands use the daemon, its API
//!   client and the rooms below, never the other way.
//! - [`daemon`]: the driver loop around the core's engine, the view it publishes, the HTTP API.
//! - [`devnet`]: local anvil devnets for the demo, the tests and the benchmarks.
//! - [`chain`]: JSON-RPC endpoints, keys and signing, the Olas report's balance reads.
//! - [`agents`]: agent process groups, PID files, health probes.
//! - [`store`]: the crash-safe journal and recordings of engine inputs.
//! - [`config`]: `tend.toml`, parsed and validated.
//! - [`secret`] and [`clock`]: redacted secrets and the one clock of the workspace.

pub mod agents;
pub mod chain;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod devnet;
pub mod secret;
pub mod store;
