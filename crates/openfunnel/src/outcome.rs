//! How a page or row stream ended: the job's final state as the last page
//! reported it, and what the walk observed on the way.

use crate::kind::JobKind;
use crate::status::JobStatus;

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
    /// Pages of the chain this stream read (empty trailing pages included).
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
