//! The change report `cargo xtask codegen` prints: what a spec change means
//! for users of the generated client, per operation and per schema.
//!
//! The comparison is [drift]'s (Oxide's OpenAPI differ, on the same
//! `openapiv3` as progenitor). drift classifies for a *server*: backward
//! incompatible breaks old clients, forward incompatible breaks old servers.
//! This report classifies for a *Rust client generated from the document*,
//! where a changed type, a new positional parameter or a removed field fail
//! to compile — see [`verdict`]. drift leaves object property changes
//! "unhandled"; for those the two property lists are compared here, so the
//! report names the field.
//!
//! [drift]: https://github.com/oxidecomputer/drift

use drift::{ChangeClass, ChangeComparison, ChangeDetails};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// What a change means for code that uses the generated client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Code that compiled and worked may stop doing either: a major change
    /// (pre-1.0, the minor number).
    Breaking,
    /// Existing code keeps compiling and working.
    Compatible,
}

/// One change, with where it is and what it means.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Breaking or compatible for the client.
    pub verdict: Verdict,
    /// The operation (`GET /api/…`) or schema (`schema Row`) it is in.
    pub place: String,
    /// What changed, in words.
    pub what: String,
}

/// Every change between two normalised documents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Sorted: breaking first, then by place.
    pub entries: Vec<Entry>,
}

impl Report {
    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.entries
            .iter()
            .any(|entry| entry.verdict == Verdict::Breaking)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return writeln!(f, "spec change report: no change a client can see");
        }
        writeln!(
            f,
            "spec change report ({} change(s), for code using the generated client):",
            self.entries.len()
        )?;
        for entry in &self.entries {
            let verdict = match entry.verdict {
                Verdict::Breaking => "BREAKING  ",
                Verdict::Compatible => "compatible",
            };
            writeln!(f, "  {verdict}  {}: {}", entry.place, entry.what)?;
        }
        if self.is_breaking() {
            writeln!(
                f,
                "a breaking change needs a version bump of openfunnel-api (and of openfunnel if its API changes): pre-1.0, the minor number"
            )?;
        }
        Ok(())
    }
}

/// Why two documents could not be compared.
#[derive(Debug, thiserror::Error)]
#[error("the change report could not compare the documents: {0}")]
pub struct ReportError(String);

/// Compares the committed normalised document `old` with the new one.
pub fn compare(old: &Value, new: &Value) -> Result<Report, ReportError> {
    let changes = drift::compare(old, new).map_err(|error| ReportError(format!("{error:#}")))?;
    let mut entries = BTreeSet::new();
    for change in changes {
        let Some(path) = change.paths.first() else {
            continue;
        };
        for info in &change.changes {
            let (old_base, _) = path.old.base_and_subpath();
            let (new_base, _) = path.new.base_and_subpath();
            let place = place(if new_base == "#/paths" {
                old_base
            } else {
                new_base
            });
            if info.message.starts_with("object ") && info.message.contains("properties changed") {
                let old_schema = resolve(old, old_base, &info.old_subpath);
                let new_schema = resolve(new, new_base, &info.new_subpath);
                entries.extend(property_changes(
                    old_schema,
                    new_schema,
                    path.comparison,
                    &place,
                    &info.new_subpath,
                ));
                continue;
            }
            let at = if info.new_subpath.is_empty() {
                String::new()
            } else {
                format!(" (at {})", info.new_subpath)
            };
            entries.insert(Entry {
                verdict: verdict(info.class, info.details, path.comparison),
                place: place.clone(),
                what: format!("{}{at}", info.message),
            });
        }
    }
    Ok(Report {
        entries: entries.into_iter().collect(),
    })
}

/// The client's verdict on one of drift's classified changes.
///
/// ```
/// use drift::{ChangeClass::*, ChangeComparison::*, ChangeDetails::*};
/// use xtask::report::{verdict, Verdict};
/// // A new operation is a new method.
/// assert_eq!(verdict(ForwardIncompatible, Added, Structural), Verdict::Compatible);
/// // A new optional parameter is a new positional argument.
/// assert_eq!(verdict(ForwardIncompatible, Added, Input), Verdict::Breaking);
/// // A looser limit on what is sent refuses nothing that worked.
/// assert_eq!(verdict(ForwardIncompatible, LessStrict, Input), Verdict::Compatible);
/// assert_eq!(verdict(BackwardIncompatible, MoreStrict, Input), Verdict::Breaking);
/// ```
pub fn verdict(
    class: ChangeClass,
    details: ChangeDetails,
    comparison: ChangeComparison,
) -> Verdict {
    use ChangeComparison::*;
    use ChangeDetails::*;
    match (class, details, comparison) {
        (ChangeClass::Trivial, _, _) | (_, Metadata, _) => Verdict::Compatible,
        // A new operation is a new method; a new response (status code) of
        // an existing one is decoded as before or kept as an error.
        (_, Added, Structural | Output) => Verdict::Compatible,
        // progenitor's positional methods take every parameter.
        (_, Added | AddedRequired, Input) => Verdict::Breaking,
        (_, AddedRequired, _) => Verdict::Compatible,
        (_, Removed, _) => Verdict::Breaking,
        (_, LessStrict, _) => Verdict::Compatible,
        (_, MoreStrict, Input) => Verdict::Breaking,
        (_, MoreStrict, _) => Verdict::Compatible,
        // A changed type is a changed Rust type; what drift cannot classify
        // is treated as breaking until a reviewer says otherwise.
        (_, Datatype | UnknownDifference, _) => Verdict::Breaking,
    }
}

/// `GET /api/…` for an operation, `schema Name` for a component.
fn place(base: &str) -> String {
    let unescape = |token: &str| token.replace("~1", "/").replace("~0", "~");
    if let Some(name) = base.strip_prefix("#/components/schemas/") {
        return format!("schema {}", unescape(name));
    }
    if let Some((path, method)) = base
        .strip_prefix("#/paths/")
        .and_then(|rest| rest.rsplit_once('/'))
    {
        return format!("{} {}", method.to_uppercase(), unescape(path));
    }
    base.to_string()
}

fn resolve<'a>(doc: &'a Value, base: &str, subpath: &str) -> Option<&'a Value> {
    let base = base.strip_prefix('#').unwrap_or(base);
    let pointer = if subpath.is_empty() {
        base.to_string()
    } else {
        format!("{base}/{subpath}")
    };
    doc.pointer(&pointer)
}

/// Property by property, what changed between two object schemas.
fn property_changes(
    old: Option<&Value>,
    new: Option<&Value>,
    comparison: ChangeComparison,
    place: &str,
    at: &str,
) -> Vec<Entry> {
    let names = |schema: Option<&Value>| -> BTreeSet<String> {
        schema
            .and_then(|schema| schema.get("properties"))
            .and_then(Value::as_object)
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default()
    };
    let required = |schema: Option<&Value>| -> BTreeSet<String> {
        schema
            .and_then(|schema| schema.get("required"))
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old_names, new_names) = (names(old), names(new));
    let (old_required, new_required) = (required(old), required(new));
    let within = if at.is_empty() {
        String::new()
    } else {
        format!(" (in {at})")
    };
    let input = comparison == ChangeComparison::Input;
    let mut entries = Vec::new();
    let mut push = |verdict, what: String| {
        entries.push(Entry {
            verdict,
            place: place.to_string(),
            what: format!("{what}{within}"),
        })
    };
    for added in new_names.difference(&old_names) {
        let is_required = new_required.contains(added);
        let verdict = if input && is_required {
            Verdict::Breaking
        } else {
            Verdict::Compatible
        };
        let kind = if is_required { "required" } else { "optional" };
        push(verdict, format!("{kind} field `{added}` added"));
    }
    for removed in old_names.difference(&new_names) {
        push(Verdict::Breaking, format!("field `{removed}` removed"));
    }
    for kept in old_names.intersection(&new_names) {
        let schema_of = |schema: Option<&Value>| {
            schema
                .and_then(|schema| {
                    schema.pointer(&format!(
                        "/properties/{}",
                        kept.replace('~', "~0").replace('/', "~1")
                    ))
                })
                .map(without_prose)
        };
        if schema_of(old) != schema_of(new) {
            push(
                Verdict::Breaking,
                format!("field `{kept}` changed its schema"),
            );
        }
        match (old_required.contains(kept), new_required.contains(kept)) {
            (false, true) => push(
                Verdict::Breaking,
                format!("field `{kept}` became required (its Rust type loses its Option)"),
            ),
            (true, false) => push(
                Verdict::Breaking,
                format!("field `{kept}` became optional (its Rust type becomes an Option)"),
            ),
            _ => {}
        }
    }
    entries
}

/// `schema` without the words that document it (`description`, `title`,
/// `example(s)`), which change no type.
fn without_prose(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "description" | "title" | "example" | "examples"
                    )
                })
                .map(|(key, value)| (key.clone(), without_prose(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_prose).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn committed() -> Value {
        let path = crate::codegen::repository_root().join(crate::codegen::NORMALISED_DOCUMENT);
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn report_after(change: impl FnOnce(&mut Value)) -> Report {
        let old = committed();
        let mut new = old.clone();
        change(&mut new);
        compare(&old, &new).unwrap()
    }

    fn only(report: &Report) -> &Entry {
        assert_eq!(report.entries.len(), 1, "{report}");
        &report.entries[0]
    }

    #[test]
    fn the_same_document_reports_nothing() {
        let report = report_after(|_| {});
        assert!(
            report.entries.is_empty() && !report.is_breaking(),
            "{report}"
        );
    }

    #[test]
    fn an_optional_row_field_added_is_compatible_and_named() {
        let report = report_after(|doc| {
            doc["components"]["schemas"]["BulkLookalikeResultRow"]["properties"]["headcount_band"] =
                json!({"type": "string", "nullable": true});
        });
        let entry = only(&report);
        assert_eq!(entry.verdict, Verdict::Compatible, "{report}");
        assert_eq!(entry.place, "schema BulkLookalikeResultRow");
        assert!(
            entry.what.contains("optional field `headcount_band` added"),
            "{report}"
        );
        assert!(!report.is_breaking());
    }

    #[test]
    fn a_row_field_removed_is_breaking_and_named() {
        let report = report_after(|doc| {
            doc["components"]["schemas"]["BulkLookalikeResultRow"]["properties"]
                .as_object_mut()
                .unwrap()
                .remove("linkedin_url");
        });
        let entry = only(&report);
        assert_eq!(entry.verdict, Verdict::Breaking, "{report}");
        assert!(
            entry.what.contains("field `linkedin_url` removed"),
            "{report}"
        );
        assert!(report.to_string().contains("version bump"), "{report}");
    }

    #[test]
    fn a_new_required_request_field_is_breaking_and_a_new_optional_one_is_not() {
        let add = |required: bool| {
            report_after(|doc| {
                let request = &mut doc["components"]["schemas"]["BulkLookalikeSearchRequest"];
                request["properties"]["region"] = json!({"type": "string"});
                if required {
                    request["required"] = json!(["region"]);
                }
            })
        };
        let required = add(true);
        assert!(required.is_breaking(), "{required}");
        assert!(
            required
                .entries
                .iter()
                .any(|entry| entry.what.contains("required field `region` added")),
            "{required}"
        );
        let optional = add(false);
        assert!(!optional.is_breaking(), "{optional}");
    }

    #[test]
    fn a_field_whose_type_narrows_is_breaking_and_a_description_is_not() {
        let narrowed = report_after(|doc| {
            doc["components"]["schemas"]["BulkLookalikeResultRow"]["properties"]["name"] =
                json!({"type": "integer"});
        });
        assert!(narrowed.is_breaking(), "{narrowed}");
        assert!(narrowed.to_string().contains("name"), "{narrowed}");
        let reworded = report_after(|doc| {
            doc["components"]["schemas"]["BulkLookalikeResultRow"]["description"] =
                json!("Reworded.");
        });
        assert!(!reworded.is_breaking(), "{reworded}");
    }

    #[test]
    fn an_operation_removed_is_breaking_and_one_added_is_compatible() {
        let removed = report_after(|doc| {
            doc["paths"]
                .as_object_mut()
                .unwrap()
                .remove("/api/v1/account/search-lookalikes-bulk/{job_id}/cancel");
        });
        let entry = only(&removed);
        assert_eq!(entry.verdict, Verdict::Breaking, "{removed}");
        assert!(entry.place.contains("/cancel"), "{removed}");
        let added = report_after(|doc| {
            doc["paths"]["/api/v1/account/credits"] = json!({"get": {
                "operationId": "credits",
                "responses": {"200": {"description": "ok"}}
            }});
        });
        assert!(!added.entries.is_empty() && !added.is_breaking(), "{added}");
    }

    #[test]
    fn a_field_becoming_required_or_optional_is_breaking() {
        for (before, after, said) in [
            (false, true, "field `name` became required"),
            (true, false, "field `name` became optional"),
        ] {
            let mut old = committed();
            let row = &mut old["components"]["schemas"]["BulkLookalikeResultRow"];
            row["required"] = if before { json!(["name"]) } else { json!([]) };
            let mut new = old.clone();
            new["components"]["schemas"]["BulkLookalikeResultRow"]["required"] =
                if after { json!(["name"]) } else { json!([]) };
            let report = compare(&old, &new).unwrap();
            assert!(report.is_breaking(), "{report}");
            assert!(
                report.entries.iter().any(|entry| entry.what.contains(said)),
                "{report}"
            );
        }
    }

    #[test]
    fn beside_an_added_field_a_kept_one_is_compared_without_its_words() {
        let report = report_after(|doc| {
            let row = &mut doc["components"]["schemas"]["BulkLookalikeResultRow"]["properties"];
            row["headcount_band"] = json!({"type": "string", "nullable": true});
            row["name"]["description"] = json!("Reworded, no type changed.");
        });
        // (drift reports the reworded description itself, as metadata.)
        assert!(!report.is_breaking(), "{report}");
        assert!(
            report
                .entries
                .iter()
                .any(|entry| entry.what.contains("`headcount_band` added")),
            "{report}"
        );
        let report = report_after(|doc| {
            let row = &mut doc["components"]["schemas"]["BulkLookalikeResultRow"]["properties"];
            row["headcount_band"] = json!({"type": "string", "nullable": true});
            row["name"] = json!({"type": "integer"});
        });
        assert!(
            report
                .entries
                .iter()
                .any(|entry| entry.verdict == Verdict::Breaking
                    && entry.what.contains("field `name` changed its schema")),
            "{report}"
        );
    }

    #[test]
    fn an_object_change_that_is_not_its_property_list_is_still_reported() {
        let report = report_after(|doc| {
            doc["components"]["schemas"]["BulkLookalikeResultRow"]["additionalProperties"] =
                json!(false);
        });
        assert!(!report.entries.is_empty(), "{report}");
    }
}
