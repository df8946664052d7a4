//! Faults injected into poll responses, on a deterministic schedule.

use std::time::Duration;

/// A fault the simulator injects into poll (GET) responses. Counting is per
/// server, over all polls, starting at 1; submits and cancels are never
/// faulted (a faulted submit would make the caller's outcome ambiguous).
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
}

/// What to do to one poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Injected {
    RateLimit(Duration),
    Status(u16),
    Truncate,
    Drop,
}

/// The first fault that applies to poll number `n` (from 1).
pub(crate) fn fault_for(faults: &[Fault], n: u64) -> Option<Injected> {
    faults.iter().find_map(|fault| match *fault {
        Fault::RateLimit { every, retry_after } if every > 0 && n.is_multiple_of(every) => {
            Some(Injected::RateLimit(retry_after))
        }
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
        let limited = Some(Injected::RateLimit(Duration::from_secs(1)));
        assert_eq!(schedule[0], Some(Injected::Status(503)));
        assert_eq!(schedule[1], Some(Injected::Status(503)));
        assert_eq!(schedule[2], None);
        assert_eq!(schedule[3], limited);
        assert_eq!(schedule[7], limited);
        assert_eq!(schedule[10], Some(Injected::Status(503)));
    }
}
