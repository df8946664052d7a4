//! Setting the API key once per client.
//!
//! The upstream spec declares `X-API-Key` as a header parameter of every
//! operation; the code generator removes it (see `xtask/src/normalise/`) so
//! that the key is configured here, once, as a default header of the
//! underlying `reqwest::Client`:
//!
//! * the header value is marked *sensitive*, so `Debug` output of the client
//!   (and of reqwest's internals) shows `Sensitive` instead of the key;
//! * redirects are followed only within the origin of the original request.
//!   reqwest strips only the standard credential headers (`Authorization`,
//!   `Cookie`, …) on a cross-origin redirect, not `X-API-Key`, so a redirect
//!   to another origin is not followed at all: it is returned to the caller.

use crate::generated::Client;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::time::Duration;

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Same-origin redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// Request and connect timeout of [`http_client_builder`], as in progenitor's
/// own `Client::new`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a client could not be built. The key itself is never part of the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The key is empty (or only white space).
    #[error(
        "the OpenFunnel API key is empty: pass the key from your OpenFunnel account (it starts with `of_`)"
    )]
    EmptyApiKey,
    /// The key holds characters that cannot be sent in an HTTP header.
    #[error(
        "the OpenFunnel API key contains characters that cannot be sent in an HTTP header (control or non-ASCII characters): check it was copied without quotes or line breaks"
    )]
    InvalidApiKey,
    /// reqwest could not build its client (for example, TLS set-up failed).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// An OpenFunnel API key, checked once and impossible to print: `Debug`
/// shows `ApiKey([redacted])` and there is no `Display`. This is the one
/// place a key is checked (non-empty once surrounding white space is
/// removed, sendable in an HTTP header); every other part of the SDK and CLI
/// holds an `ApiKey`, never a bare string.
///
/// ```
/// let key = openfunnel_api::ApiKey::new(" of_0123abcd\n").unwrap();
/// assert_eq!(key.expose_secret(), "of_0123abcd");
/// assert_eq!(format!("{key:?}"), "ApiKey([redacted])");
/// assert!(openfunnel_api::ApiKey::new("  ").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    text: std::sync::Arc<str>,
    /// The same key as a header value, marked sensitive.
    header: HeaderValue,
}

impl ApiKey {
    /// Checks `api_key` (surrounding white space, such as a trailing newline
    /// from a file, is removed) and wraps it.
    ///
    /// ```
    /// use openfunnel_api::{ApiKey, BuildError};
    /// assert!(matches!(ApiKey::new(""), Err(BuildError::EmptyApiKey)));
    /// assert!(matches!(ApiKey::new("of_1\u{7}2"), Err(BuildError::InvalidApiKey)));
    /// ```
    pub fn new(api_key: impl AsRef<str>) -> Result<ApiKey, BuildError> {
        let api_key = api_key.as_ref().trim();
        if api_key.is_empty() {
            return Err(BuildError::EmptyApiKey);
        }
        let mut header = HeaderValue::from_str(api_key).map_err(|_| BuildError::InvalidApiKey)?;
        header.set_sensitive(true);
        Ok(ApiKey {
            text: api_key.into(),
            header,
        })
    }

    /// The key itself, to send it. Never log or display it.
    ///
    /// ```
    /// let key = openfunnel_api::ApiKey::new("of_0123abcd").unwrap();
    /// assert!(key.expose_secret().starts_with("of_"));
    /// ```
    pub fn expose_secret(&self) -> &str {
        &self.text
    }

    /// `text` with every occurrence of the key replaced by `[redacted]`, for
    /// anything a server sent that may echo it.
    ///
    /// ```
    /// let key = openfunnel_api::ApiKey::new("of_0123abcd").unwrap();
    /// assert_eq!(key.scrub("echo: of_0123abcd"), "echo: [redacted]");
    /// ```
    pub fn scrub<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if text.contains(&*self.text) {
            std::borrow::Cow::Owned(text.replace(&*self.text, "[redacted]"))
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// The default headers that authenticate every request: `X-API-Key`, marked
/// sensitive. Surrounding white space (a trailing newline from a file) is removed.
///
/// ```
/// let headers = openfunnel_api::api_key_headers("of_0123abcd").unwrap();
/// assert!(headers["x-api-key"].is_sensitive());
/// assert!(!format!("{headers:?}").contains("of_0123abcd"));
/// ```
pub fn api_key_headers(api_key: &str) -> Result<HeaderMap, BuildError> {
    Ok(key_headers(&ApiKey::new(api_key)?))
}

fn key_headers(api_key: &ApiKey) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static(API_KEY_HEADER),
        api_key.header.clone(),
    );
    headers
}

/// A `reqwest::ClientBuilder` that sends the key on every request, follows
/// redirects only within one origin, and times requests out after 15 s.
/// Customise it further, then pass the built client to
/// [`Client::new_with_client`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let http = openfunnel_api::http_client_builder("of_0123abcd")?
///     .timeout(std::time::Duration::from_secs(30))
///     .build()?;
/// let client = openfunnel_api::Client::new_with_client("https://api.openfunnel.dev", http, Default::default());
/// # let _ = client;
/// # Ok(())
/// # }
/// ```
pub fn http_client_builder(api_key: &str) -> Result<reqwest::ClientBuilder, BuildError> {
    Ok(authenticate(crate::tls_client_builder(), api_key)?
        .user_agent(concat!("openfunnel-api-rs/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(DEFAULT_TIMEOUT)
        .timeout(DEFAULT_TIMEOUT))
}

/// Adds the key (a sensitive default header) and the same-origin redirect
/// policy to a caller's own `reqwest::ClientBuilder`, keeping its other
/// settings. Any redirect policy set on `builder` before is replaced, because
/// a policy that follows cross-origin redirects would send the key there.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let builder = reqwest::Client::builder().pool_max_idle_per_host(4);
/// let http = openfunnel_api::authenticate(builder, "of_0123abcd")?.build()?;
/// # let _ = http;
/// # Ok(())
/// # }
/// ```
pub fn authenticate(
    builder: reqwest::ClientBuilder,
    api_key: &str,
) -> Result<reqwest::ClientBuilder, BuildError> {
    Ok(authenticate_with(builder, &ApiKey::new(api_key)?))
}

/// [`authenticate`] with a key already checked.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = openfunnel_api::ApiKey::new("of_0123abcd")?;
/// let http = openfunnel_api::authenticate_with(reqwest::Client::builder(), &key).build()?;
/// # let _ = http;
/// # Ok(())
/// # }
/// ```
pub fn authenticate_with(
    builder: reqwest::ClientBuilder,
    api_key: &ApiKey,
) -> reqwest::ClientBuilder {
    crate::tls::install_provider();
    builder
        .default_headers(key_headers(api_key))
        .redirect(same_origin_redirects())
}

/// Follows a redirect only when it stays on the origin (scheme, host, port) of
/// the first request; anything else is handed back as the 3xx response.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

impl Client {
    /// A client for `base_url` that authenticates with `api_key`, built with
    /// [`http_client_builder`] and the default [`crate::ResponseLimit`].
    ///
    /// ```
    /// # fn main() -> Result<(), openfunnel_api::BuildError> {
    /// let client = openfunnel_api::Client::with_api_key("https://api.openfunnel.dev", "of_0123abcd")?;
    /// assert!(!format!("{client:?}").contains("of_0123abcd"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api_key(base_url: &str, api_key: &str) -> Result<Self, BuildError> {
        let http = http_client_builder(api_key)?.build()?;
        Ok(Self::new_with_client(
            base_url,
            http,
            crate::ResponseLimit::default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_unsendable_keys_are_refused_without_echoing_them() {
        assert!(matches!(
            api_key_headers("  \n"),
            Err(BuildError::EmptyApiKey)
        ));
        let error = api_key_headers("of_12\u{7}34").unwrap_err();
        assert!(matches!(error, BuildError::InvalidApiKey));
        assert!(!error.to_string().contains("of_12"));
    }

    #[test]
    fn a_trailing_newline_is_trimmed() {
        let headers = api_key_headers("of_abc\n").unwrap();
        assert_eq!(headers[API_KEY_HEADER], "of_abc");
    }
}
