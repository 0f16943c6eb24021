//! `/api/v1/customers…` and `/api/v1/screen-pop`: the customer records and who is calling.
//!
//! Phone numbers are masked (`138****8000`) in every answer unless the request asks
//! `reveal=true` and the caller's role is supervisor or admin; each customer shown unmasked is
//! written to the audit log before the answer leaves.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hotline_phone::{normalize, PhoneNumber};
use hotline_store::{
    Customer, CustomerCard, CustomerFields, CustomerId, Interaction, InteractionKind,
    NewInteraction, Phone, Preferences, Role,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::{idempotent, if_match, now_ms, ApiState};

/// The role that may see full phone numbers (audited).
pub const REVEAL_ROLE: Role = Role::Supervisor;

/// A customer as the API takes it (create, replace, upsert).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The customer's id in the company's CRM (unique).
    pub external_id: Option<String>,
    /// The name.
    pub name: Option<String>,
    /// Phone numbers in any usual form (`138 0013 8000`, `+86 10 6552 9988 转 8001`).
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    /// Membership level, `standard` when left out.
    pub level: Option<String>,
    /// Value score (0 when left out).
    pub value_score: Option<u32>,
    /// Need tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Preferences.
    #[serde(default)]
    pub preferences: PreferencesBody,
    /// Agreed to be contacted (false when left out).
    pub consent: Option<bool>,
    /// Never call (false when left out).
    pub do_not_call: Option<bool>,
}

/// A phone number as given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    /// The number, in any usual form.
    pub number: String,
    /// "mobile", "office", "家里".
    pub label: Option<String>,
}

/// A customer's preferences.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesBody {
    /// `zh-CN` or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Straight to a human (elderly callers).
    #[serde(default)]
    pub prefer_human: bool,
    /// The agent who looks after this customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated_agent: Option<String>,
    /// IANA time zone of the contact hours; Asia/Shanghai when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When the customer may be called, per weekday (`mon`…`sun`): `"19:00-21:00"`,
    /// `"09:00-12:00,14:00-18:00"`, `"closed"`. Any time when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_hours: Option<BTreeMap<String, String>>,
    /// How the customer likes to be served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl PreferencesBody {
    fn into_preferences(self) -> Result<Preferences, ApiError> {
        let contact_hours = match self.contact_hours {
            None => None,
            Some(days) => {
                let mut weekly = hotline_calendar::WeeklySpec::default();
                for (day, hours) in days {
                    let slot = match day.as_str() {
                        "mon" => &mut weekly.mon,
                        "tue" => &mut weekly.tue,
                        "wed" => &mut weekly.wed,
                        "thu" => &mut weekly.thu,
                        "fri" => &mut weekly.fri,
                        "sat" => &mut weekly.sat,
                        "sun" => &mut weekly.sun,
                        _ => {
                            return Err(ApiError::invalid(
                                format!("preferences.contact_hours.{day}"),
                                format!("not a weekday; use {}", WEEKDAYS.join(", ")),
                            ))
                        }
                    };
                    *slot = Some(hours);
                }
                Some(weekly)
            }
        };
        Ok(Preferences {
            language: self.language,
            prefer_human: self.prefer_human,
            dedicated_agent: self.dedicated_agent,
            time_zone: self.time_zone,
            contact_hours,
            style: self.style,
        })
    }

    fn from_preferences(preferences: &Preferences) -> PreferencesBody {
        let contact_hours = preferences.contact_hours.as_ref().map(|weekly| {
            [
                ("mon", &weekly.mon),
                ("tue", &weekly.tue),
                ("wed", &weekly.wed),
                ("thu", &weekly.thu),
                ("fri", &weekly.fri),
                ("sat", &weekly.sat),
                ("sun", &weekly.sun),
            ]
            .into_iter()
            .filter_map(|(day, hours)| hours.clone().map(|h| (day.to_string(), h)))
            .collect()
        });
        PreferencesBody {
            language: preferences.language.clone(),
            prefer_human: preferences.prefer_human,
            dedicated_agent: preferences.dedicated_agent.clone(),
            time_zone: preferences.time_zone.clone(),
            contact_hours,
            style: preferences.style.clone(),
        }
    }
}

/// Parses a number as the API takes it, naming the field on failure.
pub fn parse_number(state: &ApiState, field: &str, text: &str) -> Result<PhoneNumber, ApiError> {
    normalize(text, &state.number_context).map_err(|e| ApiError::invalid(field, e.to_string()))
}

impl CustomerInput {
    fn into_fields(self, state: &ApiState) -> Result<CustomerFields, ApiError> {
        let mut phones = Vec::with_capacity(self.phones.len());
        for (i, phone) in self.phones.into_iter().enumerate() {
            phones.push(Phone {
                number: parse_number(state, &format!("phones[{i}].number"), &phone.number)?,
                label: phone.label,
            });
        }
        let fields = CustomerFields {
            external_id: self.external_id,
            name: self.name,
            phones,
            level: self
                .level
                .unwrap_or_else(|| hotline_store::records::DEFAULT_LEVEL.into()),
            value_score: self.value_score.unwrap_or(0),
            tags: self.tags,
            preferences: self.preferences.into_preferences()?,
            consent: self.consent.unwrap_or(false),
            do_not_call: self.do_not_call.unwrap_or(false),
        };
        fields
            .validate()
            .map_err(|e| ApiError::invalid(e.field, e.problem))?;
        Ok(fields)
    }
}

/// A phone number as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneView {
    /// E.164 (`+8613800138000`), or masked (`138****8000`) unless revealed.
    pub number: String,
    /// The extension, if any (masked numbers keep it: it is not personal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// mobile, landline, toll_free, service, international.
    pub kind: String,
    /// The label given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether `number` is masked.
    pub masked: bool,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// The id.
    pub id: i64,
    /// The CRM's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone numbers, masked unless revealed.
    pub phones: Vec<PhoneView>,
    /// Membership level.
    pub level: String,
    /// Value score.
    pub value_score: u32,
    /// Need tags.
    pub tags: Vec<String>,
    /// Preferences.
    pub preferences: PreferencesBody,
    /// Agreed to be contacted.
    pub consent: bool,
    /// Never call.
    pub do_not_call: bool,
    /// Created, Unix milliseconds.
    pub created_ms: i64,
    /// Last changed, Unix milliseconds.
    pub updated_ms: i64,
    /// Bumped by every change; send it back in If-Match to update safely.
    pub version: i64,
}

/// The kind's name in the API.
pub fn kind_name(number: &PhoneNumber) -> String {
    format!("{:?}", number.kind()).to_lowercase()
}

fn phone_view(phone: &Phone, reveal: bool) -> PhoneView {
    PhoneView {
        number: if reveal {
            phone.number.e164().to_string()
        } else {
            phone.number.masked()
        },
        extension: phone.number.extension().map(str::to_string),
        kind: kind_name(&phone.number),
        label: phone.label.clone(),
        masked: !reveal,
    }
}

/// The API view of a customer.
pub fn customer_view(customer: &Customer, reveal: bool) -> CustomerView {
    let fields = &customer.fields;
    CustomerView {
        id: customer.id.0,
        external_id: fields.external_id.clone(),
        name: fields.name.clone(),
        phones: fields
            .phones
            .iter()
            .map(|p| phone_view(p, reveal))
            .collect(),
        level: fields.level.clone(),
        value_score: fields.value_score,
        tags: fields.tags.clone(),
        preferences: PreferencesBody::from_preferences(&fields.preferences),
        consent: fields.consent,
        do_not_call: fields.do_not_call,
        created_ms: customer.created_ms,
        updated_ms: customer.updated_ms,
        version: customer.version,
    }
}

/// `?reveal=true`: show full numbers (supervisor or admin; audited).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevealQuery {
    /// Show full phone numbers instead of masked ones (supervisor or admin; each customer
    /// shown is written to the audit log).
    #[serde(default)]
    pub reveal: bool,
}

/// Checks that the caller may reveal, and audits each customer revealed before the answer.
async fn audit_reveal(
    state: &ApiState,
    caller: &Caller,
    reveal: bool,
    customers: impl Iterator<Item = CustomerId>,
) -> Result<(), ApiError> {
    if !reveal {
        return Ok(());
    }
    caller.require(REVEAL_ROLE).map_err(|_| {
        ApiError::forbidden(format!(
            "the {} role may not see full phone numbers; ask without reveal",
            caller.role.as_str()
        ))
    })?;
    let subjects: Vec<String> = customers.map(|id| format!("customer:{}", id.0)).collect();
    state
        .records
        .audit_many(
            now_ms(),
            &caller.name,
            "customer.read_unmasked",
            &subjects,
            "phones",
        )
        .await?;
    Ok(())
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// The customers, by id.
    pub items: Vec<CustomerView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// Paging of lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Start after this id (the `next_after` of the previous page).
    pub after: Option<i64>,
    /// How many, 1 to 100 (50 when left out).
    pub limit: Option<u32>,
    /// Show full phone numbers (supervisor or admin; audited).
    #[serde(default)]
    pub reveal: bool,
}

/// Lists customers by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(PageQuery),
    responses((status = 200, body = CustomerPage), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn list_customers(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PageQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    caller.require(Role::Agent)?;
    let limit = query.limit.unwrap_or(50);
    let customers = state
        .records
        .customers(query.after.map(CustomerId), limit)
        .await?;
    audit_reveal(
        &state,
        &caller,
        query.reveal,
        customers.iter().map(|c| c.id),
    )
    .await?;
    // A full page may have a next one; a short page is the last.
    let next_after = if customers.len() as u32 == limit {
        customers.last().map(|c| c.id.0)
    } else {
        None
    };
    Ok(Json(CustomerPage {
        items: customers
            .iter()
            .map(|c| customer_view(c, query.reveal))
            .collect(),
        next_after,
    }))
}

/// Creates a customer. With an `Idempotency-Key` header, a retry gets the first answer.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers",
    request_body = CustomerInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body get the first answer")),
    responses((status = 201, body = CustomerView), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (an agent creates the caller from an unmatched screen pop).")]
pub async fn create_customer(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(input, body): ApiJson<CustomerInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    idempotent(&state, &caller, &headers, &body, || async {
        let fields = input.into_fields(&state)?;
        let customer = state
            .records
            .create_customer(&fields, now_ms(), &caller.name)
            .await?;
        Ok((StatusCode::CREATED, customer_view(&customer, false)))
    })
    .await
}

/// Reads one customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id"), RevealQuery),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above; reveal needs supervisor.")]
pub async fn get_customer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<RevealQuery>,
) -> Result<Json<CustomerView>, ApiError> {
    caller.require(Role::Agent)?;
    let customer = state
        .records
        .customer(CustomerId(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no customer {id}")))?;
    audit_reveal(&state, &caller, query.reveal, [customer.id].into_iter()).await?;
    Ok(Json(customer_view(&customer, query.reveal)))
}

/// Replaces a customer's fields. `If-Match: <version>` refuses the change (409) when someone
/// else changed the customer since.
#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers",
    request_body = CustomerInput,
    params(("id" = i64, Path, description = "The customer's id"),
           ("If-Match" = Option<i64>, Header, description = "The version the change is based on")),
    responses((status = 200, body = CustomerView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn update_customer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input, _): ApiJson<CustomerInput>,
) -> Result<Json<CustomerView>, ApiError> {
    caller.require(Role::Agent)?;
    let expected = if_match(&headers, "the customer's version")?;
    let fields = input.into_fields(&state)?;
    let customer = state
        .records
        .update_customer(CustomerId(id), &fields, expected, now_ms(), &caller.name)
        .await?;
    Ok(Json(customer_view(&customer, false)))
}

/// Creates or replaces the customer with this CRM id (the CRM integration's upsert).
#[utoipa::path(put, path = "/api/v1/customers/by-external-id/{external_id}", tag = "customers",
    request_body = CustomerInput,
    params(("external_id" = String, Path, description = "The customer's id in the CRM")),
    responses((status = 200, description = "Replaced", body = CustomerView),
              (status = 201, description = "Created", body = CustomerView),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above (integrations).")]
pub async fn upsert_customer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(external_id): Path<String>,
    ApiJson(input, _): ApiJson<CustomerInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Supervisor)?;
    if input
        .external_id
        .as_deref()
        .is_some_and(|given| given != external_id)
    {
        return Err(ApiError::invalid(
            "external_id",
            "differs from the external id in the path",
        ));
    }
    let mut fields = input.into_fields(&state)?;
    fields.external_id = Some(external_id);
    let (customer, created) = state
        .records
        .upsert_customer(&fields, now_ms(), &caller.name)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(customer_view(&customer, false))).into_response())
}

/// Deletes a customer and its interactions (a request to be forgotten).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn delete_customer(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Admin)?;
    if state
        .records
        .delete_customer(CustomerId(id), now_ms(), &caller.name)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no customer {id}")))
    }
}

/// An interaction as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionView {
    /// The id.
    pub id: i64,
    /// The customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<i64>,
    /// When, Unix milliseconds.
    pub at_ms: i64,
    /// inbound_call, outbound_call, callback, note, disposition, survey.
    pub kind: String,
    /// Where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// The queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The routing contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<i64>,
    /// The outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// How long, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    /// The agent's notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Retention removed the notes.
    pub redacted: bool,
}

/// The API view of an interaction.
pub fn interaction_view(interaction: &Interaction) -> InteractionView {
    let r = &interaction.record;
    InteractionView {
        id: interaction.id,
        customer_id: r.customer.map(|c| c.0),
        at_ms: r.at_ms,
        kind: r.kind.as_str().into(),
        channel: r.channel.clone(),
        agent: r.agent.clone(),
        queue: r.queue.clone(),
        contact_id: r.contact_id,
        disposition: r.disposition.clone(),
        duration_ms: r.duration_ms,
        summary: r.summary.clone(),
        redacted: interaction.redacted,
    }
}

/// An interaction to record against a customer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    /// inbound_call, outbound_call, callback, note, disposition, survey.
    pub kind: String,
    /// When, Unix milliseconds (now when left out).
    pub at_ms: Option<i64>,
    /// Where it came from (phone, web_form, wechat, app …).
    pub channel: Option<String>,
    /// The queue.
    pub queue: Option<String>,
    /// The routing contact.
    pub contact_id: Option<i64>,
    /// The outcome.
    pub disposition: Option<String>,
    /// How long, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Notes.
    pub summary: Option<String>,
}

/// Paging of interactions, newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionPageQuery {
    /// Only interactions older than this one (the last `id` of the previous page), with…
    pub before_id: Option<i64>,
    /// …its `at_ms`.
    pub before_at_ms: Option<i64>,
    /// How many, 1 to 100 (20 when left out).
    pub limit: Option<u32>,
}

/// A customer's interactions, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/interactions", tag = "customers",
    params(("id" = i64, Path, description = "The customer's id"), InteractionPageQuery),
    responses((status = 200, body = Vec<InteractionView>), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn list_interactions(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(query): Query<InteractionPageQuery>,
) -> Result<Json<Vec<InteractionView>>, ApiError> {
    caller.require(Role::Agent)?;
    if state.records.customer(CustomerId(id)).await?.is_none() {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    let before = match (query.before_at_ms, query.before_id) {
        (Some(at), Some(id)) => Some((at, id)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "before_id",
                "before_id and before_at_ms come together",
            ))
        }
    };
    let interactions = state
        .records
        .interactions(CustomerId(id), before, query.limit.unwrap_or(20))
        .await?;
    Ok(Json(interactions.iter().map(interaction_view).collect()))
}

/// Records a note, a disposition or another interaction against a customer; the agent is the
/// caller.
#[utoipa::path(post, path = "/api/v1/customers/{id}/interactions", tag = "customers",
    request_body = InteractionInput,
    params(("id" = i64, Path, description = "The customer's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = InteractionView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn add_interaction(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input, body): ApiJson<InteractionInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    if state.records.customer(CustomerId(id)).await?.is_none() {
        return Err(ApiError::not_found(format!("no customer {id}")));
    }
    idempotent(&state, &caller, &headers, &body, || async {
        let kind = InteractionKind::parse(&input.kind).ok_or_else(|| {
            ApiError::invalid(
                "kind",
                format!(
                    "{:?} is not one of {}",
                    input.kind,
                    InteractionKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })?;
        let interaction = NewInteraction {
            customer: Some(CustomerId(id)),
            at_ms: input.at_ms.unwrap_or_else(now_ms),
            kind,
            channel: input.channel,
            agent: Some(caller.name.clone()),
            queue: input.queue,
            contact_id: input.contact_id,
            event_seq: None,
            disposition: input.disposition,
            duration_ms: input.duration_ms,
            summary: input.summary,
        };
        let stored = state.records.add_interaction(&interaction).await?;
        Ok((StatusCode::CREATED, interaction_view(&stored)))
    })
    .await
}

/// One customer in a screen pop.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardView {
    /// The customer.
    pub customer: CustomerView,
    /// The latest interactions, newest first (at most 10).
    pub recent: Vec<InteractionView>,
}

/// Who is calling.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenPopView {
    /// The caller's number, masked unless revealed.
    pub number: String,
    /// Its kind.
    pub kind: String,
    /// `none` (unknown caller: create or pick a customer), `one`, or `several` (pick one).
    pub matched: String,
    /// The customers with this number (at most 5).
    pub cards: Vec<CardView>,
    /// More customers share the number than the cards show: search.
    pub more_matches: bool,
    /// Knowledge-base articles for the callers' need tags, best first.
    pub suggestions: Vec<super::knowledge::HitView>,
}

/// The view of a card.
pub fn card_view(card: &CustomerCard, reveal: bool) -> CardView {
    CardView {
        customer: customer_view(&card.customer, reveal),
        recent: card.recent.iter().map(interaction_view).collect(),
    }
}

/// The screen pop's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PopQuery {
    /// The caller's number, in any usual form.
    pub number: String,
    /// Show full numbers (supervisor or admin; audited).
    #[serde(default)]
    pub reveal: bool,
}

/// The screen pop for a number: the customers who have it and their latest interactions.
#[utoipa::path(get, path = "/api/v1/screen-pop", tag = "screen pop",
    params(PopQuery),
    responses((status = 200, body = ScreenPopView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn screen_pop(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<PopQuery>,
) -> Result<Json<ScreenPopView>, ApiError> {
    caller.require(Role::Agent)?;
    let number = parse_number(&state, "number", &query.number)?;
    let pop = state.records.screen_pop(&number).await?;
    audit_reveal(
        &state,
        &caller,
        query.reveal,
        pop.cards.iter().map(|c| c.customer.id),
    )
    .await?;
    Ok(Json(pop_view(&pop, query.reveal, &state.knowledge)))
}

/// The view of a screen pop, with the articles `knowledge` suggests for the need tags of the
/// customers on it.
pub fn pop_view(
    pop: &hotline_store::ScreenPop,
    reveal: bool,
    knowledge: &crate::knowledge::Knowledge,
) -> ScreenPopView {
    let mut tags: Vec<String> = Vec::new();
    for card in &pop.cards {
        for tag in &card.customer.fields.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }
    ScreenPopView {
        number: if reveal {
            pop.number.e164().to_string()
        } else {
            pop.number.masked()
        },
        kind: kind_name(&pop.number),
        matched: match pop.cards.len() {
            0 => "none",
            1 => "one",
            _ => "several",
        }
        .into(),
        cards: pop.cards.iter().map(|c| card_view(c, reveal)).collect(),
        more_matches: pop.more_matches,
        suggestions: knowledge
            .suggest(&tags)
            .iter()
            .map(super::knowledge::hit_view)
            .collect(),
    }
}

/// The outcomes an agent may give a contact at its end, with their labels (`[wrap_up]`).
#[utoipa::path(get, path = "/api/v1/dispositions", tag = "screen pop",
    responses((status = 200, body = Vec<crate::wrap_up::Disposition>)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn dispositions(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<crate::wrap_up::Disposition>>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(state.dispositions.get().to_vec()))
}

/// How a contact ended, from the agent's wrap-up.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapUpInput {
    /// One of the codes of `GET /api/v1/dispositions`.
    pub disposition: String,
    /// The agent's notes (sealed at rest).
    pub notes: Option<String>,
    /// The customer, when the agent knows who called; left out, the note goes to whoever the
    /// call is (or will be) linked to.
    pub customer_id: Option<i64>,
}

/// The agent's wrap-up of a contact: its disposition and notes, kept as a `disposition`
/// interaction with the contact id and the agent. Without a customer it is linked when the
/// agent says who called (`POST /api/v1/contacts/{contact_id}/customer`), with the call's own
/// interaction. With an `Idempotency-Key` header, a retry gets the first answer.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/wrap-up", tag = "screen pop",
    request_body = WrapUpInput,
    params(("contact_id" = i64, Path, description = "The contact id of the screen pop"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 201, body = InteractionView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn wrap_up_contact(
    State(state): State<ApiState>,
    caller: Caller,
    Path(contact_id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input, body): ApiJson<WrapUpInput>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    if contact_id < 0 {
        return Err(ApiError::invalid("contact_id", "must not be negative"));
    }
    let disposition = input.disposition.trim();
    let known = state.dispositions.get();
    if !known.iter().any(|d| d.code == disposition) {
        let codes: Vec<&str> = known.iter().map(|d| d.code.as_str()).collect();
        return Err(ApiError::invalid(
            "disposition",
            format!("{:?} is not one of {}", input.disposition, codes.join(", ")),
        ));
    }
    if let Some(id) = input.customer_id {
        if state.records.customer(CustomerId(id)).await?.is_none() {
            return Err(ApiError::invalid(
                "customer_id",
                format!("no customer {id}"),
            ));
        }
    }
    let notes = input
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    idempotent(&state, &caller, &headers, &body, || async {
        let interaction = NewInteraction {
            customer: input.customer_id.map(CustomerId),
            channel: Some("phone".into()),
            agent: Some(caller.name.clone()),
            contact_id: Some(contact_id),
            disposition: Some(disposition.to_owned()),
            summary: notes,
            ..NewInteraction::new(now_ms(), InteractionKind::Disposition)
        };
        let stored = state.records.add_interaction(&interaction).await?;
        Ok((StatusCode::CREATED, interaction_view(&stored)))
    })
    .await
}

/// Who a call's caller is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifyInput {
    /// The customer the agent picked or created.
    pub customer_id: i64,
    /// Also add the caller's number to the customer's phones (the agent sees it masked only;
    /// the switch knows it while the call is on and for a while after).
    #[serde(default)]
    pub add_caller_number: bool,
}

/// Says who called on a contact whose number matched no customer or several: the call's
/// interaction goes to that customer (when the call ends, or now if it has). Answers 202:
/// the link is made by the switch's link task, in order with the call's own events.
#[utoipa::path(post, path = "/api/v1/contacts/{contact_id}/customer", tag = "screen pop",
    request_body = IdentifyInput,
    params(("contact_id" = i64, Path, description = "The contact id of the screen pop")),
    responses((status = 202), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn identify_caller(
    State(state): State<ApiState>,
    caller: Caller,
    Path(contact_id): Path<i64>,
    ApiJson(input, _): ApiJson<IdentifyInput>,
) -> Result<StatusCode, ApiError> {
    caller.require(Role::Agent)?;
    let customer = CustomerId(input.customer_id);
    if state.records.customer(customer).await?.is_none() {
        return Err(ApiError::not_found(format!("no customer {}", customer.0)));
    }
    let contact = u64::try_from(contact_id)
        .map_err(|_| ApiError::invalid("contact_id", "must not be negative"))?;
    match state.link.as_ref().and_then(|weak| weak.upgrade()) {
        Some(link) => link
            .try_send(crate::customer_link::LinkEvent::Identified {
                contact: hotline_routing::ContactId(contact),
                customer,
                add_number: input.add_caller_number,
            })
            .map_err(|_| ApiError::unavailable("the switch is busy or stopped; try again"))?,
        // No switch (the API alone): link what calls are already recorded.
        None => {
            state
                .records
                .assign_contact_customer(contact_id, customer, now_ms(), &caller.name)
                .await?;
        }
    }
    Ok(StatusCode::ACCEPTED)
}
