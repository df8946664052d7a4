//! Upstream models the API key as a required `X-API-Key` *header parameter* of
//! every operation. Left in, progenitor makes it an argument of every method.
//! The key belongs to the client instead (set once, as a sensitive default
//! header: see `openfunnel-api`'s `auth` module), so the parameter is removed.

use crate::schema_walk::for_each_operation_mut;
use serde_json::Value;

/// The header that carries the key, compared case-insensitively.
pub const API_KEY_HEADER: &str = "X-API-Key";

/// Removes the `X-API-Key` header parameter from every operation and path item.
pub fn remove_api_key_parameters(doc: &mut Value) {
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            retain_non_key_parameters(item);
        }
    }
    for_each_operation_mut(doc, &mut |_, _, operation| {
        retain_non_key_parameters(operation)
    });
}

fn retain_non_key_parameters(holder: &mut Value) {
    let Some(object) = holder.as_object_mut() else {
        return;
    };
    let Some(parameters) = object.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    parameters.retain(|parameter| !is_api_key_parameter(parameter));
    if parameters.is_empty() {
        object.remove("parameters");
    }
}

fn is_api_key_parameter(parameter: &Value) -> bool {
    parameter.get("in").and_then(Value::as_str) == Some("header")
        && parameter
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| name.eq_ignore_ascii_case(API_KEY_HEADER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_the_key_header_and_keeps_other_parameters() {
        let mut doc = json!({"paths": {"/jobs/{id}": {"get": {"parameters": [
            {"name": "id", "in": "path"},
            {"name": "x-api-key", "in": "header"},
            {"name": "X-API-Key", "in": "query"}
        ]}}}});
        remove_api_key_parameters(&mut doc);
        assert_eq!(
            doc["paths"]["/jobs/{id}"]["get"]["parameters"],
            json!([{"name": "id", "in": "path"}, {"name": "X-API-Key", "in": "query"}])
        );
    }

    #[test]
    fn drops_a_parameter_list_that_only_held_the_key() {
        let mut doc = json!({"paths": {"/jobs": {
            "parameters": [{"name": "X-API-Key", "in": "header"}],
            "post": {"parameters": [{"name": "X-API-Key", "in": "header"}]}
        }}});
        remove_api_key_parameters(&mut doc);
        assert_eq!(doc, json!({"paths": {"/jobs": {"post": {}}}}));
    }
}
