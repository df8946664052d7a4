//! The status of a job, as the poll endpoint reports it.

use std::fmt;

/// Where a job is in its life: `pending` → `running` → `completed` / `failed`,
/// plus `cancelling` → `cancelled` for lookalike jobs.
///
/// A status this SDK does not know is kept as [`JobStatus::Other`] and treated
/// as *not terminal*: waiting continues until a known terminal status or the
/// deadline, rather than stopping early on a value a newer server introduced.
///
/// ```
/// use openfunnel::JobStatus;
///
/// assert_eq!(JobStatus::from("completed"), JobStatus::Completed);
/// assert!(JobStatus::Completed.is_terminal());
/// let new = JobStatus::from("paused");
/// assert_eq!(new, JobStatus::Other("paused".into()));
/// assert!(!new.is_terminal());
/// assert_eq!(new.as_str(), "paused");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobStatus {
    /// Accepted, not started.
    Pending,
    /// Producing pages.
    Running,
    /// A cancel was requested; the job stops at its next checkpoint (lookalikes only).
    Cancelling,
    /// Stopped by a cancel; the pages written before it stay readable (terminal).
    Cancelled,
    /// Every page is written and the manifest is final (terminal).
    Completed,
    /// Stopped by an error; the pages written before it stay readable (terminal).
    Failed,
    /// A status this version of the SDK does not know; not terminal.
    Other(String),
}

impl JobStatus {
    /// The status as the server spells it.
    ///
    /// ```
    /// assert_eq!(openfunnel::JobStatus::Cancelling.as_str(), "cancelling");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Cancelling => "cancelling",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Other(other) => other,
        }
    }

    /// Whether the job has stopped for good: completed, failed or cancelled.
    /// Only this decides completion, never a missing `next_cursor`.
    ///
    /// ```
    /// use openfunnel::JobStatus;
    /// assert!(!JobStatus::Running.is_terminal());
    /// assert!(JobStatus::Failed.is_terminal());
    /// ```
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

impl From<&str> for JobStatus {
    fn from(value: &str) -> Self {
        match value {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "cancelling" => JobStatus::Cancelling,
            "cancelled" => JobStatus::Cancelled,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            other => JobStatus::Other(other.to_string()),
        }
    }
}

impl From<String> for JobStatus {
    fn from(value: String) -> Self {
        match JobStatus::from(value.as_str()) {
            JobStatus::Other(_) => JobStatus::Other(value),
            known => known,
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for JobStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_round_trips_through_its_spelling() {
        for status in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Cancelling,
            JobStatus::Cancelled,
            JobStatus::Completed,
            JobStatus::Failed,
        ] {
            assert_eq!(JobStatus::from(status.as_str()), status);
        }
    }

    #[test]
    fn only_completed_failed_and_cancelled_are_terminal() {
        let terminal: Vec<&str> = [
            "pending",
            "running",
            "cancelling",
            "cancelled",
            "completed",
            "failed",
            "COMPLETED",
        ]
        .into_iter()
        .filter(|s| JobStatus::from(*s).is_terminal())
        .collect();
        assert_eq!(terminal, ["cancelled", "completed", "failed"]);
    }
}
