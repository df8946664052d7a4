//! How long to wait between polls and between retries, and for how long in all.

use std::time::Duration;

/// Exponential backoff: delays grow from `initial` by `multiplier` up to
/// `max`, each randomised as its [`Jitter`] says. The one delay shape of
/// both policies: between polls ([`PollPolicy::with_backoff`]) and between
/// retries ([`RetryPolicy::with_backoff`]).
///
/// ```
/// use openfunnel::{Backoff, Jitter};
/// use std::time::Duration;
///
/// let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5)).with_jitter(Jitter::Equal);
/// assert_eq!(backoff.delay(0), Duration::from_millis(250));
/// assert_eq!(backoff.delay(2), Duration::from_secs(1));
/// assert_eq!(backoff.delay(100), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    multiplier: f64,
    jitter: Jitter,
}

impl Backoff {
    /// Doubling from `initial` up to `max`, with [`Jitter::Full`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = openfunnel::Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
    /// assert_eq!((backoff.initial(), backoff.max()), (Duration::from_secs(1), Duration::from_secs(8)));
    /// ```
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            multiplier: 2.0,
            jitter: Jitter::Full,
        }
    }

    /// The same delay every time, without jitter (for tests and fixed
    /// schedules).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let fixed = openfunnel::Backoff::fixed(Duration::from_millis(10));
    /// assert_eq!(fixed.delay(7), Duration::from_millis(10));
    /// assert_eq!(fixed.jitter(), openfunnel::Jitter::None);
    /// ```
    pub fn fixed(delay: Duration) -> Self {
        Backoff::new(delay, delay).without_jitter()
    }

    /// The same backoff starting at `initial`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default();
    /// let sooner = policy.backoff().with_initial(Duration::from_millis(100));
    /// assert_eq!(sooner.initial(), Duration::from_millis(100));
    /// ```
    pub fn with_initial(mut self, initial: Duration) -> Self {
        self.initial = initial;
        self
    }

    /// The same backoff capped at `max`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let capped = openfunnel::RetryPolicy::default().backoff().with_max(Duration::from_secs(1));
    /// assert_eq!(capped.delay(10), Duration::from_secs(1));
    /// ```
    pub fn with_max(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// The growth factor between delays (default 2; values below 1, and
    /// non-finite ones, count as 1).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let flat = openfunnel::Backoff::new(Duration::from_secs(1), Duration::from_secs(9)).with_multiplier(0.5);
    /// assert_eq!(flat.delay(3), Duration::from_secs(1));
    /// ```
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// How delays are randomised.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use openfunnel::{Backoff, Jitter};
    /// let equal = Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).with_jitter(Jitter::Equal);
    /// assert_eq!(equal.jitter(), Jitter::Equal);
    /// ```
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Every delay exactly as computed (`with_jitter(Jitter::None)`).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let exact = openfunnel::Backoff::new(Duration::from_secs(1), Duration::from_secs(8)).without_jitter();
    /// assert_eq!(exact.jitter(), openfunnel::Jitter::None);
    /// ```
    pub fn without_jitter(self) -> Self {
        self.with_jitter(Jitter::None)
    }

    /// The first delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(openfunnel::Backoff::fixed(Duration::from_secs(2)).initial(), Duration::from_secs(2));
    /// ```
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The longest delay (also the worst detection delay of a poll).
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(openfunnel::Backoff::fixed(Duration::from_secs(2)).max(), Duration::from_secs(2));
    /// ```
    pub fn max(&self) -> Duration {
        self.max
    }

    /// How delays are randomised.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = openfunnel::Backoff::new(Duration::from_secs(1), Duration::from_secs(2));
    /// assert_eq!(backoff.jitter(), openfunnel::Jitter::Full);
    /// ```
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The `n`-th delay (from 0), before jitter.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let backoff = openfunnel::Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
    /// let delays: Vec<u128> = (0..6).map(|n| backoff.delay(n).as_millis()).collect();
    /// assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000]);
    /// ```
    pub fn delay(&self, n: u32) -> Duration {
        let factor = self.multiplier.powi(n.min(64) as i32);
        let secs = (self.initial.as_secs_f64() * factor).min(self.max.as_secs_f64());
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

/// How a job is polled until it finishes: a [`Backoff`] between polls,
/// bounded by two limits.
///
/// * The **idle timeout** (on by default: one hour) bounds *waiting without
///   progress*: it ends a wait or a stream when an hour passes with no new
///   row or page, no change of status or stage, and no movement of
///   `processed`. Time the caller spends between two items of a stream does
///   not count. An export that keeps moving is never cut off by it.
/// * The **deadline** (off by default) bounds the *whole call*: from the
///   first poll of a `wait()` or stream to its end, including a request in
///   flight when it passes (as an operation timeout does).
///
/// Running out of either is a [`crate::Error::TimedOut`] saying which
/// ([`crate::TimeLimit`]) and the last status seen. No wait is unbounded
/// unless the caller removes both ([`PollPolicy::without_idle_timeout`],
/// [`PollPolicy::without_deadline`]). Any duration is accepted, up to
/// `Duration::MAX` (which means "never").
///
/// The delays grow from 500 ms, doubling, up to 8 s, and go back to the
/// first one whenever a new page lands. With [`Jitter::Equal`] (the
/// default) each delay is drawn from `[d/2, d]`, so many clients polling one
/// job do not march in step; the detection delay stays at most the backoff's
/// `max`.
///
/// ```
/// use openfunnel::{Backoff, Jitter, PollPolicy};
/// use std::time::Duration;
///
/// let policy = PollPolicy::default()
///     .with_backoff(Backoff::new(Duration::from_millis(250), Duration::from_secs(5)).with_jitter(Jitter::Equal))
///     .with_deadline(Duration::from_secs(15 * 60));
/// assert_eq!(policy.deadline(), Some(Duration::from_secs(900)));
/// assert_eq!(policy.idle_timeout(), Some(Duration::from_secs(3600)));
/// assert_eq!(policy.backoff().max(), Duration::from_secs(5));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PollPolicy {
    backoff: Backoff,
    pacing: Pacing,
    min_interval: Duration,
    deadline: Option<Duration>,
    idle_timeout: Option<Duration>,
}

/// How the polls of a running job's stream are spaced.
///
/// ```
/// use openfunnel::{Backoff, Jitter, Pacing, PollPolicy};
/// use std::time::Duration;
///
/// assert_eq!(PollPolicy::default().pacing(), Pacing::Backoff);
/// // A fixed one-second loop:
/// let fixed = PollPolicy::default()
///     .with_backoff(Backoff::fixed(Duration::from_secs(1)).with_jitter(Jitter::None));
/// assert_eq!(fixed.backoff().delay(7), Duration::from_secs(1));
/// // Polls timed to the job's page rhythm (experimental):
/// let timed = PollPolicy::default().with_pacing(Pacing::Rhythm);
/// # let _ = timed;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pacing {
    /// The [`Backoff`] alone, reset whenever a new page lands (a fixed
    /// interval with [`Backoff::fixed`]). The default.
    #[default]
    Backoff,
    /// **Experimental.** Learn when the job's pages land and read the newest
    /// one again just after the next is due (about two requests a page on a
    /// steady job); fall back to the [`Backoff`] while the job is pending, to
    /// a cadence of the backoff's second step while a rhythm is learned or a
    /// running job stalls, and to doubling steps up to the cap when it
    /// breaks. Delays stay between [`PollPolicy::min_interval`] and the
    /// backoff's `max`; `wait()`, which reads no pages, uses the backoff. In
    /// BENCHMARKS.md (scenario 8) it reads pages sooner than the backoff on
    /// every job shape (1.1× to 4× sooner in two runs), for 0.8× to 1.4× its
    /// requests; not the default until its request counts meet their goals
    /// too.
    Rhythm,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(8))
                .with_jitter(Jitter::Equal),
            pacing: Pacing::Backoff,
            min_interval: Duration::from_millis(50),
            deadline: None,
            idle_timeout: Some(Duration::from_secs(60 * 60)),
        }
    }
}

impl PollPolicy {
    /// How the polls of a running job's stream are spaced (default:
    /// [`Pacing::Backoff`]).
    ///
    /// ```
    /// use openfunnel::{Pacing, PollPolicy};
    /// let policy = PollPolicy::default().with_pacing(Pacing::Rhythm);
    /// assert_eq!(policy.pacing(), Pacing::Rhythm);
    /// ```
    pub fn with_pacing(mut self, pacing: Pacing) -> Self {
        self.pacing = pacing;
        self
    }

    /// The floor of [`Pacing::Rhythm`]'s delays (default 50 ms): polls
    /// timed to a job's rhythm never come closer together than this.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_min_interval(Duration::from_millis(200));
    /// assert_eq!(policy.min_interval(), Duration::from_millis(200));
    /// ```
    pub fn with_min_interval(mut self, floor: Duration) -> Self {
        self.min_interval = floor;
        self
    }

    /// How polls are spaced.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().pacing(), openfunnel::Pacing::Backoff);
    /// ```
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// The floor of [`Pacing::Rhythm`]'s delays.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().min_interval().as_millis(), 50);
    /// ```
    pub fn min_interval(&self) -> Duration {
        self.min_interval
    }

    /// The delays between polls (default: 500 ms doubling to 8 s, with
    /// [`Jitter::Equal`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// use openfunnel::{Backoff, PollPolicy};
    /// let policy = PollPolicy::default().with_backoff(Backoff::fixed(Duration::from_secs(1)));
    /// assert_eq!(policy.backoff().initial(), Duration::from_secs(1));
    /// ```
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Bounds the whole call (off by default): a `wait()` or a stream ends
    /// with [`crate::Error::TimedOut`] once `deadline` has passed since its
    /// first poll, even in the middle of a request or while the job is
    /// still making progress.
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

    /// No bound on the whole call (the default); the idle timeout still
    /// applies.
    ///
    /// ```
    /// let unbounded = openfunnel::PollPolicy::default().without_deadline();
    /// assert_eq!(unbounded.deadline(), None);
    /// ```
    pub fn without_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Bounds waiting without progress (default one hour): the wait ends with
    /// [`crate::Error::TimedOut`] when this long passes with no new row or
    /// page, no status or stage change and no movement of `processed`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_idle_timeout(Duration::from_secs(600));
    /// assert_eq!(policy.idle_timeout(), Some(Duration::from_secs(600)));
    /// ```
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }

    /// Waits for as long as the job runs, however long it makes no progress.
    ///
    /// ```
    /// let patient = openfunnel::PollPolicy::default().without_idle_timeout();
    /// assert_eq!(patient.idle_timeout(), None);
    /// ```
    pub fn without_idle_timeout(mut self) -> Self {
        self.idle_timeout = None;
        self
    }

    /// The delays between polls.
    ///
    /// ```
    /// let backoff = openfunnel::PollPolicy::default().backoff();
    /// assert_eq!((backoff.initial().as_millis(), backoff.max().as_secs()), (500, 8));
    /// assert_eq!(backoff.jitter(), openfunnel::Jitter::Equal);
    /// ```
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The bound on the whole call, if any (none by default).
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The bound on waiting without progress, if any.
    ///
    /// ```
    /// assert_eq!(openfunnel::PollPolicy::default().idle_timeout().map(|d| d.as_secs()), Some(3600));
    /// ```
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

/// How failed requests are retried: GETs (and cancel) on transport errors,
/// 408, 429 and 5xx; a submit only when the request provably never reached the
/// server (a connect error), because a duplicate submit is a duplicate bill.
/// 401, 403, 404 and 422 are never retried.
///
/// Between attempts the [`Backoff`] doubles from 200 ms up to 5 s, with
/// [`Jitter::Full`] by default: each wait is drawn from `[0, backoff]`, so
/// many requests failing at once (8 page fetches, 100 jobs on one client) do
/// not retry in lockstep. A `Retry-After` header (whole seconds or an HTTP
/// date, as RFC 9110 allows) or a body's `details.retry_after_seconds` is
/// honoured as a minimum (jittered upward by up to a quarter), up to
/// `max_retry_after`; a longer wait is not waited by a one-shot call:
/// the failure is returned at once, [`crate::Error::RateLimited`] for a 429
/// and [`crate::Error::Http`] for a 503, the server's wait on it either way
/// ([`crate::Error::retry_after`]). A wait never runs past the limits of the
/// job wait the request belongs to (its idle timeout and deadline): the
/// request then ends with [`crate::Error::TimedOut`]. Any duration is
/// accepted, up to `Duration::MAX`.
///
/// Two things go beyond one request: the polls of a wait ride out an
/// outage ([`RetryPolicy::with_ride_out`]), and every retry of a client
/// spends from its [`crate::RetryBudget`].
///
/// ```
/// use openfunnel::{Backoff, RetryPolicy};
/// use std::time::Duration;
///
/// let retries = RetryPolicy::default()
///     .with_max_attempts(3)
///     .with_backoff(Backoff::new(Duration::from_millis(100), Duration::from_secs(2)));
/// assert_eq!(retries.max_attempts(), 3);
/// let none = RetryPolicy::never();
/// assert_eq!(none.max_attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    max_retry_after: Duration,
    ride_out: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
            max_retry_after: Duration::from_secs(120),
            ride_out: true,
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retries, polls of a wait included.
    ///
    /// ```
    /// let never = openfunnel::RetryPolicy::never();
    /// assert_eq!((never.max_attempts(), never.rides_out()), (1, false));
    /// ```
    pub fn never() -> Self {
        RetryPolicy::default()
            .with_max_attempts(1)
            .with_ride_out(false)
    }

    /// Whether the polls of a wait ride out an outage (default yes): once
    /// the server has answered for the job, a poll of [`crate::Job::wait`]
    /// or of a stream that fails transiently (a connection error, 408, 429,
    /// 5xx) is retried with this policy's backoff for as long as the
    /// [`crate::PollPolicy`]'s idle timeout and deadline allow, not for
    /// [`RetryPolicy::max_attempts`], and a `Retry-After` longer than
    /// [`RetryPolicy::max_retry_after`] is waited if those limits allow it.
    /// Without, every request gets `max_attempts`.
    ///
    /// ```
    /// let counted = openfunnel::RetryPolicy::default().with_ride_out(false);
    /// assert!(!counted.rides_out());
    /// ```
    pub fn with_ride_out(mut self, ride_out: bool) -> Self {
        self.ride_out = ride_out;
        self
    }

    /// Whether the polls of a wait ride out an outage.
    ///
    /// ```
    /// assert!(openfunnel::RetryPolicy::default().rides_out());
    /// ```
    pub fn rides_out(&self) -> bool {
        self.ride_out
    }

    /// Attempts per request, the first included (default 5; at least 1);
    /// see [`RetryPolicy::with_ride_out`] for the polls of a wait.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    /// ```
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The waits between attempts (default: 200 ms doubling to 5 s, with
    /// [`Jitter::Full`]). A wait the server asked for is a minimum: with
    /// any jitter but [`Jitter::None`], up to a quarter of it is added at
    /// random, so jobs told the same wait do not return at the same instant.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use openfunnel::{Backoff, RetryPolicy};
    /// let exact = RetryPolicy::default().with_backoff(Backoff::new(Duration::from_millis(200), Duration::from_secs(5)).without_jitter());
    /// assert_eq!(exact.backoff().jitter(), openfunnel::Jitter::None);
    /// ```
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The longest server-requested wait honoured (default 120 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let patient = openfunnel::RetryPolicy::default().with_max_retry_after(Duration::from_secs(600));
    /// assert_eq!(patient.max_retry_after(), Duration::from_secs(600));
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

    /// The waits between attempts.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::default().backoff().jitter(), openfunnel::Jitter::Full);
    /// ```
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The longest server-requested wait honoured.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryPolicy::default().max_retry_after().as_secs(), 120);
    /// ```
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }
}

/// How a [`Backoff`]'s delays are randomised, for polls and retries alike. Draws come from one random
/// source per client, so concurrent requests of one client draw different
/// delays (seed it with [`crate::ClientBuilder::with_jitter_seed`] for a
/// reproducible schedule).
///
/// ```
/// use openfunnel::{Jitter, PollPolicy, RetryPolicy};
/// assert_eq!(PollPolicy::default().backoff().jitter(), Jitter::Equal); // [d/2, d]
/// assert_eq!(RetryPolicy::default().backoff().jitter(), Jitter::Full); // [0, d]
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Jitter {
    /// Exactly the computed delay.
    None,
    /// Uniform in `[d/2, d]`: spread, yet never less than half the delay.
    /// The default for polls, so the detection delay stays predictable.
    Equal,
    /// Uniform in `[0, d]` ("full jitter"): the widest spread. The default
    /// for retries, which matter most when many requests fail at once.
    Full,
}

/// The random source behind [`Jitter`]: splitmix64, one per client, shared
/// by all its requests and waits.
#[derive(Debug)]
pub(crate) struct JitterSource(std::sync::Mutex<u64>);

impl JitterSource {
    /// A source seeded from the clock and the process's random hash keys,
    /// so that clients do not share a sequence.
    pub(crate) fn from_entropy() -> Self {
        use std::hash::BuildHasher;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        JitterSource::seeded(std::collections::hash_map::RandomState::new().hash_one(nanos))
    }

    /// A source with a fixed sequence.
    pub(crate) fn seeded(seed: u64) -> Self {
        JitterSource(std::sync::Mutex::new(seed))
    }

    fn next_unit(&self) -> f64 {
        // A poisoned lock only means another thread panicked mid-draw; the
        // state is a plain integer and still usable.
        let mut state = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The `n`-th delay of `backoff`, randomised as its jitter says.
    pub(crate) fn delay(&self, backoff: &Backoff, n: u32) -> Duration {
        self.apply(backoff.jitter, backoff.delay(n))
    }

    /// A wait the server asked for, as a minimum: up to a quarter more at
    /// random, unless `backoff` has no jitter.
    pub(crate) fn above(&self, backoff: &Backoff, asked: Duration) -> Duration {
        match backoff.jitter {
            Jitter::None => asked,
            _ => asked.saturating_add(crate::timer::scaled(asked / 4, self.next_unit())),
        }
    }

    /// Up to `most` at random (nothing with [`Jitter::None`]): the small
    /// spread of a paced poll.
    pub(crate) fn up_to(&self, jitter: Jitter, most: Duration) -> Duration {
        match jitter {
            Jitter::None => Duration::ZERO,
            _ => crate::timer::scaled(most, self.next_unit()),
        }
    }

    fn apply(&self, jitter: Jitter, delay: Duration) -> Duration {
        match jitter {
            Jitter::None => delay,
            Jitter::Equal => crate::timer::scaled(delay, 0.5 + 0.5 * self.next_unit()),
            Jitter::Full => crate::timer::scaled(delay, self.next_unit()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_backoff_grows_then_caps() {
        let backoff = PollPolicy::default().backoff();
        let delays: Vec<u128> = (0..7).map(|n| backoff.delay(n).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(backoff.delay(10_000), Duration::from_secs(8));
    }

    #[test]
    fn equal_jitter_stays_between_half_and_the_full_delay() {
        let source = JitterSource::seeded(42);
        let delay = Duration::from_secs(4);
        let drawn: Vec<Duration> = (0..1000)
            .map(|_| source.apply(Jitter::Equal, delay))
            .collect();
        assert!(drawn.iter().all(|d| *d >= delay / 2 && *d <= delay));
        // Spread over the range, not stuck at one value.
        assert!(drawn.iter().any(|d| *d < Duration::from_millis(2500)));
        assert!(drawn.iter().any(|d| *d > Duration::from_millis(3500)));
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_delay_and_none_keeps_it() {
        let source = JitterSource::seeded(7);
        let delay = Duration::from_secs(4);
        let drawn: Vec<Duration> = (0..1000)
            .map(|_| source.apply(Jitter::Full, delay))
            .collect();
        assert!(drawn.iter().all(|d| *d <= delay));
        assert!(drawn.iter().any(|d| *d < Duration::from_millis(500)));
        assert!(drawn.iter().any(|d| *d > Duration::from_millis(3500)));
        assert_eq!(source.apply(Jitter::None, delay), delay);
    }

    #[test]
    fn draws_are_uniform_over_the_unit_interval() {
        // 20,000 draws in 10 buckets: each holds 2,000 ± 10 %. A biased mix
        // (an `&` or `|` where splitmix has `^`) piles draws at one end.
        let source = JitterSource::seeded(11);
        let mut buckets = [0u32; 10];
        for _ in 0..20_000 {
            let unit = source.next_unit();
            assert!((0.0..1.0).contains(&unit));
            buckets[(unit * 10.0) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|n| (1_800..=2_200).contains(n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn the_source_is_splitmix64_to_the_bit() {
        // The reference outputs of splitmix64 seeded with 0 (Vigna's
        // splitmix64.c): a changed mix or shift gives other numbers.
        let source = JitterSource::seeded(0);
        for expected in [0xE220_A839_7B1D_CDAFu64, 0x6E78_9E6A_A1B9_65F4] {
            let unit = (expected >> 11) as f64 / (1u64 << 53) as f64;
            assert_eq!(source.next_unit(), unit);
        }
    }

    #[test]
    fn one_seed_gives_one_sequence() {
        let (a, b) = (JitterSource::seeded(3), JitterSource::seeded(3));
        let delay = Duration::from_secs(1);
        let first: Vec<_> = (0..5).map(|_| a.apply(Jitter::Full, delay)).collect();
        let second: Vec<_> = (0..5).map(|_| b.apply(Jitter::Full, delay)).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn retry_backoff_doubles_from_the_initial_value() {
        let retries = RetryPolicy::default().backoff();
        let delays: Vec<u128> = (0..6).map(|n| retries.delay(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000]);
    }
}
