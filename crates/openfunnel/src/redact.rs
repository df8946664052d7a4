//! Every rule that keeps the API key out of what the SDK hands out, in one
//! place. A text leaves the SDK in three ways, and each goes through here:
//!
//! * **an operation's error**: every public operation returns through
//!   [`guarded`] (and every item of a stream through [`error`]), which
//!   removes the key from each text the error holds;
//! * **a trace line written mid-operation** (a request that failed and is
//!   retried, a discarded prefetch, an undocumented status): written with
//!   [`error`] or [`text`], since no wrapper sees it;
//! * **a response body**, redacted as it is read ([`body`], [`excerpt`]):
//!   an excerpt is cut short, and a key straddling the cut would otherwise
//!   leave half of itself behind.
//!
//! A server (or a proxy) that echoes the key therefore never gets it into an
//! error message, a `Debug` output or a log line.

use crate::error::Error;
use crate::error_body::{self, ErrorBody};
use crate::status::JobStatus;
use openfunnel_api::ApiKey;
use serde_json::Value;
use std::borrow::Cow;

/// Runs a public operation and removes the key from its error.
pub(crate) async fn guarded<T>(
    key: &ApiKey,
    operation: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    operation.await.map_err(|failure| error(failure, key))
}

/// `text` with the key removed.
pub(crate) fn text<'a>(key: &ApiKey, text: &'a str) -> Cow<'a, str> {
    key.scrub(text)
}

/// What an unsuccessful response said, without the key.
pub(crate) fn body(bytes: &[u8], key: &ApiKey) -> ErrorBody {
    let mut body = ErrorBody::parse(key.scrub(&String::from_utf8_lossy(bytes)).as_bytes());
    // A key written with JSON escapes survives the text's scrub and appears
    // once the body is parsed.
    redact_body(&mut body, key);
    body
}

/// A short excerpt of a body, without the key.
pub(crate) fn excerpt(bytes: &[u8], key: &ApiKey) -> String {
    error_body::excerpt(&key.scrub(&String::from_utf8_lossy(bytes)))
}

/// `failure` with the key removed from every text it holds.
pub(crate) fn error(mut failure: Error, key: &ApiKey) -> Error {
    redact_error(&mut failure, key);
    failure
}

fn clean(text: &mut String, key: &ApiKey) {
    if let Cow::Owned(scrubbed) = key.scrub(text) {
        *text = scrubbed;
    }
}

/// The match is exhaustive on purpose: a new variant must say what it shows.
fn redact_error(failure: &mut Error, key: &ApiKey) {
    let clean = |text: &mut String| clean(text, key);
    match failure {
        Error::NotFound { job_id, body } => {
            clean(job_id);
            redact_body(body, key);
        }
        Error::UnknownCursor {
            job_id,
            cursor,
            body,
            ..
        } => {
            clean(job_id);
            clean(cursor);
            redact_body(body, key);
        }
        Error::TimedOut {
            job_id,
            last_status,
            last_error,
            ..
        } => {
            clean(job_id);
            if let Some(JobStatus::Other(status)) = last_status {
                clean(status);
            }
            if let Some(last_error) = last_error {
                redact_error(last_error, key);
            }
        }
        Error::JobFailed {
            job_id,
            error_message,
            ..
        } => {
            clean(job_id);
            error_message.iter_mut().for_each(clean);
        }
        Error::JobCancelled { job_id, .. } => clean(job_id),
        Error::UnusableJobId { job_id, problem } | Error::InconsistentPages { job_id, problem } => {
            clean(job_id);
            clean(problem);
        }
        Error::CrossOriginRedirect { location, .. } => clean(location),
        Error::InvalidInput(problem) => clean(problem),
        Error::Unauthorized { body, .. }
        | Error::RateLimited { body, .. }
        | Error::Http { body, .. } => redact_body(body, key),
        Error::Validation { issues, body } => {
            for issue in issues {
                clean(&mut issue.location);
                clean(&mut issue.message);
                clean(&mut issue.kind);
            }
            redact_body(body, key);
        }
        Error::Decode { body, source, .. } => {
            clean(body);
            clean(&mut source.message);
        }
        Error::Transport { source } => redact_url(source, key),
        Error::ServiceFailing { last_error } => redact_error(last_error, key),
        // Set by the SDK itself: nothing a server sent.
        Error::ResponseTooLarge { .. } | Error::Configuration { .. } => {}
    }
}

/// The URL inside a transport error (its query holds the cursor).
fn redact_url(source: &mut reqwest::Error, key: &ApiKey) {
    let Some(url) = source.url_mut() else {
        return;
    };
    let shown = key.scrub(url.as_str()).into_owned();
    if shown != url.as_str() {
        match reqwest::Url::parse(&shown) {
            Ok(scrubbed) => *url = scrubbed,
            Err(_) => {
                url.set_path("/");
                url.set_query(None);
            }
        }
    }
}

fn redact_body(body: &mut ErrorBody, key: &ApiKey) {
    clean(&mut body.excerpt, key);
    body.code.iter_mut().for_each(|code| clean(code, key));
    body.detail.iter_mut().for_each(|detail| clean(detail, key));
    if let Some(details) = &mut body.details {
        redact_value(details, key);
    }
}

fn redact_value(value: &mut Value, key: &ApiKey) {
    match value {
        Value::String(text) => clean(text, key),
        Value::Array(items) => items.iter_mut().for_each(|item| redact_value(item, key)),
        Value::Object(object) => {
            let entries = std::mem::take(object);
            for (mut name, mut item) in entries {
                redact_value(&mut item, key);
                clean(&mut name, key);
                object.insert(name, item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::new("of_secret_key").unwrap()
    }

    #[test]
    fn excerpts_never_hold_the_key_even_across_the_cut() {
        let echoed = excerpt(b"{\"header\":\"of_secret_key\"}", &key());
        assert_eq!(echoed, "{\"header\":\"[redacted]\"}");
        let padded = format!("{}of_secret_key", "x".repeat(505));
        assert!(!excerpt(padded.as_bytes(), &key()).contains("of_sec"));
    }

    #[test]
    fn the_documented_body_is_read_and_redacted_everywhere() {
        let read = body(
            br#"{"error_code": "BAD of_secret_key", "details": {"of_secret_key": ["x of_secret_\u006bey"]}, "detail": "of_secret_key"}"#,
            &key(),
        );
        assert_eq!(read.code.as_deref(), Some("BAD [redacted]"));
        assert_eq!(
            read.details,
            Some(serde_json::json!({"[redacted]": ["x [redacted]"]}))
        );
        assert_eq!(read.detail.as_deref(), Some("[redacted]"));
        assert!(!format!("{read:?} {read}").contains("of_secret_key"));
    }
}
