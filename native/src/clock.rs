//! The one place the native adapter reads the clock. Everything else takes time as a value.

use tend_core::time::Timestamp;

/// Now, as milliseconds since the Unix epoch.
#[allow(clippy::disallowed_methods)] // the adapter's one clock read
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_ms(ms)
}

/// A monotonic instant, for measuring latencies.
#[allow(clippy::disallowed_methods)] // the adapter's one clock read
pub fn instant() -> std::time::Instant {
    std::time::Instant::now()
}
