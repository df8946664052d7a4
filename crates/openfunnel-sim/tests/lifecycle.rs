//! The simulator as a process and as a value: the binary prints its base URL
//! and serves; a dropped `Simulator` stops listening.

use std::io::BufRead;
use std::time::Duration;

#[tokio::test]
async fn a_dropped_simulator_stops_serving() {
    let sim = openfunnel_sim::Simulator::start().await.unwrap();
    let url = format!(
        "{}/api/v1/account/search-lookalikes-bulk/nope",
        sim.base_url()
    );
    let http = reqwest::Client::new();
    let answer = http
        .get(&url)
        .header("x-api-key", "of_x")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    drop(sim);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        http.get(&url).send().await.is_err(),
        "still serving after drop"
    );
}

#[test]
fn the_binary_prints_its_base_url_and_serves() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel-sim"))
        .args([
            "--port",
            "0",
            "--rows",
            "150",
            "--run-ms",
            "0",
            "--pending-ms",
            "0",
            "--page-size",
            "50",
            "--cursors",
            "opaque",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base_url = line.trim().to_string();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url:?}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let submitted: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{base_url}/api/v1/account/search-lookalikes-bulk"))
            .header("x-api-key", "of_x")
            .json(&serde_json::json!({"query": "APM", "limit": 150}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let job_id = submitted["job_id"].as_str().expect("a job id").to_string();
    // The profile given on the command line shapes the job: 150 rows in
    // pages of 50, opaque cursors.
    let first: serde_json::Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{base_url}/api/v1/account/search-lookalikes-bulk/{job_id}"
            ))
            .header("x-api-key", "of_x")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(first["rows"].as_array().map(Vec::len), Some(50), "{first}");
    let next = first["next_cursor"].as_str().unwrap_or_default();
    assert!(!next.starts_with("page_"), "an opaque cursor: {next:?}");
    let _ = child.kill();
    let _ = child.wait();

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel-sim"))
        .args(["--port", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("invalid value 'x' for '--port"), "{stderr}");
}
