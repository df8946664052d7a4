//! When to read a running job's newest page again: just after the next page
//! is due, learned from when its pages appeared.
//!
//! Every poll that shows a new page (or new rows) is news. The pacer keeps
//! an estimate of when each news arrived: the midpoint between the last poll
//! that saw nothing and the poll that saw it when the news came after a miss
//! (a narrow bracket), or the time it was due when it was there on the first
//! try. The median of the recent gaps is the rhythm; the next poll goes a
//! little after the next arrival is due, creeping slightly earlier after
//! each first-try hit, so a job that speeds up is noticed (the first early
//! poll misses and narrows the bracket again). A miss is followed by
//! shorter polls that double each time: when the rhythm breaks (a stall, a
//! long pending), they grow into the policy's capped, jittered backoff.
//! Nothing the spec leaves open is relied on: pages may be uneven, `processed`
//! is not used, and every delay stays between the policy's floor and cap.

use crate::policy::{JitterSource, PollPolicy};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Arrival gaps remembered for the rhythm.
const GAPS: usize = 5;

/// The pacing state of one wait.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// Estimated arrival of each recent news, newest last.
    arrivals: VecDeque<Instant>,
    /// When news was first seen since the last pause.
    news_at: Option<Instant>,
    /// The last poll that saw nothing new since the last news.
    last_miss: Option<Instant>,
    /// When the next news was due, as last predicted.
    due: Option<Instant>,
    /// Polls in a row that saw nothing new.
    misses: u32,
    /// News seen in a row on the first poll aimed at them.
    first_try_hits: u32,
}

/// What the pacer expects of the job, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rhythm {
    /// The gap between pages, as learned.
    pub every: Duration,
    /// When the next page is due.
    pub next_due: Instant,
}

impl Pacer {
    pub(crate) fn new() -> Self {
        Pacer {
            arrivals: VecDeque::with_capacity(GAPS + 1),
            news_at: None,
            last_miss: None,
            due: None,
            misses: 0,
            first_try_hits: 0,
        }
    }

    /// Something new arrived at `now` (a page, or rows on the newest page).
    pub(crate) fn news(&mut self, now: Instant) {
        self.news_at.get_or_insert(now);
    }

    /// The rhythm learned so far, if there is one.
    pub(crate) fn rhythm(&self) -> Option<Rhythm> {
        let every = self.gap()?;
        let last = *self.arrivals.back()?;
        Some(Rhythm {
            every,
            next_due: last + every,
        })
    }

    /// The median of the recent gaps between arrivals.
    fn gap(&self) -> Option<Duration> {
        let mut gaps: Vec<Duration> = self
            .arrivals
            .iter()
            .zip(self.arrivals.iter().skip(1))
            .map(|(earlier, later)| later.saturating_duration_since(*earlier))
            .collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort();
        Some(gaps[gaps.len() / 2])
    }

    /// Records what the poll just made showed, and returns how long to wait
    /// before the next one: `fallback` (the policy's backoff for this step)
    /// while no rhythm is known.
    pub(crate) fn delay(
        &mut self,
        now: Instant,
        policy: &PollPolicy,
        jitter: &JitterSource,
        fallback: Duration,
    ) -> Duration {
        match self.news_at.take() {
            Some(seen) => self.arrived(seen),
            None => {
                self.last_miss = Some(now);
                self.misses = self.misses.saturating_add(1);
            }
        }
        let floor = policy.min_interval();
        let cap = policy.backoff().max().max(floor);
        let spread = policy.backoff().jitter();
        let Some(rhythm) = self.rhythm() else {
            return fallback;
        };
        let every = rhythm.every;
        let delay = if self.misses == 0 {
            // Aim a little after the next page is due: later by a small
            // jittered margin, earlier by a creep that grows with each
            // first-try hit.
            let margin = every / 40 + jitter.up_to(spread, every / 40);
            let creep = (every / 200).saturating_mul(self.first_try_hits);
            let aim = (rhythm.next_due + margin)
                .checked_sub(creep)
                .unwrap_or(rhythm.next_due);
            self.due = Some(rhythm.next_due);
            aim.saturating_duration_since(now)
        } else {
            // Not there yet: look again soon, less soon each time.
            let step = (every / 20).saturating_mul(1 << (self.misses - 1).min(16));
            step + jitter.up_to(spread, step / 10)
        };
        delay.clamp(floor, cap)
    }

    /// News first seen at `seen`: estimates when it arrived.
    fn arrived(&mut self, seen: Instant) {
        let after_miss = self.last_miss.filter(|miss| *miss < seen);
        let arrival = match (after_miss, self.due) {
            // It came between a poll that missed it and this one.
            (Some(miss), _) => {
                self.first_try_hits = 0;
                miss + seen.saturating_duration_since(miss) / 2
            }
            // There on the first try: it arrived by the time it was due,
            // as far as this poll can tell.
            (None, Some(due)) if due <= seen => {
                self.first_try_hits = self.first_try_hits.saturating_add(1);
                due.max(self.arrivals.back().copied().unwrap_or(due))
            }
            _ => seen,
        };
        if self.arrivals.len() > GAPS {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(arrival);
        self.last_miss = None;
        self.misses = 0;
        self.due = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_steady_rhythm_is_followed_and_every_delay_stays_between_floor_and_cap() {
        let policy = PollPolicy::default();
        let jitter = JitterSource::seeded(7);
        let (floor, cap) = (policy.min_interval(), policy.backoff().max());
        let start = Instant::now();
        let mut pacer = Pacer::new();
        let fallback = Duration::from_millis(500);
        assert_eq!(
            pacer.delay(start, &policy, &jitter, fallback),
            fallback,
            "no rhythm yet"
        );
        // Pages land each second and are seen 10 ms later.
        let mut last = Duration::ZERO;
        for page in 1..=6 {
            let seen = start + SECOND * page + Duration::from_millis(10);
            pacer.news(seen);
            last = pacer.delay(seen, &policy, &jitter, fallback);
        }
        assert_eq!(pacer.rhythm().map(|rhythm| rhythm.every), Some(SECOND));
        assert!(
            last > SECOND * 9 / 10 && last < SECOND * 11 / 10,
            "aims just after the next page: {last:?}"
        );
        // The rhythm breaks (a stall): polls space out to the cap, never
        // below the floor, never past the cap.
        let mut now = start + SECOND * 7;
        let mut delays = Vec::new();
        for _ in 0..40 {
            let delay = pacer.delay(now, &policy, &jitter, fallback);
            assert!(delay >= floor && delay <= cap, "{delay:?}");
            delays.push(delay);
            now += delay;
        }
        assert!(
            delays.windows(2).take(5).all(|pair| pair[1] >= pair[0]),
            "{delays:?}"
        );
        assert!(*delays.last().unwrap() > cap / 2, "{delays:?}");
    }

    #[test]
    fn news_that_comes_at_once_never_makes_a_delay_below_the_floor() {
        let policy = PollPolicy::default().with_min_interval(Duration::from_millis(80));
        let jitter = JitterSource::seeded(1);
        let start = Instant::now();
        let mut pacer = Pacer::new();
        for step in 0..20 {
            let at = start + Duration::from_micros(step);
            pacer.news(at);
            let delay = pacer.delay(at, &policy, &jitter, Duration::ZERO);
            if pacer.rhythm().is_some() {
                assert!(delay >= Duration::from_millis(80), "{delay:?}");
            }
        }
    }
}
