//! Every response the simulator sends conforms to the vendored spec: each is
//! validated against the schema of its operation in the normalised document,
//! strictly (a field the spec does not declare is an error unless the schema
//! allows extra fields).

use openfunnel_sim::conformance::Spec;
use openfunnel_sim::{JobProfile, JobType, SimConfig, Simulator};
use serde_json::{Value, json};
use std::time::Duration;

struct Checker {
    spec: Spec,
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
        let errors = self.spec.check_response(template, method, status, &value);
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
        spec: Spec::vendored(),
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
    let spec = Spec::vendored();
    let errors = spec.check_response(
        LOOKALIKE_JOB,
        "get",
        200,
        &json!({"job_id": "j", "status": "running", "rows": [{"nmae": "typo"}]}),
    );
    assert!(
        errors.iter().any(|e| e.contains("`nmae` is not declared")),
        "{errors:?}"
    );
    let errors = spec.check_response(
        LOOKALIKE_JOB,
        "get",
        200,
        &json!({"status": "running", "count": "three"}),
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    let errors = spec.check_response(LOOKALIKE_JOB, "get", 418, &json!({}));
    assert_eq!(errors.len(), 1, "{errors:?}");
}
