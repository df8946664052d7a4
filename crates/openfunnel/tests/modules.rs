//! The SDK's modules form no import circle: no module reaches, through the
//! modules it names (`crate::…`), a module that names it back. A circle is
//! how "the engine passes the Client around" crept in before; this keeps it
//! out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name (`kind::lookalike`) → the crate modules it names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut texts = BTreeMap::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let name = relative.to_string_lossy().replace('/', "::");
            let name = name.trim_end_matches("::mod").to_string();
            if name != "lib" {
                texts.insert(
                    name,
                    production_code(&std::fs::read_to_string(&path).unwrap()),
                );
            }
        }
    }
    let names: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .map(|(name, text)| {
            let named = text
                .split("crate::")
                .skip(1)
                .filter_map(|rest| {
                    let path: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == ':')
                        .collect();
                    // The longest prefix of the path that is a module.
                    let parts: Vec<&str> = path.split("::").collect();
                    (1..=parts.len())
                        .rev()
                        .map(|n| parts[..n].join("::"))
                        .find(|module| names.contains(module))
                })
                // A module's own parent (`kind` for `kind::lookalike`) is
                // where it is declared, not an import.
                .filter(|module| module != name && !name.starts_with(&format!("{module}::")))
                .collect();
            (name.clone(), named)
        })
        .collect()
}

/// The text without comments and without the in-file test module.
fn production_code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module reachable from `start` through imports.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut next: Vec<&String> = graph[start].iter().collect();
    while let Some(module) = next.pop() {
        if seen.insert(module.clone()) {
            next.extend(graph[module].iter());
        }
    }
    seen
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let graph = imports();
    assert!(graph.len() > 20, "found only {:?}", graph.keys());
    assert!(graph["job"].contains("stream"), "the scan reads imports");
    let circles: Vec<String> = graph
        .keys()
        .filter(|module| reachable(&graph, module).contains(*module))
        .cloned()
        .collect();
    assert!(
        circles.is_empty(),
        "these modules reach themselves through their imports: {circles:?}\n{graph:#?}"
    );
}
