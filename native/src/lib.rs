//! tend's native adapter: the `tend` command line and (as it grows) the daemon that supervises
//! agents, reads chains and sends funding transactions. It only translates between the outside
//! world and [`tend_core`], which makes every decision.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod funding;
pub mod journal;
pub mod keys;
pub mod olas;
pub mod ops;
pub mod pidfile;
pub mod probe;
pub mod process;
pub mod recording;
pub mod rpc;
pub mod secret;
