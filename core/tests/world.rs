//! A chain that answers the engine at once (balances, a Safe's nonce, counts, receipts of the
//! hashes marked mined), for the tests that drive the engine by hand.

use std::collections::BTreeMap;

use tend_core::Address;
use tend_core::engine::Engine;
use tend_core::engine::{
    Event, Input, JournalEntry, Output, Receipt, RpcAnswer, RpcCall, TxBody, TxRequest,
};
use tend_core::fees::FeeHistory;
use tend_core::nonce::TxId;
use tend_core::time::Timestamp;
use tend_core::{B256, U256};

/// A chain that answers at once: balances per address, the Safe's nonce, the funder's counts,
/// and receipts for the hashes marked mined.
pub(crate) struct World {
    /// The Safe that pays top-ups (moved by `mine_last`).
    pub(crate) safe: Address,
    pub(crate) engine: Engine,
    pub(crate) now: Timestamp,
    pub(crate) log: Vec<Output>,
    pub(crate) head: u64,
    pub(crate) balances: BTreeMap<Address, U256>,
    pub(crate) safe_nonce: u64,
    pub(crate) latest: u64,
    pub(crate) pending: u64,
    pub(crate) mined: BTreeMap<B256, bool>,
    pub(crate) signed: u64,
    /// Every signature asked for: record, request.
    pub(crate) signs: Vec<(TxId, TxRequest)>,
}

impl World {
    pub(crate) fn new(engine: Engine, safe: Address, balances: &[(Address, u128)]) -> Self {
        let mut w = World {
            safe,
            engine,
            now: crate::safe_funding::start(),
            log: Vec::new(),
            head: 100,
            balances: balances.iter().map(|(a, v)| (*a, U256::from(*v))).collect(),
            safe_nonce: 0,
            latest: 0,
            pending: 0,
            mined: BTreeMap::new(),
            signed: 0,
            signs: Vec::new(),
        };
        w.drain();
        w
    }

    pub(crate) fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            self.log.push(o.clone());
            match o {
                Output::Rpc { id, call, .. } => {
                    let result = Ok(self.answer(&call));
                    let now = self.now;
                    self.engine.handle_input(Input::RpcResponse {
                        now,
                        id,
                        latency_ms: 5,
                        result,
                    });
                }
                Output::Sign { chain, tx, request } => {
                    self.signed += 1;
                    self.signs.push((tx, *request));
                    let now = self.now;
                    let hash = B256::left_padding_from(&self.signed.to_be_bytes());
                    self.engine.handle_input(Input::Signed {
                        now,
                        chain,
                        tx,
                        hash,
                    });
                }
                _ => {}
            }
        }
    }

    fn answer(&mut self, call: &RpcCall) -> RpcAnswer {
        match call {
            RpcCall::Head => RpcAnswer::Head {
                number: self.head,
                hash: B256::repeat_byte(1),
                timestamp: self.now.as_secs(),
            },
            RpcCall::BlockHash { number } => RpcAnswer::BlockHash {
                number: *number,
                hash: Some(B256::repeat_byte(1)),
            },
            RpcCall::TransactionCounts { .. } => RpcAnswer::TransactionCounts {
                latest: self.latest,
                pending: self.pending,
            },
            RpcCall::Balances {
                block,
                entries,
                safe,
            } => RpcAnswer::Balances {
                block: *block,
                values: entries
                    .iter()
                    .map(|(h, _)| self.balances.get(h).copied().unwrap_or_default())
                    .collect(),
                safe_nonce: safe.map(|_| self.safe_nonce),
            },
            RpcCall::FeeHistory { .. } => RpcAnswer::FeeHistory(FeeHistory {
                base_fee_per_gas: vec![1_000_000_000; 11],
                reward: vec![1_000_000; 10],
            }),
            RpcCall::SendRaw { hash } => {
                self.pending = self.pending.max(self.latest + 1);
                RpcAnswer::Sent { hash: *hash }
            }
            RpcCall::Receipt { hash } => RpcAnswer::Receipt {
                hash: *hash,
                receipt: self.mined.get(hash).map(|&success| Receipt {
                    block_number: self.head,
                    block_hash: B256::repeat_byte(1),
                    success,
                }),
            },
        }
    }

    pub(crate) fn advance(&mut self, ms: u64) {
        self.now = self.now.plus_ms(ms);
        self.head += 1;
        let now = self.now;
        self.engine.handle_input(Input::Tick { now });
        self.drain();
    }

    /// Mines the last signature's transaction: the Safe pays (or not), nonces move, blocks go by.
    pub(crate) fn mine_last(&mut self, success: bool) {
        let (_, req) = self.signs.last().cloned().unwrap();
        let hash = B256::left_padding_from(&self.signed.to_be_bytes());
        self.mined.insert(hash, success);
        if success {
            for t in &req.top_ups {
                *self.balances.entry(self.safe).or_default() -= t.amount;
                *self.balances.entry(t.to).or_default() += t.amount;
            }
        }
        // safeTxGas > 0: the Safe's nonce is used either way.
        self.safe_nonce += 1;
        self.latest += 1;
        self.pending = self.latest;
        self.head += 1;
    }

    pub(crate) fn safe_signs(&self) -> Vec<(TxId, TxRequest)> {
        self.signs
            .iter()
            .filter(|(_, r)| matches!(r.body, TxBody::Safe { .. }))
            .cloned()
            .collect()
    }

    pub(crate) fn events(&self) -> Vec<&Event> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        let mut latest = BTreeMap::new();
        for o in &self.log {
            if let Output::Journal(e) = o {
                latest.insert((e.chain, e.record.id), (**e).clone());
            }
        }
        latest.into_values().collect()
    }
}
