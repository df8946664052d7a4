//! Keeps the API key out of every error the SDK returns.
//!
//! Response bodies are scrubbed when they are read ([`crate::ErrorBody`]);
//! this module covers the rest of what a server controls and an error
//! shows: a failed job's reason, a status string, page names and cursors in
//! a chain problem, a cursor the server refused, a redirect's target, a
//! submitted job's id, and the URL inside a transport error (its query holds
//! the cursor). Every public operation passes its error through
//! [`Error::scrubbed`] on the way out, so a server that echoes the key (or a
//! proxy that does) never gets it into a log line.

use crate::client::Client;
use crate::error::Error;
use crate::status::JobStatus;
use openfunnel_api::ApiKey;

impl Error {
    /// This error with the key removed from every text it holds. The match is
    /// exhaustive on purpose: a new variant must say what it shows.
    pub(crate) fn scrubbed(self, key: &ApiKey) -> Error {
        let clean = |text: String| match key.scrub(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(scrubbed) => scrubbed,
        };
        match self {
            Error::NotFound { job_id, body } => Error::NotFound {
                job_id: clean(job_id),
                body,
            },
            Error::UnknownCursor {
                job_id,
                cursor,
                status,
                body,
            } => Error::UnknownCursor {
                job_id: clean(job_id),
                cursor: clean(cursor),
                status,
                body,
            },
            Error::TimedOut {
                job_id,
                last_status,
                polls,
                elapsed,
                limit,
                last_error,
            } => Error::TimedOut {
                limit,
                job_id: clean(job_id),
                last_status: last_status.map(|status| match status {
                    JobStatus::Other(text) => JobStatus::Other(clean(text)),
                    known => known,
                }),
                polls,
                elapsed,
                last_error: last_error.map(|error| Box::new(error.scrubbed(key))),
            },
            Error::JobFailed {
                job_id,
                error_message,
                manifest,
            } => Error::JobFailed {
                job_id: clean(job_id),
                error_message: error_message.map(clean),
                manifest,
            },
            Error::JobCancelled { job_id, manifest } => Error::JobCancelled {
                job_id: clean(job_id),
                manifest,
            },
            Error::UnusableJobId { job_id, problem } => Error::UnusableJobId {
                job_id: clean(job_id),
                problem: clean(problem),
            },
            Error::InconsistentPages { job_id, problem } => Error::InconsistentPages {
                job_id: clean(job_id),
                problem: clean(problem),
            },
            Error::CrossOriginRedirect { status, location } => Error::CrossOriginRedirect {
                status,
                location: clean(location),
            },
            Error::InvalidInput(problem) => Error::InvalidInput(clean(problem)),
            Error::Transport { mut source } => {
                if let Some(url) = source.url_mut() {
                    let shown = key.scrub(url.as_str()).into_owned();
                    if shown != url.as_str() {
                        match reqwest::Url::parse(&shown) {
                            Ok(scrubbed) => *url = scrubbed,
                            Err(_) => {
                                url.set_path("/");
                                url.set_query(None);
                            }
                        }
                    }
                }
                Error::Transport { source }
            }
            // Bodies and decoder messages are scrubbed when they are read;
            // the rest hold nothing a server sent.
            error @ (Error::Unauthorized { .. }
            | Error::Validation { .. }
            | Error::RateLimited { .. }
            | Error::Http { .. }
            | Error::Decode { .. }
            | Error::ResponseTooLarge { .. }
            | Error::Configuration { .. }) => error,
        }
    }
}

impl Client {
    /// `result` with the key removed from its error, for every public
    /// operation's way out.
    pub(crate) fn scrub<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|error| error.scrubbed(self.api_key()))
    }

    /// `text` a server sent, with the key removed, for a trace.
    pub(crate) fn scrub_text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        self.api_key().scrub(text)
    }

    fn api_key(&self) -> &ApiKey {
        &self.inner().transport.api_key
    }
}
