//! [`NonceBook::plan`]: what to do next, as a pure function of the book, the time and the
//! market fees (gap fills, replacements of stuck transactions, rebroadcasts of dropped ones).

use crate::fees::{self, Fees};
use crate::time::Timestamp;

use super::{
    ChainView, NonceAction, NonceBook, NoncePolicy, RecordState, SendErrorClass, Sent, TxRecord,
};

impl NonceBook {
    /// What to do now, given the time and the market's fees (if known). Pure: call it as often as
    /// you like; it changes nothing.
    pub fn plan(
        &self,
        now: Timestamp,
        market: Option<Fees>,
        policy: &NoncePolicy,
    ) -> Vec<NonceAction> {
        let mut out = Vec::new();
        let Some(chain) = self.chain else {
            return out;
        };
        let gaps = self.gaps();
        let lowest_gap = gaps.first().copied();
        out.extend(gaps.iter().map(|&nonce| NonceAction::FillGap { nonce }));
        // A sorted set: a few blocks at most (no sort instantiation for them).
        let mut blocks_to_check = crate::map::Set::default();
        for (&nonce, &id) in &self.holders {
            let Some(r) = self.records.get(&id) else {
                continue;
            };
            match r.state {
                RecordState::Reserved
                | RecordState::Confirmed { .. }
                | RecordState::Released { .. }
                | RecordState::Lost => {}
                RecordState::Mined { block_number, .. } => {
                    if chain.head.saturating_sub(block_number).saturating_add(1)
                        >= policy.confirmations
                    {
                        blocks_to_check.insert(block_number);
                    }
                }
                RecordState::InFlight => {
                    if nonce < chain.latest {
                        out.push(NonceAction::CheckReceipts {
                            id,
                            hashes: r.attempts.iter().map(|a| a.hash).collect(),
                        });
                        continue;
                    }
                    Self::plan_in_flight(r, now, chain, market, lowest_gap, policy, &mut out);
                }
            }
        }
        out.extend(
            blocks_to_check
                .into_iter()
                .map(|number| NonceAction::CheckBlock { number }),
        );
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_in_flight(
        r: &TxRecord,
        now: Timestamp,
        chain: ChainView,
        market: Option<Fees>,
        lowest_gap: Option<u64>,
        policy: &NoncePolicy,
        out: &mut Vec<NonceAction>,
    ) {
        let Some(last) = r.attempts.last() else {
            return;
        };
        let blocked_by_gap = lowest_gap.is_some_and(|g| g < r.nonce);
        // A replacement is needed now when the last attempt was refused for its price, when a
        // cancel was asked and none is signed, or when the transaction is stuck.
        let refused_for_price = matches!(
            last.sent,
            Sent::Refused {
                class: SendErrorClass::ReplacementUnderpriced | SendErrorClass::FeeTooLow
            }
        );
        let wants_cancel = r.cancel_requested && !r.attempts.iter().any(|a| a.cancel);
        // Below the next block's base fee it cannot be mined: bump it now rather than wait for
        // the stuck rule (or a refusal) while the in-flight cap holds every other transfer.
        let below_base_fee = last.fees.max_fee_per_gas < chain.base_fee
            && match last.sent {
                Sent::Sent { .. } => true,
                Sent::NotYet => last.pooled,
                Sent::Refused { .. } => false,
            };
        let stuck = r.last_broadcast().is_some_and(|(at, block)| {
            let k = u32::try_from(r.attempts.len().saturating_sub(1))
                .unwrap_or(u32::MAX)
                .min(6);
            let age_limit = policy.stuck_after_ms.saturating_mul(1 << k);
            let block_limit = policy.stuck_after_blocks.saturating_mul(1 << k);
            now.since(at) >= age_limit
                || (policy.stuck_after_blocks > 0
                    && chain.head.saturating_sub(block) >= block_limit)
        });
        if !blocked_by_gap && (refused_for_price || wants_cancel || stuck || below_base_fee) {
            let old = r.highest_fees().unwrap_or(last.fees);
            let cancel = r.cancel_requested;
            match fees::bump(old, market.unwrap_or(old), last.kind, policy.fee_cap) {
                Ok(fees) => out.push(NonceAction::Replace {
                    id: r.id,
                    nonce: r.nonce,
                    fees,
                    cancel,
                }),
                Err(error) => out.push(NonceAction::HeldAtCap {
                    id: r.id,
                    nonce: r.nonce,
                    error,
                }),
            }
            return;
        }
        // Broadcast again what the pool may not hold: never answered, dropped, or refused as
        // busy or ahead of a (now filled) gap.
        let needs_rebroadcast = match last.sent {
            // Possibly pooled with no answer in this process: restored after a restart (or a
            // retry after a lost answer, which the engine does not send twice).
            Sent::NotYet => last.pooled || now.since(last.signed_at) >= policy.rebroadcast_after_ms,
            Sent::Sent { at, .. } => {
                r.nonce >= chain.pending && now.since(at) >= policy.rebroadcast_after_ms
            }
            Sent::Refused { class } => {
                matches!(class, SendErrorClass::Busy | SendErrorClass::NonceTooHigh)
                    && !blocked_by_gap
            }
        };
        if needs_rebroadcast && !blocked_by_gap {
            out.push(NonceAction::Rebroadcast {
                id: r.id,
                hash: last.hash,
            });
        }
    }
}
