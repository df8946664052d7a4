//! Every `example` in the vendored spec (upstream fragments and our supplement)
//! decodes into the generated type its schema names, and re-encodes with no
//! field lost, including fields the schema does not declare.

use openfunnel_api::types;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi")
}

fn spec_files() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    for sub in ["upstream", "supplement"] {
        let dir = spec_dir().join(sub);
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: Value = serde_norway::from_str(&text).unwrap();
            files.push((path.display().to_string(), doc));
        }
    }
    assert!(
        files.len() >= 3,
        "expected the vendored files, found {}",
        files.len()
    );
    files
}

/// Decodes `example` as `T`, then encodes it again.
fn reencode<T: Serialize + DeserializeOwned>(example: &Value) -> Result<Value, String> {
    let decoded: T = serde_json::from_value(example.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(decoded).map_err(|e| e.to_string())
}

/// The generated type for each component schema that carries examples.
fn round_trip(schema: &str, example: &Value) -> Result<Value, String> {
    match schema {
        "BulkLookalikeJobResponse" => reencode::<types::BulkLookalikeJobResponse>(example),
        "BulkLookalikeSearchRequest" => reencode::<types::BulkLookalikeSearchRequest>(example),
        "BulkLookalikeSubmitResponse" => reencode::<types::BulkLookalikeSubmitResponse>(example),
        "BulkLookalikeCancelResponse" => reencode::<types::BulkLookalikeCancelResponse>(example),
        "TechIntentJobResponse" => reencode::<types::TechIntentJobResponse>(example),
        "TechIntentSearchRequest" => reencode::<types::TechIntentSearchRequest>(example),
        "TechIntentSubmitResponse" => reencode::<types::TechIntentSubmitResponse>(example),
        "HTTPValidationError" => reencode::<types::HttpValidationError>(example),
        other => Err(format!(
            "no generated type is mapped for schema `{other}`: add it to round_trip()"
        )),
    }
}

/// Asserts every field of `original` is in `reencoded` with the same value.
/// A `null` may come back absent (optional fields are skipped when empty).
fn assert_no_field_lost(original: &Value, reencoded: &Value, at: &str) {
    match (original, reencoded) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let path = format!("{at}.{key}");
                match have.get(key) {
                    Some(found) => assert_no_field_lost(value, found, &path),
                    None => assert!(value.is_null(), "{path} was lost on re-encode"),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            assert_eq!(want.len(), have.len(), "{at}: array length changed");
            for (index, (w, h)) in want.iter().zip(have).enumerate() {
                assert_no_field_lost(w, h, &format!("{at}[{index}]"));
            }
        }
        (Value::Number(want), Value::Number(have)) => {
            assert_eq!(want.as_f64(), have.as_f64(), "{at}: number changed")
        }
        _ => assert_eq!(original, reencoded, "{at}: value changed"),
    }
}

/// `(where, schema name, example)` for every media-type example in `doc`.
fn media_type_examples(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let bodies = operation
                .get("requestBody")
                .map(|body| ("request".to_string(), body))
                .into_iter()
                .chain(
                    operation["responses"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(code, response)| (code.clone(), response)),
                );
            for (which, body) in bodies {
                for media in body["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, m)| m)
                {
                    let Some(example) = media.get("example") else {
                        continue;
                    };
                    let schema = media["schema"]["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .unwrap_or_else(|| {
                            panic!("{method} {path} {which}: example without a $ref schema")
                        });
                    found.push((
                        format!("{} {path} {which}", method.to_uppercase()),
                        schema.to_string(),
                        example.clone(),
                    ));
                }
            }
        }
    }
    found
}

/// How many `example` keys `value` holds anywhere, to prove none is skipped.
fn count_example_keys(value: &Value) -> usize {
    match value {
        Value::Object(object) => object
            .iter()
            .map(|(key, child)| usize::from(key == "example") + count_example_keys(child))
            .sum(),
        Value::Array(items) => items.iter().map(count_example_keys).sum(),
        _ => 0,
    }
}

#[test]
fn every_spec_example_round_trips_without_losing_a_field() {
    let mut checked = 0;
    for (file, doc) in spec_files() {
        let examples = media_type_examples(&doc);
        assert_eq!(
            examples.len(),
            count_example_keys(&doc),
            "{file}: an example sits somewhere this test does not look"
        );
        for (location, schema, example) in examples {
            let reencoded = round_trip(&schema, &example)
                .unwrap_or_else(|e| panic!("{file}: {location} ({schema}) does not decode: {e}"));
            assert_no_field_lost(&example, &reencoded, &format!("{location} {schema}"));
            checked += 1;
        }
    }
    // 2 upstream poll responses + 2 request bodies and 3 responses in the supplement.
    assert_eq!(checked, 7);
}

#[test]
fn an_intent_rows_undeclared_firmographics_survive_decode_and_encode() {
    let row = json!({
        "company_slug": "acme-analytics",
        "company_name": "Acme Analytics",
        "post_count": 7,
        "enriched": true,
        "website": "acme-analytics.com",
        "linkedin_url": "https://www.linkedin.com/company/acme-analytics",
        "linkedin_org_id": "1234567",
        "linkedin_follower_count": 15400,
        "employee_count": 850,
        "industries": ["Software Development", "Data Infrastructure"],
        "description": "Analytics for retailers",
        "hq_city": "Austin",
        "hq_region": "Texas",
        "hq_country": "United States",
        "hq_country_code": "USA",
        "funding_stage": "Series C",
        "total_funding_usd": 120000000,
        "latest_funding_usd": 60000000.5,
        "revenue_usd": null,
        "intent": {
            "activity": "migrating off Redshift to Snowflake",
            "reason": "The posting describes \"leading our migration\".",
            "qualified_job": {"title": "Senior Data Engineer", "url": null, "created": null, "snippet": "…to <em>Snowflake</em>…"}
        }
    });
    let decoded: types::TechIntentCompanyRow = serde_json::from_value(row.clone()).unwrap();
    assert_eq!(decoded.extra["website"], "acme-analytics.com");
    assert_eq!(decoded.extra["employee_count"], 850);
    assert_eq!(decoded.extra["industries"][1], "Data Infrastructure");
    assert_eq!(
        decoded.intent.qualified_job.title.as_deref(),
        Some("Senior Data Engineer")
    );
    let reencoded = serde_json::to_value(&decoded).unwrap();
    assert_no_field_lost(&row, &reencoded, "row");
    // `revenue_usd: null` is an undeclared field too: kept as it came.
    assert_eq!(reencoded["revenue_usd"], Value::Null);
}

#[test]
fn the_field_check_catches_a_lost_field() {
    // Guards the guard: a dropped field must fail the comparison.
    let lost = std::panic::catch_unwind(|| {
        assert_no_field_lost(&json!({"website": "a.com"}), &json!({}), "row")
    });
    assert!(lost.is_err());
}
