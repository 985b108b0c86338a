//! RPC policy: failure classes and decisions by table, breakers, ranking, head lag, rate limits.

use proptest::prelude::*;
use tend_core::nonce::SendErrorClass;
use tend_core::rng::Rng;
use tend_core::rpc::{
    Breaker, CachePolicy, ChainVerdict, EndpointSet, RetryDecision, RpcErrorClass, RpcFailure,
    RpcPolicy, SEND_RAW, Selection, TokenBucket, classify, decide, jittered,
};
use tend_core::time::Timestamp;

fn json(code: i64, message: &str) -> RpcFailure {
    RpcFailure::JsonRpc {
        code,
        message: message.into(),
        retry_after_ms: None,
    }
}

fn http(status: u16, retry_after_ms: Option<u64>) -> RpcFailure {
    RpcFailure::Http {
        status,
        retry_after_ms,
    }
}

#[test]
fn failure_classes() {
    use RpcErrorClass as C;
    let rl = |ms| C::RateLimit { retry_after_ms: ms };
    let table: Vec<(&str, RpcFailure, C)> = vec![
        (
            "eth_call",
            RpcFailure::Transport {
                message: "connection refused".into(),
            },
            C::Transport,
        ),
        ("eth_call", RpcFailure::MissingResponse, C::Transport),
        ("eth_call", http(429, None), rl(None)),
        ("eth_call", http(503, Some(2_000)), rl(Some(2_000))),
        ("eth_call", http(502, None), C::Transport),
        ("eth_call", http(408, None), C::Transport),
        ("eth_call", http(401, None), C::AuthConfig),
        ("eth_call", http(403, None), C::AuthConfig),
        ("eth_call", http(404, None), C::AuthConfig),
        ("eth_call", http(400, None), C::Invalid),
        ("eth_call", http(501, None), C::Invalid),
        (
            "eth_call",
            json(3, "execution reverted: user error"),
            C::Revert,
        ),
        ("eth_call", json(-32000, "execution reverted"), C::Revert),
        (
            "eth_call",
            json(-32005, "project ID request rate exceeded"),
            rl(None),
        ),
        ("eth_call", json(429, "Too Many Requests"), rl(None)),
        ("eth_call", json(-32016, "over rate limit"), rl(None)),
        (
            "eth_call",
            json(-32012, "credits limited to 500/s"),
            rl(None),
        ),
        (
            "eth_call",
            json(-32007, "100/second request limit reached"),
            rl(None),
        ),
        ("eth_call", json(-32055, "internal error"), rl(None)),
        ("eth_call", json(1008, "concurrency"), rl(None)),
        (
            "eth_call",
            json(-32000, "daily request count exceeded, request rate limited"),
            rl(None),
        ),
        (
            "eth_call",
            RpcFailure::JsonRpc {
                code: -32005,
                message: "limit".into(),
                retry_after_ms: Some(4_000),
            },
            rl(Some(4_000)),
        ),
        (
            "eth_getBalance",
            json(-32000, "header not found"),
            C::NodeLag,
        ),
        (
            "eth_getBlockByNumber",
            json(-32000, "request beyond head block"),
            C::NodeLag,
        ),
        (
            SEND_RAW,
            json(-32000, "nonce too low"),
            C::TxSemantic {
                send: SendErrorClass::NonceTooLow,
            },
        ),
        (
            SEND_RAW,
            json(-32000, "already known"),
            C::TxSemantic {
                send: SendErrorClass::AlreadyKnown,
            },
        ),
        (
            SEND_RAW,
            json(-32000, "replacement transaction underpriced"),
            C::TxSemantic {
                send: SendErrorClass::ReplacementUnderpriced,
            },
        ),
        (
            SEND_RAW,
            json(-32000, "insufficient funds for gas * price + value"),
            C::TxSemantic {
                send: SendErrorClass::InsufficientFunds,
            },
        ),
        (
            SEND_RAW,
            json(-32000, "txpool is full"),
            C::TxSemantic {
                send: SendErrorClass::Busy,
            },
        ),
        (
            SEND_RAW,
            json(-32603, "nonce too high"),
            C::TxSemantic {
                send: SendErrorClass::NonceTooHigh,
            },
        ),
        (
            "eth_call",
            json(-32601, "the method eth_feeHistory does not exist"),
            C::AuthConfig,
        ),
        ("eth_call", json(-32603, "internal error"), C::Transport),
        ("eth_call", json(-32602, "invalid argument 0"), C::Invalid),
        ("eth_call", json(-32000, "something odd"), C::Invalid),
    ];
    for (method, failure, class) in table {
        assert_eq!(classify(method, &failure), class, "{method} {failure:?}");
    }
}

#[test]
fn decisions() {
    let p = RpcPolicy::default();
    let mut rng = Rng::new(1);
    let d = |c, attempt, rng: &mut Rng| decide(&p, c, attempt, rng);
    // Never retried.
    for c in [
        RpcErrorClass::Revert,
        RpcErrorClass::Invalid,
        RpcErrorClass::TxSemantic {
            send: SendErrorClass::NonceTooLow,
        },
    ] {
        assert_eq!(d(c, 1, &mut rng), RetryDecision::Fail);
    }
    // A short hint waits on the same endpoint; a long one fails over at once.
    assert_eq!(
        d(
            RpcErrorClass::RateLimit {
                retry_after_ms: Some(1_500)
            },
            1,
            &mut rng
        ),
        RetryDecision::Retry {
            after_ms: 1_500,
            failover: false
        }
    );
    assert_eq!(
        d(
            RpcErrorClass::RateLimit {
                retry_after_ms: Some(60_000)
            },
            1,
            &mut rng
        ),
        RetryDecision::Retry {
            after_ms: 0,
            failover: true
        }
    );
    assert_eq!(
        d(RpcErrorClass::AuthConfig, 1, &mut rng),
        RetryDecision::Retry {
            after_ms: 0,
            failover: true
        }
    );
    // Transport: jittered exponential backoff with failover, until the attempts run out.
    let RetryDecision::Retry {
        after_ms,
        failover: true,
    } = d(RpcErrorClass::Transport, 3, &mut rng)
    else {
        panic!()
    };
    assert!((320..=480).contains(&after_ms), "{after_ms}");
    assert_eq!(
        d(RpcErrorClass::Transport, 4, &mut rng),
        RetryDecision::Fail
    );
}

#[test]
fn the_breaker_opens_after_three_failures_in_a_minute_and_recovers() {
    let p = RpcPolicy {
        requests_per_second: 0,
        ..RpcPolicy::default()
    };
    let t0 = Timestamp::from_secs(1_000);
    let mut set = EndpointSet::new(2, p, t0);
    assert!(!set.failure(0, RpcErrorClass::Transport, t0));
    assert!(
        !set.failure(0, RpcErrorClass::Transport, t0.plus_ms(70_000)),
        "the first fell out of the window"
    );
    assert!(!set.failure(0, RpcErrorClass::Transport, t0.plus_ms(80_000)));
    assert!(set.failure(0, RpcErrorClass::Transport, t0.plus_ms(90_000)));
    let opened = t0.plus_ms(90_000);
    assert_eq!(
        set.status()[0].breaker,
        Breaker::Open {
            until: opened.plus_ms(60_000)
        }
    );
    // Requests go to the other endpoint meanwhile.
    assert_eq!(set.select(opened, None), Selection::Use { index: 1 });
    // After the open period one trial; it fails: open twice as long.
    assert_eq!(
        set.select(opened.plus_ms(60_000), Some(1)),
        Selection::Use { index: 0 }
    );
    assert_eq!(set.status()[0].breaker, Breaker::HalfOpen);
    assert!(set.failure(0, RpcErrorClass::Transport, opened.plus_ms(60_000)));
    assert_eq!(
        set.status()[0].breaker,
        Breaker::Open {
            until: opened.plus_ms(180_000)
        }
    );
    // Trial succeeds: closed, and the next opening starts from the first period again.
    set.select(opened.plus_ms(180_000), Some(1));
    set.success(0, 20);
    assert_eq!(set.status()[0].breaker, Breaker::Closed);
    // Errors that say nothing about the endpoint never count.
    for _ in 0..10 {
        assert!(!set.failure(1, RpcErrorClass::Revert, opened));
    }
    assert_eq!(set.status()[1].breaker, Breaker::Closed);
}

#[test]
fn all_open_waits_for_the_first_trial() {
    let p = RpcPolicy {
        requests_per_second: 0,
        ..RpcPolicy::default()
    };
    let t0 = Timestamp::from_secs(10);
    let mut set = EndpointSet::new(1, p, t0);
    set.failure(0, RpcErrorClass::AuthConfig, t0);
    assert_eq!(
        set.select(t0, None),
        Selection::Wait {
            until: t0.plus_ms(60_000),
            all_open: true
        }
    );
    let mut empty = EndpointSet::new(0, p, t0);
    assert!(empty.is_empty());
    assert!(matches!(
        empty.select(t0, None),
        Selection::Wait { all_open: true, .. }
    ));
}

#[test]
fn ranking_prefers_success_then_speed() {
    let p = RpcPolicy {
        requests_per_second: 0,
        ..RpcPolicy::default()
    };
    let t0 = Timestamp::from_secs(10);
    let mut set = EndpointSet::new(3, p, t0);
    for _ in 0..10 {
        set.success(0, 2_000);
        set.success(1, 50);
        set.success(2, 10);
    }
    set.failure(2, RpcErrorClass::Transport, t0);
    set.failure(2, RpcErrorClass::Transport, t0.plus_ms(61_000));
    let s = set.status();
    assert!(s[1].score_bps > s[0].score_bps);
    assert!(s[1].score_bps > s[2].score_bps, "{s:?}");
    assert_eq!(set.select(t0, None), Selection::Use { index: 1 });
    assert_eq!(set.select(t0, Some(1)), Selection::Use { index: 2 });
}

#[test]
fn a_lagging_endpoint_is_skipped_and_a_stale_chain_is_seen() {
    let p = RpcPolicy {
        requests_per_second: 0,
        ..RpcPolicy::default()
    };
    let t0 = Timestamp::from_secs(1_000);
    let mut set = EndpointSet::new(2, p, t0);
    set.success(0, 10);
    set.success(1, 500);
    set.observe_head(0, 100, 990);
    set.observe_head(1, 120, 998);
    assert_eq!(set.status()[0].lag, 20);
    assert_eq!(set.select(t0, None), Selection::Use { index: 1 });
    // Only the lagging one left: used rather than nothing.
    set.failure(1, RpcErrorClass::AuthConfig, t0);
    assert_eq!(set.select(t0, None), Selection::Use { index: 0 });
    assert_eq!(set.chain_verdict(t0), ChainVerdict::Fresh { number: 120 });
    assert_eq!(
        set.chain_verdict(Timestamp::from_secs(1_200)),
        ChainVerdict::Stale {
            number: 120,
            age_ms: 202_000
        }
    );
    assert_eq!(
        EndpointSet::new(1, p, t0).chain_verdict(t0),
        ChainVerdict::Unknown
    );
}

#[test]
fn token_bucket_paces() {
    let t0 = Timestamp::from_secs(5);
    let mut b = TokenBucket::new(10, 2, t0);
    assert_eq!(b.take(t0), Ok(()));
    assert_eq!(b.take(t0), Ok(()));
    assert_eq!(b.take(t0), Err(100));
    assert_eq!(b.wait_ms(t0.plus_ms(50)), 50);
    assert_eq!(b.take(t0.plus_ms(100)), Ok(()));
    // Refill never exceeds the burst.
    assert_eq!(b.take(t0.plus_ms(100_000)), Ok(()));
    assert_eq!(b.take(t0.plus_ms(100_000)), Ok(()));
    assert!(b.take(t0.plus_ms(100_000)).is_err());
    // Time going backwards neither refills nor panics.
    assert!(b.take(t0).is_err());
    let mut unlimited = TokenBucket::new(0, 1, t0);
    for _ in 0..1000 {
        assert_eq!(unlimited.take(t0), Ok(()));
    }
}

#[test]
fn rate_limited_endpoints_make_the_caller_wait() {
    let p = RpcPolicy {
        requests_per_second: 1,
        burst: 1,
        ..RpcPolicy::default()
    };
    let t0 = Timestamp::from_secs(5);
    let mut set = EndpointSet::new(1, p, t0);
    assert_eq!(set.select(t0, None), Selection::Use { index: 0 });
    assert_eq!(
        set.select(t0, None),
        Selection::Wait {
            until: t0.plus_ms(1_000),
            all_open: false
        }
    );
}

#[test]
fn cache_lifetimes() {
    let c = CachePolicy::default();
    assert_eq!(c.ttl_ms("eth_chainId"), u64::MAX);
    assert_eq!(c.ttl_ms("eth_getTransactionCount"), 0);
    assert_eq!(c.ttl_ms("eth_sendRawTransaction"), 0);
    assert_eq!(c.ttl_ms("eth_feeHistory"), 12_000);
}

proptest! {
    #[test]
    fn classification_never_panics(method in ".{0,20}", code in any::<i64>(), message in ".{0,80}", status in any::<u16>(), ra in proptest::option::of(any::<u64>())) {
        let _ = classify(&method, &json(code, &message));
        let _ = classify(&method, &http(status, ra));
        let _ = classify(&method, &RpcFailure::JsonRpc { code, message, retry_after_ms: ra });
    }

    #[test]
    fn jitter_stays_within_bounds(delay in 0u64..10_000_000, p in 0u8..=100, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let j = jittered(delay, p, &mut rng);
        let p = u64::from(p);
        prop_assert!(j >= delay * (100 - p) / 100);
        prop_assert!(j <= delay * (100 + p) / 100);
    }

    #[test]
    fn decisions_respect_the_attempt_limit(attempt in 0u32..10, seed in any::<u64>(), ra in proptest::option::of(0u64..u64::MAX)) {
        let p = RpcPolicy::default();
        let mut rng = Rng::new(seed);
        for c in [RpcErrorClass::Transport, RpcErrorClass::NodeLag, RpcErrorClass::AuthConfig, RpcErrorClass::RateLimit { retry_after_ms: ra }] {
            match decide(&p, c, attempt, &mut rng) {
                RetryDecision::Fail => prop_assert!(attempt >= p.max_attempts),
                RetryDecision::Retry { after_ms, .. } => {
                    prop_assert!(attempt < p.max_attempts);
                    prop_assert!(after_ms <= p.retry_after_max_ms);
                }
            }
        }
    }
}
