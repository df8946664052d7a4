//! Exit codes, and the one error type of the command.

use std::process::ExitCode;

/// Why the command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the SDK: its message says what happened and what to do.
    #[error(transparent)]
    Sdk(#[from] openfunnel::Error),
    /// Refused before any request (usage or input).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a local file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// `--resume` from a checkpoint whose cursor the server no longer knows.
    #[error("{0}")]
    StaleCheckpoint(String),
    /// Interrupted by Ctrl-C after saving the position.
    #[error("interrupted; rows written so far are kept (continue with --resume)")]
    Interrupted,
    /// `--timeout` or `--idle-timeout` ended the export.
    #[error("{0}")]
    TimedOut(String),
    /// The job failed or was cancelled after the export wrote its rows.
    #[error("{message}")]
    Ended { message: String, code: u8 },
    /// An export into a file stopped after writing rows: they are kept, and
    /// `--resume` continues it.
    #[error(
        "{source}\nopenfunnel: the {rows} rows written to {} are kept: run the same command with --resume to continue",
        file.display()
    )]
    Kept {
        source: Box<CliError>,
        file: std::path::PathBuf,
        rows: u64,
    },
    /// An error, and what else to try (e.g. the other job kind's command).
    #[error("{source}\nopenfunnel: {hint}")]
    Hinted { source: Box<CliError>, hint: String },
}

impl CliError {
    /// An SDK error, in the command line's words where they differ (a time
    /// limit names the flag that sets it).
    pub fn from_sdk(error: openfunnel::Error) -> CliError {
        match &error {
            openfunnel::Error::TimedOut {
                job_id,
                last_status,
                polls,
                elapsed,
                limit,
                last_error,
            } => {
                let (what, flag) = match limit {
                    openfunnel::TimeLimit::Idle(idle) => (
                        format!("made no progress for {} s", idle.as_secs()),
                        "--idle-timeout",
                    ),
                    limit => (
                        format!(
                            "did not finish within --timeout {} s",
                            limit.duration().as_secs()
                        ),
                        "--timeout",
                    ),
                };
                CliError::TimedOut(format!(
                    "job {job_id} {what} ({polls} polls in {:.1} s, last status: {}{}): raise {flag}, or continue later with --resume",
                    elapsed.as_secs_f64(),
                    last_status
                        .as_ref()
                        .map(|status| status.as_str())
                        .unwrap_or("none seen"),
                    last_error
                        .as_ref()
                        .map(|error| format!("; the last request failed: {error}"))
                        .unwrap_or_default(),
                ))
            }
            _ => CliError::Sdk(error),
        }
    }

    /// This error, saying that the `rows` rows written to `file` are kept.
    pub fn kept_in(self, file: &std::path::Path, rows: u64) -> CliError {
        match self {
            // Already says so.
            CliError::Interrupted | CliError::StaleCheckpoint(_) | CliError::Kept { .. } => self,
            // The job ended: nothing to continue, but the rows are there.
            CliError::Sdk(
                ref error @ (openfunnel::Error::JobFailed { .. }
                | openfunnel::Error::JobCancelled { .. }),
            ) => CliError::Ended {
                message: format!(
                    "{error}\nopenfunnel: the {rows} rows it wrote are in {}",
                    file.display()
                ),
                code: if matches!(error, openfunnel::Error::JobFailed { .. }) {
                    3
                } else {
                    4
                },
            },
            source => CliError::Kept {
                source: Box::new(source),
                file: file.to_path_buf(),
                rows,
            },
        }
    }

    /// A job the server does not know may be of the other kind: this error
    /// with the command that reads it as one (no extra request is made).
    pub fn other_kind_hint(self, job_id: &str, this_kind: &str) -> CliError {
        let other = if this_kind == "lookalike" {
            "tech-intent"
        } else {
            "lookalike"
        };
        match self {
            CliError::Sdk(openfunnel::Error::NotFound { .. }) => CliError::Hinted {
                source: Box::new(self),
                hint: format!("if it is a {other} job: openfunnel {other} status {job_id}"),
            },
            other_error => other_error,
        }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }

    /// 0 completed, 1 error, 2 usage, invalid input or configuration, 3 job failed,
    /// 4 job cancelled, 5 timeout, 130 interrupted.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    fn code(&self) -> u8 {
        match self {
            CliError::Kept { source, .. } | CliError::Hinted { source, .. } => source.code(),
            CliError::Ended { code, .. } => *code,
            CliError::TimedOut(_) => 5,
            CliError::Usage(_) => 2,
            CliError::Sdk(openfunnel::Error::InvalidInput(_)) => 2,
            CliError::Sdk(openfunnel::Error::Configuration { .. }) => 2,
            CliError::Sdk(openfunnel::Error::JobFailed { .. }) => 3,
            CliError::Sdk(openfunnel::Error::JobCancelled { .. }) => 4,
            CliError::Sdk(openfunnel::Error::TimedOut { .. }) => 5,
            CliError::Interrupted => 130,
            CliError::Sdk(_) | CliError::Io { .. } | CliError::StaleCheckpoint(_) => 1,
        }
    }
}
