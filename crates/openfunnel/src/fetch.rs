//! One poll request for one page, shared by job handles and the walk.

use crate::context::Context;
use crate::error::Error;
use crate::kind::JobKind;
use crate::page::{Page, RowTexts};
use crate::transport::{Idempotency, Limits, OnRetry, Operation};

/// Requests the page of job `job_id` at `cursor` (`None`: the first page),
/// retried per the client's [`crate::RetryPolicy`] within `limits` (those of
/// the wait the request belongs to; none for a single poll), telling
/// `on_retry` (the wait's) before each retry.
///
/// An empty `next_cursor` is read as none: it cannot be sent back.
pub(crate) async fn page<K: JobKind>(
    context: &Context,
    job_id: &str,
    cursor: Option<&str>,
    limits: Limits,
    texts: RowTexts,
    on_retry: Option<&OnRetry>,
) -> Result<Page<K>, Error> {
    let transport = &context.transport;
    let operation = Operation {
        name: K::POLL_OPERATION,
        job_id: Some(job_id),
        cursor,
        idempotency: Idempotency::Idempotent,
        limits,
        on_retry,
    };
    // The body comes back beside the typed response: each row's JSON text
    // is taken from it (`Page::json_rows`), as the server sent it.
    let (response, body) = transport
        .send(operation, || async {
            let (result, body) = match texts {
                RowTexts::Keep => {
                    openfunnel_api::with_body(K::poll(&transport.api, job_id, cursor)).await
                }
                RowTexts::Skip => (K::poll(&transport.api, job_id, cursor).await, None),
            };
            result.map(|value| {
                let (status, headers) = (value.status(), value.headers().clone());
                openfunnel_api::ResponseValue::new((value.into_inner(), body), status, headers)
            })
        })
        .await
        .result?;
    let mut page =
        Page::<K>::from_response(response, cursor.map(str::to_string), texts, body.as_deref());
    if page.next_cursor.as_deref() == Some("") {
        page.next_cursor = None;
    }
    Ok(page)
}
