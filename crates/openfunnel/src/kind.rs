//! What differs between job kinds: the request, row, manifest and response
//! types, the status set, the endpoints, and (through [`Cancellable`])
//! whether cancel exists.
//!
//! Adding a job kind means one new module implementing these traits (and, in
//! `raw_shapes`, the small traits its generated types need); the engine
//! (submit, waiting, paging, retries, errors) is shared.

use crate::error::Error;
use crate::raw_shapes::{Acknowledgement, JobManifest, PollResponse};
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
    type Manifest: JobManifest + Clone + Serialize;
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
