//! Funding from a Safe, by hand: one Safe transaction per round (its top-ups batched), the Safe's
//! nonce from the balance read, one Safe transaction at a time, the same Safe transaction in a
//! bump and after a restart, a failed batch held with its reason, gas reserved from the owner.

use tend_core::Address;
use tend_core::address::Asset;
use tend_core::chain::ChainId;
use tend_core::engine::Engine;
use tend_core::engine::{
    ChainConfig, EngineConfig, Event, HoldReason, JournalEntry, Output, RpcCall, SafeSource,
    ServiceConfig, TopUp, TxBody, TxRequest, WalletConfig,
};
use tend_core::fees::FeePolicy;
use tend_core::health::HealthPolicy;
use tend_core::nonce::{NoncePolicy, TxId};
use tend_core::rpc::RpcPolicy;
use tend_core::time::Timestamp;
use tend_core::{B256, U256};

use crate::world::World;

const CHAIN: ChainId = ChainId(100);
const ETH: u128 = 1_000_000_000_000_000_000;

fn funder() -> Address {
    Address::repeat_byte(0xF0)
}
fn safe() -> Address {
    Address::repeat_byte(0x5A)
}
fn multisend() -> Address {
    Address::repeat_byte(0x3D)
}
fn wallet(i: u8) -> Address {
    Address::repeat_byte(0xA0 + i)
}

fn config() -> EngineConfig {
    EngineConfig {
        seed: 1,
        chains: vec![ChainConfig {
            chain: CHAIN,
            endpoints: 1,
            funder: funder(),
            poll_ms: 15_000,
            native_transfer_gas: 21_000,
            erc20_transfer_gas: 65_000,
            rpc: RpcPolicy::default(),
            nonce: NoncePolicy::default(),
            fees: FeePolicy::default(),
            safe: Some(SafeSource::new(safe(), multisend())),
        }],
        services: (0..3)
            .map(|i| ServiceConfig {
                name: format!("agent-{i}"),
                autostart: false,
                health: HealthPolicy::default(),
                wallets: vec![WalletConfig {
                    chain: CHAIN,
                    address: wallet(i),
                    asset: Asset::NATIVE,
                    low: U256::from(ETH / 4),
                    target: U256::from(ETH),
                    max_transfer: None,
                    spend_per_day: None,
                    priority: 0,
                }],
            })
            .collect(),
    }
}

pub(crate) fn start() -> Timestamp {
    Timestamp::from_secs(1_767_225_600)
}

fn funded_world() -> World {
    World::new(
        Engine::new(config(), start()).unwrap(),
        safe(),
        &[
            (funder(), ETH),
            (safe(), 100 * ETH),
            (wallet(0), ETH / 10),
            (wallet(1), ETH / 5),
            (wallet(2), ETH / 2),
        ],
    )
}

fn to_of(r: &TxRequest) -> Vec<(Address, U256)> {
    r.top_ups.iter().map(|t| (t.to, t.amount)).collect()
}

#[test]
fn the_rounds_top_ups_go_in_one_safe_transaction_sent_by_the_owner() {
    let w = funded_world();
    let signs = w.safe_signs();
    assert_eq!(
        w.signs.len(),
        1,
        "one transaction for the round: {:?}",
        w.signs
    );
    let (_, req) = &signs[0];
    assert_eq!(req.from, funder(), "the owner key sends execTransaction");
    assert_eq!(
        req.body,
        TxBody::Safe {
            safe: safe(),
            nonce: 0,
            multisend: multisend(),
            safe_tx_gas: 2 * tend_core::engine::config::SAFE_NATIVE_GAS,
        }
    );
    assert_eq!(
        to_of(req),
        vec![
            (wallet(0), U256::from(9 * ETH / 10)),
            (wallet(1), U256::from(4 * ETH / 5))
        ]
    );
    // The Safe runs the batch only with safeTxGas × 64 / 63 left after its checks.
    assert_eq!(
        req.gas_limit,
        tend_core::engine::config::SAFE_EXEC_GAS
            + (2 * tend_core::engine::config::SAFE_NATIVE_GAS * 64).div_ceil(63)
            + 2 * tend_core::engine::config::SAFE_PER_TOP_UP_OVERHEAD
    );
    // Both top-ups are planned events of the one record; the journal keeps both.
    let planned: Vec<TxId> = w
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::TransferPlanned { tx, .. } => Some(*tx),
            _ => None,
        })
        .collect();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0], planned[1]);
    let journal = w.journal();
    let intent = journal[0].transfer.as_ref().unwrap();
    assert_eq!(intent.top_ups().count(), 2);
    assert_eq!(intent.safe_nonce(), Some(0));
    // The Safe transaction's own encoding: a MultiSend delegatecall of two value calls.
    let tx = tend_core::safe::batch(&req.top_ups, multisend(), 0, 2 * 45_000).unwrap();
    assert_eq!(tx.to, multisend());
    assert_eq!(tx.operation, tend_core::safe::Operation::DelegateCall);
}

#[test]
fn the_next_batch_waits_until_the_chain_shows_the_safe_nonce_used() {
    let mut w = funded_world();
    assert_eq!(w.safe_signs().len(), 1);
    // Another wallet runs low while the Safe transaction waits in the pool.
    w.balances.insert(wallet(2), U256::from(ETH / 10));
    for _ in 0..3 {
        w.advance(15_000);
    }
    assert_eq!(
        w.safe_signs().len(),
        1,
        "a second Safe transaction at the same Safe nonce: {:?}",
        w.safe_signs()
    );
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::FundingHeld { reason: HoldReason::Safe { message }, .. }
            if message.contains("Safe nonce 0")
    )));
    // Mined: the Safe reads nonce 1, and the waiting wallet gets the next Safe nonce.
    w.mine_last(true);
    w.advance(15_000);
    w.advance(15_000);
    let signs = w.safe_signs();
    assert_eq!(signs.len(), 2, "{signs:?}");
    let (_, second) = &signs[1];
    assert!(matches!(second.body, TxBody::Safe { nonce: 1, .. }));
    assert_eq!(to_of(second), vec![(wallet(2), U256::from(9 * ETH / 10))]);
    assert_eq!(second.nonce, 1, "the owner's next nonce");
}

#[test]
fn top_ups_wait_for_a_life_cycle_step_the_safe_signed_first() {
    let mut w = World::new(
        Engine::new(config(), start()).unwrap(),
        safe(),
        &[
            (funder(), ETH),
            (safe(), 100 * ETH),
            (wallet(0), ETH),
            (wallet(1), ETH),
            (wallet(2), ETH),
        ],
    );
    assert!(w.safe_signs().is_empty(), "every wallet at target");
    let now = w.now;
    w.engine.handle_input(tend_core::engine::Input::Command {
        now,
        command: tend_core::engine::Command::Execute {
            chain: CHAIN,
            service: "agent-0".into(),
            step: "claim".into(),
            calls: vec![tend_core::engine::Call {
                to: Address::repeat_byte(0x77),
                value: U256::ZERO,
                data: vec![0xb1, 0x5b, 0xe5, 0x4f],
                gas: 100_000,
            }],
        },
    });
    w.drain();
    assert_eq!(w.safe_signs().len(), 1);
    assert!(
        w.safe_signs()[0].1.top_ups.is_empty(),
        "the step's Safe transaction"
    );
    w.balances.insert(wallet(2), U256::from(ETH / 10));
    for _ in 0..3 {
        w.advance(15_000);
    }
    assert_eq!(w.safe_signs().len(), 1, "Safe nonce 0 is the step's");
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::FundingHeld { reason: HoldReason::Safe { message }, .. }
            if message.contains("Safe nonce 0")
    )));
    w.mine_last(true);
    for _ in 0..4 {
        w.advance(15_000);
    }
    let signs = w.safe_signs();
    assert_eq!(signs.len(), 2, "{signs:?}");
    assert!(matches!(signs[1].1.body, TxBody::Safe { nonce: 1, .. }));
    assert_eq!(
        to_of(&signs[1].1),
        vec![(wallet(2), U256::from(9 * ETH / 10))]
    );
}

#[test]
fn a_stuck_safe_transaction_is_bumped_with_the_same_safe_transaction() {
    let mut w = funded_world();
    let (id, first) = w.safe_signs()[0].clone();
    // Never mined; the stuck rule bumps it.
    for _ in 0..20 {
        w.advance(15_000);
    }
    let again: Vec<(TxId, TxRequest)> = w
        .safe_signs()
        .into_iter()
        .filter(|(t, _)| *t == id)
        .collect();
    assert!(again.len() >= 2, "no replacement: {:?}", w.signs);
    for (_, r) in &again[1..] {
        assert_eq!(
            r.body, first.body,
            "same Safe, Safe nonce, MultiSend, safeTxGas"
        );
        assert_eq!(r.top_ups, first.top_ups, "same top-ups");
        assert_eq!(r.nonce, first.nonce, "same owner nonce");
        assert!(r.fees.max_fee_per_gas > first.fees.max_fee_per_gas);
    }
}

#[test]
fn a_failed_batch_goes_out_again_one_top_up_at_a_time_and_the_failing_one_is_held() {
    let mut w = funded_world();
    // The batch of two fails as a whole (a wallet contract refused its top-up, say).
    w.mine_last(false);
    let rounds = |w: &mut World, n: usize| {
        for _ in 0..n {
            w.advance(15_000);
        }
    };
    rounds(&mut w, 3);
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::SafeTxReverted { safe: s, safe_nonce: 0, message, .. }
            if *s == safe() && message.contains("one per Safe transaction")
    )));
    let signs = w.safe_signs();
    assert_eq!(signs.len(), 2, "{signs:?}");
    assert_eq!(
        to_of(&signs[1].1),
        vec![(wallet(0), U256::from(9 * ETH / 10))],
        "the first top-up alone"
    );
    assert!(matches!(signs[1].1.body, TxBody::Safe { nonce: 1, .. }));
    // It fails alone: that wallet is held; the other goes out alone and is paid.
    w.mine_last(false);
    rounds(&mut w, 3);
    let signs = w.safe_signs();
    assert_eq!(signs.len(), 3, "{signs:?}");
    assert_eq!(
        to_of(&signs[2].1),
        vec![(wallet(1), U256::from(4 * ETH / 5))]
    );
    w.mine_last(true);
    rounds(&mut w, 6);
    assert_eq!(w.safe_signs().len(), 3, "no silent retry: {:?}", w.signs);
    let failed = |who: Address| {
        w.events()
            .iter()
            .filter(|e| matches!(e, Event::TransferReverted { to, .. } if *to == who))
            .count()
    };
    assert_eq!(
        (failed(wallet(0)), failed(wallet(1))),
        (2, 1),
        "wallet 0 failed in the batch and alone; wallet 1 only in the batch"
    );
    assert_eq!(
        w.events()
            .iter()
            .filter(|e| matches!(e, Event::SafeTxReverted { message, .. } if message.contains("waits for an operator")))
            .count(),
        1,
        "the top-up that failed alone is held"
    );
    assert_eq!(w.balances[&wallet(1)], U256::from(ETH));
    assert_eq!(w.balances[&wallet(0)], U256::from(ETH / 10));
}

#[test]
fn gas_is_reserved_from_the_owner_not_the_safe() {
    // The Safe holds plenty; the owner holds too little for the execTransaction's gas.
    let w = World::new(
        Engine::new(config(), start()).unwrap(),
        safe(),
        &[
            (funder(), 1_000),
            (safe(), 100 * ETH),
            (wallet(0), ETH / 10),
            (wallet(1), ETH),
            (wallet(2), ETH),
        ],
    );
    assert!(w.safe_signs().is_empty(), "{:?}", w.signs);
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::Shortfall { holder, message, .. }
            if *holder == wallet(0) && message.contains("native coin to pay")
    )));
    // With gas money on the owner, the Safe's whole balance may go out: the Safe pays no gas.
    let w = World::new(
        Engine::new(config(), start()).unwrap(),
        safe(),
        &[
            (funder(), ETH),
            (safe(), 9 * ETH / 10),
            (wallet(0), ETH / 10),
            (wallet(1), ETH),
            (wallet(2), ETH),
        ],
    );
    let signs = w.safe_signs();
    assert_eq!(
        to_of(&signs[0].1),
        vec![(wallet(0), U256::from(9 * ETH / 10))]
    );
}

#[test]
fn after_a_restart_the_journaled_batch_goes_out_again_and_nothing_is_planned_twice() {
    let w = funded_world();
    let (_, first) = w.safe_signs()[0].clone();
    let journal = w.journal();
    let restored = Engine::restore(config(), w.now.plus_ms(1_000), journal, &[]).unwrap();
    let mut w2 = World::new(
        restored,
        safe(),
        &[
            (funder(), ETH),
            (safe(), 100 * ETH),
            (wallet(0), ETH / 10),
            (wallet(1), ETH / 5),
            (wallet(2), ETH / 2),
        ],
    );
    w2.now = w.now.plus_ms(1_000);
    w2.pending = 1;
    w2.advance(15_000);
    assert!(
        w2.safe_signs()
            .iter()
            .all(|(_, r)| r.top_ups == first.top_ups && r.body == first.body),
        "a restored batch may only be signed again as itself: {:?}",
        w2.signs
    );
    let rebroadcast = w2.log.iter().any(|o| {
        matches!(o, Output::Rpc { call: RpcCall::SendRaw { hash }, .. } if *hash == B256::left_padding_from(&1u64.to_be_bytes()))
    });
    assert!(rebroadcast, "the journaled raw transaction goes out again");
}

#[test]
fn a_top_up_list_reads_back_from_the_journal() {
    let w = funded_world();
    let text = tend_json::write::to_string(&w.journal());
    let back = JournalEntry::list_from_json(&text).unwrap();
    assert_eq!(back, w.journal());
    let more: Vec<TopUp> = back[0].transfer.as_ref().unwrap().more.clone();
    assert_eq!(more.len(), 1);
    assert_eq!(more[0].to, wallet(1));
}
