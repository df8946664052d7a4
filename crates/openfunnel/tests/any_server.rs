//! Every row exactly once on any server the spec allows. The spec leaves the
//! cursor format, the manifest's accuracy and the status of an unknown cursor
//! open; each test below names the choice it makes for each, and the choices
//! differ from test to test (the property test in `delivery.rs` draws them).
//! httpmock answers any request it has no mock for with 404, so a guessed
//! cursor the server never issued meets a 404 unless a test says otherwise.

mod common;

use common::*;
use futures_util::TryStreamExt;
use httpmock::prelude::*;
use openfunnel::{Lookalike, StreamOutcome};

/// Reads every row of the fixture job with `concurrency`; the rows' names
/// and how the stream ended.
async fn read_all(
    client: &openfunnel::Client,
    concurrency: usize,
) -> (Vec<String>, StreamOutcome<Lookalike>) {
    let mut rows = lookalike_job(client)
        .stream()
        .with_concurrency(concurrency)
        .rows();
    let mut names = Vec::new();
    while let Some(row) = rows.try_next().await.expect("every row arrives") {
        names.push(row.name.unwrap_or_default());
    }
    let outcome = rows
        .outcome()
        .cloned()
        .expect("a completed stream has an outcome");
    assert_eq!(
        outcome.rows,
        names.len() as u64,
        "the outcome counts the rows"
    );
    (names, outcome)
}

fn link<'a>(cursor: Option<&'a str>, name: &'a str, first_row: u32) -> Link<'a> {
    Link {
        cursor,
        name: Some(name),
        rows: first_row..first_row + 2,
    }
}

#[tokio::test]
async fn opaque_cursors_with_slashes_plus_equals_and_spaces_are_sent_back_byte_for_byte() {
    // Cursors: opaque, with `/`, `+`, `=`, spaces and query syntax; names equal
    // cursors. Manifest: exact. Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "first", 0),
        link(Some("c/1+A= z"), "c/1+A= z", 2),
        link(Some("eyJvIjoyfQ=="), "eyJvIjoyfQ==", 4),
        link(Some("a b/c+d=e?f#g&h=%20"), "a b/c+d=e?f#g&h=%20", 6),
    ];
    let mocks = serve_chain(&server, &links, 4).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for concurrency in [1, 8] {
        let (names, outcome) = read_all(&client, concurrency).await;
        assert_eq!(names, chain_names(&links), "concurrency {concurrency}");
        assert_eq!(outcome.manifest_mismatch, None);
        assert_eq!(outcome.discarded_prefetches, 0, "nothing to predict");
    }
    assert_eq!(calls(&mocks).await, 8, "one request per page per walk");
    let page = lookalike_job(&client)
        .page(Some("a b/c+d=e?f#g&h=%20"))
        .await
        .expect("an opaque cursor is usable by hand too");
    assert_eq!(page.name.as_deref(), Some("a b/c+d=e?f#g&h=%20"));
}

#[tokio::test]
async fn page_names_need_not_equal_their_cursors() {
    // Cursors: `page_NNNN`; names: unrelated, with their own trailing digits
    // (`cd1`). Manifest: exact. Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "results-7", 0),
        link(Some("page_0001"), "batch B", 2),
        link(Some("page_0002"), "cd1", 4),
    ];
    serve_chain(&server, &links, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for concurrency in [1, 8] {
        let (names, outcome) = read_all(&client, concurrency).await;
        assert_eq!(names, chain_names(&links), "concurrency {concurrency}");
        assert_eq!(outcome.manifest_mismatch, None, "no false gap");
        assert_eq!(outcome.pages, 3);
    }
}

#[tokio::test]
async fn cursors_whose_numbers_skip_are_followed_and_wrong_guesses_discarded() {
    // Cursors: numbers with irregular steps; names equal cursors. Manifest:
    // exact. Unknown cursor: 404 (every wrong guess meets one).
    let server = MockServer::start_async().await;
    let links = [
        link(None, "p0", 0),
        link(Some("p10"), "p10", 2),
        link(Some("p22"), "p22", 4),
        link(Some("p29"), "p29", 6),
        link(Some("p41"), "p41", 8),
        link(Some("p48"), "p48", 10),
    ];
    serve_chain(&server, &links, 6).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert!(
        outcome.discarded_prefetches > 0,
        "guesses were made and thrown away: {outcome:?}"
    );
    assert_eq!(outcome.manifest_mismatch, None);
}

#[tokio::test]
async fn a_predicted_cursor_answered_400_404_or_422_is_discarded_and_the_chain_followed() {
    // Cursors: predictable at first (`page_0000` → `page_0001`), then opaque.
    // Manifest: exact. Unknown cursor: each documented status in turn.
    for status in [400, 404, 422] {
        let server = MockServer::start_async().await;
        let links = [
            link(None, "page_0000", 0),
            link(Some("page_0001"), "page_0001", 2),
            link(Some("page_0002"), "page_0002", 4),
            link(Some("tok-d"), "tok-d", 6),
        ];
        // page_0002 answers slowly, so the guesses after it reach the server
        // while the walk waits for it.
        let mut slow = page("completed", Some("page_0002"), Some("tok-d"), rows(4..6));
        slow.manifest = Some(
            serde_json::from_value(serde_json::json!({"pages": 4, "partial": false})).unwrap(),
        );
        server
            .mock_async(|when, then| {
                when.method(GET)
                    .path(LOOKALIKE_PATH)
                    .query_param("cursor", "page_0002");
                then.status(200)
                    .delay(std::time::Duration::from_millis(200))
                    .json_body_obj(&slow);
            })
            .await;
        serve_chain(&server, &links, 4).await;
        let body = if status == 422 {
            serde_json::json!({"detail": [{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "value_error"}]})
        } else {
            serde_json::json!({"detail": "Unknown cursor"})
        };
        let refused = server
            .mock_async(|when, then| {
                when.method(GET)
                    .path(LOOKALIKE_PATH)
                    .query_param_exists("cursor");
                then.status(status).json_body(body);
            })
            .await;
        let timer = VirtualTimer::new();
        let client = client(&server, &timer);
        let (names, outcome) = read_all(&client, 8).await;
        assert_eq!(names, chain_names(&links), "HTTP {status}");
        assert!(
            refused.calls_async().await >= 1,
            "HTTP {status}: a guess was tried"
        );
        assert!(
            outcome.discarded_prefetches >= 1,
            "HTTP {status}: {outcome:?}"
        );
        assert!(
            timer.sleeps().is_empty(),
            "HTTP {status}: a refused guess is not retried"
        );
    }
}

#[tokio::test]
async fn a_manifest_listing_fewer_pages_than_the_chain_loses_no_row() {
    // Cursors: `page_NNNN`, names equal. Manifest: 3 of 5 pages. Unknown: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        link(Some("page_0002"), "page_0002", 4),
        link(Some("page_0003"), "page_0003", 6),
        link(Some("page_0004"), "page_0004", 8),
    ];
    serve_chain(&server, &links, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for concurrency in [1, 8] {
        let (names, outcome) = read_all(&client, concurrency).await;
        assert_eq!(names, chain_names(&links), "concurrency {concurrency}");
        let mismatch = outcome.manifest_mismatch.expect("the mismatch is reported");
        assert_eq!((mismatch.manifest_pages, mismatch.chain_pages), (3, 5));
        assert!(
            mismatch
                .to_string()
                .contains("lists 3 pages, the next_cursor chain held 5")
        );
    }
}

#[tokio::test]
async fn a_manifest_listing_more_pages_than_the_chain_ends_with_the_chain() {
    // Cursors: `page_NNNN`. Manifest: 5 pages, the chain holds 2. Unknown: 400.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
    ];
    serve_chain(&server, &links, 5).await;
    server
        .mock_async(|when, then| {
            when.method(GET).path(LOOKALIKE_PATH);
            then.status(400)
                .json_body(serde_json::json!({"detail": "Unknown cursor"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for concurrency in [1, 8] {
        let (names, outcome) = read_all(&client, concurrency).await;
        assert_eq!(names, chain_names(&links), "concurrency {concurrency}");
        assert_eq!(
            outcome
                .manifest_mismatch
                .map(|m| (m.manifest_pages, m.chain_pages)),
            Some((5, 2)),
            "concurrency {concurrency}"
        );
    }
}

#[tokio::test]
async fn an_absurd_manifest_page_count_neither_panics_nor_floods_the_server() {
    // Cursors: `page_NNNN`. Manifest: 2^63 - 1 pages. Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        link(Some("page_0002"), "page_0002", 4),
    ];
    let mut mocks = serve_chain(&server, &links, i64::MAX).await;
    mocks.push(
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(404)
                    .json_body(serde_json::json!({"detail": "Not Found"}));
            })
            .await,
    );
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert_eq!(
        outcome.manifest_mismatch.map(|m| m.manifest_pages),
        Some(i64::MAX)
    );
    let requests = calls(&mocks).await;
    assert!(
        requests <= links.len() + 8 * 2,
        "requests bounded by the window, not the manifest: {requests}"
    );
}

#[tokio::test]
async fn a_guessed_page_that_exists_off_the_chain_is_never_delivered() {
    // Cursors: `page_NNNN`, but the chain skips `page_0002`, which the server
    // still answers with rows (an older chain, an offset-style cursor...).
    // Manifest: exact for the chain (3). Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        link(Some("page_0003"), "page_0003", 4),
    ];
    let off_chain = serve(
        &server,
        Some("page_0002"),
        terminal(
            "completed",
            Some("page_0002"),
            Some("page_0003"),
            rows(100..102),
            3,
        ),
        None,
    )
    .await;
    serve_chain(&server, &links, 4).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links), "only the chain's rows");
    assert!(off_chain.calls_async().await <= 1);
    assert!(outcome.discarded_prefetches >= 1, "{outcome:?}");
}

#[tokio::test]
async fn an_exact_manifest_means_no_request_past_the_last_page() {
    // Cursors: `page_NNNN`. Manifest: exact (4). Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        link(Some("page_0002"), "page_0002", 4),
        link(Some("page_0003"), "page_0003", 6),
    ];
    let mut mocks = serve_chain(&server, &links, 4).await;
    mocks.push(
        server
            .mock_async(|when, then| {
                when.any_request();
                then.status(404)
                    .json_body(serde_json::json!({"detail": "Not Found"}));
            })
            .await,
    );
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert_eq!(calls(&mocks).await, 4, "the manifest sized the window");
    assert_eq!(outcome.discarded_prefetches, 0);
}

#[tokio::test]
async fn an_empty_last_page_with_a_name_is_a_page_of_the_chain() {
    // Cursors: `page_NNNN`. Manifest: exact, counting the empty last page.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        Link {
            cursor: Some("page_0002"),
            name: Some("page_0002"),
            rows: 4..4,
        },
    ];
    serve_chain(&server, &links, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert_eq!(outcome.manifest_mismatch, None, "{outcome:?}");
}

#[tokio::test]
async fn a_guess_that_failed_but_was_right_is_fetched_again() {
    // Cursors: `page_NNNN`. The first request for page_0002 (a guess) meets
    // a 404; the chain then names page_0002, which answers. Manifest: exact.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "page_0000", 0),
        link(Some("page_0001"), "page_0001", 2),
        link(Some("page_0002"), "page_0002", 4),
    ];
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path(LOOKALIKE_PATH)
                .query_param("cursor", "page_0002");
            then.status(404)
                .json_body(serde_json::json!({"detail": "Not Found"}))
                .up_to_n_times(1);
        })
        .await;
    let mocks = serve_chain(&server, &links, 3).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert_eq!(outcome.discarded_prefetches, 1, "{outcome:?}");
    assert_eq!(calls(&mocks[2..]).await, 1, "fetched again, directly");
}

#[tokio::test]
async fn the_chains_own_cursor_answered_404_is_one_request_and_a_clear_error() {
    // Cursors: opaque. The terminal chain names `gone`, which answers 404.
    let server = MockServer::start_async().await;
    let mut first = page("completed", Some("first"), Some("gone"), rows(0..2));
    first.manifest =
        Some(serde_json::from_value(serde_json::json!({"pages": 2, "partial": false})).unwrap());
    serve(&server, None, first, None).await;
    let gone = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(LOOKALIKE_PATH)
                .query_param("cursor", "gone");
            then.status(404)
                .json_body(serde_json::json!({"detail": "Not Found"}));
        })
        .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(names(&partial.rows), expected_names(0..2));
    assert_eq!(partial.error.status(), Some(404), "{}", partial.error);
    gone.assert_calls_async(1).await;
}

#[tokio::test]
async fn guessing_stops_after_sixteen_misses_in_a_row() {
    // Cursors: numbers whose step grows by one each page, so a guess from the
    // last step is always wrong. Manifest: exact. Unknown cursor: 404.
    let server = MockServer::start_async().await;
    let cursors: Vec<String> = (0..30u32)
        .map(|i| format!("n{}", 10 * i + i * (i + 1) / 2))
        .collect();
    let links: Vec<Link<'_>> = cursors
        .iter()
        .enumerate()
        .map(|(i, cursor)| {
            let first = i as u32 * 2;
            Link {
                cursor: (i > 0).then_some(cursor.as_str()),
                name: Some(cursor.as_str()),
                rows: first..first + 2,
            }
        })
        .collect();
    serve_chain(&server, &links, 30).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let (names, outcome) = read_all(&client, 8).await;
    assert_eq!(names, chain_names(&links));
    assert!(
        (16..=16 + 8).contains(&outcome.discarded_prefetches),
        "gave up after 16 misses in a row: {outcome:?}"
    );
}

#[tokio::test]
async fn at_most_concurrency_requests_are_in_flight() {
    use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
    let sim = Simulator::start_with(
        SimConfig::default().with_latency(std::time::Duration::from_millis(30)),
    )
    .await
    .unwrap();
    let id = sim.add_job(JobType::Lookalike, JobProfile::completed(2_000));
    let client = openfunnel::Client::builder()
        .with_api_key(KEY)
        .with_base_url(sim.base_url())
        .build()
        .unwrap();
    let rows: Vec<_> = client
        .lookalike()
        .job(id)
        .unwrap()
        .stream()
        .with_concurrency(4)
        .rows()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2_000);
    let peak = sim.requests().peak_in_flight;
    assert!((2..=4).contains(&peak), "peak in flight {peak}");
}

#[tokio::test]
async fn a_completed_job_without_a_manifest_is_read_to_the_end_of_its_chain() {
    // Cursors: skipping numbers (`n0`, `n3`, `n9`). Manifest: absent (the
    // spec promises one once complete; a server may still leave it out).
    // Unknown cursor: httpmock's 404.
    let server = MockServer::start_async().await;
    let links = [
        link(None, "n0", 0),
        link(Some("n3"), "n3", 2),
        link(Some("n9"), "n9", 4),
    ];
    for (index, link) in links.iter().enumerate() {
        let next = links.get(index + 1).and_then(|next| next.cursor);
        let body = page("completed", link.name, next, rows(link.rows.clone()));
        assert!(body.manifest.is_none());
        serve(&server, link.cursor, body, None).await;
    }
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    for concurrency in [1, 8] {
        let (names, outcome) = read_all(&client, concurrency).await;
        assert_eq!(names, chain_names(&links), "concurrency {concurrency}");
        assert!(outcome.manifest.is_none());
        assert_eq!(outcome.manifest_mismatch, None, "nothing to compare with");
        assert_eq!(outcome.pages, 3);
    }
}

/// A running job whose first page is read with 1 row, then 4, then 4 with
/// its next_cursor `tok-1`, which leads to the last page (2 rows).
async fn serve_a_growing_first_page(server: &MockServer) {
    let reads = [(0..1, None), (0..4, None), (0..4, Some("tok-1"))];
    for (index, (range, next)) in reads.into_iter().enumerate() {
        let times = (index < 2).then_some(1);
        serve(
            server,
            None,
            page("running", Some("a"), next, rows(range)),
            times,
        )
        .await;
    }
    let last = terminal("completed", Some("b"), None, rows(4..6), 2);
    serve(server, Some("tok-1"), last, None).await;
}

#[tokio::test]
async fn a_page_that_grows_while_the_job_runs_delivers_its_new_rows_once() {
    // Cursors: opaque (`tok-1`). Manifest: exact. Pages: the first one grows
    // (the spec does not promise a page is complete when first read).
    let server = MockServer::start_async().await;
    serve_a_growing_first_page(&server).await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);

    let mut stream = lookalike_job(&client).rows();
    let mut names = Vec::new();
    let mut checkpoints = Vec::new();
    while let Some(row) = stream.try_next().await.expect("every row") {
        names.push(row.name.unwrap_or_default());
        checkpoints.push(stream.checkpoint());
    }
    assert_eq!(names, expected_names(0..6));
    let outcome = stream.outcome().expect("the stream ended");
    assert_eq!(
        (outcome.rows, outcome.pages),
        (6, 2),
        "a grown page is one page"
    );
    assert_eq!(outcome.manifest_mismatch, None);
    // The checkpoint after the first read of the page points into it.
    assert_eq!(checkpoints[0].cursor(), None);
    assert_eq!(checkpoints[0].rows_delivered(), 1);
    assert_eq!(checkpoints[3].rows_delivered(), 4);

    // Resuming where the first read of the page stopped delivers the rest once.
    let rest: Vec<String> = lookalike_job(&client)
        .stream()
        .resume_from(checkpoints[0].clone())
        .rows()
        .collect_all()
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.name.unwrap_or_default())
        .collect();
    assert_eq!(rest, expected_names(1..6));

    // As pages: the grown page comes again with only its new rows.
    let server = MockServer::start_async().await;
    serve_a_growing_first_page(&server).await;
    let again = common::client(&server, &timer);
    let pages: Vec<_> = lookalike_job(&again).pages().try_collect().await.unwrap();
    let shape: Vec<(usize, usize)> = pages
        .iter()
        .map(|page| (page.skipped_rows(), page.rows.len()))
        .collect();
    assert_eq!(shape, [(0, 1), (1, 3), (0, 2)]);
    let cursors: Vec<Option<&str>> = pages.iter().map(|page| page.cursor()).collect();
    assert_eq!(cursors, [None, None, Some("tok-1")]);
}

#[tokio::test]
async fn a_page_that_shrinks_stops_the_stream_after_the_rows_delivered() {
    // Cursors: none needed. The first page is read with 3 rows, then 1.
    let server = MockServer::start_async().await;
    serve(
        &server,
        None,
        page("running", Some("a"), None, rows(0..3)),
        Some(1),
    )
    .await;
    serve(
        &server,
        None,
        page("running", Some("a"), None, rows(0..1)),
        None,
    )
    .await;
    let timer = VirtualTimer::new();
    let client = client(&server, &timer);
    let partial = lookalike_job(&client)
        .rows()
        .collect_all()
        .await
        .unwrap_err();
    assert_eq!(names(&partial.rows), expected_names(0..3));
    assert!(
        matches!(partial.error, openfunnel::Error::InconsistentPages { .. }),
        "{:?}",
        partial.error
    );
    assert!(
        partial
            .error
            .to_string()
            .contains("held 3 rows and now holds 1"),
        "{}",
        partial.error
    );
}

#[tokio::test]
async fn an_empty_page_of_a_running_job_does_not_hold_back_the_pages_after_it() {
    // Cursors: `c1`, `c2`. The job runs throughout; its page `c1` is empty
    // (every candidate filtered out) but linked. The rows of `c2` must arrive
    // while the job runs, not when it ends — with page names and without
    // (the spec makes `page` optional).
    for named in [true, false] {
        let name = |n: &'static str| named.then_some(n);
        let server = MockServer::start_async().await;
        let first = page("running", name("p0"), Some("c1"), rows(0..2));
        serve(&server, None, first, None).await;
        let empty = page("running", name("p1"), Some("c2"), vec![]);
        serve(&server, Some("c1"), empty, None).await;
        let newest = page("running", name("p2"), None, rows(2..4));
        serve(&server, Some("c2"), newest, None).await;
        let timer = VirtualTimer::new();
        let client = builder(&server, &timer)
            .with_poll_policy(exact_policy().with_deadline(std::time::Duration::from_secs(60)))
            .build()
            .unwrap();
        let mut stream = lookalike_job(&client).rows();
        let mut names = Vec::new();
        for _ in 0..4 {
            let row = stream.try_next().await.expect("a row while the job runs");
            names.push(row.and_then(|row| row.name).unwrap_or_default());
        }
        assert_eq!(names, expected_names(0..4), "named pages: {named}");
    }
}
