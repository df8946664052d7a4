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
}

impl CliError {
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }

    /// 0 completed, 1 error, 2 usage, invalid input or configuration, 3 job failed,
    /// 4 job cancelled, 5 timeout, 130 interrupted.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => 2,
            CliError::Sdk(openfunnel::Error::InvalidInput(_)) => 2,
            CliError::Sdk(openfunnel::Error::Configuration { .. }) => 2,
            CliError::Sdk(openfunnel::Error::JobFailed { .. }) => 3,
            CliError::Sdk(openfunnel::Error::JobCancelled { .. }) => 4,
            CliError::Sdk(openfunnel::Error::TimedOut { .. }) => 5,
            CliError::Interrupted => 130,
            CliError::Sdk(_) | CliError::Io { .. } | CliError::StaleCheckpoint(_) => 1,
        })
    }
}
