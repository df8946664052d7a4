//! A job's pages as a stream, each exactly once, in chain order: a thin
//! [`Stream`] over the walk in [`crate::walk`].

use crate::client::Client;
use crate::error::Error;
use crate::fetch::RowTexts;
use crate::kind::JobKind;
use crate::outcome::StreamOutcome;
use crate::page::{Checkpoint, Page};
use crate::policy::PollPolicy;
use crate::waiting::Progress;
use crate::walk::{Walk, WalkConfig};
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A stream of a job's pages (`Result<Page<K>, Error>`), each yielded as soon
/// as it is written. Lazy: nothing is sent before the first poll. Ends after
/// the last page of a completed job, or with one error (for a failed or
/// cancelled job: after every page it wrote). `Send` and `Unpin`.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
/// use futures_util::TryStreamExt;
///
/// let mut pages = job.pages().resume_from(saved).with_concurrency(4);
/// while let Some(page) = pages.try_next().await? {
///     // persist page.rows, then page.checkpoint()
/// }
/// # Ok(())
/// # }
/// ```
pub struct Pages<K: JobKind> {
    state: State<K>,
}

type Step<K> = (Box<Walk<K>>, Option<Result<Page<K>, Error>>);

enum State<K: JobKind> {
    Configuring(Box<WalkConfig>),
    Idle(Box<Walk<K>>),
    Stepping(BoxFuture<'static, Step<K>>),
    Finished(Option<Box<StreamOutcome<K>>>),
}

impl<K: JobKind> std::fmt::Debug for Pages<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Configuring(_) => "not started",
            State::Idle(_) | State::Stepping(_) => "walking",
            State::Finished(_) => "finished",
        };
        f.debug_struct("Pages").field("state", &state).finish()
    }
}

impl<K: JobKind> Pages<K> {
    pub(crate) fn new(client: Client, job_id: Arc<str>, texts: RowTexts) -> Self {
        let inner = client.inner();
        let config = WalkConfig {
            policy: inner.poll_policy.clone(),
            concurrency: inner.page_concurrency,
            client: client.clone(),
            job_id,
            start: Checkpoint::start(),
            observer: None,
            until_caught_up: false,
            texts,
        };
        Pages {
            state: State::Configuring(Box::new(config)),
        }
    }

    fn configure(mut self, change: impl FnOnce(&mut WalkConfig)) -> Self {
        if let State::Configuring(config) = &mut self.state {
            change(config);
        }
        self
    }

    /// Starts at a saved position instead of the first page. Rows delivered
    /// before the checkpoint are not delivered again.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>, json: &str) -> Result<(), serde_json::Error> {
    /// let saved: openfunnel::Checkpoint = serde_json::from_str(json)?;
    /// let pages = job.pages().resume_from(saved);
    /// # let _ = pages;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume_from(self, checkpoint: Checkpoint) -> Self {
        self.configure(|config| config.start = checkpoint)
    }

    /// Polls with `policy` instead of the client's default.
    pub fn with_policy(self, policy: PollPolicy) -> Self {
        self.configure(|config| config.policy = policy)
    }

    /// Fetches at most `concurrency` pages at once once the job is terminal
    /// and its cursors are predictable (1: strictly one `next_cursor` after
    /// another). Pages fetched ahead are delivered only when the chain
    /// confirms them, so this changes speed, never the rows.
    pub fn with_concurrency(self, concurrency: usize) -> Self {
        self.configure(|config| config.concurrency = concurrency.max(1))
    }

    /// Ends the stream, without an error, once it has delivered every page
    /// the job has written so far and the job still runs: the stream never
    /// waits for pages not written yet. Requests are still retried as usual,
    /// and a request that fails is an error, never an early end. The
    /// stream's [`Pages::outcome`] is `None` when it stopped this way (the
    /// job was not terminal), `Some` when it reached the end of a terminal
    /// job.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages().resume_from(saved).until_caught_up();
    /// while let Some(page) = pages.try_next().await? {
    ///     // persist page.rows and page.checkpoint()
    /// }
    /// let finished = pages.outcome().is_some();
    /// # let _ = finished;
    /// # Ok(())
    /// # }
    /// ```
    pub fn until_caught_up(self) -> Self {
        self.configure(|config| config.until_caught_up = true)
    }

    /// Calls `observer` after every response, for progress bars.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let pages = job.pages().on_progress(|p| eprintln!("{}: {} rows", p.status, p.rows));
    /// # let _ = pages;
    /// # }
    /// ```
    pub fn on_progress(self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.configure(|config| config.observer = Some(Arc::new(observer)))
    }

    /// How the stream ended (final status, manifest, any mismatch between
    /// manifest and chain), once it has ended at a terminal job. See
    /// [`StreamOutcome`].
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages();
    /// while pages.try_next().await?.is_some() {}
    /// let end = pages.outcome().expect("a completed stream has an outcome");
    /// println!("{} pages, {} discarded prefetches", end.pages, end.discarded_prefetches);
    /// # Ok(())
    /// # }
    /// ```
    pub fn outcome(&self) -> Option<&StreamOutcome<K>> {
        match &self.state {
            State::Finished(outcome) => outcome.as_deref(),
            _ => None,
        }
    }
}

impl<K: JobKind> Stream for Pages<K> {
    type Item = Result<Page<K>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Finished(None)) {
                State::Configuring(config) => {
                    this.state = State::Idle(Box::new(Walk::new(*config)));
                }
                State::Idle(mut walk) => {
                    this.state = State::Stepping(Box::pin(async move {
                        let item = walk.next().await;
                        (walk, item)
                    }));
                }
                State::Stepping(mut step) => {
                    let Poll::Ready((mut walk, item)) = step.poll_unpin(cx) else {
                        this.state = State::Stepping(step);
                        return Poll::Pending;
                    };
                    this.state = match &item {
                        Some(Ok(_)) => State::Idle(walk),
                        _ => State::Finished(walk.outcome().map(Box::new)),
                    };
                    return Poll::Ready(item);
                }
                State::Finished(outcome) => {
                    this.state = State::Finished(outcome);
                    return Poll::Ready(None);
                }
            }
        }
    }
}
