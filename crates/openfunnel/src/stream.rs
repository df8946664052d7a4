//! A job's pages and rows as streams: the settings, given before a stream
//! starts ([`StreamBuilder`]), the page stream over the walk in
//! [`crate::walk`] ([`Pages`]), and the row stream, a thin adapter over the
//! page stream ([`Rows`]).

use crate::context::Shared;
use crate::error::Error;
use crate::kind::JobKind;
use crate::outcome::{PartialRows, Progress, StreamOutcome};
use crate::page::{Checkpoint, Page, PagePosition, RowTexts};
use crate::policy::PollPolicy;
use crate::redact;
use crate::walk::{Walk, WalkConfig};
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream::{Stream, StreamExt};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The settings of a page or row stream, from [`crate::Job::stream`]. Every
/// setting is given here, before the stream exists, so none can be changed
/// once it runs; [`StreamBuilder::pages`] or [`StreamBuilder::rows`] makes
/// the stream. ([`crate::Job::pages`] and [`crate::Job::rows`] are the
/// same with the client's defaults.)
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
/// use futures_util::TryStreamExt;
///
/// let mut pages = job
///     .stream()
///     .resume_from(saved)
///     .with_concurrency(4)
///     .on_progress(|progress| eprintln!("{} rows", progress.rows))
///     .pages();
/// while let Some(page) = pages.try_next().await? {
///     // persist page.rows, then page.checkpoint()
/// }
/// # Ok(())
/// # }
/// ```
pub struct StreamBuilder<K: JobKind> {
    config: WalkConfig,
    kind: PhantomData<fn() -> K>,
}

impl<K: JobKind> std::fmt::Debug for StreamBuilder<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamBuilder")
            .field("job_id", &self.config.job_id)
            .field("start", &self.config.start)
            .field("policy", &self.config.policy)
            .field("concurrency", &self.config.concurrency)
            .field("until_caught_up", &self.config.until_caught_up)
            .finish_non_exhaustive()
    }
}

impl<K: JobKind> StreamBuilder<K> {
    pub(crate) fn new(context: Shared, job_id: Arc<str>) -> Self {
        StreamBuilder {
            config: WalkConfig {
                policy: context.poll_policy.clone(),
                concurrency: context.page_concurrency,
                context,
                job_id,
                start: Checkpoint::start(),
                observer: None,
                until_caught_up: false,
                texts: RowTexts::Skip,
            },
            kind: PhantomData,
        }
    }

    /// Starts at a saved position instead of the first page. Rows delivered
    /// before the checkpoint are not delivered again.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>, json: &str) -> Result<(), serde_json::Error> {
    /// let saved: openfunnel::Checkpoint = serde_json::from_str(json)?;
    /// let rows = job.stream().resume_from(saved).rows();
    /// # let _ = rows;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume_from(mut self, checkpoint: Checkpoint) -> Self {
        self.config.start = checkpoint;
        self
    }

    /// Polls with `policy` instead of the client's default.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_deadline(Duration::from_secs(600));
    /// let rows = job.stream().with_policy(policy).rows();
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn with_policy(mut self, policy: PollPolicy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Fetches at most `concurrency` pages at once once the job is terminal
    /// and its cursors are predictable (1: strictly one `next_cursor` after
    /// another; default [`crate::ClientBuilder::with_page_concurrency`]).
    /// Pages fetched ahead are delivered only when the chain confirms them,
    /// so this changes speed, never the rows.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let one_at_a_time = job.stream().with_concurrency(1).pages();
    /// # let _ = one_at_a_time;
    /// # }
    /// ```
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.config.concurrency = concurrency.max(1);
        self
    }

    /// Ends the stream, without an error, once it has delivered every page
    /// the job has written so far and the job still runs: the stream never
    /// waits for pages not written yet. Requests are still retried as usual,
    /// and a request that fails is an error, never an early end. The
    /// stream's `outcome()` is `None` when it stopped this way (the job was
    /// not terminal), `Some` when it reached the end of a terminal job.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.stream().resume_from(saved).until_caught_up().pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     // persist page.rows and page.checkpoint()
    /// }
    /// let finished = pages.outcome().is_some();
    /// # let _ = finished;
    /// # Ok(())
    /// # }
    /// ```
    pub fn until_caught_up(mut self) -> Self {
        self.config.until_caught_up = true;
        self
    }

    /// Calls `observer` after every response, for progress bars.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let pages = job.stream().on_progress(|p| eprintln!("{}: {} rows", p.status, p.rows)).pages();
    /// # let _ = pages;
    /// # }
    /// ```
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.config.observer = Some(Arc::new(observer));
        self
    }

    /// The stream of pages, each keeping its rows' JSON text
    /// ([`Page::json_rows`]).
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let pages = job.stream().with_concurrency(2).pages();
    /// # let _ = pages;
    /// # }
    /// ```
    pub fn pages(mut self) -> Pages<K> {
        self.config.texts = RowTexts::Keep;
        Pages::new(self.config)
    }

    /// The stream of rows (typed rows only: their pages skip the JSON text).
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let rows = job.stream().with_concurrency(2).rows();
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn rows(self) -> Rows<K> {
        Rows {
            pages: Pages::new(self.config),
            rows: Vec::new().into_iter(),
            position: None,
            handled: 0,
        }
    }
}

/// A stream of a job's pages (`Result<Page<K>, Error>`), each yielded as soon
/// as it is written. Lazy: nothing is sent before the first poll. Ends after
/// the last page of a completed job, or with one error (for a failed or
/// cancelled job: after every page it wrote). `Send` and `Unpin`.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// use futures_util::TryStreamExt;
///
/// let mut pages = job.pages();
/// while let Some(page) = pages.try_next().await? {
///     // persist page.rows, then page.checkpoint()
/// }
/// # Ok(())
/// # }
/// ```
pub struct Pages<K: JobKind> {
    /// The settings, until the first poll starts the walk (so its clock
    /// starts then).
    config: Option<Box<WalkConfig>>,
    walk: Option<Box<Walk<K>>>,
    step: Option<BoxFuture<'static, Step<K>>>,
    checkpoint: Checkpoint,
    pages_read: u64,
    outcome: Option<Box<StreamOutcome<K>>>,
}

type Step<K> = (Box<Walk<K>>, Option<Result<Page<K>, Error>>);

impl<K: JobKind> std::fmt::Debug for Pages<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match (&self.config, &self.walk, &self.step) {
            (Some(_), _, _) => "not started",
            (None, None, None) => "finished",
            _ => "walking",
        };
        f.debug_struct("Pages")
            .field("state", &state)
            .field("checkpoint", &self.checkpoint)
            .finish()
    }
}

impl<K: JobKind> Pages<K> {
    fn new(config: WalkConfig) -> Self {
        Pages {
            checkpoint: config.start.clone(),
            pages_read: 0,
            config: Some(Box::new(config)),
            walk: None,
            step: None,
            outcome: None,
        }
    }

    /// The position after the last page handed out (before the first one:
    /// where the stream starts).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// use futures_util::StreamExt;
    /// let mut pages = job.pages();
    /// if let Some(Err(error)) = pages.next().await {
    ///     eprintln!("{error}; resume from {:?}", pages.checkpoint());
    /// }
    /// # }
    /// ```
    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint.clone()
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
        self.outcome.as_deref()
    }

    /// Pages of the job's chain this stream has read so far: each page with
    /// rows or a name once, however often a running job's page was read
    /// again while it grew (the count [`StreamOutcome::pages`] ends with).
    /// 0 until the first page arrives.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.stream().until_caught_up().pages();
    /// while pages.try_next().await?.is_some() {}
    /// println!("{} pages written so far", pages.pages_read());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages_read(&self) -> u64 {
        self.pages_read
    }
}

impl<K: JobKind> Stream for Pages<K> {
    type Item = Result<Page<K>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.step.is_none() {
            let mut walk = match (this.walk.take(), this.config.take()) {
                (Some(walk), _) => walk,
                (None, Some(config)) => Box::new(Walk::new(*config)),
                (None, None) => return Poll::Ready(None),
            };
            this.step = Some(Box::pin(async move {
                let item = walk.next().await;
                (walk, item)
            }));
        }
        let Some(Poll::Ready((mut walk, item))) =
            this.step.as_mut().map(|step| step.poll_unpin(cx))
        else {
            return Poll::Pending;
        };
        this.step = None;
        this.pages_read = walk.pages_read();
        Poll::Ready(match item {
            Some(Ok(page)) => {
                this.checkpoint = page.checkpoint();
                this.walk = Some(walk);
                Some(Ok(page))
            }
            ended => {
                this.outcome = walk.outcome().map(Box::new);
                let key = &walk.context().transport.api_key;
                ended.map(|item| item.map_err(|error| redact::error(error, key)))
            }
        })
    }
}

/// A stream of every row of a job (`Result<Row, Error>`), each exactly once
/// and in server order, yielded as soon as its page is written. A thin
/// adapter over [`Pages`]: same laziness, ordering and error rules. `Send`
/// and `Unpin`.
///
/// [`Rows::checkpoint`] is the exact position after the last row handed out,
/// so a caller can stop anywhere and continue later with
/// [`StreamBuilder::resume_from`] without duplicates or gaps.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// use futures_util::StreamExt;
///
/// let mut rows = job.rows();
/// while let Some(row) = rows.next().await {
///     match row {
///         Ok(row) => println!("{}", row.name.unwrap_or_default()),
///         Err(error) => {
///             eprintln!("{error}; resume later from {:?}", rows.checkpoint());
///             break;
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct Rows<K: JobKind> {
    pages: Pages<K>,
    /// The current page's rows not handed out yet.
    rows: std::vec::IntoIter<K::Row>,
    /// Where the current page sits, and how many of its rows were handed out.
    position: Option<PagePosition>,
    handled: usize,
}

impl<K: JobKind> std::fmt::Debug for Rows<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("pages", &self.pages)
            .field("checkpoint", &self.checkpoint())
            .finish()
    }
}

impl<K: JobKind> Rows<K> {
    /// How the stream ended, once it has (see [`Pages::outcome`]).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::TechIntent>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut rows = job.rows();
    /// while rows.try_next().await?.is_some() {}
    /// let credits = rows.outcome().and_then(|end| end.manifest.as_ref()?.credits_consumed);
    /// # let _ = credits;
    /// # Ok(())
    /// # }
    /// ```
    pub fn outcome(&self) -> Option<&StreamOutcome<K>> {
        self.pages.outcome()
    }

    /// The position right after the last row handed out.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// use futures_util::StreamExt;
    /// let mut rows = job.rows();
    /// let _first = rows.next().await;
    /// let saved = serde_json::to_string(&rows.checkpoint()).unwrap();
    /// # let _ = saved;
    /// # }
    /// ```
    pub fn checkpoint(&self) -> Checkpoint {
        match &self.position {
            Some(position) => position.after(self.handled),
            None => self.pages.checkpoint(),
        }
    }

    /// Gathers every row (for small jobs). On an error, the rows gathered
    /// so far are kept in the [`PartialRows`] error with the checkpoint.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::TechIntent>) {
    /// match job.rows().collect_all().await {
    ///     Ok(rows) => println!("{} rows", rows.len()),
    ///     Err(partial) => eprintln!("{} rows before: {}", partial.rows.len(), partial.error),
    /// }
    /// # }
    /// ```
    pub async fn collect_all(mut self) -> Result<Vec<K::Row>, PartialRows<K::Row>> {
        let mut rows = Vec::new();
        while let Some(row) = self.next().await {
            match row {
                Ok(row) => rows.push(row),
                Err(error) => {
                    return Err(PartialRows {
                        checkpoint: self.checkpoint(),
                        rows,
                        error,
                    });
                }
            }
        }
        Ok(rows)
    }
}

impl<K: JobKind> Stream for Rows<K> {
    type Item = Result<K::Row, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(row) = this.rows.next() {
                this.handled += 1;
                return Poll::Ready(Some(Ok(row)));
            }
            match std::task::ready!(this.pages.poll_next_unpin(cx)) {
                Some(Ok(page)) => {
                    this.position = Some(page.position());
                    this.handled = 0;
                    this.rows = page.rows.into_iter();
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}
