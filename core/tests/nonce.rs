//! The nonce planner: examples per rule, a table of node error messages, and a property test
//! against a reference model.

use proptest::prelude::*;
use tend_core::B256;
use tend_core::fees::{Fees, GWEI, TxKind, replacement_accepted};
use tend_core::nonce::{
    ChainView, NonceAction, NonceBook, NonceError, NoncePolicy, Purpose, RecordState,
    ReleaseReason, SendErrorClass, TxRecord, classify_send_error,
};
use tend_core::time::Timestamp;

fn h(n: u64) -> B256 {
    B256::left_padding_from(&n.to_be_bytes())
}

fn t(s: u64) -> Timestamp {
    Timestamp::from_secs(s)
}

fn view(latest: u64, pending: u64, head: u64) -> ChainView {
    ChainView {
        latest,
        pending,
        head,
        base_fee: 0,
    }
}

const FEES: Fees = Fees::new(30 * GWEI, 2 * GWEI);

fn book_at(latest: u64, pending: u64) -> NonceBook {
    let mut b = NonceBook::new();
    b.observe_chain(view(latest, pending, 100));
    b
}

/// Reserve, sign and send one payload; returns (id, nonce, hash).
fn send_one(b: &mut NonceBook, p: &NoncePolicy, hash: u64, now: Timestamp) -> (u64, u64, B256) {
    let (id, nonce) = b.reserve(Purpose::Payload, now, p).unwrap();
    b.signed(id, h(hash), FEES, TxKind::Standard, false, now)
        .unwrap();
    b.sent(h(hash), now).unwrap();
    (id, nonce, h(hash))
}

#[test]
fn no_reservation_before_the_count_is_read() {
    let mut b = NonceBook::new();
    assert_eq!(
        b.reserve(Purpose::Payload, t(0), &NoncePolicy::default()),
        Err(NonceError::NotSynced)
    );
    assert!(b.plan(t(0), None, &NoncePolicy::default()).is_empty());
}

#[test]
fn reservations_are_sequential_from_the_floor() {
    let p = NoncePolicy::default();
    let mut b = book_at(7, 7);
    let got: Vec<u64> = (0..3)
        .map(|_| b.reserve(Purpose::Payload, t(0), &p).unwrap().1)
        .collect();
    assert_eq!(got, vec![7, 8, 9]);
    assert_eq!(b.in_flight(), 3);
}

#[test]
fn foreign_transactions_in_the_pool_are_skipped() {
    // Someone else (same key, another tool) has nonces 5 and 6 in the pool.
    let mut b = book_at(5, 7);
    assert_eq!(
        b.reserve(Purpose::Payload, t(0), &NoncePolicy::default())
            .unwrap()
            .1,
        7
    );
}

#[test]
fn a_lagging_node_never_makes_us_reuse_a_confirmed_nonce() {
    let p = NoncePolicy {
        confirmations: 1,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, nonce, hash) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(1, 1, 10));
    b.mined(hash, 10, h(1000)).unwrap();
    assert_eq!(b.block(10, h(1000), &p), vec![id]);
    assert_eq!(b.confirmed_floor(), nonce + 1);
    // A load-balanced RPC answers from a node two blocks behind: latest = 0 again.
    b.observe_chain(view(0, 0, 8));
    assert_eq!(b.next_nonce(), Some(1));
}

#[test]
fn a_released_reservation_is_reused_first() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (a, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    let (_, n1, _) = send_one(&mut b, &p, 2, t(0));
    assert_eq!(n1, 1);
    b.release(a).unwrap();
    assert_eq!(b.gaps(), vec![0]);
    // Nothing else queued: the planner asks to fill the gap, and blocks replacing nonce 1.
    let actions = b.plan(t(10_000), None, &p);
    assert_eq!(actions, vec![NonceAction::FillGap { nonce: 0 }]);
    // A new payload takes the gap instead.
    assert_eq!(b.reserve(Purpose::Payload, t(1), &p).unwrap().1, 0);
    assert!(b.gaps().is_empty());
}

#[test]
fn a_gap_fill_reserves_only_a_gap() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (a, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    send_one(&mut b, &p, 2, t(0));
    assert!(matches!(
        b.reserve_gap(0, t(0), &p),
        Err(NonceError::NotAGap { nonce: 0, .. })
    ));
    b.release(a).unwrap();
    assert_eq!(b.reserve_gap(0, t(0), &p).unwrap().1, 0);
    assert!(b.reserve_gap(5, t(0), &p).is_err());
}

#[test]
fn a_signed_transaction_cannot_be_released() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _, _) = send_one(&mut b, &p, 1, t(0));
    assert!(matches!(
        b.release(id),
        Err(NonceError::WrongState {
            state: "in_flight",
            ..
        })
    ));
    assert_eq!(b.next_nonce(), Some(1));
}

#[test]
fn an_unknown_send_error_keeps_the_nonce() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
        .unwrap();
    let class = b
        .send_failed(h(1), None, "connection reset by peer", t(0))
        .unwrap();
    assert_eq!(class, SendErrorClass::Unknown);
    assert_eq!(b.record(id).unwrap().state, RecordState::InFlight);
    assert_eq!(b.next_nonce(), Some(1));
}

#[test]
fn a_proven_refusal_releases_the_nonce() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
        .unwrap();
    let class = b
        .send_failed(
            h(1),
            Some(-32000),
            "insufficient funds for gas * price + value: balance 0, tx cost 21000",
            t(0),
        )
        .unwrap();
    assert_eq!(class, SendErrorClass::InsufficientFunds);
    assert!(b.record(id).is_none(), "final records leave memory");
    assert_eq!(b.next_nonce(), Some(0));
}

#[test]
fn a_crash_after_signing_rebroadcasts_the_same_transaction() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
        .unwrap();
    // The journal holds the record; the daemon restarts from it.
    let records: Vec<TxRecord> = b.records().cloned().collect();
    let json = serde_json::to_string(&records).unwrap();
    let mut restored = NonceBook::restore(serde_json::from_str::<Vec<TxRecord>>(&json).unwrap());
    restored.observe_chain(view(0, 0, 100));
    assert_eq!(
        restored.next_nonce(),
        Some(1),
        "the signed nonce stays ours"
    );
    // The previous daemon may have broadcast it before it died: it is sent again at once, not
    // after `rebroadcast_after_ms`.
    assert_eq!(
        restored.plan(t(1), None, &p),
        vec![NonceAction::Rebroadcast { id, hash: h(1) }]
    );
    assert!(restored.record(id).unwrap().attempts[0].pooled);
}

#[test]
fn a_stuck_transaction_is_replaced_with_an_accepted_bump() {
    let p = NoncePolicy {
        stuck_after_ms: 60_000,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, nonce, _) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(0, 1, 100));
    assert!(b.plan(t(59), None, &p).is_empty());
    let market = Fees::new(20 * GWEI, GWEI);
    let actions = b.plan(t(60), Some(market), &p);
    let [
        NonceAction::Replace {
            id: rid,
            nonce: rn,
            fees,
            cancel: false,
        },
    ] = actions.as_slice()
    else {
        panic!("{actions:?}")
    };
    assert_eq!((*rid, *rn), (id, nonce));
    assert!(replacement_accepted(FEES, *fees, TxKind::Standard));
    // After the replacement the wait doubles.
    b.signed(id, h(2), *fees, TxKind::Standard, false, t(60))
        .unwrap();
    b.sent(h(2), t(60)).unwrap();
    assert!(b.plan(t(60 + 119), Some(market), &p).is_empty());
    assert_eq!(b.plan(t(60 + 120), Some(market), &p).len(), 1);
}

#[test]
fn a_stuck_transaction_is_held_at_the_cap() {
    let p = NoncePolicy {
        stuck_after_ms: 1_000,
        fee_cap: 31 * GWEI,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, _, _) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(0, 1, 100));
    let actions = b.plan(t(5), None, &p);
    assert!(
        matches!(actions.as_slice(), [NonceAction::HeldAtCap { id: i, .. }] if *i == id),
        "{actions:?}"
    );
}

#[test]
fn stuck_by_blocks() {
    let p = NoncePolicy {
        stuck_after_ms: u64::MAX,
        stuck_after_blocks: 5,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(0, 1, 104));
    assert!(b.plan(t(1), None, &p).is_empty());
    b.observe_chain(view(0, 1, 105));
    assert!(matches!(
        b.plan(t(1), None, &p).as_slice(),
        [NonceAction::Replace { .. }]
    ));
}

#[test]
fn underpriced_bumps_over_the_highest_fees_at_once() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _, _) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(0, 1, 100));
    let higher = Fees::new(40 * GWEI, 3 * GWEI);
    b.signed(id, h(2), higher, TxKind::Standard, false, t(1))
        .unwrap();
    b.send_failed(h(2), None, "replacement transaction underpriced", t(1))
        .unwrap();
    let actions = b.plan(t(2), None, &p);
    let [NonceAction::Replace { fees, .. }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert!(replacement_accepted(higher, *fees, TxKind::Standard));
}

#[test]
fn blob_transactions_double() {
    let p = NoncePolicy {
        stuck_after_ms: 1,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.signed(id, h(1), FEES, TxKind::Blob, false, t(0)).unwrap();
    b.sent(h(1), t(0)).unwrap();
    b.observe_chain(view(0, 1, 100));
    let actions = b.plan(t(1), None, &p);
    let [NonceAction::Replace { fees, .. }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(*fees, Fees::new(60 * GWEI, 4 * GWEI));
}

#[test]
fn cancel() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    // Unsigned: released at once.
    let (a, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    assert_eq!(
        b.request_cancel(a).unwrap(),
        RecordState::Released {
            reason: ReleaseReason::Cancelled
        }
    );
    // Signed: a 0-value self-send at the same nonce, bumped.
    let (id, nonce, _) = send_one(&mut b, &p, 1, t(0));
    b.request_cancel(id).unwrap();
    let actions = b.plan(t(1), None, &p);
    assert!(
        matches!(actions.as_slice(), [NonceAction::Replace { id: i, nonce: n, cancel: true, .. }] if *i == id && *n == nonce),
        "{actions:?}"
    );
    b.signed(
        id,
        h(9),
        Fees::new(33 * GWEI, 2_200_000_000),
        TxKind::Standard,
        true,
        t(1),
    )
    .unwrap();
    b.sent(h(9), t(1)).unwrap();
    // The cancel is mined and confirmed.
    b.observe_chain(view(1, 1, 101));
    b.mined(h(9), 101, h(5000)).unwrap();
    b.observe_chain(view(1, 1, 102));
    assert_eq!(
        b.plan(t(2), None, &p),
        vec![NonceAction::CheckBlock { number: 101 }]
    );
    assert_eq!(b.block(101, h(5000), &p), vec![id]);
    assert!(b.records().next().is_none());
}

#[test]
fn receipts_then_confirmation_at_depth() {
    let p = NoncePolicy {
        confirmations: 3,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, _, hash) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(1, 1, 101));
    assert_eq!(
        b.plan(t(1), None, &p),
        vec![NonceAction::CheckReceipts {
            id,
            hashes: vec![hash]
        }]
    );
    b.mined(hash, 101, h(77)).unwrap();
    b.observe_chain(view(1, 1, 102));
    assert!(b.plan(t(2), None, &p).is_empty(), "2 deep of 3");
    b.observe_chain(view(1, 1, 103));
    assert_eq!(
        b.plan(t(3), None, &p),
        vec![NonceAction::CheckBlock { number: 101 }]
    );
    // Not yet deep enough when asked early: nothing confirmed.
    b.observe_chain(view(1, 1, 102));
    assert!(b.block(101, h(77), &p).is_empty());
    b.observe_chain(view(1, 1, 103));
    assert_eq!(b.block(101, h(77), &p), vec![id]);
}

#[test]
fn a_reorg_puts_the_transaction_back_in_flight() {
    let p = NoncePolicy {
        confirmations: 2,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, _, hash) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(1, 1, 101));
    b.mined(hash, 101, h(77)).unwrap();
    b.observe_chain(view(1, 1, 102));
    // The block at 101 is now another one.
    assert!(b.block(101, h(78), &p).is_empty());
    assert_eq!(b.record(id).unwrap().state, RecordState::InFlight);
    // It is re-included in the new 101: receipts find it again.
    assert!(matches!(
        b.plan(t(1), None, &p).as_slice(),
        [NonceAction::CheckReceipts { .. }]
    ));
    // A reorg that lowers the count below the nonce also puts a mined record back.
    b.mined(hash, 101, h(78)).unwrap();
    b.observe_chain(view(0, 1, 100));
    assert_eq!(b.record(id).unwrap().state, RecordState::InFlight);
}

#[test]
fn a_nonce_used_by_someone_else_is_lost_after_the_checks() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _, _) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(1, 1, 101));
    assert_eq!(b.receipts_missing(id, &p).unwrap(), RecordState::InFlight);
    assert_eq!(b.receipts_missing(id, &p).unwrap(), RecordState::InFlight);
    assert_eq!(b.receipts_missing(id, &p).unwrap(), RecordState::Lost);
    assert!(b.record(id).is_none());
    assert_eq!(b.next_nonce(), Some(1));
}

#[test]
fn an_unsigned_reservation_passed_by_the_chain_is_released() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.observe_chain(view(1, 1, 101));
    assert!(b.record(id).is_none());
    assert_eq!(b.next_nonce(), Some(1));
}

#[test]
fn the_in_flight_cap_holds() {
    let p = NoncePolicy {
        max_in_flight: 2,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.reserve(Purpose::Payload, t(0), &p).unwrap();
    assert_eq!(
        b.reserve(Purpose::Payload, t(0), &p),
        Err(NonceError::InFlightCap {
            in_flight: 2,
            cap: 2
        })
    );
}

#[test]
fn a_dropped_transaction_is_broadcast_again() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _, hash) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(0, 1, 100));
    // The pool still holds it: pending = 1.
    assert!(b.plan(t(40), None, &p).is_empty());
    // Dropped: pending fell back to 0.
    b.observe_chain(view(0, 0, 101));
    assert_eq!(
        b.plan(t(40), None, &p),
        vec![NonceAction::Rebroadcast { id, hash }]
    );
}

#[test]
fn a_lying_count_cannot_hang_the_planner() {
    let p = NoncePolicy::default();
    let b = book_at(0, u64::MAX);
    assert_eq!(b.next_nonce(), Some(u64::MAX));
    let mut b = book_at(0, 0);
    b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.observe_chain(view(0, u64::MAX - 1, 1));
    b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.observe_chain(view(0, 0, 1));
    assert_eq!(b.gaps().len(), tend_core::nonce::MAX_GAPS);
    let _ = b.plan(t(1), None, &p);
}

/// Node messages, by vendor, and their class.
#[test]
fn node_error_messages() {
    use SendErrorClass as C;
    let table: &[(&str, Option<i64>, &str, C)] = &[
        (
            "geth",
            Some(-32000),
            "nonce too low: next nonce 87, tx nonce 86",
            C::NonceTooLow,
        ),
        ("geth", Some(-32000), "nonce too high", C::NonceTooHigh),
        ("geth", Some(-32000), "already known", C::AlreadyKnown),
        (
            "geth",
            Some(-32000),
            "replacement transaction underpriced",
            C::ReplacementUnderpriced,
        ),
        (
            "geth",
            Some(-32000),
            "transaction underpriced: tip needed 1, tip permitted 0",
            C::FeeTooLow,
        ),
        (
            "geth",
            Some(-32000),
            "max fee per gas less than block base fee: address 0x.., maxFeePerGas: 1, baseFee: 7",
            C::FeeTooLow,
        ),
        (
            "geth",
            Some(-32000),
            "insufficient funds for gas * price + value: address 0x.. have 0 want 21000",
            C::InsufficientFunds,
        ),
        (
            "geth",
            Some(-32000),
            "intrinsic gas too low: gas 20000, minimum needed 21000",
            C::Rejected,
        ),
        ("geth", Some(-32000), "exceeds block gas limit", C::Rejected),
        ("geth", Some(-32000), "txpool is full", C::Busy),
        ("geth", Some(-32000), "invalid sender", C::Rejected),
        (
            "erigon",
            Some(-32000),
            "INTERNAL_ERROR: nonce too low",
            C::NonceTooLow,
        ),
        (
            "erigon",
            Some(-32000),
            "INTERNAL_ERROR: existing tx with same hash",
            C::AlreadyKnown,
        ),
        (
            "erigon",
            None,
            "replace underpriced",
            C::ReplacementUnderpriced,
        ),
        ("erigon", None, "fee too low", C::FeeTooLow),
        ("erigon", None, "pool overflow", C::Busy),
        (
            "erigon",
            None,
            "could not replace existing tx",
            C::ReplacementUnderpriced,
        ),
        ("besu", Some(-32000), "Nonce too low", C::NonceTooLow),
        (
            "besu",
            Some(-32001),
            "NONCE_TOO_FAR_IN_FUTURE_FOR_SENDER",
            C::NonceTooHigh,
        ),
        (
            "besu",
            None,
            "Transaction nonce is too distant from current sender nonce",
            C::NonceTooHigh,
        ),
        ("besu", None, "Known transaction", C::AlreadyKnown),
        (
            "besu",
            None,
            "Replacement transaction underpriced",
            C::ReplacementUnderpriced,
        ),
        (
            "besu",
            None,
            "REPLACEMENT_UNDERPRICED",
            C::ReplacementUnderpriced,
        ),
        (
            "besu",
            None,
            "Upfront cost exceeds account balance",
            C::InsufficientFunds,
        ),
        (
            "besu",
            None,
            "Gas price below configured minimum gas price",
            C::FeeTooLow,
        ),
        (
            "nethermind",
            Some(-32010),
            "OldNonce, Current nonce: 5, nonce of rejected tx: 3",
            C::NonceTooLow,
        ),
        (
            "nethermind",
            Some(-32010),
            "NonceGap, Future nonce. Expected nonce: 5",
            C::NonceTooHigh,
        ),
        ("nethermind", Some(-32010), "AlreadyKnown", C::AlreadyKnown),
        (
            "nethermind",
            Some(-32010),
            "FeeTooLow, FeePerGas needs to be higher than 7",
            C::FeeTooLow,
        ),
        (
            "nethermind",
            Some(-32010),
            "FeeTooLowToCompete",
            C::ReplacementUnderpriced,
        ),
        (
            "nethermind",
            Some(-32010),
            "InsufficientFunds, Account balance: 0",
            C::InsufficientFunds,
        ),
        (
            "nethermind",
            None,
            "Transaction with the same hash was already imported.",
            C::AlreadyKnown,
        ),
        (
            "nethermind",
            None,
            "tx nonce 9 exceeds next nonce 5",
            C::NonceTooHigh,
        ),
        ("anvil", Some(-32003), "nonce too low", C::NonceTooLow),
        ("anvil", Some(-32003), "nonce too high", C::NonceTooHigh),
        (
            "anvil",
            Some(-32003),
            "transaction already imported",
            C::AlreadyKnown,
        ),
        (
            "anvil",
            Some(-32003),
            "replacement transaction underpriced",
            C::ReplacementUnderpriced,
        ),
        (
            "anvil",
            Some(-32003),
            "Insufficient funds for gas * price + value",
            C::InsufficientFunds,
        ),
        (
            "anvil",
            Some(-32003),
            "max fee per gas less than block base fee",
            C::FeeTooLow,
        ),
        (
            "hardhat",
            None,
            "Nonce too high. Expected nonce to be 0 but got 5.",
            C::NonceTooHigh,
        ),
        (
            "reth",
            None,
            "insufficient gas price to replace existing transaction",
            C::ReplacementUnderpriced,
        ),
        (
            "openethereum",
            None,
            "Transaction nonce is too low. Try incrementing the nonce.",
            C::NonceTooLow,
        ),
        (
            "openethereum",
            None,
            "Transaction gas price supplied is too low. There is another transaction with same nonce in the queue.",
            C::ReplacementUnderpriced,
        ),
        (
            "arbitrum",
            None,
            "nonce too low: address 0x.., tx: 3 state: 4",
            C::NonceTooLow,
        ),
        ("arbitrum/op", None, "nonce out of range", C::NonceTooHigh),
        (
            "zksync",
            None,
            "nonce too high. allowed nonce range: 0 - 10, actual: 50",
            C::NonceTooHigh,
        ),
        ("zksync", None, "Nonce is too low", C::NonceTooLow),
        (
            "infura",
            Some(-32005),
            "daily request count exceeded, request rate limited",
            C::Busy,
        ),
        ("relay", None, "unknown transaction", C::Unknown),
        ("proxy", None, "502 Bad Gateway", C::Unknown),
        (
            "open-aea",
            None,
            "ReplacementNotAllowed",
            C::ReplacementUnderpriced,
        ),
    ];
    for (vendor, code, message, class) in table {
        assert_eq!(
            classify_send_error(*code, message),
            *class,
            "{vendor}: {message}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property test against a reference model.

#[derive(Debug, Clone)]
enum Op {
    Reserve,
    Sign(usize),
    SendOk(usize),
    SendErr(usize, usize),
    Release(usize),
    Cancel(usize),
    Mine(usize),
    Chain { mine_up_to: u8, extra_pending: u8 },
    BlockCheck(bool),
    ReceiptsMissing(usize),
    Plan(u16),
}

const MESSAGES: &[&str] = &[
    "nonce too low",
    "already known",
    "replacement transaction underpriced",
    "nonce too high",
    "insufficient funds",
    "txpool is full",
    "intrinsic gas too low",
    "socket hang up",
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Reserve),
        3 => (0usize..16).prop_map(Op::Sign),
        3 => (0usize..16).prop_map(Op::SendOk),
        2 => (0usize..16, 0..MESSAGES.len()).prop_map(|(i, m)| Op::SendErr(i, m)),
        1 => (0usize..16).prop_map(Op::Release),
        1 => (0usize..16).prop_map(Op::Cancel),
        2 => (0usize..16).prop_map(Op::Mine),
        2 => (0u8..4, 0u8..3).prop_map(|(m, e)| Op::Chain { mine_up_to: m, extra_pending: e }),
        1 => any::<bool>().prop_map(Op::BlockCheck),
        1 => (0usize..16).prop_map(Op::ReceiptsMissing),
        2 => (0u16..400).prop_map(Op::Plan),
    ]
}

/// The reference model: every nonce ever handed to a record whose transaction may have reached a
/// node, unless that record was later released. A new reservation must avoid all of them, and
/// every nonce handed out must be at or above the floor.
#[derive(Default)]
struct Model {
    /// (id, nonce, signed) per reservation, in order.
    handed: Vec<(u64, u64, bool)>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_hands_out_a_nonce_that_may_be_in_use(ops in proptest::collection::vec(op(), 1..80)) {
        let p = NoncePolicy { max_in_flight: 8, confirmations: 2, stuck_after_ms: 50_000, ..NoncePolicy::default() };
        let mut b = NonceBook::new();
        let mut chain = view(0, 0, 100);
        b.observe_chain(chain);
        let mut model = Model::default();
        let mut now = 0u64;
        let mut hash = 0u64;
        let mut block_hash = 0u64;
        // mined: (hash, block)
        let mut mined: Vec<(B256, u64, B256)> = Vec::new();
        for op in ops {
            now += 1_000;
            let ts = Timestamp(now);
            let live: Vec<TxRecord> = b.records().cloned().collect();
            let pick = |i: usize| live.get(i % live.len().max(1)).cloned();
            match op {
                Op::Reserve => {
                    let floor = b.floor();
                    if let Ok((id, nonce)) = b.reserve(Purpose::Payload, ts, &p) {
                        prop_assert!(nonce >= floor);
                        for (other, n, _) in &model.handed {
                            let still_ours = b.record(*other).is_some_and(|r| r.state.holds_nonce());
                            prop_assert!(!(still_ours && *n == nonce), "nonce {nonce} handed twice");
                        }
                        prop_assert!(nonce >= chain.latest);
                        model.handed.push((id, nonce, false));
                    }
                }
                Op::Sign(i) => if let Some(r) = pick(i) {
                    hash += 1;
                    let fees = r.highest_fees().map_or(FEES, |f| Fees::new(f.max_fee_per_gas * 2, f.max_priority_fee_per_gas * 2));
                    if b.signed(r.id, h(hash), fees, TxKind::Standard, false, ts).is_ok() {
                        for m in &mut model.handed { if m.0 == r.id { m.2 = true; } }
                    }
                },
                Op::SendOk(i) => if let Some(a) = pick(i).and_then(|r| r.attempts.last().cloned()) {
                    b.sent(a.hash, ts).unwrap();
                },
                Op::SendErr(i, m) => if let Some(a) = pick(i).and_then(|r| r.attempts.last().cloned()) {
                    b.send_failed(a.hash, None, MESSAGES[m], ts).unwrap();
                },
                Op::Release(i) => if let Some(r) = pick(i) {
                    let res = b.release(r.id);
                    prop_assert_eq!(res.is_ok(), r.state == RecordState::Reserved);
                },
                Op::Cancel(i) => if let Some(r) = pick(i) { let _ = b.request_cancel(r.id); },
                Op::Mine(i) => if let Some(r) = pick(i) {
                    if let (RecordState::InFlight, Some(a)) = (r.state, r.attempts.last()) {
                        if r.nonce == chain.latest {
                            chain.latest += 1;
                            chain.pending = chain.pending.max(chain.latest);
                            chain.head += 1;
                            block_hash += 1;
                            b.observe_chain(chain);
                            b.mined(a.hash, chain.head, h(1_000_000 + block_hash)).unwrap();
                            mined.push((a.hash, chain.head, h(1_000_000 + block_hash)));
                        }
                    }
                },
                Op::Chain { mine_up_to, extra_pending } => {
                    chain.head += u64::from(mine_up_to);
                    chain.pending = chain.latest + u64::from(extra_pending);
                    b.observe_chain(chain);
                },
                Op::BlockCheck(reorg) => if let Some((_, number, bh)) = mined.last().copied() {
                    let answer = if reorg { h(2_000_000 + number) } else { bh };
                    for id in b.block(number, answer, &p) {
                        prop_assert!(b.record(id).is_none());
                    }
                },
                Op::ReceiptsMissing(i) => if let Some(r) = pick(i) {
                    let _ = b.receipts_missing(r.id, &p);
                },
                Op::Plan(dt) => {
                    now += u64::from(dt) * 1_000;
                    let actions = b.plan(Timestamp(now), Some(Fees::new(10 * GWEI, GWEI)), &p);
                    for a in actions {
                        if let NonceAction::Replace { id, fees, .. } = a {
                            let r = b.record(id).unwrap();
                            let old = r.highest_fees().unwrap();
                            prop_assert!(replacement_accepted(old, fees, TxKind::Standard));
                        }
                        if let NonceAction::FillGap { nonce } = a {
                            prop_assert!(nonce >= b.floor());
                            let (_, n) = b.reserve_gap(nonce, Timestamp(now), &p).or_else(|e| match e {
                                NonceError::InFlightCap { .. } => Ok((0, nonce)),
                                other => Err(other),
                            }).unwrap();
                            prop_assert_eq!(n, nonce);
                        }
                    }
                }
            }
            // Invariants after every step: each held nonce has exactly one live record; no live
            // record sits below our confirmed floor.
            let mut seen = std::collections::BTreeSet::new();
            for r in b.records() {
                if r.state.holds_nonce() {
                    prop_assert!(seen.insert(r.nonce), "two live records at nonce {}", r.nonce);
                    prop_assert!(r.nonce >= b.confirmed_floor() || r.state != RecordState::Reserved);
                }
            }
            prop_assert!(b.in_flight() <= p.max_in_flight);
        }
    }
}

#[test]
fn a_reorg_deeper_than_the_confirmations_reopens_the_nonce() {
    let p = NoncePolicy {
        confirmations: 1,
        ..NoncePolicy::default()
    };
    let mut b = book_at(0, 0);
    let (id, _, hash) = send_one(&mut b, &p, 1, t(0));
    send_one(&mut b, &p, 2, t(0));
    assert_eq!(b.observe_chain(view(1, 2, 101)), None);
    b.mined(hash, 101, h(7)).unwrap();
    assert_eq!(b.block(101, h(7), &p), vec![id]);
    assert_eq!(b.confirmed_floor(), 1);
    // The chain forgets nonce 0; a lagging node would look the same at first.
    assert_eq!(b.observe_chain(view(0, 0, 102)), None);
    assert!(b.gaps().is_empty(), "not yet: it may be a lagging node");
    assert_eq!(b.observe_chain(view(0, 0, 110)), None);
    // The head moved on and the count stayed below ours: a deep reorg.
    let fell = b.observe_chain(view(0, 0, 102 + tend_core::nonce::DEEP_REORG_GRACE_BLOCKS));
    assert_eq!(fell, Some(1));
    assert_eq!(b.confirmed_floor(), 0);
    // The confirmed record is back in flight with its own attempt: nonce 0 is no gap (a gap
    // fill there would bind it to a second payload), and its transaction is broadcast again.
    assert!(b.gaps().is_empty());
    assert_eq!(b.record(id).map(|r| r.state), Some(RecordState::InFlight));
    assert_eq!(b.next_nonce(), Some(2));
    let actions = b.plan(t(1), None, &p);
    assert!(
        actions.contains(&NonceAction::Rebroadcast { id, hash }),
        "{actions:?}"
    );
    // A count that comes back resets the watch.
    let mut c = book_at(0, 0);
    let (id, _, hash) = send_one(&mut c, &p, 1, t(0));
    c.observe_chain(view(1, 1, 101));
    c.mined(hash, 101, h(7)).unwrap();
    c.block(101, h(7), &p);
    let _ = id;
    c.observe_chain(view(0, 0, 102));
    c.observe_chain(view(1, 1, 110));
    assert_eq!(c.observe_chain(view(0, 0, 125)), None);
    assert_eq!(c.confirmed_floor(), 1);
}

#[test]
fn a_lost_nonce_is_never_handed_out_again() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, nonce, _) = send_one(&mut b, &p, 1, t(0));
    b.observe_chain(view(1, 1, 101));
    for _ in 0..3 {
        b.receipts_missing(id, &p).unwrap();
    }
    assert_eq!(b.confirmed_floor(), nonce + 1);
    // A lying or lagging count says the nonce is free again: it is not.
    b.observe_chain(view(0, 0, 102));
    assert_eq!(b.next_nonce(), Some(1));
    // Nor after a restart from the journal.
    let lost = TxRecord {
        state: RecordState::Lost,
        ..b.drain_finished().pop().unwrap()
    };
    let mut r = NonceBook::restore(vec![lost]);
    r.observe_chain(view(0, 0, 102));
    assert_eq!(r.next_nonce(), Some(1));
}

/// The release table, row by row, for attempts that may already be in a pool: a refusal of a
/// rebroadcast (or of a retry after a lost answer) never frees the nonce; a price refusal is
/// answered with a bump of the same record, never a cancel.
#[test]
fn a_refusal_after_a_possible_acceptance_never_frees_the_nonce() {
    let p = NoncePolicy::default();
    let refusals = [
        "max fee per gas less than block base fee",
        "transaction underpriced",
        "insufficient funds for gas * price + value",
        "intrinsic gas too low",
        "nonce too high",
    ];
    for message in refusals {
        // Accepted, then the rebroadcast refused.
        let mut b = book_at(0, 0);
        let (id, nonce, hash) = send_one(&mut b, &p, 1, t(0));
        b.send_failed(hash, Some(-32000), message, t(40)).unwrap();
        assert_eq!(
            b.record(id).map(|r| r.state),
            Some(RecordState::InFlight),
            "{message}"
        );
        assert_eq!(b.next_nonce(), Some(nonce + 1), "{message}");
        assert!(b.gaps().is_empty(), "{message}");
        // An answer lost on one endpoint, then a refusal from another.
        let mut b = book_at(0, 0);
        let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
        b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
            .unwrap();
        b.answer_lost(h(1)).unwrap();
        b.send_failed(h(1), Some(-32000), message, t(1)).unwrap();
        assert_eq!(
            b.record(id).map(|r| r.state),
            Some(RecordState::InFlight),
            "{message}"
        );
        // After a restart from the journal.
        let mut b = book_at(0, 0);
        let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
        b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
            .unwrap();
        let mut b = NonceBook::restore(b.records().cloned().collect::<Vec<_>>());
        b.observe_chain(view(0, 0, 100));
        assert_eq!(
            b.plan(t(1), None, &p),
            vec![NonceAction::Rebroadcast { id, hash: h(1) }]
        );
        b.send_failed(h(1), Some(-32000), message, t(1)).unwrap();
        assert_eq!(
            b.record(id).map(|r| r.state),
            Some(RecordState::InFlight),
            "{message}"
        );
    }
    // A price refusal of a pooled attempt is bumped: the same record, its payload.
    let mut b = book_at(0, 0);
    let (id, nonce, hash) = send_one(&mut b, &p, 1, t(0));
    b.send_failed(
        hash,
        Some(-32000),
        "max fee per gas less than block base fee",
        t(1),
    )
    .unwrap();
    let actions = b.plan(t(2), Some(Fees::new(80 * GWEI, 2 * GWEI)), &p);
    assert!(
        matches!(actions.as_slice(), [NonceAction::Replace { id: i, nonce: n, cancel: false, .. }] if *i == id && *n == nonce),
        "{actions:?}"
    );
    // The same refusal of a first broadcast in this process still frees it.
    let mut b = book_at(0, 0);
    let (id, _) = b.reserve(Purpose::Payload, t(0), &p).unwrap();
    b.signed(id, h(1), FEES, TxKind::Standard, false, t(0))
        .unwrap();
    b.send_failed(
        h(1),
        Some(-32000),
        "max fee per gas less than block base fee",
        t(1),
    )
    .unwrap();
    assert!(b.record(id).is_none());
    assert_eq!(b.next_nonce(), Some(0));
}

/// A sent transaction whose max fee is below the next block's base fee is replaced at once.
#[test]
fn below_the_base_fee_is_replaced_at_once() {
    let p = NoncePolicy::default();
    let mut b = book_at(0, 0);
    let (id, _, _) = send_one(&mut b, &p, 1, t(0));
    let mut v = view(0, 1, 101);
    v.base_fee = FEES.max_fee_per_gas;
    b.observe_chain(v);
    assert!(
        b.plan(t(1), None, &p).is_empty(),
        "at the base fee it can be mined"
    );
    v.base_fee = FEES.max_fee_per_gas + 1;
    b.observe_chain(v);
    let market = Fees::new(2 * v.base_fee + GWEI, GWEI);
    let actions = b.plan(t(1), Some(market), &p);
    let [
        NonceAction::Replace {
            id: i,
            fees,
            cancel: false,
            ..
        },
    ] = actions.as_slice()
    else {
        panic!("{actions:?}")
    };
    assert_eq!(*i, id);
    assert!(fees.max_fee_per_gas >= market.max_fee_per_gas);
}
