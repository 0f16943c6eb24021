//! `/api/v1/webhooks`: where the center's events go (admins), and each webhook's delivery
//! log. The dispatcher is [`crate::webhooks`]; the signature is described there.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_store::{Delivery, EventLog, Role, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::{now_ms, ApiState};

/// A webhook to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// Where to POST (https:// in production).
    pub url: String,
    /// Event kinds (`ticket.overdue`) or prefixes ending in `.` (`ticket.`); every event
    /// when left out.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// A webhook.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: i64,
    /// Where events go.
    pub url: String,
    /// What goes there (empty: everything).
    pub kinds: Vec<String>,
    /// Delivered to (false: paused).
    pub active: bool,
    /// The signing secret: only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn webhook_view(webhook: Webhook, secret: Option<String>) -> WebhookView {
    WebhookView {
        id: webhook.id,
        url: webhook.url,
        kinds: webhook.kinds,
        active: webhook.active,
        secret,
    }
}

/// Adds a webhook for the events from now on; the answer holds its secret, once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    request_body = WebhookInput,
    responses((status = 201, body = WebhookView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn create_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(input, _): ApiJson<WebhookInput>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    caller.require(Role::Admin)?;
    let after = match &state.log {
        Some(log) => log.last_seq().await?,
        None => 0,
    };
    let (webhook, secret) = state
        .records
        .create_webhook(&input.url, &input.kinds, after, now_ms(), &caller.name)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(webhook_view(webhook, Some(secret))),
    ))
}

/// The webhooks, paused ones too.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookView>)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn list_webhooks(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    caller.require(Role::Admin)?;
    let webhooks = state.records.all_webhooks().await?;
    Ok(Json(
        webhooks
            .into_iter()
            .map(|w| webhook_view(w, None))
            .collect(),
    ))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn delete_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    if state
        .records
        .delete_webhook(id, now_ms(), &caller.name)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no webhook {id}")))
    }
}

/// One delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id (`X-Hotline-Delivery`).
    pub id: i64,
    /// The event's seq in the event log.
    pub event_seq: i64,
    /// The event's kind.
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The last HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// The last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_ms: Option<i64>,
}

fn delivery_view(d: Delivery) -> DeliveryView {
    DeliveryView {
        id: d.id,
        event_seq: d.event_seq,
        kind: d.kind,
        state: d.state,
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        delivered_ms: d.delivered_ms,
    }
}

/// A webhook's delivery log, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 200, body = Vec<DeliveryView>)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn deliveries(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    caller.require(Role::Admin)?;
    let log = state.records.deliveries(id, 100).await?;
    Ok(Json(log.into_iter().map(delivery_view).collect()))
}

/// A change to a webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    /// `false` pauses it (events wait; nothing is lost), `true` resumes it.
    pub active: bool,
}

/// Pauses or resumes a webhook. A paused webhook's events are delivered after it resumes.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    request_body = WebhookChange,
    responses((status = 200, body = WebhookView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn change_webhook(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(change, _): ApiJson<WebhookChange>,
) -> Result<Json<WebhookView>, ApiError> {
    caller.require(Role::Admin)?;
    if !state
        .records
        .set_webhook_active(id, change.active, now_ms(), &caller.name)
        .await?
    {
        return Err(ApiError::not_found(format!("no webhook {id}")));
    }
    let webhook = state
        .records
        .all_webhooks()
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no webhook {id}")))?;
    Ok(Json(webhook_view(webhook, None)))
}

/// How many deliveries a retry made pending again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryView {
    /// Deliveries due again now, each with a fresh set of attempts.
    pub retried: u64,
}

/// Tries a failed delivery again now, with a fresh set of attempts (404 when the webhook has
/// no failed delivery of that id).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id"),
           ("delivery_id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, body = RetryView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn retry_delivery(
    State(state): State<ApiState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(i64, i64)>,
) -> Result<Json<RetryView>, ApiError> {
    caller.require(Role::Admin)?;
    let retried = state
        .records
        .retry_deliveries(id, Some(delivery_id), now_ms(), &caller.name)
        .await?;
    if retried == 0 {
        return Err(ApiError::not_found(format!(
            "webhook {id} has no failed delivery {delivery_id}"
        )));
    }
    Ok(Json(RetryView { retried }))
}

/// Tries every failed delivery of a webhook again now (after the receiver was fixed).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/retry-failed", tag = "webhooks",
    params(("id" = i64, Path, description = "The webhook's id")),
    responses((status = 200, body = RetryView)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn retry_failed(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<RetryView>, ApiError> {
    caller.require(Role::Admin)?;
    let retried = state
        .records
        .retry_deliveries(id, None, now_ms(), &caller.name)
        .await?;
    Ok(Json(RetryView { retried }))
}
