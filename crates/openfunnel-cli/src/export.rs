//! `results`: write a job's rows as its pages land, resumably.

use crate::cli::Format;
use crate::exit::CliError;
use crate::output::RowSink;
use crate::progress::Reporter;
use crate::sidecar::{self, ExportState};
use futures_util::StreamExt;
use openfunnel::{Job, JobKind, Lookalike, PollPolicy, StreamOutcome, TechIntent};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the CLI knows about a job kind beyond the SDK.
pub trait ExportKind: JobKind {
    /// CSV columns, in order: the declared fields (and, for intent rows, the
    /// documented firmographics). Anything else goes to the last column.
    const COLUMNS: &'static [&'static str];
}

impl ExportKind for Lookalike {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "domain",
        "linkedin_url",
        "headquarters",
        "match_reason",
        "employee_count",
    ];
}

impl ExportKind for TechIntent {
    const COLUMNS: &'static [&'static str] = &[
        "company_slug",
        "company_name",
        "post_count",
        "first_posted_at",
        "last_posted_at",
        "enriched",
        "website",
        "linkedin_url",
        "linkedin_org_id",
        "linkedin_follower_count",
        "employee_count",
        "industries",
        "description",
        "hq_city",
        "hq_region",
        "hq_country",
        "hq_country_code",
        "funding_stage",
        "total_funding_usd",
        "latest_funding_usd",
        "revenue_usd",
        "intent",
    ];
}

/// How to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub format: Format,
    /// CSV text cells as received, formulas included.
    pub raw_csv: bool,
    pub output: Option<PathBuf>,
    pub resume: bool,
    pub no_wait: bool,
    pub timeout: Option<Duration>,
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct ExportSummary<K: JobKind> {
    pub rows: u64,
    /// Pages this run wrote rows from (a page that grew counts once).
    pub pages: u64,
    pub already_complete: bool,
    /// How the job ended (final status, manifest, any manifest/chain
    /// mismatch), when the export reached its end.
    pub outcome: Option<StreamOutcome<K>>,
}

impl<K: JobKind> Default for ExportSummary<K> {
    fn default() -> Self {
        ExportSummary {
            rows: 0,
            pages: 0,
            already_complete: false,
            outcome: None,
        }
    }
}

/// Where rows go: stdout, or a file with its checkpoint.
enum Destination {
    Stdout,
    File { file: PathBuf, sidecar: PathBuf },
}

/// Writes every row of `job` (or, with `--no-wait`, the rows available now).
pub async fn export<K: ExportKind>(
    job: &Job<K>,
    options: &ExportOptions,
    policy: PollPolicy,
    reporter: Arc<Reporter>,
) -> Result<ExportSummary<K>, CliError> {
    let (destination, state) = prepare::<K>(job, options)?;
    if state.complete {
        // Nothing left to fetch, but the file is still cut back to what the
        // checkpoint recorded (anything after it is not ours) and closed.
        if let Destination::File { file, .. } = &destination {
            let mut sink = RowSink::new(
                open_at(file, state.bytes)?,
                options.format,
                K::COLUMNS,
                state.rows,
                state.bytes,
            )
            .map_err(CliError::io("cannot write the output"))?;
            sink.finish()
                .map_err(CliError::io("cannot write the output"))?;
        }
        reporter.say(&format!(
            "openfunnel: the export is already complete ({} rows)",
            state.rows
        ));
        return Ok(ExportSummary {
            rows: state.rows,
            already_complete: true,
            ..ExportSummary::default()
        });
    }
    let writer: Box<dyn Write + Send> = match &destination {
        Destination::Stdout => Box::new(BufWriter::new(std::io::stdout())),
        Destination::File { file, .. } => Box::new(BufWriter::new(open_at(file, state.bytes)?)),
    };
    let mut sink = RowSink::new(writer, options.format, K::COLUMNS, state.rows, state.bytes)
        .map_err(CliError::io("cannot write the output"))?;
    if options.raw_csv {
        sink = sink.raw_csv();
    }

    let policy = match (options.no_wait, options.timeout) {
        // Read what is there; the first wait is where "now" ends.
        (true, _) => policy.with_deadline(Duration::ZERO),
        (false, Some(timeout)) => policy.with_deadline(timeout),
        (false, None) => policy,
    };
    // The cursor a resumed export starts from: if the server no longer knows
    // it, the user must hear that the checkpoint (not the job) is the problem.
    let resumed_at = options
        .resume
        .then(|| state.checkpoint.cursor().map(str::to_string))
        .flatten();
    let observer = reporter.clone();
    let mut pages = job
        .pages()
        .with_policy(policy)
        .resume_from(state.checkpoint.clone())
        .on_progress(move |progress| observer.update(progress));

    let mut state = state;
    let mut summary = ExportSummary::default();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let outcome = loop {
        let next = tokio::select! {
            next = pages.next() => next,
            _ = &mut interrupted => break Err(CliError::Interrupted),
        };
        match next {
            Some(Ok(page)) => {
                for row in &page.rows {
                    sink.write_row(row)
                        .map_err(CliError::io("cannot write a row"))?;
                }
                sink.flush()
                    .map_err(CliError::io("cannot write the output"))?;
                // A page that grew while the job ran comes again with only
                // its new rows: one page still.
                if summary.pages == 0 || page.skipped_rows() == 0 {
                    summary.pages += 1;
                }
                if let Destination::File { file, sidecar } = &destination {
                    sync(file)?;
                    state.bytes = sink.bytes();
                    state.rows = sink.rows();
                    state.checkpoint = page.checkpoint();
                    sidecar::save(sidecar, &state)?;
                }
            }
            Some(Err(openfunnel::Error::TimedOut { .. })) if options.no_wait => break Ok(()),
            Some(Err(error))
                if forgot_the_checkpoint(&error, resumed_at.as_deref(), summary.pages) =>
            {
                let output = options.output.as_deref().unwrap_or(Path::new("the output"));
                break Err(CliError::StaleCheckpoint(format!(
                    "--resume: the server no longer knows where {} stopped ({error}); the rows in it are kept: export again without --resume to start over",
                    output.display()
                )));
            }
            Some(Err(error)) => break Err(CliError::Sdk(error)),
            None => {
                state.complete = true;
                break Ok(());
            }
        }
    };
    // A valid file in every case (the JSON array is closed); the checkpoint
    // points before the closing bracket, so a resume continues the array.
    sink.finish()
        .map_err(CliError::io("cannot write the output"))?;
    if let Destination::File { sidecar, .. } = &destination {
        state.rows = sink.rows();
        sidecar::save(sidecar, &state)?;
    }
    summary.rows = sink.rows();
    summary.outcome = pages.outcome().cloned();
    if let Some(mismatch) = summary
        .outcome
        .as_ref()
        .and_then(|outcome| outcome.manifest_mismatch)
    {
        reporter.say(&format!(
            "openfunnel: warning: job {}: {mismatch}",
            job.id()
        ));
    }
    outcome.map(|()| summary)
}

/// Whether `error` says the server no longer knows the cursor a resumed
/// export started from (`resumed_at`), before any page of this run arrived.
fn forgot_the_checkpoint(
    error: &openfunnel::Error,
    resumed_at: Option<&str>,
    pages_this_run: u64,
) -> bool {
    match error {
        openfunnel::Error::UnknownCursor { cursor, .. } => {
            pages_this_run == 0 && resumed_at == Some(cursor.as_str())
        }
        _ => false,
    }
}

/// Opens the destination and works out where to start.
fn prepare<K: ExportKind>(
    job: &Job<K>,
    options: &ExportOptions,
) -> Result<(Destination, ExportState), CliError> {
    let fresh = ExportState {
        job_id: job.id().to_string(),
        kind: K::NAME.to_string(),
        format: options.format,
        bytes: 0,
        rows: 0,
        checkpoint: openfunnel::Checkpoint::start(),
        complete: false,
    };
    let Some(file) = &options.output else {
        return Ok((Destination::Stdout, fresh));
    };
    let sidecar = sidecar::path_for(file);
    let state = if options.resume {
        match sidecar::load(&sidecar)? {
            Some(saved) => {
                if saved.job_id != fresh.job_id
                    || saved.kind != fresh.kind
                    || saved.format != fresh.format
                {
                    return Err(CliError::Usage(format!(
                        "{} holds a {} export of job {} as {:?}, not this one; choose another --output or drop --resume",
                        file.display(),
                        saved.kind,
                        saved.job_id,
                        saved.format
                    )));
                }
                saved
            }
            None if file.metadata().is_ok_and(|m| m.len() > 0) => {
                return Err(CliError::Usage(format!(
                    "--resume: {} has no checkpoint ({}), so where it stopped is unknown; export again without --resume",
                    file.display(),
                    sidecar.display()
                )));
            }
            None => fresh,
        }
    } else {
        File::create(file).map_err(CliError::io(format!("cannot create {}", file.display())))?;
        sidecar::save(&sidecar, &fresh)?;
        fresh
    };
    Ok((
        Destination::File {
            file: file.clone(),
            sidecar,
        },
        state,
    ))
}

/// Opens `file` for writing at `bytes`, cutting off anything after it (a
/// torn last line, or a page written after the last checkpoint).
fn open_at(file: &PathBuf, bytes: u64) -> Result<File, CliError> {
    let context = format!("cannot open {}", file.display());
    let mut handle = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(file)
        .map_err(CliError::io(context.clone()))?;
    handle
        .set_len(bytes)
        .map_err(CliError::io(context.clone()))?;
    handle
        .seek(SeekFrom::Start(bytes))
        .map_err(CliError::io(context))?;
    Ok(handle)
}

fn sync(file: &PathBuf) -> Result<(), CliError> {
    File::open(file)
        .and_then(|handle| handle.sync_data())
        .map_err(CliError::io(format!("cannot sync {}", file.display())))
}

#[cfg(test)]
mod tests {
    use super::forgot_the_checkpoint;

    fn unknown(cursor: &str) -> openfunnel::Error {
        openfunnel::Error::UnknownCursor {
            job_id: "j".into(),
            cursor: cursor.into(),
            status: 422,
            body: Default::default(),
        }
    }

    #[test]
    fn only_the_resumed_cursor_refused_before_any_page_is_a_forgotten_checkpoint() {
        assert!(forgot_the_checkpoint(&unknown("c7"), Some("c7"), 0));
        // Not resumed, or resumed elsewhere: the chain's own cursor was refused.
        assert!(!forgot_the_checkpoint(&unknown("c7"), None, 0));
        assert!(!forgot_the_checkpoint(&unknown("c8"), Some("c7"), 0));
        // A page arrived first: the refusal is about a later page.
        assert!(!forgot_the_checkpoint(&unknown("c7"), Some("c7"), 1));
        let not_found = openfunnel::Error::NotFound {
            job_id: "j".into(),
            body: Default::default(),
        };
        assert!(!forgot_the_checkpoint(&not_found, Some("c7"), 0));
    }
}
