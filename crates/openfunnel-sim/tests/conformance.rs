//! Every response the simulator sends conforms to the vendored spec: each is
//! validated against the schema of its operation in the normalised document,
//! strictly (a field the spec does not declare is an error unless the schema
//! allows extra fields).

use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
use serde_json::{Value, json};
use std::time::Duration;

/// Titles of the schemas the vendored files declare open
/// (`additionalProperties: true`). The normalised document opens every object
/// so the SDK keeps unknown fields; the simulator must still send only what
/// the vendored spec declares, so only these accept undeclared fields here.
fn open_by_design() -> std::collections::HashSet<String> {
    let mut open = std::collections::HashSet::new();
    for sub in ["upstream", "supplement"] {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/").to_string() + sub;
        for entry in std::fs::read_dir(dir).expect("the vendored spec is there") {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let doc: Value = serde_norway::from_str(&text).unwrap();
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
    }
    open
}

thread_local! {
    static OPEN: std::collections::HashSet<String> = open_by_design();
}

fn spec() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openfunnel-api/openapi.normalized.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the normalised document is checked in");
    serde_norway::from_str(&text).expect("it is YAML")
}

/// Collects every way `value` breaks `schema` (an OpenAPI 3.0 schema).
fn validate(value: &Value, schema: &Value, doc: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return validate(value, &doc["components"]["schemas"][name], doc, at, errors);
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
        validate(value, member, doc, at, errors);
    }
    if let Some(members) = schema.get("anyOf").and_then(Value::as_array) {
        let fits = members.iter().any(|m| {
            let mut local = Vec::new();
            validate(value, m, doc, at, &mut local);
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
        let open = OPEN.with(|open| open.contains(title));
        for (key, child) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(child_schema) => {
                    validate(child, child_schema, doc, &format!("{at}.{key}"), errors)
                }
                None if open => {}
                None => errors.push(format!("{at}: `{key}` is not declared by the spec")),
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            validate(item, schema, doc, &format!("{at}[{index}]"), errors);
        }
    }
}

/// The schema of `operation`'s response with `status` (or its 2XX range).
fn response_schema(doc: &Value, path: &str, method: &str, status: u16) -> Value {
    let responses = &doc["paths"][path][method]["responses"];
    let exact = &responses[status.to_string()];
    let response = if exact.is_object() {
        exact
    } else {
        &responses["2XX"]
    };
    response["content"]["application/json"]["schema"].clone()
}

struct Checker {
    doc: Value,
    http: reqwest::Client,
    base: String,
    checked: usize,
}

impl Checker {
    async fn call(
        &mut self,
        method: &str,
        path: &str,
        template: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "post" => self.http.post(url).json(&body.unwrap_or(Value::Null)),
            _ => self.http.get(url),
        };
        let response = request
            .header("x-api-key", "of_sim")
            .send()
            .await
            .expect("the simulator answers");
        let status = response.status().as_u16();
        let value: Value = response.json().await.expect("every body is JSON");
        let schema = response_schema(&self.doc, template, method, status);
        assert!(
            schema.is_object(),
            "{method} {template} answered {status}, which the spec does not describe with a body"
        );
        let mut errors = Vec::new();
        validate(&value, &schema, &self.doc, "$", &mut errors);
        assert!(
            errors.is_empty(),
            "{method} {path} ({status}) breaks the spec: {errors:#?}\n{value:#}"
        );
        self.checked += 1;
        (status, value)
    }
}

const LOOKALIKES: &str = "/api/v1/account/search-lookalikes-bulk";
const LOOKALIKE_JOB: &str = "/api/v1/account/search-lookalikes-bulk/{job_id}";
const LOOKALIKE_CANCEL: &str = "/api/v1/account/search-lookalikes-bulk/{job_id}/cancel";
const INTENT: &str = "/api/v2/tech/companies/intent-search";
const INTENT_JOB: &str = "/api/v2/tech/companies/intent-search/{job_id}";

#[tokio::test]
async fn every_response_over_a_jobs_life_conforms_to_the_spec() {
    let profile = JobProfile::default()
        .with_rows(250)
        .with_pending_for(Duration::from_millis(100))
        .with_run_time(Duration::from_millis(600));
    let sim = Simulator::start_with(SimConfig::default().with_profile(profile))
        .await
        .unwrap();
    let mut checker = Checker {
        doc: spec(),
        http: reqwest::Client::new(),
        base: sim.base_url().into(),
        checked: 0,
    };

    for (submit, poll, body) in [
        (
            LOOKALIKES,
            LOOKALIKE_JOB,
            json!({"query": "observability platforms", "limit": 250}),
        ),
        (
            INTENT,
            INTENT_JOB,
            json!({"tech": "Snowflake", "activity": "migrating off Redshift", "limit": 250, "enrich": true}),
        ),
    ] {
        let (status, accepted) = checker.call("post", submit, submit, Some(body)).await;
        assert_eq!(status, 200);
        let id = accepted["job_id"].as_str().unwrap().to_string();
        let job_path = poll.replace("{job_id}", &id);
        let mut statuses = Vec::new();
        loop {
            // Walk every page written so far, then look at the status.
            let (_, first) = checker.call("get", &job_path, poll, None).await;
            let mut next = first["next_cursor"].as_str().map(str::to_string);
            while let Some(cursor) = next {
                let (_, page) = checker
                    .call("get", &format!("{job_path}?cursor={cursor}"), poll, None)
                    .await;
                next = page["next_cursor"].as_str().map(str::to_string);
            }
            let status = first["status"].as_str().unwrap().to_string();
            if statuses.last() != Some(&status) {
                statuses.push(status.clone());
            }
            if status == "completed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        assert_eq!(statuses, ["pending", "running", "completed"]);
    }

    // Cancel: accepted, then 409 once settled; errors are spec-shaped too.
    let id = sim.add_job(
        JobType::Lookalike,
        JobProfile::default()
            .with_rows(300)
            .with_run_time(Duration::from_secs(5)),
    );
    let cancel = LOOKALIKE_CANCEL.replace("{job_id}", &id);
    assert_eq!(
        checker
            .call("post", &cancel, LOOKALIKE_CANCEL, None)
            .await
            .0,
        200
    );
    let (_, cancelling) = checker
        .call(
            "get",
            &LOOKALIKE_JOB.replace("{job_id}", &id),
            LOOKALIKE_JOB,
            None,
        )
        .await;
    assert_eq!(cancelling["status"], "cancelling");
    let (status, _) = checker
        .call(
            "post",
            LOOKALIKES,
            LOOKALIKES,
            Some(json!({"query": "", "limit": 5})),
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        checker.checked > 20,
        "only {} responses checked",
        checker.checked
    );
}

#[test]
fn the_validator_catches_what_it_should() {
    let doc = spec();
    let schema = response_schema(&doc, LOOKALIKE_JOB, "get", 200);
    let mut errors = Vec::new();
    validate(
        &json!({"job_id": "j", "status": "running", "rows": [{"nmae": "typo"}]}),
        &schema,
        &doc,
        "$",
        &mut errors,
    );
    assert!(
        errors.iter().any(|e| e.contains("`nmae` is not declared")),
        "{errors:?}"
    );
    errors.clear();
    validate(
        &json!({"status": "running", "count": "three"}),
        &schema,
        &doc,
        "$",
        &mut errors,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}
