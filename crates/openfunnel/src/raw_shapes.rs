//! Small traits over the generated types, so that the engine (submit, poll,
//! page conversion, errors) is written once for every job kind. Each kind
//! module implements them for its own generated types (two macros cover the
//! identical field sets).

use crate::status::JobStatus;
use std::any::Any;
use std::fmt::Debug;

/// A job's summary, whatever the job's kind: what a progress bar, a bill or
/// a retry decision needs. Implemented by [`crate::LookalikeManifest`] and
/// [`crate::TechIntentManifest`]; an error carries one as
/// `Box<dyn JobManifest>` (downcast with [`JobManifest::as_any`] for the
/// kind's own fields).
///
/// ```
/// use openfunnel::{JobManifest, LookalikeManifest};
/// let manifest: LookalikeManifest =
///     serde_json::from_str(r#"{"pages": 3, "count": 250, "credits_consumed": 250, "partial": true}"#).unwrap();
/// assert_eq!((manifest.pages(), manifest.count(), manifest.credits_consumed()), (Some(3), Some(250), Some(250)));
/// assert!(manifest.is_partial());
/// let boxed: Box<dyn JobManifest> = Box::new(manifest);
/// assert!(boxed.as_any().downcast_ref::<LookalikeManifest>().is_some());
/// ```
pub trait JobManifest: Debug + Send + Sync + 'static {
    /// Pages written and readable.
    fn pages(&self) -> Option<i64>;
    /// Whether the job stopped before finishing (failed or cancelled).
    fn is_partial(&self) -> bool;
    /// Credits billed for the job.
    fn credits_consumed(&self) -> Option<i64>;
    /// Rows delivered.
    fn count(&self) -> Option<i64>;
    /// The manifest as `Any`, to reach the concrete type.
    fn as_any(&self) -> &dyn Any;
}

macro_rules! job_manifest {
    ($($manifest:ty),*) => {$(
        impl $crate::raw_shapes::JobManifest for $manifest {
            fn pages(&self) -> Option<i64> {
                self.pages
            }
            fn is_partial(&self) -> bool {
                self.partial
            }
            fn credits_consumed(&self) -> Option<i64> {
                self.credits_consumed
            }
            fn count(&self) -> Option<i64> {
                self.count
            }
            fn as_any(&self) -> &dyn ::std::any::Any {
                self
            }
        }
    )*};
}

pub(crate) use job_manifest;

/// `PollResponse` for a generated poll response: the shared fields move
/// across; `processed` and `progress_message` come from the given
/// expressions over the response (`it`), since only some kinds have them.
macro_rules! poll_response {
    ($response:ty => ($row:ty, $manifest:ty), |$it:ident| ($processed:expr, $progress:expr)) => {
        impl $crate::raw_shapes::PollResponse for $response {
            type Row = $row;
            type Manifest = $manifest;

            fn into_parts(self) -> $crate::raw_shapes::PollParts<$row, $manifest> {
                let $it = self;
                $crate::raw_shapes::PollParts {
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
        impl $crate::raw_shapes::Acknowledgement for $response {
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
