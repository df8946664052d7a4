//! What differs between job kinds: the request, row, manifest and response
//! types, the status set, the endpoints, and (through [`Cancellable`])
//! whether cancel exists.
//!
//! Adding a job kind means one new module here implementing these traits
//! (and, with the macros below, the small traits its generated types need);
//! the engine (submit, waiting, paging, retries, errors) is shared.

pub(crate) mod lookalike;
mod setters;
pub(crate) mod tech_intent;

use crate::error::Error;
use crate::manifest::{JobManifest, Manifest};
use crate::status::JobStatus;
use crate::transport::RawResult;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A kind of OpenFunnel job: [`crate::Lookalike`] or [`crate::TechIntent`].
///
/// The trait is sealed: its methods are the engine's plumbing. Use it as a
/// bound to write code that works for both kinds:
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use openfunnel::{Job, JobKind};
///
/// async fn count_rows<K: JobKind>(job: &Job<K>) -> Result<usize, openfunnel::Error> {
///     job.rows().try_fold(0, |n, _row| async move { Ok(n + 1) }).await
/// }
/// ```
pub trait JobKind: sealed::Sealed + Clone + Copy + Debug + Default + Send + Sync + 'static {
    /// What a submit takes.
    type Request: Clone + Debug + Send + Sync;
    /// One result row.
    type Row: Clone + Debug + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static;
    /// The job summary, final once the job is terminal.
    type Manifest: JobManifest + Into<Manifest> + Clone + Debug + Serialize + Send + Sync + 'static;
    /// What the submit answered (see [`crate::Job::submission`]).
    type Submitted: Acknowledgement + Clone;
    /// The generated poll response.
    #[doc(hidden)]
    type Response: PollResponse<Row = Self::Row, Manifest = Self::Manifest>;

    /// A human name, e.g. `lookalike`.
    const NAME: &'static str;
    /// The statuses OpenFunnel documents for this kind.
    const STATUSES: &'static [&'static str];
    /// The poll operation, for traces and errors.
    #[doc(hidden)]
    const POLL_OPERATION: &'static str;
    /// The submit operation, for traces and errors.
    #[doc(hidden)]
    const SUBMIT_OPERATION: &'static str;

    /// Checks a request against the documented limits, before any request.
    #[doc(hidden)]
    fn validate(request: &Self::Request) -> Result<(), Error>;
    /// Sends a submit.
    #[doc(hidden)]
    fn submit<'a>(
        api: &'a openfunnel_api::Client,
        request: &'a Self::Request,
    ) -> BoxFuture<'a, RawResult<Self::Submitted>>;
    /// Requests one page.
    #[doc(hidden)]
    fn poll<'a>(
        api: &'a openfunnel_api::Client,
        job_id: &'a str,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, RawResult<Self::Response>>;
}

/// A job kind that can be cancelled: only [`crate::Lookalike`]. Calling
/// [`crate::Job::cancel`] on a tech-intent job does not compile:
///
/// ```compile_fail
/// # async fn example(job: openfunnel::Job<openfunnel::TechIntent>) {
/// job.cancel().await;
/// # }
/// ```
pub trait Cancellable: JobKind {
    /// What the cancel answered.
    #[doc(hidden)]
    type Cancelled: Acknowledgement;
    /// The cancel operation, for traces and errors.
    #[doc(hidden)]
    const CANCEL_OPERATION: &'static str;
    /// Sends a cancel request.
    #[doc(hidden)]
    fn cancel<'a>(
        api: &'a openfunnel_api::Client,
        job_id: &'a str,
    ) -> BoxFuture<'a, RawResult<Self::Cancelled>>;
}

/// `PollResponse` for a generated poll response: the shared fields move
/// across; `processed` and `progress_message` come from the given
/// expressions over the response (`it`), since only some kinds have them.
macro_rules! poll_response {
    ($response:ty => ($row:ty, $manifest:ty), |$it:ident| ($processed:expr, $progress:expr)) => {
        impl $crate::kind::PollResponse for $response {
            type Row = $row;
            type Manifest = $manifest;

            fn into_parts(self) -> $crate::kind::PollParts<$row, $manifest> {
                let $it = self;
                $crate::kind::PollParts {
                    processed: $processed,
                    progress_message: $progress,
                    job_id: $it.job_id,
                    status: $it.status,
                    manifest: $it.manifest,
                    error_message: $it.error_message,
                    rows: $it.rows,
                    page: $it.page,
                    next_cursor: $it.next_cursor,
                }
            }
        }
    };
}

pub(crate) use poll_response;

/// What a poll response holds, whatever its kind.
pub struct PollParts<Row, Manifest> {
    pub job_id: String,
    pub status: String,
    pub manifest: Option<Manifest>,
    pub error_message: Option<String>,
    pub rows: Vec<Row>,
    pub page: Option<String>,
    pub next_cursor: Option<String>,
    pub processed: Option<i64>,
    pub progress_message: Option<String>,
}

/// A generated poll response.
pub trait PollResponse: Send + 'static {
    /// One result row.
    type Row;
    /// The job summary.
    type Manifest;
    /// The response's parts.
    fn into_parts(self) -> PollParts<Self::Row, Self::Manifest>;
}

/// What a submit or cancel response says about the job.
///
/// ```no_run
/// # async fn example(client: openfunnel::Client) -> Result<(), openfunnel::Error> {
/// use openfunnel::Acknowledgement;
/// let job = client.lookalike().submit(openfunnel::LookalikeSearch::default().query("APM")).await?;
/// if let Some(submitted) = job.submission() {
///     println!("{:?}: {}", submitted.status(), submitted.message().unwrap_or(""));
/// }
/// # Ok(())
/// # }
/// ```
pub trait Acknowledgement: Debug + Send + Sync + 'static {
    /// The job the response is about, when it says.
    fn job_id(&self) -> Option<&str>;
    /// The job's status right after the request.
    fn status(&self) -> Option<JobStatus>;
    /// The server's message.
    fn message(&self) -> Option<&str>;
}

macro_rules! acknowledgement {
    ($($response:ty => |$it:ident| $job_id:expr),*) => {$(
        impl $crate::kind::Acknowledgement for $response {
            fn job_id(&self) -> Option<&str> {
                let $it = self;
                $job_id
            }
            fn status(&self) -> Option<$crate::status::JobStatus> {
                self.status.clone().map($crate::status::JobStatus::from)
            }
            fn message(&self) -> Option<&str> {
                self.message.as_deref()
            }
        }
    )*};
}

pub(crate) use acknowledgement;
