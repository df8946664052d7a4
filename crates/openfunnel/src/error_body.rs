//! What an unsuccessful response said, decoded after its status was
//! classified (the key is removed by `redact`, which reads every body).

use serde_json::Value;

/// The body of an error response: a short excerpt, and the fields of the
/// shapes OpenFunnel documents, when the body has one of them:
///
/// * `{"error_code": "RATE_LIMITED", "details": {"retry_after_seconds": 3}}`
///   (OpenFunnel's documented error body) → [`ErrorBody::code`] and
///   [`ErrorBody::details`];
/// * `{"detail": "Job not found"}` (FastAPI's plain HTTP error) →
///   [`ErrorBody::detail`].
///
/// A body of any other shape (HTML from a proxy, plain text, nothing) is kept
/// as the excerpt only: it never turns the error into a different one.
///
/// ```
/// let body = openfunnel::ErrorBody::parse(br#"{"error_code": "JOB_NOT_FOUND", "details": {"job_id": "j1"}}"#);
/// assert_eq!(body.code.as_deref(), Some("JOB_NOT_FOUND"));
/// assert_eq!(body.details.as_ref().unwrap()["job_id"], "j1");
/// assert_eq!(body.to_string(), r#"JOB_NOT_FOUND {"job_id":"j1"}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The body's first 512 bytes, as text.
    pub excerpt: String,
    /// `error_code`, e.g. `RATE_LIMITED` or `INTERNAL_ERROR`.
    pub code: Option<String>,
    /// `details`, as sent.
    pub details: Option<Value>,
    /// FastAPI's `detail`, when it is a string.
    pub detail: Option<String>,
    /// How long the server asked to wait: the response's `Retry-After`
    /// header, else `details.retry_after_seconds`. Set for statuses that are
    /// retried (408, 429, 5xx).
    pub retry_after: Option<std::time::Duration>,
}

/// Longest `details` shown in an error message; the whole value stays in
/// [`ErrorBody::details`].
const MAX_DETAILS_SHOWN: usize = 300;

impl ErrorBody {
    /// Reads a response body. Never fails: what is not one of the documented
    /// shapes is kept as the excerpt.
    ///
    /// ```
    /// let body = openfunnel::ErrorBody::parse(b"<html>Bad gateway</html>");
    /// assert_eq!(body.code, None);
    /// assert_eq!(body.excerpt, "<html>Bad gateway</html>");
    /// ```
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
        let excerpt = excerpt(&String::from_utf8_lossy(bytes));
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(bytes) else {
            return ErrorBody {
                excerpt,
                ..ErrorBody::default()
            };
        };
        ErrorBody {
            excerpt,
            code: text(object.get("error_code")),
            details: object.get("details").cloned(),
            detail: text(object.get("detail")),
            retry_after: None,
        }
    }

    /// `details.retry_after_seconds`: a finite, non-negative number of
    /// seconds; anything else is ignored.
    pub(crate) fn details_retry_after(&self) -> Option<std::time::Duration> {
        let seconds = self
            .details
            .as_ref()?
            .get("retry_after_seconds")?
            .as_f64()?;
        if seconds < 0.0 {
            return None;
        }
        std::time::Duration::try_from_secs_f64(seconds).ok()
    }
}

impl std::fmt::Display for ErrorBody {
    /// The code and details when the body has them, else FastAPI's detail,
    /// else the excerpt.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(code) = &self.code {
            f.write_str(code)?;
            if let Some(details) = self.details.as_ref().filter(|d| !d.is_null()) {
                let shown = details.to_string();
                write!(f, " {}", cut(&shown, MAX_DETAILS_SHOWN))?;
            }
            return Ok(());
        }
        if let Some(detail) = &self.detail {
            return f.write_str(detail);
        }
        if self.excerpt.is_empty() {
            return f.write_str("(empty body)");
        }
        f.write_str(&self.excerpt)
    }
}

/// Why a response body did not decode: the decoder's complaint, with the API
/// key removed (serde_json quotes the values it rejects, and a server may
/// echo the key in a field of the wrong type).
///
/// ```
/// # fn example(error: openfunnel::Error) {
/// if let openfunnel::Error::Decode { source, .. } = &error {
///     eprintln!("at line {}, column {}: {source}", source.line(), source.column());
/// }
/// # }
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub(crate) message: String,
    line: usize,
    column: usize,
}

impl DecodeError {
    pub(crate) fn new(error: &serde_json::Error) -> DecodeError {
        DecodeError {
            message: error.to_string(),
            line: error.line(),
            column: error.column(),
        }
    }

    /// The line of the body where decoding failed (from 1).
    ///
    /// ```
    /// # fn example(error: &openfunnel::DecodeError) {
    /// println!("line {}", error.line());
    /// # }
    /// ```
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column where decoding failed (from 1).
    ///
    /// ```
    /// # fn example(error: &openfunnel::DecodeError) {
    /// println!("column {}", error.column());
    /// # }
    /// ```
    pub fn column(&self) -> usize {
        self.column
    }
}

/// Shortens a response body's text for an error message (at most 512
/// bytes, on a character boundary). Redact the key before the cut
/// (`redact::excerpt`), so no part of it survives at the edge.
pub(crate) fn excerpt(text: &str) -> String {
    cut(text, 512)
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut shown = text[..end].to_string();
    if end < text.len() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_cut_on_characters() {
        let long = "é".repeat(400);
        let shown = excerpt(&long);
        assert!(shown.len() <= 512 + '…'.len_utf8());
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_cut_inside_a_character_steps_back_to_its_start() {
        // `x` then two-byte characters: byte 512 falls inside one.
        let text = format!("x{}", "é".repeat(400));
        let shown = cut(&text, 512);
        assert_eq!(shown, format!("x{}…", "é".repeat(255)));
        assert_eq!(cut("aé", 2), "a…");
        assert_eq!(cut("aé", 3), "aé");
    }

    #[test]
    fn a_decode_error_keeps_the_line_and_column_of_the_failure() {
        let source = serde_json::from_str::<Value>("{\n  \"rows\": [1,\n  x]}").unwrap_err();
        let error = DecodeError::new(&source);
        assert_eq!((error.line(), error.column()), (3, 3));
    }

    #[test]
    fn bodies_are_shown_by_their_most_telling_part() {
        assert_eq!(
            ErrorBody::parse(br#"{"error_code":"INTERNAL_ERROR"}"#).to_string(),
            "INTERNAL_ERROR"
        );
        assert_eq!(
            ErrorBody::parse(br#"{"detail":"Job not found"}"#).to_string(),
            "Job not found"
        );
        assert_eq!(ErrorBody::parse(b"oops").to_string(), "oops");
        assert_eq!(ErrorBody::parse(b"").to_string(), "(empty body)");
        let long = format!(r#"{{"error_code":"X","details":"{}"}}"#, "d".repeat(1000));
        assert!(ErrorBody::parse(long.as_bytes()).to_string().len() < 320);
    }

    #[test]
    fn a_retry_after_in_the_body_must_be_a_non_negative_number() {
        let wait = |body: &[u8]| ErrorBody::parse(body).details_retry_after();
        assert_eq!(
            wait(br#"{"error_code":"RATE_LIMITED","details":{"retry_after_seconds":2.5}}"#),
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(wait(br#"{"details":{"retry_after_seconds":-1}}"#), None);
        assert_eq!(
            wait(br#"{"details":{"retry_after_seconds":0}}"#),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(wait(br#"{"details":{"retry_after_seconds":"3"}}"#), None);
        assert_eq!(wait(b"not json"), None);
    }
}
