//! A loopback server whose job advances with the number of requests served
//! (not with time), so that a property test can run hundreds of job schedules
//! and fault patterns in seconds while the SDK waits on a virtual clock.
//!
//! What the spec leaves open comes from the script, through the simulator's
//! own types: the cursor scheme, the manifest's accuracy and the status of an
//! unknown cursor. No page is named the way the SDK predicts unless the
//! script's scheme says so.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub use openfunnel_sim::{CursorScheme, ManifestAccuracy};

/// How the job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Completed,
    Failed,
    Cancelled,
}

/// What happens to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    RateLimited { retry_after: bool },
    ServerError,
    ResetMidBody,
    Truncated,
    Stalled,
    UnknownCursor,
}

/// A job's life, counted in requests.
#[derive(Clone, Debug)]
pub struct Script {
    /// Rows of each page.
    pub pages: Vec<u32>,
    /// The request count at which each page becomes readable (non-decreasing).
    pub lands_at: Vec<u32>,
    /// The request count at which the job becomes terminal.
    pub ends_at: u32,
    pub ending: Ending,
    /// Faults by request number (from 1).
    pub faults: BTreeMap<u32, Fault>,
    /// How long a stalled response waits (past the client's request timeout).
    pub stall: Duration,
    /// How cursors and page names look.
    pub cursors: CursorScheme,
    /// How the terminal manifest's `pages` relates to the chain.
    pub manifest: ManifestAccuracy,
    /// The status of a request for a cursor never issued (400, 404, 422).
    pub unknown_cursor_status: u16,
}

impl Script {
    /// Pages readable after `n` requests.
    fn written(&self, n: u32) -> usize {
        let landed = |at: u32| self.lands_at.iter().filter(|l| **l <= at).count();
        if n >= self.ends_at {
            match self.ending {
                Ending::Completed => self.pages.len(),
                _ => landed(self.ends_at),
            }
        } else {
            landed(n)
        }
    }

    /// Pages the job ends with.
    pub fn final_pages(&self) -> usize {
        self.written(u32::MAX)
    }

    /// The domains of every row the job ends with, in order.
    pub fn final_rows(&self) -> Vec<String> {
        (0..self.final_pages())
            .flat_map(|page| (0..self.pages[page]).map(move |row| domain(page, row)))
            .collect()
    }
}

pub fn domain(page: usize, row: u32) -> String {
    format!("p{page}-r{row}.example")
}

struct Server {
    script: Script,
    served: AtomicU32,
}

#[derive(serde::Deserialize)]
struct Cursor {
    cursor: Option<String>,
}

/// Starts the server; returns its base URL. It stops with the runtime.
pub async fn start(script: Script) -> String {
    let state = Arc::new(Server {
        script,
        served: AtomicU32::new(0),
    });
    let app = axum::Router::new()
        .route(
            "/api/v1/account/search-lookalikes-bulk/{job_id}",
            axum::routing::get(poll),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

async fn poll(State(server): State<Arc<Server>>, Query(query): Query<Cursor>) -> Response {
    let n = server.served.fetch_add(1, Ordering::SeqCst) + 1;
    let script = &server.script;
    let unknown = || {
        let status =
            StatusCode::from_u16(script.unknown_cursor_status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = openfunnel_sim::unknown_cursor_body(status.as_u16());
        (status, axum::Json(body)).into_response()
    };
    let Some(body) = page(script, n, query.cursor.as_deref()) else {
        return unknown();
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    match script.faults.get(&n) {
        None => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Some(Fault::RateLimited { retry_after: true }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "2")],
            "slow down",
        )
            .into_response(),
        Some(Fault::RateLimited { retry_after: false }) => {
            (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response()
        }
        Some(Fault::ServerError) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()
        }
        Some(Fault::UnknownCursor) => unknown(),
        Some(Fault::Truncated) => {
            let half = bytes[..bytes.len() / 2].to_vec();
            ([(header::CONTENT_TYPE, "application/json")], half).into_response()
        }
        Some(Fault::ResetMidBody) => {
            let head = Bytes::from(bytes[..bytes.len() / 2].to_vec());
            let chunks = futures_util::stream::iter([
                Ok::<Bytes, std::io::Error>(head),
                Err(std::io::Error::other("connection reset mid-body")),
            ]);
            Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, bytes.len())
                .body(Body::from_stream(chunks))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Some(Fault::Stalled) => {
            tokio::time::sleep(script.stall).await;
            ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
        }
    }
}

/// The response to request `n` at `cursor`; `None` for an unknown cursor.
fn page(script: &Script, n: u32, cursor: Option<&str>) -> Option<Value> {
    let written = script.written(n);
    let terminal = n >= script.ends_at;
    let scheme = script.cursors;
    let index = match cursor {
        None => 0,
        Some(cursor) => scheme.index(cursor)? as usize,
    };
    let (rows, name, next) = if index < written {
        let rows: Vec<Value> = (0..script.pages[index])
            .map(|row| json!({"name": format!("Company {index}/{row}"), "domain": domain(index, row)}))
            .collect();
        let next = (index + 1 < written).then(|| scheme.cursor(index as u32 + 1));
        (rows, Some(scheme.name(index as u32)), next)
    } else if cursor.is_none() {
        (Vec::new(), None, None)
    } else {
        return None;
    };
    let status = match (terminal, script.ending) {
        (false, _) if written == 0 => "pending",
        (false, _) => "running",
        (true, Ending::Completed) => "completed",
        (true, Ending::Failed) => "failed",
        (true, Ending::Cancelled) => "cancelled",
    };
    let manifest = terminal.then(|| {
        json!({"pages": script.manifest.pages(written as u32), "page_size": 100, "partial": script.ending != Ending::Completed,
               "count": if script.ending == Ending::Completed { json!(script.final_rows().len()) } else { Value::Null }})
    });
    Some(json!({
        "job_id": "job",
        "status": status,
        "manifest": manifest,
        "error_message": (script.ending == Ending::Failed && terminal).then_some("scripted failure"),
        "rows": rows,
        "count": rows.len(),
        "page": name,
        "next_cursor": next,
    }))
}
