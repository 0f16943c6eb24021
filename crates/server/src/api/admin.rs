//! The running center's administration: `POST /api/v1/admin/reload` reads the configuration
//! file again and runs its routing and business hours without dropping a call
//! ([`crate::reload`]); `/api/v1/admin/config`, `/agents/{name}`, `/queues/{name}` and
//! `/calendars/{name}` are the simple admin page's: the file's queues, agents and calendars as
//! written, and edits of them ([`crate::config_edit`]) written to the file and run at once;
//! `POST /agents`, `/queues` and `/skills` add new ones after those written, and
//! `/agents/{name}/phone` sets or removes an agent's SIP account.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hotline_store::Role;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::ApiState;
use crate::config_edit::{
    self, AdminView, AgentEdit, CalendarEdit, EditError, NewAgent, NewQueue, NewSkill, NumberEdit,
    PhoneEdit, QueueEdit,
};
use crate::reload::{ReloadError, ReloadReport, Reloader};

/// What adding an agent or setting a phone's password did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneReport {
    /// The reload.
    pub report: ReloadReport,
    /// The phone's password when hotline made it (none was given): shown this once, for
    /// the phone's settings; it is in the configuration file, never in the event log.
    pub password: Option<String>,
}

/// The password given, checked, or one made.
fn password_for(given: Option<&str>) -> Result<(String, bool), ApiError> {
    match given {
        Some(password) => {
            config_edit::check_phone_password(password)
                .map_err(|e| api_error(ReloadError::Edit(e)))?;
            Ok((password.to_owned(), false))
        }
        None => {
            let mut random = [0u8; 16];
            getrandom::fill(&mut random)
                .map_err(|e| ApiError::internal(format!("no random numbers: {e}")))?;
            Ok((config_edit::make_phone_password(random), true))
        }
    }
}

fn reloader(state: &ApiState) -> Result<&std::sync::Arc<Reloader>, ApiError> {
    state.reload.as_ref().ok_or_else(|| {
        ApiError::unavailable(
            "this center was started without a configuration file (the demo): there is \
             nothing to reload or edit",
        )
    })
}

/// The `If-Match` version the page read, if sent.
fn expected(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"').to_owned())
}

fn api_error(error: ReloadError) -> ApiError {
    match error {
        ReloadError::Invalid(diagnostics) => {
            let field = diagnostics
                .0
                .first()
                .map_or_else(|| "(file)".to_string(), |d| d.field.clone());
            ApiError::invalid(field, diagnostics.to_string())
        }
        ReloadError::Edit(EditError::Invalid(field, why)) => ApiError::invalid(field, why),
        ReloadError::Edit(EditError::NotFound(what)) => ApiError::not_found(what),
        ReloadError::Edit(error) => ApiError::conflict(error.to_string()),
        error @ ReloadError::Stale => ApiError::conflict(error.to_string()),
        error @ ReloadError::Refused(_) => ApiError::conflict(error.to_string()),
        error @ ReloadError::Unavailable => ApiError::unavailable(error.to_string()),
        error @ (ReloadError::Read(_) | ReloadError::Write(_) | ReloadError::Restore { .. }) => {
            ApiError::internal(error.to_string())
        }
    }
}

/// Reloads the configuration file: its queues, skills, agents, routing policies and business
/// hours run from now on, calls in progress keep going; the answer names the other sections
/// that changed, which only a restart applies. A file with errors is refused whole (422, every
/// problem with its line); one that removes, renames or reorders a queue, agent, skill,
/// not-ready reason or calendar is refused (409). Also done by SIGHUP to `hotline serve`.
#[utoipa::path(post, path = "/api/v1/admin/reload", tag = "admin",
    responses((status = 200, body = ReloadReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn reload(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Admin)?;
    reloader(&state)?
        .reload(&caller.name)
        .await
        .map(Json)
        .map_err(api_error)
}

/// The configuration file's queues, agents and calendars, as written (`"billing:3"`,
/// `"general:2:30s"`, `"80/20"`).
#[utoipa::path(get, path = "/api/v1/admin/config", tag = "admin",
    responses((status = 200, body = AdminView), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn config(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<AdminView>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?.view().await.map(Json).map_err(api_error)
}

/// Sets an agent's skills and queues in the file and runs it: the agent takes contacts of
/// their new queues at once (calls in hand go on). The whole file is checked first; a bad
/// value is refused by its field and the file is left as it was.
#[utoipa::path(put, path = "/api/v1/admin/agents/{name}", tag = "admin",
    request_body = AgentEdit,
    params(("name" = String, Path, description = "The agent"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page (`GET /api/v1/admin/config`)")),
    responses((status = 200, body = ReloadReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn set_agent(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(edit, _): ApiJson<AgentEdit>,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::set_agent(text, &name, &edit)
        })
        .await
        .map(Json)
        .map_err(api_error)
}

/// Changes a queue's service level, size or wrap-up in the file and runs it.
#[utoipa::path(put, path = "/api/v1/admin/queues/{name}", tag = "admin",
    request_body = QueueEdit,
    params(("name" = String, Path, description = "The queue"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = ReloadReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn set_queue(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(edit, _): ApiJson<QueueEdit>,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::set_queue(text, &name, &edit)
        })
        .await
        .map(Json)
        .map_err(api_error)
}

/// Sets a calendar's weekly hours and holidays in the file and runs them: the next call to a
/// number with these hours meets them.
#[utoipa::path(put, path = "/api/v1/admin/calendars/{name}", tag = "admin",
    request_body = CalendarEdit,
    params(("name" = String, Path, description = "The calendar"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = ReloadReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn set_calendar(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(edit, _): ApiJson<CalendarEdit>,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::set_calendar(text, &name, &edit)
        })
        .await
        .map(Json)
        .map_err(api_error)
}

/// Adds an agent after those in the file, with their phone's SIP account (the agent's name is
/// the SIP user): the phone may register at once and the agent takes contacts of their queues.
/// Without a password, one is made and given once in the answer.
#[utoipa::path(post, path = "/api/v1/admin/agents", tag = "admin",
    request_body = NewAgent,
    params(("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 201, body = PhoneReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin (it makes credentials).")]
pub async fn add_agent(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(agent, _): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<PhoneReport>), ApiError> {
    caller.require(Role::Admin)?;
    let (password, made) = password_for(agent.password.as_deref())?;
    let written = password.clone();
    let report = reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::add_agent(text, &agent, &written)
        })
        .await
        .map_err(api_error)?;
    Ok((
        StatusCode::CREATED,
        Json(PhoneReport {
            report,
            password: made.then_some(password),
        }),
    ))
}

/// Adds a queue after those in the file. Calls reach it through a number (`[[sip.numbers]]`,
/// applied by a reload), a menu (a restart), a callback request or a campaign.
#[utoipa::path(post, path = "/api/v1/admin/queues", tag = "admin",
    request_body = NewQueue,
    params(("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 201, body = ReloadReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn add_queue(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(queue, _): ApiJson<NewQueue>,
) -> Result<(StatusCode, Json<ReloadReport>), ApiError> {
    caller.require(Role::Supervisor)?;
    let report = reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::add_queue(text, &queue)
        })
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(report)))
}

/// Adds a skill at the end of `[routing] skills`, for agents and queues to name.
#[utoipa::path(post, path = "/api/v1/admin/skills", tag = "admin",
    request_body = NewSkill,
    params(("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 201, body = ReloadReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn add_skill(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(skill, _): ApiJson<NewSkill>,
) -> Result<(StatusCode, Json<ReloadReport>), ApiError> {
    caller.require(Role::Supervisor)?;
    let report = reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::add_skill(text, &skill)
        })
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(report)))
}

/// Sets an agent's phone password (their SIP account is made if they have none). The next
/// REGISTER needs it; registrations made with the old one last until they expire. Without a
/// password, one is made and given once in the answer.
#[utoipa::path(put, path = "/api/v1/admin/agents/{name}/phone", tag = "admin",
    request_body = PhoneEdit,
    params(("name" = String, Path, description = "The agent"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = PhoneReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn set_phone(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(edit, _): ApiJson<PhoneEdit>,
) -> Result<Json<PhoneReport>, ApiError> {
    caller.require(Role::Admin)?;
    let (password, made) = password_for(edit.password.as_deref())?;
    let written = password.clone();
    let report = reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::set_phone(text, &name, &written)
        })
        .await
        .map_err(api_error)?;
    Ok(Json(PhoneReport {
        report,
        password: made.then_some(password),
    }))
}

/// Removes an agent's SIP account: their phone is logged out at once (a call in hand goes
/// on) and cannot register again. The agent stays in the routing, for their history.
#[utoipa::path(delete, path = "/api/v1/admin/agents/{name}/phone", tag = "admin",
    params(("name" = String, Path, description = "The agent"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = ReloadReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn remove_phone(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Admin)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::remove_phone(text, &name)
        })
        .await
        .map(Json)
        .map_err(api_error)
}

/// Routes a dialled number to a queue or a menu, with its hours (`[[sip.numbers]]`): the next
/// call to it meets the route. Made when the file has no such number. While `[media]` differs
/// from what the center started with, numbers wait for a restart (the answer says so).
#[utoipa::path(put, path = "/api/v1/admin/numbers/{number}", tag = "admin",
    request_body = NumberEdit,
    params(("number" = String, Path, description = "The number as dialled"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = ReloadReport), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn set_number(
    State(state): State<ApiState>,
    caller: Caller,
    Path(number): Path<String>,
    headers: HeaderMap,
    ApiJson(edit, _): ApiJson<NumberEdit>,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::set_number(text, &number, &edit)
        })
        .await
        .map(Json)
        .map_err(api_error)
}

/// Removes a dialled number's route: its calls go where unlisted numbers go.
#[utoipa::path(delete, path = "/api/v1/admin/numbers/{number}", tag = "admin",
    params(("number" = String, Path, description = "The number as dialled"),
        ("If-Match" = Option<String>, Header, description = "The version read with the page")),
    responses((status = 200, body = ReloadReport), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn remove_number(
    State(state): State<ApiState>,
    caller: Caller,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ReloadReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    reloader(&state)?
        .edit(&caller.name, expected(&headers), move |text| {
            config_edit::remove_number(text, &number)
        })
        .await
        .map(Json)
        .map_err(api_error)
}
