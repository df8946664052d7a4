//! The walk along a job's `next_cursor` chain, as an explicit state machine.
//!
//! The chain is the only truth: a page is delivered only when it was fetched
//! with the cursor the previous delivered page named (or is the first page),
//! and the walk of a terminal job ends only on a page whose `next_cursor` is
//! null. The manifest only sizes the prefetch window and the progress total.
//! A running job's newest page is read again until its `next_cursor` appears;
//! rows it gained meanwhile are delivered then (the spec does not promise a
//! page is complete when first read), and a page that lost rows stops the
//! walk.
//!
//! ```text
//!            ┌──────────── next_cursor, job running ───────────┐
//!            ▼                                                  │
//!   Follow { cursor } ── written, no next_cursor, running ──▶ AwaitNext { cursor }
//!      │  ▲   not written yet: wait                             │  not yet: wait
//!      │  └──────────────┘                                      │
//!      │ next_cursor, job terminal                               │ next_cursor, terminal
//!      ▼                                                        ▼
//!   Follow { next, terminal } (read through the prefetch window)
//!      │ next_cursor null (terminal)
//!      ▼
//!   Done (completed) / Failing(JobFailed | JobCancelled) ──▶ Done
//! ```
//!
//! Any state may end in `Failing` on an error; rows delivered before it stay
//! valid.

use crate::context::Shared;
use crate::error::Error;
use crate::fetch;
use crate::kind::JobKind;
use crate::manifest::JobManifest;
use crate::outcome::{ManifestMismatch, StreamOutcome};
use crate::page::{Checkpoint, Page, RowTexts};
use crate::policy::PollPolicy;
use crate::prefetch::Prefetch;
use crate::validate;
use crate::waiting::{Observer, Waiting};
use std::collections::HashSet;
use std::sync::Arc;

/// The settings of a walk, fixed when the stream is first polled.
pub(crate) struct WalkConfig {
    pub context: Shared,
    pub job_id: Arc<str>,
    pub start: Checkpoint,
    pub policy: PollPolicy,
    pub concurrency: usize,
    pub observer: Option<Observer>,
    /// End the walk, without an error, where it would wait for a running
    /// job's next page.
    pub until_caught_up: bool,
    /// Whether pages keep each row's JSON text.
    pub texts: RowTexts,
}

/// Where the walk is.
enum State {
    /// Read the page at `cursor` (`None`: the first page) and deliver it once
    /// it is written, skipping `skip` rows delivered before a checkpoint.
    /// Once the job is `terminal` its pages no longer change: they are read
    /// through the prefetch window.
    Follow {
        cursor: Option<String>,
        skip: usize,
        terminal: bool,
    },
    /// The page at `cursor` was delivered (`delivered` of its rows, counting
    /// any skipped at a checkpoint); the job runs and the next page has not
    /// landed: read it again until its `next_cursor` appears, delivering any
    /// rows the page gained meanwhile.
    AwaitNext {
        cursor: Option<String>,
        delivered: usize,
    },
    /// Hand out this error, then stop.
    Failing(Error),
    Done,
}

/// What the chain has shown so far, to refuse cycles.
#[derive(Default)]
struct Chain {
    cursors: HashSet<String>,
    names: HashSet<String>,
    /// Pages of the chain read (a page with rows, a name, or both).
    pages: u64,
    /// Rows delivered.
    rows: u64,
}

pub(crate) struct Walk<K: JobKind> {
    context: Shared,
    job_id: Arc<str>,
    state: State,
    waiting: Waiting,
    prefetch: Prefetch<K>,
    until_caught_up: bool,
    texts: RowTexts,
    chain: Chain,
    /// The walk started at the first page, so the chain length is known.
    from_start: bool,
    /// The manifest has set the prefetch budget already.
    budgeted: bool,
    outcome: Option<StreamOutcome<K>>,
}

impl<K: JobKind> Walk<K> {
    pub(crate) fn new(config: WalkConfig) -> Self {
        let start = config.start;
        let usable = start
            .check_belongs_to(&config.job_id, K::NAME)
            .and_then(|()| start.cursor().map_or(Ok(()), validate::cursor));
        let state = match usable {
            Err(error) => State::Failing(error),
            Ok(()) => State::Follow {
                cursor: start.cursor().map(str::to_string),
                skip: start.rows_delivered(),
                terminal: false,
            },
        };
        let waiting = Waiting::new(
            config.context.clone(),
            config.job_id.clone(),
            config.policy,
            config.observer,
        );
        Walk {
            prefetch: Prefetch::new(
                config.context.clone(),
                config.job_id.clone(),
                config.concurrency,
                config.texts,
            ),
            waiting,
            context: config.context,
            job_id: config.job_id,
            state,
            until_caught_up: config.until_caught_up,
            texts: config.texts,
            chain: Chain::default(),
            from_start: start.cursor().is_none(),
            budgeted: false,
            outcome: None,
        }
    }

    /// What the walk shares with its client.
    pub(crate) fn context(&self) -> &Shared {
        &self.context
    }

    /// Pages of the chain read so far.
    pub(crate) fn pages_read(&self) -> u64 {
        self.chain.pages
    }

    /// How the walk ended, once the job was seen terminal at the chain's end.
    pub(crate) fn outcome(&mut self) -> Option<StreamOutcome<K>> {
        self.outcome.take()
    }

    /// The next page with rows, `None` at the end, or the error that ends it.
    pub(crate) async fn next(&mut self) -> Option<Result<Page<K>, Error>> {
        self.waiting.resume();
        loop {
            let item = match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Failing(error) => return Some(Err(error)),
                State::Follow {
                    cursor,
                    skip,
                    terminal,
                } => self.follow(cursor, skip, terminal).await,
                State::AwaitNext { cursor, delivered } => self.await_next(cursor, delivered).await,
            };
            if item.is_some() {
                return item;
            }
        }
    }

    async fn follow(
        &mut self,
        cursor: Option<String>,
        skip: usize,
        terminal: bool,
    ) -> Option<Result<Page<K>, Error>> {
        let page = match self.read(cursor.as_deref(), terminal).await {
            Ok(page) => page,
            Err(error) => return Some(Err(error)),
        };
        if !page.is_written() {
            // Not written yet, or a terminal job the server says runs again:
            // wait as for any running job.
            self.report(&page);
            self.state = State::Follow {
                cursor,
                skip,
                terminal: false,
            };
            return self.pause().await;
        }
        self.deliver(page, skip)
    }

    async fn await_next(
        &mut self,
        cursor: Option<String>,
        delivered: usize,
    ) -> Option<Result<Page<K>, Error>> {
        // The page was just read: wait for the next one to land before
        // reading it again.
        let ended = self.pause().await;
        if ended.is_some() || self.until_caught_up {
            return ended;
        }
        let mut page = match self.read(cursor.as_deref(), false).await {
            Ok(page) => page,
            Err(error) => return Some(Err(error)),
        };
        if page.rows.len() < delivered {
            return Some(Err(self.inconsistent(format!(
                "page `{}` held {delivered} rows and now holds {}",
                page.name.as_deref().unwrap_or("first"),
                page.rows.len()
            ))));
        }
        // The page grew while the job ran: its new rows are delivered now.
        page.skip(delivered);
        let grown = !page.rows.is_empty();
        if grown {
            self.waiting.reset();
            self.chain.rows += page.rows.len() as u64;
        }
        self.report(&page);
        self.after(&page);
        grown.then_some(Ok(page))
    }

    /// Hands out a newly read link of the chain and decides what follows it.
    fn deliver(&mut self, mut page: Page<K>, skip: usize) -> Option<Result<Page<K>, Error>> {
        if let Some(name) = &page.name
            && !self.chain.names.insert(name.clone())
        {
            return Some(Err(self.inconsistent(format!(
                "page `{name}` came back a second time (a cycle in the next_cursor chain)"
            ))));
        }
        if skip > page.rows.len() {
            return Some(Err(self.inconsistent(format!(
                "the checkpoint says {skip} rows of page `{}` were delivered, but it has {}",
                page.name.as_deref().unwrap_or("first"),
                page.rows.len()
            ))));
        }
        if page.name.is_some() || !page.rows.is_empty() {
            self.chain.pages += 1;
        }
        self.chain.cursors.extend(page.cursor.iter().cloned());
        page.skip(skip);
        self.waiting.reset();
        self.chain.rows += page.rows.len() as u64;
        self.report(&page);
        self.after(&page);
        (!page.rows.is_empty()).then_some(Ok(page))
    }

    /// Sets the state that follows `page`, the latest link read.
    fn after(&mut self, page: &Page<K>) {
        let terminal = page.status.is_terminal();
        if terminal {
            self.budget_from(page);
        }
        self.state = match page.next_cursor.clone() {
            Some(next) => self.link(page, next),
            None if terminal => self.finish(page),
            None => State::AwaitNext {
                cursor: page.cursor.clone(),
                delivered: page.skipped + page.rows.len(),
            },
        };
    }

    /// Moves along the link from `page` to `next`, refusing an unusable
    /// cursor or one already read.
    fn link(&mut self, page: &Page<K>, next: String) -> State {
        if let Some(problem) = validate::cursor_problem(&next) {
            return State::Failing(self.inconsistent(format!(
                "the server returned a next_cursor that cannot be sent back ({problem})"
            )));
        }
        if self.chain.cursors.contains(&next) {
            return State::Failing(self.inconsistent(format!(
                "next_cursor `{next}` points back to a page already read (a cycle)"
            )));
        }
        if let Some(from) = page.cursor.as_deref().or(page.name.as_deref()) {
            self.prefetch.learn(from, &next);
        }
        State::Follow {
            cursor: Some(next),
            skip: 0,
            terminal: page.status.is_terminal(),
        }
    }

    /// Sets the prefetch budget from the manifest, once: never more
    /// requests than the pages it says remain.
    fn budget_from(&mut self, page: &Page<K>) {
        if self.budgeted || !self.from_start {
            return;
        }
        self.budgeted = true;
        if let Some(pages) = page.manifest.as_ref().and_then(JobManifest::pages) {
            let pages = u64::try_from(pages).unwrap_or(0);
            self.prefetch
                .set_budget(pages.saturating_sub(self.chain.pages));
        }
    }

    /// The chain ended on a terminal page: record the outcome.
    fn finish(&mut self, page: &Page<K>) -> State {
        let manifest_pages = page.manifest.as_ref().and_then(JobManifest::pages);
        let manifest_mismatch = match manifest_pages {
            Some(listed)
                if self.from_start && u64::try_from(listed).ok() != Some(self.chain.pages) =>
            {
                Some(ManifestMismatch {
                    manifest_pages: listed,
                    chain_pages: self.chain.pages,
                })
            }
            _ => None,
        };
        if let Some(mismatch) = &manifest_mismatch {
            tracing::warn!(job_id = %self.job_id, manifest_pages = mismatch.manifest_pages, chain_pages = mismatch.chain_pages, "the manifest's page count differs from the next_cursor chain; delivered the chain's rows");
        }
        tracing::debug!(job_id = %self.job_id, pages = self.chain.pages, rows = self.chain.rows, discarded_prefetches = self.prefetch.discarded(), "walk finished");
        self.outcome = Some(StreamOutcome {
            job_id: page.job_id.clone(),
            status: page.status.clone(),
            manifest: page.manifest.clone(),
            pages: self.chain.pages,
            rows: self.chain.rows,
            manifest_mismatch,
            discarded_prefetches: self.prefetch.discarded(),
        });
        if page.status == crate::JobStatus::Completed {
            State::Done
        } else {
            State::Failing(page.terminal_error())
        }
    }

    /// The page at `cursor` (through the prefetch window when the job is
    /// `terminal`), under the wait's limits, recorded by the wait.
    async fn read(&mut self, cursor: Option<&str>, terminal: bool) -> Result<Page<K>, Error> {
        let (limits, on_retry) = (self.waiting.limits(), self.waiting.on_retry());
        let read = match cursor {
            Some(cursor) if terminal => self.prefetch.page(cursor, limits, on_retry).await,
            _ => {
                let (context, job_id) = (&self.context, &self.job_id);
                let on_retry = on_retry.as_deref();
                fetch::page(context, job_id, cursor, limits, self.texts, on_retry).await
            }
        };
        let page = read.map_err(|error| self.waiting.with_wait_state(error))?;
        self.waiting.observed(&page);
        Ok(page)
    }

    /// Waits for the job to write more, or, when the walk stops once caught
    /// up, ends it here (every page written so far was delivered).
    async fn pause(&mut self) -> Option<Result<Page<K>, Error>> {
        if self.until_caught_up {
            tracing::debug!(job_id = %self.job_id, pages = self.chain.pages, rows = self.chain.rows, "caught up with the running job; stopping");
            self.state = State::Done;
            return None;
        }
        match self.waiting.pause().await {
            Ok(()) => None,
            Err(error) => {
                self.state = State::Done;
                Some(Err(error))
            }
        }
    }

    fn report(&self, page: &Page<K>) {
        self.waiting.report(page, self.chain.pages, self.chain.rows);
    }

    fn inconsistent(&self, problem: String) -> Error {
        Error::InconsistentPages {
            job_id: self.job_id.to_string(),
            problem,
        }
    }
}
