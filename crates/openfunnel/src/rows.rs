//! A job's rows as a stream over [`Pages`], with exact checkpoints between
//! any two rows.

use crate::error::Error;
use crate::kind::JobKind;
use crate::outcome::StreamOutcome;
use crate::page::Checkpoint;
use crate::pages::Pages;
use crate::policy::PollPolicy;
use crate::waiting::Progress;
use futures_util::stream::{Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A stream of every row of a job (`Result<Row, Error>`), each exactly once
/// and in server order, yielded as soon as its page is written. Built on
/// [`Pages`]; same laziness, ordering and error rules. `Send` and `Unpin`.
///
/// [`Rows::checkpoint`] is the exact position after the last row handed out,
/// so a caller can stop anywhere and continue later with
/// [`Rows::resume_from`] without duplicates or gaps.
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
    current: std::vec::IntoIter<K::Row>,
    position: Position,
}

/// Where the row stream is, for checkpoints.
#[derive(Clone, Debug, Default)]
struct Position {
    job_id: String,
    cursor: Option<String>,
    skipped: usize,
    delivered: usize,
    remaining: usize,
    next_cursor: Option<String>,
    start: Checkpoint,
    started: bool,
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
    pub(crate) fn new(pages: Pages<K>) -> Self {
        Rows {
            pages,
            current: Vec::new().into_iter(),
            position: Position::default(),
        }
    }

    /// Starts at a saved position (see [`Rows::checkpoint`]).
    pub fn resume_from(mut self, checkpoint: Checkpoint) -> Self {
        if !self.position.started {
            self.position.start = checkpoint.clone();
            self.pages = self.pages.resume_from(checkpoint);
        }
        self
    }

    /// Polls with `policy` instead of the client's default.
    pub fn with_policy(mut self, policy: PollPolicy) -> Self {
        self.pages = self.pages.with_policy(policy);
        self
    }

    /// Fetches at most `concurrency` pages at once once the job is terminal.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.pages = self.pages.with_concurrency(concurrency);
        self
    }

    /// Ends the stream, without an error, once every row the running job has
    /// written so far was delivered (see [`Pages::until_caught_up`]).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let available: Vec<_> = job.rows().until_caught_up().try_collect().await?;
    /// # let _ = available;
    /// # Ok(())
    /// # }
    /// ```
    pub fn until_caught_up(mut self) -> Self {
        self.pages = self.pages.until_caught_up();
        self
    }

    /// Calls `observer` after every response, for progress bars.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
    /// let rows = job.rows().on_progress(|p| eprintln!("{} rows so far", p.rows));
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.pages = self.pages.on_progress(observer);
        self
    }

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
        let position = &self.position;
        if !position.started {
            return position.start.clone();
        }
        if position.remaining == 0
            && let Some(next) = &position.next_cursor
        {
            return Checkpoint::new::<K>(&position.job_id, Some(next.clone()), 0);
        }
        Checkpoint::new::<K>(
            &position.job_id,
            position.cursor.clone(),
            position.skipped + position.delivered,
        )
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
            if let Some(row) = this.current.next() {
                this.position.delivered += 1;
                this.position.remaining -= 1;
                return Poll::Ready(Some(Ok(row)));
            }
            match Pin::new(&mut this.pages).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(page))) => {
                    this.position = Position {
                        job_id: page.job_id.clone(),
                        cursor: page.cursor.clone(),
                        skipped: page.skipped,
                        delivered: 0,
                        remaining: page.rows.len(),
                        next_cursor: page.next_cursor.clone(),
                        start: std::mem::take(&mut this.position.start),
                        started: true,
                    };
                    this.current = page.rows.into_iter();
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
            }
        }
    }
}

/// The rows gathered before an error, the error, and where to resume.
///
/// ```
/// fn report(partial: openfunnel::PartialRows<openfunnel::LookalikeRow>) {
///     eprintln!("{partial}");
///     let kept = partial.rows; // not lost
///     # let _ = kept;
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{error} ({} rows were gathered before it and are kept)", rows.len())]
#[non_exhaustive]
pub struct PartialRows<Row: std::fmt::Debug> {
    /// Every row received before the error, in order.
    pub rows: Vec<Row>,
    /// What stopped the stream.
    #[source]
    pub error: Error,
    /// Where to resume to get the rest.
    pub checkpoint: Checkpoint,
}
