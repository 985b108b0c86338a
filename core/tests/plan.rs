//! tend's funding planner, by example and by property.

use tend_core::map::Map;

use proptest::prelude::*;
use tend_core::U256;
use tend_core::address::{Address, Asset};
use tend_core::chain::ChainId;
use tend_core::chain_amounts::AssetAmounts;
use tend_core::funding::plan::{
    GasParams, Plan, PlanInput, Policy, ShortfallReason, Source, Wallet, plan,
};

const GNOSIS: ChainId = ChainId(100);
const BASE: ChainId = ChainId(8453);

fn a(i: u64) -> Address {
    Address::left_padding_from(&i.to_be_bytes())
}

fn token() -> Asset {
    Asset(a(0xABCD))
}

fn amounts(v: &[(Asset, u64)]) -> AssetAmounts {
    v.iter().map(|(k, x)| (*k, U256::from(*x))).collect()
}

fn pol(low: u64, target: u64) -> Policy {
    Policy {
        low: U256::from(low),
        target: U256::from(target),
        max_transfer: None,
        spend_per_day: None,
    }
}

fn source(chain: ChainId, i: u64, bal: &[(Asset, u64)]) -> Source {
    Source {
        chain,
        address: a(i),
        name: None,
        balances: amounts(bal),
        gas_payer: None,
    }
}

fn wallet(chain: ChainId, i: u64, bal: &[(Asset, u64)], policy: &[(Asset, Policy)]) -> Wallet {
    Wallet {
        chain,
        address: a(i),
        name: None,
        priority: 0,
        balances: amounts(bal),
        policy: policy.iter().copied().collect(),
    }
}

/// Gas: 1 wei per gas, so a native transfer costs 21,000 and an ERC-20 one 65,000.
fn input(sources: Vec<Source>, wallets: Vec<Wallet>) -> PlanInput {
    PlanInput {
        chains: Map::from([
            (GNOSIS, GasParams::with_max_fee(U256::from(1))),
            (BASE, GasParams::with_max_fee(U256::from(1))),
        ]),
        sources,
        wallets,
        in_flight: Vec::new(),
    }
}

const N: Asset = Asset::NATIVE;

#[test]
fn refills_below_low_to_target_and_reserves_gas() {
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 1_000_000)])],
        vec![wallet(GNOSIS, 10, &[(N, 99)], &[(N, pol(100, 500))])],
    ))
    .unwrap();
    assert_eq!(p.transfers.len(), 1);
    assert_eq!(p.transfers[0].amount, U256::from(401));
    assert_eq!(p.transfers[0].gas_reserved, U256::from(21_000));
    assert!(p.shortfalls.is_empty());
    // At exactly `low` nothing is needed.
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 1_000_000)])],
        vec![wallet(GNOSIS, 10, &[(N, 100)], &[(N, pol(100, 500))])],
    ))
    .unwrap();
    assert!(p.transfers.is_empty());
}

#[test]
fn sources_in_priority_order_and_split() {
    let p = plan(&input(
        vec![
            source(GNOSIS, 1, &[(N, 21_000 + 300)]),
            source(GNOSIS, 2, &[(N, 1_000_000)]),
        ],
        vec![wallet(GNOSIS, 10, &[], &[(N, pol(100, 500))])],
    ))
    .unwrap();
    let got: Vec<_> = p.transfers.iter().map(|t| (t.from, t.amount)).collect();
    assert_eq!(got, vec![(a(1), U256::from(300)), (a(2), U256::from(200))]);
}

#[test]
fn token_transfer_needs_native_gas_at_the_source() {
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 64_999), (token(), 1_000)])],
        vec![wallet(GNOSIS, 10, &[], &[(token(), pol(10, 100))])],
    ))
    .unwrap();
    assert!(p.transfers.is_empty());
    assert_eq!(p.shortfalls.len(), 1);
    assert_eq!(p.shortfalls[0].reason, ShortfallReason::InsufficientGas);
    assert_eq!(p.shortfalls[0].missing, U256::from(100));
    // With one more wei the transfer fits.
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 65_000), (token(), 1_000)])],
        vec![wallet(GNOSIS, 10, &[], &[(token(), pol(10, 100))])],
    ))
    .unwrap();
    assert_eq!(p.transfers.len(), 1);
}

#[test]
fn shortfalls_say_why() {
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 21_100)])],
        vec![
            wallet(GNOSIS, 10, &[], &[(N, pol(100, 500))]),
            wallet(BASE, 11, &[], &[(N, pol(1, 2))]),
        ],
    ))
    .unwrap();
    let reasons: Vec<_> = p
        .shortfalls
        .iter()
        .map(|s| (s.chain, s.reason, s.missing))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                GNOSIS,
                ShortfallReason::InsufficientBalance,
                U256::from(400)
            ),
            (BASE, ShortfallReason::NoSource, U256::from(2)),
        ]
    );
    assert!(p.shortfalls[0].message.contains("cover 100 of the 500"));
}

#[test]
fn priority_decides_who_is_served_when_short() {
    let mut low_prio = wallet(GNOSIS, 10, &[], &[(N, pol(100, 100))]);
    low_prio.priority = 5;
    let high_prio = wallet(GNOSIS, 11, &[], &[(N, pol(100, 100))]);
    let p = plan(&input(
        vec![source(GNOSIS, 1, &[(N, 21_100)])],
        vec![low_prio, high_prio],
    ))
    .unwrap();
    assert_eq!(p.transfers.len(), 1);
    assert_eq!(p.transfers[0].to, a(11));
    assert_eq!(p.shortfalls[0].holder, a(10));
}

#[test]
fn max_transfer_caps_and_in_flight_blocks_a_second_transfer() {
    let mut w = wallet(GNOSIS, 10, &[], &[(N, pol(100, 1_000))]);
    w.policy.get_mut(&N).unwrap().max_transfer = Some(U256::from(300));
    let mut inp = input(vec![source(GNOSIS, 1, &[(N, 1_000_000)])], vec![w]);
    let p = plan(&inp).unwrap();
    assert_eq!(p.transfers[0].amount, U256::from(300));
    assert!(p.transfers[0].reason.unwrap().capped_by_max_transfer);
    inp.in_flight = p.transfers.clone();
    let again = plan(&inp).unwrap();
    assert!(again.transfers.is_empty(), "{again:?}");
    assert!(again.shortfalls.is_empty());
}

#[test]
fn runway_counts_in_flight_and_planned_funds() {
    let mut w = wallet(GNOSIS, 10, &[(N, 50)], &[(N, pol(100, 1_000))]);
    w.policy.get_mut(&N).unwrap().spend_per_day = Some(U256::from(450));
    let p = plan(&input(vec![source(GNOSIS, 1, &[(N, 1_000_000)])], vec![w])).unwrap();
    // After the refill to 1,000: 900 above low at 450 a day = 2 days.
    assert_eq!(p.runway[0].balance, U256::from(1_000));
    assert_eq!(p.runway[0].seconds_until_low, Some(2 * 86_400));
}

// ---------- properties ----------

fn arb_input() -> impl Strategy<Value = PlanInput> {
    let chain = prop_oneof![Just(GNOSIS), Just(BASE)];
    let asset = prop_oneof![Just(N), Just(token()), Just(Asset(a(0xEF)))];
    let bal = proptest::collection::btree_map(asset.clone(), 0u64..3_000_000, 0..3);
    let policy = (
        0u64..2_000_000,
        0u64..2_000_000,
        proptest::option::of(1u64..1_000_000),
    )
        .prop_map(|(x, y, m)| Policy {
            low: U256::from(x.min(y)),
            target: U256::from(x.max(y)),
            max_transfer: m.map(U256::from),
            spend_per_day: Some(U256::from(x % 1000)),
        });
    let sources = proptest::collection::vec((chain.clone(), bal.clone()), 0..4);
    let wallets = proptest::collection::vec(
        (
            chain,
            0u32..3,
            bal,
            proptest::collection::btree_map(asset, policy, 1..3),
        ),
        0..12,
    );
    (sources, wallets, 1u64..3).prop_map(|(sources, wallets, fee)| {
        let sources: Vec<Source> = sources
            .into_iter()
            .enumerate()
            .map(|(i, (chain, b))| Source {
                chain,
                address: a(1 + i as u64),
                name: None,
                balances: b.into_iter().map(|(k, v)| (k, U256::from(v))).collect(),
                gas_payer: None,
            })
            .collect();
        let wallets = wallets
            .into_iter()
            .enumerate()
            .map(|(i, (chain, priority, b, policy))| Wallet {
                chain,
                address: a(100 + i as u64),
                name: None,
                priority,
                balances: b.into_iter().map(|(k, v)| (k, U256::from(v))).collect(),
                policy: policy.into_iter().collect(),
            })
            .collect();
        PlanInput {
            chains: Map::from([
                (GNOSIS, GasParams::with_max_fee(U256::from(fee))),
                (
                    BASE,
                    GasParams {
                        l1_fee: U256::from(777),
                        ..GasParams::with_max_fee(U256::from(fee))
                    },
                ),
            ]),
            sources,
            wallets,
            in_flight: Vec::new(),
        }
    })
}

fn spent_per_source(p: &Plan) -> Map<(ChainId, Address, Asset), U256> {
    let mut m: Map<(ChainId, Address, Asset), U256> = Map::new();
    for t in &p.transfers {
        *m.entry((t.chain, t.from, t.asset)).or_default() += t.amount;
        *m.entry((t.chain, t.from, N)).or_default() += t.gas_reserved;
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn never_spends_more_than_a_source_holds_gas_included(inp in arb_input()) {
        let p = plan(&inp).unwrap();
        for ((chain, from, asset), spent) in spent_per_source(&p) {
            let s = inp.sources.iter().find(|s| s.chain == chain && s.address == from).unwrap();
            prop_assert!(spent <= s.balances.get(&asset), "{from} spends {spent} of {asset}");
        }
        for t in &p.transfers {
            prop_assert!(!t.amount.is_zero());
        }
    }

    #[test]
    fn a_plan_with_its_own_transfers_in_flight_plans_nothing(inp in arb_input()) {
        let first = plan(&inp).unwrap();
        let mut again = inp.clone();
        again.in_flight = first.transfers.clone();
        let second = plan(&again).unwrap();
        prop_assert!(second.transfers.is_empty(), "{:?}", second.transfers);
    }

    #[test]
    fn transfers_never_overshoot_the_target(inp in arb_input()) {
        let p = plan(&inp).unwrap();
        let mut got: Map<(ChainId, Address, Asset), U256> = Map::new();
        for t in &p.transfers {
            *got.entry((t.chain, t.to, t.asset)).or_default() += t.amount;
        }
        for ((chain, to, asset), total) in got {
            let w = inp.wallets.iter().find(|w| w.chain == chain && w.address == to).unwrap();
            let pol = w.policy[&asset];
            prop_assert!(w.balances.get(&asset) < pol.low);
            prop_assert!(w.balances.get(&asset) + total <= pol.target);
            if let Some(m) = pol.max_transfer {
                prop_assert!(total <= m);
            }
        }
    }

    #[test]
    fn output_does_not_depend_on_input_order(inp in arb_input(), seed in any::<u64>()) {
        let a = plan(&inp).unwrap();
        let mut shuffled = inp.clone();
        // Reverse and rotate the wallet list; the source list is a priority order and stays.
        shuffled.wallets.reverse();
        if !shuffled.wallets.is_empty() {
            let k = usize::try_from(seed % shuffled.wallets.len() as u64).unwrap();
            shuffled.wallets.rotate_left(k);
        }
        let b = plan(&shuffled).unwrap();
        prop_assert_eq!(&a, &b);
        // And the JSON form: keys written in reverse order parse to the same input and plan.
        let text = serde_json::to_string(&a).unwrap();
        prop_assert_eq!(text, serde_json::to_string(&b).unwrap());
    }
}

#[test]
fn json_key_order_does_not_matter() {
    let forward = r#"{"chains": {"gnosis": {"max_fee_per_gas": "1"}, "base": {"max_fee_per_gas": "2"}},
        "sources": [{"chain": "gnosis", "address": "0x0000000000000000000000000000000000000001",
                     "balances": {"0x0000000000000000000000000000000000000000": "100000", "0x000000000000000000000000000000000000abcd": "5"}}],
        "wallets": [{"chain": "gnosis", "address": "0x0000000000000000000000000000000000000064",
                     "policy": {"0x0000000000000000000000000000000000000000": {"low": "10", "target": "20"},
                                "0x000000000000000000000000000000000000abcd": {"low": "1", "target": "3"}}}]}"#;
    let backward = r#"{"wallets": [{"policy": {"0x000000000000000000000000000000000000abcd": {"target": "3", "low": "1"},
                                "0x0000000000000000000000000000000000000000": {"target": "20", "low": "10"}},
                     "address": "0x0000000000000000000000000000000000000064", "chain": "gnosis"}],
        "sources": [{"balances": {"0x000000000000000000000000000000000000abcd": "5", "0x0000000000000000000000000000000000000000": "100000"},
                     "address": "0x0000000000000000000000000000000000000001", "chain": "gnosis"}],
        "chains": {"base": {"max_fee_per_gas": "2"}, "gnosis": {"max_fee_per_gas": "1"}}}"#;
    let a = plan(&PlanInput::from_json_str(forward).unwrap()).unwrap();
    let b = plan(&PlanInput::from_json_str(backward).unwrap()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.transfers.len(), 2);
}
