//! Progress on stderr: a live bar on a terminal, plain rate-limited lines
//! otherwise, nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use openfunnel::Progress;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Plain lines are printed at most this often (and on every status change).
const LINE_INTERVAL: Duration = Duration::from_secs(2);

pub enum Reporter {
    Quiet,
    Bar(ProgressBar),
    Lines(Mutex<LineState>),
}

pub struct LineState {
    last: Option<Instant>,
    last_status: String,
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
            Reporter::Bar(bar)
        } else {
            Reporter::Lines(Mutex::new(LineState {
                last: None,
                last_status: String::new(),
            }))
        }
    }

    /// Shows one progress report.
    pub fn update(&self, progress: &Progress) {
        let text = describe(progress);
        match self {
            Reporter::Quiet => {}
            Reporter::Bar(bar) => bar.set_message(text),
            Reporter::Lines(state) => {
                let Ok(mut state) = state.lock() else { return };
                let status = progress.status.to_string();
                let due = state
                    .last
                    .is_none_or(|last| last.elapsed() >= LINE_INTERVAL);
                if due || status != state.last_status {
                    eprintln!("openfunnel: {text}");
                    state.last = Some(Instant::now());
                    state.last_status = status;
                }
            }
        }
    }

    /// A message that must be seen (not with --quiet).
    pub fn say(&self, message: &str) {
        match self {
            Reporter::Quiet => {}
            Reporter::Bar(bar) => bar.println(message),
            Reporter::Lines(_) => eprintln!("{message}"),
        }
    }

    pub fn finish(&self) {
        if let Reporter::Bar(bar) = self {
            bar.finish_and_clear();
        }
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
    parts.join(" · ")
}
