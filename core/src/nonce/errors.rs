//! Classification of `eth_sendRawTransaction` errors into nonce-planner decisions.
//!
//! Node software spells the same condition many ways. The table below holds the spellings of
//! geth, erigon, besu, nethermind, reth, anvil and hardhat, and of the rollups (Arbitrum,
//! Optimism, zkSync, Polygon), matched case-insensitively as substrings, in table order: the first
//! class whose pattern matches wins, so "replacement transaction underpriced" is found before the
//! generic "underpriced".

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

/// What a node's answer to a raw send means for the nonce planner.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum SendErrorClass {
    /// The node already has this exact transaction: treat as sent.
    AlreadyKnown,
    /// The nonce is already used on chain (by this transaction, a replacement of it, or another).
    /// Never retried with the same nonce; the planner checks receipts.
    NonceTooLow,
    /// A transaction with this nonce is in the pool and our fees are not a valid bump over it.
    /// Bump again (over our highest fees so far).
    ReplacementUnderpriced,
    /// The nonce is ahead of the account's next nonce: a lower nonce is missing. Fill the gap,
    /// then send again.
    NonceTooHigh,
    /// The fees are below what the pool or the next block accepts: reprice at the market.
    FeeTooLow,
    /// The sender cannot pay value + gas: the transaction never entered a pool.
    InsufficientFunds,
    /// The pool is full or the node asked us to slow down: the transaction did not enter the pool;
    /// send it again later.
    Busy,
    /// Any other definite rejection (intrinsic gas, block gas limit, bad signature, wrong chain,
    /// unsupported type): the transaction never entered a pool.
    Rejected,
    /// No pattern matched: the outcome is unknown, so the nonce may have reached a node.
    Unknown,
}

impl SendErrorClass {
    /// Whether the answer proves that this transaction did not enter any pool (so its nonce may be
    /// released if nothing else of ours holds it).
    pub const fn proves_not_in_pool(self) -> bool {
        matches!(
            self,
            Self::InsufficientFunds | Self::Rejected | Self::FeeTooLow | Self::NonceTooHigh
        )
    }

    /// The snake-case name used in journals and events.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyKnown => "already_known",
            Self::NonceTooLow => "nonce_too_low",
            Self::ReplacementUnderpriced => "replacement_underpriced",
            Self::NonceTooHigh => "nonce_too_high",
            Self::FeeTooLow => "fee_too_low",
            Self::InsufficientFunds => "insufficient_funds",
            Self::Busy => "busy",
            Self::Rejected => "rejected",
            Self::Unknown => "unknown",
        }
    }
}

/// The patterns, in match order. Each is lower case and matched as a substring of the lower-cased
/// error message.
pub const PATTERNS: &[(SendErrorClass, &str)] = &[
    // "unknown transaction" must not read as "known transaction".
    (SendErrorClass::Unknown, "unknown transaction"),
    // Already known.
    (SendErrorClass::AlreadyKnown, "already known"), // geth, erigon, reth, infura
    (SendErrorClass::AlreadyKnown, "alreadyknown"),  // nethermind AlreadyKnown
    (SendErrorClass::AlreadyKnown, "known transaction"), // besu "Known transaction", old geth
    (SendErrorClass::AlreadyKnown, "transaction already imported"), // anvil, hardhat
    (
        SendErrorClass::AlreadyKnown,
        "same hash was already imported",
    ), // nethermind, openethereum
    (SendErrorClass::AlreadyKnown, "existing tx with same hash"), // erigon INTERNAL_ERROR
    (SendErrorClass::AlreadyKnown, "already_exists"), // grpc-style pools
    (SendErrorClass::AlreadyKnown, "tx already in mempool"), // cosmos-evm chains
    (SendErrorClass::AlreadyKnown, "already in pool"), // various
    // Replacement underpriced (before the generic "underpriced" and "fee too low").
    (
        SendErrorClass::ReplacementUnderpriced,
        "replacement transaction underpriced",
    ), // geth, anvil, besu, reth
    (
        SendErrorClass::ReplacementUnderpriced,
        "replacement_underpriced",
    ), // besu code
    (
        SendErrorClass::ReplacementUnderpriced,
        "replace underpriced",
    ), // erigon
    (
        SendErrorClass::ReplacementUnderpriced,
        "insufficient gas price to replace",
    ), // reth
    (
        SendErrorClass::ReplacementUnderpriced,
        "could not replace existing tx",
    ), // erigon
    (SendErrorClass::ReplacementUnderpriced, "feetoolowtocompete"), // nethermind
    (
        SendErrorClass::ReplacementUnderpriced,
        "replacementnotallowed",
    ), // open-aea wording
    (
        SendErrorClass::ReplacementUnderpriced,
        "gas price supplied is too low",
    ), // openethereum
    // Nonce too low.
    (SendErrorClass::NonceTooLow, "nonce too low"), // geth, erigon, anvil, hardhat, arbitrum, op
    (SendErrorClass::NonceTooLow, "nonce is too low"), // openethereum, zksync
    (SendErrorClass::NonceTooLow, "nonce_too_low"), // besu code
    (SendErrorClass::NonceTooLow, "oldnonce"),      // nethermind OldNonce
    (SendErrorClass::NonceTooLow, "old nonce"),     // nethermind text
    (SendErrorClass::NonceTooLow, "nonce has already been used"), // ethers-style wrappers
    (SendErrorClass::NonceTooLow, "nonce already used"),
    (SendErrorClass::NonceTooLow, "invalid nonce; got"), // polygon zkevm style
    // Nonce too high.
    (SendErrorClass::NonceTooHigh, "nonce too high"), // geth, erigon, anvil, hardhat, zksync
    (SendErrorClass::NonceTooHigh, "nonce too far in the future"), // besu
    (SendErrorClass::NonceTooHigh, "nonce_too_far_in_future"), // besu code
    (
        SendErrorClass::NonceTooHigh,
        "too distant from current sender nonce",
    ), // besu text
    (SendErrorClass::NonceTooHigh, "exceeds next nonce"), // nethermind
    (SendErrorClass::NonceTooHigh, "noncegap"),       // nethermind NonceGap
    (SendErrorClass::NonceTooHigh, "nonce gap"),
    (SendErrorClass::NonceTooHigh, "nonce out of range"), // arbitrum, op-geth sequencers
    (SendErrorClass::NonceTooHigh, "tx-nonce-too-high"),
    (SendErrorClass::NonceTooHigh, "nonce too distant"), // erigon
    // Insufficient funds (before "fee too low": geth says "insufficient funds for gas * price").
    (SendErrorClass::InsufficientFunds, "insufficient funds"), // geth, erigon, anvil, reth
    (SendErrorClass::InsufficientFunds, "insufficientfunds"),  // nethermind
    (SendErrorClass::InsufficientFunds, "exceeds account balance"), // besu upfront cost
    (SendErrorClass::InsufficientFunds, "insufficient balance"),
    // Fee too low.
    (SendErrorClass::FeeTooLow, "transaction underpriced"), // geth pool minimum
    (
        SendErrorClass::FeeTooLow,
        "max fee per gas less than block base fee",
    ), // geth, anvil
    (SendErrorClass::FeeTooLow, "feetoolow"),               // nethermind FeeTooLow
    (SendErrorClass::FeeTooLow, "fee too low"),             // erigon
    (
        SendErrorClass::FeeTooLow,
        "gas price below configured minimum",
    ), // besu
    (SendErrorClass::FeeTooLow, "gas price too low"),
    (SendErrorClass::FeeTooLow, "is too low for the next block"), // open-aea
    (SendErrorClass::FeeTooLow, "insufficient maxfeepergas"),
    (SendErrorClass::FeeTooLow, "underpriced"), // anything else underpriced
    // Busy.
    (SendErrorClass::Busy, "txpool is full"), // geth
    (SendErrorClass::Busy, "pool overflow"),  // erigon
    (SendErrorClass::Busy, "mempool is full"),
    (SendErrorClass::Busy, "too many requests"),
    (SendErrorClass::Busy, "rate limit"),
    (SendErrorClass::Busy, "request limit"),
    // Other definite rejections.
    (SendErrorClass::Rejected, "intrinsic gas too low"),
    (SendErrorClass::Rejected, "exceeds block gas limit"),
    (SendErrorClass::Rejected, "gas limit reached"),
    (SendErrorClass::Rejected, "invalid sender"),
    (SendErrorClass::Rejected, "invalid signature"),
    (SendErrorClass::Rejected, "invalid chain id"),
    (SendErrorClass::Rejected, "chain id mismatch"),
    (SendErrorClass::Rejected, "oversized data"),
    (SendErrorClass::Rejected, "transaction type not supported"),
    (SendErrorClass::Rejected, "tx type not supported"),
    (
        SendErrorClass::Rejected,
        "max priority fee per gas higher than max fee per gas",
    ),
    (SendErrorClass::Rejected, "tip higher than fee cap"),
];

/// The class of a raw-send error message (and its JSON-RPC code, if any).
///
/// Rate-limit codes (`-32005`, HTTP-style 429) are [`SendErrorClass::Busy`] whatever the text says.
pub fn classify_send_error(code: Option<i64>, message: &str) -> SendErrorClass {
    if matches!(code, Some(-32005 | 429)) {
        return SendErrorClass::Busy;
    }
    let lower = message.to_ascii_lowercase();
    PATTERNS
        .iter()
        .find(|(_, p)| lower.contains(p))
        .map_or(SendErrorClass::Unknown, |(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_is_lower_case_and_reachable() {
        for (class, p) in PATTERNS {
            assert_eq!(p.to_ascii_lowercase(), *p);
            // The message "…<pattern>…" classifies as the pattern's class, unless an earlier,
            // more specific pattern is a substring of it (then that one must be the same class).
            let got = classify_send_error(None, &format!("err: {p} (details)"));
            assert_eq!(got, *class, "{p}");
        }
    }
}
