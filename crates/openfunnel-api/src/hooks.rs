//! The generated client's hooks: every body is read under the
//! [`ResponseLimit`], and an error status is never hidden behind a decoding
//! failure.
//!
//! progenitor decodes a response whose status the spec types (here: 422 with
//! `HTTPValidationError`) before handing it back, and when that body does not
//! fit the schema it returns `Error::InvalidResponsePayload`, which carries
//! no status: a FastAPI-style `{"detail": "some text"}` 422 would look like a
//! garbled success. The `post` hook classifies by status first: an
//! unsuccessful response whose body does not decode as the spec's error type
//! is returned as `Error::UnexpectedResponse`, status, headers and body intact.

use crate::generated::{Client, ClientInfo, Error, types};
use crate::limit::{ErrorBody, ResponseLimit, read_capped};
use progenitor_client::{ClientHooks, OperationInfo};

impl ClientHooks<ResponseLimit> for Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        read_capped(response, self.inner().max_bytes).await
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let Ok(response) = result else {
            return Ok(());
        };
        let Some(ErrorBody(body)) = response.extensions().get::<ErrorBody>() else {
            return Ok(());
        };
        // The spec types one error body, for 422; any other unsuccessful
        // status is already an `UnexpectedResponse`.
        if response.status() != reqwest::StatusCode::UNPROCESSABLE_ENTITY
            || serde_json::from_slice::<types::HttpValidationError>(body).is_ok()
        {
            return Ok(());
        }
        let mut copy = http::Response::new(body.clone());
        *copy.status_mut() = response.status();
        *copy.version_mut() = response.version();
        *copy.headers_mut() = response.headers().clone();
        Err(Error::UnexpectedResponse(reqwest::Response::from(copy)))
    }
}
