//! The subcommands.

use crate::cli::{LookalikeSubmitArgs, ResultsArgs, TechIntentSubmitArgs};
use crate::exit::CliError;
use crate::export::{ExportKind, ExportOptions, ExportSummary, export};
use crate::progress::{Reporter, counted};
use openfunnel::{Client, Job, JobKind, JobManifest, Lookalike, LookalikeSearch, TechIntentSearch};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The flag behind each field the SDK's checks name, per kind.
const LOOKALIKE_FLAGS: &[(&str, &str)] = &[
    ("query", "--query"),
    ("seed domain", "--seed-domain"),
    ("limit", "--limit"),
    ("min_employees", "--min-employees"),
    ("max_employees", "--max-employees"),
    ("funding stage", "--funding-stage"),
    ("locations", "--location"),
];
const INTENT_FLAGS: &[(&str, &str)] = &[
    ("tech", "--tech"),
    ("activity", "--activity"),
    ("variation", "--variation"),
    ("lookback_days", "--lookback-days"),
    ("limit", "--limit"),
    ("hq_country_code", "--location"),
    ("min_employee_count", "--min-employees"),
    ("max_employee_count", "--max-employees"),
];

/// The SDK's refusal of a search, in the words of the command line: each
/// field it names (in backticks) becomes the flag that sets it.
fn in_flags(error: openfunnel::Error, flags: &[(&str, &str)]) -> CliError {
    match error {
        openfunnel::Error::InvalidInput(message) => {
            let mut message = message;
            for (field, flag) in flags {
                message = message.replace(&format!("`{field}`"), &format!("`{flag}`"));
            }
            CliError::Usage(message)
        }
        other => other.into(),
    }
}

/// The funding stages the API documents.
const FUNDING_STAGES: &[&str] = &[
    "Pre-Seed", "Seed", "Series A", "Series B", "Series C", "Series D", "Series E", "Series F",
    "Series G", "Series H", "Acquired", "Private", "Public",
];

/// `--funding-stage`: one of the documented values (any letter case), as
/// the API spells it.
fn funding_stage(value: &str) -> Result<String, CliError> {
    FUNDING_STAGES
        .iter()
        .find(|stage| stage.eq_ignore_ascii_case(value.trim()))
        .map(|stage| stage.to_string())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--funding-stage {value:?} is not a funding stage OpenFunnel knows: use one of {}",
                FUNDING_STAGES.join(", ")
            ))
        })
}

/// `--seed-domain`: a host name (letters, digits, hyphens, dots, at least
/// one dot), with a scheme, `www.`, a path or a trailing dot accepted and
/// dropped, as the server does.
fn seed_domain(value: &str) -> Result<String, CliError> {
    let trimmed = value.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let host = without_scheme
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if host.contains('.') && host.len() <= 253 && labels_ok {
        Ok(host)
    } else {
        Err(CliError::Usage(format!(
            "--seed-domain {value:?} is not a company website: give a host name such as datadoghq.com"
        )))
    }
}

pub fn lookalike_search(args: &LookalikeSubmitArgs) -> Result<LookalikeSearch, CliError> {
    let seed_domains = args
        .seed_domains
        .iter()
        .map(|domain| seed_domain(domain))
        .collect::<Result<Vec<_>, _>>()?;
    let funding_stages = args
        .funding_stages
        .iter()
        .map(|stage| funding_stage(stage))
        .collect::<Result<Vec<_>, _>>()?;
    let search = LookalikeSearch::default()
        .set_query(args.query.clone())
        .set_seed_domains(Some(seed_domains))
        .set_limit(args.limit)
        .set_min_employees(args.min_employees)
        .set_max_employees(args.max_employees)
        .set_funding_stages(Some(funding_stages))
        .set_locations(Some(args.locations.clone()));
    search
        .validate()
        .map_err(|error| in_flags(error, LOOKALIKE_FLAGS))?;
    check_credits(
        search.worst_case_credits(),
        args.max_credits,
        "1 credit per company",
    )?;
    Ok(search)
}

pub fn intent_search(args: &TechIntentSubmitArgs) -> Result<TechIntentSearch, CliError> {
    let search = TechIntentSearch::new(args.tech.clone(), args.activity.clone())
        .enrich(args.enrich)
        .set_variations(Some(args.variations.clone()))
        .set_lookback_days(args.lookback_days)
        .set_limit(args.limit)
        .set_hq_country_code(args.location.clone())
        .set_min_employee_count(args.min_employees)
        .set_max_employee_count(args.max_employees)
        .set_exclude_vendor(args.include_vendor.then_some(false))
        .set_exclude_aggregators(args.include_aggregators.then_some(false))
        .set_exclude_companies(Some(args.exclude_companies.clone()));
    search
        .validate()
        .map_err(|error| in_flags(error, INTENT_FLAGS))?;
    check_credits(
        search.worst_case_credits(),
        args.max_credits,
        "20 credits per company",
    )?;
    Ok(search)
}

/// `--max-credits N`: refuse, before any request, a job that could cost more.
fn check_credits(worst_case: u64, max_credits: Option<u64>, rate: &str) -> Result<(), CliError> {
    match max_credits {
        Some(max) if worst_case > max => Err(CliError::Usage(format!(
            "this job could cost up to {worst_case} credits ({rate}, up to its limit), more than --max-credits {max}: lower --limit or raise --max-credits"
        ))),
        _ => Ok(()),
    }
}

/// `status`: one request, one JSON object on stdout: what that response
/// says. `pages` is the manifest's page count once the job is terminal, null
/// before (counting the pages written so far would cost a request per page).
pub async fn status<K: ExportKind>(job: &Job<K>) -> Result<(), CliError> {
    let now = job.poll().await?;
    let pages = now.manifest.as_ref().and_then(JobManifest::pages);
    let object = json!({
        "job_id": now.job_id,
        "kind": K::NAME,
        "status": now.status.as_str(),
        "processed": now.processed,
        "progress_message": now.progress_message,
        "error_message": now.error_message,
        "pages": pages,
        "manifest": now.manifest,
    });
    println!("{object}");
    Ok(())
}

/// `cancel`: one JSON object on stdout.
pub async fn cancel(job: &Job<Lookalike>) -> Result<(), CliError> {
    let cancellation = job.cancel().await?;
    let object = json!({
        "job_id": job.id(),
        "status": cancellation.status.as_ref().map(|s| s.as_str()),
        "message": cancellation.message,
        "already_finished": cancellation.already_finished,
    });
    println!("{object}");
    Ok(())
}

pub fn export_options(args: &ResultsArgs) -> ExportOptions {
    ExportOptions {
        format: args.format,
        raw_csv: args.raw_csv,
        output: args.output.clone(),
        resume: args.resume,
        no_wait: args.no_wait,
        timeout: args.timeout.map(Duration::from_secs),
        idle_timeout: Some(Duration::from_secs(args.idle_timeout)),
        limit: args.limit,
    }
}

/// `results`.
pub async fn results<K: ExportKind>(
    job: &Job<K>,
    client: &Client,
    args: &ResultsArgs,
    reporter: Arc<Reporter>,
) -> Result<(), CliError> {
    let options = export_options(args);
    let summary = finished_export(job, &options, client, reporter.clone()).await?;
    report_done(&reporter, &summary, args.no_wait);
    Ok(())
}

/// Exports `job` with `options`, then ends the progress bar: at the rows
/// and pages written, or where an error stopped it.
pub async fn finished_export<K: ExportKind>(
    job: &Job<K>,
    options: &ExportOptions,
    client: &Client,
    reporter: Arc<Reporter>,
) -> Result<ExportSummary<K>, CliError> {
    let outcome = export(job, options, client.poll_policy().clone(), reporter.clone()).await;
    match &outcome {
        Ok(summary) => reporter.finish_with(&done_line(summary)),
        Err(_) => reporter.finish(),
    }
    outcome
}

/// The bar's last line: what the file holds, and what this run added when
/// that differs.
fn done_line<K: JobKind>(summary: &ExportSummary<K>) -> String {
    let holds = counted(summary.rows, "row");
    if summary.already_complete {
        return format!("done · {holds} (already complete)");
    }
    if summary.rows_added == summary.rows {
        return format!("done · {holds} · {}", counted(summary.pages, "page"));
    }
    format!(
        "done · {holds} · {} new from {}",
        summary.rows_added,
        counted(summary.pages, "page")
    )
}

fn report_done<K: JobKind>(reporter: &Reporter, summary: &ExportSummary<K>, no_wait: bool) {
    if summary.already_complete {
        return;
    }
    let available = if no_wait { " available now" } else { "" };
    let wrote = format!(
        "openfunnel: wrote {}{available} from {}",
        counted(summary.rows_added, "row"),
        counted(summary.pages, "page")
    );
    if summary.rows_added == summary.rows {
        reporter.say(&wrote);
    } else {
        reporter.say(&format!(
            "{wrote}; the output now holds {}",
            counted(summary.rows, "row")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, LookalikeCommand, TechIntentCommand};
    use clap::Parser;

    #[test]
    fn max_credits_refuses_only_a_job_that_could_cost_more() {
        let rate = "1 credit per company";
        assert!(
            check_credits(500, None, rate).is_ok(),
            "no budget, no refusal"
        );
        assert!(check_credits(499, Some(500), rate).is_ok(), "fits");
        assert!(
            check_credits(500, Some(500), rate).is_ok(),
            "exactly on the budget"
        );
        match check_credits(501, Some(500), rate) {
            Err(CliError::Usage(message)) => assert!(
                message.contains("up to 501 credits") && message.contains("--max-credits 500"),
                "{message}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn intent(args: &[&str]) -> Result<TechIntentSearch, CliError> {
        let mut all = vec!["openfunnel", "tech-intent", "submit"];
        all.extend_from_slice(args);
        match Cli::parse_from(all).command {
            Command::TechIntent(TechIntentCommand::Submit(args)) => intent_search(&args),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn lookalike(args: &[&str]) -> Result<LookalikeSearch, CliError> {
        let mut all = vec!["openfunnel", "lookalike", "submit"];
        all.extend_from_slice(args);
        match Cli::parse_from(all).command {
            Command::Lookalike(LookalikeCommand::Submit(args)) => lookalike_search(&args),
            other => panic!("parsed as {other:?}"),
        }
    }

    fn refusal<T: std::fmt::Debug>(result: Result<T, CliError>) -> String {
        match result {
            Err(CliError::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn the_last_line_says_what_the_output_holds_and_what_this_run_added() {
        let summary = |rows, rows_added, pages, already_complete| ExportSummary::<Lookalike> {
            rows,
            rows_added,
            pages,
            already_complete,
            outcome: None,
        };
        assert_eq!(
            done_line(&summary(2_000, 2_000, 20, false)),
            "done · 2000 rows · 20 pages"
        );
        assert_eq!(
            done_line(&summary(2_000, 500, 5, false)),
            "done · 2000 rows · 500 new from 5 pages"
        );
        assert_eq!(done_line(&summary(1, 1, 1, false)), "done · 1 row · 1 page");
        assert_eq!(
            done_line(&summary(2_000, 0, 0, true)),
            "done · 2000 rows (already complete)"
        );
    }

    #[test]
    fn both_kinds_take_the_same_flags_and_the_old_names_still_work() {
        let expected = TechIntentSearch::new("dbt", "x")
            .enrich(false)
            .hq_country_code("USA")
            .min_employee_count(10)
            .max_employee_count(500)
            .exclude_vendor(false)
            .exclude_aggregators(false)
            .exclude_company("acme")
            .exclude_company("globex");
        let new_names = intent(&[
            "--tech",
            "dbt",
            "--activity",
            "x",
            "--location",
            "USA",
            "--min-employees",
            "10",
            "--max-employees",
            "500",
            "--include-vendor",
            "--include-aggregators",
            "--exclude-company",
            "acme",
            "--exclude-company",
            "globex",
        ]);
        assert_eq!(new_names.unwrap(), expected);
        let old_names = intent(&[
            "--tech",
            "dbt",
            "--activity",
            "x",
            "--hq-country-code",
            "USA",
            "--min-employee-count",
            "10",
            "--max-employee-count",
            "500",
            "--include-vendor",
            "--include-aggregators",
            "--exclude-company",
            "acme",
            "--exclude-company",
            "globex",
        ]);
        assert_eq!(old_names.unwrap(), expected);
        // Without the flags, the server's defaults (vendor and aggregators dropped).
        assert_eq!(
            intent(&["--tech", "dbt", "--activity", "x"]).unwrap(),
            TechIntentSearch::new("dbt", "x").enrich(false)
        );
    }

    #[test]
    fn refusals_name_the_flag_not_the_api_field() {
        let message = refusal(lookalike(&["--query", "x", "--location", "usa"]));
        assert!(
            message.starts_with("`--location` value \"usa\""),
            "{message}"
        );
        let message = refusal(lookalike(&[
            "--query",
            "x",
            "--min-employees",
            "10",
            "--max-employees",
            "5",
        ]));
        assert!(
            message.contains("`--min-employees` (10) is greater than `--max-employees` (5)"),
            "{message}"
        );
        let message = refusal(intent(&[
            "--tech",
            "dbt",
            "--activity",
            "x",
            "--min-employee-count",
            "10",
            "--max-employees",
            "5",
        ]));
        assert!(
            message.contains("`--min-employees` (10) is greater than `--max-employees` (5)"),
            "{message}"
        );
        let message = refusal(intent(&[
            "--tech",
            "dbt",
            "--activity",
            "x",
            "--location",
            "US",
        ]));
        assert!(message.starts_with("`--location`"), "{message}");
        let message = refusal(intent(&[
            "--tech",
            "dbt",
            "--activity",
            "x",
            "--lookback-days",
            "0",
        ]));
        assert!(message.starts_with("`--lookback-days` is 0"), "{message}");
    }

    #[test]
    fn seed_domains_are_host_names_normalised_as_the_server_does() {
        for (given, host) in [
            ("datadoghq.com", "datadoghq.com"),
            ("https://www.Datadoghq.com/pricing?x=1", "datadoghq.com"),
            ("http://honeycomb.io.", "honeycomb.io"),
            ("sub-domain.example.co.uk", "sub-domain.example.co.uk"),
        ] {
            assert_eq!(seed_domain(given).unwrap(), host, "{given}");
        }
        for bad in [
            "not a domain",
            "localhost",
            "",
            "-bad.com",
            "bad-.com",
            "a..b",
            "ex_ample.com",
            "https://",
        ] {
            let message = refusal(seed_domain(bad));
            assert!(
                message.contains("--seed-domain") && message.contains("host name"),
                "{bad}: {message}"
            );
        }
        let search = lookalike(&["--seed-domain", "https://www.datadoghq.com/"]).unwrap();
        assert_eq!(
            search,
            LookalikeSearch::default().seed_domain("datadoghq.com")
        );
    }

    #[test]
    fn funding_stages_are_the_documented_ones_in_any_case() {
        assert_eq!(funding_stage("series a").unwrap(), "Series A");
        assert_eq!(funding_stage(" PRE-SEED ").unwrap(), "Pre-Seed");
        for stage in FUNDING_STAGES {
            assert_eq!(funding_stage(stage).unwrap(), *stage);
        }
        let message = refusal(funding_stage("Series Z"));
        assert!(
            message.contains("Series Z") && message.contains("Series H"),
            "{message}"
        );
        let search = lookalike(&["--query", "x", "--funding-stage", "series b"]).unwrap();
        assert_eq!(
            search,
            LookalikeSearch::default()
                .query("x")
                .funding_stage("Series B")
        );
    }
}
