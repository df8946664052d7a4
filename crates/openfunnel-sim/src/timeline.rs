//! A job's life as a pure function of time: which status it has and how many
//! pages it has written `t` after it was submitted. No background task runs;
//! every request computes the job's state at that instant.

use crate::variations::{CursorScheme, ManifestAccuracy, PageWrites, Processed, Vocabulary};
use std::time::Duration;

/// How a simulated job behaves over time.
///
/// ```
/// use openfunnel_sim::JobProfile;
/// use std::time::Duration;
///
/// let profile = JobProfile::default()
///     .with_rows(1_000)
///     .with_pending_for(Duration::from_millis(100))
///     .with_run_time(Duration::from_secs(2));
/// assert_eq!(profile.pages(), 10);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobProfile {
    /// Rows the job produces (capped by the submitted `limit`); `None`: the limit.
    pub rows: Option<u32>,
    /// Rows per page (the real service writes 100).
    pub page_size: u32,
    /// Time spent `pending` before the job starts.
    pub pending_for: Duration,
    /// Time from start to the last page (and to completion).
    pub run_time: Duration,
    /// How pages land over `run_time`: evenly (the default), in bursts,
    /// slowing down, or after a stall.
    pub rhythm: Rhythm,
    /// What a lookalike poll reports as `processed`.
    pub processed: Processed,
    /// Fail once this many pages are written.
    pub fail_after_pages: Option<u32>,
    /// Time spent `cancelling` after a cancel request.
    pub cancel_delay: Duration,
    /// How cursors and page names look.
    pub cursors: CursorScheme,
    /// How the terminal manifest's `pages` relates to the chain.
    pub manifest: ManifestAccuracy,
    /// The status of a request for a cursor the server never issued (the
    /// spec documents 400 for one kind, 404 and 422 for the other).
    pub unknown_cursor_status: u16,
    /// Whether answers carry fields and status values the spec does not
    /// document.
    pub vocabulary: Vocabulary,
    /// Whether the newest page of a running job is complete when first read.
    pub page_writes: PageWrites,
    /// An explicit schedule, replacing the even timeline above (see
    /// [`JobProfile::with_schedule`]).
    pub schedule: Option<Schedule>,
}

/// How a job's pages land over its run time. The spec promises no rhythm:
/// these are the shapes a client's polling must cope with.
///
/// ```
/// use openfunnel_sim::{JobProfile, Rhythm};
/// use std::time::Duration;
///
/// let profile = JobProfile::default()
///     .with_rows(400)
///     .with_pending_for(Duration::ZERO)
///     .with_run_time(Duration::from_secs(4))
///     .with_rhythm(Rhythm::Bursty { pages_per_burst: 2 });
/// // Two bursts of two pages, at 2 s and at 4 s.
/// assert_eq!(profile.page_lands_at(0), Duration::from_secs(2));
/// assert_eq!(profile.page_lands_at(1), Duration::from_secs(2));
/// assert_eq!(profile.page_lands_at(3), Duration::from_secs(4));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rhythm {
    /// Pages land evenly, the last at the end of the run.
    #[default]
    Even,
    /// Pages land in clumps of `pages_per_burst`, the clumps evenly spread
    /// (long gaps, then several pages at once).
    Bursty {
        /// Pages in each clump.
        pages_per_burst: u32,
    },
    /// Each gap between pages is longer than the one before (page `i` of
    /// `n` lands at `((i + 1) / n)²` of the run).
    Slowing,
    /// Nothing lands for the first half of the run, then every page lands
    /// evenly over the second half.
    StalledThenFast,
}

impl Rhythm {
    /// The share of the run time after which page `index` of `pages` lands.
    fn share(self, index: u32, pages: u32) -> f64 {
        let pages = pages.max(1);
        let through = f64::from(index + 1) / f64::from(pages);
        match self {
            Rhythm::Even => through,
            Rhythm::Bursty { pages_per_burst } => {
                let size = pages_per_burst.max(1);
                f64::from(index / size + 1) / f64::from(pages.div_ceil(size))
            }
            Rhythm::Slowing => through * through,
            Rhythm::StalledThenFast => 0.5 + through / 2.0,
        }
    }
}

/// How a scheduled job ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Every page written, then `completed`.
    Completed,
    /// `failed`, with the pages landed by then.
    Failed,
    /// `cancelled` (as if someone else cancelled it), with the pages landed by then.
    Cancelled,
}

/// A job's life page by page: how many rows each page holds (0 is an empty
/// page), when each lands, and when and how the job ends. With
/// [`crate::Clock::PerRequest`] the times count requests served, so a
/// property test can play any schedule in milliseconds.
///
/// ```
/// use openfunnel_sim::{Ending, JobProfile, Schedule};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let schedule = Schedule {
///     page_rows: vec![3, 0, 2],
///     lands_at: vec![ms(2), ms(2), ms(5)],
///     ends_at: ms(6),
///     ending: Ending::Completed,
/// };
/// let profile = JobProfile::default().with_schedule(schedule);
/// assert_eq!((profile.pages(), profile.rows), (3, Some(5)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Rows of each page.
    pub page_rows: Vec<u32>,
    /// When each page lands, after submission (non-decreasing).
    pub lands_at: Vec<Duration>,
    /// When the job becomes terminal.
    pub ends_at: Duration,
    /// How it ends.
    pub ending: Ending,
}

impl Schedule {
    /// Pages readable `elapsed` after submission.
    fn landed(&self, elapsed: Duration) -> u32 {
        self.lands_at.iter().filter(|at| **at <= elapsed).count() as u32
    }

    /// The job's state `elapsed` after submission.
    fn snapshot(&self, elapsed: Duration) -> Snapshot {
        if elapsed < self.ends_at {
            let pages_written = self.landed(elapsed);
            let phase = if pages_written == 0 {
                Phase::Pending
            } else {
                Phase::Running
            };
            return Snapshot {
                phase,
                pages_written,
            };
        }
        match self.ending {
            Ending::Completed => Snapshot {
                phase: Phase::Completed,
                pages_written: self.page_rows.len() as u32,
            },
            Ending::Failed => Snapshot {
                phase: Phase::Failed,
                pages_written: self.landed(self.ends_at),
            },
            Ending::Cancelled => Snapshot {
                phase: Phase::Cancelled,
                pages_written: self.landed(self.ends_at),
            },
        }
    }

    /// The first row of page `index` and the row after its last.
    pub(crate) fn rows_of(&self, index: u32) -> (u32, u32) {
        let start = self.page_rows.iter().take(index as usize).sum::<u32>();
        let rows = self.page_rows.get(index as usize).copied().unwrap_or(0);
        (start, start + rows)
    }
}

impl Default for JobProfile {
    fn default() -> Self {
        JobProfile {
            rows: None,
            page_size: 100,
            pending_for: Duration::from_millis(300),
            run_time: Duration::from_secs(3),
            rhythm: Rhythm::Even,
            processed: Processed::Rows,
            fail_after_pages: None,
            cancel_delay: Duration::from_millis(300),
            cursors: CursorScheme::default(),
            manifest: ManifestAccuracy::default(),
            unknown_cursor_status: 400,
            vocabulary: Vocabulary::Documented,
            page_writes: PageWrites::Whole,
            schedule: None,
        }
    }
}

impl JobProfile {
    /// A job that is already complete when first polled.
    ///
    /// ```
    /// let done = openfunnel_sim::JobProfile::completed(250);
    /// assert_eq!(done.pages(), 3);
    /// ```
    pub fn completed(rows: u32) -> Self {
        JobProfile {
            rows: Some(rows),
            pending_for: Duration::ZERO,
            run_time: Duration::ZERO,
            ..JobProfile::default()
        }
    }

    /// Sets the number of rows.
    ///
    /// ```
    /// assert_eq!(openfunnel_sim::JobProfile::default().with_rows(5).rows, Some(5));
    /// ```
    pub fn with_rows(mut self, rows: u32) -> Self {
        self.rows = Some(rows);
        self
    }

    /// Sets the page size (at least 1).
    ///
    /// ```
    /// assert_eq!(openfunnel_sim::JobProfile::completed(10).with_page_size(3).pages(), 4);
    /// ```
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// Sets the time spent pending.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let profile = openfunnel_sim::JobProfile::default().with_pending_for(Duration::ZERO);
    /// # let _ = profile;
    /// ```
    pub fn with_pending_for(mut self, pending_for: Duration) -> Self {
        self.pending_for = pending_for;
        self
    }

    /// Sets the running time.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let profile = openfunnel_sim::JobProfile::default().with_run_time(Duration::from_secs(60));
    /// # let _ = profile;
    /// ```
    pub fn with_run_time(mut self, run_time: Duration) -> Self {
        self.run_time = run_time;
        self
    }

    /// Makes the job fail once `pages` pages are written.
    ///
    /// ```
    /// let failing = openfunnel_sim::JobProfile::completed(500).failing_after(2);
    /// assert_eq!(failing.fail_after_pages, Some(2));
    /// ```
    pub fn failing_after(mut self, pages: u32) -> Self {
        self.fail_after_pages = Some(pages);
        self
    }

    /// Sets how long a cancelled job stays `cancelling`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let quick = openfunnel_sim::JobProfile::default().with_cancel_delay(Duration::ZERO);
    /// assert_eq!(quick.cancel_delay, Duration::ZERO);
    /// ```
    pub fn with_cancel_delay(mut self, delay: Duration) -> Self {
        self.cancel_delay = delay;
        self
    }

    /// Sets the cursor scheme.
    ///
    /// ```
    /// use openfunnel_sim::{CursorScheme, JobProfile};
    /// let profile = JobProfile::completed(10).with_cursors(CursorScheme::Opaque);
    /// assert_eq!(profile.cursors, CursorScheme::Opaque);
    /// ```
    pub fn with_cursors(mut self, cursors: CursorScheme) -> Self {
        self.cursors = cursors;
        self
    }

    /// Sets how accurate the terminal manifest's `pages` is.
    ///
    /// ```
    /// use openfunnel_sim::{JobProfile, ManifestAccuracy};
    /// let stale = JobProfile::completed(1_000).with_manifest(ManifestAccuracy::Fewer(3));
    /// assert_eq!(stale.manifest.pages(stale.pages()), 7);
    /// ```
    pub fn with_manifest(mut self, manifest: ManifestAccuracy) -> Self {
        self.manifest = manifest;
        self
    }

    /// Sets the status of a request for an unknown cursor (400, 404, 422).
    ///
    /// ```
    /// let profile = openfunnel_sim::JobProfile::completed(10).with_unknown_cursor_status(404);
    /// assert_eq!(profile.unknown_cursor_status, 404);
    /// ```
    pub fn with_unknown_cursor_status(mut self, status: u16) -> Self {
        self.unknown_cursor_status = status;
        self
    }

    /// Sets whether answers carry fields and status values the spec does not
    /// document.
    ///
    /// ```
    /// use openfunnel_sim::{JobProfile, Vocabulary};
    /// let profile = JobProfile::completed(10).with_vocabulary(Vocabulary::Grown);
    /// assert_eq!(profile.vocabulary, Vocabulary::Grown);
    /// ```
    pub fn with_vocabulary(mut self, vocabulary: Vocabulary) -> Self {
        self.vocabulary = vocabulary;
        self
    }

    /// Sets whether the newest page of a running job is complete when first
    /// read.
    ///
    /// ```
    /// use openfunnel_sim::{JobProfile, PageWrites};
    /// let profile = JobProfile::completed(10).with_page_writes(PageWrites::Growing);
    /// assert_eq!(profile.page_writes, PageWrites::Growing);
    /// ```
    pub fn with_page_writes(mut self, page_writes: PageWrites) -> Self {
        self.page_writes = page_writes;
        self
    }

    /// Follows `schedule` instead of the even timeline: its pages (and so
    /// its row count), landing times and ending.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.rows = Some(schedule.page_rows.iter().sum());
        self.schedule = Some(schedule);
        self
    }

    /// Pages the full job writes.
    ///
    /// ```
    /// assert_eq!(openfunnel_sim::JobProfile::completed(0).pages(), 0);
    /// ```
    pub fn pages(&self) -> u32 {
        self.pages_of(self.rows.unwrap_or(0))
    }

    /// Sets how pages land over the run time (default: evenly).
    ///
    /// ```
    /// use openfunnel_sim::{JobProfile, Rhythm};
    /// let profile = JobProfile::default().with_rhythm(Rhythm::Slowing);
    /// assert_eq!(profile.rhythm, Rhythm::Slowing);
    /// ```
    pub fn with_rhythm(mut self, rhythm: Rhythm) -> Self {
        self.rhythm = rhythm;
        self
    }

    /// Sets what a lookalike poll reports as `processed` (default: the rows
    /// written so far).
    ///
    /// ```
    /// use openfunnel_sim::{JobProfile, Processed};
    /// let profile = JobProfile::default().with_processed(Processed::Null);
    /// assert_eq!(profile.processed, Processed::Null);
    /// ```
    pub fn with_processed(mut self, processed: Processed) -> Self {
        self.processed = processed;
        self
    }

    /// When page `index` lands, after submission (its pending time
    /// included), for a job that runs to the end.
    ///
    /// ```
    /// use openfunnel_sim::JobProfile;
    /// use std::time::Duration;
    /// let profile = JobProfile::default()
    ///     .with_rows(300)
    ///     .with_pending_for(Duration::from_secs(1))
    ///     .with_run_time(Duration::from_secs(3));
    /// assert_eq!(profile.page_lands_at(0), Duration::from_secs(2));
    /// assert_eq!(profile.page_lands_at(2), Duration::from_secs(4));
    /// ```
    pub fn page_lands_at(&self, index: u32) -> Duration {
        if let Some(schedule) = &self.schedule {
            return schedule
                .lands_at
                .get(index as usize)
                .copied()
                .unwrap_or(schedule.ends_at);
        }
        let share = self.rhythm.share(index, self.pages());
        self.pending_for + self.run_time.mul_f64(share.clamp(0.0, 1.0))
    }

    /// Pages a job of `total_rows` writes in all.
    pub(crate) fn pages_of(&self, total_rows: u32) -> u32 {
        match &self.schedule {
            Some(schedule) => schedule.page_rows.len() as u32,
            None => total_rows.div_ceil(self.page_size.max(1)),
        }
    }

    /// Rows in the first `pages` pages of a job of `total_rows`.
    pub(crate) fn rows_in(&self, pages: u32, total_rows: u32) -> u32 {
        match pages {
            0 => 0,
            pages => self.rows_of(pages - 1, total_rows).1,
        }
    }

    /// The first row of page `index` and the row after its last, for a job
    /// of `total_rows`.
    pub(crate) fn rows_of(&self, index: u32, total_rows: u32) -> (u32, u32) {
        match &self.schedule {
            Some(schedule) => schedule.rows_of(index),
            None => {
                let size = self.page_size.max(1);
                (
                    (index * size).min(total_rows),
                    ((index + 1) * size).min(total_rows),
                )
            }
        }
    }
}

/// A job's status at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Pending,
    Running,
    Cancelling,
    Cancelled,
    Completed,
    Failed,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Running => "running",
            Phase::Cancelling => "cancelling",
            Phase::Cancelled => "cancelled",
            Phase::Completed => "completed",
            Phase::Failed => "failed",
        }
    }

    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, Phase::Cancelled | Phase::Completed | Phase::Failed)
    }
}

/// What a job looks like at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub phase: Phase,
    pub pages_written: u32,
}

/// Pages written `elapsed` after submission by a job that runs to the end.
fn pages_landed(profile: &JobProfile, total: u32, elapsed: Duration) -> u32 {
    let Some(running) = elapsed.checked_sub(profile.pending_for) else {
        return 0;
    };
    if total == 0 || profile.run_time.is_zero() {
        return total;
    }
    if profile.rhythm == Rhythm::Even {
        let per_page = profile.run_time.as_secs_f64() / f64::from(total);
        return ((running.as_secs_f64() / per_page).floor() as u64).min(u64::from(total)) as u32;
    }
    // Landing times only grow with the page index: the first page not yet
    // landed, by bisection.
    // The same arithmetic as `JobProfile::page_lands_at`, so the two agree
    // to the nanosecond.
    let lands = |index: u32| {
        profile
            .run_time
            .mul_f64(profile.rhythm.share(index, total).clamp(0.0, 1.0))
    };
    let (mut landed, mut not_yet) = (0u32, total);
    while landed < not_yet {
        let middle = landed + (not_yet - landed) / 2;
        if lands(middle) <= running {
            landed = middle + 1;
        } else {
            not_yet = middle;
        }
    }
    landed
}

/// The job's state `elapsed` after submission; `cancelled_at` is when a cancel
/// arrived, if one did.
pub(crate) fn snapshot(
    profile: &JobProfile,
    total_pages: u32,
    elapsed: Duration,
    cancelled_at: Option<Duration>,
) -> Snapshot {
    if let Some(schedule) = &profile.schedule {
        return schedule.snapshot(elapsed);
    }
    let landed = |at: Duration| {
        let pages = pages_landed(profile, total_pages, at);
        match profile.fail_after_pages {
            Some(limit) if limit < total_pages => pages.min(limit),
            _ => pages,
        }
    };
    let failed_at = profile
        .fail_after_pages
        .filter(|limit| *limit < total_pages)
        .map(|limit| {
            // The failure happens when the page after the last good one would land.
            let per_page = profile
                .run_time
                .checked_div(total_pages.max(1))
                .unwrap_or_default();
            profile.pending_for + per_page * (limit + 1)
        });
    let finished_at = profile.pending_for + profile.run_time;
    let stop = match (failed_at, cancelled_at) {
        (Some(fail), Some(cancel)) if cancel < fail => None,
        (Some(fail), _) if elapsed >= fail => {
            return Snapshot {
                phase: Phase::Failed,
                pages_written: landed(fail),
            };
        }
        _ => cancelled_at,
    };
    if let Some(cancel) = stop.filter(|cancel| *cancel < finished_at) {
        let pages_written = landed(cancel);
        let phase = if elapsed >= cancel + profile.cancel_delay {
            Phase::Cancelled
        } else {
            Phase::Cancelling
        };
        return Snapshot {
            phase,
            pages_written,
        };
    }
    let pages_written = landed(elapsed);
    let phase = if elapsed < profile.pending_for {
        Phase::Pending
    } else if elapsed >= finished_at {
        Phase::Completed
    } else {
        Phase::Running
    };
    Snapshot {
        phase,
        pages_written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(profile: &JobProfile, millis: u64) -> Snapshot {
        snapshot(
            profile,
            profile.pages(),
            Duration::from_millis(millis),
            None,
        )
    }

    #[test]
    fn pages_land_evenly_while_running_then_the_job_completes() {
        let profile = JobProfile::default()
            .with_rows(400)
            .with_pending_for(Duration::from_millis(100))
            .with_run_time(Duration::from_millis(400));
        assert_eq!(
            at(&profile, 50),
            Snapshot {
                phase: Phase::Pending,
                pages_written: 0
            }
        );
        assert_eq!(
            at(&profile, 150),
            Snapshot {
                phase: Phase::Running,
                pages_written: 0
            }
        );
        assert_eq!(
            at(&profile, 200),
            Snapshot {
                phase: Phase::Running,
                pages_written: 1
            }
        );
        assert_eq!(
            at(&profile, 450),
            Snapshot {
                phase: Phase::Running,
                pages_written: 3
            }
        );
        assert_eq!(
            at(&profile, 500),
            Snapshot {
                phase: Phase::Completed,
                pages_written: 4
            }
        );
    }

    #[test]
    fn a_failing_job_stops_after_its_pages() {
        let profile = JobProfile::default()
            .with_rows(400)
            .with_pending_for(Duration::ZERO)
            .with_run_time(Duration::from_millis(400))
            .failing_after(2);
        assert_eq!(
            at(&profile, 250),
            Snapshot {
                phase: Phase::Running,
                pages_written: 2
            }
        );
        assert_eq!(
            at(&profile, 300),
            Snapshot {
                phase: Phase::Failed,
                pages_written: 2
            }
        );
        assert_eq!(
            at(&profile, 9_000),
            Snapshot {
                phase: Phase::Failed,
                pages_written: 2
            }
        );
    }

    #[test]
    fn a_cancel_freezes_the_pages_and_settles_after_the_delay() {
        let profile = JobProfile::default()
            .with_rows(400)
            .with_pending_for(Duration::ZERO)
            .with_run_time(Duration::from_millis(400));
        let cancel = Some(Duration::from_millis(210));
        let state = |millis| snapshot(&profile, 4, Duration::from_millis(millis), cancel);
        assert_eq!(
            state(300),
            Snapshot {
                phase: Phase::Cancelling,
                pages_written: 2
            }
        );
        assert_eq!(
            state(600),
            Snapshot {
                phase: Phase::Cancelled,
                pages_written: 2
            }
        );
    }

    #[test]
    fn a_schedule_lands_pages_when_it_says_and_ends_as_it_says() {
        let ms = Duration::from_millis;
        let schedule = |ending| Schedule {
            page_rows: vec![2, 0, 3],
            lands_at: vec![ms(2), ms(2), ms(6)],
            ends_at: ms(4),
            ending,
        };
        let at = |ending, millis| schedule(ending).snapshot(ms(millis));
        let state = |phase, pages_written| Snapshot {
            phase,
            pages_written,
        };
        assert_eq!(at(Ending::Completed, 1), state(Phase::Pending, 0));
        assert_eq!(at(Ending::Completed, 3), state(Phase::Running, 2));
        assert_eq!(at(Ending::Completed, 4), state(Phase::Completed, 3));
        assert_eq!(at(Ending::Failed, 9), state(Phase::Failed, 2));
        assert_eq!(at(Ending::Cancelled, 9), state(Phase::Cancelled, 2));
        assert_eq!(schedule(Ending::Completed).rows_of(2), (2, 5));
        assert_eq!(schedule(Ending::Completed).rows_of(1), (2, 2));
    }

    #[test]
    fn every_rhythm_lands_its_pages_when_page_lands_at_says_and_all_by_the_end() {
        for rhythm in [
            Rhythm::Even,
            Rhythm::Bursty { pages_per_burst: 3 },
            Rhythm::Slowing,
            Rhythm::StalledThenFast,
        ] {
            let profile = JobProfile::default()
                .with_rows(1_000)
                .with_pending_for(Duration::from_millis(500))
                .with_run_time(Duration::from_secs(10))
                .with_rhythm(rhythm);
            let mut landed_before = 0;
            for index in 0..10 {
                let lands = profile.page_lands_at(index);
                let just_before = at(&profile, lands.as_millis() as u64 - 1).pages_written;
                let then = at(&profile, lands.as_millis() as u64).pages_written;
                assert!(
                    just_before <= index && then > index,
                    "{rhythm:?} page {index} at {lands:?}"
                );
                assert!(then >= landed_before, "{rhythm:?}: pages never go back");
                landed_before = then;
            }
            assert_eq!(at(&profile, 10_500).pages_written, 10, "{rhythm:?}");
        }
        let ms = |ms: u64| Duration::from_millis(ms);
        let profile = |rhythm| {
            JobProfile::default()
                .with_rows(1_000)
                .with_pending_for(Duration::ZERO)
                .with_run_time(Duration::from_secs(10))
                .with_rhythm(rhythm)
        };
        let bursty = profile(Rhythm::Bursty { pages_per_burst: 5 });
        assert_eq!(
            (bursty.page_lands_at(0), bursty.page_lands_at(4)),
            (ms(5_000), ms(5_000))
        );
        assert_eq!(bursty.page_lands_at(5), ms(10_000));
        let slowing = profile(Rhythm::Slowing);
        assert_eq!(
            (slowing.page_lands_at(0), slowing.page_lands_at(4)),
            (ms(100), ms(2_500))
        );
        let stalled = profile(Rhythm::StalledThenFast);
        assert_eq!(
            (stalled.page_lands_at(0), stalled.page_lands_at(9)),
            (ms(5_500), ms(10_000))
        );
    }

    #[test]
    fn a_completed_profile_is_done_at_once() {
        let profile = JobProfile::completed(250);
        assert_eq!(
            at(&profile, 0),
            Snapshot {
                phase: Phase::Completed,
                pages_written: 3
            }
        );
    }
}
