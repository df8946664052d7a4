//! Shared fixtures: a virtual timer, a client pointed at a loopback httpmock
//! server, and builders for poll responses.
#![allow(dead_code)]

use httpmock::prelude::*;
use openfunnel::raw::types;
use openfunnel::{Client, PollPolicy, RetryPolicy, Sleep, Timer};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A made-up key used only by tests.
pub const KEY: &str = "of_fixture_5eb63bbbe01eeed093cb22bb8f5acdc3";
pub const JOB: &str = "d8a1bddb-44f1-4c7f-87a7-f37496354ff6";
pub const LOOKALIKE_PATH: &str =
    "/api/v1/account/search-lookalikes-bulk/d8a1bddb-44f1-4c7f-87a7-f37496354ff6";
pub const INTENT_PATH: &str =
    "/api/v2/tech/companies/intent-search/d8a1bddb-44f1-4c7f-87a7-f37496354ff6";

/// A clock that only moves when the SDK sleeps; records every sleep.
#[derive(Clone, Debug)]
pub struct VirtualTimer {
    start: Instant,
    state: Arc<Mutex<(Duration, Vec<Duration>)>>,
}

impl VirtualTimer {
    pub fn new() -> Self {
        VirtualTimer {
            start: Instant::now(),
            state: Arc::new(Mutex::new((Duration::ZERO, Vec::new()))),
        }
    }

    /// Every sleep the SDK asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }

    pub fn sleeps_ms(&self) -> Vec<u128> {
        self.sleeps().iter().map(Duration::as_millis).collect()
    }
}

/// The virtual clock's end: a sleep past it stops the clock there (an
/// `Instant` cannot hold `Duration::MAX` from now).
const VIRTUAL_END: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Timer for VirtualTimer {
    fn now(&self) -> Instant {
        self.start + self.state.lock().unwrap().0.min(VIRTUAL_END)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        let mut state = self.state.lock().unwrap();
        state.0 = state.0.saturating_add(duration);
        state.1.push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// A proptest runner with `PROPTEST_CASES` cases (500 by default) that
/// writes no failure files.
pub fn proptest_runner() -> proptest::test_runner::TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    })
}

/// The default poll policy minus jitter, so schedules are exact.
pub fn exact_policy() -> PollPolicy {
    PollPolicy::default().with_backoff(PollPolicy::default().backoff().without_jitter())
}

/// The default retry policy minus jitter, so backoffs are exact.
pub fn exact_retries() -> RetryPolicy {
    RetryPolicy::default().with_backoff(RetryPolicy::default().backoff().without_jitter())
}

pub fn client(server: &MockServer, timer: &VirtualTimer) -> Client {
    builder(server, timer).build().expect("test client builds")
}

pub fn builder(server: &MockServer, timer: &VirtualTimer) -> openfunnel::ClientBuilder {
    Client::builder()
        .with_api_key(KEY)
        .with_base_url(server.base_url())
        .with_timer(timer.clone())
        .with_poll_policy(exact_policy())
        .with_retry_policy(exact_retries())
}

/// The fixture lookalike job of `client`.
pub fn lookalike_job(client: &Client) -> openfunnel::Job<openfunnel::Lookalike> {
    client
        .lookalike()
        .job(JOB)
        .expect("the fixture id is valid")
}

/// Lookalike rows `first..last`.
pub fn rows(range: std::ops::Range<u32>) -> Vec<types::BulkLookalikeResultRow> {
    range
        .map(|i| {
            serde_json::from_value(json!({"name": format!("Company {i}"), "domain": format!("c{i}.example"), "employee_count": i}))
                .expect("a lookalike row")
        })
        .collect()
}

/// A lookalike poll response, of the generated type (decoded, as a user
/// outside the crate makes one: response types are `#[non_exhaustive]`).
pub fn page(
    status: &str,
    name: Option<&str>,
    next: Option<&str>,
    rows: Vec<types::BulkLookalikeResultRow>,
) -> types::BulkLookalikeJobResponse {
    serde_json::from_value(json!({
        "count": rows.len(),
        "job_id": JOB,
        "next_cursor": next,
        "page": name,
        "rows": rows,
        "status": status,
    }))
    .expect("a lookalike poll response")
}

/// A lookalike manifest: `count` rows (only once completed) over `pages` pages.
pub fn manifest(status: &str, count: usize, pages: i64) -> types::BulkLookalikeManifest {
    let completed = status == "completed";
    serde_json::from_value(json!({
        "count": completed.then_some(count),
        "credits_consumed": count,
        "page_size": 100,
        "pages": pages,
        "partial": !completed,
        "rerank_degraded": false,
    }))
    .expect("a lookalike manifest")
}

/// A terminal response with a manifest listing `pages` pages.
pub fn terminal(
    status: &str,
    name: Option<&str>,
    next: Option<&str>,
    rows: Vec<types::BulkLookalikeResultRow>,
    pages: u32,
) -> types::BulkLookalikeJobResponse {
    let mut response = page(status, name, next, rows);
    response.manifest = Some(manifest(status, pages as usize * 100, i64::from(pages)));
    response
}

/// Serves `body` for the fixture job's lookalike page at `cursor` (`None`:
/// no cursor parameter), to requests carrying the fixture key, `times`
/// times when given, else forever. Earlier mocks win. The request and the
/// answer are pinned with the helpers generated from the spec
/// (`openfunnel-httpmock`).
pub async fn serve<'a>(
    server: &'a MockServer,
    cursor: Option<&str>,
    body: types::BulkLookalikeJobResponse,
    times: Option<usize>,
) -> httpmock::Mock<'a> {
    use openfunnel_httpmock::operations::{
        SearchLookalikesBulkStatusThen as Then, SearchLookalikesBulkStatusWhen as When,
    };
    let cursor = cursor.map(str::to_string);
    server
        .mock_async(move |when, then| {
            When::new(when.header("x-api-key", KEY))
                .job_id(JOB)
                .cursor(cursor.as_deref());
            let then = Then::new(then).ok(&body).into_inner();
            if let Some(times) = times {
                then.up_to_n_times(times);
            }
        })
        .await
}

/// Serves a tech-intent poll response for the fixture job at `cursor`,
/// pinned like [`serve`].
pub async fn serve_intent<'a>(
    server: &'a MockServer,
    cursor: Option<&str>,
    body: types::TechIntentJobResponse,
) -> httpmock::Mock<'a> {
    use openfunnel_httpmock::operations::{
        TechIntentSearchStatusThen as Then, TechIntentSearchStatusWhen as When,
    };
    let cursor = cursor.map(str::to_string);
    server
        .mock_async(move |when, then| {
            When::new(when.header("x-api-key", KEY))
                .job_id(JOB)
                .cursor(cursor.as_deref());
            Then::new(then).ok(&body);
        })
        .await
}

/// Serves `body` with status 200 for the fixture job's lookalike page at
/// `cursor`: any JSON, even one no real server may send (a test of hostile
/// or broken bodies says so where it calls this).
pub async fn serve_raw<'a>(
    server: &'a MockServer,
    cursor: Option<&str>,
    body: Value,
) -> httpmock::Mock<'a> {
    let cursor = cursor.map(str::to_string);
    server
        .mock_async(move |when, then| {
            let when = when.method(GET).path(LOOKALIKE_PATH);
            match cursor {
                Some(cursor) => when.query_param("cursor", cursor),
                None => when.query_param_missing("cursor"),
            };
            then.status(200).json_body(body);
        })
        .await
}

/// A completed job with no rows, on its first page: what a request that
/// got past its faults finally reads.
pub async fn serve_completed_empty(server: &MockServer) -> httpmock::Mock<'_> {
    let body = terminal("completed", None, None, vec![], 0);
    serve(server, None, body, None).await
}

/// A completed job of `pages` full pages (100 rows each), named `page_NNNN`.
pub async fn serve_completed_job(server: &MockServer, pages: u32) {
    for index in 0..pages {
        let name = format!("page_{index:04}");
        let next = (index + 1 < pages).then(|| format!("page_{:04}", index + 1));
        let body = terminal(
            "completed",
            Some(&name),
            next.as_deref(),
            rows(index * 100..(index + 1) * 100),
            pages,
        );
        let cursor = (index > 0).then_some(name.as_str());
        serve(server, cursor, body, None).await;
    }
}

/// The `name` fields of lookalike rows, to compare orders.
pub fn names(rows: &[openfunnel::LookalikeRow]) -> Vec<String> {
    rows.iter()
        .map(|row| row.name.clone().unwrap_or_default())
        .collect()
}

pub fn expected_names(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|i| format!("Company {i}")).collect()
}

/// One link of a chain served by httpmock: the cursor it is fetched with (`None`: the
/// first page), the `page` name it reports, and its rows.
pub struct Link<'a> {
    pub cursor: Option<&'a str>,
    pub name: Option<&'a str>,
    pub rows: std::ops::Range<u32>,
}

/// Serves a completed lookalike job whose pages are `links`, each naming the
/// next link's cursor, with a manifest claiming `manifest_pages` pages.
/// Nothing else is served (httpmock answers any other request 404).
pub async fn serve_chain<'a>(
    server: &'a MockServer,
    links: &[Link<'_>],
    manifest_pages: i64,
) -> Vec<httpmock::Mock<'a>> {
    let mut mocks = Vec::new();
    for (index, link) in links.iter().enumerate() {
        let next = links.get(index + 1).and_then(|next| next.cursor);
        let mut body = page("completed", link.name, next, rows(link.rows.clone()));
        let count = links.iter().map(|l| l.rows.len()).sum::<usize>();
        body.manifest = Some(manifest("completed", count, manifest_pages));
        mocks.push(serve(server, link.cursor, body, None).await);
    }
    mocks
}

/// Requests the mocks answered, in all.
pub async fn calls(mocks: &[httpmock::Mock<'_>]) -> usize {
    let mut total = 0;
    for mock in mocks {
        total += mock.calls_async().await;
    }
    total
}

/// Every row of `links`, in chain order.
pub fn chain_names(links: &[Link<'_>]) -> Vec<String> {
    links
        .iter()
        .flat_map(|link| expected_names(link.rows.clone()))
        .collect()
}

/// Everything written by a TRACE-level fmt subscriber installed for the
/// current thread (use a `current_thread` runtime).
pub struct CapturedTrace {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl CapturedTrace {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

#[derive(Clone)]
struct TraceWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for TraceWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture_trace() -> CapturedTrace {
    let text = Arc::new(Mutex::new(Vec::new()));
    let writer = TraceWriter(text.clone());
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    CapturedTrace {
        text,
        _guard: tracing::subscriber::set_default(subscriber),
    }
}

/// Answers every poll of the fixture job with `status` (and a `Retry-After`
/// of `retry_after`, when given).
pub async fn answer_every_poll<'a>(
    server: &'a MockServer,
    status: u16,
    retry_after: Option<&str>,
) -> httpmock::Mock<'a> {
    let retry_after = retry_after.map(str::to_string);
    server
        .mock_async(move |when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            let then = then.status(status);
            if let Some(wait) = retry_after {
                then.header("retry-after", wait);
            }
        })
        .await
}

/// The outcome is an answer or a typed error: anything but a panic, which
/// would have unwound through the `.await` and failed the test.
pub fn settled<T: std::fmt::Debug>(case: &str, result: Result<T, openfunnel::Error>) {
    match result {
        Ok(_) | Err(openfunnel::Error::TimedOut { .. }) | Err(openfunnel::Error::Http { .. }) => {}
        Err(other) => panic!("{case}: unexpected error {other:?}"),
    }
}

/// The error variant's name: what a caller matches on.
pub fn variant(error: &openfunnel::Error) -> &'static str {
    match error {
        openfunnel::Error::Unauthorized { .. } => "Unauthorized",
        openfunnel::Error::NotFound { .. } => "NotFound",
        openfunnel::Error::UnknownCursor { .. } => "UnknownCursor",
        openfunnel::Error::Validation { .. } => "Validation",
        openfunnel::Error::RateLimited { .. } => "RateLimited",
        openfunnel::Error::Http { .. } => "Http",
        openfunnel::Error::Decode { .. } => "Decode",
        other => panic!("an error response became {other:?}"),
    }
}

/// Everything a user could print of `error`: Display, Debug, the source chain.
pub fn everything_shown(error: &(dyn std::error::Error + 'static)) -> String {
    let mut shown = format!("{error}\n{error:?}");
    let mut source = error.source();
    while let Some(next) = source {
        shown.push_str(&format!("\n{next}\n{next:?}"));
        source = next.source();
    }
    shown
}
