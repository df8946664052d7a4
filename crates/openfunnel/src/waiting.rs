//! The pacing of polls while a job runs: the job's rhythm or a backoff
//! with jitter (see [`Pacing`]) under the [`PollPolicy`]'s idle timeout and
//! deadline, and the [`Progress`] reported after each poll.

use crate::context::Shared;
use crate::error::{Error, TimeLimit};
use crate::kind::JobKind;
use crate::manifest::JobManifest;
use crate::outcome::Progress;
use crate::pacing::Pacer;
use crate::page::Page;
use crate::policy::{Pacing, PollPolicy};
use crate::redact;
use crate::status::JobStatus;
use crate::timer::later;
use crate::transport::{Limits, OnRetry, Retrying};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a poll said that counts as progress when it changes.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    status: JobStatus,
    stage: Option<String>,
    processed: Option<i64>,
}

/// Backoff between polls of a job that has nothing new yet, under the
/// policy's idle timeout and deadline.
/// Called after every response, for progress bars.
pub(crate) type Observer = Arc<dyn Fn(&Progress) + Send + Sync>;

pub(crate) struct Waiting {
    context: Shared,
    job_id: Arc<str>,
    policy: PollPolicy,
    started: Instant,
    /// When waiting without progress began: the last progress, or the last
    /// time the caller asked for more (time spent by the caller is not
    /// waiting).
    idle_since: Instant,
    step: u32,
    /// Learns the job's page rhythm, for [`Pacing::Rhythm`].
    pacer: Pacer,
    pub(crate) polls: u32,
    last: Option<Seen>,
    observer: Option<Observer>,
    /// The last progress reported, which a retry's report repeats.
    reported: Arc<Mutex<Option<Progress>>>,
    /// Tells the observer a request is being retried.
    on_retry: Option<Arc<OnRetry>>,
}

impl Waiting {
    pub(crate) fn new(
        context: Shared,
        job_id: Arc<str>,
        policy: PollPolicy,
        observer: Option<Observer>,
    ) -> Self {
        let started = context.now();
        let reported = Arc::new(Mutex::new(None::<Progress>));
        let on_retry = observer.clone().map(|observer| {
            let reported = reported.clone();
            Arc::new(move |retrying: &Retrying| {
                let last = lock(&reported).clone();
                if let Some(mut progress) = last {
                    progress.retrying = Some(retrying.clone());
                    observer(&progress);
                }
            }) as Arc<OnRetry>
        });
        Waiting {
            observer,
            reported,
            on_retry,
            context,
            job_id,
            policy,
            started,
            idle_since: started,
            step: 0,
            pacer: Pacer::new(),
            polls: 0,
            last: None,
        }
    }

    fn now(&self) -> Instant {
        self.context.now()
    }

    /// Records a response. A status, stage or `processed` that changed is
    /// progress (it restarts the idle timeout). A status OpenFunnel does not
    /// document for this kind is warned about once each time the job enters
    /// it, not on every poll (a job may sit in a new status for a long time).
    pub(crate) fn observed<K: JobKind>(&mut self, page: &Page<K>) {
        self.polls += 1;
        let seen = Seen {
            status: page.status.clone(),
            stage: page.progress_message.clone(),
            processed: page.processed,
        };
        let status = page.status.as_str();
        let entered = self.last.as_ref().map(|last| last.status.as_str()) != Some(status);
        if !K::STATUSES.contains(&status) && entered {
            let status = redact::text(&self.context.transport.api_key, status);
            tracing::warn!(job_id = %self.job_id, status = %status, kind = K::NAME, "undocumented job status; treated as not terminal");
        }
        if self.last.as_ref() != Some(&seen) {
            self.idle_since = self.now();
        }
        if page.status == JobStatus::Running {
            self.pacer.running(self.now());
        }
        self.last = Some(seen);
    }

    /// Something new arrived (a page or rows): the next wait starts short
    /// again, and the idle timeout restarts.
    pub(crate) fn reset(&mut self) {
        self.step = 0;
        self.idle_since = self.now();
        self.pacer.news(self.idle_since);
    }

    /// The caller asked for more: the idle timeout counts from now (the time
    /// it spent with the last item was not waiting).
    pub(crate) fn resume(&mut self) {
        self.idle_since = self.now();
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.now().saturating_duration_since(self.started)
    }

    /// Reports the progress after `page` (with the stream's `pages` and
    /// `rows` so far) to the observer, if there is one.
    pub(crate) fn report<K: JobKind>(&self, page: &Page<K>, pages: u64, rows: u64) {
        let Some(observer) = &self.observer else {
            return;
        };
        let rhythm = self.pacer.rhythm();
        let progress = Progress {
            job_id: self.job_id.to_string(),
            status: page.status.clone(),
            processed: page.processed,
            stage: page.progress_message.clone(),
            total_pages: page.manifest.as_ref().and_then(JobManifest::pages),
            pages,
            rows,
            polls: self.polls,
            elapsed: self.elapsed(),
            retrying: None,
            page_interval: rhythm.map(|rhythm| rhythm.every),
            next_page_in: rhythm.map(|rhythm| rhythm.next_by.saturating_duration_since(self.now())),
        };
        observer(&progress);
        *lock(&self.reported) = Some(progress);
    }

    /// What requests of this wait tell before a retry (`None` without an
    /// observer).
    pub(crate) fn on_retry(&self) -> Option<Arc<OnRetry>> {
        self.on_retry.clone()
    }

    /// The deadline's instant (`None`: no deadline, or one too far away to
    /// represent).
    fn deadline(&self) -> Option<Instant> {
        later(self.started, self.policy.deadline()?)
    }

    /// When the idle timeout ends, if it has one.
    fn idle_end(&self) -> Option<Instant> {
        later(self.idle_since, self.policy.idle_timeout()?)
    }

    /// The limit that ends the wait first, and when.
    fn first_limit(&self) -> Option<(Instant, TimeLimit)> {
        let deadline = self
            .deadline()
            .zip(self.policy.deadline().map(TimeLimit::Deadline));
        let idle = self
            .idle_end()
            .zip(self.policy.idle_timeout().map(TimeLimit::Idle));
        match (deadline, idle) {
            (Some(deadline), Some(idle)) => Some(if idle.0 < deadline.0 { idle } else { deadline }),
            (one, other) => one.or(other),
        }
    }

    /// What a request made now must respect.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            retry_until: self.first_limit().map(|(at, _)| at),
            cut_off: self.deadline(),
            // A server that never answered may be the wrong address: that
            // fails in seconds, not at the end of the idle timeout.
            ride_out: self.polls > 0,
            speculative: false,
        }
    }

    /// `error` with this wait's state when it is a [`Error::TimedOut`]
    /// raised by a request (the request knows the failure; the wait knows
    /// the job's last status and which limit ended it).
    pub(crate) fn with_wait_state(&self, error: Error) -> Error {
        match error {
            Error::TimedOut { last_error, .. } => self.timed_out(last_error),
            other => other,
        }
    }

    fn timed_out(&self, last_error: Option<Box<Error>>) -> Error {
        let limit = self
            .first_limit()
            .map(|(_, limit)| limit)
            .unwrap_or(TimeLimit::Deadline(Duration::ZERO));
        Error::TimedOut {
            job_id: self.job_id.to_string(),
            last_status: self.last.as_ref().map(|last| last.status.clone()),
            polls: self.polls,
            elapsed: self.elapsed(),
            limit,
            last_error,
        }
    }

    /// Sleeps for the next delay; the last sleep is shortened to end at the
    /// first limit, and a wait that reaches it is [`Error::TimedOut`] (at
    /// the deadline at once; at the idle timeout after one last poll).
    pub(crate) async fn pause(&mut self) -> Result<(), Error> {
        let now = self.now();
        let transport = &self.context.transport;
        let timer = &transport.timer;
        let backoff = transport.jitter.delay(&self.policy.backoff(), self.step);
        self.step = self.step.saturating_add(1);
        self.pacer.observe(now);
        let mut delay = match self.policy.pacing() {
            Pacing::Rhythm => self
                .pacer
                .delay(now, &self.policy, &transport.jitter, backoff),
            Pacing::Backoff => backoff,
        };
        if let Some((end, limit)) = self.first_limit() {
            let left = end.saturating_duration_since(self.now());
            if left.is_zero() {
                return Err(self.timed_out(None));
            }
            if delay >= left && matches!(limit, TimeLimit::Deadline(_)) {
                // A poll sent at the deadline would be cut off at once: the
                // call ends when the deadline does.
                timer.sleep(left).await;
                return Err(self.timed_out(None));
            }
            // At the idle timeout's end, one last poll may still see progress.
            delay = delay.min(left);
        }
        timer.sleep(delay).await;
        Ok(())
    }
}

/// The last progress, usable after a panic elsewhere (it is plain data).
fn lock(reported: &Mutex<Option<Progress>>) -> std::sync::MutexGuard<'_, Option<Progress>> {
    reported
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
