//! Deterministic, realistic rows: the same seed, job and index always give the
//! same company. Rows are generated when a page is read, never stored, so a
//! million-row job costs no memory.

use serde_json::{Value, json};

const PREFIXES: &[&str] = &[
    "Acme",
    "Northwind",
    "Bluefin",
    "Lumen",
    "Quartz",
    "Harbor",
    "Vertex",
    "Cobalt",
    "Nimbus",
    "Juniper",
    "Sable",
    "Orchid",
    "Granite",
    "Aurora",
    "Beacon",
    "Summit",
];
const SUFFIXES: &[&str] = &[
    "Analytics",
    "Observability",
    "Data",
    "Cloud",
    "Systems",
    "Labs",
    "Metrics",
    "Signals",
    "Insights",
    "Networks",
    "Logic",
    "Works",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("San Francisco", "California", "United States", "USA"),
    ("New York", "New York", "United States", "USA"),
    ("Austin", "Texas", "United States", "USA"),
    ("London", "England", "United Kingdom", "GBR"),
    ("Berlin", "Berlin", "Germany", "DEU"),
    ("Toronto", "Ontario", "Canada", "CAN"),
    ("Amsterdam", "North Holland", "Netherlands", "NLD"),
    ("Bangalore", "Karnataka", "India", "IND"),
];
const STAGES: &[&str] = &[
    "Seed", "Series A", "Series B", "Series C", "Series D", "Private", "Public",
];
const TRAITS: &[&str] = &[
    "observability platform",
    "real-time metrics pipeline",
    "distributed tracing",
    "log analytics for engineering teams",
    "incident response automation",
];
const TITLES: &[&str] = &[
    "Senior Data Engineer",
    "Analytics Engineer",
    "Staff Platform Engineer",
    "Data Platform Lead",
    "Head of Data",
];

/// A small deterministic mixer (splitmix64).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Picks from `items` with the `n`-th draw of `seed`.
fn pick<T: Copy>(items: &[T], seed: u64, n: u64) -> T {
    items[(mix(seed ^ mix(n)) % items.len() as u64) as usize]
}

/// The company behind row `index` of job `job_seed`.
struct Company {
    name: String,
    slug: String,
    domain: String,
    seed: u64,
}

fn company(job_seed: u64, index: u64) -> Company {
    let seed = mix(job_seed ^ mix(index.wrapping_add(1)));
    let name = format!(
        "{} {} {index}",
        pick(PREFIXES, seed, 1),
        pick(SUFFIXES, seed, 2)
    );
    let slug = name.to_lowercase().replace(' ', "-");
    let domain = format!("{slug}.example");
    Company {
        name,
        slug,
        domain,
        seed,
    }
}

/// A lookalike row, shaped as `BulkLookalikeResultRow`.
pub(crate) fn lookalike_row(job_seed: u64, index: u64, query: &str) -> Value {
    let c = company(job_seed, index);
    let (city, _, country, _) = pick(CITIES, c.seed, 3);
    json!({
        "name": c.name,
        "domain": c.domain,
        "linkedin_url": format!("https://www.linkedin.com/company/{}", c.slug),
        "headquarters": format!("{city}, {country}"),
        "match_reason": format!(
            "Describes itself as a \"{}\" matching \"{}\".",
            pick(TRAITS, c.seed, 4),
            query
        ),
        "employee_count": 10 + mix(c.seed ^ 5) % 5_000,
    })
}

/// A tech intent row, shaped as `TechIntentCompanyRow`, with the undeclared
/// firmographic fields the real service adds when `enriched` is true.
pub(crate) fn intent_row(
    job_seed: u64,
    index: u64,
    tech: &str,
    activity: &str,
    enrich: bool,
) -> Value {
    let c = company(job_seed, index);
    let (city, region, country, code) = pick(CITIES, c.seed, 3);
    let day = 1 + mix(c.seed ^ 6) % 27;
    let mut row = json!({
        "company_slug": c.slug,
        "company_name": c.name,
        "post_count": 1 + mix(c.seed ^ 7) % 12,
        "first_posted_at": format!("2026-02-{day:02}T09:30:00Z"),
        "last_posted_at": format!("2026-05-{day:02}T17:05:00Z"),
        "enriched": enrich,
        "intent": {
            "activity": activity,
            "reason": format!("The posting describes \"{activity}\" as a core responsibility of the role."),
            "qualified_job": {
                "title": pick(TITLES, c.seed, 8),
                "url": format!("https://www.linkedin.com/jobs/view/{}", 4_000_000_000 + mix(c.seed ^ 9) % 99_999_999),
                "created": format!("2026-05-{day:02}T17:05:00Z"),
                "snippet": format!("…experience with <em>{tech}</em> while {activity}…"),
            }
        }
    });
    if enrich && let Some(fields) = row.as_object_mut() {
        fields.insert("website".into(), json!(c.domain));
        fields.insert(
            "linkedin_url".into(),
            json!(format!("https://www.linkedin.com/company/{}", c.slug)),
        );
        fields.insert("employee_count".into(), json!(10 + mix(c.seed ^ 5) % 5_000));
        fields.insert(
            "industries".into(),
            json!(["Software Development", "Data Infrastructure"]),
        );
        fields.insert("hq_city".into(), json!(city));
        fields.insert("hq_region".into(), json!(region));
        fields.insert("hq_country".into(), json!(country));
        fields.insert("hq_country_code".into(), json!(code));
        fields.insert("funding_stage".into(), json!(pick(STAGES, c.seed, 10)));
        fields.insert(
            "total_funding_usd".into(),
            json!((mix(c.seed ^ 11) % 500) * 1_000_000),
        );
    }
    row
}

/// A job id that looks like a UUID, derived from the server seed and a counter.
pub(crate) fn job_id(seed: u64, sequence: u64) -> String {
    let a = mix(seed ^ mix(sequence));
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_deterministic_and_distinct() {
        assert_eq!(lookalike_row(7, 3, "q"), lookalike_row(7, 3, "q"));
        assert_ne!(
            lookalike_row(7, 3, "q")["domain"],
            lookalike_row(7, 4, "q")["domain"]
        );
        assert_ne!(
            lookalike_row(7, 3, "q")["name"],
            lookalike_row(8, 3, "q")["name"]
        );
    }

    #[test]
    fn enriched_intent_rows_carry_firmographics() {
        let row = intent_row(1, 0, "Snowflake", "migrating", true);
        assert!(row["website"].as_str().unwrap().ends_with(".example"));
        assert_eq!(row["enriched"], true);
        assert!(
            intent_row(1, 0, "Snowflake", "migrating", false)
                .get("website")
                .is_none()
        );
    }

    #[test]
    fn job_ids_look_like_uuids() {
        let id = job_id(42, 1);
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_ne!(id, job_id(42, 2));
    }
}
