//! `/api/v1/tickets…`, `/api/v1/follow-ups` and the customer's tracking page
//! (`/api/v1/track/{token}` as JSON, `/track/{token}` as a page for SMS and WeChat links).
//!
//! Tickets follow the workflow and SLA rules of the `[tickets]` configuration
//! (`hotline_tickets::TicketRules`); every change is one transaction with its history. The
//! tracking page needs no key: its signed, expiring, revocable token is the permission, and
//! it shows the status and the history's steps, never notes, names or numbers.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use hotline_store::{
    CustomerId, NewEvent, NewTicket, Role, StoreError, Ticket, TicketChange, TicketFilter,
    TicketHistoryEntry, TicketId,
};
use hotline_tickets::{Priority, SlaReport, TargetReport, TicketStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::{emit, idempotent, if_match, now_ms, ApiState};

/// How long a tracking link lives when the request does not say: 30 days.
pub const DEFAULT_LINK_LIFETIME_HOURS: u32 = 30 * 24;

/// A ticket as the API takes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    /// What it is about; shown to the customer on the tracking page, so no personal data.
    pub title: String,
    /// The details (personal data allowed; sealed at rest).
    pub description: Option<String>,
    /// The category, such as `complaint/refund`: picks the SLA policy, the department and the
    /// follow-up.
    pub category: String,
    /// `urgent`, `high`, `normal` (when left out) or `low`.
    pub priority: Option<String>,
    /// The customer.
    pub customer_id: Option<i64>,
    /// The interaction (call) it came from.
    pub interaction_id: Option<i64>,
    /// Who works on it.
    pub assignee: Option<String>,
    /// The department, when not the one the category routes to.
    pub department: Option<String>,
}

/// A change to a ticket; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketChangeInput {
    /// The next status: `new`, `assigned`, `in_progress`, `waiting_on_customer`, `resolved`,
    /// `closed`.
    pub status: Option<String>,
    /// The new assignee; an empty string unassigns.
    pub assignee: Option<String>,
    /// The new priority.
    pub priority: Option<String>,
    /// A note for the history.
    pub note: Option<String>,
    /// This change answered the customer (records the first response).
    #[serde(default)]
    pub answered_customer: bool,
}

/// One target of the SLA.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetView {
    /// `running`, `warning`, `breached`, `met` or `paused`.
    pub state: String,
    /// When it falls due (absent while paused or once reached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<u64>,
    /// Business minutes used so far.
    pub used_minutes: u64,
    /// The target, in business minutes.
    pub target_minutes: u64,
}

/// The SLA of a ticket now.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaView {
    /// The policy's name.
    pub policy: String,
    /// Time to the first response.
    pub first_response: TargetView,
    /// Time to resolution.
    pub resolution: TargetView,
    /// Escalated to the supervisors after a breach.
    pub escalated: bool,
}

/// The follow-up visit after resolution.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpView {
    /// When the customer should be called.
    pub due_ms: i64,
    /// `scheduled`, `done` or `cancelled`.
    pub state: String,
    /// How it went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// Its id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category.
    pub category: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// Department.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Assignee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// The interaction it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<i64>,
    /// Created, Unix milliseconds.
    pub created_ms: i64,
    /// Last changed.
    pub updated_ms: i64,
    /// Send back in If-Match to change safely.
    pub version: i64,
    /// Where it stands against its SLA now.
    pub sla: SlaView,
    /// The follow-up, once resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<FollowUpView>,
}

/// One step of a ticket's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryView {
    /// When.
    pub at_ms: i64,
    /// Who.
    pub actor: String,
    /// What (`created`, `status`, `assignee`, `note`, `sla_warning`, `escalated` …).
    pub action: String,
    /// The value before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The value after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A ticket with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketDetail {
    /// The ticket.
    pub ticket: TicketView,
    /// Its history, oldest first.
    pub history: Vec<HistoryView>,
}

/// A page of tickets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPage {
    /// The tickets.
    pub items: Vec<TicketView>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Which tickets to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this assignee.
    pub assignee: Option<String>,
    /// Only this department.
    pub department: Option<String>,
    /// Only this customer's.
    pub customer_id: Option<i64>,
    /// Only tickets with a breached target.
    #[serde(default)]
    pub breached: bool,
    /// Only ids below this (the `next_before` of the previous page).
    pub before: Option<i64>,
    /// How many, 1 to 500 (50 when left out).
    pub limit: Option<u32>,
}

fn parse_priority(text: Option<&str>) -> Result<Priority, ApiError> {
    match text {
        None => Ok(Priority::Normal),
        Some(text) => text.parse().map_err(|_| {
            ApiError::invalid(
                "priority",
                format!("{text:?} is not one of urgent, high, normal, low"),
            )
        }),
    }
}

fn target_view(target: &TargetReport) -> TargetView {
    TargetView {
        state: target.state.as_str().to_owned(),
        due_ms: target.due_at_ms,
        used_minutes: target.elapsed_business_ms / 60_000,
        target_minutes: target.target_business_ms / 60_000,
    }
}

fn sla_report(state: &ApiState, ticket: &Ticket) -> SlaReport {
    state.tickets.evaluate(
        &ticket.clock,
        ticket.fields.priority,
        &ticket.fields.category,
        now_ms().max(0) as u64,
    )
}

/// The view of a ticket, its SLA evaluated now.
pub fn ticket_view(state: &ApiState, ticket: &Ticket) -> TicketView {
    let report = sla_report(state, ticket);
    TicketView {
        id: ticket.id.0,
        title: ticket.fields.title.clone(),
        description: ticket.fields.description.clone(),
        category: ticket.fields.category.clone(),
        priority: ticket.fields.priority.as_str().to_owned(),
        status: ticket.status.as_str().to_owned(),
        department: ticket.fields.department.clone(),
        assignee: ticket.fields.assignee.clone(),
        customer_id: ticket.fields.customer.map(|c| c.0),
        interaction_id: ticket.fields.interaction,
        created_ms: ticket.created_ms,
        updated_ms: ticket.updated_ms,
        version: ticket.version,
        sla: SlaView {
            policy: ticket.sla_policy.clone(),
            first_response: target_view(&report.first_response),
            resolution: target_view(&report.resolution),
            escalated: ticket.escalated,
        },
        follow_up: ticket.follow_up.as_ref().map(|f| FollowUpView {
            due_ms: f.due_ms,
            state: f.state.clone(),
            outcome: f.outcome.clone(),
        }),
    }
}

fn history_view(entry: TicketHistoryEntry) -> HistoryView {
    HistoryView {
        at_ms: entry.at_ms,
        actor: entry.actor,
        action: entry.action,
        from: entry.from,
        to: entry.to,
        note: entry.note,
    }
}

/// Creates a ticket (from a call: pass its `interaction_id`). With an `Idempotency-Key`
/// header, a retry gets the first answer.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets",
    request_body = TicketInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = TicketView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn create_ticket(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(input, body): ApiJson<TicketInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    idempotent(&state, &caller, &headers, &body, || async {
        let new = NewTicket {
            title: input.title,
            description: input.description,
            category: input.category,
            priority: parse_priority(input.priority.as_deref())?,
            customer: input.customer_id.map(CustomerId),
            interaction: input.interaction_id,
            assignee: input.assignee,
            department: input.department,
        };
        let ticket = state
            .records
            .create_ticket(&new, &state.tickets, now_ms(), &caller.name)
            .await?;
        emit(&state, ticket_event("ticket.created", &ticket)).await;
        Ok((StatusCode::CREATED, ticket_view(&state, &ticket)))
    })
    .await
}

/// Lists tickets, newest first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    params(TicketQuery),
    responses((status = 200, body = TicketPage), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn list_tickets(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<TicketQuery>,
) -> Result<Json<TicketPage>, ApiError> {
    caller.require(Role::Agent)?;
    let status = query
        .status
        .as_deref()
        .map(|text| {
            text.parse::<TicketStatus>()
                .map_err(|e| ApiError::invalid("status", e.to_string()))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(50);
    let tickets = state
        .records
        .tickets(&TicketFilter {
            status,
            assignee: query.assignee,
            department: query.department,
            customer: query.customer_id.map(CustomerId),
            breached: query.breached,
            before_id: query.before,
            limit,
        })
        .await?;
    let next_before = (tickets.len() as u32 == limit)
        .then(|| tickets.last().map(|t| t.id.0))
        .flatten();
    Ok(Json(TicketPage {
        items: tickets.iter().map(|t| ticket_view(&state, t)).collect(),
        next_before,
    }))
}

/// Reads a ticket with its history.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's id")),
    responses((status = 200, body = TicketDetail), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn get_ticket(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<TicketDetail>, ApiError> {
    caller.require(Role::Agent)?;
    let ticket = state
        .records
        .ticket(TicketId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no ticket {id}")))?;
    let history = state
        .records
        .ticket_history(
            TicketId(id),
            hotline_store::ticket_records::MAX_TICKET_HISTORY,
        )
        .await?;
    Ok(Json(TicketDetail {
        ticket: ticket_view(&state, &ticket),
        history: history.into_iter().map(history_view).collect(),
    }))
}

/// Changes a ticket: status (the workflow is checked: 422 naming `status`), assignee,
/// priority, a note. `If-Match: <version>` refuses the change (409) when someone else
/// changed the ticket since.
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets",
    request_body = TicketChangeInput,
    params(("id" = i64, Path, description = "The ticket's id"),
           ("If-Match" = Option<i64>, Header, description = "The version the change is based on")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn change_ticket(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input, _): ApiJson<TicketChangeInput>,
) -> Result<Json<TicketView>, ApiError> {
    caller.require(Role::Agent)?;
    let expected = if_match(&headers, "the ticket's version")?;
    let change = TicketChange {
        status: input
            .status
            .as_deref()
            .map(|text| {
                text.parse::<TicketStatus>()
                    .map_err(|e| ApiError::invalid("status", e.to_string()))
            })
            .transpose()?,
        assignee: input.assignee.map(|a| (!a.trim().is_empty()).then_some(a)),
        priority: input
            .priority
            .as_deref()
            .map(|p| parse_priority(Some(p)))
            .transpose()?,
        note: input.note,
        answered_customer: input.answered_customer,
    };
    let ticket = state
        .records
        .change_ticket(
            TicketId(id),
            &change,
            expected,
            &state.tickets,
            now_ms(),
            &caller.name,
        )
        .await?;
    emit(&state, ticket_event("ticket.changed", &ticket)).await;
    Ok(Json(ticket_view(&state, &ticket)))
}

/// The event-log row of a ticket's creation or change: what the live wall and the webhooks
/// need, no personal data (the description stays in the records).
pub fn ticket_event(kind: &str, ticket: &Ticket) -> NewEvent {
    let mut event = NewEvent::new(ticket.updated_ms, kind).with_data(serde_json::json!({
        "ticket_id": ticket.id.0,
        "status": ticket.status.as_str(),
        "category": ticket.fields.category,
        "priority": ticket.fields.priority.as_str(),
        "department": ticket.fields.department,
        "version": ticket.version,
        "follow_up": ticket.follow_up.as_ref().map(|f| serde_json::json!({
            "due_ms": f.due_ms, "state": f.state, "outcome": f.outcome,
        })),
    }));
    if let Some(assignee) = &ticket.fields.assignee {
        event = event.with_agent(assignee.clone());
    }
    event
}

/// A tracking link to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// How long it works, in hours (720, 30 days, when left out; at most 90 days).
    pub lifetime_hours: Option<u32>,
}

/// A tracking link for the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// The link's id, to revoke it.
    pub id: String,
    /// The page to send the customer (append to the server's public address).
    pub path: String,
    /// The same as JSON.
    pub api_path: String,
    /// When it stops working.
    pub expires_ms: i64,
}

/// Makes a signed, expiring link for the customer to follow the ticket (for SMS or
/// WeChat).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/links", tag = "tickets",
    request_body = LinkInput,
    params(("id" = i64, Path, description = "The ticket's id")),
    responses((status = 201, body = LinkView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn create_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input, _): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<LinkView>), ApiError> {
    caller.require(Role::Agent)?;
    let hours = input.lifetime_hours.unwrap_or(DEFAULT_LINK_LIFETIME_HOURS);
    let link = state
        .records
        .create_ticket_link(
            TicketId(id),
            i64::from(hours) * 3_600_000,
            now_ms(),
            &caller.name,
        )
        .await
        .map_err(|e| match e {
            StoreError::Invalid(mut field) => {
                field.field = "lifetime_hours".into();
                ApiError::from(StoreError::Invalid(field))
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(LinkView {
            id: link.id,
            path: format!("/track/{}", link.token),
            api_path: format!("/api/v1/track/{}", link.token),
            expires_ms: link.expires_ms,
        }),
    ))
}

/// Revokes a tracking link.
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/links/{link_id}", tag = "tickets",
    params(("id" = i64, Path, description = "The ticket's id"),
           ("link_id" = String, Path, description = "The link's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn revoke_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, link_id)): Path<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Agent)?;
    state
        .records
        .revoke_ticket_link(TicketId(id), &link_id, now_ms(), &caller.name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which follow-ups to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpQuery {
    /// Due at or before this instant (Unix milliseconds; now when left out).
    pub due_before: Option<i64>,
    /// How many, 1 to 500 (50 when left out).
    pub limit: Option<u32>,
}

/// Follow-up calls due, earliest first: resolved tickets whose customer should be called.
#[utoipa::path(get, path = "/api/v1/follow-ups", tag = "tickets",
    params(FollowUpQuery),
    responses((status = 200, body = Vec<TicketView>), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn follow_ups(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<FollowUpQuery>,
) -> Result<Json<Vec<TicketView>>, ApiError> {
    caller.require(Role::Agent)?;
    let tickets = state
        .records
        .follow_ups_due(
            query.due_before.unwrap_or_else(now_ms),
            query.limit.unwrap_or(50),
        )
        .await?;
    Ok(Json(
        tickets.iter().map(|t| ticket_view(&state, t)).collect(),
    ))
}

/// How a follow-up call went.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    /// `satisfied`, `unsatisfied`, `unreachable` or the center's own words.
    pub outcome: String,
    /// A note.
    pub note: Option<String>,
}

/// Records a follow-up's outcome (409 when the ticket has none waiting).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/follow-up", tag = "tickets",
    request_body = FollowUpInput,
    params(("id" = i64, Path, description = "The ticket's id")),
    responses((status = 200, body = TicketView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn record_follow_up(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input, _): ApiJson<FollowUpInput>,
) -> Result<Json<TicketView>, ApiError> {
    caller.require(Role::Agent)?;
    let ticket = state
        .records
        .record_follow_up(
            TicketId(id),
            &input.outcome,
            input.note.as_deref(),
            now_ms(),
            &caller.name,
        )
        .await?;
    emit(&state, ticket_event("ticket.follow_up_done", &ticket)).await;
    Ok(Json(ticket_view(&state, &ticket)))
}

/// What the customer sees of a ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingView {
    /// The ticket's number.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Status.
    pub status: String,
    /// The department working on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Created.
    pub created_ms: i64,
    /// Last changed.
    pub updated_ms: i64,
    /// When it should be resolved, if the clock runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution_due_ms: Option<u64>,
    /// The steps: creation and status changes (no notes, no names).
    pub steps: Vec<TrackingStep>,
}

/// One step on the tracking page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingStep {
    /// When.
    pub at_ms: i64,
    /// The status it reached.
    pub status: String,
}

async fn tracking(state: &ApiState, token: &str) -> Result<TrackingView, ApiError> {
    let ticket = state.records.ticket_by_token(token, now_ms()).await?;
    let history = state
        .records
        .ticket_history(ticket.id, hotline_store::ticket_records::MAX_TICKET_HISTORY)
        .await?;
    let report = sla_report(state, &ticket);
    Ok(TrackingView {
        id: ticket.id.0,
        title: ticket.fields.title.clone(),
        status: ticket.status.as_str().to_owned(),
        department: ticket.fields.department.clone(),
        created_ms: ticket.created_ms,
        updated_ms: ticket.updated_ms,
        resolution_due_ms: report.resolution.due_at_ms,
        steps: history
            .into_iter()
            .filter(|h| h.action == "created" || h.action == "status")
            .filter_map(|h| {
                Some(TrackingStep {
                    at_ms: h.at_ms,
                    status: h.to?,
                })
            })
            .collect(),
    })
}

/// The customer's view of a ticket, by tracking token (no key needed).
#[utoipa::path(get, path = "/api/v1/track/{token}", tag = "tickets",
    params(("token" = String, Path, description = "The token of a tracking link")),
    responses((status = 200, body = TrackingView), (status = 404, body = ErrorBody)))]
pub async fn track(
    State(state): State<ApiState>,
    Path(token): Path<String>,
) -> Result<Json<TrackingView>, ApiError> {
    Ok(Json(tracking(&state, &token).await?))
}

/// The status names on the tracking page, Chinese first.
fn status_words(status: &str) -> &'static str {
    match status {
        "new" => "已受理 Received",
        "assigned" => "已分派 Assigned",
        "in_progress" => "处理中 In progress",
        "waiting_on_customer" => "等待您的回复 Waiting for you",
        "resolved" => "已解决 Resolved",
        "closed" => "已关闭 Closed",
        _ => "—",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An instant as `YYYY-MM-DD HH:MM` in the tickets' calendar's time zone (Asia/Shanghai
/// unless configured), for the customer's page.
fn local_time(calendar: &hotline_calendar::Calendar, at_ms: i64) -> String {
    let t = calendar.local_time(at_ms.max(0) as u64);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

/// The customer's tracking page (HTML, Chinese and English), by tracking token.
pub async fn track_page(State(state): State<ApiState>, Path(token): Path<String>) -> Response {
    let view = match tracking(&state, &token).await {
        Ok(view) => view,
        Err(_) => {
            return (
                StatusCode::NOT_FOUND,
                Html(
                    "<!doctype html><meta charset=utf-8><meta name=viewport \
                     content=\"width=device-width\"><title>工单查询</title>\
                     <p>链接已失效或不存在。The link has expired or does not exist.</p>"
                        .to_string(),
                ),
            )
                .into_response();
        }
    };
    let steps: String = view
        .steps
        .iter()
        .map(|s| {
            format!(
                "<li><time>{}</time> {}</li>",
                local_time(state.tickets.calendar(), s.at_ms),
                status_words(&s.status)
            )
        })
        .collect();
    let due = view
        .resolution_due_ms
        .map(|due| {
            format!(
                "<p>预计解决时间 Expected by: {}</p>",
                local_time(state.tickets.calendar(), due as i64)
            )
        })
        .unwrap_or_default();
    Html(format!(
        "<!doctype html><html lang=zh-CN><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width\"><meta name=robots content=noindex>\
         <title>工单 {id} Ticket</title>\
         <h1>工单 Ticket #{id}</h1><p>{title}</p>\
         <p>当前状态 Status: <strong>{status}</strong></p>{due}\
         <ol>{steps}</ol>",
        id = view.id,
        title = escape(&view.title),
        status = status_words(&view.status),
    ))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_shows_times_in_the_calendars_zone_and_escapes_text() {
        // 2026-09-30 09:00 UTC is 17:00 in Shanghai, the default zone.
        let calendar = hotline_calendar::Calendar::always_open();
        assert_eq!(local_time(&calendar, 1_790_758_800_000), "2026-09-30 17:00");
        assert_eq!(local_time(&calendar, 0), "1970-01-01 08:00");
        assert_eq!(escape("<b>&\"</b>"), "&lt;b&gt;&amp;&quot;&lt;/b&gt;");
    }
}
