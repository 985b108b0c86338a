//! RPC policy (`shared/domain/anchors.md` §2): classify every failure, decide whether and where to
//! retry, rank endpoints, open a circuit breaker on a failing one, exclude lagging heads, judge a
//! chain's head as stale, pace requests with a token bucket, and say how long answers may be
//! cached. Pure: the adapters (alloy natively, gloo-net in the browser) carry out the decisions.
//!
//! Classes and actions (anchors §2.5):
//!
//! | class | examples | action |
//! |---|---|---|
//! | transport | connect/reset/timeout, HTTP 5xx, a missing batch member | back off with jitter, fail over |
//! | rate limit | HTTP 429, −32005, vendor codes and texts, `Retry-After` | honour the hint (short: same endpoint; long: fail over) |
//! | node lag | "header not found", "request beyond head block" | fail over to an endpoint at or above the height |
//! | tx-semantic | nonce too low/high, already known, underpriced, insufficient funds | never retried: to the nonce planner |
//! | revert | code 3, "execution reverted" | returned to the caller at once |
//! | auth/config | HTTP 401, 403, 404, 410; method not found | the endpoint is benched; fail over |
//! | invalid | other 4xx, −32602, −32000 | returned to the caller |

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::health::{Backoff, FlapDetector};
use crate::nonce::{SendErrorClass, classify_send_error};
use crate::rng::Rng;
use crate::time::Timestamp;

/// The method that broadcasts a signed transaction.
pub const SEND_RAW: &str = "eth_sendRawTransaction";

/// A failed RPC call, as the transport saw it. JSON: tagged by `"failure"`, read tag first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum RpcFailure {
    /// No HTTP answer: connect error, reset, timeout.
    Transport {
        /// What happened (no URL, no secrets).
        message: String,
    },
    /// An HTTP status other than 200.
    Http {
        /// The status.
        status: u16,
        /// `Retry-After`, ms, if sent.
        retry_after_ms: Option<u64>,
    },
    /// A JSON-RPC error object.
    JsonRpc {
        /// `error.code`.
        code: i64,
        /// `error.message`.
        message: String,
        /// A vendor backoff hint (Infura `error.data.rate.backoff_seconds`), ms.
        retry_after_ms: Option<u64>,
    },
    /// A batch answer without this member, or a `null` result where one was required.
    MissingResponse,
}

impl std::fmt::Display for RpcFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport { message } => write!(f, "transport: {message}"),
            Self::Http {
                status,
                retry_after_ms: Some(ms),
            } => write!(f, "HTTP {status} (retry after {ms} ms)"),
            Self::Http {
                status,
                retry_after_ms: None,
            } => write!(f, "HTTP {status}"),
            Self::JsonRpc { code, message, .. } => write!(f, "JSON-RPC error {code}: {message}"),
            Self::MissingResponse => f.write_str("no answer for this request"),
        }
    }
}

/// What a failure means.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum RpcErrorClass {
    /// The request may not have been served: retry elsewhere.
    Transport,
    /// Slow down.
    RateLimit {
        /// The server's hint, ms.
        retry_after_ms: Option<u64>,
    },
    /// The endpoint is behind the requested height.
    NodeLag,
    /// A transaction-level rejection: never retried or failed over.
    TxSemantic {
        /// The nonce planner's class.
        send: SendErrorClass,
    },
    /// The call reverted: deterministic, returned to the caller.
    Revert,
    /// The endpoint refuses us (auth, wrong path, method missing): bench it.
    AuthConfig,
    /// The request itself is wrong: returned to the caller.
    Invalid,
}

const RATE_LIMIT_TEXTS: &[&str] = &[
    "rate limit",
    "rate exceeded",
    "too many requests",
    "credits limited",
    "request limit",
    "maximum number of concurrent requests",
    "daily request count exceeded",
    "exceeded its compute units",
    "capacity exceeded",
];

const NODE_LAG_TEXTS: &[&str] = &[
    "header not found",
    "request beyond head block",
    "unknown block",
    "block not found",
    "missing trie node",
];

/// Classifies a failure of a call to `method`.
pub fn classify(method: &str, failure: &RpcFailure) -> RpcErrorClass {
    match failure {
        RpcFailure::Transport { .. } | RpcFailure::MissingResponse => RpcErrorClass::Transport,
        RpcFailure::Http {
            status,
            retry_after_ms,
        } => match (*status, retry_after_ms) {
            (429, _) | (400..=599, Some(_)) => RpcErrorClass::RateLimit {
                retry_after_ms: *retry_after_ms,
            },
            (401 | 403 | 404 | 410, None) => RpcErrorClass::AuthConfig,
            (408 | 425 | 500 | 502..=504 | 506..=599, None) => RpcErrorClass::Transport,
            _ => RpcErrorClass::Invalid,
        },
        RpcFailure::JsonRpc {
            code,
            message,
            retry_after_ms,
        } => {
            let lower = message.to_ascii_lowercase();
            let has = |texts: &[&str]| texts.iter().any(|t| lower.contains(t));
            if *code == 3 || lower.contains("execution reverted") {
                return RpcErrorClass::Revert;
            }
            let vendor_rate_limit = matches!(*code, 429 | -32005 | 1008 | -32055)
                || (*code == -32016 && lower.contains("rate limit"))
                || (*code == -32012 && lower.contains("credits"))
                || (*code == -32007 && lower.contains("request limit reached"));
            if vendor_rate_limit || has(RATE_LIMIT_TEXTS) || retry_after_ms.is_some() {
                return RpcErrorClass::RateLimit {
                    retry_after_ms: *retry_after_ms,
                };
            }
            if has(NODE_LAG_TEXTS) {
                return RpcErrorClass::NodeLag;
            }
            let send = classify_send_error(Some(*code), message);
            if send != SendErrorClass::Unknown
                && (method == SEND_RAW || send != SendErrorClass::Busy)
            {
                return RpcErrorClass::TxSemantic { send };
            }
            match *code {
                -32601 => RpcErrorClass::AuthConfig,
                -32603 | -32002 => RpcErrorClass::Transport,
                _ => RpcErrorClass::Invalid,
            }
        }
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum RetryDecision {
    /// Try again after `after_ms`, on the same endpoint or another.
    Retry {
        /// Wait this long first, ms.
        after_ms: u64,
        /// Pick another endpoint.
        failover: bool,
    },
    /// Give the error to the caller.
    Fail,
}

/// The RPC knobs of one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct RpcPolicy {
    /// One request's timeout, ms.
    pub request_timeout_ms: u64,
    /// Tries per call, across endpoints (the first included).
    pub max_attempts: u32,
    /// The first retry delay, ms.
    pub backoff_initial_ms: u64,
    /// The largest retry delay, ms.
    pub backoff_max_ms: u64,
    /// Jitter, ± percent of the delay.
    pub jitter_percent: u8,
    /// A rate-limit hint up to this long is waited out on the same endpoint; longer fails over,
    /// ms.
    pub same_endpoint_wait_max_ms: u64,
    /// Hints are clamped to this, ms.
    pub retry_after_max_ms: u64,
    /// Failures within `breaker_window_ms` that open an endpoint's breaker.
    pub breaker_failures: u32,
    /// The breaker's window, ms.
    pub breaker_window_ms: u64,
    /// How long a breaker stays open the first time (doubles while trials fail), ms.
    pub breaker_open_ms: u64,
    /// The longest a breaker stays open, ms.
    pub breaker_open_max_ms: u64,
    /// Samples per endpoint for its score.
    pub score_window: u32,
    /// An endpoint this many blocks behind the best head is not used.
    pub max_head_lag_blocks: u64,
    /// A head block older than this makes the chain stale, ms.
    pub stale_head_ms: u64,
    /// Requests per second per endpoint (0 = unlimited).
    pub requests_per_second: u32,
    /// Burst size per endpoint.
    pub burst: u32,
}

impl RpcPolicy {
    /// Parses a policy from JSON text (every field optional). Adapters parse through here, so
    /// the wasm package holds one copy of this deserializer.
    pub fn from_json(text: &str) -> Result<Self, tend_json::read::Error> {
        tend_json::read::from_str(text)
    }
}

impl Default for RpcPolicy {
    fn default() -> Self {
        Self {
            request_timeout_ms: 10_000,
            max_attempts: 4,
            backoff_initial_ms: 100,
            backoff_max_ms: 2_000,
            jitter_percent: 20,
            same_endpoint_wait_max_ms: 2_000,
            retry_after_max_ms: 300_000,
            breaker_failures: 3,
            breaker_window_ms: 60_000,
            breaker_open_ms: 60_000,
            breaker_open_max_ms: 600_000,
            score_window: 10,
            max_head_lag_blocks: 10,
            stale_head_ms: 180_000,
            requests_per_second: 25,
            burst: 50,
        }
    }
}

/// `delay ± jitter%`, from the seeded generator.
pub fn jittered(delay_ms: u64, jitter_percent: u8, rng: &mut Rng) -> u64 {
    let p = u64::from(jitter_percent.min(100));
    let factor = 100 - p + rng.below(2 * p + 1);
    delay_ms.saturating_mul(factor) / 100
}

/// The decision after the `attempt`-th try (1-based) of `method` failed with `class`.
pub fn decide(
    policy: &RpcPolicy,
    class: RpcErrorClass,
    attempt: u32,
    rng: &mut Rng,
) -> RetryDecision {
    if attempt >= policy.max_attempts {
        return RetryDecision::Fail;
    }
    let backoff = || {
        let factor = 1u64
            .checked_shl(attempt.saturating_sub(1).min(63))
            .unwrap_or(u64::MAX);
        policy
            .backoff_initial_ms
            .saturating_mul(factor)
            .min(policy.backoff_max_ms)
    };
    match class {
        RpcErrorClass::TxSemantic { .. } | RpcErrorClass::Revert | RpcErrorClass::Invalid => {
            RetryDecision::Fail
        }
        RpcErrorClass::AuthConfig => RetryDecision::Retry {
            after_ms: 0,
            failover: true,
        },
        RpcErrorClass::RateLimit { retry_after_ms } => {
            let hint = retry_after_ms
                .unwrap_or_else(backoff)
                .min(policy.retry_after_max_ms);
            if hint <= policy.same_endpoint_wait_max_ms {
                RetryDecision::Retry {
                    after_ms: hint,
                    failover: false,
                }
            } else {
                RetryDecision::Retry {
                    after_ms: 0,
                    failover: true,
                }
            }
        }
        RpcErrorClass::Transport | RpcErrorClass::NodeLag => RetryDecision::Retry {
            after_ms: jittered(backoff(), policy.jitter_percent, rng),
            failover: true,
        },
    }
}

/// A token bucket in thousandths of a token, so refill stays integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct TokenBucket {
    per_second: u32,
    capacity_milli: u64,
    tokens_milli: u64,
    at: Timestamp,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_second` (0: unlimited).
    pub fn new(per_second: u32, burst: u32, now: Timestamp) -> Self {
        let capacity_milli = u64::from(burst.max(1)) * 1000;
        Self {
            per_second,
            capacity_milli,
            tokens_milli: capacity_milli,
            at: now,
        }
    }

    fn refill(&mut self, now: Timestamp) {
        let elapsed = now.since(self.at);
        self.at = self.at.max(now);
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(elapsed.saturating_mul(u64::from(self.per_second)))
            .min(self.capacity_milli);
    }

    /// Takes a token, or says how long until one is available, ms.
    pub fn take(&mut self, now: Timestamp) -> Result<(), u64> {
        if self.per_second == 0 {
            return Ok(());
        }
        self.refill(now);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            Ok(())
        } else {
            Err((1000 - self.tokens_milli).div_ceil(u64::from(self.per_second)))
        }
    }

    /// How long until a token is available (0 = now), ms, without taking it.
    pub fn wait_ms(&self, now: Timestamp) -> u64 {
        let mut b = *self;
        match b.take(now) {
            Ok(()) => 0,
            Err(ms) => ms,
        }
    }
}

/// An endpoint's circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "breaker", rename_all = "snake_case")]
pub enum Breaker {
    /// In use.
    Closed,
    /// Benched until `until`.
    Open {
        /// When one trial request may go.
        until: Timestamp,
    },
    /// One trial request is allowed; its result closes or reopens the breaker.
    HalfOpen,
}

/// The state of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Endpoint {
    samples: VecDeque<(bool, u64)>,
    failures: FlapDetector,
    open_backoff: Backoff,
    breaker: Breaker,
    head: Option<u64>,
    bucket: TokenBucket,
}

/// An endpoint's standing, for status pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct EndpointStatus {
    /// Its index in the configured list.
    pub index: usize,
    /// Score in basis points (0–10 000): 70 % success rate, 30 % latency.
    pub score_bps: u32,
    /// The breaker.
    pub breaker: Breaker,
    /// Its last head.
    pub head: Option<u64>,
    /// Blocks behind the best head.
    pub lag: u64,
}

/// Why no endpoint can take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "wait", rename_all = "snake_case")]
pub enum Selection {
    /// Use this endpoint.
    Use {
        /// Its index.
        index: usize,
    },
    /// Every breaker is open, or every bucket empty: wait until `until`.
    Wait {
        /// When to try again.
        until: Timestamp,
        /// Every breaker is open (else: rate limited).
        all_open: bool,
    },
}

/// The endpoints of one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct EndpointSet {
    policy: RpcPolicy,
    endpoints: Vec<Endpoint>,
    /// The newest head block seen and its timestamp (seconds), for staleness.
    best_head: Option<(u64, u64)>,
    /// The next endpoint [`EndpointSet::head_check`] considers.
    check_next: usize,
}

impl EndpointSet {
    /// `count` endpoints, all closed.
    pub fn new(count: usize, policy: RpcPolicy, now: Timestamp) -> Self {
        let endpoints = (0..count)
            .map(|_| Endpoint {
                samples: VecDeque::new(),
                failures: FlapDetector::new(policy.breaker_window_ms, policy.breaker_failures),
                open_backoff: Backoff::new(policy.breaker_open_ms, policy.breaker_open_max_ms),
                breaker: Breaker::Closed,
                head: None,
                bucket: TokenBucket::new(policy.requests_per_second, policy.burst, now),
            })
            .collect();
        Self {
            policy,
            endpoints,
            best_head: None,
            check_next: 0,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &RpcPolicy {
        &self.policy
    }

    /// How many endpoints.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    fn score(e: &Endpoint) -> u32 {
        let n = e.samples.len() as u64;
        if n == 0 {
            return 0;
        }
        let ok = e.samples.iter().filter(|s| s.0).count() as u64;
        let (lat_sum, lat_n) = e
            .samples
            .iter()
            .filter(|s| s.0)
            .fold((0u64, 0u64), |(s, c), x| (s.saturating_add(x.1), c + 1));
        let success_bps = ok * 10_000 / n;
        let latency_bps = lat_sum
            .checked_div(lat_n)
            .map_or(0, |avg| 10_000 * 1_000 / avg.saturating_add(1_000));
        u32::try_from((7 * success_bps + 3 * latency_bps) / 10).unwrap_or(u32::MAX)
    }

    fn lag(&self, e: &Endpoint) -> u64 {
        match (self.best_head, e.head) {
            (Some((best, _)), Some(h)) => best.saturating_sub(h),
            (Some(_), None) | (None, _) => 0,
        }
    }

    /// An endpoint other than `serving` to read the head from as a cross-check, taking a token
    /// from its bucket (round-robin; open breakers and empty buckets skipped). Without it, an
    /// endpoint that stopped syncing but answers fast would keep every request and its lag
    /// would never show. `None` with a single endpoint.
    pub fn head_check(&mut self, now: Timestamp, serving: usize) -> Option<usize> {
        let n = self.endpoints.len();
        for k in 0..n {
            let i = (self.check_next + k) % n;
            let e = &mut self.endpoints[i];
            if i == serving || matches!(e.breaker, Breaker::Open { .. }) {
                continue;
            }
            if e.bucket.take(now).is_ok() {
                self.check_next = (i + 1) % n;
                return Some(i);
            }
        }
        None
    }

    /// Every endpoint's standing.
    pub fn status(&self) -> Vec<EndpointStatus> {
        self.endpoints
            .iter()
            .enumerate()
            .map(|(index, e)| EndpointStatus {
                index,
                score_bps: Self::score(e),
                breaker: e.breaker,
                head: e.head,
                lag: self.lag(e),
            })
            .collect()
    }

    /// The endpoint for the next request (excluding `avoid`, the one that just failed, when
    /// another exists): breakers closed or due a trial, heads within the lag limit, a token in
    /// the bucket; the best score first, then the configured order. Takes the token.
    pub fn select(&mut self, now: Timestamp, avoid: Option<usize>) -> Selection {
        for e in &mut self.endpoints {
            if let Breaker::Open { until } = e.breaker
                && now >= until
            {
                e.breaker = Breaker::HalfOpen;
            }
        }
        // One endpoint (most chains): every pass below has it as its only candidate unless its
        // breaker is open, so the passes come down to its bucket (and nothing is allocated).
        if let [only] = self.endpoints.as_mut_slice()
            && !matches!(only.breaker, Breaker::Open { .. })
        {
            return match only.bucket.take(now) {
                Ok(()) => Selection::Use { index: 0 },
                Err(ms) => Selection::Wait {
                    until: now.plus_ms(ms),
                    all_open: false,
                },
            };
        }
        // Best score first, then the configured order: one key per endpoint, (u32::MAX - score)
        // above the index, sorted as plain integers.
        let mut keys: Vec<u128> = self
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (u128::from(u32::MAX - Self::score(e)) << 64) | i as u128)
            .collect();
        keys.sort_unstable();
        let order: Vec<usize> = keys
            .into_iter()
            .map(|k| usize::try_from(k & u128::from(u64::MAX)).unwrap_or(usize::MAX))
            .collect();
        // Passes from strict to relaxed: fresh head and not the one that just failed; any head;
        // then the one that just failed too. The first pass with a candidate decides.
        for pass in 0..3 {
            let mut any = false;
            let mut soonest = u64::MAX;
            for &i in &order {
                let e = &self.endpoints[i];
                if matches!(e.breaker, Breaker::Open { .. })
                    || (pass == 0 && self.lag(e) > self.policy.max_head_lag_blocks)
                    || (pass < 2 && Some(i) == avoid)
                {
                    continue;
                }
                any = true;
                match self.endpoints[i].bucket.take(now) {
                    Ok(()) => return Selection::Use { index: i },
                    Err(ms) => soonest = soonest.min(ms),
                }
            }
            if any {
                return Selection::Wait {
                    until: now.plus_ms(soonest),
                    all_open: false,
                };
            }
        }
        let until = self
            .endpoints
            .iter()
            .filter_map(|e| match e.breaker {
                Breaker::Open { until } => Some(until),
                Breaker::Closed | Breaker::HalfOpen => None,
            })
            .min()
            .unwrap_or(now);
        Selection::Wait {
            until,
            all_open: true,
        }
    }

    fn sample(&mut self, index: usize, ok: bool, latency_ms: u64) {
        let window = self.policy.score_window.max(1) as usize;
        if let Some(e) = self.endpoints.get_mut(index) {
            e.samples.push_back((ok, latency_ms));
            while e.samples.len() > window {
                e.samples.pop_front();
            }
        }
    }

    /// A request on `index` succeeded.
    pub fn success(&mut self, index: usize, latency_ms: u64) {
        self.sample(index, true, latency_ms);
        if let Some(e) = self.endpoints.get_mut(index) {
            e.breaker = Breaker::Closed;
            e.open_backoff.reset();
        }
    }

    /// A request on `index` failed with `class`. Failures that say nothing about the endpoint
    /// (reverts, tx-level rejections, invalid requests) do not count against it. Returns whether
    /// the breaker opened.
    pub fn failure(&mut self, index: usize, class: RpcErrorClass, now: Timestamp) -> bool {
        let counts = match class {
            RpcErrorClass::Transport
            | RpcErrorClass::RateLimit { .. }
            | RpcErrorClass::NodeLag
            | RpcErrorClass::AuthConfig => true,
            RpcErrorClass::TxSemantic { .. } | RpcErrorClass::Revert | RpcErrorClass::Invalid => {
                false
            }
        };
        if !counts {
            return false;
        }
        self.sample(index, false, 0);
        let Some(e) = self.endpoints.get_mut(index) else {
            return false;
        };
        let trip = match e.breaker {
            Breaker::HalfOpen => true,
            Breaker::Closed => matches!(class, RpcErrorClass::AuthConfig) || e.failures.record(now),
            Breaker::Open { .. } => false,
        };
        if trip {
            let mut open = e.open_backoff.next_delay();
            if let RpcErrorClass::RateLimit {
                retry_after_ms: Some(ms),
            } = class
            {
                open = open.max(ms.min(self.policy.retry_after_max_ms));
            }
            e.breaker = Breaker::Open {
                until: now.plus_ms(open),
            };
            e.failures =
                FlapDetector::new(self.policy.breaker_window_ms, self.policy.breaker_failures);
        }
        trip
    }

    /// `index` reports head block `number` with block timestamp `block_time_secs`.
    pub fn observe_head(&mut self, index: usize, number: u64, block_time_secs: u64) {
        if let Some(e) = self.endpoints.get_mut(index) {
            e.head = Some(e.head.map_or(number, |h| h.max(number)));
        }
        if self.best_head.is_none_or(|(n, _)| number > n) {
            self.best_head = Some((number, block_time_secs));
        }
    }

    /// The best head seen: (number, block timestamp in seconds).
    pub fn best_head(&self) -> Option<(u64, u64)> {
        self.best_head
    }

    /// The chain's verdict at `now`.
    pub fn chain_verdict(&self, now: Timestamp) -> ChainVerdict {
        match self.best_head {
            None => ChainVerdict::Unknown,
            Some((number, secs)) => {
                let age_ms = now.since(Timestamp::from_secs(secs));
                if age_ms > self.policy.stale_head_ms {
                    ChainVerdict::Stale { number, age_ms }
                } else {
                    ChainVerdict::Fresh { number }
                }
            }
        }
    }
}

/// Whether a chain's head moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(tag = "chain", rename_all = "snake_case")]
pub enum ChainVerdict {
    /// No head seen yet.
    Unknown,
    /// The best head is recent.
    Fresh {
        /// Its number.
        number: u64,
    },
    /// The best head is older than `stale_head_ms`: the chain halted or every endpoint is
    /// stuck. Funding waits.
    Stale {
        /// Its number.
        number: u64,
        /// Its age, ms.
        age_ms: u64,
    },
}

/// How long answers may be reused, per method, ms (`0`: never; `u64::MAX`: forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
#[serde(default, deny_unknown_fields)]
pub struct CachePolicy {
    /// `eth_chainId`.
    pub chain_id_ms: u64,
    /// `eth_blockNumber`.
    pub block_number_ms: u64,
    /// `eth_feeHistory`.
    pub fee_history_ms: u64,
    /// Balances at `latest`.
    pub balance_ms: u64,
    /// Transaction counts (never cached: the nonce planner needs them fresh).
    pub transaction_count_ms: u64,
    /// A receipt that was found.
    pub receipt_ms: u64,
    /// Calls and balances pinned to a block hash.
    pub pinned_ms: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            chain_id_ms: u64::MAX,
            block_number_ms: 1_000,
            fee_history_ms: 12_000,
            balance_ms: 5_000,
            transaction_count_ms: 0,
            receipt_ms: 0,
            pinned_ms: u64::MAX,
        }
    }
}

impl CachePolicy {
    /// The lifetime of an answer to `method`.
    pub fn ttl_ms(&self, method: &str) -> u64 {
        match method {
            "eth_chainId" => self.chain_id_ms,
            "eth_blockNumber" => self.block_number_ms,
            "eth_feeHistory" => self.fee_history_ms,
            "eth_getBalance" | "eth_call" => self.balance_ms,
            "eth_getTransactionReceipt" => self.receipt_ms,
            "eth_getTransactionCount" => self.transaction_count_ms,
            _ => 0,
        }
    }
}
