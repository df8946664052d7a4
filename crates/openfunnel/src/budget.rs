//! The client-wide retry budget: every retry of every job and stream of one
//! client spends from it, every success refills it, so a failing service is
//! not hit harder the more jobs a client runs.
//!
//! When the budget is spent, a one-shot call (submit, cancel, a single poll)
//! fails at once with [`crate::Error::ServiceFailing`]; a request of a wait
//! (a poll of `wait()`, a stream's page, a prefetch) queues instead: the
//! queue sends one probe at a time, at a growing interval, and the first
//! success anywhere in the client releases everyone waiting.

use crate::policy::{Backoff, JitterSource};
use crate::timer::Timer;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// How many retries one client may make while requests fail: a token
/// bucket shared by every job and stream of the client.
///
/// A retry costs `retry_cost` tokens (`timeout_retry_cost` after a request
/// that timed out, which held a connection for the whole timeout), a
/// successful response returns `success_refund`, and retries stop while
/// the bucket is at or below half of `capacity`. Then a one-shot call
/// (submit, cancel, a single poll) fails with
/// [`crate::Error::ServiceFailing`] instead of retrying, and the polls of
/// waits and streams take turns: one probe at a time for the whole client,
/// until a request succeeds and releases them all.
///
/// The defaults are the AWS SDKs' standard retry quota (a bucket of 500, a
/// retry costs 5, a retry after a timeout 10, a success returns 1), with the
/// stopping point of gRPC's retry throttling (proposal A6: no retries at or
/// below half the bucket): a brownout that fails 50 jobs at once costs each
/// about one retry before the client backs off as one, and it takes five
/// successes to pay for each retry afterwards.
///
/// ```
/// use openfunnel::RetryBudget;
///
/// let budget = RetryBudget::default();
/// assert_eq!((budget.capacity(), budget.retry_cost(), budget.success_refund()), (500, 5, 1));
/// // Twice the allowance, for a client that runs many more jobs:
/// let roomy = RetryBudget::default().with_capacity(1_000);
/// # let _ = roomy;
/// // No client-wide limit (each request's RetryPolicy alone decides):
/// let unlimited = RetryBudget::unlimited();
/// assert_eq!(unlimited.retry_cost(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    capacity: u32,
    retry_cost: u32,
    timeout_retry_cost: u32,
    success_refund: u32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refund: 1,
        }
    }
}

impl RetryBudget {
    /// A budget that never runs out: retries cost nothing.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::unlimited().timeout_retry_cost(), 0);
    /// ```
    pub fn unlimited() -> Self {
        RetryBudget::default()
            .with_retry_cost(0)
            .with_timeout_retry_cost(0)
    }

    /// The bucket's size, and what it holds when the client is built
    /// (default 500; retries stop at or below half of it).
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().with_capacity(50).capacity(), 50);
    /// ```
    pub fn with_capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Tokens a retry costs (default 5).
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().with_retry_cost(1).retry_cost(), 1);
    /// ```
    pub fn with_retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Tokens a retry after a timed-out request costs (default 10).
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().with_timeout_retry_cost(20).timeout_retry_cost(), 20);
    /// ```
    pub fn with_timeout_retry_cost(mut self, tokens: u32) -> Self {
        self.timeout_retry_cost = tokens;
        self
    }

    /// Tokens a successful response returns (default 1), up to the capacity.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().with_success_refund(5).success_refund(), 5);
    /// ```
    pub fn with_success_refund(mut self, tokens: u32) -> Self {
        self.success_refund = tokens;
        self
    }

    /// The bucket's size.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().capacity(), 500);
    /// ```
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Tokens a retry costs.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().retry_cost(), 5);
    /// ```
    pub fn retry_cost(&self) -> u32 {
        self.retry_cost
    }

    /// Tokens a retry after a timeout costs.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().timeout_retry_cost(), 10);
    /// ```
    pub fn timeout_retry_cost(&self) -> u32 {
        self.timeout_retry_cost
    }

    /// Tokens a success returns.
    ///
    /// ```
    /// assert_eq!(openfunnel::RetryBudget::default().success_refund(), 1);
    /// ```
    pub fn success_refund(&self) -> u32 {
        self.success_refund
    }
}

/// The budget's state while the client lives.
#[derive(Debug)]
pub(crate) struct Bucket {
    budget: RetryBudget,
    tokens: Mutex<u32>,
    /// The last request that completed failed (retryably): the service is
    /// failing, as far as this client knows.
    failing: AtomicBool,
    /// Bumped by every success, to release the requests queued for a turn.
    recovered: tokio::sync::watch::Sender<u64>,
    /// One probe at a time: to the request that probed least, then in
    /// arrival order.
    turn: Turns,
    /// Probes failed in a row, for their growing interval.
    failed_probes: AtomicU32,
    /// Retryable failures so far: a request remembers the count when it is
    /// sent, and its success releases the queue only if nothing failed
    /// meanwhile (a request sent before an outage and answered as it began
    /// says nothing about the service now).
    failures: AtomicU64,
}

/// Why a queued request may go: a success released the queue, or it is
/// this request's turn to probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Released {
    Recovered,
    Probe,
}

impl Bucket {
    pub(crate) fn new(budget: RetryBudget) -> Self {
        Bucket {
            budget,
            tokens: Mutex::new(budget.capacity),
            failing: AtomicBool::new(false),
            recovered: tokio::sync::watch::Sender::new(0),
            turn: Turns::default(),
            failed_probes: AtomicU32::new(0),
            failures: AtomicU64::new(0),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, u32> {
        // A plain integer: still usable after a panic elsewhere.
        self.tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the cost of one retry, or refuses (the budget is at or below
    /// half, or would fall there).
    pub(crate) fn try_spend(&self, after_timeout: bool) -> bool {
        let cost = if after_timeout {
            self.budget.timeout_retry_cost
        } else {
            self.budget.retry_cost
        };
        let mut tokens = self.tokens();
        let floor = self.budget.capacity / 2;
        if cost > 0 && tokens.saturating_sub(cost) <= floor {
            return false;
        }
        *tokens = tokens.saturating_sub(cost);
        true
    }

    /// What a request remembers when it is sent, for [`Bucket::succeeded`].
    pub(crate) fn epoch(&self) -> u64 {
        self.failures.load(Ordering::SeqCst)
    }

    /// A response arrived to a request sent at `epoch`: refill, and, if no
    /// request failed since it was sent, the service works again: release
    /// whoever waits for a turn.
    pub(crate) fn succeeded(&self, epoch: u64) {
        {
            let mut tokens = self.tokens();
            *tokens = tokens
                .saturating_add(self.budget.success_refund)
                .min(self.budget.capacity);
        }
        if self.epoch() == epoch && self.failing.swap(false, Ordering::SeqCst) {
            self.failed_probes.store(0, Ordering::Relaxed);
            self.recovered.send_modify(|successes| *successes += 1);
        }
    }

    /// A request failed in a way worth retrying.
    pub(crate) fn failed(&self) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        self.failing.store(true, Ordering::SeqCst);
    }

    /// Whether the last request to complete failed.
    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }

    /// Whether a request retried already should wait for a turn instead of
    /// retrying on its own: the service is failing, and the budget is not
    /// unlimited (which sets no client-wide limit at all).
    pub(crate) fn takes_turns(&self) -> bool {
        let unlimited = self.budget.retry_cost == 0 && self.budget.timeout_retry_cost == 0;
        !unlimited && self.is_failing()
    }

    /// Tokens left.
    #[cfg(test)]
    fn left(&self) -> u32 {
        *self.tokens()
    }

    /// Waits, with the budget spent or the service failing, until a success
    /// anywhere in the client releases the queue, or it is this request's
    /// turn to probe, or until `until` (then `None`). `on_queued` is called
    /// when the request has to wait behind another. The [`Turn`] says how
    /// long to wait before sending: the request's own backoff for attempt
    /// `attempt`, or longer after failed probes. A probe is sent while its
    /// turn is held: the next in line waits for its outcome.
    ///
    /// The queue is left at `until` on the real clock, as a request in
    /// flight is cut off (an injected timer's sleeps are never raced).
    pub(crate) async fn wait_for_turn(
        &self,
        timer: &dyn Timer,
        jitter: &JitterSource,
        backoff: &Backoff,
        asker: Asker,
        until: Option<Instant>,
        on_queued: impl FnOnce(),
    ) -> Option<Turn<'_>> {
        let Asker {
            attempt,
            probes_made,
        } = asker;
        let own_step = attempt.saturating_sub(1);
        let mut recovered = self.recovered.subscribe();
        if !self.is_failing() {
            // Recovered since this request failed: an ordinary retry.
            return Some(Turn {
                released: Released::Recovered,
                guard: None,
                delay: jitter.delay(backoff, own_step),
            });
        }
        let probe = |guard| {
            let failed = self.failed_probes.fetch_add(1, Ordering::Relaxed);
            // Whether the delay fits the wait's limits is the caller's one
            // check, made on every turn (a server's wait may lengthen it).
            Turn {
                released: Released::Probe,
                guard: Some(guard),
                delay: jitter.delay(backoff, failed.max(own_step)),
            }
        };
        let mut place = match self.turn.take_or_join(probes_made) {
            Ok(guard) => return Some(probe(guard)),
            Err(place) => place,
        };
        on_queued();
        let queue = async {
            tokio::select! {
                biased;
                Ok(()) = recovered.changed() => Some(Turn {
                    // Released together: spread the first requests a little.
                    released: Released::Recovered,
                    guard: None,
                    delay: jitter.delay(backoff, 0),
                }),
                guard = place.turn() => Some(probe(guard)),
            }
        };
        match until {
            Some(until) => {
                let left = until.saturating_duration_since(timer.now());
                tokio::time::timeout(left, queue).await.ok().flatten()
            }
            None => queue.await,
        }
    }
}

/// The request asking for a turn: its attempts so far (its own backoff
/// step) and the probes it already sent for the client (its place).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Asker {
    pub attempt: u32,
    pub probes_made: u32,
}

impl Asker {
    /// The probes made once `turn` is taken: one more when it holds the
    /// queue (a probe), the same when a recovery released it.
    pub(crate) fn probes_after(&self, turn: &Turn<'_>) -> u32 {
        self.probes_made + u32::from(turn.guard.is_some())
    }
}

/// A request's turn to be sent again: why, the probe's hold on the queue
/// (the next in line waits for its outcome), and how long to wait first.
pub(crate) struct Turn<'a> {
    pub released: Released,
    pub guard: Option<TurnGuard<'a>>,
    pub delay: std::time::Duration,
}

/// The one turn to probe a failing service, handed to the waiting request
/// that has probed least (then the one that came first), so a request that
/// just probed goes behind every request that has not, even one that joins
/// later: an outage costs each job about one probe however many there are.
#[derive(Debug, Default)]
pub(crate) struct Turns(Mutex<TurnQueue>);

#[derive(Debug, Default)]
struct TurnQueue {
    held: bool,
    tickets: u64,
    /// Waiting requests by (probes made, arrival).
    waiting: std::collections::BTreeMap<(u32, u64), tokio::sync::oneshot::Sender<()>>,
}

/// Holds the turn; dropping it hands the turn on.
#[derive(Debug)]
pub(crate) struct TurnGuard<'a>(&'a Turns);

impl Turns {
    fn queue(&self) -> std::sync::MutexGuard<'_, TurnQueue> {
        // Plain data: still usable after a panic elsewhere.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The turn at once if nobody holds it, or a place in the queue.
    fn take_or_join(&self, probes_made: u32) -> Result<TurnGuard<'_>, Place<'_>> {
        let mut queue = self.queue();
        if !queue.held {
            queue.held = true;
            return Ok(TurnGuard(self));
        }
        let (send, receive) = tokio::sync::oneshot::channel();
        queue.tickets += 1;
        let ticket = queue.tickets;
        queue.waiting.insert((probes_made, ticket), send);
        Err(Place {
            turns: self,
            receiver: Some(receive),
        })
    }
}

/// A place in the queue for the turn. Dropped after the turn was handed to
/// it but before it was taken (the wait ended otherwise), it hands the turn
/// on, so the turn is never lost.
#[derive(Debug)]
pub(crate) struct Place<'a> {
    turns: &'a Turns,
    receiver: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl<'a> Place<'a> {
    /// Waits for the turn.
    async fn turn(&mut self) -> TurnGuard<'a> {
        if let Some(receiver) = self.receiver.as_mut()
            && receiver.await.is_ok()
        {
            self.receiver = None;
            return TurnGuard(self.turns);
        }
        // The queue never drops a place's sender without sending.
        std::future::pending().await
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            receiver.close();
            if receiver.try_recv().is_ok() {
                drop(TurnGuard(self.turns));
            }
        }
    }
}

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.queue();
        // The first waiter still waiting gets the turn (a waiter that gave
        // up dropped its receiver).
        while let Some((_, next)) = queue.waiting.pop_first() {
            if next.send(()).is_ok() {
                return;
            }
        }
        queue.held = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_stop_at_half_the_bucket_and_successes_refill_it() {
        let bucket = Bucket::new(RetryBudget::default().with_capacity(20));
        // 20 → 15 → 10 would reach half: refused.
        assert!(bucket.try_spend(false));
        assert_eq!(bucket.left(), 15);
        assert!(!bucket.try_spend(false), "15 - 5 = 10, half of 20");
        assert!(!bucket.try_spend(true), "a timeout's retry costs 10");
        for _ in 0..5 {
            bucket.succeeded(bucket.epoch());
        }
        assert_eq!(bucket.left(), 20, "refilled, never past the capacity");
        bucket.succeeded(bucket.epoch());
        assert_eq!(bucket.left(), 20);
        assert!(!bucket.try_spend(true), "20 - 10 would be half");
        assert!(bucket.try_spend(false));
        assert_eq!(bucket.left(), 15);
    }

    #[tokio::test]
    async fn the_turn_goes_to_the_request_that_probed_least_then_the_first_to_come() {
        let turns = Turns::default();
        let held = turns.take_or_join(0).expect("free");
        let mut probed_once = turns.take_or_join(1).expect_err("queued");
        let mut first = turns.take_or_join(0).expect_err("queued");
        let mut second = turns.take_or_join(0).expect_err("queued");
        drop(held);
        let got = |place: &mut Place<'_>| {
            place
                .receiver
                .as_mut()
                .is_some_and(|receiver| receiver.try_recv().is_ok())
        };
        assert!(got(&mut first), "no probes yet, first to come");
        assert!(!got(&mut second) && !got(&mut probed_once));
        first.receiver = None;
        drop(TurnGuard(&turns));
        assert!(got(&mut second), "then the other that has not probed");
        second.receiver = None;
        drop(TurnGuard(&turns));
        assert!(
            got(&mut probed_once),
            "the one that probed before goes last"
        );
        probed_once.receiver = None;
        drop(TurnGuard(&turns));
        assert!(turns.take_or_join(0).is_ok(), "free again");
    }

    #[tokio::test]
    async fn a_place_given_up_after_the_turn_reached_it_hands_the_turn_on() {
        let turns = Turns::default();
        let held = turns.take_or_join(0).expect("free");
        let gives_up = turns.take_or_join(0).expect_err("queued");
        let mut next = turns.take_or_join(0).expect_err("queued");
        drop(held); // the turn reaches `gives_up`…
        drop(gives_up); // …which stopped waiting (a recovery, a time limit)
        let guard = tokio::time::timeout(std::time::Duration::from_secs(1), next.turn())
            .await
            .expect("the turn was handed on, not lost");
        drop(guard);
        drop(next);
        assert!(turns.take_or_join(0).is_ok(), "free again");
    }

    #[test]
    fn a_probe_counts_toward_the_asker_s_place_a_release_does_not() {
        let turns = Turns::default();
        let asker = Asker {
            attempt: 3,
            probes_made: 2,
        };
        let probe = Turn {
            released: Released::Probe,
            guard: turns.take_or_join(2).ok(),
            delay: std::time::Duration::ZERO,
        };
        assert_eq!(asker.probes_after(&probe), 3);
        let release = Turn {
            released: Released::Recovered,
            guard: None,
            delay: std::time::Duration::ZERO,
        };
        assert_eq!(asker.probes_after(&release), 2);
    }

    #[test]
    fn every_setting_of_a_budget_reads_back() {
        let budget = RetryBudget::default()
            .with_capacity(40)
            .with_retry_cost(3)
            .with_timeout_retry_cost(7)
            .with_success_refund(2);
        assert_eq!(
            (
                budget.capacity(),
                budget.retry_cost(),
                budget.timeout_retry_cost(),
                budget.success_refund()
            ),
            (40, 3, 7, 2)
        );
        // A bucket of that budget: 40 → 37 → 34 → 31 → 28 → 25 → 22, and the
        // next would reach 20 (half); two successes refill four.
        let bucket = Bucket::new(budget);
        assert_eq!((0..10).filter(|_| bucket.try_spend(false)).count(), 6);
        assert_eq!(bucket.left(), 22);
        bucket.succeeded(bucket.epoch());
        bucket.succeeded(bucket.epoch());
        assert_eq!(bucket.left(), 26);
        assert!(!bucket.try_spend(true), "26 - 7 would be under half");
        let unlimited = RetryBudget::unlimited();
        assert_eq!(
            (unlimited.retry_cost(), unlimited.timeout_retry_cost()),
            (0, 0)
        );
        assert_eq!(unlimited.capacity(), RetryBudget::default().capacity());
    }

    #[test]
    fn an_unlimited_budget_never_refuses() {
        let bucket = Bucket::new(RetryBudget::unlimited().with_capacity(0));
        assert!((0..1_000).all(|_| bucket.try_spend(false) && bucket.try_spend(true)));
        bucket.failed();
        assert!(
            !bucket.takes_turns(),
            "no client-wide limit: no queue either"
        );
    }

    #[test]
    fn requests_take_turns_only_while_the_service_fails_and_the_budget_is_limited() {
        let bucket = Bucket::new(RetryBudget::default());
        assert!(!bucket.takes_turns(), "nothing failed yet");
        bucket.failed();
        assert!(bucket.takes_turns());
        bucket.succeeded(bucket.epoch());
        assert!(!bucket.takes_turns(), "recovered");
        let timeouts_only = Bucket::new(RetryBudget::unlimited().with_timeout_retry_cost(10));
        timeouts_only.failed();
        assert!(
            timeouts_only.takes_turns(),
            "a budget that charges timeouts is limited"
        );
    }

    #[test]
    fn a_success_after_a_failure_releases_the_queue_once() {
        let bucket = Bucket::new(RetryBudget::default());
        let released = bucket.recovered.subscribe();
        bucket.succeeded(bucket.epoch());
        assert!(!released.has_changed().unwrap(), "nothing was failing");
        let sent_before_the_failure = bucket.epoch();
        bucket.failed();
        assert!(bucket.is_failing());
        bucket.succeeded(sent_before_the_failure);
        assert!(
            bucket.is_failing() && !released.has_changed().unwrap(),
            "a request sent before the failure says nothing about the service now"
        );
        bucket.succeeded(bucket.epoch());
        assert!(!bucket.is_failing());
        assert!(released.has_changed().unwrap());
    }
}
