//! progenitor 0.15 requires every error response of an operation to have the
//! same kind (it asserts `response_types.len() <= 1` and panics otherwise).
//! Upstream mixes bodiless 404/400 with a JSON 422. The bodiless ones are
//! removed: the generated client then reports them as
//! `Error::UnexpectedResponse`, which still carries the status and the body,
//! while the 422 keeps its typed `HttpValidationError`.

use crate::schema_walk::for_each_operation_mut;
use serde_json::Value;

/// Removes 4xx/5xx responses that declare no content from every operation.
pub fn drop_bodiless_error_responses(doc: &mut Value) {
    for_each_operation_mut(doc, &mut |_, _, operation| {
        if let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        {
            responses.retain(|code, response| !is_error_code(code) || has_content(response));
        }
    });
}

fn is_error_code(code: &str) -> bool {
    code.starts_with('4') || code.starts_with('5')
}

fn has_content(response: &Value) -> bool {
    response
        .get("content")
        .and_then(Value::as_object)
        .is_some_and(|content| !content.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mixed_error_responses_keep_only_the_typed_one() {
        let json_body = json!({"application/json": {"schema": {"$ref": "#/components/schemas/E"}}});
        let mut doc = json!({"paths": {"/jobs/{id}": {"get": {"responses": {
            "200": {"description": "ok", "content": json_body},
            "204": {"description": "empty success stays"},
            "400": {"description": "unknown cursor"},
            "404": {"description": "not found"},
            "422": {"description": "validation", "content": json_body},
            "5XX": {"description": "server", "content": {}}
        }}}}});
        drop_bodiless_error_responses(&mut doc);
        let codes: Vec<&String> = doc["paths"]["/jobs/{id}"]["get"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(codes, ["200", "204", "422"]);
    }
}
