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
        /// The share of the bar shown so far: it never goes back, even when
        /// its total changes from rows to pages.
        shown: Mutex<f64>,
    },
    Lines(Mutex<LineState>),
}

/// The bar once a total is known and progress has begun.
const BAR_TEMPLATE: &str =
    "{spinner} [{bar:30}] {percent:>3}% ETA {eta} · {msg} [{elapsed_precise}]";
/// The bar before any progress: no ETA to show yet.
const BAR_TEMPLATE_AT_ZERO: &str = "{spinner} [{bar:30}] {percent:>3}% · {msg} [{elapsed_precise}]";

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
                shown: Mutex::new(0.0),
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
            Reporter::Bar {
                bar,
                expected_rows,
                shown,
            } => {
                // The message, length and position first, the style last:
                // setting a style draws the bar, which must not show the
                // last report's numbers (or an ETA at 0%).
                bar.set_message(text);
                if let Some((length, position)) = bar_position(progress, *expected_rows) {
                    let Ok(mut shown) = shown.lock() else { return };
                    let share = forward(*shown, length, position);
                    let (bar_length, fresh) = kept_length(bar.length(), length);
                    let position = position_for(share, bar_length);
                    let template = template_for(fresh, bar.position(), position);
                    *shown = share;
                    bar.set_length(bar_length);
                    bar.set_position(position);
                    if let Some(template) = template
                        && let Ok(style) = ProgressStyle::with_template(template)
                    {
                        bar.set_style(style.progress_chars("=> "));
                    }
                }
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
    pub fn finish_with(&self, done: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Bar { bar, .. } => {
                if let Some(length) = bar.length() {
                    bar.set_position(length);
                }
                bar.finish_with_message(done.to_string());
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

/// The share of the bar to show for `position` of `length`, having shown
/// `shown` so far: never back.
fn forward(shown: f64, length: u64, position: u64) -> f64 {
    if length == 0 {
        return shown;
    }
    (position.min(length) as f64 / length as f64).max(shown)
}

/// The position on a bar of `length` for `share`, one short of its end at
/// most: the end is for the finished export (a count of processed companies
/// or pages can reach its total before the last rows are written).
fn position_for(share: f64, length: u64) -> u64 {
    ((share * length as f64).floor() as u64).min(length.saturating_sub(1))
}

/// The bar's length for a report whose total is `total`, and whether the
/// bar is new: it keeps the first total it had (a later one, pages instead
/// of rows, moves it by share).
fn kept_length(current: Option<u64>, total: u64) -> (u64, bool) {
    match current.filter(|length| *length > 0) {
        Some(length) => (length, false),
        None => (total, true),
    }
}

/// The bar's new template, if it needs one: a fresh bar gets one, and the
/// ETA appears with the first step forward from 0 (none is guessed at 0%).
fn template_for(fresh: bool, before: u64, position: u64) -> Option<&'static str> {
    let template = if position > 0 {
        BAR_TEMPLATE
    } else {
        BAR_TEMPLATE_AT_ZERO
    };
    (fresh || (before == 0 && position > 0)).then_some(template)
}

/// `1 page`, `2 pages`.
pub fn counted(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
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
        None => counted(progress.pages, "page"),
    };
    parts.push(counted(progress.rows, "row"));
    parts.push(pages);
    if let Some(processed) = progress.processed {
        parts.push(format!("{processed} processed"));
    }
    if let Some(next) = next_page(&progress.status, progress.next_page_in) {
        parts.push(next);
    }
    parts.push(format!("{:.1} s", progress.elapsed.as_secs_f64()));
    if let Some(retrying) = &progress.retrying {
        parts.push(failing(retrying));
    }
    parts.join(" · ")
}

/// `next page in ~0.8 s` (or `next page due`) while the job runs and the
/// SDK has learned when its pages land; nothing otherwise.
fn next_page(status: &openfunnel::JobStatus, next_page_in: Option<Duration>) -> Option<String> {
    if status.is_terminal() {
        return None;
    }
    let next = next_page_in?;
    Some(if next < Duration::from_millis(100) {
        "next page due".to_string()
    } else {
        format!("next page in ~{:.1} s", next.as_secs_f64())
    })
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
    fn the_next_page_is_announced_while_the_job_runs_and_a_rhythm_is_known() {
        use openfunnel::JobStatus;
        let in_800 = Some(Duration::from_millis(800));
        assert_eq!(
            next_page(&JobStatus::Running, in_800).as_deref(),
            Some("next page in ~0.8 s")
        );
        assert_eq!(
            next_page(&JobStatus::Running, Some(Duration::from_millis(99))).as_deref(),
            Some("next page due")
        );
        assert_eq!(
            next_page(&JobStatus::Running, Some(Duration::from_millis(100))).as_deref(),
            Some("next page in ~0.1 s")
        );
        assert_eq!(next_page(&JobStatus::Running, None), None, "no rhythm yet");
        assert_eq!(next_page(&JobStatus::Completed, in_800), None, "done");
    }

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
    fn the_bar_never_goes_back_and_reaches_the_end_only_when_done() {
        // 100% of the rows processed, not all written: short of the end.
        let share = forward(0.0, 2_000, 2_000);
        assert_eq!(position_for(share, 2_000), 1_999);
        // The total changes to pages (19 of 20 read): the bar keeps its
        // length and does not step back.
        let later = forward(share, 20, 19);
        assert_eq!(later, share);
        assert_eq!(position_for(later, 2_000), 1_999);
        // Forward as usual otherwise.
        assert_eq!(forward(0.0, 10, 3), 0.3);
        assert_eq!(position_for(forward(0.3, 10, 2), 10), 3, "not back to 2");
        assert_eq!(forward(0.25, 0, 5), 0.25);
        assert_eq!(position_for(1.0, 10), 9);
        assert_eq!(position_for(0.0, 0), 0);
    }

    #[test]
    fn the_bar_keeps_its_first_total() {
        assert_eq!(
            kept_length(None, 2_000),
            (2_000, true),
            "a spinner becomes a bar"
        );
        assert_eq!(
            kept_length(Some(2_000), 40),
            (2_000, false),
            "rows, then pages"
        );
        assert_eq!(
            kept_length(Some(0), 40),
            (40, true),
            "a bar without a length yet"
        );
    }

    #[test]
    fn the_eta_appears_with_the_first_step_forward_never_at_zero() {
        assert_eq!(template_for(true, 0, 0), Some(BAR_TEMPLATE_AT_ZERO));
        assert_eq!(template_for(true, 0, 4), Some(BAR_TEMPLATE));
        assert_eq!(
            template_for(false, 0, 3),
            Some(BAR_TEMPLATE),
            "the first step"
        );
        assert_eq!(template_for(false, 0, 0), None, "still at 0: as it was");
        assert_eq!(template_for(false, 3, 4), None, "already moving");
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(counted(1, "page"), "1 page");
        assert_eq!(counted(0, "page"), "0 pages");
        assert_eq!(counted(2_000, "row"), "2000 rows");
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
