//! Checks a response body against the vendored spec, strictly: a field the
//! spec does not declare is an error unless the vendored schema allows extra
//! fields (`additionalProperties: true`). The simulator's own tests check every
//! response it sends; the SDK's tests check the bodies their helpers build.

use serde_json::{Value, json};
use std::collections::HashSet;

// The normalised document progenitor generates from, and every vendored
// file it was made from (copied into this crate by `cargo xtask codegen`).
use crate::spec::{NORMALISED, VENDORED};

/// The vendored spec, ready to check bodies against.
///
/// ```
/// let spec = openfunnel_sim::conformance::Spec::vendored();
/// let body = serde_json::json!({"job_id": "j", "status": "running", "rows": [{"nmae": "typo"}]});
/// let errors = spec.check_response("/api/v1/account/search-lookalikes-bulk/{job_id}", "get", 200, &body);
/// assert!(errors.iter().any(|e| e.contains("`nmae` is not declared")));
/// ```
#[derive(Debug)]
pub struct Spec {
    doc: Value,
    /// Titles of the schemas the vendored files declare open. The normalised
    /// document opens every object so the SDK keeps unknown fields; a body
    /// must still carry only what the vendored spec declares.
    open: HashSet<String>,
}

impl Spec {
    /// The spec this workspace vendors (compiled in).
    pub fn vendored() -> Spec {
        let parse = |text: &str| -> Value { serde_norway::from_str(text).unwrap_or(Value::Null) };
        let mut open = HashSet::new();
        for (_, text) in VENDORED {
            let doc = parse(text);
            for (name, schema) in doc["components"]["schemas"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if schema["additionalProperties"] == json!(true) {
                    open.insert(schema["title"].as_str().unwrap_or(name).to_string());
                }
            }
        }
        Spec {
            doc: parse(NORMALISED),
            open,
        }
    }

    /// The normalised document itself, e.g. to read a limit from it.
    ///
    /// ```
    /// let spec = openfunnel_sim::conformance::Spec::vendored();
    /// let limit = &spec.document()["components"]["schemas"]["BulkLookalikeSearchRequest"]["properties"]["limit"];
    /// assert_eq!(limit["maximum"], 10_000);
    /// ```
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every way `body` breaks the response schema of `method path` (the
    /// path as the spec writes it, `{job_id}` and all) for `status`. Empty
    /// when it conforms; one error when the spec describes no such response.
    pub fn check_response(
        &self,
        path: &str,
        method: &str,
        status: u16,
        body: &Value,
    ) -> Vec<String> {
        let schema = self.response_schema(path, method, status);
        if !schema.is_object() {
            return vec![format!(
                "{method} {path} has no {status} response with a body in the spec"
            )];
        }
        let mut errors = Vec::new();
        self.validate(body, &schema, "$", &mut errors);
        errors
    }

    /// The schema of `operation`'s response with `status` (or its 2XX range).
    fn response_schema(&self, path: &str, method: &str, status: u16) -> Value {
        let responses = &self.doc["paths"][path][method]["responses"];
        let exact = &responses[status.to_string()];
        let response = if exact.is_object() {
            exact
        } else {
            &responses["2XX"]
        };
        response["content"]["application/json"]["schema"].clone()
    }

    /// Collects every way `value` breaks `schema` (an OpenAPI 3.0 schema).
    fn validate(&self, value: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
        let doc = &self.doc;
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/components/schemas/");
            return self.validate(value, &doc["components"]["schemas"][name], at, errors);
        }
        if value.is_null() {
            if schema.get("nullable") != Some(&json!(true)) {
                errors.push(format!("{at}: null but not nullable"));
            }
            return;
        }
        for member in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.validate(value, member, at, errors);
        }
        if let Some(members) = schema.get("anyOf").and_then(Value::as_array) {
            let fits = members.iter().any(|m| {
                let mut local = Vec::new();
                self.validate(value, m, at, &mut local);
                local.is_empty()
            });
            if !fits {
                errors.push(format!("{at}: matches no anyOf member"));
            }
        }
        let type_ok = match schema.get("type").and_then(Value::as_str) {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            _ => true,
        };
        if !type_ok {
            errors.push(format!("{at}: {value} is not of type {}", schema["type"]));
            return;
        }
        // A wrapper (`allOf: [$ref]`) leaves the fields to the schemas it wraps.
        let wraps = schema.get("allOf").is_some();
        if let Some(object) = value.as_object().filter(|_| !wraps) {
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = required.as_str().unwrap_or_default();
                if !object.contains_key(name) {
                    errors.push(format!("{at}: missing required `{name}`"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            let title = schema
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let open = self.open.contains(title);
            for (key, child) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(child_schema) => {
                        self.validate(child, child_schema, &format!("{at}.{key}"), errors)
                    }
                    None if open => {}
                    None => errors.push(format!("{at}: `{key}` is not declared by the spec")),
                }
            }
        }
        if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
            for (index, item) in items.iter().enumerate() {
                self.validate(item, schema, &format!("{at}[{index}]"), errors);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_checked() {
        let spec = Spec::vendored();
        let cases = [
            ("object", json!([]), json!({})),
            ("array", json!({}), json!([])),
            ("string", json!(1), json!("x")),
            ("integer", json!(1.5), json!(u64::MAX)),
            ("integer", json!("1"), json!(-3)),
            ("number", json!("1"), json!(1.5)),
            ("boolean", json!("true"), json!(false)),
        ];
        for (kind, wrong, right) in cases {
            let schema = json!({ "type": kind });
            let mut errors = Vec::new();
            spec.validate(&wrong, &schema, "$", &mut errors);
            assert_eq!(errors.len(), 1, "{wrong} is not {kind}: {errors:?}");
            errors.clear();
            spec.validate(&right, &schema, "$", &mut errors);
            assert!(errors.is_empty(), "{right} is {kind}: {errors:?}");
        }
    }
}
