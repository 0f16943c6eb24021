//! `/api/v1/surveys`: satisfaction answers (CSAT) per call, and their aggregates per agent,
//! queue or day. Each answer is also a `survey.answered` event in the event log, for the
//! live wall and the reports.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use hotline_store::{CsatGroup, CustomerId, NewEvent, NewSurveyAnswer, Role, SurveyAnswer};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::{emit, now_ms, ApiState};

/// China's offset from UTC, the default for grouping by day.
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;

/// A survey answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    /// `ivr`, `link`, `sms`, `wechat` or `app`.
    pub channel: String,
    /// The call rated (agent, queue and customer are taken from it when left out).
    pub contact_id: Option<i64>,
    /// The interaction rated.
    pub interaction_id: Option<i64>,
    /// The customer.
    pub customer_id: Option<i64>,
    /// The agent rated.
    pub agent: Option<String>,
    /// The queue.
    pub queue: Option<String>,
    /// The customer's words.
    pub comment: Option<String>,
}

/// A recorded answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyView {
    /// Its id.
    pub id: i64,
    /// The score.
    pub score: u8,
    /// The channel.
    pub channel: String,
    /// The agent rated, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The queue, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The customer, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
}

/// The `survey.answered` event of a stored answer (from the API or the IVR).
pub(crate) fn answered_event(at_ms: i64, stored: &SurveyAnswer) -> NewEvent {
    let answer = &stored.answer;
    let mut event = NewEvent::new(at_ms, "survey.answered").with_data(serde_json::json!({
        "score": answer.score,
        "channel": answer.channel,
        "survey_id": stored.id,
    }));
    if let Some(contact) = answer.contact_id {
        event = event.with_contact(contact);
    }
    if let Some(agent) = &answer.agent {
        event = event.with_agent(agent.clone());
    }
    if let Some(queue) = &answer.queue {
        event = event.with_queue(queue.clone());
    }
    event
}

/// Records a survey answer (one per call: a second for the same `contact_id` is a 409).
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys",
    request_body = SurveyInput,
    responses((status = 201, body = SurveyView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (the IVR's and the survey page's key).")]
pub async fn add_answer(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(input, _): ApiJson<SurveyInput>,
) -> Result<(StatusCode, Json<SurveyView>), ApiError> {
    caller.require(Role::Agent)?;
    let at_ms = now_ms();
    let stored = state
        .records
        .add_survey_answer(&NewSurveyAnswer {
            at_ms,
            score: input.score,
            channel: input.channel,
            customer: input.customer_id.map(CustomerId),
            interaction: input.interaction_id,
            contact_id: input.contact_id,
            agent: input.agent,
            queue: input.queue,
            comment: input.comment,
        })
        .await?;
    let answer = &stored.answer;
    let event = answered_event(at_ms, &stored);
    emit(&state, event).await;
    Ok((
        StatusCode::CREATED,
        Json(SurveyView {
            id: stored.id,
            score: answer.score,
            channel: answer.channel.clone(),
            agent: answer.agent.clone(),
            queue: answer.queue.clone(),
            customer_id: answer.customer.map(|c| c.0),
        }),
    ))
}

/// Which CSAT figures.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsatQuery {
    /// `agent`, `queue` or `day`.
    pub by: String,
    /// From this instant (Unix milliseconds; 30 days ago when left out).
    pub from_ms: Option<i64>,
    /// Up to this instant, not included (just after now when left out).
    pub to_ms: Option<i64>,
    /// For `by=day`: minutes east of UTC (480, China, when left out).
    pub utc_offset_minutes: Option<i32>,
}

/// One group's CSAT.
#[derive(Debug, Serialize, ToSchema)]
pub struct CsatView {
    /// The agent, queue or day (`YYYY-MM-DD`); empty for answers without one.
    pub key: String,
    /// Answers.
    pub answers: u64,
    /// The mean score, 1 to 5.
    pub average: f64,
    /// The share of 4s and 5s, in percent.
    pub satisfied_percent: f64,
}

/// CSAT per agent, queue or day.
#[utoipa::path(get, path = "/api/v1/surveys/csat", tag = "surveys",
    params(CsatQuery),
    responses((status = 200, body = Vec<CsatView>), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn csat(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<CsatQuery>,
) -> Result<Json<Vec<CsatView>>, ApiError> {
    caller.require(Role::Supervisor)?;
    let group = match query.by.as_str() {
        "agent" => CsatGroup::Agent,
        "queue" => CsatGroup::Queue,
        "day" => CsatGroup::Day,
        other => {
            return Err(ApiError::invalid(
                "by",
                format!("{other:?} is not agent, queue or day"),
            ))
        }
    };
    let offset = query
        .utc_offset_minutes
        .unwrap_or(DEFAULT_UTC_OFFSET_MINUTES);
    if !(-720..=840).contains(&offset) {
        return Err(ApiError::invalid(
            "utc_offset_minutes",
            "must be between -720 and 840",
        ));
    }
    // Up to now inclusive: an answer given this very millisecond counts.
    let to_ms = query.to_ms.unwrap_or_else(|| now_ms() + 1);
    let from_ms = query.from_ms.unwrap_or(to_ms - 30 * 86_400_000);
    let rows = state
        .records
        .csat(
            group,
            from_ms,
            to_ms,
            offset,
            hotline_store::survey_records::MAX_CSAT_GROUPS,
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| CsatView {
                key: r.key,
                answers: r.answers,
                average: r.average,
                satisfied_percent: r.satisfied_percent,
            })
            .collect(),
    ))
}
