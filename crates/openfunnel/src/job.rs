//! Job handles: submit, open by id, wait, cancel. Paging lives in [`crate::pages`].

use crate::client::Client;
use crate::error::Error;
use crate::fetch::{self, RowTexts};
use crate::kind::{Cancellable, JobKind};
use crate::page::Page;
use crate::pages::Pages;
use crate::policy::PollPolicy;
use crate::raw_shapes::Acknowledgement;
use crate::rows::Rows;
use crate::status::JobStatus;
use crate::transport::{Idempotency, Operation};
use crate::validate;
use crate::waiting::{Limits, Progress, Waiting};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// Jobs of one kind, from [`Client::lookalike`] or [`Client::tech_intent`].
///
/// ```no_run
/// # async fn example(client: openfunnel::Client) -> Result<(), openfunnel::Error> {
/// let jobs = client.lookalike();
/// let job = jobs.submit(openfunnel::LookalikeSearch::default().query("APM vendors")).await?;
/// let same = jobs.job(job.id())?;
/// # let _ = same;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Jobs<K> {
    client: Client,
    kind: PhantomData<fn() -> K>,
}

impl<K: JobKind> Jobs<K> {
    pub(crate) fn new(client: Client) -> Self {
        Jobs {
            client,
            kind: PhantomData,
        }
    }

    /// Checks `request` against the documented limits, then submits it and
    /// returns the new job. Nothing is sent when the check fails. The submit
    /// is retried only when it provably never reached the server.
    ///
    /// ```no_run
    /// # async fn example(client: openfunnel::Client) -> Result<(), openfunnel::Error> {
    /// let job = client
    ///     .tech_intent()
    ///     .submit(openfunnel::TechIntentSearch::new("Snowflake", "migrating off Redshift").limit(50))
    ///     .await?;
    /// println!("{}", job.id());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit(&self, request: K::Request) -> Result<Job<K>, Error> {
        self.client.scrub(self.submit_unscrubbed(request).await)
    }

    async fn submit_unscrubbed(&self, request: K::Request) -> Result<Job<K>, Error> {
        K::validate(&request)?;
        let inner = self.client.inner();
        let operation = Operation {
            name: K::SUBMIT_OPERATION,
            job_id: None,
            cursor: None,
            idempotency: Idempotency::CreatesJob,
            limits: Limits::default(),
        };
        let submitted = inner
            .transport
            .send(operation, || K::submit(&inner.transport.api, &request))
            .await?;
        let job_id = submitted.job_id().unwrap_or_default().to_string();
        if let Some(problem) = validate::job_id_problem(&job_id) {
            return Err(Error::UnusableJobId {
                job_id: job_id.escape_default().to_string(),
                problem,
            });
        }
        tracing::info!(job_id = %job_id, kind = K::NAME, "job submitted");
        let mut job = Job::new(self.client.clone(), job_id);
        job.submitted = Some(Arc::new(submitted));
        Ok(job)
    }

    /// A handle for an existing job. The id is checked (not empty, no `/`,
    /// not `.` or `..`) but nothing is sent.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// assert!(client.lookalike().job("d8a1bddb-44f1-4c7f-87a7-f37496354ff6").is_ok());
    /// assert!(client.lookalike().job("../admin").is_err());
    /// ```
    pub fn job(&self, id: impl Into<String>) -> Result<Job<K>, Error> {
        let id = id.into();
        self.client.scrub(validate::job_id(&id))?;
        Ok(Job::new(self.client.clone(), id))
    }
}

/// A handle for one job. Cheap to clone; dropping it (or any future or stream
/// made from it) stops local polling only, never the job.
///
/// ```no_run
/// # async fn example(client: openfunnel::Client) -> Result<(), openfunnel::Error> {
/// use futures_util::TryStreamExt;
///
/// let job = client.lookalike().job("d8a1bddb-44f1-4c7f-87a7-f37496354ff6")?;
/// let mut rows = job.rows();
/// while let Some(row) = rows.try_next().await? {
///     println!("{}", row.domain.unwrap_or_default());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Job<K: JobKind> {
    pub(crate) client: Client,
    pub(crate) id: Arc<str>,
    submitted: Option<Arc<K::Submitted>>,
}

impl<K: JobKind> Job<K> {
    fn new(client: Client, id: String) -> Self {
        Job {
            client,
            id: Arc::from(id),
            submitted: None,
        }
    }

    /// What the submit answered (its status and message), for a job this
    /// handle submitted; `None` for a job opened by id.
    ///
    /// ```no_run
    /// # async fn example(client: openfunnel::Client) -> Result<(), openfunnel::Error> {
    /// let job = client.tech_intent().submit(openfunnel::TechIntentSearch::new("dbt", "hiring")).await?;
    /// let requested = job.submission().and_then(|submitted| submitted.requested_limit);
    /// # let _ = requested;
    /// # Ok(())
    /// # }
    /// ```
    pub fn submission(&self) -> Option<&K::Submitted> {
        self.submitted.as_deref()
    }

    /// The job's id.
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let job = client.lookalike().job("abc").unwrap();
    /// assert_eq!(job.id(), "abc");
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One request: the job's status now, with its first page.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// let now = job.poll().await?;
    /// println!("{} ({} processed)", now.status, now.processed.unwrap_or(0));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn poll(&self) -> Result<Page<K>, Error> {
        self.client.scrub(self.fetch(None).await)
    }

    /// One request for the page at `cursor` (`None`: the first page). The
    /// cursor is opaque: pass a `next_cursor` exactly as the server returned
    /// it; it is sent percent-encoded, byte for byte.
    pub async fn page(&self, cursor: Option<&str>) -> Result<Page<K>, Error> {
        if let Some(cursor) = cursor {
            self.client.scrub(validate::cursor(cursor))?;
        }
        self.client.scrub(self.fetch(cursor).await)
    }

    pub(crate) async fn fetch(&self, cursor: Option<&str>) -> Result<Page<K>, Error> {
        fetch::page(
            &self.client,
            &self.id,
            cursor,
            Limits::default(),
            RowTexts::Keep,
        )
        .await
    }

    /// Waits until the job is terminal, with the client's [`PollPolicy`].
    /// Completion is decided by `status` only. A failed or cancelled job is an
    /// error ([`Error::JobFailed`], [`Error::JobCancelled`]) carrying its
    /// partial manifest; its written rows stay readable with [`Job::rows`].
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// let outcome = job.wait().await?;
    /// println!("done after {} polls", outcome.polls);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&self) -> Result<Outcome<K>, Error> {
        let policy = self.client.poll_policy().clone();
        self.wait_with(&policy, |_| {}).await
    }

    /// Waits with `policy`, calling `on_progress` after every poll (for a
    /// progress bar).
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use std::time::Duration;
    /// let policy = openfunnel::PollPolicy::default().with_deadline(Duration::from_secs(600));
    /// let outcome = job
    ///     .wait_with(&policy, |progress| {
    ///         eprintln!("{} {:?} {}", progress.status, progress.processed, progress.stage.as_deref().unwrap_or(""))
    ///     })
    ///     .await?;
    /// # let _ = outcome;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_with(
        &self,
        policy: &PollPolicy,
        on_progress: impl FnMut(&Progress) + Send,
    ) -> Result<Outcome<K>, Error> {
        self.client
            .scrub(self.wait_unscrubbed(policy, on_progress).await)
    }

    async fn wait_unscrubbed(
        &self,
        policy: &PollPolicy,
        mut on_progress: impl FnMut(&Progress) + Send,
    ) -> Result<Outcome<K>, Error> {
        let mut waiting = Waiting::new(self.client.clone(), self.id.clone(), policy.clone());
        loop {
            let page = fetch::page(
                &self.client,
                &self.id,
                None,
                waiting.limits(),
                RowTexts::Skip,
            )
            .await
            .map_err(|error| waiting.with_wait_state(error))?;
            waiting.observed(&page);
            on_progress(&waiting.progress::<K>(&page, 0, 0));
            match page.status {
                JobStatus::Completed => {
                    return Ok(Outcome {
                        job_id: page.job_id,
                        status: page.status,
                        manifest: page.manifest,
                        polls: waiting.polls,
                        elapsed: waiting.elapsed(),
                    });
                }
                JobStatus::Failed | JobStatus::Cancelled => return Err(page.into_terminal_error()),
                _ => waiting.pause().await?,
            }
        }
    }

    /// Every row, each exactly once and in server order, yielded as soon as
    /// its page is written (while the job still runs). See [`Rows`].
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::TechIntent>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let rows: Vec<_> = job.rows().try_collect().await?;
    /// # let _ = rows;
    /// # Ok(())
    /// # }
    /// ```
    pub fn rows(&self) -> Rows<K> {
        Rows::new(Pages::new(
            self.client.clone(),
            self.id.clone(),
            RowTexts::Skip,
        ))
    }

    /// Every page, in order, as soon as it is written. See [`Pages`].
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut pages = job.pages();
    /// while let Some(page) = pages.try_next().await? {
    ///     println!("{:?}: {} rows", page.name, page.rows.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(&self) -> Pages<K> {
        Pages::new(self.client.clone(), self.id.clone(), RowTexts::Keep)
    }
}

impl<K: Cancellable> Job<K> {
    /// Asks the server to cancel the job. The job passes through `cancelling`
    /// to `cancelled`; pages written before stay readable and only delivered
    /// companies are billed. Cancelling a job that already finished is not an
    /// error: [`Cancellation::already_finished`] says so.
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
    /// let cancellation = job.cancel().await?;
    /// if !cancellation.already_finished {
    ///     let rest = job.wait().await; // Err(Error::JobCancelled { .. }) once it settles
    ///     # let _ = rest;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cancel(&self) -> Result<Cancellation, Error> {
        self.client.scrub(self.cancel_unscrubbed().await)
    }

    async fn cancel_unscrubbed(&self) -> Result<Cancellation, Error> {
        let transport = &self.client.inner().transport;
        let operation = Operation {
            name: K::CANCEL_OPERATION,
            job_id: Some(&self.id),
            cursor: None,
            idempotency: Idempotency::Idempotent,
            limits: Limits::default(),
        };
        let sent = transport
            .send_counted(operation, || K::cancel(&transport.api, &self.id))
            .await;
        match sent.result {
            Ok(response) => Ok(Cancellation {
                status: response.status(),
                message: response.message().map(str::to_string),
                already_finished: false,
            }),
            // A 409 to a retried cancel may answer our own earlier attempt,
            // whose response was lost: the job's status says which.
            Err(Error::Http { status: 409, body }) if sent.attempts > 1 => {
                let status = self.fetch(None).await?.status;
                Ok(Cancellation {
                    already_finished: !matches!(
                        status,
                        JobStatus::Cancelling | JobStatus::Cancelled
                    ),
                    status: Some(status),
                    message: Some(body.to_string()),
                })
            }
            Err(Error::Http { status: 409, body }) => Ok(Cancellation {
                status: None,
                message: Some(body.to_string()),
                already_finished: true,
            }),
            Err(error) => Err(error),
        }
    }
}

/// A completed job: its terminal status and manifest.
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// let outcome = job.wait().await?;
/// if let Some(manifest) = &outcome.manifest {
///     println!("{:?} rows, {:?} credits", manifest.count, manifest.credits_consumed);
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Outcome<K: JobKind> {
    /// The job.
    pub job_id: String,
    /// The terminal status ([`JobStatus::Completed`]).
    pub status: JobStatus,
    /// The final manifest.
    pub manifest: Option<K::Manifest>,
    /// Poll requests made while waiting.
    pub polls: u32,
    /// Time spent waiting.
    pub elapsed: Duration,
}

/// The answer to [`Job::cancel`].
///
/// ```no_run
/// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>) -> Result<(), openfunnel::Error> {
/// let cancellation = job.cancel().await?;
/// println!("{:?} {}", cancellation.status, cancellation.already_finished);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Cancellation {
    /// The status after the request, normally [`JobStatus::Cancelling`].
    pub status: Option<JobStatus>,
    /// The server's message.
    pub message: Option<String>,
    /// True when the job had already finished (HTTP 409): nothing to cancel.
    pub already_finished: bool,
}
