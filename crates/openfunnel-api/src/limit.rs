//! A cap on response bodies, enforced while the body is read.
//!
//! progenitor's generated methods read a whole body into memory before
//! decoding it. A hostile or broken server could send gigabytes; this hook
//! reads the body chunk by chunk and refuses it as soon as it passes the
//! limit (or at once, when `Content-Length` already says so).

/// The default cap: 8 MiB, about 40 times the largest real page (100
/// enriched tech intent rows).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// The status of the error a refused body becomes: `413 Payload Too Large`,
/// carried by a `reqwest::Error` (so `Error::CommunicationError`), never by a
/// server response. See [`is_response_too_large`].
const TOO_LARGE: reqwest::StatusCode = reqwest::StatusCode::PAYLOAD_TOO_LARGE;

/// How large a response body may be.
///
/// ```
/// let limit = openfunnel_api::ResponseLimit::default();
/// assert_eq!(limit.max_bytes, openfunnel_api::DEFAULT_MAX_RESPONSE_BYTES);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseLimit {
    /// The most bytes a body may have.
    pub max_bytes: u64,
}

impl Default for ResponseLimit {
    fn default() -> Self {
        ResponseLimit {
            max_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Whether a generated method failed because a body passed the
/// [`ResponseLimit`] (an `Error::CommunicationError` with status 413).
///
/// ```
/// # fn example(error: &openfunnel_api::Error<openfunnel_api::types::HttpValidationError>) {
/// if openfunnel_api::is_response_too_large(error) {
///     eprintln!("the server sent more than the limit allows");
/// }
/// # }
/// ```
pub fn is_response_too_large<E>(error: &crate::Error<E>) -> bool {
    matches!(error, crate::Error::CommunicationError(source) if source.status() == Some(TOO_LARGE))
}

/// Reads `response`'s body into memory, refusing it as soon as it passes
/// `max` bytes (or at once, when `Content-Length` already says so). The
/// returned response holds the whole body; an unsuccessful one also carries
/// a copy as an [`ErrorBody`] extension, for [`crate::Client`]'s `post` hook.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    max: u64,
) -> reqwest::Result<reqwest::Response> {
    if response.content_length().is_some_and(|length| length > max) {
        return Err(too_large());
    }
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        crate::capture::keep(&body);
    }
    let copy = (!status.is_success()).then(|| ErrorBody(body.clone()));
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    if let Some(copy) = copy {
        rebuilt.extensions_mut().insert(copy);
    }
    Ok(reqwest::Response::from(rebuilt))
}

/// The body of an unsuccessful response, kept beside it so that a hook that
/// only sees `&Response` can read it.
#[derive(Clone, Debug)]
pub(crate) struct ErrorBody(pub(crate) Vec<u8>);

/// A `reqwest::Error` with status 413 (the only public way to make one).
fn too_large() -> reqwest::Error {
    let mut marker = http::Response::new(Vec::<u8>::new());
    *marker.status_mut() = TOO_LARGE;
    match reqwest::Response::from(marker).error_for_status() {
        Err(error) => error,
        Ok(_) => unreachable!("error_for_status always fails on 413"),
    }
}
