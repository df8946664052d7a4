//! FastAPI builds operationIds as `name + munged(path) + "_" + method`, e.g.
//! `search_lookalikes_bulk_status_api_v1_account_search_lookalikes_bulk__job_id__get`.
//! progenitor names methods after the operationId, so the exact FastAPI suffix
//! is stripped, leaving `search_lookalikes_bulk_status`. An id that does not end
//! with the expected suffix, or two operations that would share a name, is an
//! error rather than a guess.

use super::NormaliseError;
use crate::schema_walk::for_each_operation_mut;
use serde_json::Value;
use std::collections::BTreeMap;

/// The suffix FastAPI appends to a route's name: every non-word character of
/// the path becomes `_` (Python's `re.sub(r"\W", "_", …)`), then `_<method>`.
pub fn fastapi_suffix(path: &str, method: &str) -> String {
    let munged: String = path
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{munged}_{}", method.to_lowercase())
}

/// Rewrites every operationId to the FastAPI route name it was built from.
pub fn clean_operation_ids(doc: &mut Value) -> Result<(), NormaliseError> {
    let mut result = Ok(());
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for_each_operation_mut(doc, &mut |path, method, operation| {
        if result.is_err() {
            return;
        }
        let clean = clean_name(path, method, operation);
        result = clean.and_then(|name| {
            let owner = format!("{} {path}", method.to_uppercase());
            if let Some(first) = owners.insert(name.clone(), owner.clone()) {
                return Err(NormaliseError::OperationNameCollision {
                    name,
                    first,
                    second: owner,
                });
            }
            operation["operationId"] = Value::String(name);
            Ok(())
        });
    });
    result
}

fn clean_name(path: &str, method: &str, operation: &Value) -> Result<String, NormaliseError> {
    let operation_id = operation
        .get("operationId")
        .and_then(Value::as_str)
        .map(str::trim)
        .ok_or_else(|| NormaliseError::MissingOperationId {
            method: method.to_uppercase(),
            path: path.into(),
        })?;
    let expected_suffix = fastapi_suffix(path, method);
    match operation_id.strip_suffix(&expected_suffix) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(NormaliseError::UnexpectedOperationId {
            operation_id: operation_id.into(),
            method: method.to_uppercase(),
            path: path.into(),
            expected_suffix,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn suffix_matches_fastapi_for_the_upstream_ids() {
        let path = "/api/v1/account/search-lookalikes-bulk/{job_id}";
        let id = "search_lookalikes_bulk_status_api_v1_account_search_lookalikes_bulk__job_id__get";
        assert_eq!(
            id.strip_suffix(&fastapi_suffix(path, "get")),
            Some("search_lookalikes_bulk_status")
        );
    }

    #[test]
    fn strips_the_suffix_of_every_operation() {
        let mut doc = json!({"paths": {"/api/v2/tech/companies/intent-search/{job_id}": {"get": {
            "operationId": "tech_intent_search_status_api_v2_tech_companies_intent_search__job_id__get"
        }}}});
        clean_operation_ids(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/api/v2/tech/companies/intent-search/{job_id}"]["get"]["operationId"],
            "tech_intent_search_status"
        );
    }

    #[test]
    fn an_id_without_the_fastapi_suffix_is_an_error_that_shows_the_suffix() {
        let mut doc = json!({"paths": {"/jobs/{id}": {"get": {"operationId": "getJob"}}}});
        let message = clean_operation_ids(&mut doc).unwrap_err().to_string();
        assert!(message.contains("`_jobs__id__get`"), "{message}");
    }

    #[test]
    fn an_id_that_is_only_the_suffix_is_an_error() {
        let mut doc = json!({"paths": {"/jobs": {"get": {"operationId": "_jobs_get"}}}});
        assert!(clean_operation_ids(&mut doc).is_err());
    }

    #[test]
    fn two_operations_with_one_name_collide() {
        let mut doc = json!({"paths": {
            "/a": {"get": {"operationId": "job_a_get"}},
            "/b": {"get": {"operationId": "job_b_get"}}
        }});
        let error = clean_operation_ids(&mut doc).unwrap_err();
        assert!(
            matches!(error, NormaliseError::OperationNameCollision { ref name, .. } if name == "job"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_id_is_an_error() {
        let mut doc = json!({"paths": {"/a": {"get": {}}}});
        assert!(matches!(
            clean_operation_ids(&mut doc),
            Err(NormaliseError::MissingOperationId { .. })
        ));
    }
}
