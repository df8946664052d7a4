//! Checks shared by the request builders and job handles, so that bad input is
//! refused with a clear message before any request is sent.

use crate::error::Error;

/// The longest job id accepted (ids are UUIDs).
const MAX_ID_LEN: usize = 256;

/// Refuses ids that would address something other than one job: empty, `.`
/// or `..` (normalised away by URL parsers), a `/`, `\`, `?` or `#`, white
/// space or control characters, or absurd lengths.
pub(crate) fn job_id(id: &str) -> Result<(), Error> {
    match job_id_problem(id) {
        Some(problem) => Err(Error::InvalidInput(format!(
            "job id {:?} {problem}: pass the job id exactly as OpenFunnel returned it",
            shorten(id)
        ))),
        None => Ok(()),
    }
}

/// Cursors are opaque: any non-empty string without control characters is
/// sent back byte for byte (percent-encoded in the query), so `/`, `+`, `=`
/// and spaces are fine. Only an empty cursor or one holding control
/// characters (which no server cursor should contain) is refused.
pub(crate) fn cursor(cursor: &str) -> Result<(), Error> {
    cursor_problem(cursor).map_or(Ok(()), |problem| {
        Err(Error::InvalidInput(format!(
            "cursor {:?} {problem}: pass the cursor exactly as OpenFunnel returned it (or a checkpoint this SDK saved)",
            shorten(cursor)
        )))
    })
}

/// Why a cursor cannot be sent back, if it cannot.
pub(crate) fn cursor_problem(cursor: &str) -> Option<String> {
    if cursor.is_empty() {
        return Some("is empty".into());
    }
    cursor
        .chars()
        .find(|c| c.is_control())
        .map(|c| format!("contains the control character {c:?}"))
}

/// Why a job id cannot be used in a request path, if it cannot.
pub(crate) fn job_id_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        Some("is empty".to_string())
    } else if value == "." || value == ".." {
        Some("is a path segment (`.` or `..`)".to_string())
    } else if value.len() > MAX_ID_LEN {
        Some(format!(
            "is {} bytes long (at most {MAX_ID_LEN})",
            value.len()
        ))
    } else {
        value
            .chars()
            .find(|c| matches!(c, '/' | '\\' | '?' | '#') || c.is_whitespace() || c.is_control())
            .map(|c| format!("contains {c:?}"))
    }
}

fn shorten(value: &str) -> String {
    value.chars().take(80).collect()
}

/// `value` must hold between `min` and `max` characters.
pub(crate) fn length(field: &str, value: &str, min: usize, max: usize) -> Result<(), Error> {
    let count = value.chars().count();
    if value.trim().is_empty() {
        return Err(Error::InvalidInput(format!(
            "`{field}` is empty: it needs {min} to {max} characters"
        )));
    }
    if count < min || count > max {
        return Err(Error::InvalidInput(format!(
            "`{field}` has {count} characters: it must have {min} to {max}"
        )));
    }
    Ok(())
}

/// `value` must lie in `min..=max`.
pub(crate) fn range(field: &str, value: u64, min: u64, max: u64) -> Result<(), Error> {
    if value < min || value > max {
        return Err(Error::InvalidInput(format!(
            "`{field}` is {value}: it must be between {min} and {max}"
        )));
    }
    Ok(())
}

/// A minimum must not exceed its maximum.
pub(crate) fn ordered(
    min_field: &str,
    min: Option<u64>,
    max_field: &str,
    max: Option<u64>,
) -> Result<(), Error> {
    match (min, max) {
        (Some(low), Some(high)) if low > high => Err(Error::InvalidInput(format!(
            "`{min_field}` ({low}) is greater than `{max_field}` ({high})"
        ))),
        _ => Ok(()),
    }
}

/// An ISO 3166-1 alpha-3 country code such as `USA` (or `EU` where allowed).
pub(crate) fn country_code(field: &str, code: &str, allow_eu: bool) -> Result<(), Error> {
    let alpha3 = code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase());
    if alpha3 || (allow_eu && code == "EU") {
        return Ok(());
    }
    let expected = if allow_eu {
        "an ISO 3166-1 alpha-3 code such as USA or GBR, or EU"
    } else {
        "an ISO 3166-1 alpha-3 code such as USA or GBR"
    };
    Err(Error::InvalidInput(format!(
        "`{field}` value {:?} is not {expected}",
        shorten(code)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_may_equal_its_maximum_but_not_exceed_it() {
        assert!(ordered("min", Some(1), "max", Some(9)).is_ok());
        assert!(ordered("min", Some(9), "max", Some(9)).is_ok());
        assert!(ordered("min", Some(10), "max", None).is_ok());
        let refused = ordered("min", Some(10), "max", Some(9)).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("`min` (10) is greater than `max` (9)"),
            "{refused}"
        );
    }

    #[test]
    fn a_range_holds_both_of_its_ends() {
        assert!(range("limit", 1, 1, 10).is_ok());
        assert!(range("limit", 10, 1, 10).is_ok());
        assert!(range("limit", 0, 1, 10).is_err());
        assert!(range("limit", 11, 1, 10).is_err());
    }

    #[test]
    fn hostile_ids_are_refused_with_the_reason() {
        for (id, reason) in [
            ("", "is empty"),
            (".", "path segment"),
            ("..", "path segment"),
            ("a/b", "contains '/'"),
            ("a\\b", "contains '\\\\'"),
            ("a?cursor=x", "contains '?'"),
            ("a#b", "contains '#'"),
            ("a b", "contains ' '"),
            ("a\nb", "contains '\\n'"),
            ("a\u{0}b", "contains '\\0'"),
        ] {
            let message = job_id(id).unwrap_err().to_string();
            assert!(message.contains(reason), "{id:?}: {message}");
        }
        assert!(
            job_id(&"x".repeat(300))
                .unwrap_err()
                .to_string()
                .contains("300 bytes")
        );
        // Percent signs are sent encoded (`%252e`), so they cannot escape the path.
        job_id("%2e%2e").unwrap();
        job_id("d8a1bddb-44f1-4c7f-87a7-f37496354ff6").unwrap();
    }

    #[test]
    fn cursors_are_opaque_but_not_empty_or_control_characters() {
        for opaque in [
            "page_0003",
            "c/3f+a= z",
            "eyJwIjozfQ==",
            "../x",
            "a?b#c",
            "%2F",
        ] {
            cursor(opaque).unwrap();
        }
        cursor(&"x".repeat(10_000)).unwrap();
        for (bad, reason) in [
            ("", "is empty"),
            ("a\nb", "'\\n'"),
            ("a\u{7f}", "'\\u{7f}'"),
        ] {
            let message = cursor(bad).unwrap_err().to_string();
            assert!(message.contains(reason), "{bad:?}: {message}");
            assert!(
                message.contains("exactly as OpenFunnel returned it"),
                "{message}"
            );
        }
    }

    #[test]
    fn lengths_and_ranges_name_the_field_and_the_limit() {
        assert!(
            length("query", "  ", 1, 200)
                .unwrap_err()
                .to_string()
                .contains("`query` is empty")
        );
        let long = "x".repeat(201);
        assert_eq!(
            length("query", &long, 1, 200).unwrap_err().to_string(),
            "invalid input: `query` has 201 characters: it must have 1 to 200"
        );
        assert_eq!(
            range("limit", 10_001, 1, 10_000).unwrap_err().to_string(),
            "invalid input: `limit` is 10001: it must be between 1 and 10000"
        );
    }

    #[test]
    fn country_codes_are_alpha_3() {
        country_code("locations", "USA", true).unwrap();
        country_code("locations", "EU", true).unwrap();
        assert!(country_code("hq_country_code", "EU", false).is_err());
        assert!(
            country_code("locations", "US", true)
                .unwrap_err()
                .to_string()
                .contains("alpha-3")
        );
        assert!(country_code("locations", "usa", true).is_err());
    }
}
