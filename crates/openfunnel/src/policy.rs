//! How long to wait between polls and between retries, and for how long in all.

use std::time::Duration;

/// How a job is polled until it finishes: exponential backoff with jitter
/// between an initial and a maximum delay, under an overall deadline.
///
/// The deadline is **on by default** (one hour): no wait is unbounded unless
/// the caller asks with [`PollPolicy::without_deadline`]. Running out is a
/// [`crate::Error::TimedOut`] with the last status seen.
///
/// Delays grow from `initial_delay` by `multiplier` up to `max_delay`, and go
/// back to `initial_delay` whenever a new page lands. With jitter (the
/// default) each delay is drawn from `[d/2, d]`, so many clients polling one
/// job do not march in step; the detection delay stays at most `max_delay`.
///
/// ```
/// use openfunnel::PollPolicy;
/// use std::time::Duration;
///
/// let policy = PollPolicy::default()
///     .with_initial_delay(Duration::from_millis(250))
///     .with_max_delay(Duration::from_secs(5))
///     .with_deadline(Duration::from_secs(15 * 60));
/// assert_eq!(policy.deadline(), Some(Duration::from_secs(900)));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PollPolicy {
    initial_delay: Duration,
    max_delay: Duration,
    multiplier: f64,
    jitter: bool,
    deadline: Option<Duration>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            multiplier: 2.0,
            jitter: true,
            deadline: Some(Duration::from_secs(60 * 60)),
        }
    }
}

impl PollPolicy {
    /// The first delay (default 500 ms).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_initial_delay(Duration::from_secs(1));
    /// assert_eq!(policy.initial_delay(), Duration::from_secs(1));
    /// ```
    pub fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// The longest delay (default 8 s); also the worst detection delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_max_delay(Duration::from_secs(30));
    /// assert_eq!(policy.max_delay(), Duration::from_secs(30));
    /// ```
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The growth factor between delays (default 2; values below 1 count as 1).
    ///
    /// ```
    /// let fixed = openfunnel::PollPolicy::default().with_multiplier(1.0);
    /// # let _ = fixed;
    /// ```
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Turns jitter off: every delay is exactly the backoff value.
    ///
    /// ```
    /// let exact = openfunnel::PollPolicy::default().without_jitter();
    /// # let _ = exact;
    /// ```
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The overall deadline for a wait (default one hour).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_deadline(Duration::from_secs(60));
    /// assert_eq!(policy.deadline(), Some(Duration::from_secs(60)));
    /// ```
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Waits without a deadline, for as long as the job runs.
    ///
    /// ```
    /// let unbounded = openfunnel::PollPolicy::default().without_deadline();
    /// assert_eq!(unbounded.deadline(), None);
    /// ```
    pub fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// The first delay.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().initial_delay().as_millis(), 500);
    /// ```
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The longest delay.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().max_delay().as_secs(), 8);
    /// ```
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The overall deadline, if any.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().deadline().map(|d| d.as_secs()), Some(3600));
    /// ```
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The `n`-th delay (from 0) before jitter.
    pub(crate) fn backoff(&self, n: u32) -> Duration {
        exponential(self.initial_delay, self.multiplier, self.max_delay, n)
    }

    pub(crate) fn jitter(&self) -> bool {
        self.jitter
    }
}

/// How failed requests are retried: GETs (and cancel) on transport errors,
/// 408, 429 and 5xx; a submit only when the request provably never reached the
/// server (a connect error), because a duplicate submit is a duplicate bill.
/// 401, 403, 404 and 422 are never retried.
///
/// A `Retry-After` header (seconds or HTTP date) or a body's
/// `details.retry_after_seconds` is honoured, up to `max_retry_after`; a
/// longer wait is returned to the caller as [`crate::Error::RateLimited`].
///
/// ```
/// use openfunnel::RetryPolicy;
/// use std::time::Duration;
///
/// let retries = RetryPolicy::default().with_max_attempts(3).with_max_backoff(Duration::from_secs(2));
/// assert_eq!(retries.max_attempts(), 3);
/// let none = RetryPolicy::never();
/// assert_eq!(none.max_attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::never().max_attempts(), 1);
    /// ```
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Attempts per request, the first included (default 5; at least 1).
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff (default 200 ms), doubling per retry.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let retries = openfunnel::RetryPolicy::default().with_initial_backoff(Duration::from_millis(50));
    /// # let _ = retries;
    /// ```
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest backoff (default 5 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let retries = openfunnel::RetryPolicy::default().with_max_backoff(Duration::from_secs(1));
    /// # let _ = retries;
    /// ```
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest server-requested wait honoured (default 120 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let retries = openfunnel::RetryPolicy::default().with_max_retry_after(Duration::from_secs(10));
    /// # let _ = retries;
    /// ```
    pub fn with_max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Attempts per request, the first included.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::default().max_attempts(), 5);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        exponential(self.initial_backoff, 2.0, self.max_backoff, retry)
    }

    pub(crate) fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

fn exponential(initial: Duration, multiplier: f64, max: Duration, n: u32) -> Duration {
    let factor = multiplier.powi(n.min(64) as i32);
    let secs = (initial.as_secs_f64() * factor).min(max.as_secs_f64());
    Duration::try_from_secs_f64(secs).unwrap_or(max).min(max)
}

/// A small, fast pseudo-random source for jitter (splitmix64); seeded from
/// the clock so that clients do not share a sequence.
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn from_entropy() -> Self {
        use std::hash::BuildHasher;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // std's RandomState carries per-process random keys.
        Jitter(std::collections::hash_map::RandomState::new().hash_one(nanos))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A delay drawn uniformly from `[d/2, d]`.
    pub(crate) fn apply(&mut self, delay: Duration) -> Duration {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        delay.mul_f64(0.5 + 0.5 * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_backoff_grows_then_caps() {
        let policy = PollPolicy::default();
        let delays: Vec<u128> = (0..7).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(policy.backoff(10_000), Duration::from_secs(8));
    }

    #[test]
    fn jitter_stays_between_half_and_the_full_delay() {
        let mut jitter = Jitter(42);
        let delay = Duration::from_secs(4);
        let drawn: Vec<Duration> = (0..1000).map(|_| jitter.apply(delay)).collect();
        assert!(drawn.iter().all(|d| *d >= delay / 2 && *d <= delay));
        // Spread over the range, not stuck at one value.
        assert!(drawn.iter().any(|d| *d < Duration::from_millis(2500)));
        assert!(drawn.iter().any(|d| *d > Duration::from_millis(3500)));
    }

    #[test]
    fn retry_backoff_doubles_from_the_initial_value() {
        let retries = RetryPolicy::default();
        let delays: Vec<u128> = (0..6).map(|n| retries.backoff(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000]);
    }
}
