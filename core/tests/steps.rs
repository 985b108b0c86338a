//! Life-cycle steps sent by the engine (`Command::Execute`): one transaction per call at
//! consecutive nonces of the funding key, journaled with the service and step before the
//! signature, their fate as `StepTx*` events, one step in flight per service, and a journaled
//! step that comes back after a restart without being signed again.

use tend_core::Address;
use tend_core::chain::ChainId;
use tend_core::engine::{
    Call, ChainConfig, Command, Engine, EngineConfig, Event, Input, JournalEntry, Output,
    SafeSource, TxBody,
};
use tend_core::fees::FeePolicy;
use tend_core::nonce::NoncePolicy;
use tend_core::rpc::RpcPolicy;
use tend_core::{B256, U256};

use crate::safe_funding::start;
use crate::world::World;

const CHAIN: ChainId = ChainId(100);
const ETH: u128 = 1_000_000_000_000_000_000;

fn funder() -> Address {
    Address::repeat_byte(0xF0)
}

fn config(safe: bool) -> EngineConfig {
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
            safe: safe
                .then(|| SafeSource::new(Address::repeat_byte(0x5A), Address::repeat_byte(3))),
        }],
        services: Vec::new(),
    }
}

fn world(safe: bool) -> World {
    World::new(
        Engine::new(config(safe), start()).unwrap(),
        Address::ZERO,
        &[(funder(), ETH)],
    )
}

/// The two calls of an activation: an approval, then the call that pays 1 wei.
fn activation() -> Vec<Call> {
    vec![
        Call {
            to: Address::repeat_byte(0x70),
            value: U256::ZERO,
            data: vec![0x09, 0x5e, 0xa7, 0xb3, 1, 2, 3],
            gas: 62_000,
        },
        Call {
            to: Address::repeat_byte(0x71),
            value: U256::from(1),
            data: vec![0xab, 0xcd],
            gas: 126_000,
        },
    ]
}

fn execute(w: &mut World, service: &str, step: &str, calls: Vec<Call>) {
    let now = w.now;
    w.engine.handle_input(Input::Command {
        now,
        command: Command::Execute {
            chain: CHAIN,
            service: service.into(),
            step: step.into(),
            calls,
        },
    });
    w.drain();
}

/// Mines every signed transaction not yet mined (`success` for each), then lets blocks pass
/// until they are confirmed.
fn mine_all(w: &mut World, success: bool) {
    let signed = w.signs.len();
    for i in 1..=signed {
        let hash = B256::left_padding_from(&(i as u64).to_be_bytes());
        w.mined.entry(hash).or_insert(success);
    }
    w.latest = w.signs.iter().map(|(_, r)| r.nonce + 1).max().unwrap_or(0);
    w.pending = w.latest;
    for _ in 0..4 {
        w.advance(15_000);
    }
}

#[test]
fn each_call_goes_out_at_the_next_nonce_journaled_before_it_is_signed() {
    let mut w = world(false);
    let before = w.log.len();
    execute(&mut w, "svc", "activate_registration", activation());
    let out = &w.log[before..];
    // The order of each record's outputs: journal (with the step), then the signature.
    let pos = |f: &dyn Fn(&Output) -> bool| out.iter().position(f).unwrap();
    for (i, call) in activation().iter().enumerate() {
        let journal = pos(
            &|o| matches!(o, Output::Journal(e) if e.call.as_ref().is_some_and(|c| c.call == *call)),
        );
        let sign = pos(
            &|o| matches!(o, Output::Sign { request, .. } if request.calls.first() == Some(call)),
        );
        assert!(journal < sign, "call {i}: journaled first");
    }
    let signs: Vec<_> = w.signs.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(signs.len(), 2);
    assert_eq!(
        signs.iter().map(|r| r.nonce).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(
        signs[1].body,
        TxBody::Call {
            to: Address::repeat_byte(0x71),
            value: U256::from(1)
        }
    );
    assert_eq!(signs[1].gas_limit, 126_000);
    assert_eq!(signs[1].calls, vec![activation()[1].clone()]);
    assert_eq!(w.engine.steps_in_flight(CHAIN).count(), 2);
    mine_all(&mut w, true);
    let confirmed: Vec<_> = w
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepTxConfirmed {
                service,
                step,
                success,
                ..
            } => Some((service.to_string(), step.clone(), *success)),
            _ => None,
        })
        .collect();
    assert_eq!(
        confirmed,
        vec![("svc".into(), "activate_registration".into(), true); 2]
    );
    assert_eq!(w.engine.steps_in_flight(CHAIN).count(), 0);
    // No transfer event speaks for a step.
    assert!(
        !w.events()
            .iter()
            .any(|e| matches!(e, Event::TxConfirmed { .. }))
    );
}

#[test]
fn a_second_step_of_a_service_waits_for_the_first() {
    let mut w = world(false);
    execute(&mut w, "svc", "activate_registration", activation());
    execute(&mut w, "svc", "register_agents", activation());
    assert_eq!(w.signs.len(), 2, "nothing more signed");
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::StepTxDropped { step, reason, .. }
            if step == "register_agents" && reason.contains("in flight")
    )));
    // Another service's step goes out meanwhile.
    execute(&mut w, "other", "claim", vec![activation()[1].clone()]);
    assert_eq!(w.signs.len(), 3);
    assert_eq!(w.signs[2].1.nonce, 2);
}

#[test]
fn a_reverted_step_is_confirmed_as_failed() {
    let mut w = world(false);
    execute(&mut w, "svc", "stake", vec![activation()[1].clone()]);
    mine_all(&mut w, false);
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::StepTxConfirmed { step, success: false, .. } if step == "stake"
    )));
}

#[test]
fn a_journaled_step_comes_back_after_a_restart_and_is_not_signed_again() {
    let mut w = world(false);
    execute(&mut w, "svc", "create", vec![activation()[1].clone()]);
    let journal: Vec<JournalEntry> = w.journal();
    // The journal reads back from its JSON, the step with it.
    let text = tend_json::write::to_string(&journal);
    let read = JournalEntry::list_from_json(&text).unwrap();
    assert_eq!(read, journal);
    let restored = Engine::restore(config(false), w.now.plus_ms(1_000), read, &[]).unwrap();
    let mut w2 = World::new(restored, Address::ZERO, &[(funder(), ETH)]);
    let back: Vec<_> = w2
        .engine
        .steps_in_flight(CHAIN)
        .map(|(_, c)| (c.service.to_string(), c.step.clone()))
        .collect();
    assert_eq!(back, vec![("svc".to_owned(), "create".to_owned())]);
    assert!(
        w2.signs.is_empty(),
        "the journaled signature is rebroadcast, not re-signed"
    );
    execute(&mut w2, "svc", "create", vec![activation()[1].clone()]);
    assert!(w2.signs.is_empty(), "the step is not sent twice");
}

fn dropped(w: &World, words: &str) -> bool {
    w.events()
        .iter()
        .any(|e| matches!(e, Event::StepTxDropped { reason, .. } if reason.contains(words)))
}

#[test]
fn a_safe_owner_sends_a_step_as_one_safe_transaction_at_its_next_nonce() {
    let mut w = world(true);
    w.safe = Address::repeat_byte(0x5A);
    execute(&mut w, "svc", "activate_registration", activation());
    let [(_, req)] = w.signs.as_slice() else {
        panic!("one transaction for both calls: {:?}", w.signs);
    };
    assert_eq!(
        req.body,
        TxBody::Safe {
            safe: Address::repeat_byte(0x5A),
            nonce: 0,
            multisend: Address::repeat_byte(3),
            safe_tx_gas: 62_000 + 126_000,
        }
    );
    assert_eq!(req.calls, activation(), "both calls, in order");
    assert!(req.top_ups.is_empty());
    // exec gas + the calls' gas + per call 4,000 and 16 per calldata byte.
    assert_eq!(req.gas_limit, 100_000 + 188_000 + 2 * 4_000 + 16 * 9);
    let journal = w.journal();
    let step = journal.iter().find_map(|e| e.call.as_ref()).unwrap();
    assert_eq!(step.safe_nonce(), Some(0));
    assert_eq!(step.calls().count(), 2);
    // The journal keeps the Safe transaction: it reads back whole.
    let text = tend_json::write::to_string(&journal);
    assert_eq!(JournalEntry::list_from_json(&text).unwrap(), journal);

    // Another service's step waits: the Safe nonce 0 is signed for the first.
    execute(&mut w, "other", "claim", vec![activation()[1].clone()]);
    assert_eq!(w.signs.len(), 1);
    assert!(dropped(&w, "Safe nonce 0 is not yet seen"));

    // A restart keeps the rule: the journaled Safe step holds the Safe's nonce.
    let restored = Engine::restore(config(true), w.now.plus_ms(1_000), journal, &[]).unwrap();
    let mut w2 = World::new(restored, Address::repeat_byte(0x5A), &[(funder(), ETH)]);
    execute(&mut w2, "other", "claim", vec![activation()[1].clone()]);
    assert!(w2.signs.is_empty());
    assert!(dropped(&w2, "Safe nonce 0 is not yet seen"));

    // Mined and confirmed: the next Safe transaction signs Safe nonce 1, once a read shows it.
    w.mine_last(true);
    for _ in 0..4 {
        w.advance(15_000);
    }
    assert!(w.events().iter().any(|e| matches!(
        e,
        Event::StepTxConfirmed { step, success: true, .. } if step == "activate_registration"
    )));
    execute(&mut w, "other", "claim", vec![activation()[1].clone()]);
    assert_eq!(w.signs.len(), 2);
    let last = &w.signs[1].1;
    assert!(
        matches!(last.body, TxBody::Safe { nonce: 1, .. }),
        "{last:?}"
    );
    assert_eq!(
        last.calls,
        vec![activation()[1].clone()],
        "one call: no MultiSend"
    );
    assert_eq!(last.nonce, 1, "the funding key's next nonce");
}

#[test]
fn a_failed_safe_step_uses_its_safe_nonce_and_the_retry_signs_the_next() {
    let mut w = world(true);
    w.safe = Address::repeat_byte(0x5A);
    execute(&mut w, "svc", "stake", vec![activation()[1].clone()]);
    w.mine_last(false);
    for _ in 0..4 {
        w.advance(15_000);
    }
    assert!(
        w.events().iter().any(|e| matches!(
            e,
            Event::StepTxConfirmed { step, success: false, .. } if step == "stake"
        )),
        "ExecutionFailure: the step failed, its Safe nonce used"
    );
    execute(&mut w, "svc", "stake", vec![activation()[1].clone()]);
    assert!(
        matches!(
            w.signs.last().unwrap().1.body,
            TxBody::Safe { nonce: 1, .. }
        ),
        "a new Safe nonce for the retry: the failed one is never signed again"
    );
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let mut w2 = world(false);
    execute(&mut w2, "svc", "create", Vec::new());
    assert!(w2.signs.is_empty());
    assert!(dropped(&w2, "no calls"));
    // An unknown chain is ignored.
    let now = w2.now;
    w2.engine.handle_input(Input::Command {
        now,
        command: Command::Execute {
            chain: ChainId(5),
            service: "svc".into(),
            step: "create".into(),
            calls: activation(),
        },
    });
    w2.drain();
    assert!(w2.signs.is_empty());
}
