//! progenitor 0.15 only accepts `openapi: 3.0.x` and refuses `3.1.0` outright.
//! The other steps remove the 3.1-only constructs these files use, so the
//! document is labelled 3.0.3 once merged.

use super::NormaliseError;
use serde_json::Value;

/// The version written into the normalised document.
pub const TARGET_VERSION: &str = "3.0.3";

/// Refuses a file whose `openapi` version is not 3.0.x or 3.1.x, naming it.
pub fn check_version(file: &str, doc: &Value) -> Result<(), NormaliseError> {
    let version = doc.get("openapi").and_then(Value::as_str).unwrap_or("");
    if version.starts_with("3.0.") || version.starts_with("3.1.") {
        return Ok(());
    }
    Err(NormaliseError::InvalidFragment {
        file: file.into(),
        problem: format!(
            "unsupported `openapi` version {version:?}: only 3.0.x and 3.1.x documents are understood"
        ),
    })
}

/// Sets `openapi` to `3.0.3`; refuses anything that is not 3.0 or 3.1.
pub fn set_openapi_3_0(doc: &mut Value) -> Result<(), NormaliseError> {
    check_version("the merged document", doc)?;
    doc["openapi"] = Value::String(TARGET_VERSION.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_a_3_1_document_as_3_0_3() {
        let mut doc = json!({"openapi": "3.1.0"});
        set_openapi_3_0(&mut doc).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
    }

    #[test]
    fn each_file_s_version_is_checked_by_name() {
        let error = check_version("openapi/upstream/x.yaml", &json!({"openapi": "4.0.0"}))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("openapi/upstream/x.yaml") && error.contains("4.0.0"),
            "{error}"
        );
        assert!(check_version("a", &json!({"openapi": "3.0.2"})).is_ok());
    }

    #[test]
    fn refuses_swagger_2_and_missing_versions() {
        assert!(set_openapi_3_0(&mut json!({"swagger": "2.0"})).is_err());
        assert!(set_openapi_3_0(&mut json!({"openapi": "4.0.0"})).is_err());
    }
}
