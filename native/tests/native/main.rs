//! tend's native integration tests: one binary (fewer link steps on small machines).
//!
//! Real components throughout: the real `tend` binary as a process, real anvil nodes, real
//! agent processes, real files.

// Tests measure real time (top-up latency, timeouts): the clock rule is for the core and the
// adapters, not for tests.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::too_many_lines,
    unreachable_pub,
    dead_code
)]

mod api;
mod cli;
mod corpus;
mod daemon;
mod demo;
mod lifecycle;
mod lifecycle_safe;
mod nonces;
mod olas;
mod record;
mod restarts;
mod safe_funding;
mod supervise;
mod support;
