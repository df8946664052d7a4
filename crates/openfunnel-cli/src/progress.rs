//! Progress on stderr: a live bar on a terminal, plain rate-limited lines
//! otherwise, nothing with `--quiet`. The bar shows a percent and an ETA
//! whenever a total is known — the manifest's page count once the job is
//! done, or the job's row limit (when it was submitted in this run, or given
//! with `--limit`) while it runs — and is a spinner otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use openfunnel::Progress;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Plain lines are printed at most this often (and on every status change).
const LINE_INTERVAL: Duration = Duration::from_secs(2);

pub enum Reporter {
    Quiet,
    Bar {
        bar: ProgressBar,
        /// Rows the job will produce at most, when known.
        expected_rows: Option<u64>,
    },
    Lines(Mutex<LineState>),
}

/// The bar once a total is known.
const BAR_TEMPLATE: &str =
    "{spinner} [{bar:30}] {percent:>3}% ETA {eta} · {msg} [{elapsed_precise}]";

pub struct LineState {
    last: Option<Instant>,
    /// The status of the last line; `None` after a line about a retry.
    last_status: Option<String>,
}

impl LineState {
    /// Whether a report of `status` (`None`: a retry) at `now` gets a line,
    /// recording it if so: on every change, and every [`LINE_INTERVAL`]
    /// otherwise — but while the service fails, one line when it starts,
    /// not one per retry (the next answer prints the state again).
    fn shows(&mut self, status: Option<String>, now: Instant) -> bool {
        let due = status.is_some()
            && self
                .last
                .is_none_or(|last| now.saturating_duration_since(last) >= LINE_INTERVAL);
        if !due && self.last.is_some() && status == self.last_status {
            return false;
        }
        self.last = Some(now);
        self.last_status = status;
        true
    }
}

impl Reporter {
    pub fn new(quiet: bool) -> Reporter {
        if quiet {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            let style = ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            Reporter::Bar {
                bar,
                expected_rows: None,
            }
        } else {
            Reporter::Lines(Mutex::new(LineState {
                last: None,
                last_status: None,
            }))
        }
    }

    /// The job will produce at most `rows` rows (its limit): the bar can
    /// show a percent and an ETA while it runs.
    pub fn expecting_rows(mut self, rows: Option<u64>) -> Reporter {
        if let Reporter::Bar { expected_rows, .. } = &mut self {
            *expected_rows = rows.filter(|rows| *rows > 0);
        }
        self
    }

    /// Shows one progress report.
    pub fn update(&self, progress: &Progress) {
        let text = describe(progress);
        match self {
            Reporter::Quiet => {}
            Reporter::Bar { bar, expected_rows } => {
                if let Some((length, position)) = bar_position(progress, *expected_rows) {
                    if bar.length() != Some(length) {
                        if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
                            bar.set_style(style.progress_chars("=> "));
                        }
                        bar.set_length(length);
                    }
                    bar.set_position(position.min(length));
                }
                bar.set_message(text);
            }
            Reporter::Lines(state) => {
                let Ok(mut state) = state.lock() else { return };
                let status = match progress.retrying {
                    Some(_) => None,
                    None => Some(progress.status.to_string()),
                };
                if state.shows(status, Instant::now()) {
                    eprintln!("openfunnel: {text}");
                }
            }
        }
    }

    /// A message that must be seen (not with --quiet).
    pub fn say(&self, message: &str) {
        match self {
            Reporter::Quiet => {}
            // A finished bar stays on screen as the last progress line; a
            // message after it goes below it, once.
            Reporter::Bar { bar, .. } if bar.is_finished() => eprintln!("{message}"),
            Reporter::Bar { bar, .. } => bar.println(message),
            Reporter::Lines(_) => eprintln!("{message}"),
        }
    }

    pub fn finish(&self) {
        if let Reporter::Bar { bar, .. } = self {
            bar.finish_and_clear();
        }
    }

    /// Ends the bar on the export's own counts, so its last line says what
    /// the summary says.
    pub fn finish_with(&self, rows: u64, pages: u64) {
        let done = format!("done · {rows} rows · {pages} pages");
        match self {
            Reporter::Quiet => {}
            Reporter::Bar { bar, .. } => {
                if let Some(length) = bar.length() {
                    bar.set_position(length);
                }
                bar.finish_with_message(done);
            }
            // Plain lines are rate-limited: the last one may predate the
            // last pages, so the final counts get a line of their own.
            Reporter::Lines(_) => eprintln!("openfunnel: {done}"),
        }
    }
}

/// The bar's `(length, position)`: pages once the manifest gives their
/// count, else rows toward the expected total, else none (a spinner).
fn bar_position(progress: &Progress, expected_rows: Option<u64>) -> Option<(u64, u64)> {
    bar_counts(
        progress.total_pages,
        progress.pages,
        progress.rows,
        progress.processed,
        expected_rows,
    )
}

fn bar_counts(
    total_pages: Option<i64>,
    pages: u64,
    rows: u64,
    processed: Option<i64>,
    expected_rows: Option<u64>,
) -> Option<(u64, u64)> {
    match (total_pages, expected_rows) {
        (Some(total), _) if total > 0 => Some((total as u64, pages)),
        (_, Some(expected)) => {
            let done = processed.map_or(rows, |n| n.max(0) as u64);
            Some((expected, done.max(rows)))
        }
        _ => None,
    }
}

/// `running · qualifying_companies · 1200 rows · 12 pages · 3.2 s`.
pub fn describe(progress: &Progress) -> String {
    let mut parts = vec![progress.status.to_string()];
    if let Some(stage) = &progress.stage {
        parts.push(stage.clone());
    }
    let pages = match progress.total_pages {
        Some(total) => format!("{}/{total} pages", progress.pages),
        None => format!("{} pages", progress.pages),
    };
    parts.push(format!("{} rows", progress.rows));
    parts.push(pages);
    if let Some(processed) = progress.processed {
        parts.push(format!("{processed} processed"));
    }
    parts.push(format!("{:.1} s", progress.elapsed.as_secs_f64()));
    if let Some(retrying) = &progress.retrying {
        parts.push(failing(retrying));
    }
    parts.join(" · ")
}

/// `OpenFunnel is failing (HTTP 503); trying again in 1.6 s`.
fn failing(retrying: &openfunnel::Retrying) -> String {
    let what = match retrying.status {
        Some(status) => format!("HTTP {status}"),
        None => retrying.error.chars().take(80).collect(),
    };
    match retrying.retry_in {
        Some(wait) => format!(
            "OpenFunnel is failing ({what}); trying again in {:.1} s",
            wait.as_secs_f64()
        ),
        None => format!("OpenFunnel is failing ({what}); waiting for it to recover"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_come_on_each_change_every_interval_and_once_per_outage() {
        let mut state = LineState {
            last: None,
            last_status: None,
        };
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let running = || Some("running".to_string());
        assert!(state.shows(running(), at(0)), "the first report");
        assert!(!state.shows(running(), at(1_000)), "within the interval");
        assert!(state.shows(running(), at(2_000)), "the interval passed");
        assert!(state.shows(None, at(2_100)), "the service started failing");
        for ms in [2_300, 4_500, 9_000, 20_000] {
            assert!(!state.shows(None, at(ms)), "a retry at {ms} ms");
        }
        assert!(state.shows(running(), at(20_100)), "answered again");
        assert!(
            state.shows(Some("completed".into()), at(20_200)),
            "a change"
        );
    }

    #[test]
    fn the_bar_counts_pages_once_known_else_rows_toward_the_limit() {
        // Running, limit known: the server's processed count toward it.
        assert_eq!(
            bar_counts(None, 3, 250, Some(400), Some(1_000)),
            Some((1_000, 400))
        );
        // Terminal: the manifest's pages.
        assert_eq!(
            bar_counts(Some(10), 4, 400, Some(1_000), Some(1_000)),
            Some((10, 4))
        );
        // Nothing known: a spinner.
        assert_eq!(bar_counts(None, 3, 250, None, None), None);
        // A manifest of 0 pages says nothing about progress.
        assert_eq!(bar_counts(Some(0), 0, 0, None, Some(5)), Some((5, 0)));
    }
}
