//! What a simulation reports: samples over time, the timeline of notable events, per-service
//! and overall summaries, the invariant violations, and the digest of every engine output.

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::engine::Output;
use crate::health::Status;
use crate::ser;
use crate::time::Timestamp;

use super::SimConfigError;

/// One point of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Sample {
    /// When, ms.
    pub t: Timestamp,
    /// Each service wallet's balance, wei, in service order.
    #[serde(with = "ser::dec::vec")]
    pub wallets: Vec<U256>,
    /// The funder's balance, wei.
    #[serde(with = "ser::dec")]
    pub funder: U256,
    /// Each service's status, in service order.
    pub status: Vec<Status>,
}

/// Something that happened, for a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// A funding transfer was planned.
    Transfer {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
        /// Wei.
        #[serde(with = "ser::dec")]
        amount: U256,
    },
    /// A service's status changed.
    Health {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
        /// The new status.
        status: Status,
    },
    /// An agent was spawned again after a failure.
    Restart {
        /// When.
        t: Timestamp,
        /// The service.
        service: u32,
    },
}

/// Per-service figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct ServiceSummary {
    /// The service's name.
    pub name: String,
    /// Automatic restarts.
    pub restarts: u64,
    /// Funding transfers planned to its wallet.
    pub transfers: u64,
    /// Wei sent to its wallet.
    #[serde(with = "ser::dec")]
    pub funded: U256,
    /// The wallet's balance at the end, wei.
    #[serde(with = "ser::dec")]
    pub final_balance: U256,
    /// Seconds the wallet lasts at its spend rate from the end balance (`None`: no spend).
    pub runway_secs: Option<u64>,
    /// The status at the end.
    pub status: Status,
}

/// Whole-run figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Summary {
    /// Steps the driver took.
    pub steps: u64,
    /// Inputs the engine handled.
    pub inputs: u64,
    /// Blocks mined.
    pub blocks: u64,
    /// Reorgs.
    pub reorgs: u64,
    /// Dropped transactions.
    pub dropped: u64,
    /// Sum over blocks of our executable transactions left waiting (stuck time, in blocks).
    pub waits: u64,
    /// Replacements asked by the engine.
    pub replacements: u64,
    /// Gap fills.
    pub gap_fills: u64,
    /// Engine crashes and restarts.
    pub crashes: u64,
    /// Reorgs deeper than the confirmation depth that undid confirmed transactions.
    pub deep_reorgs: u64,
    /// Safe transactions signed (each Safe nonce once; [`crate::sim::SimConfig::safe`]).
    #[serde(default)]
    pub safe_transactions: u64,
    /// Top-ups they carried.
    #[serde(default)]
    pub safe_top_ups: u64,
    /// What the funder spent (transfers and gas), wei.
    #[serde(with = "ser::dec")]
    pub funds_spent: U256,
    /// Per service.
    pub services: Vec<ServiceSummary>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Figures.
    pub summary: Summary,
    /// Samples every `sample_every_ms`.
    pub timeline: Vec<Sample>,
    /// Transfers, status changes, restarts.
    pub events: Vec<TimelineEvent>,
    /// Broken invariants, first first (empty on a good run).
    pub violations: Vec<String>,
}

impl SimReport {
    /// The first broken invariant, with the seed to rerun it.
    pub fn first_violation(&self) -> Option<String> {
        self.violations
            .first()
            .map(|v| format!("seed {}: {v}", self.seed))
    }
}

/// A run that could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] SimConfigError),
    /// More steps than `max_steps`, or too many steps without time passing.
    #[error("busy loop: seed {seed}, {steps} steps, stuck at t = {at}")]
    BusyLoop {
        /// The seed.
        seed: u64,
        /// Steps taken.
        steps: u64,
        /// The virtual time.
        at: Timestamp,
    },
}

/// An FNV-1a hash of outputs in their JSON form: equal digests, equal decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputDigest(u64);

impl Default for OutputDigest {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl OutputDigest {
    /// Adds one output.
    pub fn write(&mut self, o: &Output) {
        let text = tend_json::write::to_string(o);
        for b in text.bytes().chain(std::iter::once(b'\n')) {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}
