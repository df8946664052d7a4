//! A stateful simulator of OpenFunnel's job API, like stripe-mock for Stripe:
//! a real HTTP server on loopback that implements the five operations of the
//! vendored spec, with jobs that progress over time.
//!
//! * A job goes `pending` → `running` → `completed`, writing its pages one by
//!   one while it runs (the newest page has `next_cursor: null` until the next
//!   one lands), with `processed` and `progress_message` advancing and the
//!   manifest filled in at the end.
//! * A cancel moves a lookalike job through `cancelling` to `cancelled` with a
//!   partial manifest; a profile can make a job fail after N pages.
//! * Faults on demand: 429 with `Retry-After`, 5xx bursts, truncated bodies,
//!   dropped connections ([`Fault`]).
//! * What the spec leaves open, per job profile: the cursor scheme
//!   ([`CursorScheme`]: `page_NNNN`, opaque, skipping numbers, names unrelated
//!   to cursors, 600-byte tokens), the manifest's accuracy
//!   ([`ManifestAccuracy`]), the status for an unknown cursor (400, 404 or
//!   422), fields and a status the spec does not document ([`Vocabulary`]),
//!   and pages that grow while the job runs ([`PageWrites`]).
//! * Rows are deterministic for a seed and realistic (names, domains,
//!   firmographics, intent reasons), generated on the fly: a job of a million
//!   rows costs no memory.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use openfunnel_sim::{JobType, JobProfile, Simulator};
//!
//! let sim = Simulator::start().await?;                      // an ephemeral loopback port
//! let job_id = sim.add_job(JobType::Lookalike, JobProfile::completed(2_500));
//! println!("{}/api/v1/account/search-lookalikes-bulk/{job_id}", sim.base_url());
//! // The server stops when `sim` is dropped.
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod conformance;
mod faults;
mod rows;
mod server;
#[rustfmt::skip]
mod spec;
mod timeline;
mod variations;

pub use faults::{Fault, OutageAnswer, PollFault};
pub use server::RequestCounts;
pub use timeline::{Ending, JobProfile, Rhythm, Schedule};
pub use variations::{
    CursorScheme, ManifestAccuracy, PageWrites, Processed, Vocabulary, unknown_cursor_body,
};

use server::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The two job kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobType {
    /// Bulk lookalikes (`/api/v1/account/search-lookalikes-bulk`).
    Lookalike,
    /// Tech stack with intent (`/api/v2/tech/companies/intent-search`).
    TechIntent,
}

/// What a simulated job's time is measured in.
///
/// ```
/// use openfunnel_sim::{Clock, SimConfig};
/// use std::time::Duration;
/// // Every request served moves every job's clock 1 ms forward.
/// let config = SimConfig::default().with_clock(Clock::PerRequest(Duration::from_millis(1)));
/// # let _ = config;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clock {
    /// Real time since the job was submitted.
    #[default]
    WallTime,
    /// Requests served since the job was submitted, each worth this long:
    /// a test decides exactly what the job looks like at each request,
    /// whatever its own pace.
    PerRequest(Duration),
}

/// How the simulator behaves.
///
/// ```
/// use openfunnel_sim::{JobProfile, SimConfig};
/// use std::time::Duration;
///
/// let config = SimConfig::default()
///     .with_profile(JobProfile::default().with_run_time(Duration::from_secs(1)))
///     .with_latency(Duration::from_millis(50))
///     .with_seed(7);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SimConfig {
    /// The profile of submitted jobs.
    pub profile: JobProfile,
    /// Added to every request before it is answered.
    pub latency: Duration,
    /// Faults injected into polls.
    pub faults: Vec<Fault>,
    /// Seeds job ids and rows.
    pub seed: u64,
    /// When set, any other key gets 401; when unset, any key is accepted.
    pub api_key: Option<String>,
    /// What jobs' time is measured in.
    pub clock: Clock,
    /// Whether poll responses are gzip-compressed for a client that sends
    /// `Accept-Encoding: gzip` (the spec says nothing either way).
    pub gzip: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            profile: JobProfile::default(),
            latency: Duration::ZERO,
            faults: Vec::new(),
            seed: 0x0F_F0_0F,
            api_key: None,
            clock: Clock::WallTime,
            gzip: false,
        }
    }
}

impl SimConfig {
    /// Sets the profile of submitted jobs.
    ///
    /// ```
    /// let config = openfunnel_sim::SimConfig::default().with_profile(openfunnel_sim::JobProfile::completed(10));
    /// # let _ = config;
    /// ```
    pub fn with_profile(mut self, profile: JobProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Sets the latency of every request.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = openfunnel_sim::SimConfig::default().with_latency(Duration::from_millis(50));
    /// # let _ = config;
    /// ```
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Adds a fault.
    ///
    /// ```
    /// let config = openfunnel_sim::SimConfig::default()
    ///     .with_fault(openfunnel_sim::Fault::TruncatedBody { every: 7 });
    /// # let _ = config;
    /// ```
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    /// Sets the seed.
    ///
    /// ```
    /// let config = openfunnel_sim::SimConfig::default().with_seed(1);
    /// # let _ = config;
    /// ```
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets what jobs' time is measured in.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Compresses poll responses with gzip for clients that accept it
    /// (`Accept-Encoding: gzip`), faults' bodies included: a
    /// [`Fault::Body`] of many megabytes then crosses the wire in a few
    /// kilobytes, as a compression bomb would.
    ///
    /// ```
    /// let config = openfunnel_sim::SimConfig::default().with_gzip(true);
    /// assert!(config.gzip);
    /// ```
    pub fn with_gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }

    /// Accepts only this key (others get 401).
    ///
    /// ```
    /// let config = openfunnel_sim::SimConfig::default().with_api_key("of_sim");
    /// # let _ = config;
    /// ```
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Simulator {
    base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts a simulator with the default configuration on an ephemeral
    /// loopback port. Needs a Tokio runtime.
    ///
    /// ```no_run
    /// # async fn example() -> std::io::Result<()> {
    /// let sim = openfunnel_sim::Simulator::start().await?;
    /// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start() -> std::io::Result<Simulator> {
        Simulator::start_with(SimConfig::default()).await
    }

    /// Starts a simulator with `config` on an ephemeral loopback port.
    ///
    /// ```no_run
    /// # async fn example() -> std::io::Result<()> {
    /// let sim = openfunnel_sim::Simulator::start_with(openfunnel_sim::SimConfig::default().with_seed(3)).await?;
    /// # let _ = sim;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_with(config: SimConfig) -> std::io::Result<Simulator> {
        Simulator::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a simulator on `address` (port 0: any free port).
    ///
    /// ```no_run
    /// # async fn example() -> std::io::Result<()> {
    /// let address = std::net::SocketAddr::from(([127, 0, 0, 1], 8787));
    /// let sim = openfunnel_sim::Simulator::bind(address, Default::default()).await?;
    /// # let _ = sim;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind(address: SocketAddr, config: SimConfig) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = server::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("openfunnel-sim: server stopped: {error}");
            }
        });
        Ok(Simulator {
            base_url: format!("http://{local}"),
            shared,
            task,
        })
    }

    /// The base URL to point a client at, e.g. `http://127.0.0.1:41234`.
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator) {
    /// let client = openfunnel::Client::builder().with_api_key("of_sim").with_base_url(sim.base_url()).build();
    /// # let _ = client;
    /// # }
    /// ```
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Creates a job as if it had just been submitted, with its own profile
    /// (e.g. [`JobProfile::completed`] for an export benchmark).
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator) {
    /// use openfunnel_sim::{JobType, JobProfile};
    /// let id = sim.add_job(JobType::TechIntent, JobProfile::completed(50));
    /// # let _ = id;
    /// # }
    /// ```
    pub fn add_job(&self, kind: JobType, profile: JobProfile) -> String {
        let rows = profile.rows.unwrap_or(100);
        let job = self.shared.new_job(kind, rows, Some(profile));
        self.shared.insert(job)
    }

    /// Every row of the pages job `job_id` ends with (or has, for a job that
    /// never ends), in order, as the server sends them: what a client must
    /// deliver, each once.
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator) {
    /// let id = sim.add_job(openfunnel_sim::JobType::Lookalike, openfunnel_sim::JobProfile::completed(250));
    /// assert_eq!(sim.final_rows(&id).map(|rows| rows.len()), Some(250));
    /// # }
    /// ```
    pub fn final_rows(&self, job_id: &str) -> Option<Vec<serde_json::Value>> {
        let job = self.shared.jobs_lock().get(job_id).cloned()?;
        Some(server::final_rows(&job))
    }

    /// Requests served so far, by operation.
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator) {
    /// println!("{} polls", sim.requests().polls);
    /// # }
    /// ```
    pub fn requests(&self) -> RequestCounts {
        self.shared.counts()
    }

    /// Polls answered about job `job_id` (faulted ones included, those an
    /// outage answered not: see [`Simulator::outage_requests`]; 0 for a job
    /// the simulator does not know).
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator, job_id: &str) {
    /// println!("{} polls", sim.polls_of(job_id));
    /// # }
    /// ```
    pub fn polls_of(&self, job_id: &str) -> u64 {
        self.shared
            .jobs_lock()
            .get(job_id)
            .map_or(0, |job| job.polls)
    }

    /// Requests about job `job_id` (polls and cancels; `""`: submits) that
    /// an outage ([`Fault::Outage`]) answered.
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator) {
    /// println!("{} submits met the outage", sim.outage_requests(""));
    /// # }
    /// ```
    pub fn outage_requests(&self, job_id: &str) -> u64 {
        let hits = self
            .shared
            .outage_hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hits.get(job_id).map_or(0, |job| job.requests)
    }

    /// When (time since the simulator started) the first request about job
    /// `job_id` after the ones an outage answered was let through: how soon
    /// a client came back once the service did. `None` while the job met no
    /// outage, or has not come back yet.
    ///
    /// ```no_run
    /// # async fn example(sim: openfunnel_sim::Simulator, job_id: &str) {
    /// if let Some(at) = sim.first_answer_after_outage(job_id) {
    ///     println!("back at {at:?}");
    /// }
    /// # }
    /// ```
    pub fn first_answer_after_outage(&self, job_id: &str) -> Option<std::time::Duration> {
        let hits = self
            .shared
            .outage_hits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hits.get(job_id).and_then(|job| job.first_answer_after)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}
