//! The SDK's own request checks follow the vendored spec: each limit it
//! enforces before sending is the spec's, so a spec change that moves a
//! limit fails here until the SDK moves with it.

use openfunnel::{LookalikeSearch, TechIntentSearch};
use openfunnel_sim::conformance::Spec;
use serde_json::Value;

/// `schema.field`'s `key` (e.g. `maximum`) in the vendored spec.
fn limit(spec: &Value, schema: &str, field: &str, key: &str) -> u64 {
    spec["components"]["schemas"][schema]["properties"][field][key]
        .as_u64()
        .unwrap_or_else(|| panic!("the spec gives {schema}.{field} no {key}"))
}

fn text(length: u64) -> String {
    "x".repeat(length as usize)
}

#[test]
fn every_limit_checked_before_sending_is_the_spec_s() {
    let spec = Spec::vendored();
    let spec = spec.document();
    let lookalike = "BulkLookalikeSearchRequest";
    let query = |q: String| LookalikeSearch::default().query(q).validate();
    let max = limit(spec, lookalike, "query", "maxLength");
    assert!(
        query(text(max)).is_ok() && query(text(max + 1)).is_err(),
        "query ≤ {max}"
    );
    let max = limit(spec, lookalike, "limit", "maximum");
    let min = limit(spec, lookalike, "limit", "minimum");
    let with_limit = |n: u64| {
        LookalikeSearch::default()
            .query("x")
            .limit(n as u32)
            .validate()
    };
    assert!(
        with_limit(max).is_ok() && with_limit(max + 1).is_err(),
        "limit ≤ {max}"
    );
    assert!(
        with_limit(min).is_ok() && with_limit(min - 1).is_err(),
        "limit ≥ {min}"
    );
    let max = limit(spec, lookalike, "seed_domains", "maxItems");
    let seeds = |n: u64| {
        (0..n)
            .fold(LookalikeSearch::default(), |search, i| {
                search.seed_domain(format!("s{i}.example"))
            })
            .validate()
    };
    assert!(
        seeds(max).is_ok() && seeds(max + 1).is_err(),
        "seed domains ≤ {max}"
    );

    let intent = "TechIntentSearchRequest";
    let max = limit(spec, intent, "tech", "maxLength");
    let tech = |t: String| TechIntentSearch::new(t, "x").validate();
    assert!(
        tech(text(max)).is_ok() && tech(text(max + 1)).is_err(),
        "tech ≤ {max}"
    );
    let max = limit(spec, intent, "activity", "maxLength");
    let activity = |a: String| TechIntentSearch::new("dbt", a).validate();
    assert!(
        activity(text(max)).is_ok() && activity(text(max + 1)).is_err(),
        "activity ≤ {max}"
    );
    let max = limit(spec, intent, "limit", "maximum");
    let with_limit = |n: u64| TechIntentSearch::new("dbt", "x").limit(n as u32).validate();
    assert!(
        with_limit(max).is_ok() && with_limit(max + 1).is_err(),
        "limit ≤ {max}"
    );
    let max = limit(spec, intent, "lookback_days", "maximum");
    let min = limit(spec, intent, "lookback_days", "minimum");
    let days = |n: u64| {
        TechIntentSearch::new("dbt", "x")
            .lookback_days(n as u32)
            .validate()
    };
    assert!(
        days(max).is_ok() && days(max + 1).is_err(),
        "lookback ≤ {max}"
    );
    assert!(
        days(min).is_ok() && days(min - 1).is_err(),
        "lookback ≥ {min}"
    );
}
