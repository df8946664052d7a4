//! The one error type of the SDK.

use crate::error_body::{DecodeError, ErrorBody};
use crate::manifest::Manifest;
use crate::status::JobStatus;
use std::time::Duration;

/// Everything that can go wrong, as one enum a caller can match.
///
/// Each message says what happened and what to do. The API key never appears
/// in any of them, nor in their `Debug` output or source chain. The body of
/// an error response is kept as an [`ErrorBody`]: a short excerpt, and
/// OpenFunnel's documented `error_code` and `details` when the body has them
/// (see [`Error::error_code`]). Errors are classified by HTTP status first;
/// a body that does not parse never changes which error it is.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) {
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
        "OpenFunnel rejected the API key (HTTP {status}: {body}): check OPENFUNNEL_API_KEY or the key given to the client"
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// 404: no such job for this key (or, on a request not about a job such
    /// as a submit, no such endpoint). Never retried.
    #[error("{}", not_found(job_id, body))]
    NotFound {
        /// The job asked for (empty when the request was not about a job).
        job_id: String,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// 400 or 404 on a page request, or a 422 whose issues name the cursor:
    /// the server does not know the cursor (or, for a 404, the job). Never
    /// retried.
    #[error(
        "job `{job_id}` has no page at cursor `{cursor}` (HTTP {status}: {body}): resume from a checkpoint this SDK produced for this job, or read the job from the start"
    )]
    UnknownCursor {
        /// The job.
        job_id: String,
        /// The cursor the server refused.
        cursor: String,
        /// 400, 404 or 422.
        status: u16,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// 422: the server refused the request's parameters. Never retried,
    /// whatever the body: the spec's list of issues, FastAPI's plain
    /// `{"detail": "text"}`, or anything else.
    #[error(
        "OpenFunnel refused the request (HTTP 422): {}: fix the request and send it again",
        summarize(issues, body)
    )]
    Validation {
        /// What the server said was wrong, field by field (one issue without
        /// a location when the server sent a plain message; none when the
        /// body said nothing readable).
        issues: Vec<ValidationIssue>,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// 429 after the retry budget ran out, or a wait longer than allowed.
    #[error(
        "OpenFunnel is rate limiting this key (HTTP 429: {body}){}: wait before trying again",
        retry_after.map(|d| format!(", asked to wait {} s", d.as_secs_f64())).unwrap_or_default()
    )]
    RateLimited {
        /// How long the server asked to wait, if it said.
        retry_after: Option<Duration>,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// A limit of the [`crate::PollPolicy`] ended the wait before the job
    /// reached a terminal status: the idle timeout (no progress for that
    /// long) or the deadline (the whole call took that long), between polls,
    /// while a request was retried, or (the deadline) during a request.
    #[error(
        "job `{job_id}` {} ({polls} polls in {:.1} s, last status: {}{}): {}, or resume later from a checkpoint",
        limit.what_happened(),
        elapsed.as_secs_f64(),
        last_status.as_ref().map(JobStatus::as_str).unwrap_or("none seen"),
        last_error.as_ref().map(|error| format!("; the last request failed: {error}")).unwrap_or_default(),
        limit.what_to_do()
    )]
    TimedOut {
        /// The job.
        job_id: String,
        /// The last status the server reported.
        last_status: Option<JobStatus>,
        /// Poll requests answered.
        polls: u32,
        /// Time spent waiting.
        elapsed: Duration,
        /// Which limit ended the wait.
        limit: TimeLimit,
        /// The failure that was being retried when the limit came, if any.
        last_error: Option<Box<Error>>,
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
    /// A job was submitted, but the id the server returned cannot be used in
    /// a request (empty, too long, or with characters a path cannot carry).
    /// The job exists and may be billed.
    #[error(
        "OpenFunnel created a job but returned an id this SDK cannot use ({problem}): the job may be billed; contact OpenFunnel support with the id `{job_id}`"
    )]
    UnusableJobId {
        /// The id as returned (control characters escaped).
        job_id: String,
        /// What is wrong with it.
        problem: String,
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
    /// Any other unsuccessful HTTP status (including a redirect that stays on
    /// the API's origin but was not followed, such as a 304).
    #[error("OpenFunnel answered HTTP {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// What the response said.
        body: Box<ErrorBody>,
    },
    /// A successful response's body was not the JSON the spec describes.
    #[error(
        "cannot decode the response of {operation}: {source}; the body starts with: {}",
        excerpt_or_empty(body)
    )]
    Decode {
        /// The operation whose response failed to decode.
        operation: &'static str,
        /// Excerpt of the body.
        body: String,
        /// The decoder's complaint (the API key removed).
        #[source]
        source: DecodeError,
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
    /// The client could not be configured: no key, an unusable key or base
    /// URL, or an HTTP client that failed to build (TLS set-up, for example).
    /// No request was sent.
    #[error("cannot set up the OpenFunnel client: {problem}")]
    Configuration {
        /// What is wrong, and what to do.
        problem: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A request failed in a way worth retrying (a 5xx, a rate limit, a
    /// broken connection), but the client's [`crate::RetryBudget`] is
    /// spent: many of its recent requests failed too, so this one was not
    /// retried, to avoid adding load to a failing service. Only one-shot
    /// calls (submit, cancel, a single poll) end this way; the polls of a
    /// wait queue for their turn instead.
    #[error(
        "OpenFunnel is failing ({last_error}); not retried, since this client's recent requests failed too and its retry budget is spent: try again later"
    )]
    ServiceFailing {
        /// The failure that was not retried.
        last_error: Box<Error>,
    },
    /// The server could not be reached, or the connection broke.
    #[error(
        "cannot reach OpenFunnel: {}: check the network and the base URL",
        transport_cause(source)
    )]
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
    /// let error = openfunnel::Error::Http { status: 503, body: Default::default() };
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
            Error::ServiceFailing { last_error } => last_error.status(),
            _ => None,
        }
    }

    /// Whether trying again later may succeed: rate limits, 408, 5xx, network
    /// errors and time-outs. The SDK has already retried these within its
    /// budget when you see them.
    ///
    /// ```
    /// assert!(openfunnel::Error::Http { status: 503, body: Default::default() }.is_retryable());
    /// assert!(!openfunnel::Error::InvalidInput("limit".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Transport { .. }
            | Error::TimedOut { .. }
            | Error::ServiceFailing { .. } => true,
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
            | Error::UnusableJobId { job_id, .. }
            | Error::InconsistentPages { job_id, .. } => Some(job_id),
            _ => None,
        }
    }

    /// The excerpt of the response body, for errors that came with one.
    ///
    /// ```
    /// let body = openfunnel::ErrorBody::parse(br#"{"error_code":"INTERNAL_ERROR"}"#);
    /// let error = openfunnel::Error::Http { status: 500, body: Box::new(body) };
    /// assert!(error.body().unwrap().contains("INTERNAL_ERROR"));
    /// ```
    pub fn body(&self) -> Option<&str> {
        match self {
            Error::Decode { body, .. } => Some(body),
            _ => self.error_body().map(|body| body.excerpt.as_str()),
        }
    }

    /// What an error response said, for errors that came from one.
    ///
    /// ```
    /// let body = openfunnel::ErrorBody::parse(br#"{"detail":"Job not found"}"#);
    /// let error = openfunnel::Error::NotFound { job_id: "j1".into(), body: Box::new(body) };
    /// assert_eq!(error.error_body().unwrap().detail.as_deref(), Some("Job not found"));
    /// ```
    pub fn error_body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Unauthorized { body, .. }
            | Error::NotFound { body, .. }
            | Error::UnknownCursor { body, .. }
            | Error::Validation { body, .. }
            | Error::RateLimited { body, .. }
            | Error::Http { body, .. } => Some(body),
            Error::ServiceFailing { last_error } => last_error.error_body(),
            _ => None,
        }
    }

    /// OpenFunnel's `error_code` (e.g. `RATE_LIMITED`), when the response
    /// body carried one.
    ///
    /// ```
    /// let body = openfunnel::ErrorBody::parse(br#"{"error_code":"INTERNAL_ERROR","details":{}}"#);
    /// let error = openfunnel::Error::Http { status: 500, body: Box::new(body) };
    /// assert_eq!(error.error_code(), Some("INTERNAL_ERROR"));
    /// ```
    pub fn error_code(&self) -> Option<&str> {
        self.error_body()?.code.as_deref()
    }

    /// OpenFunnel's `details`, when the response body carried them.
    ///
    /// ```
    /// let body = openfunnel::ErrorBody::parse(br#"{"error_code":"CONFLICT","details":{"status":"completed"}}"#);
    /// let error = openfunnel::Error::Http { status: 409, body: Box::new(body) };
    /// assert_eq!(error.error_details().unwrap()["status"], "completed");
    /// ```
    pub fn error_details(&self) -> Option<&serde_json::Value> {
        self.error_body()?.details.as_ref()
    }

    /// How long the server asked to wait (`Retry-After`, or the body's
    /// `details.retry_after_seconds`), on a 429 and on any other status
    /// that carried it (a 503 whose wait was longer than
    /// [`crate::RetryPolicy::with_max_retry_after`] allows, say).
    ///
    /// ```
    /// use std::time::Duration;
    /// let error = openfunnel::Error::RateLimited { retry_after: Some(Duration::from_secs(3)), body: Default::default() };
    /// assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::ServiceFailing { last_error } => last_error.retry_after(),
            _ => self.error_body()?.retry_after,
        }
    }
}

/// Which limit of a [`crate::PollPolicy`] ended a wait
/// ([`Error::TimedOut::limit`](Error::TimedOut)).
///
/// ```
/// use openfunnel::TimeLimit;
/// use std::time::Duration;
/// let idle = TimeLimit::Idle(Duration::from_secs(3600));
/// assert_eq!(idle.duration(), Duration::from_secs(3600));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeLimit {
    /// [`crate::PollPolicy::with_idle_timeout`]: this long passed without
    /// progress (no new row or page, no status or stage change, `processed`
    /// still).
    Idle(Duration),
    /// [`crate::PollPolicy::with_deadline`]: the whole call took this long.
    Deadline(Duration),
}

impl TimeLimit {
    /// The limit's duration.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(openfunnel::TimeLimit::Deadline(Duration::from_secs(5)).duration().as_secs(), 5);
    /// ```
    pub fn duration(&self) -> Duration {
        match self {
            TimeLimit::Idle(duration) | TimeLimit::Deadline(duration) => *duration,
        }
    }

    fn what_happened(&self) -> String {
        match self {
            TimeLimit::Idle(idle) => format!(
                "made no progress for {:.1} s (the idle timeout)",
                idle.as_secs_f64()
            ),
            TimeLimit::Deadline(deadline) => format!(
                "did not finish within its deadline of {:.1} s",
                deadline.as_secs_f64()
            ),
        }
    }

    fn what_to_do(&self) -> &'static str {
        match self {
            TimeLimit::Idle(_) => "wait longer with PollPolicy::with_idle_timeout",
            TimeLimit::Deadline(_) => "allow more time with PollPolicy::with_deadline",
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

impl ValidationIssue {
    /// Whether the issue is about the `cursor` parameter (its location has a
    /// `cursor` part, e.g. `query.cursor`).
    pub(crate) fn names_the_cursor(&self) -> bool {
        self.location.split('.').any(|part| part == "cursor")
    }
}

impl std::fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.location.is_empty() {
            return f.write_str(&self.message);
        }
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// What went wrong on the wire, in plain words first, then the error and its
/// causes (reqwest's own message says only "error sending request for url").
fn transport_cause(error: &reqwest::Error) -> String {
    describe_chain(error, error.is_timeout())
}

/// `error` and its causes, each message once, after a plain-words reason
/// when one is recognised (`timed_out`: the top error says it timed out).
fn describe_chain(error: &(dyn std::error::Error + 'static), timed_out: bool) -> String {
    let mut parts = vec![error.to_string()];
    let mut reason = timed_out.then_some("the request timed out");
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        reason = reason.or_else(|| plain_reason(cause, &text));
        if !text.is_empty() && !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    let chain = parts.join(": ");
    match reason {
        Some(reason) => format!("{reason} ({chain})"),
        None => chain,
    }
}

/// A cause a user can act on, in plain words.
fn plain_reason(cause: &(dyn std::error::Error + 'static), text: &str) -> Option<&'static str> {
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                return Some("the connection was refused (nothing listens at that address)");
            }
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted => {
                return Some("the connection was reset");
            }
            std::io::ErrorKind::TimedOut => return Some("the request timed out"),
            _ => {}
        }
    }
    let text = text.to_ascii_lowercase();
    if text.contains("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
    {
        Some("the host name was not found")
    } else if text.contains("tls")
        || text.contains("certificate")
        || text.contains("invalidcontenttype")
        || text.contains("corrupt message")
        || text.contains("handshake")
    {
        Some("the TLS handshake failed (is the base URL's scheme right?)")
    } else if text.contains("timed out") {
        Some("the request timed out")
    } else {
        None
    }
}

/// A 404's message: about the job when there is one, else about the URL.
/// The words for a 404. The spec documents no 404 body, so the body is read
/// only for what tells the cases apart: a web framework's generic `Not
/// Found` answers a route that does not exist (the base URL is wrong), where
/// an unknown job gets a message of its own.
fn not_found(job_id: &str, body: &ErrorBody) -> String {
    let unknown_route = body
        .detail
        .as_deref()
        .is_some_and(|detail| detail.eq_ignore_ascii_case("not found"));
    if job_id.is_empty() {
        format!(
            "OpenFunnel has no such endpoint (HTTP 404: {body}): the base URL looks wrong; check its path (OPENFUNNEL_BASE_URL or ClientBuilder::with_base_url, e.g. https://api.openfunnel.dev with no path)"
        )
    } else if unknown_route {
        format!(
            "OpenFunnel answered a generic HTTP 404 ({body}), as it does for a path it does not serve: the base URL looks wrong; check its path (OPENFUNNEL_BASE_URL or ClientBuilder::with_base_url, e.g. https://api.openfunnel.dev with no path). If it is right, job `{job_id}` does not exist for this API key"
        )
    } else {
        format!(
            "job `{job_id}` was not found for this API key (HTTP 404: {body}): check the id, that the job was created with the same key and is of this kind, and that the base URL has no wrong path"
        )
    }
}

fn summarize(issues: &[ValidationIssue], body: &ErrorBody) -> String {
    if issues.is_empty() {
        return body.to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a message and an optional cause, to build chains.
    #[derive(Debug)]
    struct Link(
        &'static str,
        Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    );

    impl std::fmt::Display for Link {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Link {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|cause| cause as &(dyn std::error::Error + 'static))
        }
    }

    fn chain(top: &'static str, cause: impl std::error::Error + Send + Sync + 'static) -> Link {
        Link(top, Some(Box::new(cause)))
    }

    #[test]
    fn a_transport_error_names_its_cause_in_plain_words_then_each_message_once() {
        use std::io::{Error as Io, ErrorKind};
        let reason = |error: Link| describe_chain(&error, false);
        let io = |kind, text: &'static str| chain("error sending request", Io::new(kind, text));
        assert_eq!(
            reason(io(ErrorKind::ConnectionRefused, "refused (os error 111)")),
            "the connection was refused (nothing listens at that address) (error sending request: refused (os error 111))"
        );
        for kind in [ErrorKind::ConnectionReset, ErrorKind::ConnectionAborted] {
            assert!(reason(io(kind, "x")).starts_with("the connection was reset ("));
        }
        assert!(reason(io(ErrorKind::TimedOut, "x")).starts_with("the request timed out ("));
        for text in [
            "dns error",
            "failed to lookup address information",
            "Name or service not known",
        ] {
            assert!(
                reason(chain("top", Link(text, None))).starts_with("the host name was not found"),
                "{text}"
            );
        }
        for text in [
            "tls error",
            "invalid peer certificate",
            "InvalidContentType",
            "received corrupt message",
            "handshake failure",
        ] {
            assert!(
                reason(chain("top", Link(text, None))).starts_with("the TLS handshake failed"),
                "{text}"
            );
        }
        assert!(
            reason(chain("top", Link("operation timed out", None)))
                .starts_with("the request timed out")
        );
        // Unrecognised: the chain alone; a message repeated down the chain,
        // or an empty one, is shown once.
        assert_eq!(
            reason(chain(
                "client error (Connect)",
                chain("Connect", Link("", None))
            )),
            "client error (Connect)"
        );
        assert_eq!(reason(chain("a", chain("b", Link("c", None)))), "a: b: c");
        assert!(describe_chain(&Link("a", None), true).starts_with("the request timed out (a)"));
    }

    #[test]
    fn the_wait_a_server_asked_for_is_on_a_rate_limit_and_on_any_body_that_carried_it() {
        let rate_limited = Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
            body: Box::default(),
        };
        assert_eq!(rate_limited.retry_after(), Some(Duration::from_secs(3)));
        let body = ErrorBody {
            retry_after: Some(Duration::from_secs(600)),
            ..ErrorBody::default()
        };
        let unavailable = Error::Http {
            status: 503,
            body: Box::new(body),
        };
        assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(600)));
        assert_eq!(Error::InvalidInput("x".into()).retry_after(), None);
    }

    #[test]
    fn a_time_limit_says_which_it_was_and_how_long() {
        let idle = TimeLimit::Idle(Duration::from_secs(7));
        let deadline = TimeLimit::Deadline(Duration::from_secs(9));
        assert_eq!(
            (idle.duration(), deadline.duration()),
            (Duration::from_secs(7), Duration::from_secs(9))
        );
        assert!(idle.what_happened().contains("no progress for 7.0 s"));
        assert!(deadline.what_happened().contains("deadline of 9.0 s"));
        assert!(idle.what_to_do().contains("with_idle_timeout"));
        assert!(deadline.what_to_do().contains("with_deadline"));
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
            body: Box::default(),
        };
        assert_eq!(
            error.to_string(),
            "OpenFunnel refused the request (HTTP 422): body.limit: too big; body.query: too long: fix the request and send it again"
        );
    }

    #[test]
    fn a_decode_error_shows_the_start_of_the_body_or_says_it_was_empty() {
        let decode = |body: &str| {
            let source = serde_json::from_str::<serde_json::Value>(body).unwrap_err();
            Error::Decode {
                operation: "poll",
                body: body.to_string(),
                source: DecodeError::new(&source),
            }
            .to_string()
        };
        assert!(decode("{\"rows\": [").ends_with("the body starts with: {\"rows\": ["));
        assert!(decode("").ends_with("the body starts with: (empty body)"));
    }

    #[test]
    fn a_404_names_the_job_when_there_is_one_and_the_url_otherwise() {
        let not_found = |job_id: &str| Error::NotFound {
            job_id: job_id.into(),
            body: Box::default(),
        };
        assert_eq!(not_found("j1").job_id(), Some("j1"));
        assert_eq!(not_found("").job_id(), None);
        assert!(
            not_found("j1")
                .to_string()
                .starts_with("job `j1` was not found")
        );
        assert!(
            not_found("")
                .to_string()
                .contains("the base URL looks wrong")
        );
        // A framework's generic Not Found: a path the API does not serve.
        let generic = Error::NotFound {
            job_id: "j1".into(),
            body: Box::new(ErrorBody::parse(br#"{"detail": "Not Found"}"#)),
        };
        let message = generic.to_string();
        assert!(message.contains("the base URL looks wrong"), "{message}");
        assert!(message.contains("job `j1` does not exist"), "{message}");
        // A message of its own: the job.
        let own = Error::NotFound {
            job_id: "j1".into(),
            body: Box::new(ErrorBody::parse(br#"{"detail": "Job not found"}"#)),
        };
        assert!(
            own.to_string().starts_with("job `j1` was not found"),
            "{own}"
        );
    }
}
