//! The pacing of polls while a job runs: backoff with jitter under the
//! [`PollPolicy`]'s deadline, and the [`Progress`] reported after each poll.

use crate::client::Client;
use crate::error::Error;
use crate::kind::JobKind;
use crate::page::Page;
use crate::policy::PollPolicy;
use crate::raw_shapes::JobManifest;
use crate::status::JobStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a progress observer sees after each poll.
///
/// ```
/// fn render(progress: &openfunnel::Progress) -> String {
///     format!("{} {} rows, {} pages, {:.0?}", progress.status, progress.rows, progress.pages, progress.elapsed)
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Progress {
    /// The job.
    pub job_id: String,
    /// The status of the last response.
    pub status: JobStatus,
    /// Companies delivered so far, as the server counts them (lookalike jobs).
    pub processed: Option<i64>,
    /// A coarse stage label, e.g. `qualifying_companies` (lookalike jobs).
    pub stage: Option<String>,
    /// Pages the manifest says exist, once the job is terminal. An estimate
    /// for a progress bar: the walk itself follows `next_cursor` to the end.
    pub total_pages: Option<i64>,
    /// Pages delivered to the caller so far (row streams only).
    pub pages: u64,
    /// Rows delivered to the caller so far (row streams only).
    pub rows: u64,
    /// Requests made.
    pub polls: u32,
    /// Time since waiting started.
    pub elapsed: Duration,
}

/// Backoff between polls of a job that has nothing new yet, under the
/// policy's deadline.
pub(crate) struct Waiting {
    client: Client,
    job_id: Arc<str>,
    policy: PollPolicy,
    started: Instant,
    step: u32,
    pub(crate) polls: u32,
    last_status: Option<JobStatus>,
}

impl Waiting {
    pub(crate) fn new(client: Client, job_id: Arc<str>, policy: PollPolicy) -> Self {
        let started = client.inner().transport.timer.now();
        Waiting {
            client,
            job_id,
            policy,
            started,
            step: 0,
            polls: 0,
            last_status: None,
        }
    }

    /// Records a response. A status OpenFunnel does not document for this
    /// kind is warned about once each time the job enters it, not on every
    /// poll (a job may sit in a new status for a long time).
    pub(crate) fn observed<K: JobKind>(&mut self, page: &Page<K>) {
        self.polls += 1;
        let status = page.status.as_str();
        if !K::STATUSES.contains(&status)
            && self.last_status.as_ref().map(JobStatus::as_str) != Some(status)
        {
            let status = self.client.scrub_text(status);
            tracing::warn!(job_id = %self.job_id, status = %status, kind = K::NAME, "undocumented job status; treated as not terminal");
        }
        self.last_status = Some(page.status.clone());
    }

    /// Something new arrived: the next wait starts short again.
    pub(crate) fn reset(&mut self) {
        self.step = 0;
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.client
            .inner()
            .transport
            .timer
            .now()
            .saturating_duration_since(self.started)
    }

    pub(crate) fn progress<K: JobKind>(&self, page: &Page<K>, pages: u64, rows: u64) -> Progress {
        Progress {
            job_id: self.job_id.to_string(),
            status: page.status.clone(),
            processed: page.processed,
            stage: page.progress_message.clone(),
            total_pages: page.manifest.as_ref().and_then(JobManifest::pages),
            pages,
            rows,
            polls: self.polls,
            elapsed: self.elapsed(),
        }
    }

    /// When the wait must end, if it has a deadline.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.policy
            .deadline()
            .map(|deadline| self.started + deadline)
    }

    /// `error` with this wait's state when it is a [`Error::TimedOut`]
    /// raised by a request retried up to the deadline (the request knows
    /// the failure; the wait knows the job's last status).
    pub(crate) fn explain(&self, error: Error) -> Error {
        match error {
            Error::TimedOut { last_error, .. } => self.timed_out(last_error),
            other => other,
        }
    }

    fn timed_out(&self, last_error: Option<Box<Error>>) -> Error {
        Error::TimedOut {
            job_id: self.job_id.to_string(),
            last_status: self.last_status.clone(),
            polls: self.polls,
            elapsed: self.elapsed(),
            last_error,
        }
    }

    /// Sleeps for the next delay; the last sleep is shortened to end at the
    /// deadline, and a wait that reaches it is [`Error::TimedOut`].
    pub(crate) async fn pause(&mut self) -> Result<(), Error> {
        let transport = &self.client.inner().transport;
        let mut delay = transport
            .jitter
            .apply(self.policy.jitter(), self.policy.backoff(self.step));
        self.step = self.step.saturating_add(1);
        if let Some(deadline) = self.policy.deadline() {
            let elapsed = self.elapsed();
            if elapsed >= deadline {
                return Err(self.timed_out(None));
            }
            delay = delay.min(deadline - elapsed);
        }
        self.client.inner().transport.timer.sleep(delay).await;
        Ok(())
    }
}
