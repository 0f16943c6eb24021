//! `/api/v1/agents/{name}/pops`: the screen pops of one agent, pushed as server-sent events.
//!
//! The agent desktop keeps this stream open. When a contact is offered to the agent, an
//! `offer` event carries the contact id, the queue and the screen pop (numbers masked) while
//! the phone rings; `offer_ended` says an offer went away untaken (the desktop clears it).
//! A subscriber that falls too far behind gets a `missed` event and should fetch the pop
//! with `GET /api/v1/screen-pop`. A comment line every 15 seconds keeps proxies from closing
//! the stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use hotline_store::Role;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::customer_link::Pushed;

/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The screen pops of one agent as server-sent events (`text/event-stream`).
///
/// An agent key sees only the pops of the agent of its own name; supervisors and admins may
/// follow any agent.
#[utoipa::path(get, path = "/api/v1/agents/{name}/pops", tag = "screen pop",
    params(("name" = String, Path, description = "The agent's name (SIP user)")),
    responses(
        (status = 200, description = "A stream of `offer`, `offer_ended` and `missed` events", content_type = "text/event-stream"),
        (status = 403, body = ErrorBody),
    ),
    security(("api_key" = [])),
    description = "Role: the agent's own key, or supervisor and above.")]
pub async fn agent_pops(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller.require(Role::Agent)?;
    if caller.role == Role::Agent && caller.name != name {
        return Err(ApiError::forbidden(format!(
            "key {:?} may follow only the agent of its own name, not {name:?}",
            caller.name
        )));
    }
    let pushes = state.pops.subscribe(&name);
    let events = stream::unfold(pushes, |mut pushes| async move {
        let event = match pushes.next().await {
            Pushed::Push(push) => Event::default()
                .event(push.event)
                .data(push.data.to_string()),
            Pushed::Missed(count) => Event::default()
                .event("missed")
                .data(serde_json::json!({ "missed": count }).to_string()),
            Pushed::Closed => return None,
        };
        Some((Ok(event), pushes))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
