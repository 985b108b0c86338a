//! The counters verdicts are made of, reused for RPC endpoints and chains in [`crate::rpc`]:
//! [`Hysteresis`] (consecutive failure and success thresholds), [`Backoff`] (capped exponential
//! delays) and [`FlapDetector`] (a sliding window of restarts).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

use crate::time::Timestamp;

/// Consecutive-failure and consecutive-success thresholds with hysteresis: `up` until
/// `failure_threshold` failures in a row, then `down` until `success_threshold` successes in a
/// row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Hysteresis {
    /// Failures in a row that turn it down (at least 1).
    pub failure_threshold: u32,
    /// Successes in a row that turn it up again (at least 1).
    pub success_threshold: u32,
    failures: u32,
    successes: u32,
    up: bool,
}

impl Hysteresis {
    /// Starts up, with no streak.
    pub fn new(failure_threshold: u32, success_threshold: u32) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            success_threshold: success_threshold.max(1),
            failures: 0,
            successes: 0,
            up: true,
        }
    }

    /// Starts down: it must earn `success_threshold` successes first.
    pub fn new_down(failure_threshold: u32, success_threshold: u32) -> Self {
        Self {
            up: false,
            ..Self::new(failure_threshold, success_threshold)
        }
    }

    /// Records one sample; returns whether it is up afterwards.
    pub fn record(&mut self, ok: bool) -> bool {
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if !self.up && self.successes >= self.success_threshold {
                self.up = true;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.up && self.failures >= self.failure_threshold {
                self.up = false;
            }
        }
        self.up
    }

    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Failures in a row now.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Successes in a row now.
    pub fn successes(&self) -> u32 {
        self.successes
    }
}

/// Exponential backoff: `initial × 2^attempt`, capped, reset by [`Backoff::reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Backoff {
    /// The first delay, ms.
    pub initial_ms: u64,
    /// The largest delay, ms.
    pub max_ms: u64,
    attempt: u32,
}

impl Backoff {
    /// A backoff at attempt 0.
    pub const fn new(initial_ms: u64, max_ms: u64) -> Self {
        Self {
            initial_ms,
            max_ms,
            attempt: 0,
        }
    }

    /// The next delay; the one after it is twice as long (up to the cap).
    pub fn next_delay(&mut self) -> u64 {
        let d = self.peek();
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    /// The next delay without counting it.
    pub fn peek(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt.min(63)).unwrap_or(u64::MAX);
        self.initial_ms.saturating_mul(factor).min(self.max_ms)
    }

    /// Back to the first delay.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Delays taken since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// Counts events in a sliding time window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct FlapDetector {
    /// The window, ms.
    pub window_ms: u64,
    /// Events in the window at which it trips.
    pub max_events: u32,
    events: VecDeque<Timestamp>,
}

impl FlapDetector {
    /// A detector that trips at `max_events` events within `window_ms`.
    pub fn new(window_ms: u64, max_events: u32) -> Self {
        Self {
            window_ms,
            max_events,
            events: VecDeque::new(),
        }
    }

    /// Records an event at `now`; returns whether the window now holds `max_events` or more.
    pub fn record(&mut self, now: Timestamp) -> bool {
        self.events.push_back(now);
        self.count(now) >= self.max_events
    }

    /// Events within the window ending at `now` (older ones are forgotten).
    pub fn count(&mut self, now: Timestamp) -> u32 {
        while self
            .events
            .front()
            .is_some_and(|t| now.since(*t) >= self.window_ms)
        {
            self.events.pop_front();
        }
        u32::try_from(self.events.len()).unwrap_or(u32::MAX)
    }
}
