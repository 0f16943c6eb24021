//! `/api/v1/surveys`: satisfaction answers (CSAT) per call, and their aggregates per agent,
//! queue or day. Each answer is also a `survey.answered` event in the event log, for the
//! live wall and the reports.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
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

/// How long a survey link is good for.
pub const SURVEY_LINK_DAYS: i64 = 7;
/// The longest comment the survey page takes.
pub const MAX_PAGE_COMMENT_CHARS: usize = 1_000;

/// A survey link for a customer (SMS, WeChat).
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyLinkView {
    /// The page's path on this server (`/survey/…`); the token in it is the permission.
    pub path: String,
    /// When the link stops working (Unix milliseconds).
    pub expires_ms: i64,
}

/// Makes a signed link to the survey page of a call, good for [`SURVEY_LINK_DAYS`] days.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/survey-link", tag = "surveys",
    params(("contact_id" = i64, Path, description = "The call's contact id")),
    responses((status = 201, body = SurveyLinkView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (the SMS or WeChat integration's key).")]
pub async fn create_survey_link(
    State(state): State<ApiState>,
    caller: Caller,
    Path(contact_id): Path<i64>,
) -> Result<(StatusCode, Json<SurveyLinkView>), ApiError> {
    caller.require(Role::Agent)?;
    if !state.records.contact_has_interaction(contact_id).await? {
        return Err(ApiError::not_found(format!(
            "no call with contact id {contact_id}"
        )));
    }
    let expires_ms = now_ms() + SURVEY_LINK_DAYS * 86_400_000;
    let token = state.records.survey_token(contact_id, expires_ms);
    Ok((
        StatusCode::CREATED,
        Json(SurveyLinkView {
            path: format!("/survey/{token}"),
            expires_ms,
        }),
    ))
}

/// The survey page's head: Chinese first, English beside it, readable on a phone.
const PAGE_HEAD: &str = "<!doctype html><html lang=zh-CN><meta charset=utf-8>\
    <meta name=viewport content=\"width=device-width\"><meta name=robots content=noindex>\
    <title>满意度调查 Satisfaction survey</title>\
    <style>body{font-family:sans-serif;max-width:30em;margin:2em auto;padding:0 1em}\
    button{font-size:1.2em;margin:.2em;padding:.4em .8em}textarea{width:100%}</style>";

fn page(status: StatusCode, body: &str) -> Response {
    (status, Html(format!("{PAGE_HEAD}{body}"))).into_response()
}

fn gone() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "<p>链接已失效或不存在。The link has expired or does not exist.</p>",
    )
}

/// The customer's survey page (HTML, Chinese and English), by survey token: five buttons and
/// an optional comment.
pub async fn survey_page(State(state): State<ApiState>, Path(token): Path<String>) -> Response {
    if state.records.survey_contact(&token, now_ms()).is_err() {
        return gone();
    }
    let buttons: String = [
        (5, "非常满意 Very satisfied"),
        (4, "满意 Satisfied"),
        (3, "一般 Neutral"),
        (2, "不满意 Dissatisfied"),
        (1, "非常不满意 Very dissatisfied"),
    ]
    .iter()
    .map(|(score, words)| {
        format!("<button name=score value={score} type=submit>{score} · {words}</button><br>")
    })
    .collect();
    page(
        StatusCode::OK,
        &format!(
            "<h1>请为本次服务评分 How did we do?</h1>\
             <form method=post>\
             <label for=comment>留言（可选） Comment (optional)</label><br>\
             <textarea id=comment name=comment maxlength={MAX_PAGE_COMMENT_CHARS} rows=3>\
             </textarea><br>{buttons}</form>"
        ),
    )
}

/// What the survey page posts.
#[derive(Debug, Deserialize)]
pub struct SurveyForm {
    /// 1 to 5.
    pub score: String,
    /// Optional words.
    #[serde(default)]
    pub comment: String,
}

/// Takes the survey page's answer (form post), stores it against the call and logs
/// `survey.answered`; a second answer for the call is refused kindly.
pub async fn survey_answer(
    State(state): State<ApiState>,
    Path(token): Path<String>,
    Form(form): Form<SurveyForm>,
) -> Response {
    let at_ms = now_ms();
    let Ok(contact_id) = state.records.survey_contact(&token, at_ms) else {
        return gone();
    };
    let Some(score) = form
        .score
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|s| (1..=5).contains(s))
    else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "<p>请选择1到5分。Please choose a score from 1 to 5.</p>",
        );
    };
    let comment = form.comment.trim();
    if comment.chars().count() > MAX_PAGE_COMMENT_CHARS {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "<p>留言太长。The comment is too long.</p>",
        );
    }
    let stored = state
        .records
        .add_survey_answer(&NewSurveyAnswer {
            at_ms,
            score,
            channel: "link".into(),
            customer: None,
            interaction: None,
            contact_id: Some(contact_id),
            agent: None,
            queue: None,
            comment: (!comment.is_empty()).then(|| comment.to_string()),
        })
        .await;
    match stored {
        Ok(stored) => {
            emit(&state, answered_event(at_ms, &stored)).await;
            page(
                StatusCode::OK,
                "<p>感谢您的评价！Thank you for your feedback!</p>",
            )
        }
        Err(hotline_store::StoreError::Conflict(_)) => page(
            StatusCode::CONFLICT,
            "<p>您已评价过本次服务，谢谢。You have already rated this call. Thank you.</p>",
        ),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "<p>暂时无法保存，请稍后再试。We could not save your answer; please try again later.</p>",
        ),
    }
}
