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
