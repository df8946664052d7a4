//! The one place requests are sent: retries, error classification and tracing.

use crate::budget::{Asker, Bucket};
use crate::error::{Error, ValidationIssue};
use crate::error_body::{DecodeError, ErrorBody};
use crate::policy::{JitterSource, RetryPolicy};
use crate::redact;
use crate::timer::{Timer, later};
use openfunnel_api::ApiKey;
use openfunnel_api::types::HttpValidationError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What the generated client returns for every operation.
pub(crate) type RawResult<T> =
    Result<openfunnel_api::ResponseValue<T>, openfunnel_api::Error<HttpValidationError>>;

/// Whether a request may be sent again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads and cancel: safe to repeat.
    Idempotent,
    /// A submit: repeat only if it provably never reached the server.
    CreatesJob,
}

/// The instants a request of a wait must respect: retries stop at
/// `retry_until` (the earlier of the idle timeout and the deadline), and a
/// request still in flight at `cut_off` (the deadline) is abandoned. With
/// `ride_out` (a wait whose job the server has answered for), transient
/// failures are retried until `retry_until`, not for a number of attempts.
/// A `speculative` request (a prefetch) is tried once: its failure only
/// discards it, and the page is then asked for by the chain itself.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits {
    pub retry_until: Option<Instant>,
    pub cut_off: Option<Instant>,
    pub ride_out: bool,
    pub speculative: bool,
}

/// Describes one logical request, for retries, errors and traces.
#[derive(Clone, Copy)]
pub(crate) struct Operation<'a> {
    pub name: &'static str,
    pub job_id: Option<&'a str>,
    pub cursor: Option<&'a str>,
    pub idempotency: Idempotency,
    /// The limits of the wait this request belongs to: no retry waits past
    /// `retry_until`, and a request still in flight at `cut_off` is
    /// abandoned (see [`Transport::send`]).
    pub limits: Limits,
    /// Told before each retry of a wait's request, for progress reports.
    pub on_retry: Option<&'a OnRetry>,
}

/// A poll that failed and will be sent again ([`crate::Progress::retrying`]): the
/// service is failing, and the wait rides it out.
///
/// ```
/// fn say(progress: &openfunnel::Progress) -> Option<String> {
///     let retrying = progress.retrying.as_ref()?;
///     Some(match retrying.retry_in {
///         Some(wait) => format!("OpenFunnel is failing ({}); trying again in {:.1} s", retrying.error, wait.as_secs_f64()),
///         None => format!("OpenFunnel is failing ({}); waiting for it to recover", retrying.error),
///     })
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retrying {
    /// What failed, in words (the API key removed).
    pub error: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// Attempts of this request so far.
    pub attempt: u32,
    /// How long until the next attempt; `None` while the client's retry
    /// budget is spent and the request waits its turn
    /// ([`crate::RetryBudget`]).
    pub retry_in: Option<Duration>,
}

/// What a wait is told before a request is sent again.
pub(crate) type OnRetry = dyn Fn(&Retrying) + Send + Sync;

/// Sends requests through the generated client.
#[derive(Clone)]
pub(crate) struct Transport {
    pub api: openfunnel_api::Client,
    pub retry: RetryPolicy,
    pub timer: Arc<dyn Timer>,
    /// The client's one random source, for retry and poll jitter.
    pub jitter: Arc<JitterSource>,
    /// The client's retry budget, shared by every job and stream.
    pub budget: Arc<Bucket>,
    /// Only used to scrub the key from what servers send back; never logged.
    pub api_key: ApiKey,
    /// The API's origin, to tell a cross-origin redirect from a local one.
    pub base_url: reqwest::Url,
    /// Bounds the requests in flight (and so the connections) of one client.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// The body limit given to the generated client, for error messages.
    pub max_response_bytes: u64,
}

/// A failure, classified: the error to report, whether to try again, and
/// the wait the server asked for (`Retry-After`), if any.
struct Failure {
    error: Error,
    retry: bool,
    server_asked: Option<Duration>,
}

impl Failure {
    fn retried_if(error: Error, retry: bool) -> Failure {
        Failure {
            error,
            retry,
            server_asked: None,
        }
    }
}

impl From<Error> for Failure {
    /// A failure that is not retried.
    fn from(error: Error) -> Failure {
        Failure::retried_if(error, false)
    }
}

/// The result of [`Transport::send`]: the answer and the attempts it took.
pub(crate) struct Sent<T> {
    pub result: Result<T, Error>,
    pub attempts: u32,
}

impl Transport {
    /// Sends `call` until it succeeds, fails for good, the retry budget is
    /// spent, or the next wait would pass the operation's limits (then
    /// [`Error::TimedOut`], carrying the failure that was being retried; the
    /// caller adds the job's last status).
    pub(crate) async fn send<T, F, Fut>(&self, operation: Operation<'_>, call: F) -> Sent<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        let cursor = operation
            .cursor
            .map(|cursor| redact::text(&self.api_key, cursor));
        let span = tracing::debug_span!(
            "openfunnel.request",
            operation = operation.name,
            job_id = operation.job_id,
            cursor = cursor.as_deref(),
        );
        let mut attempts: u32 = 0;
        let ride_out = operation.limits.ride_out && self.retry.rides_out();
        let result = async {
            // Held while this request probes a failing service for the
            // client: the next in line waits for the outcome.
            let mut _turn = None;
            // Probes this request sent for the client: it waits behind
            // requests that sent fewer.
            let mut probes = 0u32;
            loop {
                attempts += 1;
                let attempt = attempts;
                // Held while the request and its body are in flight, not while
                // waiting to retry. The semaphore is never closed.
                let permit = self.in_flight.acquire().await.ok();
                let epoch = self.budget.epoch();
                let started = Instant::now();
                let Some(outcome) = self.within_cut_off(operation, call()).await else {
                    tracing::debug!(attempt, "deadline reached during the request");
                    break Err(timed_out(operation, None));
                };
                let elapsed_ms = started.elapsed().as_millis() as u64;
                let failure = match outcome {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        tracing::debug!(attempt, status, elapsed_ms, "response");
                        self.budget.succeeded(epoch);
                        break Ok(response.into_inner());
                    }
                    Err(error) => self.classify(error, operation).await,
                };
                drop(permit);
                _turn = None;
                if failure.retry {
                    self.budget.failed();
                }
                // Logged below, before any wrapper sees it.
                let error = redact::error(failure.error, &self.api_key);
                let status = error.status();
                let asked = failure.server_asked;
                let retry = failure.retry && !operation.limits.speculative;
                let Some(wait) = self.wait_before_retry(retry, asked, attempt, ride_out)
                else {
                    tracing::debug!(attempt, status, elapsed_ms, error = %error, "request failed");
                    break Err(error);
                };
                let until = operation.limits.retry_until;
                if let Some(until) = until
                    && later(self.timer.now(), wait).is_none_or(|resume| resume >= until)
                {
                    tracing::debug!(attempt, status, elapsed_ms, error = %error, "time limit reached while retrying");
                    break Err(timed_out(operation, Some(error)));
                }
                // Riding out an outage, a request retries once on the
                // budget; after that it takes turns with the client's other
                // requests (one probe at a time), so an outage costs each
                // job a few requests however long it lasts.
                let take_turns = ride_out && attempt > 1 && self.budget.takes_turns();
                if take_turns || !self.budget.try_spend(is_timeout(&error)) {
                    if !ride_out {
                        tracing::warn!(attempt, status, error = %error, "the client's retry budget is spent; not retried");
                        break Err(Error::ServiceFailing {
                            last_error: Box::new(error),
                        });
                    }
                    let backoff = self.retry.backoff();
                    let queued = || {
                        tracing::warn!(attempt, status, error = %error, "the service is failing; waiting for a turn to probe it");
                        tell(operation, &error, attempt, None);
                    };
                    let asker = Asker {
                        attempt,
                        probes_made: probes,
                    };
                    let Some(turn) = self
                        .budget
                        .wait_for_turn(&*self.timer, &self.jitter, &backoff, asker, until, queued)
                        .await
                    else {
                        break Err(timed_out(operation, Some(error)));
                    };
                    // A wait the server asked for still holds.
                    let delay = match asked {
                        Some(_) => turn.delay.max(wait),
                        None => turn.delay,
                    };
                    if until.is_some_and(|until| {
                        later(self.timer.now(), delay).is_none_or(|resume| resume >= until)
                    }) {
                        break Err(timed_out(operation, Some(error)));
                    }
                    tracing::debug!(attempt, released = ?turn.released, "sending again");
                    probes = asker.probes_after(&turn);
                    _turn = turn.guard;
                    tell(operation, &error, attempt, Some(delay));
                    self.timer.sleep(delay).await;
                    continue;
                }
                let retry_in_ms = wait.as_millis() as u64;
                tracing::info!(attempt, status, elapsed_ms, retry_in_ms, error = %error, "retrying");
                tell(operation, &error, attempt, Some(wait));
                self.timer.sleep(wait).await;
            }
        }
        .instrument(span)
        .await;
        Sent { result, attempts }
    }

    /// `request`, or `None` when the operation's cut-off (the deadline of
    /// its wait) passes first. Measured on the real clock, as the request is.
    async fn within_cut_off<T>(
        &self,
        operation: Operation<'_>,
        request: impl Future<Output = T>,
    ) -> Option<T> {
        let Some(cut_off) = operation.limits.cut_off else {
            return Some(request.await);
        };
        let left = cut_off.saturating_duration_since(self.timer.now());
        tokio::time::timeout(left, request).await.ok()
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    /// Riding out, attempts are not counted and any wait the server asks
    /// for is accepted (the wait's limits bound them). A server's wait is a
    /// minimum, jittered upward so that jobs told the same wait do not
    /// return at the same instant.
    fn wait_before_retry(
        &self,
        retry: bool,
        server_asked: Option<Duration>,
        attempt: u32,
        ride_out: bool,
    ) -> Option<Duration> {
        if !retry || (!ride_out && attempt >= self.retry.max_attempts()) {
            return None;
        }
        match server_asked {
            Some(asked) if !ride_out && asked > self.retry.max_retry_after() => None,
            Some(asked) => Some(self.jitter.above(&self.retry.backoff(), asked)),
            None => Some(self.jitter.delay(&self.retry.backoff(), attempt - 1)),
        }
    }

    async fn classify(
        &self,
        error: openfunnel_api::Error<HttpValidationError>,
        operation: Operation<'_>,
    ) -> Failure {
        use openfunnel_api::Error as Raw;
        let idempotent = operation.idempotency == Idempotency::Idempotent;
        if openfunnel_api::is_response_too_large(&error) {
            return Failure::from(Error::ResponseTooLarge {
                operation: operation.name,
                limit: self.max_response_bytes,
            });
        }
        match error {
            Raw::CommunicationError(source) | Raw::InvalidUpgrade(source) => {
                // A connect error means nothing was sent: even a submit may retry.
                let retry = idempotent || source.is_connect();
                Failure::retried_if(Error::Transport { source }, retry)
            }
            Raw::ResponseBodyError(source) => {
                Failure::retried_if(Error::Transport { source }, idempotent)
            }
            // A successful status with a truncated or garbled body: a read may
            // be repeated; a submit's job exists, so its body is reported,
            // not resent. (An unsuccessful status never gets here: the
            // generated client's `post` hook hands it back as a response.)
            Raw::InvalidResponsePayload(body, source) => Failure::retried_if(
                Error::Decode {
                    operation: operation.name,
                    body: redact::excerpt(&body, &self.api_key),
                    source: DecodeError::new(&source),
                },
                idempotent,
            ),
            // A 422 of the spec's shape, decoded by the generated client: its
            // bytes are gone, so it is read back from its re-serialised JSON
            // (same content, keys in order) by the one reader every 422
            // goes through.
            Raw::ErrorResponse(response) => {
                let bytes = serde_json::to_vec(&*response).unwrap_or_default();
                let body = Box::new(redact::body(&bytes, &self.api_key));
                Failure::from(self.unprocessable(&bytes, body, operation))
            }
            Raw::UnexpectedResponse(response) => self.classify_status(response, operation).await,
            Raw::InvalidRequest(message) | Raw::Custom(message) => {
                Failure::from(Error::InvalidInput(message))
            }
        }
    }

    /// Classifies an unsuccessful response by its status, then reads its body.
    async fn classify_status(
        &self,
        response: reqwest::Response,
        operation: Operation<'_>,
    ) -> Failure {
        let status = response.status().as_u16();
        let header_wait = retry_after_header(response.headers());
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let idempotent = operation.idempotency == Idempotency::Idempotent;
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(source) => return Failure::retried_if(Error::Transport { source }, idempotent),
        };
        let body = Box::new(redact::body(&bytes, &self.api_key));
        let job_id = operation.job_id.unwrap_or_default().to_string();
        match status {
            300..=399 => Failure::from(self.redirect(status, location, body)),
            401 | 403 => Failure::from(Error::Unauthorized { status, body }),
            // With a cursor, 400 and 404 are about the page (the spec documents
            // 400 for one kind and 404 for the other); without, about the job.
            400 | 404 if let Some(cursor) = operation.cursor => {
                Failure::from(Error::UnknownCursor {
                    job_id,
                    cursor: cursor.to_string(),
                    status,
                    body,
                })
            }
            404 => Failure::from(Error::NotFound { job_id, body }),
            422 => Failure::from(self.unprocessable(&bytes, body, operation)),
            408 | 429 | 500..=599 => {
                let server_asked = header_wait.or_else(|| body.details_retry_after());
                let mut body = body;
                body.retry_after = server_asked;
                let error = if status == 429 {
                    Error::RateLimited {
                        retry_after: server_asked,
                        body,
                    }
                } else {
                    Error::Http { status, body }
                };
                // A submit that got an answer reached the server: not resent.
                Failure {
                    server_asked,
                    ..Failure::retried_if(error, idempotent)
                }
            }
            _ => Failure::from(Error::Http { status, body }),
        }
    }

    /// A 422: the cursor's refusal when its issues name the cursor of a
    /// request that carried one (the lookalike endpoint documents 422, not
    /// 400, for a bad query parameter), otherwise a validation error.
    fn unprocessable(&self, bytes: &[u8], body: Box<ErrorBody>, operation: Operation<'_>) -> Error {
        let issues = validation_issues(bytes);
        match operation.cursor {
            Some(cursor) if issues.iter().any(ValidationIssue::names_the_cursor) => {
                Error::UnknownCursor {
                    job_id: operation.job_id.unwrap_or_default().to_string(),
                    cursor: cursor.to_string(),
                    status: 422,
                    body,
                }
            }
            _ => Error::Validation { issues, body },
        }
    }

    /// A 3xx the client did not follow: a redirect to another origin (never
    /// followed, so the key is not sent there), or one it could not follow
    /// (no `Location`, a 304, too many hops on the same origin).
    fn redirect(&self, status: u16, location: Option<String>, body: Box<ErrorBody>) -> Error {
        let elsewhere = location.as_deref().and_then(|location| {
            let target = self.base_url.join(location).ok()?;
            (target.origin() != self.base_url.origin()).then_some(location)
        });
        match elsewhere {
            Some(location) => Error::CrossOriginRedirect {
                status,
                location: location.to_string(),
            },
            None => Error::Http { status, body },
        }
    }
}

/// Tells the operation's wait that its request will be sent again.
fn tell(operation: Operation<'_>, error: &Error, attempt: u32, retry_in: Option<Duration>) {
    if let Some(on_retry) = operation.on_retry {
        on_retry(&Retrying {
            error: error.to_string(),
            status: error.status(),
            attempt,
            retry_in,
        });
    }
}

/// Whether `error` is a request that ran into its timeout (its retry costs
/// more of the budget: it held a connection all that time).
fn is_timeout(error: &Error) -> bool {
    matches!(error, Error::Transport { source } if source.is_timeout())
}

/// The [`Error::TimedOut`] of a request stopped by its wait's limits; the
/// wait adds the job's last status and which limit it was.
fn timed_out(operation: Operation<'_>, last_error: Option<Error>) -> Error {
    Error::TimedOut {
        job_id: operation.job_id.unwrap_or_default().to_string(),
        last_status: None,
        polls: 0,
        elapsed: Duration::ZERO,
        limit: crate::error::TimeLimit::Deadline(Duration::ZERO),
        last_error: last_error.map(Box::new),
    }
}

/// The issues of a 422, whatever its body: the spec's `HTTPValidationError`
/// list, FastAPI's `{"detail": "text"}` (one issue without a location), or a
/// list of any looser shape (what can be read of each). FastAPI quotes the
/// input it refused: the issues are redacted with the rest of the error.
fn validation_issues(body: &[u8]) -> Vec<ValidationIssue> {
    let text = |value: Option<&serde_json::Value>| match value {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    match value.get("detail") {
        Some(serde_json::Value::String(message)) => vec![ValidationIssue {
            location: String::new(),
            message: message.clone(),
            kind: String::new(),
        }],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| ValidationIssue {
                location: match item.get("loc") {
                    Some(serde_json::Value::Array(parts)) => parts
                        .iter()
                        .map(|part| text(Some(part)))
                        .collect::<Vec<_>>()
                        .join("."),
                    other => text(other),
                },
                message: text(item.get("msg")),
                kind: text(item.get("type")),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `Retry-After` as RFC 9110 §10.2.3 allows it: `delay-seconds` (one or more
/// ASCII digits) or an HTTP date. A date in the past means "now". Anything
/// else (`NaN`, `-1`, `1e3`, `1.5`, an empty value) is ignored, so the
/// policy's backoff applies.
fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Too many digits for a u64 is longer than any wait honoured.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after_header(&headers), Some(Duration::from_secs(3)));

        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        let date = httpdate::fmt_http_date(later);
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        let wait = retry_after_header(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(27) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );

        let earlier = std::time::SystemTime::now() - Duration::from_secs(30);
        let date = httpdate::fmt_http_date(earlier);
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&date).unwrap());
        assert_eq!(retry_after_header(&headers), Some(Duration::ZERO));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("99999999999999999999999"),
        );
        assert_eq!(
            retry_after_header(&headers),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn retry_after_values_rfc_9110_does_not_allow_are_ignored() {
        let mut headers = HeaderMap::new();
        for value in ["NaN", "-1", "1e3", "1.5", "+3", "soon", "", "inf", "0x10"] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after_header(&headers), None, "{value:?}");
        }
    }
}
