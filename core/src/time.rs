//! Time as an input: integer milliseconds since the Unix epoch.
//!
//! The core never reads a clock. Every input carries a [`Timestamp`]; durations are plain `u64`
//! milliseconds in fields named `…_ms`. Arithmetic saturates, so a hostile or corrupt timestamp
//! can never panic or wrap.

use serde::{Deserialize, Serialize};
use tend_derive::{FromJson, ToJson};

/// Milliseconds since the Unix epoch.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    ToJson,
    Deserialize,
    FromJson,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The epoch.
    pub const ZERO: Self = Self(0);
    /// The far future: "never" as a deadline.
    pub const MAX: Self = Self(u64::MAX);

    /// The timestamp from milliseconds.
    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    /// The timestamp from whole seconds (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// This time plus `ms` milliseconds (saturating).
    #[must_use]
    pub const fn plus_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`; 0 when `earlier` is later.
    pub const fn since(self, earlier: Self) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// A monotonic view of input time: time that goes backwards is ignored, never trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToJson, Deserialize, FromJson)]
pub struct Clock {
    now: Timestamp,
}

impl Clock {
    /// A clock that starts at `now`.
    pub const fn new(now: Timestamp) -> Self {
        Self { now }
    }

    /// Advances to `t` if it is later; returns the clock's time afterwards.
    pub fn observe(&mut self, t: Timestamp) -> Timestamp {
        if t > self.now {
            self.now = t;
        }
        self.now
    }

    /// The latest time observed.
    pub const fn now(&self) -> Timestamp {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturating_arithmetic() {
        assert_eq!(Timestamp::MAX.plus_ms(1), Timestamp::MAX);
        assert_eq!(Timestamp(5).since(Timestamp(9)), 0);
        assert_eq!(Timestamp(9).since(Timestamp(5)), 4);
        assert_eq!(Timestamp::from_secs(u64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp(1_234).to_string(), "1.234s");
    }

    #[test]
    fn clock_ignores_time_going_backwards() {
        let mut c = Clock::new(Timestamp(100));
        assert_eq!(c.observe(Timestamp(50)), Timestamp(100));
        assert_eq!(c.observe(Timestamp(150)), Timestamp(150));
        assert_eq!(c.now(), Timestamp(150));
    }
}
