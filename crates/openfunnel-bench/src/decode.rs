//! Scenario 4: decode cost. Rows per second through the SDK versus
//! `serde_json::from_slice` straight into the generated types, for both row
//! kinds. Pages are recorded from the simulator once, then served from memory
//! by a replay server, so generating rows costs nothing during the runs.
//!
//! Cost is CPU time per row (all threads of this process: the SDK, its HTTP
//! client, and the replay server's trivial handler), so the SDK's parallel
//! page fetches do not flatter it; each side runs until it has used at least
//! 2 s of CPU.

use crate::table::Line;
use axum::extract::{Path, Query, State};
use futures_util::TryStreamExt;
use openfunnel_sim::{JobProfile, JobType, Simulator};
use std::sync::Arc;
use std::time::Duration;

const PAGES: u32 = 200;
const MIN_CPU: Duration = Duration::from_secs(2);

pub async fn run() -> Vec<Line> {
    let mut lines = Vec::new();
    for kind in [JobType::Lookalike, JobType::TechIntent] {
        let (path, bodies) = record(kind).await;
        let rows = u64::from(PAGES) * 100;
        let baseline = cpu_per_round(|| async {
            let mut decoded = 0;
            for body in bodies.iter() {
                decoded += match kind {
                    JobType::TechIntent => {
                        serde_json::from_slice::<openfunnel_api::types::TechIntentJobResponse>(body)
                            .expect("decodes")
                            .rows
                            .len()
                    }
                    _ => serde_json::from_slice::<openfunnel_api::types::BulkLookalikeJobResponse>(
                        body,
                    )
                    .expect("decodes")
                    .rows
                    .len(),
                };
            }
            assert_eq!(decoded as u64, rows);
        })
        .await;
        // What the SDK adds per page to keep each row as sent: a copy of the
        // body (the exec hook keeps it), a scan for the rows' texts, and a
        // copy of each text.
        let with_texts = || async {
            let mut decoded = 0;
            for body in bodies.iter() {
                let kept = body.to_vec();
                let typed = match kind {
                    JobType::TechIntent => {
                        serde_json::from_slice::<openfunnel_api::types::TechIntentJobResponse>(body)
                            .expect("decodes")
                            .rows
                            .len()
                    }
                    _ => serde_json::from_slice::<openfunnel_api::types::BulkLookalikeJobResponse>(
                        body,
                    )
                    .expect("decodes")
                    .rows
                    .len(),
                };
                let texts = row_texts(&kept);
                assert_eq!(texts.len(), typed);
                decoded += texts.len();
            }
            assert_eq!(decoded as u64, rows);
        };
        // The JSONL path: writing each row's own text vs serialising the
        // typed row (what the CLI did before).
        let serialising = match kind {
            JobType::TechIntent => {
                serialise_cost::<openfunnel_api::types::TechIntentJobResponse, _>(&bodies, |page| {
                    page.rows
                })
                .await
            }
            _ => {
                serialise_cost::<openfunnel_api::types::BulkLookalikeJobResponse, _>(
                    &bodies,
                    |page| page.rows,
                )
                .await
            }
        };
        let texts: Vec<Box<serde_json::value::RawValue>> =
            bodies.iter().flat_map(|body| row_texts(body)).collect();
        let copying = cpu_per_round(|| async {
            let mut out = Vec::with_capacity(8 << 20);
            for text in &texts {
                out.extend_from_slice(text.get().as_bytes());
                out.push(b'\n');
            }
            assert!(!out.is_empty());
        })
        .await;
        let decode_only = || async {
            for body in bodies.iter() {
                match kind {
                    JobType::TechIntent => {
                        let page: openfunnel_api::types::TechIntentJobResponse =
                            serde_json::from_slice(body).expect("decodes");
                        std::hint::black_box(page);
                    }
                    _ => {
                        let page: openfunnel_api::types::BulkLookalikeJobResponse =
                            serde_json::from_slice(body).expect("decodes");
                        std::hint::black_box(page);
                    }
                }
            }
        };
        let (with_texts, decode_only) = cpu_pair(with_texts, decode_only).await;
        let base_url = replay(path, bodies.clone()).await;
        let client = crate::fixtures::client(&base_url)
            .build()
            .expect("client builds");
        // One replayed job of `kind`, read to its end by `read`; its row count.
        macro_rules! replayed {
            (|$job:ident| $read:expr) => {{
                let count = match kind {
                    JobType::TechIntent => {
                        let $job = client.tech_intent().job("replay").expect("id");
                        $read.await
                    }
                    _ => {
                        let $job = client.lookalike().job("replay").expect("id");
                        $read.await
                    }
                };
                assert_eq!(count, rows);
            }};
        }
        let sdk = cpu_per_round(|| async { replayed!(|job| count(job.rows())) }).await;
        // The SDK's page stream keeps each row's text; its row stream does not.
        let sdk_pages = || async { replayed!(|job| jsonl_from_pages(job.pages(), false)) };
        let sdk_rows = || async { replayed!(|job| count(job.rows())) };
        // The CLI's JSONL path, after (each row's text from `pages()`) and
        // before (each typed row from `rows()`, serialised).
        let jsonl_after = || async { replayed!(|job| jsonl_from_pages(job.pages(), true)) };
        let jsonl_before = || async { replayed!(|job| jsonl_from_rows(job.rows())) };
        let (sdk_pages, sdk_rows) = cpu_pair(sdk_pages, sdk_rows).await;
        let (jsonl_after, jsonl_before) = cpu_pair(jsonl_after, jsonl_before).await;
        let raw =
            openfunnel_api::Client::with_api_key(&base_url, "of_bench").expect("client builds");
        let hand = cpu_per_round(|| async {
            let mut cursor: Option<String> = None;
            let mut count = 0u64;
            loop {
                let next = match kind {
                    JobType::TechIntent => {
                        let page = raw
                            .tech_intent_search_status("replay", cursor.as_deref())
                            .await
                            .expect("page");
                        count += page.rows.len() as u64;
                        page.into_inner().next_cursor
                    }
                    _ => {
                        let page = raw
                            .search_lookalikes_bulk_status("replay", cursor.as_deref(), None)
                            .await
                            .expect("page");
                        count += page.rows.len() as u64;
                        page.into_inner().next_cursor
                    }
                };
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(count, rows);
        })
        .await;
        let per_second = |d: Duration| format!("{:.0} rows/CPU-s", rows as f64 / d.as_secs_f64());
        let over = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64() - 1.0;
        let name = if kind == JobType::TechIntent {
            "tech intent"
        } else {
            "lookalike"
        };
        let sdk_overhead = over(sdk, hand);
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row: SDK vs a hand loop over the generated client (same loopback HTTP)"))
                .sdk(per_second(sdk))
                .comparison(per_second(hand))
                .ratio(format!("{:+.1}% CPU", sdk_overhead * 100.0))
                .goal("SDK overhead < 10%", sdk_overhead < 0.10),
        );
        let pages_cost = over(sdk_pages, sdk_rows);
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row: SDK pages() keeping each row's JSON text vs SDK rows() (typed only; same loopback HTTP)"))
                .sdk(per_second(sdk_pages))
                .comparison(per_second(sdk_rows))
                .ratio(format!("{:+.1}% CPU", pages_cost * 100.0))
                .goal("≤ +10%", pages_cost <= 0.10),
        );
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row of the CLI's JSONL path: pages() writing each row's text vs rows() serialising each typed row (before)"))
                .sdk(per_second(jsonl_after))
                .comparison(per_second(jsonl_before))
                .ratio(format!("{:+.1}% CPU", over(jsonl_after, jsonl_before) * 100.0)),
        );
        let texts_cost = over(with_texts, decode_only);
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row: typed decode + each row's JSON text as sent vs typed decode alone (from_slice, no HTTP)"))
                .sdk(per_second(with_texts))
                .comparison(per_second(decode_only))
                .ratio(format!("{:+.1}% CPU", texts_cost * 100.0)),
        );
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row written as JSONL: the row's own text vs serialising the typed row"))
                .sdk(per_second(copying))
                .comparison(per_second(serialising))
                .ratio(format!("{:.1}× less CPU", serialising.as_secs_f64() / copying.as_secs_f64())),
        );
        lines.push(
            Line::new(format!("4. {name} rows, CPU per row: SDK (HTTP included) vs from_slice on the bytes (no HTTP)"))
                .sdk(per_second(sdk))
                .comparison(per_second(baseline))
                .ratio(format!("{:+.0}% CPU", over(sdk, baseline) * 100.0)),
        );
    }
    lines
}

/// Rows of a page stream, counted; with `write`, each row's text written as
/// JSONL into memory.
async fn jsonl_from_pages<K: openfunnel::JobKind>(
    mut pages: openfunnel::Pages<K>,
    write: bool,
) -> u64 {
    let mut out = Vec::with_capacity(1 << 20);
    let mut count = 0u64;
    while let Some(page) = pages.try_next().await.expect("all pages") {
        count += page.json_rows().len() as u64;
        if write {
            out.clear();
            for text in page.json_rows() {
                out.extend_from_slice(text.get().as_bytes());
                out.push(b'\n');
            }
            std::hint::black_box(&out);
        }
    }
    count
}

/// Rows of a row stream, each serialised as JSONL into memory.
async fn jsonl_from_rows<K: openfunnel::JobKind>(mut rows: openfunnel::Rows<K>) -> u64 {
    let mut out = Vec::with_capacity(1 << 20);
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await.expect("all rows") {
        if out.len() > 1 << 19 {
            out.clear();
        }
        serde_json::to_writer(&mut out, &row).expect("writes");
        out.push(b'\n');
        count += 1;
    }
    std::hint::black_box(&out);
    count
}

/// Each row's JSON text in a page body, as the SDK takes it.
fn row_texts(body: &[u8]) -> Vec<Box<serde_json::value::RawValue>> {
    #[derive(serde::Deserialize)]
    struct Texts<'a> {
        #[serde(borrow)]
        rows: Vec<&'a serde_json::value::RawValue>,
    }
    serde_json::from_slice::<Texts<'_>>(body)
        .expect("rows")
        .rows
        .into_iter()
        .map(serde_json::value::RawValue::to_owned)
        .collect()
}

/// CPU time of writing every typed row of `bodies` as JSONL by serialising
/// it (the CLI's JSONL path before it wrote each row's own text).
async fn serialise_cost<P, R>(bodies: &[Vec<u8>], rows_of: impl Fn(P) -> Vec<R>) -> Duration
where
    P: serde::de::DeserializeOwned,
    R: serde::Serialize,
{
    let typed: Vec<R> = bodies
        .iter()
        .flat_map(|body| rows_of(serde_json::from_slice::<P>(body).expect("decodes")))
        .collect();
    cpu_per_round(|| async {
        let mut out = Vec::with_capacity(8 << 20);
        for row in &typed {
            serde_json::to_writer(&mut out, row).expect("writes");
            out.push(b'\n');
        }
        assert!(!out.is_empty());
    })
    .await
}

async fn count<S: futures_util::Stream<Item = Result<T, openfunnel::Error>>, T>(rows: S) -> u64 {
    rows.try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .expect("all rows")
}

/// CPU time of one round of `run`, averaged over as many rounds as it takes
/// to use [`MIN_CPU`] (at least three).
async fn cpu_per_round<F, Fut>(mut run: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run().await; // warm up: connections, allocator
    let start = crate::measure::cpu_time();
    let mut rounds = 0u32;
    while rounds < 3 || crate::measure::cpu_time() - start < MIN_CPU {
        run().await;
        rounds += 1;
    }
    (crate::measure::cpu_time() - start) / rounds
}

/// CPU time per round of `a` and of `b`, measured in alternating blocks
/// (each at least a quarter of [`MIN_CPU`], four of each) so that drift of
/// the machine's speed falls on both sides alike: for ratios.
async fn cpu_pair<A, FutA, B, FutB>(mut a: A, mut b: B) -> (Duration, Duration)
where
    A: FnMut() -> FutA,
    FutA: std::future::Future<Output = ()>,
    B: FnMut() -> FutB,
    FutB: std::future::Future<Output = ()>,
{
    a().await;
    b().await;
    let block = MIN_CPU / 4;
    let (mut a_cpu, mut a_rounds, mut b_cpu, mut b_rounds) =
        (Duration::ZERO, 0u32, Duration::ZERO, 0u32);
    for _ in 0..4 {
        let start = crate::measure::cpu_time();
        while crate::measure::cpu_time() - start < block || a_rounds == 0 {
            a().await;
            a_rounds += 1;
        }
        a_cpu += crate::measure::cpu_time() - start;
        let start = crate::measure::cpu_time();
        while crate::measure::cpu_time() - start < block || b_rounds == 0 {
            b().await;
            b_rounds += 1;
        }
        b_cpu += crate::measure::cpu_time() - start;
    }
    (a_cpu / a_rounds, b_cpu / b_rounds)
}

/// Every page body of a completed job, as the simulator sends it.
async fn record(kind: JobType) -> (&'static str, Arc<Vec<Vec<u8>>>) {
    let sim = Simulator::start().await.expect("simulator starts");
    let id = sim.add_job(kind, JobProfile::completed(PAGES * 100));
    let path = match kind {
        JobType::TechIntent => "/api/v2/tech/companies/intent-search",
        _ => "/api/v1/account/search-lookalikes-bulk",
    };
    let http = reqwest::Client::new();
    let mut bodies = Vec::new();
    for index in 0..PAGES {
        let mut url = format!("{}{path}/{id}", sim.base_url());
        if index > 0 {
            url.push_str(&format!("?cursor=page_{index:04}"));
        }
        let body = http
            .get(url)
            .header("x-api-key", "of_bench")
            .send()
            .await
            .expect("page");
        let mut bytes = body.bytes().await.expect("body").to_vec();
        // Served for job id "replay".
        let text = String::from_utf8(bytes)
            .expect("UTF-8")
            .replace(&id, "replay");
        bytes = text.into_bytes();
        bodies.push(bytes);
    }
    (path, Arc::new(bodies))
}

#[derive(serde::Deserialize)]
struct Cursor {
    cursor: Option<String>,
}

/// Serves recorded pages by cursor, from memory.
async fn replay(path: &'static str, bodies: Arc<Vec<Vec<u8>>>) -> String {
    let route = format!("{path}/{{job_id}}");
    let app = axum::Router::new()
        .route(
            &route,
            axum::routing::get(
                |State(bodies): State<Arc<Vec<Vec<u8>>>>,
                 Path(_id): Path<String>,
                 Query(query): Query<Cursor>| async move {
                    let index = query
                        .cursor
                        .and_then(|c| {
                            c.strip_prefix("page_")
                                .and_then(|n| n.parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    let body = bodies.get(index).cloned().unwrap_or_default();
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        body,
                    )
                },
            ),
        )
        .with_state(bodies);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}
