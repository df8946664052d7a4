//! typify names an inline object type after its `title`, and two *different*
//! inline schemas with one title are silently merged into one struct. FastAPI
//! gives nearly every nested schema a title (`Title`, `Count`, …), so nested
//! titles are removed and typify names inline types after where they sit
//! (`TechIntentVerdictQualifiedJob`). Component schemas are named by their key
//! in `components.schemas`, so their titles are kept.

use crate::schema_walk::SchemaPosition;
use serde_json::{Map, Value};

/// Removes the `title` keyword of a schema that is not a component root.
pub fn strip_nested_titles(schema: &mut Map<String, Value>, position: SchemaPosition) {
    if position == SchemaPosition::Nested {
        schema.remove("title");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_walk::for_each_schema_mut;
    use serde_json::json;

    #[test]
    fn nested_titles_go_and_fields_named_title_stay() {
        let mut doc = json!({"components": {"schemas": {"Verdict": {
            "title": "Verdict",
            "properties": {
                "qualified_job": {
                    "type": "object",
                    "title": "Qualified Job",
                    "properties": {"title": {"type": "string", "title": "Title"}}
                }
            }
        }}}});
        for_each_schema_mut(&mut doc, &mut strip_nested_titles);
        assert_eq!(
            doc,
            json!({"components": {"schemas": {"Verdict": {
                "title": "Verdict",
                "properties": {
                    "qualified_job": {
                        "type": "object",
                        "properties": {"title": {"type": "string"}}
                    }
                }
            }}}})
        );
    }
}
