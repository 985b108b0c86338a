//! tend's native integration tests: one binary (fewer link steps on small machines).
//!
//! Real components throughout: the real `tend` binary as a process, real anvil nodes, real
//! agent processes, real files.

#![allow(missing_docs, clippy::unwrap_used, unreachable_pub, dead_code)]

mod cli;
mod daemon;
mod support;
