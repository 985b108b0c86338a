//! Funding: the Olas-compatible report and tend's own planner.

pub mod olas;
pub mod plan;
pub mod snapshot;

pub use olas::{OlasReport, funding_requirements};
pub use snapshot::FundingSnapshot;
