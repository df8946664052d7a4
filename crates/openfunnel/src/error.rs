//! The one error type of the SDK.

use crate::status::JobStatus;
use crate::{LookalikeManifest, TechIntentManifest};
use std::time::Duration;

/// Everything that can go wrong, as one enum a caller can match.
///
/// Each message says what happened and what to do. The API key never appears
/// in any of them. Response bodies are kept as a short excerpt (see
/// [`Error::body`]).
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalikes>) {
/// match job.wait().await {
///     Ok(done) => println!("{} rows", done.manifest.and_then(|m| m.count).unwrap_or(0)),
///     Err(openfunnel::Error::JobFailed { error_message, .. }) => {
///         eprintln!("the job failed: {}", error_message.unwrap_or_default())
///     }
///     Err(error) if error.is_retryable() => eprintln!("try again later: {error}"),
///     Err(error) => eprintln!("{error}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401 or 403: the key was rejected. Never retried.
    #[error(
        "OpenFunnel rejected the API key (HTTP {status}): check OPENFUNNEL_API_KEY or the key given to the client"
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// Excerpt of the response body.
        body: String,
    },
    /// 404: no such job for this key (or no such endpoint). Never retried.
    #[error(
        "job `{job_id}` was not found for this API key (HTTP 404): check the id, and that the job was created with the same key"
    )]
    NotFound {
        /// The job asked for (empty when the request was not about a job).
        job_id: String,
        /// Excerpt of the response body.
        body: String,
    },
    /// 400 or 404 on a page request: the server does not know the cursor
    /// (or, for a 404, the job). Never retried.
    #[error(
        "job `{job_id}` has no page at cursor `{cursor}` (HTTP {status}): resume from a checkpoint this SDK produced for this job, or read the job from the start"
    )]
    UnknownCursor {
        /// The job.
        job_id: String,
        /// The cursor the server refused.
        cursor: String,
        /// 400 or 404.
        status: u16,
        /// Excerpt of the response body.
        body: String,
    },
    /// 422: the server refused the request's parameters. Never retried.
    #[error("OpenFunnel refused the request (HTTP 422): {}", summarize(issues))]
    Validation {
        /// What the server said was wrong, field by field.
        issues: Vec<ValidationIssue>,
        /// Excerpt of the response body.
        body: String,
    },
    /// 429 after the retry budget ran out, or a wait longer than allowed.
    #[error(
        "OpenFunnel is rate limiting this key (HTTP 429){}: wait before trying again",
        retry_after.map(|d| format!(", asked to wait {} s", d.as_secs_f64())).unwrap_or_default()
    )]
    RateLimited {
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
        /// Excerpt of the response body.
        body: String,
    },
    /// The overall deadline passed before the job reached a terminal status.
    #[error(
        "job `{job_id}` did not finish within {:.1} s ({polls} polls, last status: {}): wait longer with PollPolicy::with_deadline, or resume later from a checkpoint",
        elapsed.as_secs_f64(),
        last_status.as_ref().map(JobStatus::as_str).unwrap_or("none seen")
    )]
    TimedOut {
        /// The job.
        job_id: String,
        /// The last status the server reported.
        last_status: Option<JobStatus>,
        /// Poll requests made.
        polls: u32,
        /// Time spent waiting.
        elapsed: Duration,
    },
    /// The job failed. Rows it wrote before failing were still delivered.
    #[error(
        "job `{job_id}` failed: {}; rows it wrote before failing were delivered",
        error_message.as_deref().unwrap_or("no reason given")
    )]
    JobFailed {
        /// The job.
        job_id: String,
        /// The server's reason.
        error_message: Option<String>,
        /// The partial manifest, when the server sent one.
        manifest: Option<Box<Manifest>>,
    },
    /// The job was cancelled. Rows it wrote before stopping were still delivered.
    #[error("job `{job_id}` was cancelled; rows it wrote before stopping were delivered")]
    JobCancelled {
        /// The job.
        job_id: String,
        /// The partial manifest, when the server sent one.
        manifest: Option<Box<Manifest>>,
    },
    /// A page did not match the request, or a cursor came back twice: the
    /// server's page chain is inconsistent. Stopped instead of looping.
    #[error(
        "job `{job_id}`: {problem}; stopped to avoid duplicate or endless reads (rows delivered so far are valid)"
    )]
    InconsistentPages {
        /// The job.
        job_id: String,
        /// What was inconsistent.
        problem: String,
    },
    /// The server redirected to another origin. Not followed, so the API key
    /// was not sent there.
    #[error(
        "OpenFunnel redirected (HTTP {status}) to another origin ({location}); not followed so the API key stays private: check the base URL"
    )]
    CrossOriginRedirect {
        /// The 3xx status.
        status: u16,
        /// Where the server pointed.
        location: String,
    },
    /// Any other unsuccessful HTTP status.
    #[error("OpenFunnel answered HTTP {status}: {}", excerpt_or_empty(body))]
    Http {
        /// The status code.
        status: u16,
        /// Excerpt of the response body.
        body: String,
    },
    /// A response body was not the JSON the spec describes.
    #[error(
        "cannot decode the response of {operation}: {source}; the body starts with: {}",
        excerpt_or_empty(body)
    )]
    Decode {
        /// The operation whose response failed to decode.
        operation: &'static str,
        /// Excerpt of the body.
        body: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A response body was larger than the client accepts; it was refused
    /// while being read. Not retried.
    #[error(
        "the response of {operation} is larger than {limit} bytes and was refused: if OpenFunnel really sends pages that large, raise ClientBuilder::with_max_response_bytes"
    )]
    ResponseTooLarge {
        /// The operation whose response was refused.
        operation: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// The input was refused before any request was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach OpenFunnel: {source}: check the network and the base URL")]
    Transport {
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
}

impl Error {
    /// The HTTP status behind the error, when there was one.
    ///
    /// ```
    /// let error = openfunnel::Error::Http { status: 503, body: String::new() };
    /// assert_eq!(error.status(), Some(503));
    /// ```
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { status, .. }
            | Error::CrossOriginRedirect { status, .. }
            | Error::UnknownCursor { status, .. }
            | Error::Http { status, .. } => Some(*status),
            Error::NotFound { .. } => Some(404),
            Error::Validation { .. } => Some(422),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: rate limits, 408, 5xx, network
    /// errors and time-outs. The SDK has already retried these within its
    /// budget when you see them.
    ///
    /// ```
    /// assert!(openfunnel::Error::Http { status: 503, body: String::new() }.is_retryable());
    /// assert!(!openfunnel::Error::InvalidInput("limit".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. } | Error::Transport { .. } | Error::TimedOut { .. } => true,
            Error::Http { status, .. } => *status == 408 || *status >= 500,
            _ => false,
        }
    }

    /// The job the error is about, when it is about one.
    ///
    /// ```
    /// let error = openfunnel::Error::JobCancelled { job_id: "j1".into(), manifest: None };
    /// assert_eq!(error.job_id(), Some("j1"));
    /// ```
    pub fn job_id(&self) -> Option<&str> {
        match self {
            Error::NotFound { job_id, .. } if !job_id.is_empty() => Some(job_id),
            Error::UnknownCursor { job_id, .. }
            | Error::TimedOut { job_id, .. }
            | Error::JobFailed { job_id, .. }
            | Error::JobCancelled { job_id, .. }
            | Error::InconsistentPages { job_id, .. } => Some(job_id),
            _ => None,
        }
    }

    /// The excerpt of the response body, for errors that came with one.
    ///
    /// ```
    /// let error = openfunnel::Error::Http { status: 500, body: "{\"error_code\":\"INTERNAL_ERROR\"}".into() };
    /// assert!(error.body().unwrap().contains("INTERNAL_ERROR"));
    /// ```
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { body, .. }
            | Error::NotFound { body, .. }
            | Error::UnknownCursor { body, .. }
            | Error::Validation { body, .. }
            | Error::RateLimited { body, .. }
            | Error::Http { body, .. }
            | Error::Decode { body, .. } => Some(body),
            _ => None,
        }
    }

    /// How long the server asked to wait, for a rate limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// let error = openfunnel::Error::RateLimited { retry_after: Some(Duration::from_secs(3)), body: String::new() };
    /// assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// One complaint of a 422 response.
///
/// ```
/// fn explain(error: &openfunnel::Error) {
///     if let openfunnel::Error::Validation { issues, .. } = error {
///         for issue in issues {
///             eprintln!("{issue}"); // e.g. "body.limit: Input should be less than or equal to 10000"
///         }
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// Where, e.g. `body.limit` or `query.cursor`.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// The validator's error type, e.g. `less_than_equal`.
    pub kind: String,
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

fn summarize(issues: &[ValidationIssue]) -> String {
    if issues.is_empty() {
        return "no details given".into();
    }
    issues
        .iter()
        .map(ValidationIssue::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn excerpt_or_empty(body: &str) -> &str {
    if body.is_empty() {
        "(empty body)"
    } else {
        body
    }
}

/// The manifest of a job of either kind, as carried by [`Error::JobFailed`]
/// and [`Error::JobCancelled`].
///
/// ```
/// # fn example(error: openfunnel::Error) {
/// if let openfunnel::Error::JobFailed { manifest: Some(manifest), .. } = error {
///     println!("{} pages were written before the failure", manifest.pages().unwrap_or(0));
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Manifest {
    /// A bulk lookalike job's manifest.
    Lookalike(LookalikeManifest),
    /// A tech intent job's manifest.
    TechIntent(TechIntentManifest),
}

impl Manifest {
    /// Pages written and readable.
    ///
    /// ```
    /// let manifest: openfunnel::LookalikeManifest = serde_json::from_str(r#"{"pages": 3}"#).unwrap();
    /// assert_eq!(openfunnel::Manifest::Lookalike(manifest).pages(), Some(3));
    /// ```
    pub fn pages(&self) -> Option<i64> {
        match self {
            Manifest::Lookalike(manifest) => manifest.pages,
            Manifest::TechIntent(manifest) => manifest.pages,
        }
    }

    /// Whether the job stopped before finishing (failed or cancelled).
    ///
    /// ```
    /// let manifest: openfunnel::LookalikeManifest = serde_json::from_str(r#"{"partial": true}"#).unwrap();
    /// assert!(openfunnel::Manifest::Lookalike(manifest).is_partial());
    /// ```
    pub fn is_partial(&self) -> bool {
        match self {
            Manifest::Lookalike(manifest) => manifest.partial,
            Manifest::TechIntent(manifest) => manifest.partial,
        }
    }
}

/// Shortens a response body for an error message (at most 512 bytes, on a
/// character boundary), removing the API key should a server echo it.
pub(crate) fn body_excerpt(body: &[u8], api_key: &str) -> String {
    const MAX: usize = 512;
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut excerpt = text[..end].to_string();
    if end < text.len() {
        excerpt.push('…');
    }
    if !api_key.is_empty() && text.contains(api_key) {
        excerpt = text.replace(api_key, "[redacted]");
        return body_excerpt(excerpt.as_bytes(), "");
    }
    excerpt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_cut_on_characters_and_never_hold_the_key() {
        let long = "é".repeat(400);
        let excerpt = body_excerpt(long.as_bytes(), "of_key");
        assert!(excerpt.len() <= 512 + '…'.len_utf8());
        assert!(excerpt.ends_with('…'));
        let echoed = body_excerpt(b"{\"header\":\"of_secret_key\"}", "of_secret_key");
        assert_eq!(echoed, "{\"header\":\"[redacted]\"}");
        // The key is removed even when it straddles the cut-off point.
        let padded = format!("{}of_secret_key", "x".repeat(505));
        assert!(!body_excerpt(padded.as_bytes(), "of_secret_key").contains("of_sec"));
    }

    #[test]
    fn a_422_lists_every_issue() {
        let error = Error::Validation {
            issues: vec![
                ValidationIssue {
                    location: "body.limit".into(),
                    message: "too big".into(),
                    kind: "x".into(),
                },
                ValidationIssue {
                    location: "body.query".into(),
                    message: "too long".into(),
                    kind: "y".into(),
                },
            ],
            body: String::new(),
        };
        assert_eq!(
            error.to_string(),
            "OpenFunnel refused the request (HTTP 422): body.limit: too big; body.query: too long"
        );
    }
}
