//! `/api/v1/recordings/{contact_id}`: a call's recording, opened for a supervisor.
//!
//! Recordings are sealed on disk ([`crate::recordings`]); this route opens one with the
//! records' keyring as it streams it out (`audio/wav`, the streaming header: the data runs to
//! the end), a 64 KiB chunk at a time. Every opening is in the audit log
//! (`recording.read`) before the first byte leaves. A recording cut off by a crash streams as
//! far as it goes; one that does not authenticate ends the stream with an error.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hotline_store::Role;
use tokio::sync::mpsc;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, ApiState};

/// Chunks of a recording in flight between the opening thread and the response.
const MAX_CHUNKS_IN_FLIGHT: usize = 4;

/// A call's recording as WAV (8 kHz 16-bit PCM; stereo: caller left, agent right).
#[utoipa::path(get, path = "/api/v1/recordings/{contact_id}", tag = "recordings",
    params(("contact_id" = i64, Path, description = "The call's contact id (as in its interaction and the event log)")),
    responses(
        (status = 200, description = "The recording", content_type = "audio/wav"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("api_key" = [])),
    description = "Role: supervisor or above. Each download is audited (`recording.read`).")]
pub async fn get_recording(
    State(state): State<ApiState>,
    caller: Caller,
    Path(contact_id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Role::Supervisor)?;
    let not_found = || ApiError::not_found(format!("no recording of contact {contact_id}"));
    let dir = state.recordings.clone().ok_or_else(not_found)?;
    let path = tokio::task::spawn_blocking(move || crate::recordings::find(&dir, contact_id))
        .await
        .map_err(|e| ApiError::internal(format!("finding the recording: {e}")))?
        .ok_or_else(not_found)?;
    state
        .records
        .audit(
            now_ms(),
            &caller.name,
            "recording.read",
            &format!("contact:{contact_id}"),
            "",
        )
        .await?;
    let keys = state.records.keyring().clone();
    let (sender, mut receiver) = mpsc::channel::<io::Result<Bytes>>(MAX_CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let errors = sender.clone();
        let out = ChannelWriter { sender };
        if let Err(error) = crate::recordings::open_to(&path, &keys, out) {
            // The client sees the body end with an error instead of a clean end.
            let _ = errors.blocking_send(Err(io::Error::other(error.to_string())));
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }));
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Sends what is written as body chunks; a gone client fails the write, which stops the
/// opening.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.sender
            .blocking_send(Ok(Bytes::copy_from_slice(data)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
