//! Reading the vendored OpenAPI files from `openapi/`.

use crate::normalise::SpecFile;
use std::path::{Path, PathBuf};

/// File endings read as OpenAPI documents; anything else (a README) is skipped.
const SPEC_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Why a file in `openapi/` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecFileError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A file is not valid YAML (JSON is YAML too).
    #[error("{path} is not valid YAML/JSON: {source}")]
    Parse {
        path: String,
        source: serde_norway::Error,
    },
}

/// Every OpenAPI document under `dir` (recursively), sorted by path so that
/// the merged document, and so the generated code, never depends on the order
/// the file system lists them in. Names are relative to `root`.
pub fn load_spec_dir(root: &Path, dir: &Path) -> Result<Vec<SpecFile>, SpecFileError> {
    let mut paths = Vec::new();
    collect_spec_paths(dir, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).map_err(|source| SpecFileError::Io {
                path: name.clone(),
                source,
            })?;
            let doc = serde_norway::from_str(&text).map_err(|source| SpecFileError::Parse {
                path: name.clone(),
                source,
            })?;
            Ok(SpecFile { name, doc })
        })
        .collect()
}

fn collect_spec_paths(dir: &Path, paths: &mut Vec<PathBuf>) -> Result<(), SpecFileError> {
    let io_error = |source| SpecFileError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.is_dir() {
            collect_spec_paths(&path, paths)?;
        } else if path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| SPEC_EXTENSIONS.contains(&ext))
        {
            paths.push(path);
        }
    }
    Ok(())
}
