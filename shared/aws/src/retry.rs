//! Retry timing, the one helper every adapter uses: [`Backoff`] (attempts, and a full-jitter
//! exponential delay before each retry) and [`retry_after`] (an HTTP `Retry-After` in seconds,
//! clamped to a maximum).
//!
//! Callers: the DynamoDB read-modify-write race (`dynamo_store`), Slack announcements
//! (`slack::delivery`, bounded by a deadline), the Slack user-group lookup and `response_url`
//! replies (`slack::{directory, replies}`) and the weekly report's webhook (`report::webhook`).
//!
//! It is not a retry loop: each caller decides what is worth retrying and whether a deadline
//! applies; this module only says how many tries there are and how long to wait between them.
//! The AWS SDK clients keep their own retry configuration (`config`), untouched by this.

use std::time::Duration;

/// How many times to try, and how long to wait before each retry.
///
/// Retry `n` (1-based: retry 1 comes before the second attempt) waits a random time in
/// `1 ms ..= min(first × 2^(n-1), cap)` ("full jitter"), so callers that failed together do not
/// retry in lockstep. A ceiling below 1 ms waits exactly the ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait; it doubles with each further retry.
    pub first: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
    /// Attempts in all, the first included (at least 1 is always made).
    pub attempts: u32,
}

impl Backoff {
    pub const fn new(first: Duration, cap: Duration, attempts: u32) -> Self {
        Self {
            first,
            cap,
            attempts,
        }
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.attempts
    }

    /// The longest wait before retry `retry` (1-based): `min(first × 2^(retry-1), cap)`;
    /// zero for retry 0 (the first attempt does not wait).
    pub fn ceiling(&self, retry: u32) -> Duration {
        if retry == 0 {
            return Duration::ZERO;
        }
        let doublings = (retry - 1).min(31);
        self.first.saturating_mul(1u32 << doublings).min(self.cap)
    }

    /// A random wait before retry `retry` (1-based), within [`Backoff::ceiling`].
    pub fn delay(&self, retry: u32) -> Duration {
        self.delay_from(retry, rand::random::<f64>())
    }

    /// The wait before retry `retry` for a uniform random `unit` in `[0, 1)` (values outside
    /// are clamped): `1 ms + unit × (ceiling − 1 ms)`, or the ceiling itself when it is under
    /// 1 ms. Deterministic, for tests.
    pub fn delay_from(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(retry);
        let floor = Duration::from_millis(1);
        if ceiling <= floor {
            return ceiling;
        }
        let unit = if unit.is_nan() {
            0.0
        } else {
            unit.clamp(0.0, 1.0)
        };
        let spread = (ceiling - floor).mul_f64(unit);
        (floor + spread).min(ceiling)
    }

    /// Sleeps before attempt `attempt` (0-based): nothing before the first, then
    /// [`Backoff::delay`]`(attempt)`.
    pub async fn pause_before(&self, attempt: u32) {
        if attempt > 0 {
            tokio::time::sleep(self.delay(attempt)).await;
        }
    }
}

/// An HTTP `Retry-After` given in whole seconds (the form Slack sends), clamped to `max`;
/// `None` when absent or not a number of seconds (an HTTP date is not honoured).
pub fn retry_after(value: Option<&str>, max: Duration) -> Option<Duration> {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = Backoff::new(Duration::from_millis(10), Duration::from_millis(200), 16);
        let ceilings: Vec<u128> = (0..8).map(|r| b.ceiling(r).as_millis()).collect();
        assert_eq!(ceilings, vec![0, 10, 20, 40, 80, 160, 200, 200]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(200));
    }

    #[test]
    fn delays_span_one_millisecond_to_the_ceiling() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30), 3);
        assert_eq!(b.delay_from(1, 0.0), MS);
        assert_eq!(b.delay_from(1, 1.0), Duration::from_millis(500));
        assert_eq!(b.delay_from(2, 1.0), Duration::from_millis(1000));
        assert_eq!(b.delay_from(2, f64::NAN), MS);
        assert_eq!(
            b.delay_from(0, 0.5),
            Duration::ZERO,
            "the first attempt waits not"
        );
        let tiny = Backoff::new(Duration::from_micros(300), Duration::from_secs(1), 2);
        assert_eq!(tiny.delay_from(1, 0.9), Duration::from_micros(300));
    }

    #[test]
    fn attempts_bound_the_retries() {
        let b = Backoff::new(MS, MS, 3);
        assert!(b.allows_retry_after(1));
        assert!(b.allows_retry_after(2));
        assert!(!b.allows_retry_after(3));
        assert!(!Backoff::new(MS, MS, 1).allows_retry_after(1));
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_clamped() {
        let max = Duration::from_secs(30);
        assert_eq!(retry_after(Some("3"), max), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(Some(" 7 "), max), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(Some("120"), max), Some(max));
        assert_eq!(retry_after(Some("soon"), max), None);
        assert_eq!(retry_after(Some("-1"), max), None);
        assert_eq!(retry_after(None, max), None);
    }

    proptest! {
        #[test]
        fn every_delay_is_within_its_bounds(
            first_us in 0u64..5_000_000,
            cap_us in 0u64..60_000_000,
            retry in 0u32..100,
            unit in proptest::num::f64::ANY,
        ) {
            let b = Backoff::new(Duration::from_micros(first_us), Duration::from_micros(cap_us), 5);
            let ceiling = b.ceiling(retry);
            let d = b.delay_from(retry, unit);
            prop_assert!(ceiling <= b.cap);
            prop_assert!(d <= ceiling, "{d:?} > {ceiling:?}");
            prop_assert!(d >= ceiling.min(MS), "{d:?} < {:?}", ceiling.min(MS));
            if retry > 0 && ceiling < b.cap {
                let doubled = b.first.saturating_mul(1u32 << (retry - 1).min(31));
                prop_assert_eq!(ceiling, doubled);
            }
            let random = b.delay(retry);
            prop_assert!(random <= ceiling && random >= ceiling.min(MS));
        }

        #[test]
        fn retry_after_never_exceeds_its_maximum(secs in 0u64..1_000_000, max_s in 0u64..100) {
            let max = Duration::from_secs(max_s);
            let got = retry_after(Some(&secs.to_string()), max);
            prop_assert_eq!(got, Some(Duration::from_secs(secs.min(max_s))));
        }
    }
}
