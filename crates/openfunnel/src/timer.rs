//! The clock and sleep the SDK waits with, injectable so tests can assert an
//! exact poll schedule without waiting for real.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed sleep future.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of time: what `now` is, and how to wait.
///
/// The default, [`TokioTimer`], uses the real clock and `tokio::time::sleep`.
/// A test can supply a timer whose `sleep` returns at once and advances a
/// virtual clock, then assert every delay the SDK asked for.
///
/// ```
/// use openfunnel::{Sleep, Timer};
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, Instant};
///
/// /// Records every sleep and moves a virtual clock instead of waiting.
/// #[derive(Debug)]
/// struct VirtualTimer { start: Instant, elapsed: Mutex<Duration>, sleeps: Mutex<Vec<Duration>> }
///
/// impl Timer for VirtualTimer {
///     fn now(&self) -> Instant {
///         self.start + *self.elapsed.lock().unwrap()
///     }
///     fn sleep(&self, duration: Duration) -> Sleep {
///         *self.elapsed.lock().unwrap() += duration;
///         self.sleeps.lock().unwrap().push(duration);
///         Box::pin(std::future::ready(()))
///     }
/// }
/// ```
pub trait Timer: Debug + Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock, with `tokio::time::sleep`. Needs a Tokio runtime with the
/// time driver enabled (any `#[tokio::main]` runtime has it).
///
/// ```
/// use openfunnel::Timer;
/// let timer = openfunnel::TokioTimer;
/// let before = timer.now();
/// assert!(timer.now() >= before);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioTimer;

impl Timer for TokioTimer {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// `instant + duration`, or `None` when that instant cannot be represented
/// (a deadline so far away that it is no deadline). Every deadline the SDK
/// computes goes through here: `Instant + Duration` panics on overflow, and
/// both halves can come from a user (`Duration::MAX`) or a server
/// (`Retry-After: 99999999999999999999`).
pub(crate) fn later(instant: Instant, duration: Duration) -> Option<Instant> {
    instant.checked_add(duration)
}

/// `duration × factor` for a factor in `[0, 1]`, never panicking and never
/// more than `duration` (`Duration::mul_f64` panics when the product rounds
/// past `Duration::MAX`, which a factor just below 1 of `Duration::MAX` does).
pub(crate) fn scaled(duration: Duration, factor: f64) -> Duration {
    let factor = if factor.is_finite() {
        factor.clamp(0.0, 1.0)
    } else {
        1.0
    };
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor)
        .unwrap_or(duration)
        .min(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_that_cannot_be_represented_is_none_not_a_panic() {
        let now = Instant::now();
        assert_eq!(later(now, Duration::MAX), None);
        assert_eq!(later(now, Duration::from_secs(u64::MAX)), None);
        assert_eq!(
            later(now, Duration::from_secs(1)),
            Some(now + Duration::from_secs(1))
        );
    }

    #[test]
    fn scaling_stays_within_the_duration_at_every_extreme() {
        for duration in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_secs(4),
            Duration::from_secs(u64::MAX),
            Duration::MAX,
        ] {
            for factor in [0.0, 1e-9, 0.5, 0.999_999_999, 1.0, 2.0, f64::NAN, -1.0] {
                assert!(
                    scaled(duration, factor) <= duration,
                    "{duration:?} × {factor}"
                );
            }
        }
        assert_eq!(scaled(Duration::from_secs(4), 0.5), Duration::from_secs(2));
        assert_eq!(scaled(Duration::from_secs(4), 0.0), Duration::ZERO);
    }
}
