//! `results`: write a job's rows as its pages land, resumably.

use crate::cli::Format;
use crate::digest::Digest;
use crate::exit::CliError;
use crate::output::{EXTRA_COLUMN, RowSink};
use crate::progress::Reporter;
use crate::sidecar::{self, ExportState};
use futures_util::StreamExt;
use openfunnel::{Job, JobKind, Lookalike, PollPolicy, StreamOutcome, TechIntent};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What the CLI knows about a job kind beyond the SDK: how its rows are laid
/// out in CSV.
pub trait ExportKind: JobKind {
    /// The fields the row schema declares, generated from the spec: each has a
    /// column, so a field OpenFunnel adds gets its own after regeneration.
    const DECLARED: &'static [&'static str];
    /// Fields documented beyond the schema (the intent rows' firmographics,
    /// kept in the row's `extra`): each has a column too.
    const DOCUMENTED: &'static [&'static str];
    /// The order of the columns listed here; declared or documented fields
    /// not listed follow them, and a listed field neither declares nor
    /// documents any more has no column.
    const ORDER: &'static [&'static str];
}

impl ExportKind for Lookalike {
    const DECLARED: &'static [&'static str] = openfunnel::LookalikeRow::FIELD_NAMES;
    const DOCUMENTED: &'static [&'static str] = &[];
    const ORDER: &'static [&'static str] = &[
        "name",
        "domain",
        "linkedin_url",
        "headquarters",
        "match_reason",
        "employee_count",
    ];
}

impl ExportKind for TechIntent {
    const DECLARED: &'static [&'static str] = openfunnel::TechIntentRow::FIELD_NAMES;
    const DOCUMENTED: &'static [&'static str] = &[
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
    ];
    const ORDER: &'static [&'static str] = &[
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

/// The CSV columns of `K`'s rows before the last one, `other_fields` (what
/// no column holds): [`ExportKind::ORDER`] where it applies, then every other
/// declared or documented field.
pub fn csv_columns<K: ExportKind>() -> Vec<String> {
    columns_from(K::ORDER, K::DECLARED, K::DOCUMENTED)
}

fn columns_from(order: &[&str], declared: &[&str], documented: &[&str]) -> Vec<String> {
    let known = |field: &&&str| declared.contains(field) || documented.contains(field);
    let mut columns: Vec<String> = order.iter().filter(known).map(|c| c.to_string()).collect();
    for field in declared.iter().chain(documented) {
        if !columns.iter().any(|column| column == field) {
            columns.push(field.to_string());
        }
    }
    columns
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
    /// Bounds the whole export (`--timeout`).
    pub timeout: Option<Duration>,
    /// Bounds waiting without progress (`--idle-timeout`); `None` keeps the
    /// policy's.
    pub idle_timeout: Option<Duration>,
    /// The most rows to write (`--limit`); `None`: every row, or on
    /// `--resume` the limit the checkpoint recorded.
    pub limit: Option<u64>,
}

/// What an export did.
#[derive(Clone, Debug)]
pub struct ExportSummary<K: JobKind> {
    /// Rows the output holds now (after a --resume, those of earlier runs too).
    pub rows: u64,
    /// Rows this run wrote.
    pub rows_added: u64,
    /// Pages of the job's chain this run read ([`openfunnel::Pages::pages_read`]:
    /// a page that grew counts once).
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
            rows_added: 0,
            pages: 0,
            already_complete: false,
            outcome: None,
        }
    }
}

/// Where rows go.
enum Target {
    Stdout,
    /// Not a regular file (a pipe, a FIFO, a device such as `/dev/stdout`
    /// or `/dev/full`): written as a stream, with no checkpoint beside it.
    Stream(PathBuf),
    /// A regular file, locked for the export, with its checkpoint beside it.
    File {
        path: PathBuf,
        sidecar: PathBuf,
    },
}

/// The open output.
enum Output {
    Stdout(std::io::Stdout),
    File(File),
}

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(bytes),
            Output::File(file) => file.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File(file) => file.flush(),
        }
    }
}

/// Writes every row of `job` (or, with `--no-wait`, the rows available now).
pub async fn export<K: ExportKind>(
    job: &Job<K>,
    options: &ExportOptions,
    policy: PollPolicy,
    reporter: Arc<Reporter>,
) -> Result<ExportSummary<K>, CliError> {
    let target = target(options)?;
    let (output, state, digest) = open::<K>(job, options, &target)?;
    let mut sink = RowSink::new(
        BufWriter::new(output),
        options.format,
        state.csv_columns::<K>(),
        state.rows,
        state.bytes,
        digest,
    )
    .map_err(CliError::io("cannot write the output"))?;
    if state.complete {
        // Nothing left to fetch; the file was cut back to what the
        // checkpoint recorded (anything after it is not ours) and is closed.
        sink.finish()
            .map_err(CliError::io("cannot write the output"))?;
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
    if options.raw_csv {
        sink = sink.raw_csv();
    }

    let mut policy = match options.timeout {
        Some(timeout) => policy.with_deadline(timeout),
        None => policy,
    };
    if let Some(idle) = options.idle_timeout {
        policy = policy.with_idle_timeout(idle);
    }
    // The cursor a resumed export starts from: if the server no longer knows
    // it, the user must hear that the checkpoint (not the job) is the problem.
    let resumed_at = options
        .resume
        .then(|| state.checkpoint.cursor().map(str::to_string))
        .flatten();
    let observer = reporter.clone();
    let mut stream = job
        .stream()
        .with_policy(policy)
        .resume_from(state.checkpoint.clone())
        .on_progress(move |progress| observer.update(progress));
    if options.no_wait {
        // Read what is written; never wait for what is not.
        stream = stream.until_caught_up();
    }
    let mut pages = stream.pages();

    let mut state = state;
    let rows_before = state.rows;
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
                if let Err(error) = write_page(&mut sink, &page, &target, &mut state) {
                    break Err(error);
                }
                if state.limit.is_some_and(|limit| state.rows >= limit) {
                    // --limit reached: the export is complete.
                    state.complete = true;
                    break Ok(());
                }
            }
            Some(Err(error))
                if forgot_the_checkpoint(&error, resumed_at.as_deref(), pages.pages_read()) =>
            {
                let output = options.output.as_deref().unwrap_or(Path::new("the output"));
                break Err(CliError::StaleCheckpoint(format!(
                    "--resume: the server no longer knows where {} stopped ({error}); the rows in it are kept: export again without --resume to start over",
                    output.display()
                )));
            }
            Some(Err(error)) => break Err(CliError::from_sdk(error)),
            None => {
                // The end of a terminal job, or (`--no-wait`) of what the
                // running job has written so far: only the first is complete.
                state.complete = pages.outcome().is_some();
                break Ok(());
            }
        }
    };
    // A valid file in every case (the JSON array is closed); the checkpoint
    // points before the closing bracket, so a resume continues the array. A
    // plain export that completed needs no checkpoint: it goes (the file is
    // whole); one that stopped early keeps it for --resume, and a --resume
    // run keeps its own.
    let closed = sink
        .finish()
        .map_err(CliError::io("cannot write the output"))
        .and_then(|()| match &target {
            Target::File { sidecar, .. } if state.complete && !options.resume => {
                sidecar::remove(sidecar)
            }
            Target::File { sidecar, .. } => sidecar::save(sidecar, &state),
            _ => Ok(()),
        });
    let outcome = outcome.and(closed);
    summary.rows = sink.rows();
    summary.rows_added = sink.rows().saturating_sub(rows_before);
    summary.pages = pages.pages_read();
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
    // The rows the checkpoint names are the ones a resume keeps.
    outcome.map(|()| summary).map_err(|error| match &target {
        Target::File { path, .. } if state.rows > 0 => error.kept_in(path, state.rows),
        _ => error,
    })
}

/// Writes `page`'s rows, then (into a file) makes them durable and saves the
/// checkpoint after them.
fn write_page<K: ExportKind>(
    sink: &mut RowSink<BufWriter<Output>>,
    page: &openfunnel::Page<K>,
    target: &Target,
    state: &mut ExportState,
) -> Result<(), CliError> {
    // The server's own text of each row: nothing re-encoded. Under --limit,
    // only the rows it still allows.
    let allowed = state.limit.map_or(usize::MAX, |limit| {
        usize::try_from(limit.saturating_sub(sink.rows())).unwrap_or(usize::MAX)
    });
    let rows = &page.json_rows()[..page.json_rows().len().min(allowed)];
    for row in rows {
        sink.write_row(row)
            .map_err(CliError::io("cannot write a row"))?;
    }
    sink.flush()
        .map_err(CliError::io("cannot write the output"))?;
    state.rows = sink.rows();
    if let Target::File { path, sidecar } = target {
        sync(sink, path)?;
        state.bytes = sink.bytes();
        state.digest = sink.digest().hex();
        state.checkpoint = page.checkpoint_after(rows.len());
        sidecar::save(sidecar, state)?;
    }
    Ok(())
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

/// What `--output` names: nothing (stdout), a regular file (new or
/// existing), or something else, which is written as a stream.
fn target(options: &ExportOptions) -> Result<Target, CliError> {
    let Some(path) = &options.output else {
        return Ok(Target::Stdout);
    };
    let regular = match std::fs::metadata(path) {
        Ok(metadata) => metadata.is_file(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => true,
        Err(error) => {
            return Err(CliError::io(format!("cannot open {}", path.display()))(
                error,
            ));
        }
    };
    if regular {
        return Ok(Target::File {
            path: path.clone(),
            sidecar: sidecar::path_for(path),
        });
    }
    if options.resume {
        return Err(CliError::Usage(format!(
            "--resume needs a regular file, and {} is not one (a pipe, FIFO or device is written as a stream, with no checkpoint to resume from): drop --resume, or export into a file",
            path.display()
        )));
    }
    Ok(Target::Stream(path.clone()))
}

/// Opens the target and works out where the export starts: its state and
/// the digest of the bytes already in the file. Every check that can refuse
/// runs before the file is changed.
fn open<K: ExportKind>(
    job: &Job<K>,
    options: &ExportOptions,
    target: &Target,
) -> Result<(Output, ExportState, Digest), CliError> {
    let fresh = ExportState {
        format: options.format,
        bytes: 0,
        digest: Digest::default().hex(),
        rows: 0,
        checkpoint: job.start_checkpoint(),
        complete: false,
        limit: options.limit,
        csv_header: (options.format == Format::Csv).then(|| {
            let mut header = csv_columns::<K>();
            header.push(EXTRA_COLUMN.to_string());
            header
        }),
    };
    match target {
        Target::Stdout => Ok((Output::Stdout(std::io::stdout()), fresh, Digest::default())),
        Target::Stream(path) => {
            let stream = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(CliError::io(format!("cannot open {}", path.display())))?;
            Ok((Output::File(stream), fresh, Digest::default()))
        }
        Target::File { path, sidecar } => {
            if options.resume
                && let Some((file, mut saved, digest)) = resume_file(path, sidecar, &fresh)?
            {
                // A --limit given now replaces the recorded one; an export
                // that stopped at its old limit continues to a higher one.
                if let Some(limit) = options.limit {
                    let stopped_at_the_old = saved.limit.is_some_and(|old| saved.rows >= old);
                    if saved.complete && stopped_at_the_old && saved.rows < limit {
                        saved.complete = false;
                    }
                    saved.limit = Some(limit);
                }
                return Ok((Output::File(file), saved, digest));
            }
            let file = open_locked(path)?;
            // The old checkpoint goes before the file is emptied: no crash
            // point leaves a checkpoint beside a file it does not describe.
            sidecar::remove(sidecar)?;
            file.set_len(0)
                .map_err(CliError::io(format!("cannot empty {}", path.display())))?;
            sidecar::save(sidecar, &fresh)?;
            Ok((Output::File(file), fresh, Digest::default()))
        }
    }
}

/// `--resume` into the regular file `path`: the file, locked and cut back to
/// its checkpoint, with the checkpoint and the digest of what it keeps; or
/// `None` when there is nothing to resume (no file and no checkpoint, or an
/// empty file without one), so the export starts afresh.
fn resume_file(
    path: &Path,
    sidecar: &Path,
    fresh: &ExportState,
) -> Result<Option<(File, ExportState, Digest)>, CliError> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match sidecar::load(sidecar)? {
                Some(saved) => Err(CliError::Usage(format!(
                    "--resume: {} is missing, but its checkpoint ({}) says it held {} rows ({} bytes): export again without --resume",
                    path.display(),
                    sidecar.display(),
                    saved.rows,
                    saved.bytes
                ))),
                None => Ok(None),
            };
        }
        Err(error) => {
            return Err(CliError::io(format!("cannot open {}", path.display()))(
                error,
            ));
        }
    };
    lock(&file, path)?;
    let length = file
        .metadata()
        .map_err(CliError::io(format!("cannot read {}", path.display())))?
        .len();
    let Some(saved) = sidecar::load(sidecar)? else {
        if length > 0 {
            return Err(CliError::Usage(format!(
                "--resume: {} has no checkpoint ({}), so where it stopped is unknown; export again without --resume",
                path.display(),
                sidecar.display()
            )));
        }
        return Ok(None);
    };
    // The checkpoint names its own job and kind (refused before the file
    // is touched).
    let (job_id, kind) = (fresh.checkpoint.job_id(), fresh.checkpoint.kind());
    let foreign = saved
        .checkpoint
        .check_belongs_to(job_id.unwrap_or_default(), kind.unwrap_or_default());
    if foreign.is_err() || saved.format != fresh.format {
        return Err(CliError::Usage(format!(
            "{} holds a {} export of job {} as {}, not this one; choose another --output or drop --resume",
            path.display(),
            saved.checkpoint.kind().unwrap_or("an unnamed"),
            saved.checkpoint.job_id().unwrap_or("unknown"),
            saved.format.name()
        )));
    }
    let digest = verify_prefix(&file, path, length, &saved)?;
    // Anything after the checkpoint is a page written after the last save,
    // or a torn line: not ours to keep.
    let mut file = file;
    file.set_len(saved.bytes)
        .and_then(|()| file.seek(SeekFrom::Start(saved.bytes)).map(drop))
        .map_err(CliError::io(format!("cannot open {}", path.display())))?;
    Ok(Some((file, saved, digest)))
}

/// Checks that `file` (of `length` bytes) begins with exactly the bytes the
/// checkpoint describes, and returns their digest.
fn verify_prefix(
    file: &File,
    path: &Path,
    length: u64,
    saved: &ExportState,
) -> Result<Digest, CliError> {
    let refuse = |what: String| {
        CliError::Usage(format!(
            "--resume: {what}, so it is not the file its checkpoint describes; it was left as it is: export again without --resume",
        ))
    };
    if length < saved.bytes {
        return Err(refuse(format!(
            "{} holds {length} bytes but its checkpoint says it held {} ({} rows)",
            path.display(),
            saved.bytes,
            saved.rows
        )));
    }
    let mut reader = file;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(CliError::io(format!("cannot read {}", path.display())))?;
    let digest = Digest::of_prefix(&mut reader, saved.bytes)
        .map_err(CliError::io(format!("cannot read {}", path.display())))?;
    match digest {
        Some(digest) if digest.hex() == saved.digest => Ok(digest),
        Some(_) => Err(refuse(format!(
            "the first {} bytes of {} differ from what the export wrote",
            saved.bytes,
            path.display()
        ))),
        None => Err(refuse(format!(
            "{} is shorter than its checkpoint says ({} bytes)",
            path.display(),
            saved.bytes
        ))),
    }
}

/// Opens `path` for reading and writing (creating it if need be), without
/// changing it, and locks it.
fn open_locked(path: &Path) -> Result<File, CliError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(CliError::io(format!("cannot open {}", path.display())))?;
    lock(&file, path)?;
    Ok(file)
}

/// Takes the export's exclusive lock on the output file, held until the
/// file is closed: a second export into the same file is refused at once.
fn lock(file: &File, path: &Path) -> Result<(), CliError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(CliError::Usage(format!(
            "another export is writing {} (it holds the file's lock): wait for it to finish, or choose another --output",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(error))
            if error.kind() == std::io::ErrorKind::Unsupported =>
        {
            tracing::warn!(path = %path.display(), "this file system cannot lock files; two exports into one file would not be stopped");
            Ok(())
        }
        Err(std::fs::TryLockError::Error(error)) => Err(CliError::io(format!(
            "cannot lock {}",
            path.display()
        ))(error)),
    }
}

/// Makes the rows written so far durable before the checkpoint names them.
fn sync(sink: &mut RowSink<BufWriter<Output>>, path: &Path) -> Result<(), CliError> {
    let context = format!("cannot sync {}", path.display());
    let writer = sink.get_mut();
    writer.flush().map_err(CliError::io(context.clone()))?;
    match writer.get_ref() {
        Output::File(file) => file.sync_data().map_err(CliError::io(context)),
        Output::Stdout(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_columns_follow_the_schema_in_the_preferred_order() {
        let columns = super::columns_from(
            &["name", "domain", "gone"],
            &["domain", "added", "name"],
            &["firmographic"],
        );
        // Listed first in their order; a field the schema no longer declares
        // has no column; a new one and a documented one follow.
        assert_eq!(columns, ["name", "domain", "added", "firmographic"]);
    }

    #[test]
    fn every_declared_row_field_has_a_csv_column_today() {
        use openfunnel::{Lookalike, TechIntent};
        let lookalike = super::csv_columns::<Lookalike>();
        assert_eq!(&lookalike[..2], ["name", "domain"]);
        for field in openfunnel::LookalikeRow::FIELD_NAMES {
            assert!(lookalike.iter().any(|c| c == field), "{field}");
        }
        let intent = super::csv_columns::<TechIntent>();
        for field in openfunnel::TechIntentRow::FIELD_NAMES
            .iter()
            .chain(["website", "revenue_usd"].iter())
        {
            assert!(intent.iter().any(|c| c == field), "{field}");
        }
        assert_eq!(intent.last().map(String::as_str), Some("intent"));
    }

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
