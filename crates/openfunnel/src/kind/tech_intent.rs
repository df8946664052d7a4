//! Tech-stack-with-intent jobs: companies whose job postings use a technology
//! in a given way. Up to 500 rows; 20 credits per row; not cancellable.

use crate::error::Error;
use crate::kind::setters::{list_setters, optional_setters};
use crate::kind::{JobKind, sealed};
use crate::kind::{acknowledgement, poll_response};
use crate::transport::RawResult;
use crate::validate;
use futures_util::future::BoxFuture;
use openfunnel_api::types;

/// One qualified company of a tech-intent job (generated from the spec).
/// Firmographic fields the spec does not declare (`website`,
/// `employee_count`, …) are kept in its `extra` map.
pub type TechIntentRow = types::TechIntentCompanyRow;
/// A tech-intent job's summary (generated from the spec).
pub type TechIntentManifest = types::TechIntentManifest;

/// The most companies one tech-intent job can qualify.
pub const MAX_TECH_INTENT_LIMIT: u32 = 500;
/// Credits charged per qualified company.
pub const TECH_INTENT_CREDITS_PER_ROW: u64 = 20;

/// The tech-intent job kind. Use it through [`crate::Client::tech_intent`].
///
/// ```
/// use openfunnel::{JobKind, TechIntent};
/// assert_eq!(TechIntent::NAME, "tech-intent");
/// assert!(!TechIntent::STATUSES.contains(&"cancelling"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TechIntent;

/// What a tech-intent job searches for: postings that use `tech` the way
/// `activity` describes. Checked against the documented limits before
/// anything is sent; unset options take the server's documented defaults.
/// Every setter `x(v)` has a `set_x(Option)` twin; list setters append one
/// item.
///
/// ```
/// use openfunnel::TechIntentSearch;
///
/// let search = TechIntentSearch::new("Snowflake", "migrating off Redshift to Snowflake")
///     .lookback_days(180)
///     .limit(50)
///     .enrich(true);
/// assert!(search.validate().is_ok());
/// assert_eq!(search.worst_case_credits(), 50 * 20);
///
/// let country: Option<String> = None; // e.g. from a command-line flag
/// let search = search.set_hq_country_code(country);
/// # let _ = search;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TechIntentSearch {
    tech: Option<String>,
    activity: Option<String>,
    variations: Vec<String>,
    lookback_days: Option<u32>,
    limit: Option<u32>,
    exclude_vendor: Option<bool>,
    exclude_aggregators: Option<bool>,
    exclude_company_slugs: Vec<String>,
    enrich: Option<bool>,
    hq_country_code: Option<String>,
    min_employee_count: Option<u64>,
    max_employee_count: Option<u64>,
}

impl TechIntentSearch {
    /// A search for `tech` used as `activity` describes: the two required
    /// fields, as `TechIntentSearch::default().tech(tech).activity(activity)`.
    pub fn new(tech: impl Into<String>, activity: impl Into<String>) -> Self {
        TechIntentSearch::default().tech(tech).activity(activity)
    }

    optional_setters! {
        /// The technology (1–128 characters). Required.
        tech / set_tech: String;
        /// How the postings use it (1–500 characters, a hard filter). Required.
        activity / set_activity: String;
        /// How far back to look at postings, 1–365 days (server default 365).
        lookback_days / set_lookback_days: u32;
        /// Qualified companies wanted, 1–500 (server default 100).
        limit / set_limit: u32;
        /// Whether to drop the technology vendor's own postings (server default true).
        exclude_vendor / set_exclude_vendor: bool;
        /// Whether to drop job aggregators and reposters (server default true).
        exclude_aggregators / set_exclude_aggregators: bool;
        /// Whether to add firmographics to qualified companies (server default false).
        enrich / set_enrich: bool;
        /// Keeps companies headquartered in this country (alpha-3, e.g. `USA`); turns enrichment on.
        hq_country_code / set_hq_country_code: String;
        /// Minimum employee count; turns enrichment on.
        min_employee_count / set_min_employee_count: u64;
        /// Maximum employee count; turns enrichment on.
        max_employee_count / set_max_employee_count: u64;
    }

    list_setters! {
        /// An alternate phrasing of the activity, OR-matched.
        variation / set_variations: variations;
        /// A LinkedIn company slug to skip.
        exclude_company / set_exclude_companies: exclude_company_slugs;
    }

    /// The most credits the job can cost: 20 per qualified company, up to the
    /// limit (the server's default of 100 when none is set).
    ///
    /// ```
    /// assert_eq!(openfunnel::TechIntentSearch::new("dbt", "x").worst_case_credits(), 2_000);
    /// ```
    pub fn worst_case_credits(&self) -> u64 {
        u64::from(self.limit.unwrap_or(100)) * TECH_INTENT_CREDITS_PER_ROW
    }

    /// Checks the documented limits. [`crate::Jobs::submit`] calls this before
    /// sending anything.
    ///
    /// ```
    /// let search = openfunnel::TechIntentSearch::new("dbt", "x").lookback_days(400);
    /// assert!(search.validate().unwrap_err().to_string().contains("between 1 and 365"));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        validate::length("tech", self.tech.as_deref().unwrap_or_default(), 1, 128)?;
        validate::length(
            "activity",
            self.activity.as_deref().unwrap_or_default(),
            1,
            500,
        )?;
        for variation in &self.variations {
            validate::length("variation", variation, 1, 500)?;
        }
        if let Some(days) = self.lookback_days {
            validate::range("lookback_days", days.into(), 1, 365)?;
        }
        if let Some(limit) = self.limit {
            validate::range("limit", limit.into(), 1, MAX_TECH_INTENT_LIMIT.into())?;
        }
        if let Some(code) = &self.hq_country_code {
            validate::country_code("hq_country_code", code, false)?;
        }
        validate::ordered(
            "min_employee_count",
            self.min_employee_count,
            "max_employee_count",
            self.max_employee_count,
        )
    }

    fn to_raw(&self) -> Result<types::TechIntentSearchRequest, String> {
        let non_empty = |values: &Vec<String>| (!values.is_empty()).then(|| values.clone());
        // Start from the documented defaults, then apply what was set.
        let mut body: types::TechIntentSearchRequest = serde_json::from_value(serde_json::json!({
            "tech": self.tech,
            "activity": self.activity,
        }))
        .map_err(|e| e.to_string())?;
        body.variations = non_empty(&self.variations);
        if let Some(days) = self
            .lookback_days
            .and_then(|d| std::num::NonZeroU64::new(d.into()))
        {
            body.lookback_days = days;
        }
        if let Some(limit) = self.limit.and_then(|l| std::num::NonZeroU64::new(l.into())) {
            body.limit = limit;
        }
        body.exclude_vendor = self.exclude_vendor.unwrap_or(body.exclude_vendor);
        body.exclude_aggregators = self.exclude_aggregators.unwrap_or(body.exclude_aggregators);
        body.exclude_company_slugs = non_empty(&self.exclude_company_slugs);
        body.enrich = self.enrich.unwrap_or(body.enrich);
        body.hq_country_code = self.hq_country_code.clone();
        body.min_employee_count = self.min_employee_count;
        body.max_employee_count = self.max_employee_count;
        Ok(body)
    }
}

acknowledgement!(types::TechIntentSubmitResponse => |it| Some(it.job_id.as_str()));

poll_response!(
    types::TechIntentJobResponse => (types::TechIntentCompanyRow, types::TechIntentManifest),
    |_it| (None, None)
);

impl sealed::Sealed for TechIntent {}

impl JobKind for TechIntent {
    type Request = TechIntentSearch;
    type Row = TechIntentRow;
    type Manifest = TechIntentManifest;
    type Submitted = types::TechIntentSubmitResponse;
    type Response = types::TechIntentJobResponse;

    const NAME: &'static str = "tech-intent";
    const STATUSES: &'static [&'static str] = &["pending", "running", "completed", "failed"];
    const POLL_OPERATION: &'static str = "tech_intent_search_status";
    const SUBMIT_OPERATION: &'static str = "tech_intent_search";

    fn validate(request: &TechIntentSearch) -> Result<(), Error> {
        request.validate()
    }

    fn submit<'a>(
        api: &'a openfunnel_api::Client,
        request: &'a TechIntentSearch,
    ) -> BoxFuture<'a, RawResult<Self::Submitted>> {
        Box::pin(async move {
            let body = request
                .to_raw()
                .map_err(openfunnel_api::Error::InvalidRequest)?;
            api.tech_intent_search(&body).await
        })
    }

    fn poll<'a>(
        api: &'a openfunnel_api::Client,
        job_id: &'a str,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, RawResult<Self::Response>> {
        Box::pin(api.tech_intent_search_status(job_id, cursor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_case_bill_is_twenty_credits_a_row_of_the_limit() {
        let search = TechIntentSearch::new("dbt", "x");
        assert_eq!(
            search.worst_case_credits(),
            100 * 20,
            "the default limit is 100"
        );
        assert_eq!(search.limit(7).worst_case_credits(), 140);
    }

    #[test]
    fn every_documented_limit_is_checked() {
        let base = || TechIntentSearch::new("Snowflake", "migrating");
        let refused = [
            (TechIntentSearch::new("", "x"), "`tech` is empty"),
            (TechIntentSearch::new("x".repeat(129), "x"), "1 to 128"),
            (TechIntentSearch::new("x", "y".repeat(501)), "1 to 500"),
            (base().lookback_days(0), "between 1 and 365"),
            (base().lookback_days(366), "between 1 and 365"),
            (base().limit(501), "between 1 and 500"),
            (base().hq_country_code("US"), "alpha-3"),
            (
                base().min_employee_count(9).max_employee_count(1),
                "greater than",
            ),
        ];
        for (search, expected) in refused {
            let message = search.validate().unwrap_err().to_string();
            assert!(message.contains(expected), "{search:?}: {message}");
        }
        base().lookback_days(365).limit(500).validate().unwrap();
        assert!(
            TechIntentSearch::default()
                .validate()
                .unwrap_err()
                .to_string()
                .contains("`tech` is empty")
        );
    }

    #[test]
    fn set_x_sets_and_clears_what_x_set() {
        let full = TechIntentSearch::new("dbt", "semantic layer")
            .variation("metrics layer")
            .lookback_days(90)
            .limit(25)
            .exclude_vendor(false)
            .exclude_aggregators(false)
            .exclude_company("dbt-labs")
            .enrich(true)
            .hq_country_code("DEU")
            .min_employee_count(10)
            .max_employee_count(1_000);
        let cleared = full
            .clone()
            .set_tech(None)
            .set_activity(None)
            .set_variations(None)
            .set_lookback_days(None)
            .set_limit(None)
            .set_exclude_vendor(None)
            .set_exclude_aggregators(None)
            .set_exclude_companies(None)
            .set_enrich(None)
            .set_hq_country_code(None)
            .set_min_employee_count(None)
            .set_max_employee_count(None);
        assert_eq!(cleared, TechIntentSearch::default());
        let rebuilt = cleared
            .set_tech(Some("dbt".into()))
            .set_activity(Some("semantic layer".into()))
            .set_variations(Some(vec!["metrics layer".into()]))
            .set_lookback_days(Some(90))
            .set_limit(Some(25))
            .set_exclude_vendor(Some(false))
            .set_exclude_aggregators(Some(false))
            .set_exclude_companies(Some(vec!["dbt-labs".into()]))
            .set_enrich(Some(true))
            .set_hq_country_code(Some("DEU".into()))
            .set_min_employee_count(Some(10))
            .set_max_employee_count(Some(1_000));
        assert_eq!(rebuilt, full);
    }

    #[test]
    fn unset_options_take_the_documented_defaults() {
        let body = TechIntentSearch::new("Snowflake", "migrating")
            .to_raw()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({
                "tech": "Snowflake", "activity": "migrating", "lookback_days": 365, "limit": 100,
                "exclude_vendor": true, "exclude_aggregators": true, "enrich": false
            })
        );
    }
}
