//! Bulk lookalike jobs: companies that match a trait, found by query or by
//! seed companies. Up to 10,000 rows; 1 credit per row; cancellable.

use crate::error::Error;
use crate::kind::setters::{list_setters, optional_setters};
use crate::kind::{Cancellable, JobKind, sealed};
use crate::kind::{acknowledgement, poll_response};
use crate::transport::RawResult;
use crate::validate;
use futures_util::future::BoxFuture;
use openfunnel_api::types;

/// One company of a lookalike job (generated from the spec).
pub type LookalikeRow = types::BulkLookalikeResultRow;
/// A lookalike job's summary (generated from the spec).
pub type LookalikeManifest = types::BulkLookalikeManifest;

/// The most companies one lookalike job can return.
pub const MAX_LOOKALIKE_LIMIT: u32 = 10_000;
/// The most seed domains one job can take.
pub const MAX_SEED_DOMAINS: usize = 10;

/// The bulk lookalike job kind. Use it through [`crate::Client::lookalike`].
///
/// ```
/// use openfunnel::{JobKind, Lookalike};
/// assert_eq!(Lookalike::NAME, "lookalike");
/// assert!(Lookalike::STATUSES.contains(&"cancelling"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Lookalike;

/// What a bulk lookalike job searches for: a natural-language `query`, seed
/// companies, or both, with optional filters. Checked against the documented
/// limits before anything is sent. Every setter `x(v)` has a `set_x(Option)`
/// twin; list setters append one item.
///
/// ```
/// use openfunnel::LookalikeSearch;
///
/// let search = LookalikeSearch::default()
///     .query("observability platforms for engineering teams")
///     .limit(2_000)
///     .min_employees(50)
///     .funding_stage("Series A")
///     .location("USA");
/// assert!(search.validate().is_ok());
/// assert_eq!(search.worst_case_credits(), 2_000);
///
/// let by_seeds = LookalikeSearch::default().seed_domain("datadoghq.com").seed_domain("honeycomb.io");
/// assert!(by_seeds.validate().is_ok());
///
/// let too_many = LookalikeSearch::default().query("observability").set_limit(Some(20_000));
/// assert!(too_many.validate().unwrap_err().to_string().contains("between 1 and 10000"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LookalikeSearch {
    query: Option<String>,
    seed_domains: Vec<String>,
    limit: Option<u32>,
    min_employees: Option<u64>,
    max_employees: Option<u64>,
    funding_stages: Vec<String>,
    locations: Vec<String>,
}

impl LookalikeSearch {
    optional_setters! {
        /// The natural-language trait to match (1–200 characters).
        query / set_query: String;
        /// The most companies to return (1–10,000); also the worst-case cost in credits.
        limit / set_limit: u32;
        /// Minimum employee count, inclusive.
        min_employees / set_min_employees: u64;
        /// Maximum employee count, inclusive.
        max_employees / set_max_employees: u64;
    }

    list_setters! {
        /// A seed company's domain (1–10 in all); the trait is derived from the seeds.
        seed_domain / set_seed_domains: seed_domains;
        /// A funding stage to keep (`Pre-Seed`, `Seed`, `Series A` … `Series H`,
        /// `Acquired`, `Private`, `Public`).
        funding_stage / set_funding_stages: funding_stages;
        /// A headquarters location to keep: ISO 3166-1 alpha-3 (`USA`, `GBR`) or `EU`.
        location / set_locations: locations;
    }

    /// The most credits the job can cost: 1 per company, up to the limit (the
    /// documented maximum, 10,000, when no limit is set).
    ///
    /// ```
    /// assert_eq!(openfunnel::LookalikeSearch::default().query("APM").worst_case_credits(), 10_000);
    /// ```
    pub fn worst_case_credits(&self) -> u64 {
        u64::from(self.limit.unwrap_or(MAX_LOOKALIKE_LIMIT))
    }

    /// Checks the documented limits. [`crate::Jobs::submit`] calls this before
    /// sending anything.
    ///
    /// ```
    /// let neither = openfunnel::LookalikeSearch::default();
    /// assert!(neither.validate().unwrap_err().to_string().contains("query or seed domains"));
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        if self.query.is_none() && self.seed_domains.is_empty() {
            return Err(Error::InvalidInput(
                "a lookalike search needs a query or seed domains (or both)".into(),
            ));
        }
        if let Some(query) = &self.query {
            validate::length("query", query, 1, 200)?;
        }
        if self.seed_domains.len() > MAX_SEED_DOMAINS {
            return Err(Error::InvalidInput(format!(
                "{} seed domains given: at most {MAX_SEED_DOMAINS} are allowed",
                self.seed_domains.len()
            )));
        }
        for domain in &self.seed_domains {
            validate::length("seed domain", domain, 1, 253)?;
        }
        if let Some(limit) = self.limit {
            validate::range("limit", limit.into(), 1, MAX_LOOKALIKE_LIMIT.into())?;
        }
        validate::ordered(
            "min_employees",
            self.min_employees,
            "max_employees",
            self.max_employees,
        )?;
        for stage in &self.funding_stages {
            validate::length("funding stage", stage, 1, 64)?;
        }
        for location in &self.locations {
            validate::country_code("locations", location, true)?;
        }
        Ok(())
    }

    fn to_raw(&self) -> Result<types::BulkLookalikeSearchRequest, String> {
        let non_empty = |values: &Vec<String>| (!values.is_empty()).then(|| values.clone());
        Ok(types::BulkLookalikeSearchRequest {
            query: self
                .query
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e: types::error::ConversionError| format!("query: {e}"))?,
            seed_domains: non_empty(&self.seed_domains),
            limit: self.limit.and_then(|l| std::num::NonZeroU64::new(l.into())),
            min_employees: self.min_employees,
            max_employees: self.max_employees,
            funding_stages: non_empty(&self.funding_stages),
            locations: non_empty(&self.locations),
            extra: Default::default(),
        })
    }
}

acknowledgement!(
    types::BulkLookalikeSubmitResponse => |it| Some(it.job_id.as_str()),
    types::BulkLookalikeCancelResponse => |it| it.job_id.as_deref()
);

poll_response!(
    types::BulkLookalikeJobResponse => (types::BulkLookalikeResultRow, types::BulkLookalikeManifest),
    |it| (it.processed, it.progress_message)
);

impl sealed::Sealed for Lookalike {}

impl JobKind for Lookalike {
    type Request = LookalikeSearch;
    type Row = LookalikeRow;
    type Manifest = LookalikeManifest;
    type Submitted = types::BulkLookalikeSubmitResponse;
    type Response = types::BulkLookalikeJobResponse;

    const NAME: &'static str = "lookalike";
    const STATUSES: &'static [&'static str] = &[
        "pending",
        "running",
        "cancelling",
        "cancelled",
        "completed",
        "failed",
    ];
    const POLL_OPERATION: &'static str = "search_lookalikes_bulk_status";
    const SUBMIT_OPERATION: &'static str = "search_lookalikes_bulk";

    fn validate(request: &LookalikeSearch) -> Result<(), Error> {
        request.validate()
    }

    fn submit<'a>(
        api: &'a openfunnel_api::Client,
        request: &'a LookalikeSearch,
    ) -> BoxFuture<'a, RawResult<Self::Submitted>> {
        Box::pin(async move {
            let body = request
                .to_raw()
                .map_err(openfunnel_api::Error::InvalidRequest)?;
            api.search_lookalikes_bulk(&body).await
        })
    }

    fn poll<'a>(
        api: &'a openfunnel_api::Client,
        job_id: &'a str,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, RawResult<Self::Response>> {
        Box::pin(api.search_lookalikes_bulk_status(job_id, cursor, None))
    }
}

impl Cancellable for Lookalike {
    type Cancelled = types::BulkLookalikeCancelResponse;
    const CANCEL_OPERATION: &'static str = "search_lookalikes_bulk_cancel";

    fn cancel<'a>(
        api: &'a openfunnel_api::Client,
        job_id: &'a str,
    ) -> BoxFuture<'a, RawResult<types::BulkLookalikeCancelResponse>> {
        Box::pin(api.search_lookalikes_bulk_cancel(job_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_case_bill_is_one_credit_a_row_of_the_limit() {
        let search = LookalikeSearch::default().query("APM");
        assert_eq!(
            search.worst_case_credits(),
            10_000,
            "no limit: the most a job can return"
        );
        assert_eq!(search.limit(7).worst_case_credits(), 7);
    }

    #[test]
    fn every_documented_limit_is_checked() {
        let refused = [
            (search().query(""), "`query` is empty"),
            (search().query("x".repeat(201)), "201 characters"),
            (
                search().set_seed_domains(Some((0..11).map(|i| format!("d{i}.com")).collect())),
                "at most 10",
            ),
            (search().seed_domain(""), "`seed domain` is empty"),
            (search().query("q").limit(0), "between 1 and 10000"),
            (search().query("q").limit(10_001), "between 1 and 10000"),
            (
                search().query("q").min_employees(10).max_employees(5),
                "greater than",
            ),
            (search().query("q").location("US"), "alpha-3"),
        ];
        for (search, expected) in refused {
            let message = search.validate().unwrap_err().to_string();
            assert!(message.contains(expected), "{search:?}: {message}");
        }
        search()
            .query("x".repeat(200))
            .limit(10_000)
            .validate()
            .unwrap();
        search()
            .set_seed_domains(Some((0..10).map(|i| format!("d{i}.com")).collect()))
            .validate()
            .unwrap();
    }

    fn search() -> LookalikeSearch {
        LookalikeSearch::default()
    }

    #[test]
    fn set_x_sets_and_clears_what_x_set() {
        let full = search()
            .query("q")
            .limit(5)
            .min_employees(1)
            .max_employees(9)
            .seed_domain("a.com")
            .funding_stage("Seed")
            .location("USA");
        let cleared = full
            .clone()
            .set_query(None)
            .set_limit(None)
            .set_min_employees(None)
            .set_max_employees(None)
            .set_seed_domains(None)
            .set_funding_stages(None)
            .set_locations(None);
        assert_eq!(cleared, search());
        let rebuilt = cleared
            .set_query(Some("q".into()))
            .set_limit(Some(5))
            .set_min_employees(Some(1))
            .set_max_employees(Some(9))
            .set_seed_domains(Some(vec!["a.com".into()]))
            .set_funding_stages(Some(vec!["Seed".into()]))
            .set_locations(Some(vec!["USA".into()]));
        assert_eq!(rebuilt, full);
    }

    #[test]
    fn the_raw_body_carries_only_what_was_set() {
        let body = search()
            .query("APM")
            .limit(50)
            .location("USA")
            .to_raw()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"query": "APM", "limit": 50, "locations": ["USA"]})
        );
    }
}
