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
    assert!(submitted["job_id"].is_string(), "{submitted}");
    let _ = child.kill();
    let _ = child.wait();

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_openfunnel-sim"))
        .args(["--port", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--port takes a whole number"));
}
