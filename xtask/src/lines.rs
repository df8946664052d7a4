//! `cargo xtask lines [DIR]`: production lines of a crate's sources, counted
//! one fixed way so that a before/after comparison means something: every
//! line of every `.rs` file under `DIR` (default `crates/openfunnel/src`)
//! except blank lines, comment lines (`//`, `///`, `//!`, block comments)
//! and the in-file test module (`#[cfg(test)] mod …` to its closing brace).

use std::path::Path;

/// The production lines of one file's text.
///
/// ```
/// let text = "//! docs\nfn a() {}\n\n/// doc\nfn b() {\n}\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\n";
/// assert_eq!(xtask::lines::count(text), 3);
/// ```
pub fn count(text: &str) -> usize {
    let mut lines = 0;
    let mut test_depth: Option<i64> = None;
    let mut after_cfg_test = false;
    let mut in_block_comment = false;
    for line in text.lines() {
        let code = line.trim();
        if let Some(depth) = &mut test_depth {
            *depth += braces(line);
            if *depth <= 0 {
                test_depth = None;
            }
            continue;
        }
        if code.starts_with("#[cfg(test)]") {
            after_cfg_test = true;
            continue;
        }
        if std::mem::take(&mut after_cfg_test)
            && (code.starts_with("mod ") || code.starts_with("pub mod "))
        {
            if braces(line) > 0 {
                test_depth = Some(braces(line));
            }
            continue;
        }
        if in_block_comment {
            in_block_comment = !code.contains("*/");
            continue;
        }
        if code.starts_with("/*") {
            in_block_comment = !code.contains("*/");
            continue;
        }
        if !code.is_empty() && !code.starts_with("//") {
            lines += 1;
        }
    }
    lines
}

fn braces(line: &str) -> i64 {
    line.chars()
        .map(|c| match c {
            '{' => 1,
            '}' => -1,
            _ => 0,
        })
        .sum()
}

/// Each `.rs` file under `dir` with its production lines, sorted by path.
pub fn count_dir(dir: &Path) -> std::io::Result<Vec<(String, usize)>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let shown = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.push((shown, count(&std::fs::read_to_string(&path)?)));
            }
        }
    }
    files.sort();
    Ok(files)
}
