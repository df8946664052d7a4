//! The Rust SDK for [OpenFunnel](https://docs.openfunnel.dev)'s asynchronous
//! job API: submit a company search, wait for it, and stream every row exactly
//! once.
//!
//! # The problem it solves
//!
//! OpenFunnel runs long jobs (bulk lookalikes, tech-stack-with-intent). One
//! endpoint per kind returns a job's `status`, its `manifest` once done, and
//! one page of rows with a `next_cursor`. Two rules make that endpoint easy to
//! misuse:
//!
//! * **completion is `status`, never `next_cursor`**: a running job returns a
//!   null cursor simply because its next page is not written yet;
//! * **pages keep landing while the job runs**.
//!
//! This crate encodes both: [`Job::wait`] decides completion by status only,
//! and [`Job::rows`] yields each page as soon as it is written, polls again
//! when the next one is not there yet, and, once the job is complete, fetches
//! predictable pages ahead concurrently while still yielding rows in chain
//! order.
//!
//! # From submit to every row
//!
//! ```no_run
//! use futures_util::TryStreamExt;
//! use openfunnel::{Client, LookalikeSearch};
//!
//! # async fn example() -> Result<(), openfunnel::Error> {
//! let client = Client::from_env()?; // OPENFUNNEL_API_KEY, optional OPENFUNNEL_BASE_URL
//! let job = client
//!     .lookalike()
//!     .submit(LookalikeSearch::default().query("observability platforms").limit(10_000))
//!     .await?;
//! let mut rows = job.rows();
//! while let Some(row) = rows.try_next().await? {
//!     println!("{}\t{}", row.name.unwrap_or_default(), row.domain.unwrap_or_default());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Testing your code against the simulator
//!
//! [`openfunnel-sim`](https://docs.rs/openfunnel-sim) runs a stateful
//! OpenFunnel on loopback inside your test: jobs progress over time, pages
//! land one by one, and every open point of the spec (cursor formats,
//! manifest accuracy, error bodies, outages, page rhythms) can be varied.
//! Add it as a dev-dependency with `default-features = false` (its command
//! line is not needed), point a client at it, and assert on what your code
//! does:
//!
//! ```
//! use futures_util::TryStreamExt;
//! use openfunnel_sim::{Fault, JobProfile, JobType, SimConfig, Simulator};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A server that rate-limits every third poll.
//! let config = SimConfig::default().with_fault(Fault::RateLimit {
//!     every: 3,
//!     retry_after: Duration::from_secs(1),
//! });
//! let sim = Simulator::start_with(config).await?;
//! let job_id = sim.add_job(JobType::Lookalike, JobProfile::completed(250));
//! let client = openfunnel::Client::builder()
//!     .with_api_key("of_test") // the simulator accepts any key
//!     .with_base_url(sim.base_url())
//!     .build()?;
//! let rows: Vec<_> = client.lookalike().job(&job_id)?.rows().try_collect().await?;
//! assert_eq!(rows.len(), 250);
//! assert_eq!(sim.requests().submits, 0);
//! # Ok(())
//! # }
//! ```
//!
//! Runnable programs against it are in the repository's
//! `crates/openfunnel/examples/`.
//!
//! # Cargo features
//!
//! | feature | what it gives |
//! |---|---|
//! | `rustls` (default) | https through rustls on aws-lc-rs (a C build of `aws-lc-sys`, which needs cmake for some targets) |
//! | `rustls-ring` | https through rustls on *ring*: a smaller build that cross-compiles more easily |
//! | `native-tls` | https through the platform's TLS library (OpenSSL on Linux: needs its headers) |
//! | `schemars` | `schemars::JsonSchema` on the generated row and manifest types |
//!
//! To leave aws-lc out, turn the default off:
//! `openfunnel = { version = "0.1", default-features = false, features = ["rustls-ring"] }`.
//! When more than one TLS feature is enabled the choice is deterministic:
//! `native-tls`, then `rustls-ring`, then `rustls` ([`openfunnel_api::TLS_BACKEND`]
//! says which). With none, only a local simulator over plain `http` can be
//! reached, and an `https` base URL is refused when the client is built.
//! BENCHMARKS.md lists a fresh consumer crate's build time for each set.
//!
//! # Naming
//!
//! Settings of the SDK's own types (`ClientBuilder`, `PollPolicy`,
//! `RetryPolicy`, `Backoff`, `RetryBudget`, the stream builder) are
//! `with_*` methods, read back by a getter of the bare name. A search
//! request ([`LookalikeSearch`], [`TechIntentSearch`]) mirrors the API's
//! request body instead: one method per field, named as the field
//! (`query()`, `limit()`, `seed_domain()` for one entry of `seed_domains`),
//! and a `set_*` twin that takes an `Option` (or a list) for values that may
//! be absent, as a command-line flag is.
//!
//! # Pieces
//!
//! | what | where |
//! |---|---|
//! | configuration: key, base URL, timeouts, policies | [`Client`], [`ClientBuilder`] |
//! | submitting and opening jobs | [`Jobs::submit`], [`Jobs::job`] with [`LookalikeSearch`], [`TechIntentSearch`] |
//! | waiting, with progress | [`Job::wait`], [`Job::wait_with`], [`PollPolicy`], [`Progress`] |
//! | rows and pages as streams, resumable | [`Job::rows`], [`Job::pages`], [`Job::stream`], [`Checkpoint`] |
//! | how a stream ended | [`Rows::outcome`], [`StreamOutcome`] |
//! | cancelling (lookalike jobs only, checked by the compiler) | [`Job::cancel`] |
//! | retries of failed requests | [`RetryPolicy`], [`Backoff`] |
//! | everything that can go wrong | [`Error`] |
//!
//! # Guarantees
//!
//! Each guarantee below is tested; `RELIABILITY.md` in the repository names
//! the test of each one.
//!
#![doc = include_str!("../GUARANTEES.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod budget;
mod client;
mod context;
mod error;
mod error_body;
mod fetch;
mod job;
mod kind;
mod manifest;
mod outcome;
mod pacing;
mod page;
mod policy;
mod prefetch;
mod redact;
mod status;
mod stream;
mod timer;
mod transport;
mod validate;
mod waiting;
mod walk;

pub use budget::RetryBudget;
pub use client::{
    API_KEY_ENV, BASE_URL_ENV, Client, ClientBuilder, DEFAULT_BASE_URL,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_PAGE_CONCURRENCY,
};
pub use error::{Error, TimeLimit, ValidationIssue};
pub use error_body::{DecodeError, ErrorBody};
pub use job::{Job, Jobs};
pub use kind::lookalike::{
    Lookalike, LookalikeManifest, LookalikeRow, LookalikeSearch, MAX_LOOKALIKE_LIMIT,
    MAX_SEED_DOMAINS,
};
pub use kind::tech_intent::{
    MAX_TECH_INTENT_LIMIT, TECH_INTENT_CREDITS_PER_ROW, TechIntent, TechIntentManifest,
    TechIntentRow, TechIntentSearch,
};
pub use kind::{Acknowledgement, Cancellable, JobKind};
pub use manifest::{JobManifest, Manifest};
pub use outcome::{Cancellation, ManifestMismatch, Outcome, PartialRows, Progress, StreamOutcome};
pub use page::{Checkpoint, Page};
pub use policy::{Backoff, Jitter, Pacing, PollPolicy, RetryPolicy};
pub use status::JobStatus;
pub use stream::{Pages, Rows, StreamBuilder};
pub use timer::{Sleep, Timer, TokioTimer};
pub use transport::Retrying;

/// The generated raw client, for operations and types this crate does not wrap.
pub use openfunnel_api as raw;
