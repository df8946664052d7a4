//! The checkpoint kept beside an `--output` file, so that `--resume` can
//! continue an interrupted export with every row exactly once.
//!
//! After each page the rows are flushed to the file and synced, then this
//! record is replaced atomically (write a temporary file, rename). It names
//! the byte length of the file at that point: a resumed export truncates the
//! file to it, which removes a torn last line or a half-written page, and
//! continues from the recorded checkpoint.

use crate::cli::Format;
use crate::exit::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What a resumed export needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportState {
    pub job_id: String,
    pub kind: String,
    pub format: Format,
    /// Length of the output file after the last complete page.
    pub bytes: u64,
    /// Rows in those bytes.
    pub rows: u64,
    /// Where the job's rows continue.
    pub checkpoint: openfunnel::Checkpoint,
    /// The job completed and every row is in the file.
    pub complete: bool,
}

/// `rows.jsonl` → `rows.jsonl.checkpoint.json`.
pub fn path_for(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoint.json");
    output.with_file_name(name)
}

pub fn load(path: &Path) -> Result<Option<ExportState>, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            CliError::Usage(format!(
                "the checkpoint {} is unreadable ({error}); delete it and export again without --resume",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(CliError::io(format!("cannot read {}", path.display()))(error)),
    }
}

pub fn save(path: &Path, state: &ExportState) -> Result<(), CliError> {
    let temporary = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| CliError::Usage(e.to_string()))?;
    std::fs::write(&temporary, bytes).map_err(CliError::io(format!(
        "cannot write {}",
        temporary.display()
    )))?;
    std::fs::rename(&temporary, path)
        .map_err(CliError::io(format!("cannot write {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sidecar_sits_beside_the_output() {
        assert_eq!(
            path_for(Path::new("out/rows.csv")),
            PathBuf::from("out/rows.csv.checkpoint.json")
        );
    }
}
