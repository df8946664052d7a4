//! The checkpoint kept beside an `--output` file, so that `--resume` can
//! continue an interrupted export with every row exactly once.
//!
//! After each page the rows are flushed to the file and synced, then this
//! record is replaced atomically (write a uniquely named temporary file,
//! rename). It names the length of the file at that point and a digest of
//! those bytes: a resumed export first checks that the file still begins
//! with exactly those bytes (refusing, untouched, a file that is shorter or
//! differs), then cuts off anything after them (a torn last line or a
//! half-written page) and continues from the recorded checkpoint.

use crate::cli::Format;
use crate::exit::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a resumed export needs to know.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportState {
    pub format: Format,
    /// Length of the output file after the last complete page.
    pub bytes: u64,
    /// The digest of those bytes ([`crate::digest::Digest::hex`]).
    pub digest: String,
    /// Rows in those bytes.
    pub rows: u64,
    /// Where the job's rows continue; it names the job and its kind.
    pub checkpoint: openfunnel::Checkpoint,
    /// The job completed and every row is in the file, or the file holds
    /// the `limit` rows asked for.
    pub complete: bool,
    /// `results --limit`: the most rows the export writes (files made
    /// before the flag capped rows have none).
    #[serde(default)]
    pub limit: Option<u64>,
    /// The CSV header the file starts with (CSV only): a resumed export
    /// writes its rows under these columns, whatever columns this build would
    /// choose, so a file never mixes two headers. Checkpoints made before
    /// columns followed the spec have none (their columns are today's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_header: Option<Vec<String>>,
}

impl ExportState {
    /// The columns rows are written under (the header without its last
    /// column, `other_fields`, which the sink adds).
    pub fn csv_columns<K: crate::export::ExportKind>(&self) -> Vec<String> {
        match &self.csv_header {
            Some(header) => header[..header.len().saturating_sub(1)].to_vec(),
            None => crate::export::csv_columns::<K>(),
        }
    }
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

/// Replaces the checkpoint at `path` atomically: a temporary file named for
/// this process and this save (so two savers never share one), then a
/// rename over the old checkpoint.
pub fn save(path: &Path, state: &ExportState) -> Result<(), CliError> {
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}.{}.tmp",
        std::process::id(),
        SAVES.fetch_add(1, Ordering::Relaxed)
    ));
    let temporary = path.with_file_name(name);
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| CliError::Usage(e.to_string()))?;
    let written = std::fs::write(&temporary, bytes)
        .map_err(CliError::io(format!(
            "cannot write {}",
            temporary.display()
        )))
        .and_then(|()| {
            std::fs::rename(&temporary, path)
                .map_err(CliError::io(format!("cannot write {}", path.display())))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Removes the checkpoint at `path`, if there is one.
pub fn remove(path: &Path) -> Result<(), CliError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(CliError::io(format!(
            "cannot remove the old checkpoint {}",
            path.display()
        ))(error)),
    }
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

    #[test]
    fn saves_leave_no_temporary_file_and_replace_the_old_checkpoint() {
        let dir = std::env::temp_dir().join(format!("of-sidecar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.jsonl.checkpoint.json");
        let mut state = ExportState {
            format: Format::Jsonl,
            bytes: 0,
            digest: crate::digest::Digest::default().hex(),
            rows: 0,
            checkpoint: openfunnel::Checkpoint::start(),
            complete: false,
            limit: Some(5),
            csv_header: Some(vec!["name".into(), "other_fields".into()]),
        };
        save(&path, &state).unwrap();
        state.rows = 7;
        save(&path, &state).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert_eq!(load(&path).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
