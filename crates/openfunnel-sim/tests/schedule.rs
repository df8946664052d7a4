//! A job on a request clock follows its schedule request by request, and
//! faults keyed by poll number hit exactly those polls: what the SDK's
//! delivery property test relies on.

use openfunnel_sim::{
    Clock, CursorScheme, Ending, Fault, JobProfile, JobType, OutageAnswer, PageWrites, PollFault,
    Schedule, SimConfig, Simulator,
};
use serde_json::Value;
use std::time::Duration;

const REQUEST: Duration = Duration::from_millis(1);

async fn poll(sim: &Simulator, job: &str, cursor: Option<&str>) -> (u16, Value) {
    let mut url = format!(
        "{}/api/v1/account/search-lookalikes-bulk/{job}",
        sim.base_url()
    );
    if let Some(cursor) = cursor {
        url = format!("{url}?cursor={}", urlencode(cursor));
    }
    let response = reqwest::Client::new()
        .get(url)
        .header("x-api-key", "of_sim")
        .send()
        .await
        .expect("the simulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn schedule(ending: Ending) -> Schedule {
    Schedule {
        page_rows: vec![2, 0, 3],
        lands_at: vec![REQUEST * 2, REQUEST * 3, REQUEST * 5],
        ends_at: REQUEST * 6,
        ending,
    }
}

async fn sim_with(faults: Vec<Fault>) -> Simulator {
    let mut config = SimConfig::default().with_clock(Clock::PerRequest(REQUEST));
    for fault in faults {
        config = config.with_fault(fault);
    }
    Simulator::start_with(config).await.expect("starts")
}

#[tokio::test]
async fn a_scheduled_job_advances_one_request_at_a_time() {
    let sim = sim_with(Vec::new()).await;
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_schedule(schedule(Ending::Completed))
            .with_cursors(CursorScheme::PageNames),
    );
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (status, body) = poll(&sim, &job, None).await;
        assert_eq!(status, 200);
        seen.push((
            body["status"].as_str().unwrap_or_default().to_string(),
            body["rows"].as_array().map_or(0, Vec::len),
            body["next_cursor"].as_str().map(str::to_string),
            body["processed"].as_u64(),
        ));
    }
    let at = |status: &str, rows, next: Option<&str>, processed: Option<u64>| {
        (
            status.to_string(),
            rows,
            next.map(str::to_string),
            processed,
        )
    };
    assert_eq!(
        seen,
        [
            at("pending", 0, None, None),    // request 1: nothing landed
            at("running", 2, None, Some(2)), // 2: page 0 landed, page 1 not yet
            at("running", 2, Some("page_0001"), Some(2)), // 3: page 1 (empty) landed
            at("running", 2, Some("page_0001"), Some(2)), // 4
            at("running", 2, Some("page_0001"), Some(5)), // 5: page 2 landed
            at("completed", 2, Some("page_0001"), Some(5)), // 6: the job ends
        ]
    );
    let (_, empty) = poll(&sim, &job, Some("page_0001")).await;
    assert_eq!(empty["rows"].as_array().map(Vec::len), Some(0));
    assert_eq!(empty["next_cursor"], "page_0002");
    let (_, last) = poll(&sim, &job, Some("page_0002")).await;
    assert_eq!(last["rows"].as_array().map(Vec::len), Some(3));
    assert!(last["next_cursor"].is_null());
    assert_eq!(last["manifest"]["pages"], 3);
    let rows = sim.final_rows(&job).expect("the job exists");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[4], last["rows"][2]);
}

#[tokio::test]
async fn a_growing_newest_page_shows_half_its_rows_until_the_next_one_lands() {
    let sim = sim_with(Vec::new()).await;
    let grown = Schedule {
        page_rows: vec![4, 3],
        lands_at: vec![REQUEST * 2, REQUEST * 4],
        ends_at: REQUEST * 6,
        ending: Ending::Completed,
    };
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_schedule(grown)
            .with_page_writes(PageWrites::Growing),
    );
    // Requests 1-6 read the first page, then page 1 (request 7).
    let mut seen = Vec::new();
    for _ in 0..6 {
        let (_, body) = poll(&sim, &job, None).await;
        seen.push(body["rows"].as_array().map_or(0, Vec::len));
    }
    assert_eq!(
        seen,
        [0, 2, 2, 4, 4, 4],
        "half of page 0 until page 1 lands"
    );
    let (_, last) = poll(&sim, &job, Some("page_0001")).await;
    assert_eq!(
        last["rows"].as_array().map(Vec::len),
        Some(3),
        "whole once the job ended"
    );
    assert_eq!(sim.final_rows(&job).map(|rows| rows.len()), Some(7));
}

#[tokio::test]
async fn a_failed_or_cancelled_schedule_keeps_the_pages_landed_before_its_end() {
    for (ending, status) in [(Ending::Failed, "failed"), (Ending::Cancelled, "cancelled")] {
        let sim = sim_with(Vec::new()).await;
        let job = sim.add_job(
            JobType::Lookalike,
            JobProfile::default().with_schedule(schedule(ending)),
        );
        let mut last = Value::Null;
        for _ in 0..8 {
            last = poll(&sim, &job, None).await.1;
        }
        assert_eq!(last["status"], status);
        assert_eq!(last["manifest"]["partial"], true);
        // Pages 0 and 1 (2 + 0 rows) and page 2 (3 rows) landed at 2, 3, 5, all
        // before the end at 6.
        assert_eq!(sim.final_rows(&job).map(|rows| rows.len()), Some(5));
    }
    let sim = sim_with(Vec::new()).await;
    let early_end = Schedule {
        ends_at: REQUEST * 4,
        ..schedule(Ending::Failed)
    };
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::default().with_schedule(early_end),
    );
    assert_eq!(sim.final_rows(&job).map(|rows| rows.len()), Some(2));
}

#[tokio::test]
async fn faults_hit_exactly_the_polls_they_name() {
    let stall = Duration::from_millis(150);
    let sim = sim_with(vec![
        Fault::OnPoll {
            poll: 1,
            fault: PollFault::RateLimited { retry_after: None },
        },
        Fault::OnPoll {
            poll: 2,
            fault: PollFault::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
        },
        Fault::OnPoll {
            poll: 3,
            fault: PollFault::Status(502),
        },
        Fault::OnPoll {
            poll: 4,
            fault: PollFault::UnknownCursor,
        },
        Fault::OnPoll {
            poll: 5,
            fault: PollFault::Truncated,
        },
        Fault::OnPoll {
            poll: 7,
            fault: PollFault::Stalled(stall),
        },
    ])
    .await;
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::completed(3).with_unknown_cursor_status(404),
    );
    let (status, body) = poll(&sim, &job, None).await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (429, Some("RATE_LIMITED"))
    );
    let response = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/account/search-lookalikes-bulk/{job}",
            sim.base_url()
        ))
        .header("x-api-key", "of_sim")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(poll(&sim, &job, None).await.0, 502);
    assert_eq!(
        poll(&sim, &job, None).await.0,
        404,
        "the job's unknown-cursor status"
    );
    let (status, truncated) = poll(&sim, &job, None).await;
    assert_eq!(status, 200);
    assert!(
        truncated.is_string(),
        "half a JSON body does not parse: {truncated}"
    );
    let (status, whole) = poll(&sim, &job, None).await;
    assert_eq!(
        (status, whole["rows"].as_array().map(Vec::len)),
        (200, Some(3))
    );
    let started = std::time::Instant::now();
    let (status, _) = poll(&sim, &job, None).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= stall, "the stalled poll waited");
    assert_eq!(sim.requests().polls, 7);
}

#[tokio::test]
async fn a_reset_mid_body_breaks_the_connection_after_half_the_body() {
    let sim = sim_with(vec![Fault::OnPoll {
        poll: 1,
        fault: PollFault::ResetMidBody,
    }])
    .await;
    let job = sim.add_job(JobType::Lookalike, JobProfile::completed(3));
    // The connection breaks inside the body: the head may or may not have
    // reached the client by then; the whole body never does.
    let url = format!(
        "{}/api/v1/account/search-lookalikes-bulk/{job}",
        sim.base_url()
    );
    let fetched = async {
        reqwest::Client::new()
            .get(url)
            .header("x-api-key", "of_sim")
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(fetched.is_err(), "the body broke off: {fetched:?}");
    assert_eq!(poll(&sim, &job, None).await.0, 200, "only poll 1 is hit");
}

#[tokio::test]
async fn wall_time_is_the_default_clock() {
    // A job pending for 10 s is still pending after many requests on the
    // wall clock (a request clock of 1 s per request would have started it).
    let sim = Simulator::start().await.expect("starts");
    let job = sim.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_rows(10)
            .with_pending_for(Duration::from_secs(10)),
    );
    for _ in 0..3 {
        assert_eq!(poll(&sim, &job, None).await.1["status"], "pending");
    }
    let ticking = Simulator::start_with(
        SimConfig::default().with_clock(Clock::PerRequest(Duration::from_secs(4))),
    )
    .await
    .expect("starts");
    let job = ticking.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_rows(10)
            .with_pending_for(Duration::from_secs(10))
            .with_run_time(Duration::ZERO),
    );
    let statuses: Vec<Value> = [
        poll(&ticking, &job, None).await.1["status"].clone(),
        poll(&ticking, &job, None).await.1["status"].clone(),
        poll(&ticking, &job, None).await.1["status"].clone(),
    ]
    .to_vec();
    assert_eq!(statuses, ["pending", "pending", "completed"]);
    // An even timeline of 250 rows: three pages of 100, 100 and 50.
    let job = ticking.add_job(JobType::Lookalike, JobProfile::completed(250));
    let (_, first) = poll(&ticking, &job, None).await;
    assert_eq!(first["manifest"]["pages"], 3);
    let (_, second) = poll(&ticking, &job, first["next_cursor"].as_str()).await;
    let (_, third) = poll(&ticking, &job, second["next_cursor"].as_str()).await;
    let sizes: Vec<Option<usize>> = [&first, &second, &third]
        .iter()
        .map(|page| page["rows"].as_array().map(Vec::len))
        .collect();
    assert_eq!(sizes, [Some(100), Some(100), Some(50)]);
    assert_ne!(first["rows"][0], second["rows"][0]);
}

#[tokio::test]
async fn an_outage_answers_every_request_in_its_window_submits_and_cancels_too() {
    // On a clock of 1 ms a request, request n is served at n ms: the
    // outage covers requests 2, 3 and 4.
    let sim = sim_with(vec![Fault::Outage {
        after: REQUEST * 2,
        lasting: REQUEST * 3,
        answer: OutageAnswer::Status(503),
    }])
    .await;
    let http = reqwest::Client::new();
    let submits = format!("{}/api/v1/account/search-lookalikes-bulk", sim.base_url());
    let submit = || {
        http.post(&submits)
            .header("x-api-key", "of_sim")
            .json(&serde_json::json!({"query": "APM", "limit": 5}))
            .send()
    };
    let first = submit().await.unwrap();
    assert_eq!(first.status(), 200);
    let job = first.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(poll(&sim, &job, None).await.0, 503);
    assert_eq!(submit().await.unwrap().status(), 503);
    let cancel = http
        .post(format!("{submits}/{job}/cancel"))
        .header("x-api-key", "of_sim")
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 503);
    assert_eq!(poll(&sim, &job, None).await.0, 200, "the outage is over");
    assert_eq!(sim.requests().during_outage, 3);
    assert_eq!((sim.outage_requests(&job), sim.outage_requests("")), (2, 1));
    // The job's poll of request 5 was its first answer after the outage;
    // no submit came after it.
    assert_eq!(sim.first_answer_after_outage(&job), Some(REQUEST * 5));
    assert_eq!(sim.first_answer_after_outage(""), None);
    assert_eq!(sim.first_answer_after_outage("never-polled"), None);
    assert_eq!(sim.polls_of(&job), 1, "the outage answered the other poll");
    assert_eq!(sim.polls_of("never-polled"), 0);
}
