//! Reading a job's pages while it runs, each exactly once, in server order.
//!
//! The walker follows `next_cursor` from page to page. A running job's last
//! written page has no `next_cursor` yet; that means *not yet*, so the walker
//! polls the same page again (with the poll policy's backoff) until the next
//! cursor appears or the status becomes terminal. Completion is decided by
//! `status` alone.
//!
//! Once the job is terminal and its manifest says how many pages exist, the
//! remaining pages are fetched concurrently (bounded, in order of delivery);
//! should the server refuse a cursor built that way, the walker goes back to
//! following `next_cursor`. A cursor seen twice, or a page whose name does not
//! match the request, stops the walk with [`Error::InconsistentPages`] instead
//! of looping or duplicating rows.

use crate::error::Error;
use crate::job::{Job, Progress, Waiting, terminal_error};
use crate::kind::JobKind;
use crate::page::{Checkpoint, Page};
use crate::policy::PollPolicy;
use crate::status::JobStatus;
use crate::validate;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

type Observer = Arc<dyn Fn(&Progress) + Send + Sync>;

/// The settings of a walk, fixed when the stream is first polled.
struct WalkConfig<K: JobKind> {
    job: Job<K>,
    start: Checkpoint,
    policy: PollPolicy,
    concurrency: usize,
    observer: Option<Observer>,
}

/// A stream of a job's pages (`Result<Page<K>, Error>`), each yielded as soon
/// as it is written. Lazy: nothing is sent before the first poll. Ends after
/// the last page of a completed job, or with one error (for a failed or
/// cancelled job: after every page it wrote). `Send` and `Unpin`.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalikes>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
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

enum State<K: JobKind> {
    Configuring(Box<WalkConfig<K>>),
    Walking(BoxStream<'static, Result<Page<K>, Error>>),
    Finished,
}

impl<K: JobKind> std::fmt::Debug for Pages<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Configuring(_) => "not started",
            State::Walking(_) => "walking",
            State::Finished => "finished",
        };
        f.debug_struct("Pages").field("state", &state).finish()
    }
}

impl<K: JobKind> Pages<K> {
    pub(crate) fn new(job: Job<K>) -> Self {
        let inner = job.client.inner();
        let config = WalkConfig {
            policy: inner.poll_policy.clone(),
            concurrency: inner.page_concurrency,
            job,
            start: Checkpoint::start(),
            observer: None,
        };
        Pages {
            state: State::Configuring(Box::new(config)),
        }
    }

    fn configure(mut self, change: impl FnOnce(&mut WalkConfig<K>)) -> Self {
        if let State::Configuring(config) = &mut self.state {
            change(config);
        }
        self
    }

    /// Starts at a saved position instead of the first page. Rows delivered
    /// before the checkpoint are not delivered again.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>, json: &str) -> Result<(), serde_json::Error> {
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
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// let pages = job.pages().with_policy(openfunnel::PollPolicy::default().without_deadline());
    /// # let _ = pages;
    /// # }
    /// ```
    pub fn with_policy(self, policy: PollPolicy) -> Self {
        self.configure(|config| config.policy = policy)
    }

    /// Fetches at most `concurrency` pages at once once the job is terminal
    /// (1: strictly one `next_cursor` after another).
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// let sequential = job.pages().with_concurrency(1);
    /// # let _ = sequential;
    /// # }
    /// ```
    pub fn with_concurrency(self, concurrency: usize) -> Self {
        self.configure(|config| config.concurrency = concurrency.max(1))
    }

    /// Calls `observer` after every response, for progress bars.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// let pages = job.pages().on_progress(|p| eprintln!("{}: {} rows", p.status, p.rows));
    /// # let _ = pages;
    /// # }
    /// ```
    pub fn on_progress(self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.configure(|config| config.observer = Some(Arc::new(observer)))
    }

    fn start_config(&self) -> Option<&Checkpoint> {
        match &self.state {
            State::Configuring(config) => Some(&config.start),
            _ => None,
        }
    }
}

impl<K: JobKind> Stream for Pages<K> {
    type Item = Result<Page<K>, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Configuring(_) => {
                    let State::Configuring(config) =
                        std::mem::replace(&mut this.state, State::Finished)
                    else {
                        unreachable!("matched above")
                    };
                    this.state = State::Walking(walk(*config));
                }
                State::Walking(stream) => {
                    return match stream.poll_next_unpin(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(Some(Ok(page))) => Poll::Ready(Some(Ok(page))),
                        Poll::Ready(Some(Err(error))) => {
                            this.state = State::Finished;
                            Poll::Ready(Some(Err(error)))
                        }
                        Poll::Ready(None) => {
                            this.state = State::Finished;
                            Poll::Ready(None)
                        }
                    };
                }
                State::Finished => return Poll::Ready(None),
            }
        }
    }
}

fn walk<K: JobKind>(config: WalkConfig<K>) -> BoxStream<'static, Result<Page<K>, Error>> {
    futures_util::stream::unfold(Walker::new(config), |mut walker| async move {
        walker.next_page().await.map(|item| (item, walker))
    })
    .boxed()
}

/// What the walker does after one step.
enum Step<K: JobKind> {
    Yield(Page<K>),
    Fail(Error),
    Continue,
}

/// How the walk ends once no page is left.
enum End {
    Complete,
    Fail(Error),
}

/// Remaining pages of a terminal job, fetched concurrently, in order.
struct Ahead<K: JobKind> {
    fetches: BoxStream<'static, (String, Result<Page<K>, Error>)>,
    terminal: Page<K>,
}

struct Walker<K: JobKind> {
    job: Job<K>,
    waiting: Waiting,
    concurrency: usize,
    observer: Option<Observer>,
    /// The page to read next while walking cursors (`None`: the first page).
    cursor: Option<String>,
    /// Rows of that page already delivered (from a checkpoint).
    skip: usize,
    /// Whether the page at `cursor` has been delivered already.
    delivered_current: bool,
    /// Cursors and page names delivered, to refuse cycles.
    visited: HashSet<String>,
    /// The name and `next_cursor` of the last delivered page.
    last_name: Option<String>,
    last_next: Option<String>,
    ahead: Option<Ahead<K>>,
    end: Option<End>,
    pages: u64,
    rows: u64,
}

impl<K: JobKind> Walker<K> {
    fn new(config: WalkConfig<K>) -> Self {
        let waiting = Waiting::new(
            config.job.client.clone(),
            config.job.id.clone(),
            config.policy,
        );
        Walker {
            cursor: config.start.cursor().map(str::to_string),
            skip: config.start.rows_delivered(),
            job: config.job,
            waiting,
            concurrency: config.concurrency,
            observer: config.observer,
            delivered_current: false,
            visited: HashSet::new(),
            last_name: None,
            last_next: None,
            ahead: None,
            end: None,
            pages: 0,
            rows: 0,
        }
    }

    async fn next_page(&mut self) -> Option<Result<Page<K>, Error>> {
        if let Some(cursor) = &self.cursor
            && let Err(error) = validate::cursor(cursor)
        {
            self.cursor = None;
            self.end = Some(End::Fail(error));
        }
        loop {
            let step = if let Some(end) = self.end.take() {
                return match end {
                    End::Complete => None,
                    End::Fail(error) => Some(Err(error)),
                };
            } else if self.ahead.is_some() {
                self.next_ahead().await
            } else {
                self.next_sequential().await
            };
            match step {
                Step::Yield(page) => return Some(Ok(page)),
                Step::Fail(error) => return Some(Err(error)),
                Step::Continue => {}
            }
        }
    }

    /// One request for the page at `cursor`.
    async fn next_sequential(&mut self) -> Step<K> {
        let cursor = self.cursor.clone();
        let page = match self.job.fetch(cursor.as_deref()).await {
            Ok(page) => page,
            Err(error) => return Step::Fail(error),
        };
        self.waiting.observed(&page);
        if let (Some(requested), Some(name)) = (cursor.as_deref(), page.name.as_deref())
            && requested != name
        {
            return Step::Fail(self.inconsistent(format!(
                "asked for page `{requested}` and received page `{name}`"
            )));
        }
        let terminal = page.status.is_terminal();
        // A page is written once it has rows; an empty page only counts once
        // the job is terminal (a finished job may end on an empty page).
        if !self.delivered_current && (!page.rows.is_empty() || terminal) {
            return self.deliver(page);
        }
        self.report(&page);
        if self.delivered_current
            && let Some(next) = page.next_cursor.clone()
        {
            return step_from(self.advance(next));
        }
        if terminal {
            let plan = self.plan_terminal(page);
            return step_from(plan);
        }
        // Not written yet: the job runs and the next page has not landed.
        match self.waiting.pause().await {
            Ok(()) => Step::Continue,
            Err(error) => Step::Fail(error),
        }
    }

    /// Hands out a newly written page and plans what follows it.
    fn deliver(&mut self, mut page: Page<K>) -> Step<K> {
        self.delivered_current = true;
        let skip = std::mem::take(&mut self.skip);
        if skip > page.rows.len() {
            return Step::Fail(self.inconsistent(format!(
                "the checkpoint says {skip} rows of page `{}` were delivered, but it has {}",
                page.name.as_deref().unwrap_or("first"),
                page.rows.len()
            )));
        }
        page.rows.drain(..skip);
        page.skipped = skip;
        self.remember(&page);
        self.waiting.reset();
        let plan = if page.status.is_terminal() {
            self.plan_terminal(without_rows(&page))
        } else if let Some(next) = page.next_cursor.clone() {
            self.advance(next)
        } else {
            Ok(())
        };
        if let Err(error) = plan {
            // The page is valid; the error comes after it.
            self.end = Some(End::Fail(error));
        }
        self.count_and_report(&page);
        if page.rows.is_empty() {
            Step::Continue
        } else {
            Step::Yield(page)
        }
    }

    /// The job is terminal: fetch what is left concurrently when the manifest
    /// says how much that is, else keep following `next_cursor`, else end.
    fn plan_terminal(&mut self, terminal: Page<K>) -> Result<(), Error> {
        let total = terminal
            .manifest
            .as_ref()
            .and_then(K::manifest_pages)
            .and_then(|pages| u64::try_from(pages).ok());
        let position = terminal.name.as_deref().and_then(PageName::parse);
        if let (Some(total), Some(position), true) = (total, position, self.concurrency > 1) {
            let remaining: Vec<String> = (position.index + 1..total)
                .map(|index| position.with_index(index))
                .collect();
            if remaining.is_empty() {
                self.end = Some(self.ending(terminal));
            } else {
                tracing::debug!(job_id = %self.job.id(), pages = remaining.len(), concurrency = self.concurrency, "fetching the remaining pages concurrently");
                self.ahead = Some(Ahead {
                    fetches: self.fetch_all(remaining),
                    terminal,
                });
            }
            return Ok(());
        }
        match terminal.next_cursor.clone() {
            Some(next) => self.advance(next),
            None => {
                self.end = Some(self.ending(terminal));
                Ok(())
            }
        }
    }

    /// The next page of the concurrent fetch.
    async fn next_ahead(&mut self) -> Step<K> {
        let Some(ahead) = self.ahead.as_mut() else {
            return Step::Continue;
        };
        match ahead.fetches.next().await {
            None => {
                if let Some(ahead) = self.ahead.take() {
                    self.end = Some(self.ending(ahead.terminal));
                }
                Step::Continue
            }
            Some((cursor, Ok(mut page))) => {
                self.waiting.observed(&page);
                if page.name.as_deref() != Some(cursor.as_str()) {
                    let got = page.name.unwrap_or_else(|| "no name".into());
                    return self
                        .fall_back(format!("built cursor `{cursor}` returned page `{got}`"));
                }
                if self.visited.contains(&cursor) {
                    return self.fall_back(format!("built cursor `{cursor}` was already read"));
                }
                page.skipped = 0;
                self.remember(&page);
                self.count_and_report(&page);
                if page.rows.is_empty() {
                    Step::Continue
                } else {
                    Step::Yield(page)
                }
            }
            Some((cursor, Err(Error::UnknownCursor { .. }))) => {
                self.fall_back(format!("the server does not know built cursor `{cursor}`"))
            }
            Some((_, Err(error))) => {
                self.ahead = None;
                Step::Fail(error)
            }
        }
    }

    /// Abandons the concurrent fetch and follows `next_cursor` from the last
    /// delivered page instead.
    fn fall_back(&mut self, why: String) -> Step<K> {
        tracing::warn!(job_id = %self.job.id(), reason = %why, "page names are not predictable; following next_cursor instead");
        let Some(ahead) = self.ahead.take() else {
            return Step::Continue;
        };
        self.concurrency = 1;
        match self.last_next.clone() {
            Some(next) => step_from(self.advance(next)),
            None => {
                self.end = Some(self.ending(ahead.terminal));
                Step::Continue
            }
        }
    }

    fn fetch_all(
        &self,
        cursors: Vec<String>,
    ) -> BoxStream<'static, (String, Result<Page<K>, Error>)> {
        let job = self.job.clone();
        futures_util::stream::iter(cursors)
            .map(move |cursor| {
                let job = job.clone();
                async move {
                    let page = job.fetch(Some(&cursor)).await;
                    (cursor, page)
                }
            })
            .buffered(self.concurrency)
            .boxed()
    }

    /// Moves to the page at `next`, refusing a cursor already read.
    fn advance(&mut self, next: String) -> Result<(), Error> {
        if self.visited.contains(&next) {
            return Err(self.inconsistent(format!(
                "next_cursor `{next}` points back to a page already read (a cycle)"
            )));
        }
        if validate::cursor(&next).is_err() {
            return Err(
                self.inconsistent(format!("the server returned an unusable cursor {next:?}"))
            );
        }
        self.cursor = Some(next);
        self.delivered_current = false;
        self.skip = 0;
        Ok(())
    }

    fn remember(&mut self, page: &Page<K>) {
        self.visited.extend(page.cursor.iter().cloned());
        self.visited.extend(page.name.iter().cloned());
        self.last_name = page.name.clone().or_else(|| self.last_name.take());
        self.last_next = page.next_cursor.clone();
    }

    /// How the walk ends for a terminal job. A completed job whose manifest
    /// lists more pages than were read is a gap, reported rather than hidden.
    fn ending(&self, terminal: Page<K>) -> End {
        match terminal.status {
            JobStatus::Completed => {
                let total = terminal.manifest.as_ref().and_then(K::manifest_pages);
                let last = self.last_name.as_deref().and_then(PageName::parse);
                match (total, last) {
                    (Some(total), Some(last)) if (last.index + 1) < total.max(0) as u64 => {
                        End::Fail(self.inconsistent(format!(
                            "the manifest lists {total} pages but the pages end at `{}`",
                            last.with_index(last.index)
                        )))
                    }
                    _ => End::Complete,
                }
            }
            _ => End::Fail(terminal_error::<K>(terminal)),
        }
    }

    fn count_and_report(&mut self, page: &Page<K>) {
        self.pages += 1;
        self.rows += page.rows.len() as u64;
        self.report(page);
    }

    fn report(&self, page: &Page<K>) {
        if let Some(observer) = &self.observer {
            observer(&self.waiting.progress(page, self.pages, self.rows));
        }
    }

    fn inconsistent(&self, problem: String) -> Error {
        Error::InconsistentPages {
            job_id: self.job.id().to_string(),
            problem,
        }
    }
}

fn step_from<K: JobKind>(result: Result<(), Error>) -> Step<K> {
    match result {
        Ok(()) => Step::Continue,
        Err(error) => Step::Fail(error),
    }
}

fn without_rows<K: JobKind>(page: &Page<K>) -> Page<K> {
    Page {
        job_id: page.job_id.clone(),
        status: page.status.clone(),
        manifest: page.manifest.clone(),
        error_message: page.error_message.clone(),
        rows: Vec::new(),
        name: page.name.clone(),
        next_cursor: page.next_cursor.clone(),
        processed: page.processed,
        progress_message: page.progress_message.clone(),
        cursor: page.cursor.clone(),
        skipped: page.skipped,
    }
}

/// A page name split into a prefix and a zero-padded index: `page_0003`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PageName<'a> {
    prefix: &'a str,
    index: u64,
    width: usize,
}

impl<'a> PageName<'a> {
    fn parse(name: &'a str) -> Option<Self> {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 18 {
            return None;
        }
        let (prefix, number) = name.split_at(name.len() - digits);
        Some(PageName {
            prefix,
            index: number.parse().ok()?,
            width: digits,
        })
    }

    fn with_index(&self, index: u64) -> String {
        format!("{}{index:0width$}", self.prefix, width = self.width)
    }
}

/// A stream of every row of a job (`Result<Row, Error>`), each exactly once
/// and in server order, yielded as soon as its page is written. Built on
/// [`Pages`]; same laziness, ordering and error rules. `Send` and `Unpin`.
///
/// [`Rows::checkpoint`] is the exact position after the last row handed out,
/// so a caller can stop anywhere and continue later with
/// [`Rows::resume_from`] without duplicates or gaps.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalikes>) -> Result<(), openfunnel::Error> {
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
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>, saved: openfunnel::Checkpoint) {
    /// let rows = job.rows().resume_from(saved);
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn resume_from(mut self, checkpoint: Checkpoint) -> Self {
        if !self.position.started {
            self.position.start = checkpoint.clone();
            self.pages = self.pages.resume_from(checkpoint);
        }
        self
    }

    /// Polls with `policy` instead of the client's default.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// use std::time::Duration;
    /// let rows = job.rows().with_policy(openfunnel::PollPolicy::default().with_deadline(Duration::from_secs(60)));
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn with_policy(mut self, policy: PollPolicy) -> Self {
        self.pages = self.pages.with_policy(policy);
        self
    }

    /// Fetches at most `concurrency` pages at once once the job is terminal.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// let rows = job.rows().with_concurrency(16);
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.pages = self.pages.with_concurrency(concurrency);
        self
    }

    /// Calls `observer` after every response, for progress bars.
    ///
    /// ```no_run
    /// # fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
    /// let rows = job.rows().on_progress(|p| eprintln!("{} rows so far", p.rows));
    /// # let _ = rows;
    /// # }
    /// ```
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.pages = self.pages.on_progress(observer);
        self
    }

    /// The position right after the last row handed out.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
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
            return self
                .pages
                .start_config()
                .cloned()
                .unwrap_or_else(|| position.start.clone());
        }
        if position.remaining == 0
            && let Some(next) = &position.next_cursor
        {
            return Checkpoint::new(Some(next.clone()), 0);
        }
        Checkpoint::new(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_split_into_prefix_and_padded_index() {
        let name = PageName::parse("page_0003").unwrap();
        assert_eq!((name.prefix, name.index, name.width), ("page_", 3, 4));
        assert_eq!(name.with_index(12), "page_0012");
        assert_eq!(name.with_index(12345), "page_12345");
        assert_eq!(PageName::parse("p7").unwrap().with_index(8), "p8");
        assert_eq!(PageName::parse("page_"), None);
        assert_eq!(PageName::parse("final"), None);
    }
}
