//! Outages: polls of a wait ride a failing service out (once it has answered
//! for the job) within the wait's limits, one-shot calls fail fast once the
//! client's retry budget is spent, and many jobs of one client back off as
//! one, then resume together.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Client, Error, LookalikeSearch, PollPolicy, RetryBudget, TimeLimit};
use openfunnel_sim::{Fault, JobProfile, OutageAnswer, SimConfig, Simulator};
use std::collections::HashSet;
use std::time::Duration;

/// The fixture job answers `running` once, then `failures` times 503, then
/// `completed` with no rows.
async fn serve_an_outage_after_one_answer(server: &MockServer, failures: usize) {
    serve(server, None, page("running", None, None, vec![]), Some(1)).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503).up_to_n_times(failures);
        })
        .await;
    serve_completed_empty(server).await;
}

#[tokio::test]
async fn a_wait_rides_out_an_outage_once_the_server_answered_for_the_job() {
    let server = MockServer::start_async().await;
    serve_an_outage_after_one_answer(&server, 30).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let done = lookalike_job(&client)
        .wait()
        .await
        .expect("rode the outage out");
    assert_eq!(done.polls, 2, "the answers: running, then completed");
    let sleeps = timer.sleeps();
    // One pause between polls, then a retry wait before each of the 30
    // attempts after a failure: far past the 5 attempts of a request.
    assert_eq!(sleeps.len(), 31, "{sleeps:?}");
    assert!(
        sleeps[1..]
            .iter()
            .all(|wait| *wait <= Duration::from_secs(5)),
        "capped by the retry backoff: {sleeps:?}"
    );
    assert_eq!(
        sleeps[1..6],
        [200, 400, 800, 1600, 3200].map(Duration::from_millis)
    );

    // Counting attempts instead (the old behaviour, still available): the
    // wait ends with the failure after 5 of them.
    let server = MockServer::start_async().await;
    serve_an_outage_after_one_answer(&server, 30).await;
    let counted = builder(&server, &timer)
        .with_retry_policy(exact_retries().with_ride_out(false))
        .build()
        .unwrap();
    let error = lookalike_job(&counted).wait().await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answered_fails_after_its_attempts_not_at_the_idle_timeout() {
    // A wrong address (here: a server failing from the first request) is
    // not an outage of a job the client knows: seconds, not an hour.
    let server = MockServer::start_async().await;
    let failing = answer_every_poll(&server, 503, None).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let error = lookalike_job(&client).wait().await.unwrap_err();
    assert!(
        matches!(error, Error::Http { status: 503, .. }),
        "{error:?}"
    );
    failing.assert_calls_async(5).await;
    let waited: Duration = timer.sleeps().iter().sum();
    assert!(waited < Duration::from_secs(4), "{waited:?}");

    // Nothing listening at all: the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let client = Client::builder()
        .with_api_key(KEY)
        .with_base_url(format!("http://{address}"))
        .with_timer(timer.clone())
        .build()
        .unwrap();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
}

#[tokio::test]
async fn an_outage_longer_than_the_idle_timeout_ends_the_wait_with_its_last_failure() {
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), Some(1)).await;
    answer_every_poll(&server, 503, None).await;
    let timer = VirtualTimer::new();
    let idle = Duration::from_secs(60);
    let client = builder(&server, &timer)
        .with_poll_policy(exact_policy().with_idle_timeout(idle))
        .build()
        .unwrap();
    let error = lookalike_job(&client).wait().await.unwrap_err();
    let Error::TimedOut {
        limit, last_error, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(*limit, TimeLimit::Idle(idle));
    assert!(
        matches!(last_error.as_deref(), Some(Error::Http { status: 503, .. })),
        "{error:?}"
    );
    let waited: Duration = timer.sleeps().iter().sum();
    assert!(waited <= idle, "{waited:?}");
    assert!(waited >= idle - Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn a_wait_honours_a_retry_after_longer_than_a_single_request_would() {
    // 600 s is past the 120 s a one-shot call accepts, inside the hour of
    // idle time a wait has.
    let server = MockServer::start_async().await;
    serve(&server, None, page("running", None, None, vec![]), Some(1)).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(503)
                .header("retry-after", "600")
                .up_to_n_times(1);
        })
        .await;
    serve_completed_empty(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    lookalike_job(&client)
        .wait()
        .await
        .expect("waited as asked");
    assert!(timer.sleeps().contains(&Duration::from_secs(600)));
}

#[tokio::test]
async fn one_shot_calls_fail_fast_once_the_client_s_retry_budget_is_spent() {
    let server = MockServer::start_async().await;
    let failing = answer_every_poll(&server, 503, None).await;
    let timer = VirtualTimer::new();
    // 20 tokens: one retry (15 left) before the bucket would reach half.
    let client = builder(&server, &timer)
        .with_retry_budget(RetryBudget::default().with_capacity(20))
        .build()
        .unwrap();
    let job = lookalike_job(&client);
    let error = job.poll().await.unwrap_err();
    let Error::ServiceFailing { last_error } = &error else {
        panic!("{error:?}");
    };
    assert!(matches!(**last_error, Error::Http { status: 503, .. }));
    assert_eq!((error.status(), error.is_retryable()), (Some(503), true));
    assert!(
        error.to_string().contains("retry budget is spent"),
        "{error}"
    );
    failing.assert_calls_async(2).await;
    // The budget is the client's: the next call gets no retry at all.
    let error = job.poll().await.unwrap_err();
    assert!(matches!(error, Error::ServiceFailing { .. }), "{error:?}");
    failing.assert_calls_async(3).await;
    // A job of its own client has its own budget.
    let fresh = client_with_its_own_budget(&server, &timer);
    lookalike_job(&fresh).poll().await.unwrap_err();
    failing.assert_calls_async(5).await;
}

fn client_with_its_own_budget(server: &MockServer, timer: &VirtualTimer) -> Client {
    builder(server, timer)
        .with_retry_budget(RetryBudget::default().with_capacity(20))
        .build()
        .unwrap()
}

#[tokio::test]
async fn successes_refill_the_budget() {
    let server = MockServer::start_async().await;
    let timer = VirtualTimer::new();
    let client = client_with_its_own_budget(&server, &timer);
    let job = lookalike_job(&client);
    let failing = answer_every_poll(&server, 503, None).await;
    job.poll().await.unwrap_err(); // 20 → 15
    failing.delete_async().await;
    let answered = serve_completed_empty(&server).await;
    for _ in 0..5 {
        job.poll().await.expect("answered"); // 15 → 20
    }
    answered.delete_async().await;
    let failing = answer_every_poll(&server, 503, None).await;
    job.poll().await.unwrap_err();
    failing.assert_calls_async(2).await; // one retry again
}

// ------------------------------------------------- many jobs, real time

fn sim_client(sim: &Simulator, budget: RetryBudget) -> Client {
    Client::builder()
        .with_api_key("of_sim")
        .with_base_url(sim.base_url())
        .with_poll_policy(PollPolicy::default().with_deadline(Duration::from_secs(60)))
        .with_retry_budget(budget)
        .build()
        .expect("client builds")
}

/// A simulator whose jobs write 200 rows over 2 s, and which answers every
/// request with `answer` from 0.5 s to 2.5 s.
async fn down_from_half_a_second_for_two(answer: OutageAnswer) -> Simulator {
    let profile = JobProfile::default()
        .with_rows(200)
        .with_page_size(50)
        .with_pending_for(Duration::from_millis(100))
        .with_run_time(Duration::from_secs(2));
    let outage = Fault::Outage {
        after: Duration::from_millis(500),
        lasting: Duration::from_secs(2),
        answer,
    };
    Simulator::start_with(
        SimConfig::default()
            .with_profile(profile)
            .with_fault(outage),
    )
    .await
    .unwrap()
}

/// Runs `jobs` jobs of 200 rows (2 s each) through one client with
/// `budget`, the service down from 0.5 s to 2.5 s; returns the requests each
/// job sent during the outage, after checking every row came once.
async fn through_an_outage(jobs: usize, budget: RetryBudget, answer: OutageAnswer) -> Vec<u64> {
    let sim = down_from_half_a_second_for_two(answer).await;
    let client = sim_client(&sim, budget);
    let mut handles = Vec::new();
    for index in 0..jobs {
        let search = LookalikeSearch::default()
            .query(format!("job {index}"))
            .limit(200);
        let job = client
            .lookalike()
            .submit(search)
            .await
            .expect("submitted before the outage");
        handles.push(tokio::spawn(async move {
            let rows: Vec<_> = job.rows().try_collect().await?;
            Ok::<_, Error>((job.id().to_string(), rows))
        }));
    }
    let mut during = Vec::new();
    for handle in handles {
        let (id, rows) = handle.await.unwrap().expect("no job failed");
        let domains: HashSet<_> = rows.iter().map(|row| row.domain.clone()).collect();
        assert_eq!(
            (rows.len(), domains.len()),
            (200, 200),
            "job {id}: every row once"
        );
        during.push(sim.outage_requests(&id));
    }
    during
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_jobs_ride_out_an_outage_as_one_client_and_lose_no_row() {
    let jobs = 20;
    // 100 tokens: 10 retries before the bucket is at half.
    let small = RetryBudget::default().with_capacity(100);
    let budgeted = through_an_outage(jobs, small, OutageAnswer::Status(503)).await;
    let unlimited =
        through_an_outage(jobs, RetryBudget::unlimited(), OutageAnswer::Status(503)).await;
    let total = |counts: &[u64]| counts.iter().sum::<u64>();
    // Each job's first failure, the 10 retries the budget pays for, then
    // the client's probes, one at a time (at most one each 100 ms or so:
    // the retry backoff from 200 ms, jittered).
    assert!(
        total(&budgeted) <= jobs as u64 + 10 + 20,
        "budgeted: {budgeted:?}"
    );
    assert!(
        total(&unlimited) > total(&budgeted) * 3 / 2,
        "the budget is what holds the load down: {unlimited:?} vs {budgeted:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_service_fails_a_poll_retries_once_then_takes_turns() {
    // The default budget could pay for every retry of ten jobs; still, each
    // job's poll retries once on its own and then waits for its turn to
    // probe, so the outage costs the client each job's failure and one
    // retry, plus a few probes for all of them (about 24 requests in 2 s;
    // retrying on the budget alone: 43 to 52).
    let during = through_an_outage(10, RetryBudget::default(), OutageAnswer::Status(503)).await;
    assert!(during.iter().sum::<u64>() <= 30, "{during:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_connections_are_ridden_out_like_a_503() {
    let during = through_an_outage(5, RetryBudget::default(), OutageAnswer::DropConnection).await;
    assert!(during.iter().all(|&requests| requests >= 1), "{during:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prefetch_window_shrinks_to_one_request_while_the_service_fails() {
    // A completed job of 300 pages read 8 at a time (20 ms a request): the
    // service goes down for a second mid-walk.
    let profile = JobProfile::default()
        .with_rows(1_500)
        .with_page_size(5)
        .with_pending_for(Duration::ZERO)
        .with_run_time(Duration::from_millis(1));
    let outage = Fault::Outage {
        after: Duration::from_millis(400),
        lasting: Duration::from_secs(1),
        answer: OutageAnswer::Status(503),
    };
    let config = SimConfig::default()
        .with_profile(profile)
        .with_latency(Duration::from_millis(20))
        .with_fault(outage);
    let sim = Simulator::start_with(config).await.unwrap();
    // No budget: the window alone must hold the load down.
    let client = sim_client(&sim, RetryBudget::unlimited());
    let job = client
        .lookalike()
        .submit(LookalikeSearch::default().query("APM").limit(1_500))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut pages = job.pages();
    let mut rows = 0;
    while let Some(page) = pages.try_next().await.expect("rode the outage out") {
        rows += page.rows.len();
    }
    assert_eq!(rows, 1_500);
    let outcome = pages.outcome().expect("read to the end");
    assert_eq!(outcome.pages, 300);
    let during = sim.requests().during_outage;
    // Eight requests riding the outage out on their own would send about
    // 8 × 5 in that second; one, about 5 (plus the first failures of the
    // requests it replaced).
    assert!(during <= 20, "{during} requests during the outage");
    assert!(during >= 2, "the walk met the outage: {during}");
}

#[tokio::test]
async fn a_progress_observer_hears_each_retry_of_a_wait_and_of_a_stream() {
    let server = MockServer::start_async().await;
    serve_an_outage_after_one_answer(&server, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = {
        let seen = seen.clone();
        move |progress: &openfunnel::Progress| {
            let retrying = progress
                .retrying
                .as_ref()
                .map(|retrying| (retrying.status, retrying.attempt, retrying.retry_in));
            seen.lock()
                .unwrap()
                .push((progress.status.to_string(), retrying));
        }
    };
    let policy = client.poll_policy().clone();
    lookalike_job(&client)
        .wait_with(&policy, record.clone())
        .await
        .unwrap();
    let retry = |attempt, ms| Some((Some(503), attempt, Some(Duration::from_millis(ms))));
    let expected = [
        ("running".to_string(), None),
        ("running".to_string(), retry(1, 200)),
        ("running".to_string(), retry(2, 400)),
        ("running".to_string(), retry(3, 800)),
        ("completed".to_string(), None),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);

    // A stream reports the same way.
    seen.lock().unwrap().clear();
    let server = MockServer::start_async().await;
    serve_an_outage_after_one_answer(&server, 3).await;
    let client = crate::common::client(&server, &timer);
    let rows: Vec<_> = lookalike_job(&client)
        .stream()
        .on_progress(record)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert!(rows.is_empty());
    assert_eq!(*seen.lock().unwrap(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_retry_is_paid_from_the_budget_and_only_later_ones_queue() {
    // Ten jobs through a 2 s outage, every retry reported: a request's first
    // retry never waits for a turn (the budget pays for it); later ones
    // take turns, and with ten jobs some wait behind another's probe.
    let sim = down_from_half_a_second_for_two(OutageAnswer::Status(503)).await;
    let client = sim_client(&sim, RetryBudget::default());
    let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for index in 0..10 {
        let search = LookalikeSearch::default()
            .query(format!("job {index}"))
            .limit(200);
        let job = client.lookalike().submit(search).await.unwrap();
        let reports = reports.clone();
        handles.push(tokio::spawn(async move {
            job.stream()
                .on_progress(move |progress: &openfunnel::Progress| {
                    if let Some(retrying) = &progress.retrying {
                        reports
                            .lock()
                            .unwrap()
                            .push((retrying.attempt, retrying.retry_in));
                    }
                })
                .rows()
                .try_collect::<Vec<_>>()
                .await
        }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap().expect("no job failed").len(), 200);
    }
    let reports = reports.lock().unwrap();
    assert!(
        reports
            .iter()
            .filter(|(attempt, _)| *attempt == 1)
            .all(|(_, retry_in)| retry_in.is_some()),
        "a first retry waited for a turn: {reports:?}"
    );
    assert!(
        reports
            .iter()
            .any(|(attempt, retry_in)| *attempt > 1 && retry_in.is_none()),
        "no later retry queued: {reports:?}"
    );
}

#[tokio::test]
async fn a_retry_after_a_timeout_costs_the_budget_twice_as_much() {
    // A bucket of 30 stops retries at 15: three 503s' retries would cost 5
    // each (two of them fit), a timed-out request's retry 10 (one fits).
    let server = MockServer::start_async().await;
    let slow = server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(200).delay(Duration::from_secs(2));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = builder(&server, &timer)
        .with_request_timeout(Duration::from_millis(100))
        .with_retry_budget(RetryBudget::default().with_capacity(30))
        .build()
        .unwrap();
    let error = lookalike_job(&client).poll().await.unwrap_err();
    assert!(matches!(error, Error::ServiceFailing { .. }), "{error:?}");
    slow.assert_calls_async(2).await;
}
