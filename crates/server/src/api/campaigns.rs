//! `/api/v1/campaigns`: predictive outbound campaigns (外呼活动). A supervisor creates a
//! campaign for a queue, adds lists of numbers, and runs, pauses or stops it; the dialler
//! ([`crate::outbound`]) dials its numbers before an agent is free, paced so that the
//! answered calls left without an agent for 2 s stay under the campaign's cap (3 % by
//! default) over the rolling 24 hours and 30 days.
//!
//! Each number becomes a callback task of the campaign (channel `campaign`, mode
//! `predictive`) under the same rules as any callback: legal calling hours, the customer's
//! contact hours, attempts, retries, do-not-call checked when added and again before each
//! dial.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_phone::normalize;
use hotline_store::{Campaign, CampaignCounts, CampaignState, CustomerId, NewCampaign, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{ApiJson, Caller};
use super::callbacks::WindowInput;
use super::error::{ApiError, ErrorBody};
use super::{now_ms, ApiState};
use crate::outbound::{CallbackRequest, CampaignLive, Outbound, SubmitError};

/// The most numbers one request adds (the body limit allows about this many); add more in
/// further requests.
pub const MAX_NUMBERS_PER_REQUEST: usize = 5_000;

/// A new campaign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Its name, unique (1 to 64 characters).
    pub name: String,
    /// The routing queue whose agents take its calls; one running campaign per queue.
    pub queue: String,
    /// `model` (the default: learns answer rate, ring, talk and wrap-up times), `vicidial`
    /// (an adaptive dial level, the baseline) or `progressive` (one call per idle agent).
    pub pacer: Option<String>,
    /// The most answered calls left without an agent for 2 s, as a fraction (0.03 when
    /// left out; at most 0.5), over each of the rolling 24 hours and 30 days.
    pub abandon_cap: Option<f64>,
}

/// A campaign, with its numbers' states and its live figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The queue whose agents take its calls.
    pub queue: String,
    /// Its pacer.
    pub pacer: String,
    /// Its abandonment cap.
    pub abandon_cap: f64,
    /// `running`, `paused` or `stopped`.
    pub state: String,
    /// When it was created (Unix milliseconds).
    pub created_ms: i64,
    /// Its numbers by state.
    pub numbers: NumberCounts,
    /// Its calls now and its abandonment over the rolling windows (`null` once stopped).
    pub live: Option<CampaignLive>,
}

/// A campaign's numbers by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumberCounts {
    /// Waiting for their time (or a retry).
    pub pending: u64,
    /// Being dialled.
    pub dialling: u64,
    /// Reached.
    pub done: u64,
    /// Failed for good.
    pub failed: u64,
    /// Cancelled (do-not-call, the campaign stopped).
    pub cancelled: u64,
}

impl From<CampaignCounts> for NumberCounts {
    fn from(c: CampaignCounts) -> NumberCounts {
        NumberCounts {
            pending: c.pending,
            dialling: c.dialling,
            done: c.done,
            failed: c.failed,
            cancelled: c.cancelled,
        }
    }
}

/// A change of state.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignChange {
    /// `running`, `paused` or `stopped` (for good: its waiting numbers are cancelled).
    pub state: String,
}

/// Numbers to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumbersInput {
    /// The numbers (at most 5,000 per request).
    pub numbers: Vec<NumberInput>,
    /// What the agent sees as the call's reason; the campaign's name when left out.
    pub reason: Option<String>,
    /// When to call; from now for the next days (`[dialer] asap_horizon`) when left out.
    pub window: Option<WindowInput>,
}

/// One number of a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberInput {
    /// The number (any Chinese form, or E.164); the customer's first number when left out.
    pub number: Option<String>,
    /// The customer, by hotline's id (their do-not-call, contact hours and level apply).
    pub customer_id: Option<i64>,
    /// The CRM's data for the screen pop (at most 16 KiB of JSON).
    pub payload: Option<serde_json::Value>,
}

/// What a list came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct NumbersAdded {
    /// Numbers stored as tasks of the campaign.
    pub accepted: u64,
    /// Numbers left out, and why.
    pub skipped: Vec<SkippedNumber>,
}

/// A number left out.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedNumber {
    /// Its index in `numbers`.
    pub index: usize,
    /// The field at fault (`numbers[3].number`).
    pub field: String,
    /// Why.
    pub message: String,
}

fn outbound(state: &ApiState) -> Result<&Outbound, ApiError> {
    state
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::unavailable("the dialer is not running"))
}

fn submit_error(error: SubmitError) -> ApiError {
    match error {
        SubmitError::Invalid(field, message) => ApiError::invalid(field, message),
        SubmitError::Duplicate(message) => ApiError::conflict(message),
        SubmitError::Store(error) => ApiError::from(error),
        SubmitError::Busy => ApiError::unavailable("the dialer is busy; try again"),
    }
}

async fn view(state: &ApiState, campaign: Campaign) -> Result<CampaignView, ApiError> {
    let numbers = state
        .records
        .campaign_task_counts(campaign.id)
        .await?
        .into();
    let live = match &state.outbound {
        Some(outbound) => outbound
            .campaigns()
            .await
            .map_err(submit_error)?
            .into_iter()
            .find(|l| l.id == campaign.id),
        None => None,
    };
    Ok(CampaignView {
        id: campaign.id,
        name: campaign.fields.name,
        queue: campaign.fields.queue,
        pacer: campaign.fields.pacer,
        abandon_cap: campaign.fields.abandon_cap,
        state: campaign.state.as_str().into(),
        created_ms: campaign.created_ms,
        numbers,
        live,
    })
}

/// Creates a campaign, running, with no numbers yet.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns",
    request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn create_campaign(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(input, _): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    caller.require(Role::Supervisor)?;
    let campaign = NewCampaign {
        name: input.name,
        queue: input.queue,
        pacer: input.pacer.unwrap_or_else(|| "model".into()),
        abandon_cap: input
            .abandon_cap
            .unwrap_or(hotline_dialer::pacing::DEFAULT_ABANDON_CAP),
    };
    campaign
        .validate()
        .map_err(|e| ApiError::invalid(e.field, e.problem))?;
    let created = outbound(&state)?
        .create_campaign(campaign, &caller.name)
        .await
        .map_err(submit_error)?;
    Ok((StatusCode::CREATED, Json(view(&state, created).await?)))
}

/// The campaigns, oldest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<CampaignView>)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn list_campaigns(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<CampaignView>>, ApiError> {
    caller.require(Role::Supervisor)?;
    let mut views = Vec::new();
    for campaign in state.records.campaigns().await? {
        views.push(view(&state, campaign).await?);
    }
    Ok(Json(views))
}

async fn campaign_or_404(state: &ApiState, id: i64) -> Result<Campaign, ApiError> {
    state
        .records
        .campaign(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no campaign {id}")))
}

/// One campaign.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn get_campaign(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Role::Supervisor)?;
    let campaign = campaign_or_404(&state, id).await?;
    Ok(Json(view(&state, campaign).await?))
}

/// Runs, pauses or stops a campaign. Pausing places no more calls (those under way end);
/// stopping is for good and cancels its waiting numbers.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    request_body = CampaignChange,
    responses((status = 200, body = CampaignView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn change_campaign(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input, _): ApiJson<CampaignChange>,
) -> Result<Json<CampaignView>, ApiError> {
    caller.require(Role::Supervisor)?;
    let to = CampaignState::parse(&input.state).ok_or_else(|| {
        ApiError::invalid(
            "state",
            format!("{:?} is not running, paused or stopped", input.state),
        )
    })?;
    let campaign = outbound(&state)?
        .set_campaign_state(id, to, &caller.name)
        .await
        .map_err(submit_error)?
        .ok_or_else(|| ApiError::not_found(format!("no campaign {id}")))?;
    Ok(Json(view(&state, campaign).await?))
}

/// Adds numbers to a campaign. Each number is checked (format, the customer's do-not-call,
/// one waiting task per number and campaign); those that fail are listed as skipped, the
/// others stored together before the answer.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/numbers", tag = "campaigns",
    params(("id" = i64, Path, description = "The campaign's id")),
    request_body = NumbersInput,
    responses((status = 200, body = NumbersAdded), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn add_numbers(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(input, _): ApiJson<NumbersInput>,
) -> Result<Json<NumbersAdded>, ApiError> {
    caller.require(Role::Supervisor)?;
    let campaign = campaign_or_404(&state, id).await?;
    if campaign.state == CampaignState::Stopped {
        return Err(ApiError::conflict(format!("campaign {id} is stopped")));
    }
    if input.numbers.is_empty() || input.numbers.len() > MAX_NUMBERS_PER_REQUEST {
        return Err(ApiError::invalid(
            "numbers",
            format!("1 to {MAX_NUMBERS_PER_REQUEST} numbers per request"),
        ));
    }
    let window = match input.window {
        Some(w) if w.end_ms <= w.start_ms => {
            return Err(ApiError::invalid(
                "window.end_ms",
                "must come after window.start_ms",
            ))
        }
        Some(w) => Some((w.start_ms, w.end_ms)),
        None => None,
    };
    let reason = input.reason.unwrap_or_else(|| campaign.fields.name.clone());
    let mut requests = Vec::with_capacity(input.numbers.len());
    // The index in `numbers` of each request, and the numbers left out here.
    let mut indexes = Vec::with_capacity(input.numbers.len());
    let mut skipped = Vec::new();
    for (index, entry) in input.numbers.into_iter().enumerate() {
        match resolve(&state, index, entry, &reason).await {
            Ok(mut request) => {
                request.window = window;
                indexes.push(index);
                requests.push(request);
            }
            Err((field, message)) => skipped.push(SkippedNumber {
                index,
                field,
                message,
            }),
        }
    }
    let mut accepted = 0;
    if !requests.is_empty() {
        let added = outbound(&state)?
            .add_numbers(id, requests, &caller.name)
            .await
            .map_err(submit_error)?;
        accepted = added.accepted;
        skipped.extend(added.skipped.into_iter().map(|(i, message)| {
            let index = indexes[i];
            SkippedNumber {
                index,
                field: format!("numbers[{index}]"),
                message,
            }
        }));
        skipped.sort_by_key(|s| s.index);
    }
    Ok(Json(NumbersAdded { accepted, skipped }))
}

/// One entry of a list as a request of the campaign, or the field at fault and why.
async fn resolve(
    state: &ApiState,
    index: usize,
    entry: NumberInput,
    reason: &str,
) -> Result<CallbackRequest, (String, String)> {
    let field = |name: &str| format!("numbers[{index}].{name}");
    let number = entry
        .number
        .as_deref()
        .map(|text| normalize(text, &state.number_context))
        .transpose()
        .map_err(|e| (field("number"), e.to_string()))?;
    let customer = match (entry.customer_id, &number) {
        (Some(id), _) => Some(
            state
                .records
                .customer(CustomerId(id))
                .await
                .map_err(|e| (field("customer_id"), e.to_string()))?
                .ok_or_else(|| (field("customer_id"), format!("no customer {id}")))?,
        ),
        // A number the records know is that customer's: their do-not-call applies.
        (None, Some(number)) => {
            let ids = state
                .records
                .customers_with_number(number, 1)
                .await
                .map_err(|e| (field("number"), e.to_string()))?;
            match ids.first() {
                Some(&id) => state
                    .records
                    .customer(id)
                    .await
                    .map_err(|e| (field("number"), e.to_string()))?,
                None => None,
            }
        }
        (None, None) => {
            return Err((
                field("number"),
                "give the number, or the customer by customer_id".into(),
            ))
        }
    };
    let mut request = match (&customer, number) {
        (Some(customer), number) => {
            CallbackRequest::for_customer(customer, "campaign", reason, number, now_ms())
                .map_err(|(name, message)| (field(&name), message))?
        }
        (None, Some(number)) => CallbackRequest::for_number(number, "campaign", reason, now_ms()),
        (None, None) => return Err((field("number"), "no such number".into())),
    };
    request.task.payload = entry.payload;
    Ok(request)
}
