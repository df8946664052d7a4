//! Job handles: submit, open by id, poll, wait, cancel. Streams live in
//! [`crate::stream`]. Every public operation returns through
//! `redact::guarded`, so no error carries the key.

use crate::context::Shared;
use crate::error::Error;
use crate::fetch;
use crate::kind::{Acknowledgement, Cancellable, JobKind};
use crate::outcome::{Cancellation, Outcome, Progress};
use crate::page::{Checkpoint, Page, RowTexts};
use crate::policy::PollPolicy;
use crate::redact;
use crate::status::JobStatus;
use crate::stream::{Pages, Rows, StreamBuilder};
use crate::transport::{Idempotency, Limits, Operation};
use crate::validate;
use crate::waiting::{Observer, Waiting};
use std::marker::PhantomData;
use std::sync::Arc;

/// Jobs of one kind, from [`crate::Client::lookalike`] or [`crate::Client::tech_intent`].
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
#[derive(Clone)]
pub struct Jobs<K> {
    context: Shared,
    kind: PhantomData<fn() -> K>,
}

impl<K> std::fmt::Debug for Jobs<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").finish_non_exhaustive()
    }
}

impl<K> Jobs<K> {
    pub(crate) fn new(context: Shared) -> Self {
        Jobs {
            context,
            kind: PhantomData,
        }
    }
}

impl<K: JobKind> Jobs<K> {
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
        let transport = &self.context.transport;
        redact::guarded(&transport.api_key, async {
            K::validate(&request)?;
            let operation = Operation {
                name: K::SUBMIT_OPERATION,
                job_id: None,
                cursor: None,
                idempotency: Idempotency::CreatesJob,
                limits: Limits::default(),
                on_retry: None,
            };
            let submitted = transport
                .send(operation, || K::submit(&transport.api, &request))
                .await
                .result?;
            let job_id = submitted.job_id().unwrap_or_default().to_string();
            if let Some(problem) = validate::job_id_problem(&job_id) {
                return Err(Error::UnusableJobId {
                    job_id: job_id.escape_default().to_string(),
                    problem,
                });
            }
            tracing::info!(job_id = %job_id, kind = K::NAME, "job submitted");
            let mut job = Job::new(self.context.clone(), job_id);
            job.submitted = Some(Arc::new(submitted));
            Ok(job)
        })
        .await
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
        validate::job_id(&id)
            .map_err(|error| redact::error(error, &self.context.transport.api_key))?;
        Ok(Job::new(self.context.clone(), id))
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
#[derive(Clone)]
pub struct Job<K: JobKind> {
    context: Shared,
    id: Arc<str>,
    submitted: Option<Arc<K::Submitted>>,
}

impl<K: JobKind> std::fmt::Debug for Job<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("kind", &K::NAME)
            .field("id", &self.id)
            .field("submitted", &self.submitted)
            .finish()
    }
}

impl<K: JobKind> Job<K> {
    fn new(context: Shared, id: String) -> Self {
        Job {
            context,
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

    /// The beginning of this job's rows, as a checkpoint bound to the job
    /// (resuming another job from it is refused, see
    /// [`Checkpoint::check_belongs_to`]).
    ///
    /// ```
    /// # let client = openfunnel::Client::new("of_0123abcd").unwrap();
    /// let start = client.tech_intent().job("j1").unwrap().start_checkpoint();
    /// assert_eq!((start.job_id(), start.cursor(), start.rows_delivered()), (Some("j1"), None, 0));
    /// ```
    pub fn start_checkpoint(&self) -> Checkpoint {
        Checkpoint::start_of::<K>(&self.id)
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
        self.page(None).await
    }

    /// One request for the page at `cursor` (`None`: the first page). The
    /// cursor is opaque: pass a `next_cursor` exactly as the server returned
    /// it; it is sent percent-encoded, byte for byte.
    pub async fn page(&self, cursor: Option<&str>) -> Result<Page<K>, Error> {
        redact::guarded(&self.context.transport.api_key, async {
            cursor.map_or(Ok(()), validate::cursor)?;
            self.fetch(cursor).await
        })
        .await
    }

    async fn fetch(&self, cursor: Option<&str>) -> Result<Page<K>, Error> {
        let limits = Limits::default();
        fetch::page(
            &self.context,
            &self.id,
            cursor,
            limits,
            RowTexts::Keep,
            None,
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
        self.wait_observed(&self.context.poll_policy, None).await
    }

    /// Waits with `policy`, calling `on_progress` after every poll (for a
    /// progress bar), and before each retry of a poll that failed
    /// ([`Progress::retrying`]), so a bar can say the service is failing.
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
        on_progress: impl Fn(&Progress) + Send + Sync + 'static,
    ) -> Result<Outcome<K>, Error> {
        self.wait_observed(policy, Some(Arc::new(on_progress)))
            .await
    }

    async fn wait_observed(
        &self,
        policy: &PollPolicy,
        observer: Option<Observer>,
    ) -> Result<Outcome<K>, Error> {
        let (context, id) = (self.context.clone(), self.id.clone());
        let mut waiting = Waiting::new(context, id, policy.clone(), observer);
        redact::guarded(&self.context.transport.api_key, async {
            loop {
                let (limits, on_retry) = (waiting.limits(), waiting.on_retry());
                let texts = RowTexts::Skip;
                let on_retry = on_retry.as_deref();
                let page = fetch::page::<K>(&self.context, &self.id, None, limits, texts, on_retry)
                    .await
                    .map_err(|error| waiting.with_wait_state(error))?;
                waiting.observed(&page);
                waiting.report(&page, 0, 0);
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
                    JobStatus::Failed | JobStatus::Cancelled => {
                        return Err(page.terminal_error());
                    }
                    _ => waiting.pause().await?,
                }
            }
        })
        .await
    }

    /// The settings of a page or row stream of this job (resume point,
    /// policy, concurrency, progress), given before it starts. See
    /// [`StreamBuilder`].
    ///
    /// ```no_run
    /// # async fn example(job: openfunnel::Job<openfunnel::Lookalike>, saved: openfunnel::Checkpoint) -> Result<(), openfunnel::Error> {
    /// use futures_util::TryStreamExt;
    /// let rest: Vec<_> = job.stream().resume_from(saved).with_concurrency(4).rows().try_collect().await?;
    /// # let _ = rest;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream(&self) -> StreamBuilder<K> {
        StreamBuilder::new(self.context.clone(), self.id.clone())
    }

    /// Every row, each exactly once and in server order, yielded as soon as
    /// its page is written (while the job still runs), with the client's
    /// defaults (`job.stream().rows()`). See [`Rows`].
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
        self.stream().rows()
    }

    /// Every page, in order, as soon as it is written, with the client's
    /// defaults (`job.stream().pages()`). See [`Pages`].
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
        self.stream().pages()
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
        let transport = &self.context.transport;
        redact::guarded(&transport.api_key, async {
            let operation = Operation {
                name: K::CANCEL_OPERATION,
                job_id: Some(&self.id),
                cursor: None,
                idempotency: Idempotency::Idempotent,
                limits: Limits::default(),
                on_retry: None,
            };
            let sent = transport
                .send(operation, || K::cancel(&transport.api, &self.id))
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
        })
        .await
    }
}
