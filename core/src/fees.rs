//! EIP-1559 fees: estimation from `eth_feeHistory`, a cap that holds funding during a gas spike,
//! and the replacement bump every major node accepts (`shared/domain/anchors.md` §1.1).
//!
//! Fees per gas are `u128` wei (as in alloy); amounts of money stay `U256`.

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

/// One gwei in wei.
pub const GWEI: u128 = 1_000_000_000;

/// The two EIP-1559 fee fields of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToJson, Deserialize, FromJson)]
pub struct Fees {
    /// `maxFeePerGas`, wei.
    #[serde(with = "crate::ser::wei")]
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`, wei.
    #[serde(with = "crate::ser::wei")]
    pub max_priority_fee_per_gas: u128,
}

impl Fees {
    /// Fees with both fields set.
    pub const fn new(max_fee_per_gas: u128, max_priority_fee_per_gas: u128) -> Self {
        Self {
            max_fee_per_gas,
            max_priority_fee_per_gas,
        }
    }

    /// Each field the larger of the two.
    #[must_use]
    pub fn max(self, other: Self) -> Self {
        Self {
            max_fee_per_gas: self.max_fee_per_gas.max(other.max_fee_per_gas),
            max_priority_fee_per_gas: self
                .max_priority_fee_per_gas
                .max(other.max_priority_fee_per_gas),
        }
    }

    /// The tip never above the max fee (nodes reject `tip > maxFee`).
    #[must_use]
    fn coherent(self) -> Self {
        Self {
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas.min(self.max_fee_per_gas),
        }
    }
}

/// The kind of transaction being replaced, which decides the node's price-bump rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToJson, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Type 0/1/2: the legacy pool, +10 %.
    Standard,
    /// Type 3 (blob): the blob pool, +100 %.
    Blob,
}

impl TxKind {
    /// The node's price bump, percent (geth `txpool.pricebump` 10; blob pool 100).
    pub const fn price_bump_percent(self) -> u128 {
        match self {
            Self::Standard => 10,
            Self::Blob => 100,
        }
    }
}

/// The smallest value of one fee field that a node accepts as a replacement of `old`:
/// `max(⌈old·(100+p)/100⌉, old + 1)`, saturating at `u128::MAX`.
pub fn min_bump(old: u128, kind: TxKind) -> u128 {
    let p = kind.price_bump_percent();
    // ⌈old·(100+p)/100⌉ without overflowing: old + ⌈old·p/100⌉.
    let q = old / 100;
    let r = old % 100;
    let inc = q.saturating_mul(p).saturating_add((r * p).div_ceil(100));
    old.saturating_add(inc.max(1))
}

/// Whether a node accepts `new` as a replacement of `old` (geth's rule, `shared/domain/anchors.md`
/// §1.1): both fields strictly greater and each at least `old·(100+p)/100` (integer division).
pub fn replacement_accepted(old: Fees, new: Fees, kind: TxKind) -> bool {
    let p = kind.price_bump_percent();
    let floor = |x: u128| x / 100 * (100 + p) + x % 100 * (100 + p) / 100;
    new.max_fee_per_gas > old.max_fee_per_gas
        && new.max_priority_fee_per_gas > old.max_priority_fee_per_gas
        && new.max_fee_per_gas >= floor(old.max_fee_per_gas)
        && new.max_priority_fee_per_gas >= floor(old.max_priority_fee_per_gas)
}

/// Why a fee decision holds a transaction back.
#[derive(
    Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, ToJson, Deserialize, FromJson,
)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FeeError {
    /// The fee the market asks (or the bump needs) is above the configured cap: wait for the
    /// spike to pass or raise `max_fee_cap`.
    #[error(
        "max fee {needed} wei/gas is above the cap of {cap} wei/gas: holding until fees fall \
         (raise the chain's max_fee_cap to pay more)"
    )]
    AboveCap {
        /// The max fee per gas that would be needed.
        #[serde(with = "crate::ser::wei")]
        needed: u128,
        /// The configured cap.
        #[serde(with = "crate::ser::wei")]
        cap: u128,
    },
    /// `eth_feeHistory` returned no base fee.
    #[error("eth_feeHistory returned no base fee: the node may not support EIP-1559 on this chain")]
    EmptyHistory,
}

/// The replacement fees for a transaction signed with `old`: each field the larger of the node's
/// minimum bump and the current market, never below `old`, tip never above max fee. Refused when
/// the result's max fee exceeds `cap`.
pub fn bump(old: Fees, market: Fees, kind: TxKind, cap: u128) -> Result<Fees, FeeError> {
    let bumped = Fees {
        max_fee_per_gas: min_bump(old.max_fee_per_gas, kind),
        max_priority_fee_per_gas: min_bump(old.max_priority_fee_per_gas, kind),
    }
    .max(market);
    // Raising maxFee to keep tip <= maxFee keeps both bumps intact.
    let new = Fees {
        max_fee_per_gas: bumped.max_fee_per_gas.max(bumped.max_priority_fee_per_gas),
        max_priority_fee_per_gas: bumped.max_priority_fee_per_gas,
    };
    if new.max_fee_per_gas > cap {
        return Err(FeeError::AboveCap {
            needed: new.max_fee_per_gas,
            cap,
        });
    }
    Ok(new)
}

/// How tend prices a new transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct FeePolicy {
    /// Blocks of history asked from `eth_feeHistory`.
    pub history_blocks: u64,
    /// The reward percentile asked from `eth_feeHistory`.
    pub reward_percentile: u8,
    /// Max fee = next base fee × this / 10 000 + tip (20 000 = ×2, as alloy).
    pub base_fee_multiplier_bps: u32,
    /// The smallest tip tend offers, wei.
    #[serde(with = "crate::ser::wei")]
    pub min_priority_fee: u128,
    /// Above this max fee per gas, funding waits (gas spike).
    #[serde(with = "crate::ser::wei")]
    pub max_fee_cap: u128,
    /// Gas reserved for a planned transfer, as a multiple of its max fee in basis points
    /// (20 000 = twice: room for seven +10 % replacements before the source runs short).
    pub gas_reserve_bps: u32,
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self {
            history_blocks: 10,
            reward_percentile: 20,
            base_fee_multiplier_bps: 20_000,
            min_priority_fee: 1,
            max_fee_cap: 500 * GWEI,
            gas_reserve_bps: 20_000,
        }
    }
}

/// The part of an `eth_feeHistory` answer the estimator reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToJson, Deserialize, FromJson)]
pub struct FeeHistory {
    /// Base fee per block, oldest first; the last entry is the next block's.
    #[serde(with = "crate::ser::wei::vec")]
    pub base_fee_per_gas: Vec<u128>,
    /// The rewards at the policy's percentile, one per block (blocks without transactions give
    /// 0, which the estimator skips).
    #[serde(with = "crate::ser::wei::vec")]
    pub reward: Vec<u128>,
}

/// A priced transaction: the fees to sign with and the base fee they were derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct FeeEstimate {
    /// The fees to sign with.
    pub fees: Fees,
    /// The next block's base fee.
    #[serde(with = "crate::ser::wei")]
    pub base_fee: u128,
}

/// EIP-1559 fees from a fee history: tip = the median of the non-zero rewards (at least
/// `min_priority_fee`); max fee = next base fee × multiplier + tip. Held with
/// [`FeeError::AboveCap`] when the max fee exceeds the policy's cap.
pub fn estimate(history: &FeeHistory, policy: &FeePolicy) -> Result<FeeEstimate, FeeError> {
    let base_fee = *history
        .base_fee_per_gas
        .last()
        .ok_or(FeeError::EmptyHistory)?;
    let mut rewards: Vec<u128> = history.reward.iter().copied().filter(|r| *r > 0).collect();
    rewards.sort_unstable();
    let median = match rewards.len() {
        0 => 0,
        n if n % 2 == 1 => rewards[n / 2],
        n => u128::midpoint(rewards[n / 2 - 1], rewards[n / 2]),
    };
    let tip = median.max(policy.min_priority_fee);
    let scaled = base_fee
        .saturating_mul(u128::from(policy.base_fee_multiplier_bps))
        .checked_div(10_000)
        .unwrap_or(u128::MAX);
    let fees = Fees::new(scaled.saturating_add(tip), tip).coherent();
    if fees.max_fee_per_gas > policy.max_fee_cap {
        return Err(FeeError::AboveCap {
            needed: fees.max_fee_per_gas,
            cap: policy.max_fee_cap,
        });
    }
    Ok(FeeEstimate { fees, base_fee })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_bump_values() {
        assert_eq!(min_bump(0, TxKind::Standard), 1);
        assert_eq!(min_bump(1, TxKind::Standard), 2);
        assert_eq!(min_bump(9, TxKind::Standard), 10);
        assert_eq!(min_bump(10, TxKind::Standard), 11);
        assert_eq!(min_bump(11, TxKind::Standard), 13); // ⌈12.1⌉
        assert_eq!(min_bump(100, TxKind::Standard), 110);
        assert_eq!(min_bump(GWEI, TxKind::Standard), 1_100_000_000);
        assert_eq!(min_bump(7, TxKind::Blob), 14);
        assert_eq!(min_bump(0, TxKind::Blob), 1);
        assert_eq!(min_bump(u128::MAX, TxKind::Standard), u128::MAX);
        assert_eq!(min_bump(u128::MAX / 2, TxKind::Blob), u128::MAX - 1);
    }

    #[test]
    fn bump_is_accepted_and_capped() {
        let old = Fees::new(30 * GWEI, 2 * GWEI);
        let market = Fees::new(20 * GWEI, GWEI);
        let new = bump(old, market, TxKind::Standard, 100 * GWEI).unwrap();
        assert_eq!(new, Fees::new(33 * GWEI, 2_200_000_000));
        assert!(replacement_accepted(old, new, TxKind::Standard));
        // The market above the bump wins.
        let hot = Fees::new(80 * GWEI, 5 * GWEI);
        assert_eq!(bump(old, hot, TxKind::Standard, 100 * GWEI).unwrap(), hot);
        assert_eq!(
            bump(old, hot, TxKind::Standard, 50 * GWEI),
            Err(FeeError::AboveCap {
                needed: 80 * GWEI,
                cap: 50 * GWEI
            })
        );
    }

    #[test]
    fn pricing_without_a_bump_is_refused() {
        // The middleware's reprice (Q13): same or market fees are not a replacement.
        let old = Fees::new(30 * GWEI, 2 * GWEI);
        assert!(!replacement_accepted(old, old, TxKind::Standard));
        assert!(!replacement_accepted(
            old,
            Fees::new(32 * GWEI, 3 * GWEI),
            TxKind::Standard
        ));
        assert!(!replacement_accepted(
            old,
            Fees::new(40 * GWEI, 2 * GWEI),
            TxKind::Standard
        ));
    }

    #[test]
    fn estimate_median_and_cap() {
        let h = FeeHistory {
            base_fee_per_gas: vec![9 * GWEI, 10 * GWEI, 12 * GWEI],
            reward: vec![0, 3 * GWEI, GWEI],
        };
        let e = estimate(&h, &FeePolicy::default()).unwrap();
        assert_eq!(e.base_fee, 12 * GWEI);
        assert_eq!(e.fees, Fees::new(26 * GWEI, 2 * GWEI));
        let policy = FeePolicy {
            max_fee_cap: 20 * GWEI,
            ..FeePolicy::default()
        };
        assert!(matches!(
            estimate(&h, &policy),
            Err(FeeError::AboveCap { needed, .. }) if needed == 26 * GWEI
        ));
        assert_eq!(
            estimate(&FeeHistory::default(), &FeePolicy::default()),
            Err(FeeError::EmptyHistory)
        );
        // No rewards: the minimum tip.
        let quiet = FeeHistory {
            base_fee_per_gas: vec![7],
            reward: vec![0, 0],
        };
        assert_eq!(
            estimate(&quiet, &FeePolicy::default()).unwrap().fees,
            Fees::new(15, 1)
        );
    }
}
