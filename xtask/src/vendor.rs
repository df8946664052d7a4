//! `cargo xtask vendor PATH…`: copying what OpenFunnel publishes into
//! `openapi/upstream/`.
//!
//! OpenFunnel publishes two shapes, and each is taken its own way:
//! - **a documentation page** (Markdown with one fenced ```` ```yaml ```` block
//!   holding an OpenAPI document for one operation, as docs.openfunnel.dev
//!   serves them): the block is written **byte for byte** as upstream wrote it,
//!   over the upstream file that defines the same operation, or to a new file
//!   named after the operation's summary;
//! - **a whole OpenAPI document** (YAML or JSON): the operations this workspace
//!   already uses are sliced out with every component they reach, into one
//!   deterministic file named after the document's title (keys sorted, so *not*
//!   byte for byte); upstream files whose operations it now holds are removed.
//!
//! A page for an operation the workspace does not wrap is skipped (and said
//! so) unless `--new` is given; an operation the supplement also defines is
//! warned about, because `codegen` refuses to run until the supplement's entry
//! is deleted (upstream wins).

use crate::normalise::SpecFile;
use crate::schema_walk::HTTP_METHODS;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// An operation: upper-case method and path, as `GET /api/v1/…/{job_id}`.
pub type Operation = (String, String);

/// Why nothing was vendored.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The file is neither shape OpenFunnel publishes.
    #[error(
        "{path} is not what OpenFunnel publishes: {why}. Expected a documentation page (Markdown with one ```yaml block holding an OpenAPI document, as on docs.openfunnel.dev) or a whole OpenAPI document (YAML or JSON with `openapi` and `paths`)"
    )]
    NotOpenApi {
        /// The file.
        path: String,
        /// What was wrong with it.
        why: String,
    },
    /// The files already in `openapi/` could not be read.
    #[error(transparent)]
    Existing(#[from] crate::spec_files::SpecFileError),
}

/// What vendoring will do; [`apply`] carries it out.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Files to write (relative to the repository root) with their contents.
    pub writes: Vec<(String, String)>,
    /// Upstream files to delete, now that a sliced file holds their operations.
    pub removals: Vec<String>,
    /// What was skipped, and what the maintainer must do next.
    pub notes: Vec<String>,
}

/// Plans vendoring `sources` (each a display name and its text) into the
/// repository at `root`; `new` also vendors operations the workspace does not
/// use yet.
pub fn plan(root: &Path, sources: &[(String, String)], new: bool) -> Result<Plan, VendorError> {
    let existing = crate::spec_files::load_spec_dir(root, &root.join("openapi"))?;
    let used: BTreeSet<Operation> = existing
        .iter()
        .flat_map(|file| operations(&file.doc))
        .collect();
    let mut plan = Plan::default();
    for (name, text) in sources {
        match read_source(name, text)? {
            Source::Page(block, doc) => {
                plan_page(name, block, &doc, &existing, &used, new, &mut plan)?
            }
            Source::Document(doc) => plan_document(name, &doc, &existing, &used, &mut plan)?,
        }
    }
    Ok(plan)
}

/// Writes and removes what `plan` says, under `root`.
pub fn apply(root: &Path, plan: &Plan) -> Result<(), VendorError> {
    for (path, contents) in &plan.writes {
        std::fs::write(root.join(path), contents).map_err(|source| VendorError::Io {
            action: "write",
            path: path.clone(),
            source,
        })?;
    }
    for path in &plan.removals {
        std::fs::remove_file(root.join(path)).map_err(|source| VendorError::Io {
            action: "remove",
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// One published file, recognised.
#[derive(Debug)]
enum Source<'a> {
    /// A page's one OpenAPI block: its text exactly, and what it says.
    Page(&'a str, Value),
    /// A whole document.
    Document(Value),
}

fn read_source<'a>(name: &str, text: &'a str) -> Result<Source<'a>, VendorError> {
    let refused = |why: String| VendorError::NotOpenApi {
        path: name.to_string(),
        why,
    };
    let blocks = yaml_blocks(text);
    match blocks.as_slice() {
        [] => {}
        [block] => {
            let doc: Value = serde_norway::from_str(block).map_err(|error| {
                refused(format!("its ```yaml block is not valid YAML ({error})"))
            })?;
            return if is_openapi(&doc) {
                Ok(Source::Page(block, doc))
            } else {
                Err(refused(
                    "its ```yaml block is not an OpenAPI document (no `openapi` and `paths`)"
                        .into(),
                ))
            };
        }
        more => {
            return Err(refused(format!(
                "it has {} ```yaml blocks, and a page documents one operation in one",
                more.len()
            )));
        }
    }
    match serde_norway::from_str::<Value>(text) {
        Ok(doc) if is_openapi(&doc) => Ok(Source::Document(doc)),
        _ => Err(refused(
            "it has no ```yaml block and is not an OpenAPI document itself".into(),
        )),
    }
}

fn is_openapi(doc: &Value) -> bool {
    doc.get("openapi").is_some_and(Value::is_string)
        && doc.get("paths").is_some_and(Value::is_object)
}

/// The text of every fenced block whose info string starts with `yaml`, exactly
/// as between the fences (a fence is three or more backticks; it closes with a
/// line of at least as many).
///
/// ```
/// let page = "# Title\n\n````yaml openapi.json GET /x\nopenapi: 3.1.0\n````\n";
/// assert_eq!(xtask::vendor::yaml_blocks(page), ["openapi: 3.1.0\n"]);
/// ```
pub fn yaml_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, usize, bool)> = None; // fence length, start, is yaml
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let ticks = trimmed.len() - trimmed.trim_start_matches('`').len();
        match open {
            None if ticks >= 3 => {
                let info = trimmed[ticks..].trim_start();
                open = Some((
                    ticks,
                    offset + line.len(),
                    info.split_whitespace().next() == Some("yaml"),
                ));
            }
            Some((fence, start, yaml)) if ticks >= fence && trimmed[ticks..].trim().is_empty() => {
                if yaml {
                    blocks.push(&text[start..offset]);
                }
                open = None;
            }
            _ => {}
        }
        offset += line.len();
    }
    blocks
}

/// Every operation of `doc`.
pub fn operations(doc: &Value) -> BTreeSet<Operation> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return BTreeSet::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|item| item.keys())
                .filter(|method| HTTP_METHODS.contains(&method.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

fn shown(operations: &BTreeSet<Operation>) -> String {
    operations
        .iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plan_page(
    name: &str,
    block: &str,
    doc: &Value,
    existing: &[SpecFile],
    used: &BTreeSet<Operation>,
    new: bool,
    plan: &mut Plan,
) -> Result<(), VendorError> {
    let defined = operations(doc);
    if defined.is_empty() {
        return Err(VendorError::NotOpenApi {
            path: name.to_string(),
            why: "its OpenAPI block defines no operation".into(),
        });
    }
    if defined.is_disjoint(used) && !new {
        plan.notes.push(format!(
            "skipped {name}: {} is not an operation this workspace wraps (pass --new to vendor it anyway)",
            shown(&defined)
        ));
        return Ok(());
    }
    let target = existing
        .iter()
        .find(|file| {
            file.name.starts_with("openapi/upstream/")
                && !operations(&file.doc).is_disjoint(&defined)
        })
        .map(|file| file.name.clone())
        .unwrap_or_else(|| format!("openapi/upstream/{}.yaml", file_stem(doc, &defined)));
    warn_about_supplement(&defined, existing, &target, plan);
    plan.writes.push((target, block.to_string()));
    Ok(())
}

fn plan_document(
    name: &str,
    doc: &Value,
    existing: &[SpecFile],
    used: &BTreeSet<Operation>,
    plan: &mut Plan,
) -> Result<(), VendorError> {
    let defined = operations(doc);
    let wanted: BTreeSet<Operation> = defined.intersection(used).cloned().collect();
    let missing: BTreeSet<Operation> = used.difference(&defined).cloned().collect();
    if wanted.is_empty() {
        plan.notes.push(format!(
            "skipped {name}: it defines none of the operations this workspace wraps ({})",
            shown(used)
        ));
        return Ok(());
    }
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("openapi");
    let target = format!("openapi/upstream/{}.yaml", slug(title));
    for file in existing {
        let holds = operations(&file.doc);
        if file.name.starts_with("openapi/upstream/")
            && file.name != target
            && !holds.is_empty()
            && holds.is_subset(&wanted)
        {
            plan.removals.push(file.name.clone());
        }
    }
    if !missing.is_empty() {
        plan.notes.push(format!(
            "{name} does not define {}: those stay where they are defined now",
            shown(&missing)
        ));
    }
    warn_about_supplement(&wanted, existing, &target, plan);
    let sliced = slice(doc, &wanted);
    let text = serde_norway::to_string(&sliced).map_err(|error| VendorError::NotOpenApi {
        path: name.to_string(),
        why: format!("its slice cannot be written as YAML ({error})"),
    })?;
    plan.writes.push((target, text));
    Ok(())
}

fn warn_about_supplement(
    defined: &BTreeSet<Operation>,
    existing: &[SpecFile],
    target: &str,
    plan: &mut Plan,
) {
    for file in existing
        .iter()
        .filter(|file| file.name.starts_with("openapi/supplement/"))
    {
        let both = operations(&file.doc)
            .intersection(defined)
            .cloned()
            .collect::<BTreeSet<_>>();
        if !both.is_empty() {
            plan.notes.push(format!(
                "warning: {} now documented upstream ({target}) is still defined in {}: delete the supplement's entry (upstream wins; codegen refuses to run while both define it)",
                shown(&both),
                file.name
            ));
        }
    }
}

/// `doc` cut down to `wanted` and every component they reach, keys sorted.
fn slice(doc: &Value, wanted: &BTreeSet<Operation>) -> Value {
    let mut paths = BTreeMap::new();
    for (method, path) in wanted {
        let Some(item) = doc.pointer(&format!(
            "/paths/{}",
            path.replace('~', "~0").replace('/', "~1")
        )) else {
            continue;
        };
        let entry = paths.entry(path.clone()).or_insert_with(Map::new);
        if let Some(item) = item.as_object() {
            for (key, value) in item {
                let is_method = HTTP_METHODS.contains(&key.as_str());
                if !is_method || key.eq_ignore_ascii_case(method) {
                    entry.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let paths_value = Value::Object(
        paths
            .into_iter()
            .map(|(path, item)| (path, Value::Object(item)))
            .collect(),
    );
    let components = reached_components(doc, &paths_value);
    let mut sliced = Map::new();
    // The header every file carries, as the merge reads it.
    let header = crate::normalise::merge::SHARED_HEADER_FIELDS
        .iter()
        .copied();
    for key in std::iter::once("openapi").chain(header) {
        if let Some(value) = doc.get(key) {
            sliced.insert(key.to_string(), value.clone());
        }
    }
    sliced.insert("paths".into(), paths_value);
    if !components.is_empty() {
        sliced.insert("components".into(), Value::Object(components));
    }
    sorted(Value::Object(sliced))
}

/// Every `#/components/KIND/NAME` reachable from `from`, transitively, as a
/// `components` object.
fn reached_components(doc: &Value, from: &Value) -> Map<String, Value> {
    let mut pending = Vec::new();
    collect_refs(from, &mut pending);
    let mut seen = BTreeSet::new();
    let mut components: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    while let Some((kind, name)) = pending.pop() {
        if !seen.insert((kind.clone(), name.clone())) {
            continue;
        }
        if let Some(component) = doc.pointer(&format!("/components/{kind}/{name}")) {
            collect_refs(component, &mut pending);
            components
                .entry(kind)
                .or_default()
                .insert(name, component.clone());
        }
    }
    components
        .into_iter()
        .map(|(kind, map)| (kind, Value::Object(map)))
        .collect()
}

fn collect_refs(value: &Value, refs: &mut Vec<(String, String)>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child.as_str()) {
                    ("$ref", Some(target)) => {
                        let mut parts = target.trim_start_matches("#/components/").splitn(2, '/');
                        if let (true, Some(kind), Some(name)) = (
                            target.starts_with("#/components/"),
                            parts.next(),
                            parts.next(),
                        ) {
                            refs.push((kind.to_string(), name.to_string()));
                        }
                    }
                    _ => collect_refs(child, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}

/// `value` with every object's keys in sorted order, whatever `serde_json`'s
/// map keeps.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(object) => {
            let ordered: BTreeMap<String, Value> =
                object.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// A file name for a new page: its operation's summary, else its operationId,
/// else method and path.
fn file_stem(doc: &Value, defined: &BTreeSet<Operation>) -> String {
    let first = defined.iter().next();
    let operation =
        first.and_then(|(method, path)| doc.get("paths")?.get(path)?.get(method.to_lowercase()));
    let named = ["summary", "operationId"]
        .iter()
        .find_map(|key| operation?.get(key)?.as_str());
    match (named, first) {
        (Some(name), _) => slug(name),
        (None, Some((method, path))) => slug(&format!("{method} {path}")),
        (None, None) => "operation".into(),
    }
}

/// Lower-case words joined by `-`.
///
/// ```
/// assert_eq!(xtask::vendor::slug("Search Lookalikes Bulk"), "search-lookalikes-bulk");
/// assert_eq!(xtask::vendor::slug("GET /api/v1/{job_id}"), "get-api-v1-job-id");
/// ```
pub fn slug(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

/// Reads each of `paths` for [`plan`].
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>, VendorError> {
    paths
        .iter()
        .map(|path| {
            let name = path.display().to_string();
            std::fs::read_to_string(path)
                .map(|text| (name.clone(), text))
                .map_err(|source| VendorError::Io {
                    action: "read",
                    path: name,
                    source,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_fence_of_three_backticks_opens_a_block() {
        assert!(yaml_blocks("yaml\nopenapi: 3.1.0\n\nmore prose\n").is_empty());
        assert_eq!(yaml_blocks("```yaml\na: 1\n```\n"), ["a: 1\n"]);
        // A longer fence closes only with as many backticks.
        assert_eq!(yaml_blocks("````yaml\n```\n````\n"), ["```\n"]);
        assert!(yaml_blocks("```json\n{}\n```\n").is_empty());
    }

    #[test]
    fn sources_are_read_whole_with_their_names_and_a_missing_one_is_an_error() {
        let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/pages/tech-intent-search-results.md");
        let read = read_sources(std::slice::from_ref(&page)).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].0, page.display().to_string());
        assert_eq!(read[0].1, std::fs::read_to_string(&page).unwrap());
        let missing = read_sources(&[page.with_extension("gone")]).unwrap_err();
        assert!(
            matches!(missing, VendorError::Io { action: "read", .. }),
            "{missing}"
        );
    }

    #[test]
    fn an_openapi_document_needs_both_its_version_and_its_paths() {
        assert!(is_openapi(
            &serde_json::json!({"openapi": "3.1.0", "paths": {}})
        ));
        assert!(!is_openapi(&serde_json::json!({"openapi": "3.1.0"})));
        assert!(!is_openapi(&serde_json::json!({"paths": {}})));
    }
}
