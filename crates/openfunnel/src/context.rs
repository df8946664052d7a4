//! What every part of the engine shares: the transport and the client's
//! defaults. Job handles and streams hold it, not the [`crate::Client`].

use crate::policy::PollPolicy;
use crate::transport::Transport;
use std::sync::Arc;
use std::time::Instant;

/// The transport and the defaults of one client, shared by its jobs.
pub(crate) struct Context {
    pub transport: Transport,
    /// The default poll policy of waits and streams.
    pub poll_policy: PollPolicy,
    /// The default prefetch window of streams.
    pub page_concurrency: usize,
}

/// A handle on a client's [`Context`].
pub(crate) type Shared = Arc<Context>;

impl Context {
    /// The client's clock (virtual in tests).
    pub(crate) fn now(&self) -> Instant {
        self.transport.timer.now()
    }
}
