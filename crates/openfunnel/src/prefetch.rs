//! Fetching ahead along a terminal job's cursor chain.
//!
//! Once a job is terminal its pages no longer change, so the walk may ask for
//! pages before the chain has named them: cursors are *predicted* from the
//! last link seen (`page_0007` → `page_0008`: same prefix, the same step
//! between trailing numbers) and requested early, at most `concurrency` at
//! once, each prediction made lazily from the one before. A prefetched page is
//! used only when the chain asks for exactly the cursor it was fetched with;
//! anything else (a miss, an error status, a body that does not decode) is
//! discarded with a debug trace and counted, and the chain's own cursor is
//! fetched instead. Predictions therefore change how fast pages arrive, never
//! which pages are delivered.

use crate::context::Shared;
use crate::error::Error;
use crate::fetch;
use crate::kind::JobKind;
use crate::page::{Page, RowTexts};
use crate::redact;
use crate::transport::{Limits, OnRetry};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use std::collections::VecDeque;
use std::sync::Arc;

/// Consecutive discarded prefetches after which prediction is switched off
/// for the rest of the walk (the server's cursors do not follow a pattern).
const GIVE_UP_AFTER_MISSES: u32 = 16;

/// A cursor split into a prefix and a trailing number: `page_0003`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Numbered<'a> {
    prefix: &'a str,
    number: u64,
}

impl<'a> Numbered<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let digits = text.len() - text.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 18 {
            return None;
        }
        let (prefix, number) = text.split_at(text.len() - digits);
        Some(Numbered {
            prefix,
            number: number.parse().ok()?,
        })
    }
}

/// The pattern of one link of the chain: a prefix, a step between trailing
/// numbers and their zero-padded width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Predictor {
    prefix: String,
    step: u64,
    width: usize,
}

impl Predictor {
    /// Learns from one link: `from` (a page's cursor, or the first page's
    /// name) led to `to` (its `next_cursor`). `None` when the two share no
    /// prefix-and-increasing-number pattern, e.g. opaque cursors.
    pub(crate) fn learn(from: &str, to: &str) -> Option<Predictor> {
        let before = Numbered::parse(from)?;
        let after = Numbered::parse(to)?;
        if before.prefix != after.prefix || after.number <= before.number {
            return None;
        }
        Some(Predictor {
            prefix: after.prefix.to_string(),
            step: after.number - before.number,
            width: to.len() - after.prefix.len(),
        })
    }

    /// The cursor predicted to follow `cursor`, when the pattern applies.
    pub(crate) fn after(&self, cursor: &str) -> Option<String> {
        let current = Numbered::parse(cursor)?;
        if current.prefix != self.prefix {
            return None;
        }
        let number = current.number.checked_add(self.step)?;
        Some(format!(
            "{}{number:0width$}",
            self.prefix,
            width = self.width
        ))
    }
}

type PageFuture<K> = BoxFuture<'static, Result<Page<K>, Error>>;

/// The requests made ahead of the chain, in chain order.
pub(crate) struct Prefetch<K: JobKind> {
    context: Shared,
    job_id: Arc<str>,
    /// The limits of the walk's wait when the chain last asked: no request
    /// is retried past them.
    limits: Limits,
    /// What the wait is told before the chain's own request is retried.
    on_retry: Option<Arc<OnRetry>>,
    /// Whether the pages keep each row's JSON text.
    texts: RowTexts,
    concurrency: usize,
    predictor: Option<Predictor>,
    /// Requests still worth making (from the manifest), if known.
    budget: Option<u64>,
    /// The requests in flight, answered in the order they were made…
    window: FuturesOrdered<PageFuture<K>>,
    /// …and, in the same order, their cursors and whether each was predicted.
    cursors: VecDeque<(String, bool)>,
    discarded: u64,
    misses_in_a_row: u32,
    gave_up: bool,
}

impl<K: JobKind> Prefetch<K> {
    pub(crate) fn new(
        context: Shared,
        job_id: Arc<str>,
        concurrency: usize,
        texts: RowTexts,
    ) -> Self {
        Prefetch {
            context,
            job_id,
            limits: Limits::default(),
            on_retry: None,
            texts,
            concurrency: concurrency.max(1),
            predictor: None,
            budget: None,
            window: FuturesOrdered::new(),
            cursors: VecDeque::new(),
            discarded: 0,
            misses_in_a_row: 0,
            gave_up: false,
        }
    }

    /// Learns the pattern of the latest link (`from` → `to`). With a
    /// concurrency of 1 the window holds only the chain's own cursor, so
    /// nothing learned is ever requested.
    pub(crate) fn learn(&mut self, from: &str, to: &str) {
        if !self.gave_up {
            self.predictor = Predictor::learn(from, to);
        }
    }

    /// Caps the requests still worth making (the pages the manifest says
    /// remain). Only ever sizes the window: the chain's own cursors are
    /// requested regardless, and the chain decides the end.
    pub(crate) fn set_budget(&mut self, pages: u64) {
        self.budget = Some(pages);
    }

    /// Prefetched pages thrown away so far.
    pub(crate) fn discarded(&self) -> u64 {
        self.discarded
    }

    /// The page at `cursor`, the next link of the chain: from the window when
    /// it was predicted, else requested now. Meanwhile the predicted pages
    /// after it are requested, up to `concurrency` in flight, under `limits`.
    pub(crate) async fn page(
        &mut self,
        cursor: &str,
        limits: Limits,
        on_retry: Option<Arc<OnRetry>>,
    ) -> Result<Page<K>, Error> {
        self.limits = limits;
        self.on_retry = on_retry;
        if self
            .cursors
            .front()
            .is_some_and(|(front, _)| front != cursor)
        {
            // Every prediction in the window was made from the one before:
            // past a miss, none can be right.
            self.window = FuturesOrdered::new();
            for (missed, _) in std::mem::take(&mut self.cursors) {
                self.count_discard(&missed, "the chain went elsewhere");
            }
        }

        if self.cursors.is_empty() {
            self.push(cursor.to_string(), false);
        }
        self.top_up();
        let predicted = self
            .cursors
            .pop_front()
            .is_some_and(|(_, predicted)| predicted);
        match self.window.next().await {
            Some(Ok(page)) => {
                if predicted {
                    self.misses_in_a_row = 0;
                }
                Ok(page)
            }
            Some(Err(error)) if !predicted => Err(error),
            failed => {
                if let Some(Err(error)) = failed {
                    self.count_discard(cursor, &format!("the prefetch failed: {error}"));
                }
                self.request(cursor.to_string(), false).await
            }
        }
    }

    /// A request for `cursor` under the limits of the chain's last ask.
    /// The page at `cursor`; a `predicted` one is tried once (see
    /// `Limits::speculative`), so a window of them never rides out an
    /// outage eight times over.
    fn request(&self, cursor: String, predicted: bool) -> PageFuture<K> {
        let (context, job_id) = (self.context.clone(), self.job_id.clone());
        let limits = Limits {
            speculative: predicted,
            ..self.limits
        };
        let texts = self.texts;
        // A guess is tried once: nothing to tell.
        let on_retry = self.on_retry.clone().filter(|_| !predicted);
        Box::pin(async move {
            let on_retry = on_retry.as_deref();
            fetch::page(&context, &job_id, Some(&cursor), limits, texts, on_retry).await
        })
    }

    /// Requests `cursor` (each request spends one page of the budget: the
    /// chain's own cursor too, since it is one of the pages that remain).
    fn push(&mut self, cursor: String, predicted: bool) {
        self.budget = self.budget.map(|left| left.saturating_sub(1));
        self.window
            .push_back(self.request(cursor.clone(), predicted));
        self.cursors.push_back((cursor, predicted));
    }

    /// Adds predictions after the last cursor in the window, lazily, one from
    /// the one before, until `concurrency` requests are outstanding.
    fn top_up(&mut self) {
        while self.cursors.len() < self.concurrency && self.budget != Some(0) {
            let Some(next) = self
                .predictor
                .as_ref()
                .zip(self.cursors.back())
                .and_then(|(predictor, (last, _))| predictor.after(last))
            else {
                return;
            };
            self.push(next, true);
        }
    }

    fn count_discard(&mut self, cursor: &str, reason: &str) {
        self.discarded += 1;
        self.misses_in_a_row += 1;
        let cursor = redact::text(&self.context.transport.api_key, cursor);
        tracing::debug!(job_id = %self.job_id, cursor = %cursor, reason, discarded = self.discarded, "discarded a prefetched page");
        if self.misses_in_a_row >= GIVE_UP_AFTER_MISSES && !self.gave_up {
            self.gave_up = true;
            self.predictor = None;
            tracing::debug!(job_id = %self.job_id, "cursors do not follow a pattern; prefetching stopped, following next_cursor only");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_between_numbered_cursors_predicts_the_next_ones() {
        let predictor = Predictor::learn("page_0003", "page_0004").unwrap();
        assert_eq!(predictor.after("page_0004").as_deref(), Some("page_0005"));
        assert_eq!(predictor.after("page_9999").as_deref(), Some("page_10000"));
        let skipping = Predictor::learn("p10", "p22").unwrap();
        assert_eq!(skipping.after("p22").as_deref(), Some("p34"));
        assert_eq!(skipping.after("q34"), None, "another prefix");
    }

    #[test]
    fn cursors_without_a_shared_numbered_pattern_predict_nothing() {
        assert_eq!(Predictor::learn("c/3f+a= z", "c/40+b= z"), None);
        assert_eq!(Predictor::learn("batch-17", "page_0001"), None);
        assert_eq!(Predictor::learn("page_0004", "page_0003"), None);
        assert_eq!(Predictor::learn("page_0004", "page_0004"), None);
        assert_eq!(Numbered::parse("page_"), None);
        assert_eq!(Numbered::parse(&"9".repeat(19)), None);
    }

    #[test]
    fn predictions_stop_at_the_end_of_the_numbers() {
        let predictor = Predictor::learn("p1", "p2").unwrap();
        let largest = format!("p{}", 999_999_999_999_999_999u64);
        assert_eq!(
            predictor.after(&largest).as_deref(),
            Some("p1000000000000000000")
        );
        // Past 18 digits nothing parses, so nothing more is predicted.
        assert_eq!(predictor.after("p1000000000000000000"), None);
    }
}
