//! The HTTP routes: the five operations of the vendored spec, answered from
//! the jobs table and each job's timeline.

// Handlers refuse requests with a ready `Response`, axum's own convention.
#![allow(clippy::result_large_err)]

use crate::faults::{Injected, OutageAnswer, fault_for, outage_at};
use crate::rows;
use crate::timeline::{JobProfile, Phase, snapshot};
use crate::variations::unknown_cursor_body;
use crate::{Clock, JobType, SimConfig};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openfunnel_api::types;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One simulated job.
#[derive(Clone, Debug)]
pub(crate) struct SimJob {
    pub kind: JobType,
    /// When it was submitted, on the server's clock.
    pub created: Duration,
    pub profile: JobProfile,
    pub total_rows: u32,
    pub cancelled_at: Option<Duration>,
    pub seed: u64,
    pub query: String,
    pub tech: String,
    pub enrich: bool,
    /// Polls answered about this job (faulted ones included).
    pub polls: u64,
}

impl SimJob {
    fn total_pages(&self) -> u32 {
        self.profile.pages_of(self.total_rows)
    }

    /// Rows in the job's first `pages` pages.
    fn rows_in(&self, pages: u32) -> u32 {
        self.profile.rows_in(pages, self.total_rows)
    }
}

/// Requests served, by operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestCounts {
    /// Submit requests (both kinds).
    pub submits: u64,
    /// Poll requests (both kinds), faulted ones included.
    pub polls: u64,
    /// Cancel requests.
    pub cancels: u64,
    /// The most requests that were being answered at the same time.
    pub peak_in_flight: u64,
    /// Requests (of any operation) answered by a [`crate::Fault::Outage`].
    pub during_outage: u64,
    /// Bytes of poll response bodies sent, as sent (compressed when they were).
    pub poll_body_bytes: u64,
}

/// Everything the routes share.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub jobs: Mutex<HashMap<String, SimJob>>,
    pub sequence: AtomicU64,
    pub submits: AtomicU64,
    pub polls: AtomicU64,
    pub cancels: AtomicU64,
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
    pub during_outage: AtomicU64,
    /// Bytes of poll response bodies sent.
    pub poll_body_bytes: AtomicU64,
    /// What an outage did to each job (`""` for submits).
    pub outage_hits: Mutex<HashMap<String, OutageHits>>,
    /// Every request admitted, for [`Clock::PerRequest`].
    pub served: AtomicU64,
    pub started: Instant,
}

/// What an outage did to the requests about one job.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OutageHits {
    /// Requests the outage answered.
    pub requests: u64,
    /// When (server clock) the first request after them was let through.
    pub first_answer_after: Option<Duration>,
}

/// Counts a request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Self {
        Shared {
            config,
            jobs: Mutex::new(HashMap::new()),
            sequence: AtomicU64::new(0),
            submits: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            cancels: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
            during_outage: AtomicU64::new(0),
            poll_body_bytes: AtomicU64::new(0),
            outage_hits: Mutex::new(HashMap::new()),
            served: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// The time now, on the configured clock.
    pub(crate) fn now(&self) -> Duration {
        match self.config.clock {
            Clock::WallTime => self.started.elapsed(),
            Clock::PerRequest(step) => {
                let served = self.served.load(Ordering::SeqCst);
                step.saturating_mul(u32::try_from(served).unwrap_or(u32::MAX))
            }
        }
    }

    /// How long ago `job` was submitted.
    pub(crate) fn age(&self, job: &SimJob) -> Duration {
        self.now().saturating_sub(job.created)
    }

    fn enter(&self) -> InFlight<'_> {
        self.served.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn counts(&self) -> RequestCounts {
        RequestCounts {
            submits: self.submits.load(Ordering::Relaxed),
            polls: self.polls.load(Ordering::Relaxed),
            cancels: self.cancels.load(Ordering::Relaxed),
            peak_in_flight: self.peak_in_flight.load(Ordering::Relaxed),
            during_outage: self.during_outage.load(Ordering::Relaxed),
            poll_body_bytes: self.poll_body_bytes.load(Ordering::Relaxed),
        }
    }

    /// Registers a job and returns its id.
    pub(crate) fn insert(&self, mut job: SimJob) -> String {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        job.seed = self.config.seed ^ sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let id = rows::job_id(self.config.seed, sequence);
        self.jobs_lock().insert(id.clone(), job);
        id
    }

    pub(crate) fn jobs_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SimJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A job as submitted now, with the server's default profile.
    pub(crate) fn new_job(&self, kind: JobType, limit: u32, profile: Option<JobProfile>) -> SimJob {
        let profile = profile.unwrap_or_else(|| self.config.profile.clone());
        let total_rows = profile.rows.map_or(limit, |rows| rows.min(limit));
        SimJob {
            kind,
            created: self.now(),
            profile,
            total_rows,
            cancelled_at: None,
            seed: 0,
            query: "observability platforms".into(),
            tech: "Snowflake".into(),
            enrich: true,
            polls: 0,
        }
    }
}

type AppState = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/api/v1/account/search-lookalikes-bulk",
            post(submit_lookalikes),
        )
        .route(
            "/api/v1/account/search-lookalikes-bulk/{job_id}",
            get(poll_lookalikes),
        )
        .route(
            "/api/v1/account/search-lookalikes-bulk/{job_id}/cancel",
            post(cancel),
        )
        .route("/api/v2/tech/companies/intent-search", post(submit_intent))
        .route(
            "/api/v2/tech/companies/intent-search/{job_id}",
            get(poll_intent),
        )
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(shared)
}

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
}

/// FastAPI's 422 body.
fn invalid(location: &[&str], message: &str, kind: &str) -> Response {
    let body = json!({"detail": [{"loc": location, "msg": message, "type": kind}]});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

/// Latency, an outage if one is under way, then the key check every
/// endpoint makes. The request (about `job_id`, empty for a submit) counts
/// as in flight while the guard lives.
async fn admit<'a>(
    shared: &'a Shared,
    headers: &HeaderMap,
    job_id: &str,
) -> Result<InFlight<'a>, Response> {
    let guard = shared.enter();
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    let now = shared.now();
    let outage = outage_at(&shared.config.faults, now);
    {
        let mut hits = shared
            .outage_hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if outage.is_some() {
            hits.entry(job_id.to_string()).or_default().requests += 1;
        } else if let Some(job) = hits.get_mut(job_id) {
            job.first_answer_after.get_or_insert(now);
        }
    }
    if let Some(answer) = outage {
        shared.during_outage.fetch_add(1, Ordering::Relaxed);
        return Err(match answer {
            OutageAnswer::Status(status) => faulted_status(status),
            OutageAnswer::DropConnection => dropped_connection(),
        });
    }
    let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) else {
        return Err(invalid(
            &["header", "X-API-Key"],
            "Field required",
            "missing",
        ));
    };
    match &shared.config.api_key {
        Some(expected) if expected != key => {
            Err(detail(StatusCode::UNAUTHORIZED, "Invalid API key"))
        }
        _ => Ok(guard),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body)
        .map_err(|error| invalid(&["body"], &error.to_string(), "value_error"))
}

async fn submit_lookalikes(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = match admit(&shared, &headers, "").await {
        Ok(guard) => guard,
        Err(refused) => return refused,
    };
    shared.submits.fetch_add(1, Ordering::Relaxed);
    let request: types::BulkLookalikeSearchRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let seeds = request.seed_domains.clone().unwrap_or_default();
    if request.query.is_none() && seeds.is_empty() {
        return invalid(&["body"], "Provide query or seed_domains", "value_error");
    }
    if seeds.len() > 10 {
        return invalid(
            &["body", "seed_domains"],
            "List should have at most 10 items",
            "too_long",
        );
    }
    let limit = request.limit.map_or(1_000, |l| l.get());
    if limit > 10_000 {
        return invalid(
            &["body", "limit"],
            "Input should be less than or equal to 10000",
            "less_than_equal",
        );
    }
    let mut job = shared.new_job(JobType::Lookalike, limit as u32, None);
    job.query = request
        .query
        .map(|q| q.to_string())
        .unwrap_or_else(|| format!("companies like {}", seeds.join(", ")));
    let job_id = shared.insert(job);
    Json(json!({"job_id": job_id, "status": "pending", "message": "Bulk lookalike job accepted."}))
        .into_response()
}

async fn submit_intent(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let _in_flight = match admit(&shared, &headers, "").await {
        Ok(guard) => guard,
        Err(refused) => return refused,
    };
    shared.submits.fetch_add(1, Ordering::Relaxed);
    let request: types::TechIntentSearchRequest = match parse_body(&body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    if request.lookback_days.get() > 365 {
        return invalid(
            &["body", "lookback_days"],
            "Input should be less than or equal to 365",
            "less_than_equal",
        );
    }
    let limit = request.limit.get();
    if limit > 500 {
        return invalid(
            &["body", "limit"],
            "Input should be less than or equal to 500",
            "less_than_equal",
        );
    }
    let mut job = shared.new_job(JobType::TechIntent, limit as u32, None);
    job.query = request.activity.to_string();
    job.tech = request.tech.to_string();
    job.enrich = request.enrich
        || request.hq_country_code.is_some()
        || request.min_employee_count.is_some()
        || request.max_employee_count.is_some();
    let job_id = shared.insert(job);
    Json(json!({
        "job_id": job_id,
        "message": "Intent search job accepted.",
        "requested_limit": limit,
        "status": "pending"
    }))
    .into_response()
}

async fn cancel(
    State(shared): AppState,
    headers: HeaderMap,
    Path(job_id): Path<String>,
) -> Response {
    let _in_flight = match admit(&shared, &headers, &job_id).await {
        Ok(guard) => guard,
        Err(refused) => return refused,
    };
    shared.cancels.fetch_add(1, Ordering::Relaxed);
    let mut jobs = shared.jobs_lock();
    let Some(job) = jobs
        .get_mut(&job_id)
        .filter(|job| job.kind == JobType::Lookalike)
    else {
        return detail(StatusCode::NOT_FOUND, "Job not found");
    };
    let elapsed = shared.age(job);
    let now = snapshot(&job.profile, job.total_pages(), elapsed, job.cancelled_at);
    if now.phase.is_terminal() {
        return detail(
            StatusCode::CONFLICT,
            &format!("Job already {}", now.phase.as_str()),
        );
    }
    job.cancelled_at.get_or_insert(elapsed);
    Json(json!({"job_id": job_id, "status": "cancelling", "message": "Cancellation requested."}))
        .into_response()
}

#[derive(serde::Deserialize)]
struct PollQuery {
    cursor: Option<String>,
}

async fn poll_lookalikes(
    state: AppState,
    headers: HeaderMap,
    path: Path<String>,
    query: Query<PollQuery>,
) -> Response {
    poll(state, headers, path, query, JobType::Lookalike).await
}

async fn poll_intent(
    state: AppState,
    headers: HeaderMap,
    path: Path<String>,
    query: Query<PollQuery>,
) -> Response {
    poll(state, headers, path, query, JobType::TechIntent).await
}

async fn poll(
    State(shared): AppState,
    headers: HeaderMap,
    Path(job_id): Path<String>,
    Query(query): Query<PollQuery>,
    kind: JobType,
) -> Response {
    let _in_flight = match admit(&shared, &headers, &job_id).await {
        Ok(guard) => guard,
        Err(refused) => return refused,
    };
    let n = shared.polls.fetch_add(1, Ordering::Relaxed) + 1;
    let job = shared
        .jobs_lock()
        .get_mut(&job_id)
        .filter(|job| job.kind == kind)
        .map(|job| {
            job.polls += 1;
            job.clone()
        });
    let Some(job) = job else {
        return detail(StatusCode::NOT_FOUND, "Job not found");
    };
    let injected = fault_for(&shared.config.faults, n);
    match injected.clone() {
        Some(Injected::RateLimit(Some(wait))) => {
            let body = json!({"error_code": "RATE_LIMITED", "details": {"retry_after_seconds": wait.as_secs_f64()}});
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
                Json(body),
            )
                .into_response();
        }
        Some(Injected::RateLimit(None)) => {
            let body = json!({"error_code": "RATE_LIMITED", "details": {}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        }
        Some(Injected::UnknownCursor) => return unknown_cursor(&job),
        Some(Injected::Stall(wait)) => tokio::time::sleep(wait).await,
        Some(Injected::Status(status)) => return faulted_status(status),
        Some(Injected::Drop) => return dropped_connection(),
        Some(Injected::Body(body, chunked)) => {
            let (encoding, body) = encoded(&shared, &headers, body.to_vec());
            return replaced_body(&body, chunked, encoding);
        }
        Some(Injected::Drip(interval)) => return drip(interval),
        Some(Injected::Truncate | Injected::ResetMidBody) | None => {}
    }
    let body = match page_body(&job_id, &job, shared.age(&job), query.cursor.as_deref()) {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let (encoding, mut bytes) = encoded(
        &shared,
        &headers,
        serde_json::to_vec(&body).unwrap_or_default(),
    );
    match injected {
        Some(Injected::Truncate) => bytes.truncate(bytes.len() / 2),
        Some(Injected::ResetMidBody) => return reset_mid_body(bytes),
        _ => {}
    }
    let mut response = ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    if let Some(encoding) = encoding {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(encoding),
        );
    }
    response
}

/// `body` as it goes on the wire: gzip-compressed when the simulator
/// compresses and the request accepts it (then with its encoding), counted.
fn encoded(shared: &Shared, headers: &HeaderMap, body: Vec<u8>) -> (Option<&'static str>, Vec<u8>) {
    let accepts_gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            coding
                .split(';')
                .next()
                .is_some_and(|name| name.trim() == "gzip")
        });
    let (encoding, body) = if shared.config.gzip && accepts_gzip {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        match encoder.write_all(&body).and_then(|()| encoder.finish()) {
            Ok(compressed) => (Some("gzip"), compressed),
            Err(_) => (None, body),
        }
    } else {
        (None, body)
    };
    shared
        .poll_body_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    (encoding, body)
}

/// `status` (a 5xx) with OpenFunnel's error body.
fn faulted_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = json!({"error_code": "INTERNAL_ERROR", "details": {"message": "simulated fault"}});
    (status, Json(body)).into_response()
}

/// A status line, then a broken connection before any body byte.
fn dropped_connection() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(broken))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// 200 with exactly `body` (in `encoding`, if any), with its length or
/// chunked without one.
fn replaced_body(body: &[u8], chunked: bool, encoding: Option<&'static str>) -> Response {
    let mut response = Response::builder().header(header::CONTENT_TYPE, "application/json");
    if let Some(encoding) = encoding {
        response = response.header(header::CONTENT_ENCODING, encoding);
    }
    let body = if chunked {
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(64 * 1024)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    } else {
        Body::from(body.to_vec())
    };
    response
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// 200, then one space every `interval`, forever.
fn drip(interval: Duration) -> Response {
    let drip = futures_util::stream::unfold((), move |()| async move {
        tokio::time::sleep(interval).await;
        Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), ()))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(drip))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Half of `bytes`, then a broken connection (the length promises them all).
fn reset_mid_body(bytes: Vec<u8>) -> Response {
    let length = bytes.len();
    let head = Bytes::from(bytes[..length / 2].to_vec());
    let chunks = futures_util::stream::iter([
        Ok::<Bytes, std::io::Error>(head),
        Err(std::io::Error::other("simulated connection reset mid-body")),
    ]);
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, length)
        .body(Body::from_stream(chunks))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The job's answer to a cursor it never issued.
fn unknown_cursor(job: &SimJob) -> Response {
    let status =
        StatusCode::from_u16(job.profile.unknown_cursor_status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(unknown_cursor_body(status.as_u16()))).into_response()
}

/// Every row of the pages `job` ends with, in order.
pub(crate) fn final_rows(job: &SimJob) -> Vec<Value> {
    let end = snapshot(
        &job.profile,
        job.total_pages(),
        Duration::MAX,
        job.cancelled_at,
    );
    (0..job.rows_in(end.pages_written))
        .map(|i| row(job, u64::from(i)))
        .collect()
}

/// The poll response for `job`, `elapsed` after its submission, at `cursor`.
fn page_body(
    job_id: &str,
    job: &SimJob,
    elapsed: Duration,
    cursor: Option<&str>,
) -> Result<Value, Response> {
    let total_pages = job.total_pages();
    let now = snapshot(&job.profile, total_pages, elapsed, job.cancelled_at);
    let scheme = job.profile.cursors;
    let index = match cursor {
        None => 0,
        Some(cursor) => scheme.index(cursor).ok_or_else(|| unknown_cursor(job))?,
    };
    let written_rows = job.rows_in(now.pages_written);
    let (rows, page, next) = if index < now.pages_written {
        let (start, end) = job.profile.rows_of(index, job.total_rows);
        let newest = index + 1 == now.pages_written && !now.phase.is_terminal();
        let end = start + job.profile.page_writes.visible_rows(end - start, newest);
        let rows: Vec<Value> = (start..end).map(|i| row(job, u64::from(i))).collect();
        let next = (index + 1 < now.pages_written).then(|| scheme.cursor(index + 1));
        (rows, Some(scheme.name(index)), next)
    } else if cursor.is_none() {
        (Vec::new(), None, None)
    } else {
        return Err(unknown_cursor(job));
    };
    let manifest = now
        .phase
        .is_terminal()
        .then(|| manifest(job, now.phase, now.pages_written, written_rows));
    let error_message = (now.phase == Phase::Failed)
        .then(|| format!("simulated failure after {} pages", now.pages_written));
    let vocabulary = job.profile.vocabulary;
    let status = match now.phase {
        Phase::Running => vocabulary.running_status(now.pages_written),
        phase => phase.as_str(),
    };
    let mut body = json!({
        "job_id": job_id,
        "status": status,
        "manifest": manifest,
        "error_message": error_message,
        "count": rows.len(),
        "rows": rows,
        "page": page,
        "next_cursor": next,
    });
    if job.kind == JobType::Lookalike {
        let running = elapsed.saturating_sub(job.profile.pending_for);
        let run_share = if job.profile.run_time.is_zero() {
            1.0
        } else {
            running.as_secs_f64() / job.profile.run_time.as_secs_f64()
        };
        let processed =
            job.profile
                .processed
                .value(written_rows, job.total_rows, run_share, job.rows_in(1));
        body["processed"] = match processed {
            Some(processed) if now.phase != Phase::Pending => json!(processed),
            _ => Value::Null,
        };
        body["progress_message"] = json!(stage(now.phase, now.pages_written, total_pages));
    }
    vocabulary.extend(&mut body, u64::from(index));
    Ok(body)
}

fn row(job: &SimJob, index: u64) -> Value {
    let mut row = match job.kind {
        JobType::Lookalike => rows::lookalike_row(job.seed, index, &job.query),
        JobType::TechIntent => rows::intent_row(job.seed, index, &job.tech, &job.query, job.enrich),
    };
    job.profile.vocabulary.extend(&mut row, index);
    row
}

fn stage(phase: Phase, written: u32, total: u32) -> &'static str {
    match phase {
        Phase::Pending => "retrieving_companies",
        Phase::Running if total > 0 && written * 10 >= total * 9 => "reranking_companies",
        Phase::Running => "qualifying_companies",
        Phase::Completed => "completed",
        Phase::Cancelling | Phase::Cancelled => "cancelled",
        Phase::Failed => "failed",
    }
}

fn manifest(job: &SimJob, phase: Phase, pages: u32, rows: u32) -> Value {
    let completed = phase == Phase::Completed;
    let pages = job.profile.manifest.pages(pages);
    let mut manifest = match job.kind {
        JobType::Lookalike => json!({
            "count": if completed { json!(rows) } else { Value::Null },
            "pages": pages,
            "page_size": job.profile.page_size,
            "credits_consumed": rows,
            "derived_query": null,
            "resolved_seed_domains": null,
            "unresolved_seed_domains": null,
            "rerank_degraded": false,
            "partial": !completed,
        }),
        JobType::TechIntent => json!({
            "pages": pages,
            "page_size": job.profile.page_size,
            "count": if completed { json!(rows) } else { Value::Null },
            "partial": !completed,
            "tech": job.tech,
            "activity": job.query,
            "companies_scanned": rows * 3 + 7,
            "companies_skipped_no_evidence": rows / 10,
            "companies_qualified": rows,
            "total_companies_matched": rows * 40 + 12,
            "credits_consumed": rows * 20,
        }),
    };
    job.profile
        .vocabulary
        .extend(&mut manifest, u64::from(rows));
    manifest
}
