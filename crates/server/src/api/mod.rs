//! The REST API under `/api/v1`, JSON, described by the OpenAPI document at
//! `/api/openapi.json` (built from the same handlers, so the two cannot drift apart).
//!
//! Every route needs an API key (`Authorization: Bearer hl_…`, made with `hotline apikey
//! create`); each checks the key's role (agent < supervisor < admin). Every error is a JSON
//! body naming the field and the problem ([`error::ApiError`]): 400 unreadable, 401, 403,
//! 404, 409 conflicts, 413 bodies over [`auth::MAX_BODY_BYTES`], 422 validation, 429 over
//! the rate limit. POSTs honour an `Idempotency-Key` header; lists are paged.

pub mod admin;
pub mod agents;
pub mod auth;
pub mod callbacks;
pub mod campaigns;
pub mod customers;
pub mod error;
pub mod knowledge;
pub mod recordings;
pub mod surveys;
pub mod tickets;
pub mod users;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hotline_phone::NumberContext;
use hotline_store::{EventWriter, IdempotentAnswer, NewEvent, Records};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::customer_link::PopHub;
use crate::knowledge::Knowledge;
use auth::{Caller, RateLimiter, MAX_BODY_BYTES};
use error::ApiError;
use hotline_tickets::TicketRules;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    /// The records.
    pub records: Records,
    /// How numbers without a country or area code are read.
    pub number_context: Arc<NumberContext>,
    /// The per-key rate limit.
    pub limiter: Arc<RateLimiter>,
    /// Serialises requests that carry an idempotency key, so that two copies of one request
    /// racing each other still do the work once.
    pub idempotency: Arc<tokio::sync::Mutex<()>>,
    /// Screen pops for agents' desktops, from the switch's link task.
    pub pops: PopHub,
    /// The tickets' SLA policies, departments and follow-ups (`[tickets]`).
    pub tickets: Arc<TicketRules>,
    /// The knowledge base's search index.
    pub knowledge: Arc<Knowledge>,
    /// The event log, for ticket and survey events (none in tests of the API alone).
    pub events: Option<EventWriter>,
    /// The switch's link task, told who a caller is (none without a switch).
    pub link: Option<tokio::sync::mpsc::WeakSender<crate::customer_link::LinkEvent>>,
    /// The event log, for reading (a new webhook starts after its last event).
    pub log: Option<hotline_store::SqliteEventLog>,
    /// Where the switch keeps call recordings (none: no recordings to serve).
    pub recordings: Option<std::path::PathBuf>,
    /// The outbound task that takes callback requests (none: `/callbacks` answers 503).
    pub outbound: Option<crate::outbound::Outbound>,
    /// The outbound figures, projected from the event log (none: `/metrics/outbound` answers
    /// 503).
    pub outbound_metrics: Option<crate::outbound_metrics::OutboundMetrics>,
    /// The supervisors' wall, projected from the event log (none: `/metrics/wall` answers
    /// 503), and the calendar whose time zone says where "today" starts.
    pub wall: Option<(crate::wall::WallMetrics, Arc<hotline_calendar::Calendar>)>,
    /// The switch, for the agents' states (the desktop); `None` without one.
    pub switch: Option<crate::runtime::SwitchControl>,
    /// The wall's alert limits (`[wall]`).
    pub alert_rules: Arc<crate::alerts::AlertRules>,
    /// Reloads the configuration file (a center started from one).
    pub reload: Option<Arc<crate::reload::Reloader>>,
    /// The wrap-up's outcomes (`[wrap_up]`), which a reload changes.
    pub dispositions: crate::wrap_up::Dispositions,
}

impl ApiState {
    /// The state for `records`, with Chinese numbering and no area code.
    pub fn new(records: Records) -> ApiState {
        ApiState {
            records,
            number_context: Arc::new(NumberContext::default()),
            limiter: Arc::new(RateLimiter::default()),
            idempotency: Arc::new(tokio::sync::Mutex::new(())),
            pops: PopHub::new(),
            tickets: Arc::new(TicketRules::default()),
            knowledge: Arc::new(Knowledge::empty().expect("an empty in-memory index opens")),
            events: None,
            link: None,
            log: None,
            recordings: None,
            outbound: None,
            outbound_metrics: None,
            wall: None,
            switch: None,
            alert_rules: Arc::new(crate::alerts::AlertRules::default()),
            reload: None,
            dispositions: crate::wrap_up::Dispositions::default(),
        }
    }
}

/// The OpenAPI document's frame; the paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "hotline", description = "The contact center's REST API: customers, interactions, the screen pop."),
    modifiers(&SecurityAddon)
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key made with `hotline apikey create`"))
                    .build(),
            ),
        );
    }
}

/// The routes and their OpenAPI document.
pub fn router_and_doc(state: ApiState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            customers::list_customers,
            customers::create_customer
        ))
        .routes(routes!(
            customers::get_customer,
            customers::update_customer,
            customers::delete_customer
        ))
        .routes(routes!(customers::upsert_customer))
        .routes(routes!(
            customers::list_interactions,
            customers::add_interaction
        ))
        .routes(routes!(customers::screen_pop))
        .routes(routes!(customers::identify_caller))
        .routes(routes!(customers::wrap_up_contact))
        .routes(routes!(agents::agent_pops))
        .routes(routes!(agents::agent_state, agents::set_agent_state))
        .routes(routes!(agents::agent_today))
        .routes(routes!(tickets::create_ticket, tickets::list_tickets))
        .routes(routes!(tickets::get_ticket, tickets::change_ticket))
        .routes(routes!(tickets::create_link))
        .routes(routes!(tickets::revoke_link))
        .routes(routes!(tickets::follow_ups))
        .routes(routes!(tickets::record_follow_up))
        .routes(routes!(tickets::track))
        .routes(routes!(knowledge::create_article))
        .routes(routes!(knowledge::get_article, knowledge::update_article))
        .routes(routes!(knowledge::article_versions))
        .routes(routes!(knowledge::search))
        .routes(routes!(knowledge::quick_replies))
        .routes(routes!(
            callbacks::create_callback,
            callbacks::list_callbacks
        ))
        .routes(routes!(callbacks::get_callback, callbacks::cancel_callback))
        .routes(routes!(callbacks::outbound_metrics))
        .routes(routes!(callbacks::wall))
        .routes(routes!(callbacks::wall_stream))
        .routes(routes!(callbacks::wall_history))
        .routes(routes!(callbacks::preview_callbacks))
        .routes(routes!(callbacks::dial_callback))
        .routes(routes!(
            campaigns::create_campaign,
            campaigns::list_campaigns
        ))
        .routes(routes!(campaigns::get_campaign, campaigns::change_campaign))
        .routes(routes!(campaigns::add_numbers))
        .routes(routes!(recordings::get_recording))
        .routes(routes!(surveys::add_answer))
        .routes(routes!(surveys::create_survey_link))
        .routes(routes!(surveys::csat))
        .routes(routes!(customers::dispositions))
        .routes(routes!(admin::reload))
        .routes(routes!(admin::config))
        .routes(routes!(admin::set_agent))
        .routes(routes!(admin::set_queue))
        .routes(routes!(admin::set_calendar))
        .routes(routes!(admin::add_agent))
        .routes(routes!(admin::add_queue))
        .routes(routes!(admin::add_skill))
        .routes(routes!(admin::set_phone, admin::remove_phone))
        .routes(routes!(admin::set_number, admin::remove_number))
        .routes(routes!(users::login))
        .routes(routes!(users::logout))
        .routes(routes!(users::me))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::change_user))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::delete_webhook, webhooks::change_webhook))
        .routes(routes!(webhooks::retry_delivery))
        .routes(routes!(webhooks::retry_failed))
        .routes(routes!(webhooks::deliveries))
        .with_state(state)
        .split_for_parts();
    (router, doc)
}

/// The API as one router: the routes, `/api/openapi.json`, the body limit, and JSON 404s.
pub fn router(state: ApiState) -> Router {
    let (routes, doc) = router_and_doc(state.clone());
    let track_page = Router::new()
        .route("/track/{token}", get(tickets::track_page))
        .route(
            "/survey/{token}",
            get(surveys::survey_page).post(surveys::survey_answer),
        )
        .with_state(state);
    let doc = Arc::new(doc);
    routes
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .merge(track_page)
        .merge(crate::web::router())
        .fallback(|uri: axum::http::Uri| async move {
            ApiError::not_found(format!("no route {}", uri.path()))
        })
        .method_not_allowed_fallback(|| async { ApiError::new_method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The `If-Match` header as a record version, if sent; `what` names it in the error.
pub fn if_match(headers: &HeaderMap, what: &str) -> Result<Option<i64>, ApiError> {
    headers
        .get(axum::http::header::IF_MATCH)
        .map(|value| {
            value
                .to_str()
                .ok()
                .map(|v| v.trim().trim_matches('"'))
                .and_then(|v| v.parse::<i64>().ok())
                .ok_or_else(|| ApiError::invalid("If-Match", format!("must be {what}, a number")))
        })
        .transpose()
}

/// Appends an event to the event log after the record it reports has committed; the record
/// is what was accepted, so a failed append (the log full or closed) loses only the
/// notification, never the record.
pub async fn emit(state: &ApiState, event: NewEvent) {
    if let Some(events) = &state.events {
        let _ = events.append(event).await;
    }
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs `work` once per `(caller, Idempotency-Key)`: a retry with the same body gets the
/// stored answer, one with another body a 409. Without the header, `work` simply runs.
pub async fn idempotent<T, F, Fut>(
    state: &ApiState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Bytes,
    work: F,
) -> Result<Response, ApiError>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
{
    let Some(key) = headers.get("idempotency-key") else {
        let (status, value) = work().await?;
        return Ok((status, Json(value)).into_response());
    };
    let key = key
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?
        .to_string();
    let request_hash = Sha256::digest(body).to_vec();
    let _serial = state.idempotency.lock().await;
    if let Some(answer) = state.records.idempotent_answer(&caller.name, &key).await? {
        if answer.request_hash != request_hash {
            return Err(ApiError::conflict(
                "this Idempotency-Key was used with a different body",
            ));
        }
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
        return Ok((
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            answer.body,
        )
            .into_response());
    }
    let (status, value) = work().await?;
    let body = serde_json::to_string(&value)
        .map_err(|e| ApiError::internal(format!("encode the answer: {e}")))?;
    state
        .records
        .store_idempotent_answer(
            &caller.name,
            &key,
            &IdempotentAnswer {
                request_hash,
                status: status.as_u16(),
                body: body.clone(),
            },
            now_ms(),
        )
        .await?;
    Ok((
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}
