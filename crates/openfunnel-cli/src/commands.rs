//! The subcommands.

use crate::cli::{LookalikeSubmitArgs, ResultsArgs, TechIntentSubmitArgs};
use crate::exit::CliError;
use crate::export::{ExportKind, ExportOptions, ExportSummary, export};
use crate::progress::Reporter;
use openfunnel::{Client, Job, JobKind, JobManifest, Lookalike, LookalikeSearch, TechIntentSearch};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub fn lookalike_search(args: &LookalikeSubmitArgs) -> Result<LookalikeSearch, CliError> {
    let search = LookalikeSearch::default()
        .set_query(args.query.clone())
        .set_seed_domains(Some(args.seed_domains.clone()))
        .set_limit(args.limit)
        .set_min_employees(args.min_employees)
        .set_max_employees(args.max_employees)
        .set_funding_stages(Some(args.funding_stages.clone()))
        .set_locations(Some(args.locations.clone()));
    search.validate()?;
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
        .set_hq_country_code(args.hq_country_code.clone())
        .set_min_employee_count(args.min_employee_count)
        .set_max_employee_count(args.max_employee_count);
    search.validate()?;
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
        Ok(summary) => reporter.finish_with(summary.rows, summary.pages),
        Err(_) => reporter.finish(),
    }
    outcome
}

fn report_done<K: JobKind>(reporter: &Reporter, summary: &ExportSummary<K>, no_wait: bool) {
    if summary.already_complete {
        return;
    }
    let what = if no_wait {
        "rows available now"
    } else {
        "rows"
    };
    reporter.say(&format!(
        "openfunnel: wrote {} {what} from {} pages",
        summary.rows, summary.pages
    ));
}
