//! The chains: JSON-RPC endpoints (alloy, retries, Multicall3 balance reads, the raw
//! transactions to broadcast), the funding key (keystores, environment keys), signing, the
//! balance reads of the Olas funding report, and an Olas service's facts read from the
//! registries. May call [`crate::config`], [`crate::secret`] and [`crate::clock`]; knows nothing
//! of the daemon or the CLI.

pub mod keys;
pub mod olas;
pub mod olas_facts;
pub mod olas_status;
pub mod round;
pub mod rpc;
pub mod safe;
pub mod sign;
