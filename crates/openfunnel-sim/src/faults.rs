//! Faults injected into poll responses, on a deterministic schedule.

use std::sync::Arc;
use std::time::Duration;

/// A fault the simulator injects into poll (GET) responses. Counting is per
/// server, over all polls, starting at 1; submits and cancels are never
/// faulted (a faulted submit would make the caller's outcome ambiguous),
/// except by [`Fault::Outage`], which takes the whole service down.
///
/// ```
/// use openfunnel_sim::{Fault, SimConfig};
/// use std::time::Duration;
///
/// let config = SimConfig::default()
///     .with_fault(Fault::RateLimit { every: 5, retry_after: Duration::from_secs(1) })
///     .with_fault(Fault::ServerErrors { every: 20, burst: 2, status: 503 });
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Every `every`-th poll answers 429 with a `Retry-After` header.
    RateLimit {
        /// Period, in polls.
        every: u64,
        /// The wait announced.
        retry_after: Duration,
    },
    /// The first `burst` polls of every `every` answer `status` (a 5xx).
    ServerErrors {
        /// Period, in polls.
        every: u64,
        /// Consecutive failures at the start of each period.
        burst: u64,
        /// The status sent, e.g. 503.
        status: u16,
    },
    /// Every `every`-th poll answers 200 with its JSON body cut in half.
    TruncatedBody {
        /// Period, in polls.
        every: u64,
    },
    /// Every `every`-th poll has its connection dropped before any body byte.
    DropConnection {
        /// Period, in polls.
        every: u64,
    },
    /// Every poll answers 200 with exactly `body` instead of the job's page:
    /// bytes no real server should send (malformed, hostile, oversized),
    /// with a `Content-Length`, or `chunked` without one (its size is then
    /// only known while reading).
    Body {
        /// The bytes sent.
        body: Arc<[u8]>,
        /// Sent in 64 KiB chunks, without a `Content-Length`.
        chunked: bool,
    },
    /// Every poll answers 200 with its headers at once, then one byte every
    /// `interval`, forever: each read makes progress, so only a timeout on
    /// the whole request (body included) ends it.
    Drip {
        /// The pause between two bytes.
        interval: Duration,
    },
    /// The whole service is down from `after` (on the server's clock, from
    /// its start) for `lasting`: *every* request (submits and cancels too)
    /// gets `answer`, before its key is checked or its job looked up. Try a
    /// client against an outage with it.
    ///
    /// ```
    /// use openfunnel_sim::{Fault, OutageAnswer, SimConfig};
    /// use std::time::Duration;
    /// let config = SimConfig::default().with_fault(Fault::Outage {
    ///     after: Duration::from_secs(2),
    ///     lasting: Duration::from_secs(30),
    ///     answer: OutageAnswer::Status(503),
    /// });
    /// # let _ = config;
    /// ```
    Outage {
        /// When the outage starts.
        after: Duration,
        /// How long it lasts.
        lasting: Duration,
        /// What every request gets meanwhile.
        answer: OutageAnswer,
    },
    /// Poll number `poll` (from 1) meets `fault`: a schedule of faults by
    /// request number, for property tests.
    OnPoll {
        /// Which poll.
        poll: u64,
        /// What happens to it.
        fault: PollFault,
    },
}

/// What every request gets during a [`Fault::Outage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutageAnswer {
    /// This status (503, say), with OpenFunnel's error body.
    Status(u16),
    /// The connection breaks before any byte of the body (the status line
    /// says 200; nothing follows).
    DropConnection,
}

/// The outage `faults` schedule at `now`, if one is under way.
pub(crate) fn outage_at(faults: &[Fault], now: Duration) -> Option<OutageAnswer> {
    faults.iter().find_map(|fault| match *fault {
        Fault::Outage {
            after,
            lasting,
            answer,
        } if now >= after && now - after < lasting => Some(answer),
        _ => None,
    })
}

/// What happens to one poll of a [`Fault::OnPoll`] schedule.
///
/// ```
/// use openfunnel_sim::{Fault, PollFault, SimConfig};
/// let config = SimConfig::default()
///     .with_fault(Fault::OnPoll { poll: 3, fault: PollFault::ResetMidBody })
///     .with_fault(Fault::OnPoll { poll: 4, fault: PollFault::RateLimited { retry_after: None } });
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollFault {
    /// 429, with or without a `Retry-After` header.
    RateLimited {
        /// The wait announced, if any.
        retry_after: Option<Duration>,
    },
    /// This status (a 5xx), with OpenFunnel's error body.
    Status(u16),
    /// The connection breaks after half the body was sent.
    ResetMidBody,
    /// 200 with the JSON cut in half.
    Truncated,
    /// The answer comes after this long (past a client's request timeout).
    Stalled(Duration),
    /// The job's unknown-cursor answer, whatever the cursor.
    UnknownCursor,
}

/// What to do to one poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Injected {
    Body(Arc<[u8]>, bool),
    Drip(Duration),
    RateLimit(Option<Duration>),
    Status(u16),
    Truncate,
    Drop,
    ResetMidBody,
    Stall(Duration),
    UnknownCursor,
}

/// The first fault that applies to poll number `n` (from 1).
pub(crate) fn fault_for(faults: &[Fault], n: u64) -> Option<Injected> {
    faults.iter().find_map(|fault| match *fault {
        Fault::RateLimit { every, retry_after } if every > 0 && n.is_multiple_of(every) => {
            Some(Injected::RateLimit(Some(retry_after)))
        }
        Fault::OnPoll { poll, fault } if poll == n => Some(match fault {
            PollFault::RateLimited { retry_after } => Injected::RateLimit(retry_after),
            PollFault::Status(status) => Injected::Status(status),
            PollFault::ResetMidBody => Injected::ResetMidBody,
            PollFault::Truncated => Injected::Truncate,
            PollFault::Stalled(wait) => Injected::Stall(wait),
            PollFault::UnknownCursor => Injected::UnknownCursor,
        }),
        Fault::ServerErrors {
            every,
            burst,
            status,
        } if every > 0 && (n - 1) % every < burst => Some(Injected::Status(status)),
        Fault::TruncatedBody { every } if every > 0 && n.is_multiple_of(every) => {
            Some(Injected::Truncate)
        }
        Fault::DropConnection { every } if every > 0 && n.is_multiple_of(every) => {
            Some(Injected::Drop)
        }
        Fault::Body { ref body, chunked } => Some(Injected::Body(body.clone(), chunked)),
        Fault::Drip { interval } => Some(Injected::Drip(interval)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_follow_their_period() {
        let faults = [
            Fault::ServerErrors {
                every: 10,
                burst: 2,
                status: 503,
            },
            Fault::RateLimit {
                every: 4,
                retry_after: Duration::from_secs(1),
            },
        ];
        let schedule: Vec<Option<Injected>> = (1..=12).map(|n| fault_for(&faults, n)).collect();
        let limited = Some(Injected::RateLimit(Some(Duration::from_secs(1))));
        assert_eq!(schedule[0], Some(Injected::Status(503)));
        assert_eq!(schedule[1], Some(Injected::Status(503)));
        assert_eq!(schedule[2], None);
        assert_eq!(schedule[3], limited);
        assert_eq!(schedule[7], limited);
        assert_eq!(schedule[10], Some(Injected::Status(503)));
    }

    #[test]
    fn an_outage_covers_its_window_and_nothing_else() {
        let faults = [Fault::Outage {
            after: Duration::from_secs(2),
            lasting: Duration::from_secs(3),
            answer: OutageAnswer::Status(503),
        }];
        let at = |ms| outage_at(&faults, Duration::from_millis(ms));
        assert_eq!(at(1_999), None);
        assert_eq!(at(2_000), Some(OutageAnswer::Status(503)));
        assert_eq!(at(4_999), Some(OutageAnswer::Status(503)));
        assert_eq!(at(5_000), None, "the end is not part of it");
        assert_eq!(fault_for(&faults, 1), None, "not a per-poll fault");
    }

    #[test]
    fn a_fault_on_a_poll_number_hits_that_poll_only() {
        let faults = [Fault::OnPoll {
            poll: 3,
            fault: PollFault::Stalled(Duration::from_millis(5)),
        }];
        let schedule: Vec<Option<Injected>> = (1..=5).map(|n| fault_for(&faults, n)).collect();
        assert_eq!(
            schedule,
            [
                None,
                None,
                Some(Injected::Stall(Duration::from_millis(5))),
                None,
                None
            ]
        );
    }
}
