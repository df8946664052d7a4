//! The one place requests are sent: retries, error classification and tracing.

use crate::error::{Error, ValidationIssue, body_excerpt};
use crate::policy::{JitterSource, RetryPolicy};
use crate::timer::Timer;
use openfunnel_api::types::HttpValidationError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// What the generated client returns for every operation.
pub(crate) type RawResult<T> =
    Result<openfunnel_api::ResponseValue<T>, openfunnel_api::Error<HttpValidationError>>;

/// Converts the value of a response, keeping its status and headers.
pub(crate) fn map_response<T, U>(
    response: openfunnel_api::ResponseValue<T>,
    convert: impl FnOnce(T) -> U,
) -> openfunnel_api::ResponseValue<U> {
    let (status, headers) = (response.status(), response.headers().clone());
    openfunnel_api::ResponseValue::new(convert(response.into_inner()), status, headers)
}

/// Whether a request may be sent again after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads and cancel: safe to repeat.
    Idempotent,
    /// A submit: repeat only if it provably never reached the server.
    CreatesJob,
}

/// Describes one logical request, for retries, errors and traces.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operation<'a> {
    pub name: &'static str,
    pub job_id: Option<&'a str>,
    pub cursor: Option<&'a str>,
    pub idempotency: Idempotency,
}

/// Sends requests through the generated client.
#[derive(Clone)]
pub(crate) struct Transport {
    pub api: openfunnel_api::Client,
    pub retry: RetryPolicy,
    pub timer: Arc<dyn Timer>,
    /// The client's one random source, for retry and poll jitter.
    pub jitter: Arc<JitterSource>,
    /// Only used to scrub the key from error excerpts; never logged.
    pub api_key: Arc<str>,
    /// Bounds the requests in flight (and so the connections) of one client.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// The body limit given to the generated client, for error messages.
    pub max_response_bytes: u64,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("retry", &self.retry)
            .field("api_key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A failure, classified: the error to report, and whether to try again.
struct Failure {
    error: Error,
    retry: Retry,
}

enum Retry {
    No,
    /// After the policy's backoff, or after what the server asked for.
    Yes {
        server_asked: Option<Duration>,
    },
}

impl Transport {
    /// Sends `call` until it succeeds, fails for good, or the retry budget is spent.
    pub(crate) async fn send<T, F, Fut>(
        &self,
        operation: Operation<'_>,
        call: F,
    ) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = RawResult<T>>,
    {
        let span = tracing::debug_span!(
            "openfunnel.request",
            operation = operation.name,
            job_id = operation.job_id,
            cursor = operation.cursor,
        );
        async move {
            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                // Held while the request and its body are in flight, not while
                // waiting to retry. The semaphore is never closed.
                let permit = self.in_flight.acquire().await.ok();
                let started = Instant::now();
                let outcome = call().await;
                let elapsed_ms = started.elapsed().as_millis() as u64;
                let failure = match outcome {
                    Ok(response) => {
                        tracing::debug!(
                            attempt,
                            status = response.status().as_u16(),
                            elapsed_ms,
                            "response"
                        );
                        return Ok(response.into_inner());
                    }
                    Err(error) => self.classify(error, operation).await,
                };
                drop(permit);
                let status = failure.error.status();
                let wait = match failure.retry {
                    Retry::Yes { server_asked } if attempt < self.retry.max_attempts() => {
                        match server_asked {
                            Some(asked) if asked > self.retry.max_retry_after() => None,
                            Some(asked) => Some(asked),
                            None => Some(
                                self.jitter
                                    .apply(self.retry.jitter(), self.retry.backoff(attempt - 1)),
                            ),
                        }
                    }
                    _ => None,
                };
                let Some(wait) = wait else {
                    tracing::debug!(attempt, status, elapsed_ms, error = %failure.error, "request failed");
                    return Err(failure.error);
                };
                tracing::info!(
                    attempt,
                    status,
                    elapsed_ms,
                    retry_in_ms = wait.as_millis() as u64,
                    error = %failure.error,
                    "retrying"
                );
                self.timer.sleep(wait).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn classify(
        &self,
        error: openfunnel_api::Error<HttpValidationError>,
        operation: Operation<'_>,
    ) -> Failure {
        use openfunnel_api::Error as Raw;
        let idempotent = operation.idempotency == Idempotency::Idempotent;
        if openfunnel_api::is_response_too_large(&error) {
            return Failure {
                error: Error::ResponseTooLarge {
                    operation: operation.name,
                    limit: self.max_response_bytes,
                },
                retry: Retry::No,
            };
        }
        match error {
            Raw::CommunicationError(source) | Raw::InvalidUpgrade(source) => {
                // A connect error means nothing was sent: even a submit may retry.
                let retry = idempotent || source.is_connect();
                Failure {
                    error: Error::Transport { source },
                    retry: if retry {
                        Retry::Yes { server_asked: None }
                    } else {
                        Retry::No
                    },
                }
            }
            Raw::ResponseBodyError(source) => Failure {
                error: Error::Transport { source },
                retry: if idempotent {
                    Retry::Yes { server_asked: None }
                } else {
                    Retry::No
                },
            },
            Raw::InvalidResponsePayload(body, source) => Failure {
                // A truncated or garbled body: a read may be repeated; a
                // submit's job exists, so its body is reported, not resent.
                error: Error::Decode {
                    operation: operation.name,
                    body: body_excerpt(&body, &self.api_key),
                    source,
                },
                retry: if idempotent {
                    Retry::Yes { server_asked: None }
                } else {
                    Retry::No
                },
            },
            Raw::ErrorResponse(response) => {
                let body = serde_json::to_vec(&*response).unwrap_or_default();
                Failure {
                    error: Error::Validation {
                        issues: validation_issues(&response),
                        body: body_excerpt(&body, &self.api_key),
                    },
                    retry: Retry::No,
                }
            }
            Raw::UnexpectedResponse(response) => self.classify_status(response, operation).await,
            Raw::InvalidRequest(message) | Raw::Custom(message) => Failure {
                error: Error::InvalidInput(message),
                retry: Retry::No,
            },
        }
    }

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
            Err(source) => {
                return Failure {
                    error: Error::Transport { source },
                    retry: if idempotent {
                        Retry::Yes { server_asked: None }
                    } else {
                        Retry::No
                    },
                };
            }
        };
        let body = body_excerpt(&bytes, &self.api_key);
        let job_id = operation.job_id.unwrap_or_default().to_string();
        let no_retry = |error| Failure {
            error,
            retry: Retry::No,
        };
        match status {
            300..=399 => no_retry(Error::CrossOriginRedirect {
                status,
                location: location.unwrap_or_else(|| "no location given".into()),
            }),
            401 | 403 => no_retry(Error::Unauthorized { status, body }),
            // With a cursor, 400 and 404 are about the page (the spec documents
            // 400 for one kind and 404 for the other); without, about the job.
            400 | 404 if let Some(cursor) = operation.cursor => no_retry(Error::UnknownCursor {
                job_id,
                cursor: cursor.to_string(),
                status,
                body,
            }),
            404 => no_retry(Error::NotFound { job_id, body }),
            408 | 429 | 500..=599 => {
                let server_asked = header_wait.or_else(|| retry_after_body(&bytes));
                let error = if status == 429 {
                    Error::RateLimited {
                        retry_after: server_asked,
                        body,
                    }
                } else {
                    Error::Http { status, body }
                };
                // A submit that got an answer reached the server: not resent.
                let retry = if idempotent {
                    Retry::Yes { server_asked }
                } else {
                    Retry::No
                };
                Failure { error, retry }
            }
            _ => no_retry(Error::Http { status, body }),
        }
    }
}

fn validation_issues(response: &HttpValidationError) -> Vec<ValidationIssue> {
    use openfunnel_api::types::ValidationErrorLocItem as Loc;
    response
        .detail
        .iter()
        .map(|issue| ValidationIssue {
            location: issue
                .loc
                .iter()
                .map(|part| match part {
                    Loc::String(name) => name.clone(),
                    Loc::Integer(index) => index.to_string(),
                })
                .collect::<Vec<_>>()
                .join("."),
            message: issue.msg.clone(),
            kind: issue.type_.clone(),
        })
        .collect()
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

/// `{"error_code": "RATE_LIMITED", "details": {"retry_after_seconds": 3}}`:
/// a finite, non-negative number of seconds; anything else is ignored.
fn retry_after_body(body: &[u8]) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let seconds = value.pointer("/details/retry_after_seconds")?.as_f64()?;
    if seconds < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(seconds).ok()
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

    #[test]
    fn retry_after_is_read_from_the_documented_error_body() {
        let body = br#"{"error_code":"RATE_LIMITED","details":{"retry_after_seconds":2.5}}"#;
        assert_eq!(retry_after_body(body), Some(Duration::from_millis(2500)));
        assert_eq!(retry_after_body(b"not json"), None);
        let negative = br#"{"error_code":"RATE_LIMITED","details":{"retry_after_seconds":-1}}"#;
        assert_eq!(retry_after_body(negative), None);
    }
}
