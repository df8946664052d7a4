//! What the SDK's operations hand back besides rows: how a wait, a stream
//! or a cancel ended, and the progress reported on the way.

use crate::error::Error;
use crate::kind::JobKind;
use crate::page::Checkpoint;
use crate::status::JobStatus;
use crate::transport::Retrying;
use std::time::Duration;

/// How a [`crate::Pages`] or [`crate::Rows`] stream ended, available once it
/// has ended because the job reached a terminal status (completed: after the
/// last row; failed or cancelled: with the error). `None` before that, and
/// after an error that stopped the stream early (network, time-out, …).
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// use futures_util::TryStreamExt;
///
/// let mut rows = job.rows();
/// while let Some(_row) = rows.try_next().await? {}
/// if let Some(end) = rows.outcome() {
///     let credits = end.manifest.as_ref().and_then(|m| m.credits_consumed);
///     println!("{}: {} rows, {credits:?} credits", end.status, end.rows);
///     if let Some(mismatch) = &end.manifest_mismatch {
///         eprintln!("warning: {mismatch}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StreamOutcome<K: JobKind> {
    /// The job.
    pub job_id: String,
    /// The terminal status of the last page.
    pub status: JobStatus,
    /// The manifest of the last page.
    pub manifest: Option<K::Manifest>,
    /// Pages of the chain this stream read: each page with rows or a name, once
    /// (a page that grew counts once; an empty named page counts too).
    pub pages: u64,
    /// Rows this stream delivered.
    pub rows: u64,
    /// Set when the manifest's `pages` disagrees with the chain: the chain's
    /// rows were delivered regardless. Only checked for streams that started
    /// at the first page.
    pub manifest_mismatch: Option<ManifestMismatch>,
    /// Pages fetched ahead on a predicted cursor that the chain did not
    /// confirm, and thrown away (costs requests, never rows).
    pub discarded_prefetches: u64,
}

/// The manifest's page count and the chain's differ.
///
/// ```
/// # fn show(mismatch: &openfunnel::ManifestMismatch) {
/// eprintln!("{mismatch}"); // "the manifest lists 3 pages, the next_cursor chain held 5; …"
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestMismatch {
    /// What the manifest says.
    pub manifest_pages: i64,
    /// Pages read by following `next_cursor` to its end.
    pub chain_pages: u64,
}

impl std::fmt::Display for ManifestMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the manifest lists {} pages, the next_cursor chain held {}; every row of the chain was delivered (the manifest is a summary, the chain is the truth)",
            self.manifest_pages, self.chain_pages
        )
    }
}

/// A completed job: its terminal status and manifest.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// let outcome = job.wait().await?;
/// if let Some(manifest) = &outcome.manifest {
///     println!("{:?} rows, {:?} credits", manifest.count, manifest.credits_consumed);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome<K: JobKind> {
    /// The job.
    pub job_id: String,
    /// The terminal status ([`JobStatus::Completed`]).
    pub status: JobStatus,
    /// The final manifest.
    pub manifest: Option<K::Manifest>,
    /// Poll requests made while waiting.
    pub polls: u32,
    /// Time spent waiting.
    pub elapsed: Duration,
}

/// The answer to [`crate::Job::cancel`].
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// let cancellation = job.cancel().await?;
/// println!("{:?} {}", cancellation.status, cancellation.already_finished);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Cancellation {
    /// The status after the request, normally [`JobStatus::Cancelling`].
    pub status: Option<JobStatus>,
    /// The server's message.
    pub message: Option<String>,
    /// True when the job had already finished (HTTP 409): nothing to cancel.
    pub already_finished: bool,
}

/// What a progress observer sees after each poll.
///
/// ```
/// fn render(progress: &openfunnel::Progress) -> String {
///     format!("{} {} rows, {} pages, {:.0?}", progress.status, progress.rows, progress.pages, progress.elapsed)
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Progress {
    /// The job.
    pub job_id: String,
    /// The status of the last response.
    pub status: JobStatus,
    /// Companies delivered so far, as the server counts them (lookalike jobs).
    pub processed: Option<i64>,
    /// A coarse stage label, e.g. `qualifying_companies` (lookalike jobs).
    pub stage: Option<String>,
    /// Pages the manifest says exist, once the job is terminal. An estimate
    /// for a progress bar: the walk itself follows `next_cursor` to the end.
    pub total_pages: Option<i64>,
    /// Pages of the chain read so far, counted as [`StreamOutcome::pages`]
    /// (streams only; 0 for `wait()`).
    pub pages: u64,
    /// Rows delivered so far (streams only; 0 for `wait()`).
    pub rows: u64,
    /// Requests made.
    pub polls: u32,
    /// Time since waiting started.
    pub elapsed: Duration,
    /// Set when this report comes from a request that failed and will be
    /// sent again (the rest is as of the last answer); `None` on a report
    /// made after an answer.
    pub retrying: Option<Retrying>,
    /// The gap between the job's pages, as learned from when they landed
    /// (streams, whatever their [`crate::Pacing`], once two pages landed;
    /// `None` otherwise). With the pages left, an estimate of the time left.
    pub page_interval: Option<Duration>,
    /// How long until the next page is due by that rhythm (zero when it is
    /// overdue); `None` when no rhythm is known.
    pub next_page_in: Option<Duration>,
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
