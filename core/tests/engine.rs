//! The engine facade driven by hand: the order of its outputs (write-ahead journal before every
//! broadcast), restart from the journal, bad inputs, configuration errors, and a property test
//! that no input sequence makes it panic or reuse a request id.

use proptest::prelude::*;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::{
    ChainConfig, Command, ConfigError, Engine, EngineConfig, Event, HoldReason, Input,
    JournalEntry, Output, RpcAnswer, RpcCall, ServiceConfig, TxBody, WalletConfig,
};
use tend_core::fees::{FeeHistory, FeePolicy};
use tend_core::health::{ExitStatus, HealthPolicy, ProbeResult};
use tend_core::nonce::{NoncePolicy, RecordState};
use tend_core::rpc::{RpcFailure, RpcPolicy};
use tend_core::time::Timestamp;
use tend_core::{Address, B256, U256};

const CHAIN: ChainId = ChainId(31_337);
const ETH: u128 = 1_000_000_000_000_000_000;

fn funder() -> Address {
    Address::repeat_byte(0xF0)
}

fn wallet() -> Address {
    Address::repeat_byte(0xA1)
}

fn config() -> EngineConfig {
    EngineConfig {
        seed: 1,
        chains: vec![ChainConfig {
            chain: CHAIN,
            endpoints: 2,
            funder: funder(),
            poll_ms: 15_000,
            native_transfer_gas: 21_000,
            erc20_transfer_gas: 65_000,
            rpc: RpcPolicy::default(),
            nonce: NoncePolicy::default(),
            fees: FeePolicy::default(),
            safe: None,
        }],
        services: vec![ServiceConfig {
            name: "trader".into(),
            autostart: false,
            health: HealthPolicy::default(),
            wallets: vec![WalletConfig {
                chain: CHAIN,
                address: wallet(),
                asset: Asset::NATIVE,
                low: U256::from(ETH / 4),
                target: U256::from(ETH),
                max_transfer: None,
                spend_per_day: None,
                priority: 0,
            }],
        }],
    }
}

/// A hand-driven adapter: answers every RPC from a fixed view of the chain.
struct Harness {
    engine: Engine,
    now: Timestamp,
    log: Vec<Output>,
    head: u64,
    latest: u64,
    pending: u64,
    wallet_balance: U256,
    signed: u64,
    /// Answer RPCs automatically.
    auto: bool,
    /// An endpoint that stopped syncing: its head stays at 100.
    frozen: Option<usize>,
    /// The next block's base fee in the fee history, wei.
    base_fee: u128,
    /// Every raw send is refused with this message (code -32000).
    refuse_sends: Option<&'static str>,
    /// The funder's native balance.
    funder_balance: U256,
    /// Raw sends are kept here unanswered (a node slow to answer) instead of answered.
    hold_sends: bool,
    held: Vec<(tend_core::engine::RequestId, RpcCall)>,
    /// The funding Safe's `nonce()`, when the chain has one.
    safe_nonce: u64,
}

impl Harness {
    fn new(engine: Engine) -> Self {
        Self::with(engine, |_| {})
    }

    /// A harness set up by `setup` before it drains the engine's first outputs.
    fn with(engine: Engine, setup: impl FnOnce(&mut Self)) -> Self {
        let now = engine.now();
        let mut h = Self {
            engine,
            now,
            log: Vec::new(),
            head: 100,
            latest: 0,
            pending: 0,
            wallet_balance: U256::from(ETH / 10),
            signed: 0,
            auto: true,
            frozen: None,
            base_fee: 1_000_000_000,
            refuse_sends: None,
            funder_balance: U256::from(100 * ETH),
            safe_nonce: 0,
            hold_sends: false,
            held: Vec::new(),
        };
        setup(&mut h);
        h.drain();
        h
    }

    fn input(&mut self, i: Input) {
        self.engine.handle_input(i);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(o) = self.engine.poll_output() {
            self.log.push(o.clone());
            if !self.auto {
                continue;
            }
            match o {
                Output::Rpc { id, call, .. }
                    if self.hold_sends && matches!(call, RpcCall::SendRaw { .. }) =>
                {
                    self.held.push((id, call));
                }
                Output::Rpc {
                    id, call, endpoint, ..
                } => {
                    let refused = match (&call, self.refuse_sends) {
                        (RpcCall::SendRaw { .. }, Some(message)) => Some(message),
                        _ => None,
                    };
                    let result = if let Some(message) = refused {
                        Err(RpcFailure::JsonRpc {
                            code: -32000,
                            message: message.into(),
                            retry_after_ms: None,
                        })
                    } else if self.frozen == Some(endpoint) {
                        let Self { head, .. } = *self;
                        self.head = 100;
                        let a = self.answer(&call);
                        self.head = head;
                        Ok(a)
                    } else {
                        Ok(self.answer(&call))
                    };
                    let now = self.now;
                    self.engine.handle_input(Input::RpcResponse {
                        now,
                        id,
                        latency_ms: 10,
                        result,
                    });
                }
                Output::Sign { chain, tx, .. } => {
                    self.signed += 1;
                    let now = self.now;
                    let hash = B256::left_padding_from(&self.signed.to_be_bytes());
                    self.engine.handle_input(Input::Signed {
                        now,
                        chain,
                        tx,
                        hash,
                    });
                }
                Output::Journal(_)
                | Output::Spawn { .. }
                | Output::Terminate { .. }
                | Output::Kill { .. }
                | Output::Probe { .. }
                | Output::Event(_) => {}
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
                hash: Some(B256::repeat_byte(2)),
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
                    .map(|(h, _)| {
                        if *h == funder() || Some(*h) == *safe {
                            self.funder_balance
                        } else {
                            self.wallet_balance
                        }
                    })
                    .collect(),
                safe_nonce: safe.map(|_| self.safe_nonce),
            },
            RpcCall::FeeHistory { .. } => RpcAnswer::FeeHistory(FeeHistory {
                base_fee_per_gas: vec![self.base_fee; 11],
                reward: vec![1_000_000; 10],
            }),
            RpcCall::SendRaw { hash } => {
                self.pending += 1;
                RpcAnswer::Sent { hash: *hash }
            }
            RpcCall::Receipt { hash } => RpcAnswer::Receipt {
                hash: *hash,
                receipt: None,
            },
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now.plus_ms(ms);
        let now = self.now;
        self.input(Input::Tick { now });
    }

    fn journal(&self) -> Vec<JournalEntry> {
        let mut latest = std::collections::BTreeMap::new();
        for o in &self.log {
            if let Output::Journal(e) = o {
                latest.insert((e.chain, e.record.id), (**e).clone());
            }
        }
        latest.into_values().collect()
    }
}

fn start() -> Timestamp {
    Timestamp::from_secs(1_767_225_600)
}

#[test]
fn a_funding_round_journals_before_it_broadcasts() {
    let h = Harness::new(Engine::new(config(), start()).unwrap());
    let kinds: Vec<String> = h
        .log
        .iter()
        .map(|o| match o {
            Output::Rpc { call, .. } => call.method().to_owned(),
            Output::Sign { .. } => "sign".into(),
            Output::Journal(e) => format!("journal:{}", e.record.state.name()),
            Output::Event(Event::TransferPlanned { .. }) => "planned".into(),
            Output::Event(_) => "event".into(),
            Output::Spawn { .. }
            | Output::Terminate { .. }
            | Output::Kill { .. }
            | Output::Probe { .. } => "agent".into(),
        })
        .collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("{k} missing: {kinds:?}"))
    };
    assert!(pos("eth_getBlockByNumber") < pos("eth_getTransactionCount"));
    assert!(pos("planned") < pos("sign"));
    assert!(pos("journal:reserved") < pos("sign"));
    assert!(pos("sign") < pos("journal:in_flight"));
    assert!(
        pos("journal:in_flight") < pos("eth_sendRawTransaction"),
        "{kinds:?}"
    );
    // The transfer tops the wallet up to its target: 1 − 0.1 ETH.
    let amount = h.log.iter().find_map(|o| match o {
        Output::Sign { request, .. } => Some(request.body),
        _ => None,
    });
    assert_eq!(
        amount,
        Some(TxBody::Native {
            to: wallet(),
            value: U256::from(9 * ETH / 10)
        })
    );
}

#[test]
fn the_next_round_does_not_fund_the_same_shortfall_again() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    let signs = |h: &Harness| {
        h.log
            .iter()
            .filter(|o| matches!(o, Output::Sign { .. }))
            .count()
    };
    assert_eq!(signs(&h), 1);
    // The balance has not moved yet (not mined); rounds go by.
    for _ in 0..5 {
        h.advance(15_000);
    }
    assert_eq!(
        signs(&h),
        1,
        "the transfer in flight counts toward the wallet"
    );
}

#[test]
fn a_restart_rebroadcasts_what_was_signed_and_plans_nothing_twice() {
    let h = Harness::new(Engine::new(config(), start()).unwrap());
    let sent_hash = h.log.iter().find_map(|o| match o {
        Output::Rpc {
            call: RpcCall::SendRaw { hash },
            ..
        } => Some(*hash),
        _ => None,
    });
    let journal = h.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].transfer.as_ref().map(|t| t.to), Some(wallet()));
    // kill -9; the node never saw the transaction (pending back to 0).
    let restored = Engine::restore(config(), h.now.plus_ms(1_000), journal, &[]).unwrap();
    let mut h2 = Harness::new(restored);
    h2.now = h.now.plus_ms(1_000);
    h2.pending = 0;
    for _ in 0..4 {
        h2.advance(15_000);
    }
    let signs = h2
        .log
        .iter()
        .filter(|o| matches!(o, Output::Sign { .. }))
        .count();
    assert_eq!(signs, 0, "nothing new is signed: {:?}", h2.log);
    let resent: Vec<B256> = h2
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Rpc {
                call: RpcCall::SendRaw { hash },
                ..
            } => Some(*hash),
            _ => None,
        })
        .collect();
    assert!(
        !resent.is_empty() && resent.iter().all(|x| Some(*x) == sent_hash),
        "{resent:?}"
    );
}

/// Issue 21's sequence: a transfer is signed, journaled and accepted by the node; the daemon is
/// killed; after the restart the base fee has risen above the transaction's max fee, and the
/// rebroadcast of the same raw transaction is refused ("max fee per gas less than block base
/// fee"). The nonce still belongs to that transfer (the first broadcast may sit in any pool):
/// only the same record signs at it again, a bump of the same payload; no other transfer does.
#[test]
fn a_refused_rebroadcast_after_a_restart_keeps_the_nonce_for_its_own_payload() {
    let h = Harness::new(Engine::new(config(), start()).unwrap());
    let (tx, nonce, body, fees) = h
        .log
        .iter()
        .find_map(|o| match o {
            Output::Sign { tx, request, .. } => {
                Some((*tx, request.nonce, request.body, request.fees))
            }
            _ => None,
        })
        .expect("a transfer was signed");
    assert_eq!(h.pending, 1, "the node accepted it");
    let journal = h.journal();
    // kill -9. The next daemon finds the base fee far above the transaction's max fee.
    let now = h.now.plus_ms(1_000);
    let mut h2 = Harness::new(Engine::restore(config(), now, journal, &[]).unwrap());
    h2.now = now;
    // The endpoint read now does not hold it in its pool; another node may.
    h2.pending = 0;
    h2.base_fee = 100 * fees.max_fee_per_gas;
    h2.refuse_sends = Some("max fee per gas less than block base fee");
    for _ in 0..6 {
        h2.advance(15_000);
    }
    let refused = h2.log.iter().any(|o| {
        matches!(
            o,
            Output::Event(Event::SendRejected { tx: t, .. }) if *t == tx
        )
    });
    assert!(refused, "the rebroadcast was refused: {:?}", h2.log);
    let signs: Vec<_> = h2
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sign { tx, request, .. } => Some((*tx, request.nonce, request.body)),
            _ => None,
        })
        .collect();
    assert!(!signs.is_empty(), "the refused transaction is bumped");
    for (t, n, b) in &signs {
        assert!(
            *n != nonce || (*t == tx && *b == body),
            "nonce {nonce} carried record {tx} ({body:?}) and is signed again for record {t} ({b:?})"
        );
    }
    let book = h2.engine.nonce_book(CHAIN).unwrap();
    assert_eq!(
        book.record(tx).map(|r| r.state),
        Some(RecordState::InFlight),
        "the transfer stays in flight for the planner"
    );
}

/// Item 5 of the nonce defect: after a restart, a journaled transaction goes back to the pool
/// before any new transfer is planned behind it, and the new one follows as soon as a node
/// answers (no wait for the next poll).
#[test]
fn after_a_restart_new_transfers_wait_for_the_answer_to_the_rebroadcast() {
    let h = Harness::new(Engine::new(config(), start()).unwrap());
    let (tx, hash) = h
        .log
        .iter()
        .find_map(|o| match o {
            Output::Rpc {
                call: RpcCall::SendRaw { hash },
                ..
            } => Some(*hash),
            _ => None,
        })
        .and_then(|hash| {
            let book = h.engine.nonce_book(CHAIN)?;
            Some((book.record_of(hash)?, hash))
        })
        .expect("a transfer was sent");
    let journal = h.journal();
    // kill -9; the restarted daemon also keeps a second, drained wallet funded.
    let mut cfg = config();
    let other = Address::repeat_byte(0xA2);
    let w = cfg.services[0].wallets[0].clone();
    cfg.services[0].wallets.push(WalletConfig {
        address: other,
        ..w
    });
    let now = h.now.plus_ms(1_000);
    let signed = h.signed;
    let mut h2 = Harness::with(Engine::restore(cfg, now, journal, &[]).unwrap(), |h| {
        h.hold_sends = true;
        h.signed = signed;
    });
    assert!(
        h2.held
            .iter()
            .any(|(_, c)| matches!(c, RpcCall::SendRaw { hash: x } if *x == hash)),
        "the journaled transaction is broadcast again at start: {:?}",
        h2.log
    );
    let new_signs = |h: &Harness| {
        h.log
            .iter()
            .filter(|o| matches!(o, Output::Sign { tx: t, .. } if *t != tx))
            .count()
    };
    assert_eq!(
        new_signs(&h2),
        0,
        "no new nonce is planned while the rebroadcast is unanswered: {:?}",
        h2.log
    );
    let held = h2.log.iter().any(|o| {
        matches!(o, Output::Event(Event::FundingHeld { reason, .. })
            if format!("{reason:?}").contains("waiting for a node's answer"))
    });
    assert!(held, "the wait is visible as a hold: {:?}", h2.log);
    // The node answers: the held round plans at once, at the same time.
    h2.hold_sends = false;
    let (id, call) = h2.held.remove(0);
    let RpcCall::SendRaw { hash: x } = call else {
        unreachable!()
    };
    h2.input(Input::RpcResponse {
        now: h2.now,
        id,
        latency_ms: 10,
        result: Ok(RpcAnswer::Sent { hash: x }),
    });
    let signed: Vec<_> = h2
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sign { tx: t, request, .. } if *t != tx => Some(request.nonce),
            _ => None,
        })
        .collect();
    assert_eq!(
        signed,
        vec![1],
        "the new transfer follows at the next nonce"
    );
}

/// A transaction whose max fee the base fee overtook is bumped (same payload) at once, not left
/// waiting for the stuck rule while the in-flight cap holds every other transfer.
#[test]
fn a_transaction_below_the_base_fee_is_bumped_without_waiting() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    let (tx, fees) = h
        .log
        .iter()
        .find_map(|o| match o {
            Output::Sign { tx, request, .. } => Some((*tx, request.fees)),
            _ => None,
        })
        .unwrap();
    h.log.clear();
    h.base_fee = 2 * fees.max_fee_per_gas;
    // One round reads the new base fee, the next one's count sees the transaction below it.
    h.advance(15_000);
    h.advance(15_000);
    let bumped: Vec<_> = h
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sign { tx: t, request, .. } => Some((*t, request.fees)),
            _ => None,
        })
        .collect();
    assert_eq!(bumped.len(), 1, "{bumped:?}");
    assert_eq!(bumped[0].0, tx);
    assert!(bumped[0].1.max_fee_per_gas > h.base_fee, "{bumped:?}");
}

/// A transfer the base fee overtook, whose bump the funder can no longer pay, is cancelled (its
/// nonce carries a no-op): it could never be mined, and left in flight it would hold the nonce
/// and the wallet's funding for good.
#[test]
fn an_unaffordable_bump_becomes_a_cancel() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    let (tx, request) = h
        .log
        .iter()
        .find_map(|o| match o {
            Output::Sign { tx, request, .. } => Some((*tx, request.clone())),
            _ => None,
        })
        .unwrap();
    let TxBody::Native { value, .. } = request.body else {
        panic!("a native transfer: {request:?}")
    };
    h.log.clear();
    // The funder holds the transfer's worst cost as signed, no more: any bump is unpayable.
    h.funder_balance = value + U256::from(21_000 * request.fees.max_fee_per_gas);
    h.base_fee = 3 * request.fees.max_fee_per_gas;
    h.advance(15_000);
    h.advance(15_000);
    let signs: Vec<_> = h
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Sign { tx: t, request, .. } => Some((*t, request.clone())),
            _ => None,
        })
        .collect();
    assert!(!signs.is_empty(), "{:?}", h.log);
    for (t, r) in &signs {
        assert_eq!((*t, r.nonce), (tx, request.nonce), "{signs:?}");
        assert!(
            matches!(r.body, TxBody::Noop),
            "never the unpayable bump: {signs:?}"
        );
    }
    let held = h.log.iter().any(|o| {
        matches!(
            o,
            Output::Event(Event::FundingHeld {
                reason: HoldReason::Unaffordable { .. },
                ..
            })
        )
    });
    assert!(held, "the reason is told: {:?}", h.log);
    let book = h.engine.nonce_book(CHAIN).unwrap();
    assert!(book.record(tx).unwrap().cancel_requested);
}

#[test]
fn a_reservation_never_signed_is_released_at_restart() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    // Keep only the reservation entry, as if the daemon died before the signature came back.
    let reserved: Vec<JournalEntry> = h
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Journal(e) if e.record.state == RecordState::Reserved => Some((**e).clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reserved.len(), 1);
    h.log.clear();
    let mut h2 = Harness::new(Engine::restore(config(), h.now, reserved, &[]).unwrap());
    let released = h2.log.iter().any(|o| matches!(o, Output::Journal(e) if matches!(e.record.state, RecordState::Released { .. })));
    assert!(released, "{:?}", h2.log);
    // The transfer is planned again, at the same nonce (it never reached a node).
    let nonce = h2.log.iter().find_map(|o| match o {
        Output::Sign { request, .. } => Some(request.nonce),
        _ => None,
    });
    assert_eq!(nonce, Some(0));
    h2.advance(1);
}

#[test]
fn an_endpoint_stuck_at_an_old_head_is_found_by_the_cross_check_and_left_behind() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    h.frozen = Some(0);
    h.wallet_balance = U256::from(ETH);
    let balances_on = |h: &Harness| -> Vec<usize> {
        h.log
            .iter()
            .filter_map(|o| match o {
                Output::Rpc {
                    endpoint,
                    call: RpcCall::Balances { .. },
                    ..
                } => Some(*endpoint),
                _ => None,
            })
            .collect()
    };
    // Both answer alike at first: the first endpoint serves the rounds.
    h.advance(15_000);
    assert_eq!(balances_on(&h).last(), Some(&0));
    // The chain moves on; the frozen endpoint does not. The other one, asked for its head
    // each round, shows the lag and takes over.
    for _ in 0..4 {
        h.head += 20;
        h.advance(15_000);
    }
    let used = balances_on(&h);
    assert_eq!(used.last(), Some(&1), "{used:?}");
    let status = h.engine.endpoints(CHAIN).unwrap().status();
    assert!(status[0].lag > 10, "{status:?}");
}

#[test]
fn bad_inputs_are_ignored_with_a_reason() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    h.log.clear();
    let now = h.now;
    h.input(Input::RpcResponse {
        now,
        id: 999_999,
        latency_ms: 1,
        result: Ok(RpcAnswer::Sent { hash: B256::ZERO }),
    });
    h.input(Input::Probed {
        now,
        service: "nobody".into(),
        result: ProbeResult::Refused,
    });
    h.input(Input::Exited {
        now,
        service: "nobody".into(),
        status: ExitStatus {
            code: Some(1),
            signal: None,
        },
    });
    h.input(Input::Signed {
        now,
        chain: ChainId(5),
        tx: 1,
        hash: B256::ZERO,
    });
    h.input(Input::Signed {
        now,
        chain: CHAIN,
        tx: 4242,
        hash: B256::ZERO,
    });
    h.input(Input::Command {
        now,
        command: Command::Cancel {
            chain: CHAIN,
            tx: 4242,
        },
    });
    let ignored = h
        .log
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::Ignored { .. })))
        .count();
    assert_eq!(ignored, 6, "{:?}", h.log);
}

#[test]
fn a_mismatched_or_short_answer_is_refused() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    h.auto = false;
    h.log.clear();
    h.advance(15_000);
    let (id, call) = h
        .log
        .iter()
        .find_map(|o| match o {
            Output::Rpc { id, call, .. } => Some((*id, call.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(call, RpcCall::Head);
    let now = h.now;
    // A head request answered with balances.
    h.input(Input::RpcResponse {
        now,
        id,
        latency_ms: 1,
        result: Ok(RpcAnswer::Balances {
            block: 1,
            values: vec![],
            safe_nonce: None,
        }),
    });
    assert!(h.log.iter().any(
        |o| matches!(o, Output::Event(Event::Ignored { reason }) if reason.contains("does not fit"))
    ));
}

#[test]
fn time_going_backwards_is_ignored() {
    let mut h = Harness::new(Engine::new(config(), start()).unwrap());
    let t = h.engine.now();
    h.input(Input::Tick {
        now: Timestamp::ZERO,
    });
    assert_eq!(h.engine.now(), t);
    let (deadline, _) = h.engine.poll_timeout().unwrap();
    assert!(deadline >= t);
}

#[test]
fn agents_start_stop_and_restart() {
    let mut cfg = config();
    cfg.services[0].autostart = true;
    let mut h = Harness::new(Engine::new(cfg, start()).unwrap());
    assert!(
        h.log
            .iter()
            .any(|o| matches!(o, Output::Spawn { service } if &**service == "trader"))
    );
    let now = h.now;
    h.input(Input::Spawned {
        now,
        service: "trader".into(),
    });
    h.input(Input::Exited {
        now,
        service: "trader".into(),
        status: ExitStatus {
            code: Some(2),
            signal: None,
        },
    });
    h.log.clear();
    h.advance(10_000);
    assert!(
        h.log.iter().any(|o| matches!(o, Output::Spawn { .. })),
        "restarted after the backoff: {:?}",
        h.log
    );
    let now = h.now;
    h.input(Input::Spawned {
        now,
        service: "trader".into(),
    });
    h.log.clear();
    h.input(Input::Command {
        now,
        command: Command::Stop {
            service: "trader".into(),
        },
    });
    assert!(h.log.iter().any(|o| matches!(o, Output::Terminate { .. })));
}

#[test]
fn a_restart_adopts_running_agents_instead_of_spawning_them() {
    let mut cfg = config();
    cfg.services[0].autostart = true;
    let mut second = cfg.services[0].clone();
    second.name = "oracle".into();
    second.wallets.clear();
    cfg.services.push(second);
    let h = Harness::new(Engine::restore(cfg, start(), Vec::new(), &["trader"]).unwrap());
    let spawned: Vec<&str> = h
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Spawn { service } => Some(&**service),
            _ => None,
        })
        .collect();
    assert_eq!(
        spawned,
        vec!["oracle"],
        "the running one is adopted: {:?}",
        h.log
    );
    assert!(
        h.log
            .iter()
            .any(|o| matches!(o, Output::Probe { service, .. } if &**service == "trader"))
    );
}

#[test]
fn configuration_errors_name_the_problem() {
    let mut dup = config();
    dup.chains.push(dup.chains[0].clone());
    assert_eq!(
        Engine::new(dup, start()).err(),
        Some(ConfigError::DuplicateChain { chain: CHAIN })
    );
    let mut no_ep = config();
    no_ep.chains[0].endpoints = 0;
    assert!(matches!(
        Engine::new(no_ep, start()),
        Err(ConfigError::NoEndpoint { .. })
    ));
    let mut low = config();
    low.services[0].wallets[0].low = U256::from(2 * ETH);
    let err = Engine::new(low, start()).err().unwrap();
    assert!(err.to_string().contains("above target"), "{err}");
    let mut own = config();
    own.services[0].wallets[0].address = funder();
    assert!(matches!(
        Engine::new(own, start()),
        Err(ConfigError::WalletIsFunder { .. })
    ));
    let mut unknown = config();
    unknown.services[0].wallets[0].chain = ChainId(1);
    assert!(matches!(
        Engine::new(unknown, start()),
        Err(ConfigError::UnknownChain { .. })
    ));
    let mut twice = config();
    twice.services.push(twice.services[0].clone());
    assert!(matches!(
        Engine::new(twice, start()),
        Err(ConfigError::DuplicateService { .. })
    ));
    let mut zero = config();
    zero.services[0].wallets[0].max_transfer = Some(U256::ZERO);
    assert!(matches!(
        Engine::new(zero, start()),
        Err(ConfigError::ZeroMaxTransfer { .. })
    ));
}

#[test]
fn inputs_and_outputs_are_recordable() {
    let h = Harness::new(Engine::new(config(), start()).unwrap());
    assert!(!h.log.is_empty());
    for o in &h.log {
        let text = serde_json::to_string(o).unwrap();
        let back: Output = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, o, "{text}");
    }
    let cfg_text = serde_json::to_string(&config()).unwrap();
    assert_eq!(
        serde_json::from_str::<EngineConfig>(&cfg_text).unwrap(),
        config()
    );
    // A partial policy is completed with defaults.
    let partial = r#"{"chains":[{"chain":"31337","endpoints":1,"funder":"0xf0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0","nonce":{"confirmations":5}}],"services":[]}"#;
    let c: EngineConfig = serde_json::from_str(partial).unwrap();
    assert_eq!(c.chains[0].nonce.confirmations, 5);
    assert_eq!(c.chains[0].poll_ms, 15_000);
    assert!(
        serde_json::from_str::<EngineConfig>(r#"{"chains":[],"services":[],"bogus":1}"#).is_err()
    );
}

fn arb_input() -> impl Strategy<Value = (u8, u64, u64, u8)> {
    (0u8..10, 0u64..50, 0u64..100_000, 0u8..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random, often nonsensical, inputs: the engine never panics, never goes back in time, and
    /// never issues the same request id twice.
    #[test]
    fn no_input_sequence_breaks_the_engine(steps in proptest::collection::vec(arb_input(), 1..120)) {
        let mut cfg = config();
        cfg.services[0].autostart = true;
        let mut e = Engine::new(cfg, start()).unwrap();
        let mut now = start();
        let mut ids = std::collections::BTreeSet::new();
        let mut open: Vec<(u64, RpcCall)> = Vec::new();
        for (kind, pick, dt, variant) in steps {
            now = now.plus_ms(dt);
            while let Some(o) = e.poll_output() {
                if let Output::Rpc { id, call, .. } = o {
                    prop_assert!(ids.insert(id), "request id {id} reused");
                    open.push((id, call));
                }
            }
            let input = match kind {
                0 => Input::Tick { now },
                1..=3 if !open.is_empty() => {
                    let (id, call) = open.remove(usize::try_from(pick).unwrap() % open.len());
                    let result = match (variant, call) {
                        (0, _) => Err(RpcFailure::Http { status: 429, retry_after_ms: Some(dt) }),
                        (1, _) => Err(RpcFailure::Transport { message: "reset".into() }),
                        (2, RpcCall::SendRaw { .. }) => Err(RpcFailure::JsonRpc { code: -32000, message: "nonce too low".into(), retry_after_ms: None }),
                        (_, RpcCall::Head) => Ok(RpcAnswer::Head { number: pick, hash: B256::repeat_byte(3), timestamp: now.as_secs() }),
                        (_, RpcCall::TransactionCounts { .. }) => Ok(RpcAnswer::TransactionCounts { latest: pick / 2, pending: pick }),
                        (_, RpcCall::Balances { block, entries, .. }) => Ok(RpcAnswer::Balances { block, values: entries.iter().map(|_| U256::from(dt)).collect(), safe_nonce: None }),
                        (_, RpcCall::FeeHistory { .. }) => Ok(RpcAnswer::FeeHistory(FeeHistory { base_fee_per_gas: vec![u128::from(dt)], reward: vec![] })),
                        (_, RpcCall::SendRaw { hash }) => Ok(RpcAnswer::Sent { hash }),
                        (_, RpcCall::Receipt { hash }) => Ok(RpcAnswer::Receipt { hash, receipt: None }),
                        (_, RpcCall::BlockHash { number }) => Ok(RpcAnswer::BlockHash { number, hash: None }),
                    };
                    Input::RpcResponse { now, id, latency_ms: dt, result }
                }
                4 => Input::Probed { now, service: "trader".into(), result: if variant % 2 == 0 { ProbeResult::Refused } else { ProbeResult::Http { status: 200, latency_ms: 1, body: None } } },
                5 => Input::Exited { now, service: "trader".into(), status: ExitStatus { code: Some(1), signal: None } },
                6 => Input::Spawned { now, service: "trader".into() },
                7 => Input::Signed { now, chain: CHAIN, tx: pick, hash: B256::left_padding_from(&pick.to_be_bytes()) },
                8 => Input::Command { now, command: match variant { 0 => Command::FundNow, 1 => Command::Stop { service: "trader".into() }, 2 => Command::Cancel { chain: CHAIN, tx: pick }, _ => Command::Start { service: "trader".into() } } },
                _ => Input::Tick { now: Timestamp(pick) },
            };
            let before = e.now();
            e.handle_input(input);
            prop_assert!(e.now() >= before);
            if let Some((t, _)) = e.poll_timeout() {
                prop_assert!(t >= e.now() || t.plus_ms(1) >= e.now());
            }
            prop_assert_eq!(e.poll_deadline(), e.poll_timeout().map(|(t, _)| t));
        }
    }
}
