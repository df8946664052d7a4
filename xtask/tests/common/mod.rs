//! What the xtask's integration tests share: a scratch copy of the repository's
//! spec and generated files.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use xtask::codegen::{
    self, GENERATED_CLIENT, GENERATED_HTTPMOCK, NORMALISED_DOCUMENT, SIMULATOR_SPEC, SPEC_DIR,
};

/// A scratch copy of `openapi/` and the generated files.
pub struct ScratchRepo(pub PathBuf);

impl ScratchRepo {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("openfunnel-xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = codegen::repository_root();
        copy_dir(&root.join(SPEC_DIR), &dir.join(SPEC_DIR));
        for file in [
            GENERATED_CLIENT,
            GENERATED_HTTPMOCK,
            NORMALISED_DOCUMENT,
            SIMULATOR_SPEC,
        ] {
            let target = dir.join(file);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(root.join(file), target).unwrap();
        }
        ScratchRepo(dir)
    }
}

impl Drop for ScratchRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
