//! What the spec leaves open, varied per job profile, so that a client is
//! tested on every server the spec allows and not only on the one it guesses:
//! the cursor scheme, the manifest's accuracy, the status of a request for a
//! cursor the server never issued, and whether the server speaks only the
//! documented vocabulary (fields and status values).
//!
//! ```
//! use openfunnel_sim::{CursorScheme, ManifestAccuracy, JobProfile};
//!
//! let hostile = JobProfile::completed(1_000)
//!     .with_cursors(CursorScheme::Opaque)
//!     .with_manifest(ManifestAccuracy::Fewer(3))
//!     .with_unknown_cursor_status(404);
//! assert_eq!(CursorScheme::Opaque.index(&CursorScheme::Opaque.cursor(7)), Some(7));
//! # let _ = hostile;
//! ```

use serde_json::{Value, json};

/// How the server names cursors and pages. The spec promises only "pass back
/// the previous response's `next_cursor`"; `page_0003` is just its example.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CursorScheme {
    /// `page_0003`, equal to the page's name: the spec's example.
    #[default]
    PageNames,
    /// Opaque strings with `/`, `+`, `=` and a space (`c/5bd1e996+30= z`);
    /// names equal cursors.
    Opaque,
    /// Numbers that skip irregularly (`p0`, `p12`, `p24`, `p31`, …); names
    /// equal cursors. A client guessing "the next number" is sometimes right.
    Skipping,
    /// `page_NNNN` cursors, but page names unrelated to them
    /// (`batch-9e3779b9-1`).
    UnrelatedNames,
    /// Continuation tokens of 600 bytes with `/`, `+` and `=`, ending in a
    /// page number (a sealed token, say); names equal cursors.
    Long,
}

impl CursorScheme {
    /// Every scheme, for tests that try them all.
    ///
    /// ```
    /// assert_eq!(openfunnel_sim::CursorScheme::ALL.len(), 5);
    /// ```
    pub const ALL: [CursorScheme; 5] = [
        CursorScheme::PageNames,
        CursorScheme::Opaque,
        CursorScheme::Skipping,
        CursorScheme::UnrelatedNames,
        CursorScheme::Long,
    ];

    /// The cursor that fetches page `index` (the first page is fetched
    /// without one, but also answers to `cursor(0)`).
    ///
    /// ```
    /// use openfunnel_sim::CursorScheme;
    /// assert_eq!(CursorScheme::PageNames.cursor(3), "page_0003");
    /// assert!(CursorScheme::Opaque.cursor(3).contains('/'));
    /// ```
    pub fn cursor(self, index: u32) -> String {
        match self {
            CursorScheme::PageNames | CursorScheme::UnrelatedNames => format!("page_{index:04}"),
            CursorScheme::Opaque => {
                format!(
                    "c/{:08x}+{:02x}= z",
                    index ^ OPAQUE_KEY,
                    opaque_check(index)
                )
            }
            CursorScheme::Skipping => format!("p{}", skipping_number(index)),
            CursorScheme::Long => format!("{}{index:06}", long_token_body()),
        }
    }

    /// The page `cursor` fetches, when this scheme issued it.
    ///
    /// ```
    /// use openfunnel_sim::CursorScheme;
    /// for scheme in CursorScheme::ALL {
    ///     assert_eq!(scheme.index(&scheme.cursor(12)), Some(12));
    ///     assert_eq!(scheme.index("page_12"), None);
    /// }
    /// ```
    pub fn index(self, cursor: &str) -> Option<u32> {
        match self {
            CursorScheme::PageNames | CursorScheme::UnrelatedNames => {
                let digits = cursor.strip_prefix("page_")?;
                (digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| digits.parse().ok())?
            }
            CursorScheme::Opaque => {
                let body = cursor.strip_prefix("c/")?.strip_suffix("= z")?;
                let (hex, check) = body.split_once('+')?;
                if hex.len() != 8 || check.len() != 2 {
                    return None;
                }
                let index = u32::from_str_radix(hex, 16).ok()? ^ OPAQUE_KEY;
                (u8::from_str_radix(check, 16).ok()? == opaque_check(index)).then_some(index)
            }
            CursorScheme::Skipping => {
                let digits = cursor.strip_prefix('p')?;
                if digits.starts_with('0') && digits != "0" {
                    return None;
                }
                let number: u64 = digits.parse().ok()?;
                let index = u32::try_from(number / 10).ok()?;
                (skipping_number(index) == number).then_some(index)
            }
            CursorScheme::Long => {
                let digits = cursor.strip_prefix(long_token_body())?;
                (digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| digits.parse().ok())?
            }
        }
    }

    /// The `page` name the server reports for page `index`.
    ///
    /// ```
    /// use openfunnel_sim::CursorScheme;
    /// assert_eq!(CursorScheme::Skipping.name(2), CursorScheme::Skipping.cursor(2));
    /// assert_ne!(CursorScheme::UnrelatedNames.name(2), CursorScheme::UnrelatedNames.cursor(2));
    /// ```
    pub fn name(self, index: u32) -> String {
        match self {
            CursorScheme::UnrelatedNames => {
                format!(
                    "batch-{:08x}-{}",
                    index.wrapping_mul(0x9E37_79B9),
                    index % 7
                )
            }
            _ => self.cursor(index),
        }
    }
}

const OPAQUE_KEY: u32 = 0x5bd1_e995;

/// The fixed part of a [`CursorScheme::Long`] token: 594 base64 characters,
/// `/`, `+` and `=` among them (built once).
fn long_token_body() -> &'static str {
    static BODY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BODY.get_or_init(|| {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut body: String = (0u32..592)
            .map(|i| char::from(ALPHABET[(i.wrapping_mul(2_654_435_761) >> 26) as usize]))
            .collect();
        body.push_str("=/");
        body
    })
}

fn opaque_check(index: u32) -> u8 {
    (index.wrapping_mul(37).wrapping_add(11) % 256) as u8
}

/// Strictly increasing, with steps between 6 and 14.
fn skipping_number(index: u32) -> u64 {
    let index = u64::from(index);
    10 * index + (7 * index) % 5
}

/// How the terminal manifest's `pages` relates to the pages the chain holds.
/// The spec calls the manifest "a summary"; it does not promise it is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ManifestAccuracy {
    /// The chain's page count.
    #[default]
    Exact,
    /// This many pages fewer (not below 0).
    Fewer(u32),
    /// This many pages more.
    More(u32),
    /// 2^63 - 1, the largest count the schema's integer can hold.
    Absurd,
}

impl ManifestAccuracy {
    /// The `pages` the manifest reports for a chain of `chain_pages`.
    ///
    /// ```
    /// use openfunnel_sim::ManifestAccuracy;
    /// assert_eq!(ManifestAccuracy::Fewer(2).pages(5), 3);
    /// assert_eq!(ManifestAccuracy::Fewer(9).pages(5), 0);
    /// assert_eq!(ManifestAccuracy::Absurd.pages(5), i64::MAX);
    /// ```
    pub fn pages(self, chain_pages: u32) -> i64 {
        let chain = i64::from(chain_pages);
        match self {
            ManifestAccuracy::Exact => chain,
            ManifestAccuracy::Fewer(n) => (chain - i64::from(n)).max(0),
            ManifestAccuracy::More(n) => chain + i64::from(n),
            ManifestAccuracy::Absurd => i64::MAX,
        }
    }
}

/// How a page appears while the job runs. The spec says later pages "have
/// not been written yet"; it does not promise that a page is complete the
/// first time it can be read.
///
/// ```
/// use openfunnel_sim::{JobProfile, PageWrites};
///
/// let appending = JobProfile::default().with_page_writes(PageWrites::Growing);
/// assert_eq!(PageWrites::Growing.visible_rows(7, true), 4);
/// assert_eq!(PageWrites::Growing.visible_rows(7, false), 7);
/// # let _ = appending;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageWrites {
    /// A page appears with all its rows.
    #[default]
    Whole,
    /// The newest page of a running job shows only the first half of its
    /// rows (rounded up); the rest appear when the next page lands or the
    /// job ends.
    Growing,
}

impl PageWrites {
    /// The rows of a page of `rows` that can be read, `newest` when it is a
    /// running job's last page.
    pub fn visible_rows(self, rows: u32, newest: bool) -> u32 {
        match self {
            PageWrites::Growing if newest => rows.div_ceil(2),
            _ => rows,
        }
    }
}

/// What a lookalike poll reports as `processed`. The spec documents the
/// field but not how it moves, and a client must not stall or busy-poll
/// whichever it does.
///
/// ```
/// use openfunnel_sim::Processed;
/// // 250 of 1,000 rows written, 40% of the run gone:
/// assert_eq!(Processed::Rows.value(250, 1_000, 0.4, 100), Some(250));
/// assert_eq!(Processed::Steady.value(250, 1_000, 0.4, 100), Some(400));
/// assert_eq!(Processed::Frozen.value(250, 1_000, 0.4, 100), Some(100));
/// assert_eq!(Processed::Null.value(250, 1_000, 0.4, 100), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Processed {
    /// The rows written so far (it moves when a page lands).
    #[default]
    Rows,
    /// Rises steadily with time toward the job's rows, ahead of the pages.
    Steady,
    /// Always `null`.
    Null,
    /// Stands still at the first page's rows once that page landed.
    Frozen,
}

impl Processed {
    /// What a running job reports with `written` of `total` rows written,
    /// `run_share` of its run time gone (0 to 1), and `first_page` rows in
    /// its first page.
    pub fn value(self, written: u32, total: u32, run_share: f64, first_page: u32) -> Option<u32> {
        match self {
            Processed::Rows => Some(written),
            Processed::Steady => {
                let steady = (f64::from(total) * run_share.clamp(0.0, 1.0)).floor() as u32;
                Some(steady.max(written).min(total.max(written)))
            }
            Processed::Null => None,
            Processed::Frozen => Some(written.min(first_page)),
        }
    }
}

/// Whether the server speaks only the vocabulary the spec documents. The
/// spec lists today's fields and status values; it does not promise that no
/// field or status is ever added, and a client must keep working (and keep
/// what it does not know) when one is.
///
/// ```
/// use openfunnel_sim::{JobProfile, Vocabulary};
///
/// let newer = JobProfile::default().with_vocabulary(Vocabulary::Grown);
/// assert_eq!(newer.vocabulary, Vocabulary::Grown);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Vocabulary {
    /// The documented fields and status values only.
    #[default]
    Documented,
    /// Fields the spec does not name on the envelope, the manifest and every
    /// row (a string, a number, a nested object), and a running job that
    /// reports the undocumented status [`Vocabulary::UNDOCUMENTED_STATUS`]
    /// while an odd number of its pages has landed.
    Grown,
}

impl Vocabulary {
    /// The status a [`Vocabulary::Grown`] server reports for some of a
    /// running job's polls.
    pub const UNDOCUMENTED_STATUS: &str = "throttled";

    /// The `status` a running job reports with `pages_written` pages landed.
    pub(crate) fn running_status(self, pages_written: u32) -> &'static str {
        match self {
            Vocabulary::Grown if pages_written % 2 == 1 => Vocabulary::UNDOCUMENTED_STATUS,
            _ => "running",
        }
    }

    /// Adds the fields this vocabulary has beyond the spec to `object` (an
    /// envelope, a manifest or a row), distinct per `salt`.
    pub(crate) fn extend(self, object: &mut Value, salt: u64) {
        if self != Vocabulary::Grown {
            return;
        }
        if let Some(fields) = object.as_object_mut() {
            fields.insert("x_region".into(), json!("eu-west-1"));
            fields.insert("x_score".into(), json!(salt % 97));
            fields.insert(
                "x_trace".into(),
                json!({"id": format!("t-{salt:x}"), "hops": [salt % 3, salt % 5]}),
            );
        }
    }
}

/// The body a server with `status` for unknown cursors sends: FastAPI's
/// `{"detail": "..."}` for 400 and 404, its validation list for 422.
///
/// ```
/// let body = openfunnel_sim::unknown_cursor_body(422);
/// assert_eq!(body["detail"][0]["loc"][1], "cursor");
/// ```
pub fn unknown_cursor_body(status: u16) -> Value {
    match status {
        404 => json!({"detail": "Not Found"}),
        422 => json!({"detail": [{
            "loc": ["query", "cursor"],
            "msg": "Unknown cursor",
            "type": "value_error"
        }]}),
        _ => json!({"detail": "Unknown cursor"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_round_trips_and_refuses_foreign_cursors() {
        for scheme in CursorScheme::ALL {
            for index in [0, 1, 2, 9, 10, 99, 100, 12_345] {
                assert_eq!(
                    scheme.index(&scheme.cursor(index)),
                    Some(index),
                    "{scheme:?}"
                );
            }
            for foreign in ["", "page_3", "../page_0001", "c/zz+00= z", "p11", "p012"] {
                assert_eq!(scheme.index(foreign), None, "{scheme:?} {foreign:?}");
            }
        }
    }

    #[test]
    fn opaque_cursors_hold_characters_that_need_encoding() {
        let cursor = CursorScheme::Opaque.cursor(3);
        for c in ['/', '+', '=', ' '] {
            assert!(cursor.contains(c), "{cursor}");
        }
    }

    #[test]
    fn long_tokens_are_long_and_hold_characters_that_need_encoding() {
        let cursor = CursorScheme::Long.cursor(3);
        assert_eq!(cursor.len(), 600);
        for c in ['/', '+', '='] {
            assert!(cursor.contains(c), "{cursor}");
        }
        assert_eq!(CursorScheme::Long.index(&cursor[1..]), None);
        // The page number is at least six digits, as the scheme writes it.
        let short = format!("{}12", long_token_body());
        assert_eq!(CursorScheme::Long.index(&short), None);
    }

    #[test]
    fn a_grown_vocabulary_adds_fields_and_an_undocumented_status() {
        let mut row = json!({"domain": "a.example"});
        Vocabulary::Documented.extend(&mut row, 7);
        assert_eq!(row, json!({"domain": "a.example"}));
        Vocabulary::Grown.extend(&mut row, 7);
        assert_eq!(row["domain"], "a.example");
        assert_eq!(row["x_score"], 7);
        assert_eq!(row["x_trace"]["hops"], json!([1, 2]));
        let statuses: Vec<&str> = (0..4)
            .map(|n| Vocabulary::Grown.running_status(n))
            .collect();
        assert_eq!(statuses, ["running", "throttled", "running", "throttled"]);
        assert_eq!(Vocabulary::Documented.running_status(1), "running");
    }

    #[test]
    fn skipping_numbers_increase_irregularly() {
        let numbers: Vec<u64> = (0..8).map(skipping_number).collect();
        let steps: Vec<u64> = numbers.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(steps.iter().all(|s| (6..=14).contains(s)), "{steps:?}");
        assert!(steps.iter().any(|s| *s != steps[0]), "{steps:?}");
    }

    #[test]
    fn unrelated_names_are_unique() {
        let names: std::collections::HashSet<String> = (0..10_000)
            .map(|i| CursorScheme::UnrelatedNames.name(i))
            .collect();
        assert_eq!(names.len(), 10_000);
    }
}
