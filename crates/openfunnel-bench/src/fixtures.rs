//! Set-up shared by the scenarios.

use openfunnel_sim::JobProfile;
use std::time::Duration;

/// A client builder for the simulator at `base_url` (any key is accepted).
pub fn client(base_url: &str) -> openfunnel::ClientBuilder {
    openfunnel::Client::builder()
        .with_api_key("of_bench")
        .with_base_url(base_url)
}

/// A job that starts at once and writes `rows` rows evenly over `run_time`.
pub fn steady_job(rows: u32, run_time: Duration) -> JobProfile {
    JobProfile::default()
        .with_rows(rows)
        .with_pending_for(Duration::ZERO)
        .with_run_time(run_time)
}
