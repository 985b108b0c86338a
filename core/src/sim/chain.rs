//! A simulated EVM chain: native balances, nonces, a mempool with geth's replacement rule, blocks
//! with EIP-1559 base-fee dynamics and spikes, dropped transactions and reorgs.

use std::collections::VecDeque;

use crate::map::Map;
use tend_derive::{FromJson, ToJson};

use alloy_primitives::{Address, B256, U256};

use crate::engine::{Receipt, TxBody, TxRequest};
use crate::fees::{Fees, TxKind, replacement_accepted};
use crate::rng::Rng;

/// How the simulated chain behaves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ToJson, serde::Deserialize, FromJson,
)]
#[serde(default, deny_unknown_fields)]
pub struct ChainParams {
    /// Time between blocks, ms.
    pub block_time_ms: u64,
    /// The starting base fee, wei.
    #[serde(with = "crate::ser::wei")]
    pub base_fee: u128,
    /// The lowest base fee, wei.
    #[serde(with = "crate::ser::wei")]
    pub min_base_fee: u128,
    /// Chance per block of a gas spike, parts per million.
    pub spike_ppm: u32,
    /// A spike multiplies the base fee by this.
    pub spike_factor: u32,
    /// Chance per block that a pending transaction of ours is dropped, ppm.
    pub drop_ppm: u32,
    /// Chance per block of a reorg, ppm.
    pub reorg_ppm: u32,
    /// Deepest reorg, blocks.
    pub reorg_depth_max: u64,
    /// Transactions per block.
    pub block_tx_limit: usize,
    /// Refuse a raw transaction whose max fee is below the next block's base fee, as anvil does
    /// ("max fee per gas less than block base fee"); geth pools it instead. A refused
    /// rebroadcast leaves the original in the pool either way.
    pub refuse_below_base_fee: bool,
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            block_time_ms: 5_000,
            base_fee: 1_000_000_000,
            min_base_fee: 100_000_000,
            spike_ppm: 200,
            spike_factor: 50,
            drop_ppm: 2_000,
            reorg_ppm: 500,
            reorg_depth_max: 3,
            block_tx_limit: 200,
            refuse_below_base_fee: false,
        }
    }
}

/// A Safe transaction's effect: the Safe, its Safe nonce, and the native top-ups it pays.
type SafeMoves = (Address, u64, Vec<(Address, U256)>);

/// A transaction the chain knows (signed by the simulated adapter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTx {
    /// Its hash.
    pub hash: B256,
    /// The request it was signed from.
    pub req: TxRequest,
}

impl SimTx {
    fn value_to(&self) -> (Address, U256) {
        match self.req.body {
            TxBody::Native { to, value } | TxBody::Call { to, value } => (to, value),
            TxBody::Erc20 { to, .. } => (to, U256::ZERO),
            TxBody::Noop => (self.req.from, U256::ZERO),
            TxBody::Safe { safe, .. } => (safe, U256::ZERO),
        }
    }

    /// The native top-ups a Safe transaction pays from its Safe (the simulation moves native
    /// coin only, as for plain transfers).
    fn safe_moves(&self) -> Option<SafeMoves> {
        let TxBody::Safe { safe, nonce, .. } = self.req.body else {
            return None;
        };
        let moves = self
            .req
            .top_ups
            .iter()
            .filter(|t| t.asset.is_native())
            .map(|t| (t.to, t.amount))
            .collect();
        Some((safe, nonce, moves))
    }

    fn max_cost(&self) -> U256 {
        let (_, value) = self.value_to();
        value.saturating_add(
            U256::from(self.req.gas_limit)
                .saturating_mul(U256::from(self.req.fees.max_fee_per_gas)),
        )
    }
}

#[derive(Debug, Clone)]
struct Applied {
    tx: SimTx,
    fee: U256,
    /// A Safe transaction that consumed its Safe nonce: `Some(paid)` (paid: the Safe could
    /// pay every top-up; else it emitted `ExecutionFailure`).
    safe: Option<bool>,
}

/// Blocks the chain keeps (about 11 hours of 5 s blocks): far more than any confirmation depth,
/// reorg or endpoint lag the simulation asks about, and a month-long run stays small (every
/// block kept cost 80 bytes and a growing copy, 40 MB for 30 days).
const KEPT_BLOCKS: usize = 8_192;

#[derive(Debug, Clone)]
struct Block {
    hash: B256,
    timestamp_secs: u64,
    base_fee: u128,
    applied: Vec<Applied>,
}

/// Why the chain refused a raw transaction (the node's message).
pub type SendError = (i64, &'static str);

/// The chain.
#[derive(Debug, Clone)]
pub struct SimChain {
    params: ChainParams,
    rng: Rng,
    balances: Map<Address, U256>,
    nonces: Map<Address, u64>,
    /// Each Safe's `nonce()`.
    safe_nonces: Map<Address, u64>,
    mempool: Map<(Address, u64), SimTx>,
    /// The last [`KEPT_BLOCKS`] blocks; `blocks[0]` is block number `first`.
    blocks: VecDeque<Block>,
    first: u64,
    receipts: Map<B256, Receipt>,
    known: Map<B256, SimTx>,
    fork: u64,
    spike_left: u32,
    base_fee: u128,
    /// Sends refused for insufficient funds, per sender.
    pub insufficient_funds: Map<Address, u64>,
    /// Reorgs so far.
    pub reorgs: u64,
    /// Dropped transactions so far.
    pub dropped: u64,
    /// Sum over blocks of the executable transactions (next nonce) left waiting in the mempool.
    pub waits: u64,
    /// Nonces included per sender: (sender, nonce) → hash, for the invariant checks.
    pub included: Map<(Address, u64), B256>,
    /// The first transaction the pool ever accepted at (sender, nonce), for the invariant checks:
    /// another node could still hold and mine it, whatever this pool later dropped or refused.
    pub accepted: Map<(Address, u64), B256>,
}

fn hash_of(parts: &[u64]) -> B256 {
    let mut x = 0x243F_6A88_85A3_08D3u64;
    let mut out = [0u8; 32];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        for p in parts {
            x = (x ^ p).wrapping_mul(0x100_0000_01B3).rotate_left(17) ^ (i as u64);
        }
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    B256::from(out)
}

impl SimChain {
    /// A chain at genesis (block 0 at `genesis_secs`) with these balances.
    pub fn new(
        params: ChainParams,
        seed: u64,
        genesis_secs: u64,
        balances: Map<Address, U256>,
    ) -> Self {
        let mut c = Self {
            params,
            rng: Rng::new(seed),
            balances,
            nonces: Map::new(),
            safe_nonces: Map::new(),
            mempool: Map::new(),
            blocks: VecDeque::new(),
            first: 0,
            receipts: Map::new(),
            known: Map::new(),
            fork: 0,
            spike_left: 0,
            base_fee: params.base_fee,
            insufficient_funds: Map::new(),
            reorgs: 0,
            dropped: 0,
            waits: 0,
            included: Map::new(),
            accepted: Map::new(),
        };
        c.blocks.push_back(Block {
            hash: hash_of(&[0, 0]),
            timestamp_secs: genesis_secs,
            base_fee: params.base_fee,
            applied: Vec::new(),
        });
        c
    }

    /// The parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The head block number.
    pub fn head(&self) -> u64 {
        self.first + (self.blocks.len() - 1) as u64
    }

    /// A block's hash and timestamp.
    pub fn block(&self, number: u64) -> Option<(B256, u64)> {
        let b = self
            .blocks
            .get(usize::try_from(number.checked_sub(self.first)?).ok()?)?;
        Some((b.hash, b.timestamp_secs))
    }

    /// A balance now.
    pub fn balance(&self, a: Address) -> U256 {
        self.balances.get(&a).copied().unwrap_or_default()
    }

    /// A Safe transaction's effect on the Safe (none for other transactions): whether it
    /// succeeded, and `Some(paid)` when it consumed the Safe's nonce. At the Safe's nonce it
    /// consumes it and pays when the Safe holds every top-up, else it fails (`ExecutionFailure`,
    /// `safeTxGas` > 0); at another nonce it reverts.
    fn run_safe(&mut self, tx: &SimTx) -> (bool, Option<bool>) {
        let Some((safe, safe_nonce, moves)) = tx.safe_moves() else {
            return (true, None);
        };
        if self.safe_nonce(safe) != safe_nonce {
            return (false, None);
        }
        self.safe_nonces.insert(safe, safe_nonce + 1);
        let total = moves
            .iter()
            .fold(U256::ZERO, |t, (_, v)| t.saturating_add(*v));
        let paid = self.balance(safe) >= total;
        if paid {
            *self.balances.entry(safe).or_default() -= total;
            for (to, v) in moves {
                *self.balances.entry(to).or_default() += v;
            }
        }
        (paid, Some(paid))
    }

    /// Undoes [`SimChain::run_safe`] (a reorg).
    fn undo_safe(&mut self, a: &Applied) {
        if let (Some(paid), Some((safe, safe_nonce, moves))) = (a.safe, a.tx.safe_moves()) {
            if paid {
                for (to, v) in moves {
                    *self.balances.entry(to).or_default() -= v;
                    *self.balances.entry(safe).or_default() += v;
                }
            }
            self.safe_nonces.insert(safe, safe_nonce);
        }
    }

    /// A Safe's `nonce()`.
    pub fn safe_nonce(&self, safe: Address) -> u64 {
        self.safe_nonces.get(&safe).copied().unwrap_or(0)
    }

    /// `latest` and `pending` transaction counts.
    pub fn counts(&self, a: Address) -> (u64, u64) {
        let latest = self.nonces.get(&a).copied().unwrap_or(0);
        let mut pending = latest;
        while self.mempool.contains_key(&(a, pending)) {
            pending += 1;
        }
        (latest, pending)
    }

    /// The base fee of the next block.
    pub fn base_fee(&self) -> u128 {
        self.base_fee
    }

    /// Base fees of the last `n` blocks plus the next one.
    pub fn fee_history(&self, n: u64) -> (Vec<u128>, Vec<u128>) {
        let start = self
            .blocks
            .len()
            .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
        let mut base: Vec<u128> = self.blocks.range(start..).map(|b| b.base_fee).collect();
        base.push(self.base_fee);
        let rewards = self
            .blocks
            .range(start..)
            .map(|b| {
                b.applied
                    .iter()
                    .map(|a| a.tx.req.fees.max_priority_fee_per_gas)
                    .min()
                    .unwrap_or(0)
            })
            .collect();
        (base, rewards)
    }

    /// A receipt.
    pub fn receipt(&self, hash: B256) -> Option<Receipt> {
        self.receipts.get(&hash).copied()
    }

    /// Remembers a signed transaction so `send` can find it by hash.
    pub fn sign(&mut self, req: TxRequest, serial: u64) -> B256 {
        let hash = hash_of(&[0x5167, serial, req.nonce]);
        self.known.insert(hash, SimTx { hash, req });
        hash
    }

    /// `eth_sendRawTransaction` with geth's rules.
    pub fn send(&mut self, hash: B256) -> Result<(), SendError> {
        let Some(tx) = self.known.get(&hash).cloned() else {
            return Err((-32000, "rlp: unknown transaction"));
        };
        let from = tx.req.from;
        let (latest, _) = self.counts(from);
        if self.receipts.contains_key(&hash) {
            return Err((-32000, "already known"));
        }
        if tx.req.nonce < latest {
            return Err((-32000, "nonce too low"));
        }
        if tx.max_cost() > self.balance(from) {
            *self.insufficient_funds.entry(from).or_default() += 1;
            return Err((-32000, "insufficient funds for gas * price + value"));
        }
        // Checked before the pool (as anvil and geth do): a refused rebroadcast leaves the
        // original where it is.
        if self.params.refuse_below_base_fee && tx.req.fees.max_fee_per_gas < self.base_fee {
            return Err((-32000, "max fee per gas less than block base fee"));
        }
        if let Some(old) = self.mempool.get(&(from, tx.req.nonce)) {
            if old.hash == hash {
                return Err((-32000, "already known"));
            }
            if !replacement_accepted(old.req.fees, tx.req.fees, TxKind::Standard) {
                return Err((-32000, "replacement transaction underpriced"));
            }
        }
        let nonce = tx.req.nonce;
        self.mempool.insert((from, nonce), tx);
        self.accepted.entry((from, nonce)).or_insert(hash);
        Ok(())
    }

    /// Burns `amount` from `who` (an agent spending gas). A reorg does not undo it: the agent's
    /// own transactions are re-included on the new branch.
    pub fn burn(&mut self, who: Address, amount: U256) {
        let Some(bal) = self.balances.get_mut(&who) else {
            return;
        };
        let burnt = amount.min(*bal);
        *bal -= burnt;
    }

    fn next_base_fee(&mut self, used: usize) {
        let limit = self.params.block_tx_limit.max(1) as u128;
        let target = limit / 2;
        let used = used as u128;
        let b = self.base_fee;
        let delta = b.saturating_mul(used.abs_diff(target)) / 8 / target.max(1);
        let mut next = if used >= target {
            b.saturating_add(delta)
        } else {
            b.saturating_sub(delta)
        };
        // Market noise, ±3 %.
        let noise = u128::from(self.rng.below(61));
        next = next.saturating_mul(970 + noise) / 1000;
        if self.spike_left > 0 {
            self.spike_left -= 1;
            if self.spike_left == 0 {
                next /= u128::from(self.params.spike_factor.max(1));
            }
        } else if self.rng.chance_ppm(self.params.spike_ppm) {
            self.spike_left = 20 + u32::try_from(self.rng.below(100)).unwrap_or(0);
            next = next.saturating_mul(u128::from(self.params.spike_factor.max(1)));
        }
        self.base_fee = next.max(self.params.min_base_fee);
    }

    /// Mines one block at `timestamp_secs`; may drop pending transactions or reorg first.
    pub fn mine(&mut self, timestamp_secs: u64) {
        if self.head() >= 2 && self.rng.chance_ppm(self.params.reorg_ppm) {
            let depth = 1 + self.rng.below(self.params.reorg_depth_max.max(1));
            self.reorg(depth.min(self.head() - 1), timestamp_secs);
        }
        let dropped: Vec<(Address, u64)> = self
            .mempool
            .keys()
            .copied()
            .filter(|_| self.rng.chance_ppm(self.params.drop_ppm))
            .collect();
        for k in dropped {
            self.mempool.remove(&k);
            self.dropped += 1;
        }
        self.mine_one(timestamp_secs);
    }

    fn mine_one(&mut self, timestamp_secs: u64) {
        let number = self.head() + 1;
        let hash = hash_of(&[number, self.fork]);
        let base_fee = self.base_fee;
        let mut applied = Vec::new();
        let senders: Vec<Address> = {
            let mut s: Vec<Address> = self.mempool.keys().map(|(a, _)| *a).collect();
            s.dedup();
            s
        };
        for from in senders {
            loop {
                if applied.len() >= self.params.block_tx_limit {
                    break;
                }
                let nonce = self.nonces.get(&from).copied().unwrap_or(0);
                let Some(tx) = self.mempool.get(&(from, nonce)).cloned() else {
                    break;
                };
                if tx.req.fees.max_fee_per_gas < base_fee || tx.max_cost() > self.balance(from) {
                    break;
                }
                self.mempool.remove(&(from, nonce));
                let price = tx
                    .req
                    .fees
                    .max_fee_per_gas
                    .min(base_fee.saturating_add(tx.req.fees.max_priority_fee_per_gas));
                let gas_used = match tx.req.body {
                    TxBody::Erc20 { .. } => tx.req.gas_limit.min(52_000),
                    TxBody::Safe { .. } => tx
                        .req
                        .gas_limit
                        .min(62_000 + 36_000 * tx.req.top_ups.len() as u64),
                    TxBody::Native { .. } | TxBody::Noop => 21_000,
                    TxBody::Call { .. } => tx.req.gas_limit,
                };
                let fee = U256::from(gas_used).saturating_mul(U256::from(price));
                let (to, value) = tx.value_to();
                *self.balances.entry(from).or_default() -= value.saturating_add(fee);
                *self.balances.entry(to).or_default() += value;
                self.nonces.insert(from, nonce + 1);
                // A Safe transaction at the Safe's nonce consumes it; it pays when the Safe holds
                // every top-up, else it fails (`ExecutionFailure`, `safeTxGas` > 0). At another
                // nonce it reverts. Either way the sender's nonce and fee are spent.
                let (success, safe_outcome) = self.run_safe(&tx);
                self.receipts.insert(
                    tx.hash,
                    Receipt {
                        block_number: number,
                        block_hash: hash,
                        success,
                    },
                );
                self.included.insert((from, nonce), tx.hash);
                applied.push(Applied {
                    tx,
                    fee,
                    safe: safe_outcome,
                });
            }
        }
        self.waits += self
            .mempool
            .keys()
            .filter(|(a, n)| *n == self.nonces.get(a).copied().unwrap_or(0))
            .count() as u64;
        // Stale mempool entries below the sender's nonce can never be mined.
        let nonces = &self.nonces;
        self.mempool
            .retain(|(a, n), _| *n >= nonces.get(a).copied().unwrap_or(0));
        let used = applied.len();
        self.blocks.push_back(Block {
            hash,
            timestamp_secs,
            base_fee,
            applied,
        });
        // A pruned node: older blocks are forgotten (their hashes answer `None`).
        if self.blocks.len() > KEPT_BLOCKS {
            self.blocks.pop_front();
            self.first += 1;
        }
        self.next_base_fee(used);
    }

    fn reorg(&mut self, depth: u64, timestamp_secs: u64) {
        self.reorgs += 1;
        self.fork += 1;
        let mut reinsert = Vec::new();
        let mut removed = 0;
        for _ in 0..depth {
            // Never the oldest block kept (the genesis on a short chain).
            if self.blocks.len() < 2 {
                break;
            }
            let Some(b) = self.blocks.pop_back() else {
                break;
            };
            removed += 1;
            for a in b.applied.iter().rev() {
                self.undo_safe(a);
                let (to, value) = a.tx.value_to();
                *self.balances.entry(to).or_default() -= value;
                *self.balances.entry(a.tx.req.from).or_default() += value.saturating_add(a.fee);
                self.nonces.insert(a.tx.req.from, a.tx.req.nonce);
                self.receipts.remove(&a.tx.hash);
                self.included.remove(&(a.tx.req.from, a.tx.req.nonce));
                reinsert.push(a.tx.clone());
            }
        }
        for tx in reinsert {
            self.mempool
                .entry((tx.req.from, tx.req.nonce))
                .or_insert(tx);
        }
        // The new branch: as many blocks as were removed, mined at once.
        let _ = timestamp_secs;
        for _ in 0..removed {
            let ts = self
                .blocks
                .back()
                .map_or(timestamp_secs, |b| b.timestamp_secs + 1);
            self.mine_one(ts);
        }
    }

    /// Our transaction currently in the mempool at (sender, nonce), if any.
    pub fn pending(&self, from: Address, nonce: u64) -> Option<&SimTx> {
        self.mempool.get(&(from, nonce))
    }

    /// A signed transaction by hash.
    pub fn known(&self, hash: B256) -> Option<&SimTx> {
        self.known.get(&hash)
    }

    /// Fees of the pending transaction at (sender, nonce).
    pub fn pending_fees(&self, from: Address, nonce: u64) -> Option<Fees> {
        self.mempool.get(&(from, nonce)).map(|t| t.req.fees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_chain_keeps_its_recent_blocks_only() {
        let params = ChainParams {
            reorg_ppm: 0,
            drop_ppm: 0,
            ..ChainParams::default()
        };
        let mut c = SimChain::new(params, 1, 1_000, Map::new());
        let n = KEPT_BLOCKS as u64 + 1_000;
        for i in 1..=n {
            c.mine(1_000 + 5 * i);
        }
        assert_eq!(c.head(), n);
        assert_eq!(c.blocks.len(), KEPT_BLOCKS);
        // The head and the oldest kept block answer with their own timestamps; older ones
        // are forgotten, as on a pruned node.
        assert_eq!(c.block(n).map(|b| b.1), Some(1_000 + 5 * n));
        let oldest = n + 1 - KEPT_BLOCKS as u64;
        assert_eq!(c.block(oldest).map(|b| b.1), Some(1_000 + 5 * oldest));
        assert_eq!(c.block(oldest - 1), None);
        assert_eq!(c.block(0), None);
        assert_eq!(c.block(n + 1), None);
        let (base, rewards) = c.fee_history(10);
        assert_eq!((base.len(), rewards.len()), (11, 10));
        // A reorg replaces the newest blocks and keeps the numbering.
        c.reorg(3, 1_000 + 5 * (n + 1));
        assert_eq!(c.head(), n);
        assert_eq!(c.blocks.len(), KEPT_BLOCKS);
    }
}
