//! Client configuration: the key, the base URL, timeouts and policies.

use crate::budget::{Bucket, RetryBudget};
use crate::context::{Context, Shared};
use crate::error::Error;
use crate::job::Jobs;
use crate::kind::JobKind;
use crate::kind::lookalike::Lookalike;
use crate::kind::tech_intent::TechIntent;
use crate::policy::{JitterSource, PollPolicy, RetryPolicy};
use crate::timer::{Timer, TokioTimer};
use crate::transport::Transport;
use openfunnel_api::{ApiKey, BuildError};
use std::sync::Arc;
use std::time::Duration;

/// The production API.
pub const DEFAULT_BASE_URL: &str = "https://api.openfunnel.dev";
/// Environment variable read by [`Client::from_env`] for the key.
pub const API_KEY_ENV: &str = "OPENFUNNEL_API_KEY";
/// Environment variable read by [`Client::from_env`] for the base URL.
pub const BASE_URL_ENV: &str = "OPENFUNNEL_BASE_URL";
/// Pages fetched at once once a job is complete (see [`ClientBuilder::with_page_concurrency`]).
pub const DEFAULT_PAGE_CONCURRENCY: usize = 8;
/// Requests one client has in flight at most (see [`ClientBuilder::with_max_concurrent_requests`]).
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 32;

const USER_AGENT: &str = concat!("openfunnel-rs/", env!("CARGO_PKG_VERSION"));

/// The entry point: a configured connection to OpenFunnel. Cheap to clone
/// (clones share one connection pool).
///
/// ```no_run
/// # async fn example() -> Result<(), openfunnel::Error> {
/// use openfunnel::{Client, LookalikeSearch};
///
/// let client = Client::from_env()?; // OPENFUNNEL_API_KEY, optional OPENFUNNEL_BASE_URL
/// let job = client
///     .lookalike()
///     .submit(LookalikeSearch::default().query("observability platforms").limit(2_000))
///     .await?;
/// println!("submitted {}", job.id());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    context: Shared,
    base_url: Arc<str>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("poll_policy", &self.context.poll_policy)
            .field("retry_policy", &self.context.transport.retry)
            .field("page_concurrency", &self.context.page_concurrency)
            .finish()
    }
}

impl Client {
    /// A client for the production API with default settings.
    ///
    /// ```
    /// let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// assert_eq!(client.base_url(), "https://api.openfunnel.dev");
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Client, Error> {
        Client::builder().with_api_key(api_key).build()
    }

    /// A client configured from `OPENFUNNEL_API_KEY` and, when set,
    /// `OPENFUNNEL_BASE_URL`.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env().build()
    }

    /// A builder for every setting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_request_timeout(Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Jobs of any kind `K`.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let jobs = client.jobs::<openfunnel::Lookalike>();
    /// assert!(jobs.job("d8a1bddb").is_ok());
    /// ```
    pub fn jobs<K: JobKind>(&self) -> Jobs<K> {
        Jobs::new(self.context.clone())
    }

    /// Bulk lookalike jobs: submit, open by id, cancel.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let job = client.lookalike().job("d8a1bddb").unwrap();
    /// assert_eq!(job.id(), "d8a1bddb");
    /// ```
    pub fn lookalike(&self) -> Jobs<Lookalike> {
        self.jobs()
    }

    /// Tech-stack-with-intent jobs: submit and open by id.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let job = client.tech_intent().job("5f0c").unwrap();
    /// assert_eq!(job.id(), "5f0c");
    /// ```
    pub fn tech_intent(&self) -> Jobs<TechIntent> {
        self.jobs()
    }

    /// The base URL requests go to, without a trailing `/`.
    ///
    /// ```
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_base_url("http://127.0.0.1:8080/")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The default poll policy of this client's jobs.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// assert!(client.poll_policy().idle_timeout().is_some());
    /// ```
    pub fn poll_policy(&self) -> &PollPolicy {
        &self.context.poll_policy
    }

    /// The generated client underneath, for operations this crate does not wrap.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let raw: &openfunnel::raw::Client = client.raw();
    /// # let _ = raw;
    /// ```
    pub fn raw(&self) -> &openfunnel_api::Client {
        &self.context.transport.api
    }
}

/// Every setting of a [`Client`]. Built with [`Client::builder`] or
/// [`ClientBuilder::from_env`].
///
/// ```
/// use openfunnel::{ClientBuilder, PollPolicy, RetryPolicy};
/// use std::time::Duration;
///
/// let client = ClientBuilder::default()
///     .with_api_key("of_0123abcd")
///     .with_poll_policy(PollPolicy::default().with_deadline(Duration::from_secs(600)))
///     .with_retry_policy(RetryPolicy::default().with_max_attempts(3))
///     .with_page_concurrency(4)
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
pub struct ClientBuilder {
    api_key: Option<String>,
    base_url: String,
    http: Option<reqwest::ClientBuilder>,
    request_timeout: Duration,
    connect_timeout: Duration,
    poll_policy: PollPolicy,
    retry_policy: RetryPolicy,
    retry_budget: RetryBudget,
    page_concurrency: usize,
    max_concurrent_requests: usize,
    max_response_bytes: u64,
    compressed_responses: bool,
    timer: Arc<dyn Timer>,
    jitter_seed: Option<u64>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            http: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            poll_policy: PollPolicy::default(),
            retry_policy: RetryPolicy::default(),
            retry_budget: RetryBudget::default(),
            page_concurrency: DEFAULT_PAGE_CONCURRENCY,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            max_response_bytes: openfunnel_api::DEFAULT_MAX_RESPONSE_BYTES,
            compressed_responses: true,
            timer: Arc::new(TokioTimer),
            jitter_seed: None,
        }
    }
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("poll_policy", &self.poll_policy)
            .field("retry_policy", &self.retry_policy)
            .field("retry_budget", &self.retry_budget)
            .field("page_concurrency", &self.page_concurrency)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("compressed_responses", &self.compressed_responses)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with the key from `OPENFUNNEL_API_KEY` and, when set, the
    /// base URL from `OPENFUNNEL_BASE_URL`. A missing key is reported by
    /// [`ClientBuilder::build`].
    pub fn from_env() -> ClientBuilder {
        let mut builder = ClientBuilder {
            api_key: std::env::var(API_KEY_ENV).ok(),
            ..ClientBuilder::default()
        };
        if let Ok(base_url) = std::env::var(BASE_URL_ENV)
            && !base_url.trim().is_empty()
        {
            builder.base_url = base_url;
        }
        builder
    }

    /// The API key (`of_…`). Surrounding white space is removed.
    ///
    /// ```
    /// let builder = openfunnel::Client::builder().with_api_key("of_0123abcd");
    /// assert!(!format!("{builder:?}").contains("of_0123abcd"));
    /// ```
    pub fn with_api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// The API's base URL (default `https://api.openfunnel.dev`). Plain
    /// `http://` is refused unless the host is loopback (a local simulator);
    /// a trailing `/` is ignored; a path prefix (a proxy) is kept.
    ///
    /// ```
    /// let refused = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_base_url("http://api.openfunnel.dev")
    ///     .build();
    /// assert!(refused.is_err());
    /// ```
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Starts from your own `reqwest::ClientBuilder` (proxies, pools, TLS
    /// roots). The SDK still adds the key as a sensitive default header, its
    /// user agent and timeouts, and **replaces the redirect policy** with one
    /// that never follows a redirect to another origin, so the key cannot
    /// leak. (A built `reqwest::Client` is not accepted because its redirect
    /// policy cannot be checked.) Your builder keeps the TLS library set on
    /// it; start from [`openfunnel_api::tls_client_builder`] for the one this
    /// crate's features select (see "Cargo features" in the crate docs).
    ///
    /// ```
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_http_client(openfunnel_api::tls_client_builder().pool_max_idle_per_host(16))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_http_client(mut self, http: reqwest::ClientBuilder) -> Self {
        self.http = Some(http);
        self
    }

    /// How long one HTTP request may take, body included (default 30 s).
    /// Separate from a job's overall deadline ([`PollPolicy::with_deadline`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_request_timeout(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long connecting may take (default 10 s).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_connect_timeout(Duration::from_secs(3))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Asks for gzip-compressed responses (`Accept-Encoding: gzip`; on by
    /// default, `false` turns it off). A page of rows is JSON that
    /// compresses several times over: in BENCHMARKS.md (scenario 9) a
    /// 10,000-row export is 8× fewer bytes on the wire for 4% more time on
    /// loopback, where bytes cost nothing; on a real link the bytes saved
    /// are time saved. A server that does not compress is read as before. The response limit
    /// ([`ClientBuilder::with_max_response_bytes`]) counts the bytes after
    /// decompression, so a small compressed body cannot expand past it, and
    /// rows are handed out as the server wrote them either way. This
    /// setting replaces any given to [`ClientBuilder::with_http_client`].
    ///
    /// ```
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_compressed_responses(true)
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_compressed_responses(mut self, compressed: bool) -> Self {
        self.compressed_responses = compressed;
        self
    }

    /// The default poll policy of jobs (see [`PollPolicy`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_poll_policy(openfunnel::PollPolicy::default().with_deadline(Duration::from_secs(900)))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.poll_policy().deadline(), Some(Duration::from_secs(900)));
    /// ```
    pub fn with_poll_policy(mut self, policy: PollPolicy) -> Self {
        self.poll_policy = policy;
        self
    }

    /// How failed requests are retried (see [`RetryPolicy`]).
    ///
    /// ```
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_retry_policy(openfunnel::RetryPolicy::default().with_max_attempts(8))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// The retries the whole client may make while requests fail, shared by
    /// every job and stream (see [`RetryBudget`]; the default is the AWS
    /// SDKs' standard quota).
    ///
    /// ```
    /// let client = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_retry_budget(openfunnel::RetryBudget::default().with_capacity(2_000))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn with_retry_budget(mut self, budget: RetryBudget) -> Self {
        self.retry_budget = budget;
        self
    }

    /// Pages fetched at once when a finished job's remaining pages are known
    /// (default 8; 1 walks `next_cursor` page by page). Order is preserved.
    ///
    /// ```
    /// let sequential = openfunnel::Client::builder()
    ///     .with_api_key("of_0123abcd")
    ///     .with_page_concurrency(1)
    ///     .build()
    ///     .unwrap();
    /// # let _ = sequential;
    /// ```
    pub fn with_page_concurrency(mut self, concurrency: usize) -> Self {
        self.page_concurrency = concurrency.max(1);
        self
    }

    /// The most requests this client has in flight at once, over all its jobs
    /// (default 32; at least 1). It bounds the open connections too: with 100
    /// jobs exporting at once, requests queue instead of opening 100+
    /// connections and tripping rate limits.
    pub fn with_max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent_requests = requests.max(1);
        self
    }

    /// The largest response body accepted (default 8 MiB, about 40 times the
    /// largest real page). A larger body is refused while it is read, with
    /// [`Error::ResponseTooLarge`], instead of exhausting memory.
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The clock and sleep used for polling and retries (default
    /// [`TokioTimer`]); tests inject a virtual one.
    pub fn with_timer(mut self, timer: impl Timer) -> Self {
        self.timer = Arc::new(timer);
        self
    }

    /// Seeds the client's random source for [`crate::Jitter`], so that its
    /// poll and retry delays follow one reproducible sequence (for tests and
    /// simulations). By default the source is seeded from the clock and the
    /// process's random keys, so clients do not draw the same delays.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Checks the settings and builds the client. No request is sent.
    ///
    /// ```
    /// let missing_key = openfunnel::Client::builder().build();
    /// assert!(missing_key.unwrap_err().to_string().contains("OPENFUNNEL_API_KEY"));
    /// ```
    pub fn build(self) -> Result<Client, Error> {
        let api_key = match self.api_key.as_deref().map(ApiKey::new) {
            Some(Ok(key)) => key,
            None | Some(Err(BuildError::EmptyApiKey)) => {
                return Err(configuration(
                    format!(
                        "no API key: set {API_KEY_ENV} or pass one with ClientBuilder::with_api_key"
                    ),
                    None,
                ));
            }
            Some(Err(error)) => return Err(configuration(error.to_string(), Some(error.into()))),
        };
        let base_url = validate_base_url(&self.base_url)?;
        let mut http = openfunnel_api::authenticate_with(
            self.http.unwrap_or_else(openfunnel_api::tls_client_builder),
            &api_key,
        )
        .user_agent(USER_AGENT)
        .timeout(self.request_timeout)
        .connect_timeout(self.connect_timeout)
        .gzip(self.compressed_responses);
        if is_loopback(&base_url) {
            // A local simulator: HTTP_PROXY and friends would send the key,
            // in clear text for plain http, to a proxy.
            http = http.no_proxy();
        }
        let http = http.build().map_err(|source| {
            configuration(
                format!("the HTTP client could not be built ({source}): check the settings given to ClientBuilder::with_http_client and the system's TLS set-up"),
                Some(source.into()),
            )
        })?;
        let base = base_url.as_str().trim_end_matches('/').to_string();
        let transport = Transport {
            api: openfunnel_api::Client::new_with_client(
                &base,
                http,
                openfunnel_api::ResponseLimit {
                    max_bytes: self.max_response_bytes,
                },
            ),
            retry: self.retry_policy,
            timer: self.timer,
            jitter: Arc::new(match self.jitter_seed {
                Some(seed) => JitterSource::seeded(seed),
                None => JitterSource::from_entropy(),
            }),
            budget: Arc::new(Bucket::new(self.retry_budget)),
            api_key,
            base_url,
            in_flight: Arc::new(tokio::sync::Semaphore::new(self.max_concurrent_requests)),
            max_response_bytes: self.max_response_bytes,
        };
        Ok(Client {
            base_url: Arc::from(base),
            context: Arc::new(Context {
                transport,
                poll_policy: self.poll_policy,
                page_concurrency: self.page_concurrency,
            }),
        })
    }
}

/// An [`Error::Configuration`].
fn configuration(
    problem: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    Error::Configuration { problem, source }
}

/// Checks a base URL.
fn validate_base_url(raw: &str) -> Result<reqwest::Url, Error> {
    let invalid = |why: &str| {
        configuration(
            format!(
                "base URL `{raw}` {why}: use https://api.openfunnel.dev, or http://127.0.0.1:PORT for a local simulator"
            ),
            None,
        )
    };
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| invalid("is not a valid URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    match url.scheme() {
        "https" if openfunnel_api::TLS_BACKEND.is_none() => {
            return Err(invalid(
                "uses https, but this build has no TLS library: enable one of the openfunnel crate's features `rustls` (the default), `rustls-ring` or `native-tls`",
            ));
        }
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(
                "uses plain http to a non-loopback host, which would send the API key unencrypted",
            ));
        }
        _ => return Err(invalid("must use https")),
    }
    Ok(url)
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a TLS feature an https URL is refused where it is set, with
    /// the features to choose from (CI builds this crate that way).
    #[cfg(not(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls")))]
    #[test]
    fn an_https_base_url_needs_a_tls_feature() {
        let error = validate_base_url("https://api.openfunnel.dev")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no TLS library") && error.contains("`rustls-ring`"),
            "{error}"
        );
        assert!(validate_base_url("http://127.0.0.1:9").is_ok());
    }

    #[cfg(any(feature = "rustls", feature = "rustls-ring", feature = "native-tls"))]
    #[test]
    fn base_urls_are_checked_and_normalised() {
        let ok = |raw: &str| {
            validate_base_url(raw)
                .unwrap()
                .as_str()
                .trim_end_matches('/')
                .to_string()
        };
        assert_eq!(
            ok("https://api.openfunnel.dev/"),
            "https://api.openfunnel.dev"
        );
        assert_eq!(
            ok("https://proxy.example/openfunnel/"),
            "https://proxy.example/openfunnel"
        );
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(ok("http://localhost:9/"), "http://localhost:9");
        assert_eq!(ok("http://[::1]:9"), "http://[::1]:9");
        for refused in [
            "http://api.openfunnel.dev",
            "http://127.0.0.1.example.com",
            "ftp://api.openfunnel.dev",
            "https://user:pw@api.openfunnel.dev",
            "https://api.openfunnel.dev/?x=1",
            "api.openfunnel.dev",
            "",
        ] {
            let error = validate_base_url(refused).unwrap_err().to_string();
            assert!(error.contains("base URL"), "{refused}: {error}");
        }
    }
}
