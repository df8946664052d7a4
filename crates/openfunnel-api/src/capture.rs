//! The body of a successful response, kept for a caller that needs the
//! server's own JSON text.
//!
//! progenitor's generated methods decode a body into typed values and drop
//! its bytes; the typed values cannot give back what the server sent (key
//! order, nulls, numbers beyond `f64`, escapes). [`with_body`] runs one call
//! of the generated client and hands back, beside its result, the body of
//! the successful response the call read: the `exec` hook (which already
//! reads every body whole, under the [`crate::ResponseLimit`]) keeps a copy
//! while the call is being polled inside `with_body`, and only then.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

type Kept = Arc<Mutex<Option<Vec<u8>>>>;

std::thread_local! {
    /// Where the body of the call being polled on this thread goes, while a
    /// [`with_body`] future polls it.
    static KEEPER: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// Runs `call` (a method of this crate's [`crate::Client`]) and returns its
/// result together with the body of the successful response it read, as
/// the server sent it (`None` when no successful response was read).
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let client = openfunnel_api::Client::with_api_key("https://api.openfunnel.dev", "of_0123abcd")?;
/// let (page, body) = openfunnel_api::with_body(
///     client.search_lookalikes_bulk_status("d8a1bddb-44f1-4c7f-87a7-f37496354ff6", None, None),
/// )
/// .await;
/// println!("{} rows in {} bytes", page?.rows.len(), body.map_or(0, |body| body.len()));
/// # Ok(())
/// # }
/// ```
pub async fn with_body<F: Future>(call: F) -> (F::Output, Option<Vec<u8>>) {
    let kept = Kept::default();
    let output = Keeping {
        call: Box::pin(call),
        kept: kept.clone(),
    }
    .await;
    let body = kept
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    (output, body)
}

/// Keeps a copy of `body` for the [`with_body`] polling this thread, if any.
pub(crate) fn keep(body: &[u8]) {
    KEEPER.with(|keeper| {
        if let Some(kept) = keeper.borrow().as_ref() {
            *kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(body.to_vec());
        }
    });
}

/// Polls `call` with its keeper installed on the polling thread.
struct Keeping<F> {
    call: Pin<Box<F>>,
    kept: Kept,
}

/// Puts back the keeper that was installed before, even if the poll panics.
struct Restore(Option<Kept>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        KEEPER.with(|keeper| *keeper.borrow_mut() = previous);
    }
}

impl<F: Future> Future for Keeping<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _restore = Restore(KEEPER.with(|keeper| keeper.replace(Some(this.kept.clone()))));
        this.call.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_call_polled_inside_with_body_keeps_its_body() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let ((), body) = with_body(async { keep(b"{\"rows\":[]}") }).await;
            assert_eq!(body.as_deref(), Some(&b"{\"rows\":[]}"[..]));
            // Outside: nothing is kept, and nothing leaks into the next call.
            keep(b"stray");
            let ((), body) = with_body(async {}).await;
            assert_eq!(body, None);
            // Nested: each keeps its own, and the outer one is restored.
            let (inner, outer) = with_body(async {
                let inner = with_body(async { keep(b"inner") }).await.1;
                keep(b"outer");
                inner
            })
            .await;
            assert_eq!(inner.as_deref(), Some(&b"inner"[..]));
            assert_eq!(outer.as_deref(), Some(&b"outer"[..]));
        });
    }
}
