//! `/api/v1/agents/{name}/pops`: the screen pops of one agent, pushed as server-sent events;
//! `/api/v1/agents/{name}/state`: the agent's state, read and set from the desktop.
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

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::customer_link::Pushed;
use crate::switch::{AgentChange, AgentChangeError, AgentStatus};

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
    own_or_supervisor(&caller, &name)?;
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

/// An agent may act only as itself; supervisors and admins for anyone.
fn own_or_supervisor(caller: &Caller, name: &str) -> Result<(), ApiError> {
    caller.require(Role::Agent)?;
    if caller.role == Role::Agent && caller.name != name {
        return Err(ApiError::forbidden(format!(
            "{:?} may act only for the agent of its own name, not {name:?}",
            caller.name
        )));
    }
    Ok(())
}

/// An agent's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentStateView {
    /// The agent.
    pub agent: String,
    /// `logged_out`, `not_ready`, `ready`, `reserved` (a contact rings), `on_contact` or
    /// `wrap_up`.
    pub state: String,
    /// The not-ready reason, when not ready (`logged_in` is plain "not ready").
    pub reason: Option<String>,
    /// When wrap-up ends by itself (Unix milliseconds), while wrapping up.
    pub wrap_up_until_ms: Option<u64>,
    /// A phone is registered for the agent (needed to be ready).
    pub registered: bool,
    /// The not-ready reasons to choose from (`[routing] reasons`).
    pub reasons: Vec<String>,
}

fn state_view(agent: &str, status: AgentStatus) -> AgentStateView {
    AgentStateView {
        agent: agent.to_string(),
        state: status.state.to_string(),
        reason: status.reason,
        wrap_up_until_ms: status.wrap_up_until_ms,
        registered: status.registered,
        reasons: status.reasons,
    }
}

/// A change of state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStateInput {
    /// `ready`, `not_ready` or `end_wrap_up`.
    pub state: String,
    /// With `not_ready`: one of `[routing] reasons`; plain "not ready" when left out.
    pub reason: Option<String>,
}

fn switch(state: &ApiState) -> Result<&crate::runtime::SwitchControl, ApiError> {
    state
        .switch
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("no switch runs here"))
}

/// An agent's state, as the routing core has it.
#[utoipa::path(get, path = "/api/v1/agents/{name}/state", tag = "agents",
    params(("name" = String, Path, description = "The agent's name (SIP user)")),
    responses((status = 200, body = AgentStateView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: the agent themself, or supervisor and above.")]
pub async fn agent_state(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AgentStateView>, ApiError> {
    own_or_supervisor(&caller, &name)?;
    let status = switch(&state)?
        .agent_status(&name)
        .await
        .ok_or_else(|| ApiError::unavailable("the switch is busy; try again"))?
        .ok_or_else(|| ApiError::not_found(format!("no agent {name:?}")))?;
    Ok(Json(state_view(&name, status)))
}

/// Sets an agent's state: ready (a phone must be registered), not ready with a reason, or
/// the end of wrap-up before its timer.
#[utoipa::path(post, path = "/api/v1/agents/{name}/state", tag = "agents",
    params(("name" = String, Path, description = "The agent's name (SIP user)")),
    request_body = AgentStateInput,
    responses((status = 200, body = AgentStateView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: the agent themself, or supervisor and above.")]
pub async fn set_agent_state(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(input, _): ApiJson<AgentStateInput>,
) -> Result<Json<AgentStateView>, ApiError> {
    own_or_supervisor(&caller, &name)?;
    let change = match (input.state.as_str(), input.reason) {
        ("ready", None) => AgentChange::Ready,
        ("not_ready", reason) => AgentChange::NotReady(reason),
        ("end_wrap_up", None) => AgentChange::EndWrapUp,
        ("ready" | "end_wrap_up", Some(_)) => {
            return Err(ApiError::invalid("reason", "only not_ready takes a reason"))
        }
        (other, _) => {
            return Err(ApiError::invalid(
                "state",
                format!("{other:?} is not ready, not_ready or end_wrap_up"),
            ))
        }
    };
    let status = switch(&state)?
        .change_agent(&name, change)
        .await
        .ok_or_else(|| ApiError::unavailable("the switch is busy; try again"))?
        .map_err(|e| match e {
            AgentChangeError::UnknownAgent => ApiError::not_found(format!("no agent {name:?}")),
            AgentChangeError::UnknownReason(_) => ApiError::invalid("reason", e.to_string()),
            AgentChangeError::WrongState(why) => ApiError::conflict(why),
        })?;
    Ok(Json(state_view(&name, status)))
}

/// An agent's own figures for today.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentTodayView {
    /// The agent.
    pub agent: String,
    /// Contacts handled (wrapped up) since local midnight.
    pub handled: u64,
    /// Their talk time, ms.
    pub talk_ms: u64,
    /// Average handle time (talk and wrap-up), ms; `null` before the first.
    pub aht_ms: Option<u64>,
    /// Survey answers about the agent's calls today.
    pub csat_answers: u64,
    /// Their mean score, 1 to 5.
    pub csat_average: Option<f64>,
    /// The share of 4s and 5s, in percent.
    pub csat_satisfied_percent: Option<f64>,
}

/// The agent's own figures for today: handled, AHT, CSAT (the desktop's "my day").
#[utoipa::path(get, path = "/api/v1/agents/{name}/today", tag = "agents",
    params(("name" = String, Path, description = "The agent's name (SIP user)")),
    responses((status = 200, body = AgentTodayView), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: the agent themself, or supervisor and above.")]
pub async fn agent_today(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<AgentTodayView>, ApiError> {
    own_or_supervisor(&caller, &name)?;
    let (wall, calendar) = state
        .wall
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the live figures are not kept here"))?;
    if let Some(log) = &state.log {
        wall.catch_up(log).await?;
    }
    let report = wall.report(super::now_ms(), calendar);
    let row = report
        .agents
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no agent {name:?}")))?;
    // Today's survey answers grouped by agent (the UTC offset only names days: unused here).
    let csat = state
        .records
        .csat(
            hotline_store::CsatGroup::Agent,
            report.today_from_ms,
            super::now_ms() + 1,
            0,
            hotline_store::survey_records::MAX_CSAT_GROUPS,
        )
        .await?
        .into_iter()
        .find(|r| r.key == name);
    Ok(Json(AgentTodayView {
        agent: name.clone(),
        handled: row.handled_today,
        talk_ms: row.talk_ms_today,
        aht_ms: (row.handled_today > 0).then(|| row.handle_ms_today / row.handled_today),
        csat_answers: csat.as_ref().map_or(0, |c| c.answers),
        csat_average: csat.as_ref().map(|c| c.average),
        csat_satisfied_percent: csat.as_ref().map(|c| c.satisfied_percent),
    }))
}
