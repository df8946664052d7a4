//! One page of a job's results, and the resumable position between pages.

use crate::error::Error;
use crate::kind::JobKind;
use crate::kind::PollResponse;
use crate::status::JobStatus;
use serde_json::value::RawValue;

/// One poll response: the job's status at that moment and one page of rows.
///
/// From [`crate::Job::pages`], `rows` holds only rows not delivered before:
/// a page resumed in its middle starts after the rows already delivered, and
/// a running job's page that gained rows after it was first read comes again
/// with just the new ones ([`Page::skipped_rows`] counts the earlier ones).
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// let first = job.poll().await?;
/// println!("{}: {} rows on {}", first.status, first.rows.len(), first.name.as_deref().unwrap_or("-"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Page<K: JobKind> {
    /// The job.
    pub job_id: String,
    /// The job's status when this page was read.
    pub status: JobStatus,
    /// The job summary; present once the job is terminal.
    pub manifest: Option<K::Manifest>,
    /// The failure reason, when the job failed.
    pub error_message: Option<String>,
    /// The rows.
    pub rows: Vec<K::Row>,
    /// The page's name, e.g. `page_0003` (absent before the first page exists).
    pub name: Option<String>,
    /// The cursor of the next page; `None` on the last page written *so far*.
    /// Not a completion signal: see [`Page::status`].
    pub next_cursor: Option<String>,
    /// Companies delivered so far (lookalike jobs).
    pub processed: Option<i64>,
    /// A coarse stage label, e.g. `qualifying_companies` (lookalike jobs).
    pub progress_message: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) skipped: usize,
    /// The JSON text of each row of `rows`, as the server sent it.
    pub(crate) json: Vec<Box<RawValue>>,
}

impl<K: JobKind> Page<K> {
    /// The cursor this page was requested with (`None` for the first page).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// assert_eq!(job.poll().await?.cursor(), None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Rows of this page handed out before `rows`: those before a checkpoint
    /// the stream resumed from, or, for a running job's page that gained
    /// rows after it was first read, those delivered then. 0 for a page read
    /// whole.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     let new_page = page.skipped_rows() == 0;
    ///     println!("{} rows ({})", page.rows.len(), if new_page { "new page" } else { "more of a page" });
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn skipped_rows(&self) -> usize {
        self.skipped
    }

    /// Each row of [`Page::rows`] as the server's own JSON text: its key
    /// order, `null`s, numbers (however long) and escapes exactly as sent,
    /// fields the spec does not name included. `json_rows()[i]` is the text
    /// `rows[i]` was decoded from (before any change made to `rows`).
    ///
    /// The typed rows keep undocumented fields too, in their `extra` map, as
    /// [`serde_json::Value`]s: there a number beyond `i64`/`u64` becomes the
    /// nearest `f64` (`123456789012345678901234567890` →
    /// `1.2345678901234568e29`). Write rows from this text to keep them as
    /// sent. Every page from [`crate::Job::poll`], [`crate::Job::page`] and
    /// [`crate::Job::pages`] has them; the pages behind [`crate::Job::rows`],
    /// which hands out typed rows only, skip them (they cost a second scan
    /// of the rows).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     for json in page.json_rows() {
    ///         println!("{}", json.get()); // one row, byte for byte as sent
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn json_rows(&self) -> &[Box<RawValue>] {
        &self.json
    }

    /// Where to resume once every row of this page has been handled.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     // write page.rows somewhere durable, then remember:
    ///     let checkpoint = page.checkpoint();
    ///     # let _ = checkpoint;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint_after(self.rows.len())
    }

    /// Where to resume once the first `handled` rows of [`Page::rows`] have
    /// been handled (at most all of them).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// let page = job.poll().await?;
    /// let after_ten = page.checkpoint_after(10); // rows 11.. come again on resume
    /// # let _ = after_ten;
    /// # Ok(())
    /// # }
    /// ```
    pub fn checkpoint_after(&self, handled: usize) -> Checkpoint {
        self.position().after(handled)
    }

    /// What this page's checkpoints are made of.
    pub(crate) fn position(&self) -> PagePosition {
        PagePosition {
            job_id: self.job_id.clone(),
            kind: K::NAME,
            cursor: self.cursor.clone(),
            skipped: self.skipped,
            rows: self.rows.len(),
            next_cursor: self.next_cursor.clone(),
        }
    }
}

/// Where a page sits in its job's chain: all a checkpoint within or after
/// it needs, kept by a row stream while it hands out the page's rows.
#[derive(Clone, Debug)]
pub(crate) struct PagePosition {
    job_id: String,
    kind: &'static str,
    cursor: Option<String>,
    skipped: usize,
    rows: usize,
    next_cursor: Option<String>,
}

impl PagePosition {
    /// The checkpoint after the first `handled` rows: the next page once
    /// every row is handled and the chain names one, else this page with
    /// the rows before skipped.
    pub(crate) fn after(&self, handled: usize) -> Checkpoint {
        let handled = handled.min(self.rows);
        let (cursor, rows_delivered) = match &self.next_cursor {
            Some(next) if handled == self.rows => (Some(next.clone()), 0),
            _ => (self.cursor.clone(), self.skipped + handled),
        };
        Checkpoint {
            job_id: Some(self.job_id.clone()),
            kind: Some(self.kind.to_string()),
            cursor,
            rows_delivered,
        }
    }
}

impl<K: JobKind> Page<K> {
    /// The page a poll response holds, requested with `cursor`; `body` is
    /// the response's bytes, which give each row's JSON text when `texts`
    /// says to keep them.
    pub(crate) fn from_response(
        response: K::Response,
        cursor: Option<String>,
        texts: RowTexts,
        body: Option<&[u8]>,
    ) -> Page<K> {
        let parts = response.into_parts();
        let json = match texts {
            RowTexts::Keep => row_texts(body, &parts.rows),
            RowTexts::Skip => Vec::new(),
        };
        Page {
            job_id: parts.job_id,
            status: JobStatus::from(parts.status),
            manifest: parts.manifest,
            error_message: parts.error_message,
            rows: parts.rows,
            name: parts.page,
            next_cursor: parts.next_cursor,
            processed: parts.processed,
            progress_message: parts.progress_message,
            cursor,
            skipped: 0,
            json,
        }
    }

    /// Drops the first `count` rows (delivered before), counting them in
    /// [`Page::skipped_rows`].
    pub(crate) fn skip(&mut self, count: usize) {
        let count = count.min(self.rows.len());
        self.rows.drain(..count);
        self.json.drain(..count.min(self.json.len()));
        self.skipped = count;
    }

    /// The error for a failed or cancelled job, built from its terminal page.
    pub(crate) fn terminal_error(&self) -> Error {
        let (job_id, manifest) = (self.job_id.clone(), self.manifest.clone());
        let manifest = manifest.map(|manifest| Box::new(manifest.into()));
        match self.status {
            JobStatus::Cancelled => Error::JobCancelled { job_id, manifest },
            _ => Error::JobFailed {
                job_id,
                error_message: self.error_message.clone(),
                manifest,
            },
        }
    }

    /// Whether the page is part of the chain: it holds rows, has a name or a
    /// `next_cursor` (an empty page whose rows were all filtered out is a
    /// page too), or the job is terminal (a finished job may end on an empty
    /// page). A running job's answer with none of these is "not written yet".
    pub(crate) fn is_written(&self) -> bool {
        !self.rows.is_empty()
            || self.name.is_some()
            || self.next_cursor.is_some()
            || self.status.is_terminal()
    }
}

/// Each row's JSON text, read from the response's `body`. The typed decode
/// of the same bytes succeeded, so this finds the same rows; should it not
/// (no body was kept), each typed row is written back as JSON, with a
/// warning: typed, not as sent.
fn row_texts<Row: serde::Serialize>(body: Option<&[u8]>, rows: &[Row]) -> Vec<Box<RawValue>> {
    #[derive(serde::Deserialize)]
    struct Rows<'a> {
        #[serde(borrow, default)]
        rows: Vec<&'a RawValue>,
    }
    if let Some(read) = body.and_then(|body| serde_json::from_slice::<Rows<'_>>(body).ok())
        && read.rows.len() == rows.len()
    {
        return read.rows.into_iter().map(RawValue::to_owned).collect();
    }
    if !rows.is_empty() {
        tracing::warn!("the rows' JSON text was not kept; writing the typed rows back as JSON");
    }
    rows.iter()
        .filter_map(|row| serde_json::value::to_raw_value(row).ok())
        .collect()
}

/// Whether a page keeps each row's JSON text ([`Page::json_rows`]). Keeping
/// it costs a second scan of the rows (about a quarter of their typed
/// decode for lookalike rows): pages handed to a caller keep it, a row
/// stream (typed rows only) and `wait()` do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RowTexts {
    Keep,
    Skip,
}

/// A resumable position in a job's rows: the job and its kind, the page to
/// read next and how many of its rows were already delivered. Serialise it
/// (it is plain JSON) to stop an export and continue later without
/// duplicates or gaps.
///
/// A checkpoint taken from a stream belongs to its job: resuming another job
/// (or a job of another kind) from it is refused with
/// [`crate::Error::InvalidInput`] before any request, since its cursor and
/// row count mean nothing there and would silently skip rows.
/// [`Checkpoint::start`] belongs to no job and fits any.
///
/// ```
/// use openfunnel::Checkpoint;
///
/// let start = Checkpoint::start();
/// assert_eq!(start.cursor(), None);
/// let saved = serde_json::to_string(&start).unwrap();
/// let restored: Checkpoint = serde_json::from_str(&saved).unwrap();
/// assert_eq!(restored, start);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    cursor: Option<String>,
    rows_delivered: usize,
}

impl Checkpoint {
    /// The beginning of any job's rows (bound to no job; see
    /// [`crate::Job::start_checkpoint`] for one bound to its job).
    ///
    /// ```
    /// assert_eq!(openfunnel::Checkpoint::start().rows_delivered(), 0);
    /// ```
    pub fn start() -> Self {
        Checkpoint::default()
    }

    /// The beginning of the rows of job `job_id` of kind `K`.
    pub(crate) fn start_of<K: JobKind>(job_id: &str) -> Self {
        Checkpoint {
            job_id: Some(job_id.to_string()),
            kind: Some(K::NAME.to_string()),
            ..Checkpoint::default()
        }
    }

    /// The cursor of the page to read next (`None`: the first page).
    ///
    /// ```
    /// assert_eq!(openfunnel::Checkpoint::start().cursor(), None);
    /// ```
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Rows of that page already delivered, to be skipped.
    ///
    /// ```
    /// assert_eq!(openfunnel::Checkpoint::start().rows_delivered(), 0);
    /// ```
    pub fn rows_delivered(&self) -> usize {
        self.rows_delivered
    }

    /// The job the checkpoint was taken from (`None` for
    /// [`Checkpoint::start`], which fits any job).
    ///
    /// ```
    /// assert_eq!(openfunnel::Checkpoint::start().job_id(), None);
    /// ```
    pub fn job_id(&self) -> Option<&str> {
        self.job_id.as_deref()
    }

    /// The kind of job the checkpoint was taken from (`None` for
    /// [`Checkpoint::start`]).
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let start = client.lookalike().job("j1").unwrap().start_checkpoint();
    /// assert_eq!((start.job_id(), start.kind()), (Some("j1"), Some("lookalike")));
    /// ```
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// Refuses ([`crate::Error::InvalidInput`]) a checkpoint taken from
    /// another job, or from a job of another kind: its cursor and row count
    /// mean nothing there. Streams check this before their first request;
    /// call it to check a saved checkpoint before anything else is touched.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let saved = client.lookalike().job("j1").unwrap().start_checkpoint();
    /// assert!(saved.check_belongs_to("j1", "lookalike").is_ok());
    /// assert!(saved.check_belongs_to("j2", "lookalike").is_err());
    /// assert!(saved.check_belongs_to("j1", "tech-intent").is_err());
    /// assert!(openfunnel::Checkpoint::start().check_belongs_to("j2", "tech-intent").is_ok());
    /// ```
    pub fn check_belongs_to(&self, job_id: &str, kind: &str) -> Result<(), Error> {
        let foreign_job = self.job_id.as_deref().filter(|saved| *saved != job_id);
        let foreign_kind = self.kind.as_deref().filter(|saved| *saved != kind);
        if foreign_job.is_none() && foreign_kind.is_none() {
            return Ok(());
        }
        Err(Error::InvalidInput(format!(
            "the checkpoint was saved for {} job `{}`, not for {kind} job `{job_id}`: resume each job from its own checkpoint, or read this job from the start",
            self.kind.as_deref().unwrap_or("a"),
            self.job_id.as_deref().unwrap_or("another"),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lookalike, TechIntent};

    #[test]
    fn a_job_s_start_names_the_job_and_its_kind_and_fits_only_it() {
        let start = Checkpoint::start_of::<Lookalike>("j1");
        assert_eq!(
            (start.job_id(), start.kind()),
            (Some("j1"), Some("lookalike"))
        );
        assert_eq!((start.cursor(), start.rows_delivered()), (None, 0));
        assert!(start.check_belongs_to("j1", "lookalike").is_ok());
        assert!(start.check_belongs_to("j2", "lookalike").is_err());
        let intent = Checkpoint::start_of::<TechIntent>("j1");
        assert_eq!(intent.kind(), Some("tech-intent"));
        assert!(intent.check_belongs_to("j1", "lookalike").is_err());
        assert_eq!(Checkpoint::start().kind(), None);
    }
}
