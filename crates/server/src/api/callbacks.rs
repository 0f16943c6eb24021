//! `/api/v1/callbacks`: customers' requests to be called back (回拨), from a web form,
//! WeChat, an app, an after-sales form, a ticket's follow-up or any integration.
//!
//! A request names the customer (by id or CRM external id) or just a number, why, and when:
//! as soon as possible, or a window. The answer says it was accepted, with the task's id and
//! the promised time, and comes only after the task is stored (a crash after the answer
//! loses nothing). The dialer ([`crate::outbound`]) decides the promise: now plus a few
//! seconds when the customer's contact hours and the legal calling hours are open, else
//! the next instant they all are.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use hotline_store::{CallbackFilter, CallbackState, CallbackTask, CustomerId, Role, TicketId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiJson, Caller};
use super::customers::parse_number;
use super::error::{ApiError, ErrorBody};
use super::{idempotent, now_ms, ApiState};
use crate::outbound::{CallbackRequest, SubmitError};

/// A callback request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackInput {
    /// Where it came from: `web_form`, `wechat`, `app`, `after_sales`, `follow_up` or `api`.
    pub channel: String,
    /// The customer, by hotline's id.
    pub customer_id: Option<i64>,
    /// Or by the CRM's id.
    pub external_id: Option<String>,
    /// The number to call (any Chinese form, or E.164); the customer's first number when
    /// left out.
    pub number: Option<String>,
    /// Why the customer wants the call (the agent sees it).
    pub reason: String,
    /// Need tags (knowledge-base suggestions on the screen pop).
    #[serde(default)]
    pub need_tags: Vec<String>,
    /// The CRM's data for the screen pop (order, product …), at most 16 KiB of JSON.
    pub payload: Option<serde_json::Value>,
    /// `normal` (default), `high` or `urgent`.
    #[serde(default = "normal")]
    pub priority: String,
    /// When the customer wants the call; as soon as possible when left out.
    pub window: Option<WindowInput>,
    /// The ticket whose follow-up visit this is.
    pub ticket_id: Option<i64>,
    /// How to place it: `agent_first` (an agent is reserved, then the customer dialled),
    /// `automatic` (dialled at once; the customer presses 1 for an agent or chooses a later
    /// time) or `preview` (an agent presses dial); the center's `[outbound] mode` when left
    /// out.
    pub mode: Option<String>,
}

fn normal() -> String {
    "normal".into()
}

/// A window, `[start_ms, end_ms)` in Unix milliseconds.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// From.
    pub start_ms: i64,
    /// Until.
    pub end_ms: i64,
}

/// A callback task.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackView {
    /// Its id.
    pub id: i64,
    /// `accepted` in the answer to a request; then `pending`, `dialling`, `done`, `failed`
    /// or `cancelled`.
    pub state: String,
    /// When the call was promised (Unix milliseconds).
    pub promised_ms: i64,
    /// The same in the dialer's time zone, for people (`2026-12-06 19:00`).
    pub promised_local: String,
    /// Where the request came from.
    pub channel: String,
    /// Why.
    pub reason: String,
    /// The customer, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// The number, masked.
    pub number: String,
    /// The window.
    pub window_start_ms: i64,
    /// The window's end.
    pub window_end_ms: i64,
    /// Attempts made.
    pub attempts: u32,
    /// The last outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// How it is placed, when the request named it (`agent_first`, `automatic`, `preview`;
    /// `predictive` for a campaign's numbers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The campaign whose number it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<i64>,
    /// Who asked for it (a user's or an API key's name), when a person or a system did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

fn callback_view(state: &ApiState, task: &CallbackTask, accepted: bool) -> CallbackView {
    CallbackView {
        id: task.id,
        state: if accepted {
            "accepted".into()
        } else {
            task.state.as_str().into()
        },
        promised_ms: task.fields.promised_ms,
        promised_local: state
            .outbound
            .as_ref()
            .map(|o| o.local_time(task.fields.promised_ms))
            .unwrap_or_default(),
        channel: task.fields.channel.clone(),
        reason: task.fields.reason.clone(),
        customer_id: task.fields.customer.map(|c| c.0),
        number: task.fields.number.masked(),
        window_start_ms: task.fields.window_start_ms,
        window_end_ms: task.fields.window_end_ms,
        attempts: task.attempts,
        outcome: task.outcome.clone(),
        mode: task.fields.mode.clone(),
        requested_by: task.fields.requested_by.clone(),
        campaign_id: task.fields.campaign,
    }
}

/// Requests a callback. The answer (201) comes after the task is stored; with an
/// `Idempotency-Key`, a retry gets the first answer.
#[utoipa::path(post, path = "/api/v1/callbacks", tag = "callbacks",
    request_body = CallbackInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body get the first answer")),
    responses((status = 201, body = CallbackView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (the web form's, WeChat's or the app's integration key).")]
pub async fn create_callback(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(input, body): ApiJson<CallbackInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    submit(&state, &caller, &headers, &body, input).await
}

async fn submit(
    state: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Bytes,
    input: CallbackInput,
) -> Result<Response, ApiError> {
    let outbound = state
        .outbound
        .clone()
        .ok_or_else(|| ApiError::unavailable("the dialer is not running"))?;
    idempotent(state, caller, headers, body, || async {
        let mut request = resolve(state, input).await?;
        request.task.requested_by = Some(caller.name.clone());
        let task = outbound.submit(request).await.map_err(|e| match e {
            SubmitError::Invalid(field, message) => ApiError::invalid(field, message),
            SubmitError::Duplicate(message) => ApiError::conflict(message),
            SubmitError::Store(error) => ApiError::from(error),
            SubmitError::Busy => ApiError::unavailable("the dialer is busy; try again"),
        })?;
        Ok((StatusCode::CREATED, callback_view(state, &task, true)))
    })
    .await
}

/// Turns the input into a request for the dialer: the customer looked up, do-not-call
/// honoured, the number chosen and normalised.
async fn resolve(state: &ApiState, input: CallbackInput) -> Result<CallbackRequest, ApiError> {
    let customer = match (input.customer_id, &input.external_id) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "external_id",
                "name the customer by customer_id or external_id, not both",
            ))
        }
        (Some(id), None) => Some(
            state
                .records
                .customer(CustomerId(id))
                .await?
                .ok_or_else(|| ApiError::invalid("customer_id", format!("no customer {id}")))?,
        ),
        (None, Some(external)) => Some(
            state
                .records
                .customer_by_external_id(external)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid("external_id", format!("no customer {external:?}"))
                })?,
        ),
        (None, None) => None,
    };
    let number = input
        .number
        .as_deref()
        .map(|text| parse_number(state, "number", text))
        .transpose()?;
    let mut request = match &customer {
        Some(customer) => {
            CallbackRequest::for_customer(customer, &input.channel, &input.reason, number, now_ms())
                .map_err(|(field, message)| ApiError::invalid(field, message))?
        }
        None => {
            let number = number.ok_or_else(|| {
                ApiError::invalid(
                    "number",
                    "give the number, or the customer by customer_id or external_id",
                )
            })?;
            CallbackRequest::for_number(number, &input.channel, &input.reason, now_ms())
        }
    };
    request.window = input
        .window
        .map(|w| {
            if w.end_ms <= w.start_ms {
                Err(ApiError::invalid(
                    "window.end_ms",
                    "must come after window.start_ms",
                ))
            } else {
                Ok((w.start_ms, w.end_ms))
            }
        })
        .transpose()?;
    if !input.need_tags.is_empty() {
        request.task.need_tags = input.need_tags;
    }
    request.task.payload = input.payload;
    request.task.priority = input.priority;
    request.task.ticket = input.ticket_id.map(TicketId);
    if let Some(mode) = input.mode {
        match crate::switch::OutboundMode::parse(&mode) {
            Some(m) if m != crate::switch::OutboundMode::Predictive => {}
            _ => {
                return Err(ApiError::invalid(
                    "mode",
                    format!(
                        "{mode:?} is not agent_first, automatic or preview (predictive \
                         dialling is for campaigns)"
                    ),
                ))
            }
        }
        request.task.mode = Some(mode);
    }
    Ok(request)
}

/// One callback task.
#[utoipa::path(get, path = "/api/v1/callbacks/{id}", tag = "callbacks",
    params(("id" = i64, Path, description = "The task's id")),
    responses((status = 200, body = CallbackView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn get_callback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CallbackView>, ApiError> {
    caller.require(Role::Agent)?;
    let task = state
        .records
        .callback_task(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no callback {id}")))?;
    Ok(Json(callback_view(&state, &task, false)))
}

/// Which callbacks to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CallbackQuery {
    /// Only tasks in this state.
    pub state: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only those this user or API key asked for (`me`: the caller).
    pub requested_by: Option<String>,
    /// The next page: ids below this.
    pub before_id: Option<i64>,
    /// At most this many (100 by default, 500 at most).
    pub limit: Option<u32>,
}

/// Callback tasks, newest first.
#[utoipa::path(get, path = "/api/v1/callbacks", tag = "callbacks",
    params(CallbackQuery),
    responses((status = 200, body = Vec<CallbackView>), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn list_callbacks(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<CallbackQuery>,
) -> Result<Json<Vec<CallbackView>>, ApiError> {
    caller.require(Role::Agent)?;
    let filter = CallbackFilter {
        state: query
            .state
            .as_deref()
            .map(|s| {
                CallbackState::parse(s).ok_or_else(|| {
                    ApiError::invalid(
                        "state",
                        format!("{s:?} is not pending, dialling, done, failed or cancelled"),
                    )
                })
            })
            .transpose()?,
        customer: query.customer_id.map(CustomerId),
        requested_by: query.requested_by.map(|who| {
            if who == "me" {
                caller.name.clone()
            } else {
                who
            }
        }),
        before_id: query.before_id,
        limit: query.limit.unwrap_or(100),
    };
    let tasks = state.records.callback_tasks(&filter).await?;
    Ok(Json(
        tasks
            .iter()
            .map(|t| callback_view(&state, t, false))
            .collect(),
    ))
}

/// Cancels a waiting callback (the customer called in, or asked to stop).
#[utoipa::path(delete, path = "/api/v1/callbacks/{id}", tag = "callbacks",
    params(("id" = i64, Path, description = "The task's id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn cancel_callback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Agent)?;
    if state.records.callback_task(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no callback {id}")));
    }
    let cancelled = match &state.outbound {
        Some(outbound) => outbound.cancel(id, &caller.name).await,
        None => state
            .records
            .cancel_callback_task(id, "cancelled", now_ms(), &caller.name)
            .await
            .map_err(SubmitError::Store),
    }
    .map_err(|e| match e {
        SubmitError::Store(error) => ApiError::from(error),
        other => ApiError::unavailable(other.to_string()),
    })?;
    if cancelled {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::conflict(format!(
            "callback {id} is no longer waiting"
        )))
    }
}

/// The window of the outbound figures.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// Callbacks requested from this instant (Unix ms); default 24 h before `to_ms`.
    pub from_ms: Option<i64>,
    /// Up to this instant, excluded (Unix ms); default now.
    pub to_ms: Option<i64>,
}

/// The longest window of the outbound figures.
pub const MAX_METRICS_WINDOW_MS: i64 = 31 * 24 * 3_600_000;

/// The outbound figures of the callbacks requested in a window: trigger → first dial and →
/// connected (p50, p95, max), connect and answer rates, attempts per connect, timeliness, in
/// all and per source channel. Projected from the event log, current to the request.
#[utoipa::path(get, path = "/api/v1/metrics/outbound", tag = "callbacks",
    params(MetricsQuery),
    responses((status = 200, body = crate::outbound_metrics::OutboundReport),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn outbound_metrics(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<MetricsQuery>,
) -> Result<Json<crate::outbound_metrics::OutboundReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    let to_ms = query.to_ms.unwrap_or_else(|| crate::api::now_ms() + 1);
    let from_ms = query.from_ms.unwrap_or(to_ms - 24 * 3_600_000);
    if from_ms >= to_ms {
        return Err(ApiError::invalid("from_ms", "must be before to_ms"));
    }
    if to_ms - from_ms > MAX_METRICS_WINDOW_MS {
        return Err(ApiError::invalid(
            "from_ms",
            format!(
                "the window is at most {} days",
                MAX_METRICS_WINDOW_MS / 86_400_000
            ),
        ));
    }
    let metrics = state
        .outbound_metrics
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the outbound figures are not kept here"))?;
    if let Some(log) = &state.log {
        // Current to the request, not to the tailer's last poll.
        metrics.catch_up(log).await?;
    }
    Ok(Json(metrics.report(from_ms, to_ms)))
}

/// How many preview cards.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewQuery {
    /// At most this many (20 by default, 100 at most).
    pub limit: Option<u32>,
}

/// Preview: the callbacks due now, best first (VIPs, then value, then the oldest), for an
/// agent to choose from; none is claimed by looking.
#[utoipa::path(get, path = "/api/v1/callbacks/preview", tag = "callbacks",
    params(PreviewQuery),
    responses((status = 200, body = Vec<CallbackView>), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn preview_callbacks(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PreviewQuery>,
) -> Result<Json<Vec<CallbackView>>, ApiError> {
    caller.require(Role::Agent)?;
    let limit = query.limit.unwrap_or(20);
    if limit == 0 || limit as usize > crate::outbound::MAX_PREVIEW {
        return Err(ApiError::invalid(
            "limit",
            format!("1 to {}", crate::outbound::MAX_PREVIEW),
        ));
    }
    let outbound = state
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("callbacks are not kept here"))?;
    let tasks = outbound
        .preview(limit as usize)
        .await
        .map_err(|e| match e {
            SubmitError::Store(error) => ApiError::from(error),
            other => ApiError::unavailable(other.to_string()),
        })?;
    Ok(Json(
        tasks
            .iter()
            .map(|t| callback_view(&state, t, false))
            .collect(),
    ))
}

/// Who dials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialInput {
    /// The agent who pressed dial (their routing name): their phone rings first, then the
    /// customer's.
    pub agent: String,
}

/// Preview: an agent dials a callback now. Their phone rings with the card; once they answer,
/// the customer is dialled. 409 when the callback is being dialled or may not be dialled now
/// (legal hours, the customer's hours, its window: the answer says until when).
#[utoipa::path(post, path = "/api/v1/callbacks/{id}/dial", tag = "callbacks",
    params(("id" = i64, Path, description = "The task's id")),
    request_body = DialInput,
    responses((status = 202, body = CallbackView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn dial_callback(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input, _): ApiJson<DialInput>,
) -> Result<(StatusCode, Json<CallbackView>), ApiError> {
    use crate::outbound::DialError;
    use hotline_dialer::ClaimError;
    caller.require(Role::Agent)?;
    let outbound = state
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("callbacks are not kept here"))?;
    let task = outbound
        .dial(id, input.agent.trim())
        .await
        .map_err(|e| match e {
            DialError::UnknownAgent(_) => ApiError::invalid("agent", e.to_string()),
            DialError::Claim(ClaimError::UnknownTask { .. }) => {
                ApiError::not_found(format!("no waiting callback {id}"))
            }
            DialError::Claim(ClaimError::NotDue { due_ms, .. }) => ApiError::conflict(format!(
                "callback {id} may not be dialled before {}",
                outbound.local_time(due_ms as i64)
            )),
            DialError::Claim(_) | DialError::Cancelled(_) => ApiError::conflict(e.to_string()),
            DialError::NotDialling | DialError::Busy => ApiError::unavailable(e.to_string()),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(callback_view(&state, &task, false)),
    ))
}

/// The supervisors' wall now: per queue, calls waiting and the longest wait, callbacks
/// pending and today's service level, ASA, abandonment, connect rate and callback
/// timeliness; per agent, the state and since when, the contact in hand and today's handled
/// contacts and talk time. Projected from the event log, current to the request.
#[utoipa::path(get, path = "/api/v1/metrics/wall", tag = "callbacks",
    responses((status = 200, body = crate::wall::WallReport), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn wall(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<crate::wall::WallReport>, ApiError> {
    caller.require(Role::Supervisor)?;
    let (wall, calendar) = state
        .wall
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the wall's figures are not kept here"))?;
    if let Some(log) = &state.log {
        wall.catch_up(log).await?;
    }
    Ok(Json(wall_with_alerts(&state, wall, calendar)))
}

/// Which chart the wall asks for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// How many hours back, 1 to [`MAX_HISTORY_HOURS`]; default 8.
    pub hours: Option<u32>,
    /// One queue, by name; the whole center when left out.
    pub queue: Option<String>,
}

/// The longest chart the wall draws: a day.
pub const MAX_HISTORY_HOURS: u32 = 24;

/// The wall's charts: per 15-minute interval over the last hours, the contacts in the queue
/// (average and peak), offered, answered and abandoned, the service level, abandonment and
/// ASA, for one queue or the whole center. The last interval is the one under way.
#[utoipa::path(get, path = "/api/v1/metrics/wall/history", tag = "metrics",
    params(HistoryQuery),
    responses((status = 200, body = crate::wall::WallHistory), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn wall_history(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<crate::wall::WallHistory>, ApiError> {
    caller.require(Role::Supervisor)?;
    let hours = query.hours.unwrap_or(8);
    if !(1..=MAX_HISTORY_HOURS).contains(&hours) {
        return Err(ApiError::invalid(
            "hours",
            format!("must be 1 to {MAX_HISTORY_HOURS}"),
        ));
    }
    let (wall, _) = state
        .wall
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the wall's figures are not kept here"))?;
    if let Some(log) = &state.log {
        wall.catch_up(log).await?;
    }
    let queue = query
        .queue
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    wall.history(now_ms(), hours, queue)
        .map(Json)
        .map_err(|message| ApiError::invalid("queue", message))
}

/// How often an open wall stream looks for changes.
pub const WALL_PUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// The wall as server-sent events, for the supervisors' page: first `wall` (the whole
/// report), then, every half second at most, `changes` ([`crate::wall::changes`]: the agent
/// rows that changed, and the center, the queues and the alerts when any of them did). The
/// page counts time in state from each agent's `since_ms` by itself, so an idle center sends
/// nothing but keep-alives.
#[utoipa::path(get, path = "/api/v1/metrics/wall/stream", tag = "metrics",
    responses(
        (status = 200, description = "A stream of `wall` and `changes` events", content_type = "text/event-stream"),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn wall_stream(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    caller.require(Role::Supervisor)?;
    let (wall, calendar) = state
        .wall
        .clone()
        .ok_or_else(|| ApiError::unavailable("the wall's figures are not kept here"))?;
    let mut ticks = tokio::time::interval(WALL_PUSH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<crate::wall::WallReport> = None;
    let events = async_stream_events(move |sink| async move {
        loop {
            ticks.tick().await;
            let report = wall_with_alerts(&state, &wall, &calendar);
            let event = match &last {
                None => Some(
                    Event::default()
                        .event("wall")
                        .data(serde_json::to_string(&report).unwrap_or_default()),
                ),
                Some(previous) => wall_changes(previous, &report),
            };
            if let Some(event) = event {
                if sink.send(event).await.is_err() {
                    return;
                }
            }
            last = Some(report);
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(super::agents::KEEP_ALIVE)))
}

/// The wall now with its alerts.
fn wall_with_alerts(
    state: &ApiState,
    wall: &crate::wall::WallMetrics,
    calendar: &hotline_calendar::Calendar,
) -> crate::wall::WallReport {
    let (mut report, alerts) = crate::alerts::current(
        wall,
        calendar,
        state.outbound_metrics.as_ref(),
        &state.alert_rules,
        now_ms(),
    );
    report.alerts = alerts;
    report.outbound = state
        .outbound_metrics
        .as_ref()
        .map(|o| o.total(report.today_from_ms, report.at_ms + 1));
    report
}

/// What changed between two walls, as one `changes` event ([`crate::wall::changes`]).
fn wall_changes(
    previous: &crate::wall::WallReport,
    now: &crate::wall::WallReport,
) -> Option<axum::response::sse::Event> {
    crate::wall::changes(previous, now).map(|data| {
        axum::response::sse::Event::default()
            .event("changes")
            .data(data.to_string())
    })
}

/// A stream fed by a task through a small channel (the task ends when the stream is
/// dropped: its next send fails).
fn async_stream_events<F, Fut>(
    run: F,
) -> impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<axum::response::sse::Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sink, mut source) = tokio::sync::mpsc::channel(WALL_STREAM_BUFFER);
    tokio::spawn(run(sink));
    futures_util::stream::poll_fn(move |cx| source.poll_recv(cx).map(|e| e.map(Ok)))
}

/// Wall events buffered for a slow page; a page further behind waits (the pushes skip no
/// change, they just come later).
pub const WALL_STREAM_BUFFER: usize = 4;
