//! The records of the contact center: customers, their interactions, the screen pop, the
//! audit log, API keys and idempotency keys.
//!
//! The principal type is [`Records`](crate::Records). These are the types it
//! takes and returns; every field of a record has a named limit, checked by
//! [`CustomerFields::validate`] and [`NewInteraction::validate`] before anything is written,
//! with an error that names the field ([`FieldError`]).
//!
//! Personal data (a customer's name and phone numbers, an interaction's summary) is sealed
//! with the [`Keyring`](crate::Keyring) before it reaches the database, and opened when read;
//! callers of the store see plain values. Masking for display is the API's business.

use hotline_calendar::{Calendar, CalendarSpec, WeeklySpec};
use hotline_phone::PhoneNumber;
use serde::{Deserialize, Serialize};

/// The longest customer name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The most phone numbers one customer has.
pub const MAX_PHONES: usize = 8;
/// The longest label of a phone number ("mobile", "office", "家里").
pub const MAX_LABEL_CHARS: usize = 32;
/// The longest external (CRM) id.
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// The longest membership level name.
pub const MAX_LEVEL_CHARS: usize = 32;
/// The largest value score.
pub const MAX_VALUE_SCORE: u32 = 1_000_000_000;
/// The most need tags of one customer.
pub const MAX_TAGS: usize = 32;
/// The longest need tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;
/// The longest agent name in a preference or an interaction.
pub const MAX_AGENT_CHARS: usize = 64;
/// The longest free-text style preference, in characters.
pub const MAX_STYLE_CHARS: usize = 200;
/// The longest interaction summary (agent's notes), in characters.
pub const MAX_SUMMARY_CHARS: usize = 4_000;
/// The longest short text of an interaction (channel, queue, disposition).
pub const MAX_SHORT_TEXT_CHARS: usize = 64;
/// The most interactions one read returns.
pub const MAX_INTERACTIONS_READ: u32 = 100;
/// The most customers one page of a list returns.
pub const MAX_CUSTOMERS_PAGE: u32 = 100;
/// The interactions a screen pop shows per customer.
pub const POP_RECENT_INTERACTIONS: u32 = 10;
/// The customers a screen pop shows when several share the caller's number; beyond these the
/// pop says there are more, and the agent searches.
pub const POP_MAX_MATCHES: usize = 5;
/// The languages a customer may prefer.
pub const LANGUAGES: [&str; 2] = ["zh-CN", "en"];
/// The default membership level.
pub const DEFAULT_LEVEL: &str = "standard";

/// A customer's id in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(pub i64);

/// A field that broke a rule, and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the API names it (`phones[1].number`, `preferences.language`).
    pub field: String,
    /// What is wrong with it, as a sentence.
    pub problem: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// One of a customer's phone numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    /// The number, normalised.
    pub number: PhoneNumber,
    /// What kind of number it is to the customer ("mobile", "office"), if known.
    pub label: Option<String>,
}

/// A customer's preferences, kept as JSON in the store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The language to speak: `"zh-CN"` or `"en"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Straight to a human, no self-service (elderly callers).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefer_human: bool,
    /// The agent who looks after this customer, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedicated_agent: Option<String>,
    /// The customer's time zone (IANA name); contact hours are read in it. Asia/Shanghai when
    /// left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// When the customer may be called, per weekday, as calendar hours
    /// (`{ "mon": "19:00-21:00", … }`); any time (within legal hours) when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_hours: Option<WeeklySpec>,
    /// How the customer likes to be served, in the agent's words ("brief", "不要推销").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

impl Preferences {
    /// The customer's contact hours as a calendar (always open when none are set).
    pub fn contact_calendar(&self) -> Result<Calendar, FieldError> {
        let Some(weekly) = &self.contact_hours else {
            return Ok(Calendar::always_open());
        };
        let spec = CalendarSpec {
            name: "contact_hours".into(),
            time_zone: self.time_zone.clone(),
            weekly: weekly.clone(),
            holidays: Vec::new(),
            workdays: Vec::new(),
        };
        Calendar::from_spec(&spec).map_err(|e| {
            let field = match e.field() {
                "time_zone" => "preferences.time_zone".to_string(),
                other => format!(
                    "preferences.contact_hours{}",
                    other.strip_prefix("weekly").unwrap_or(other)
                ),
            };
            FieldError::new(field, e.message())
        })
    }
}

/// Everything about a customer that a create or an update sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerFields {
    /// The customer's id in the company's CRM, unique when set.
    pub external_id: Option<String>,
    /// The name (personal data: sealed at rest).
    pub name: Option<String>,
    /// Phone numbers (personal data: sealed at rest, found by blind index), at most
    /// [`MAX_PHONES`].
    pub phones: Vec<Phone>,
    /// The membership level ("standard", "gold", "vip", "黑金"): the routing tier of that name.
    pub level: String,
    /// The value score routing compares with its high-value threshold.
    pub value_score: u32,
    /// Need tags ("billing", "repair", "投诉"), for routing and knowledge suggestions.
    pub tags: Vec<String>,
    /// Contact hours, language, style, dedicated agent.
    pub preferences: Preferences,
    /// The customer agreed to be contacted (marketing and campaigns need it; a callback the
    /// customer asked for does not).
    pub consent: bool,
    /// Never call this customer.
    pub do_not_call: bool,
}

impl Default for CustomerFields {
    fn default() -> CustomerFields {
        CustomerFields {
            external_id: None,
            name: None,
            phones: Vec::new(),
            level: DEFAULT_LEVEL.into(),
            value_score: 0,
            tags: Vec::new(),
            preferences: Preferences::default(),
            consent: false,
            do_not_call: false,
        }
    }
}

fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    allow_empty: bool,
) -> Result<(), FieldError> {
    if !allow_empty && value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("is {chars} characters long; the most is {max_chars}"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

impl CustomerFields {
    /// Checks every limit; the first field at fault is named.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(id) = &self.external_id {
            check_text("external_id", id, MAX_EXTERNAL_ID_CHARS, false)?;
        }
        if let Some(name) = &self.name {
            check_text("name", name, MAX_NAME_CHARS, false)?;
        }
        if self.phones.len() > MAX_PHONES {
            return Err(FieldError::new(
                "phones",
                format!(
                    "{} numbers; a customer has at most {MAX_PHONES}",
                    self.phones.len()
                ),
            ));
        }
        for (i, phone) in self.phones.iter().enumerate() {
            if let Some(label) = &phone.label {
                check_text(&format!("phones[{i}].label"), label, MAX_LABEL_CHARS, true)?;
            }
            if self.phones[..i]
                .iter()
                .any(|other| other.number.e164() == phone.number.e164())
            {
                return Err(FieldError::new(
                    format!("phones[{i}].number"),
                    format!("{} is listed twice", phone.number.e164()),
                ));
            }
        }
        check_text("level", &self.level, MAX_LEVEL_CHARS, false)?;
        if self.value_score > MAX_VALUE_SCORE {
            return Err(FieldError::new(
                "value_score",
                format!("the largest value score is {MAX_VALUE_SCORE}"),
            ));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(FieldError::new(
                "tags",
                format!("{} tags; the most is {MAX_TAGS}", self.tags.len()),
            ));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            check_text(&format!("tags[{i}]"), tag, MAX_TAG_CHARS, false)?;
        }
        let preferences = &self.preferences;
        if let Some(language) = &preferences.language {
            if !LANGUAGES.contains(&language.as_str()) {
                return Err(FieldError::new(
                    "preferences.language",
                    format!("{language:?} is not one of {}", LANGUAGES.join(", ")),
                ));
            }
        }
        if let Some(agent) = &preferences.dedicated_agent {
            check_text("preferences.dedicated_agent", agent, MAX_AGENT_CHARS, false)?;
        }
        if let Some(style) = &preferences.style {
            check_text("preferences.style", style, MAX_STYLE_CHARS, true)?;
        }
        preferences.contact_calendar()?;
        Ok(())
    }
}

/// A customer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// The store's id.
    pub id: CustomerId,
    /// The customer's fields.
    pub fields: CustomerFields,
    /// When it was created (Unix milliseconds).
    pub created_ms: i64,
    /// When it last changed.
    pub updated_ms: i64,
    /// 1 at creation, one more for each update.
    pub version: i64,
}

/// What an interaction was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InteractionKind {
    /// The customer called in.
    InboundCall,
    /// We called the customer (campaign, preview, follow-up).
    OutboundCall,
    /// We called the customer back at their request.
    Callback,
    /// An agent's note.
    Note,
    /// The outcome an agent set at the end of a contact.
    Disposition,
    /// A satisfaction survey answer.
    Survey,
}

impl InteractionKind {
    /// Every kind, in the order of the variants.
    pub const ALL: [InteractionKind; 6] = [
        InteractionKind::InboundCall,
        InteractionKind::OutboundCall,
        InteractionKind::Callback,
        InteractionKind::Note,
        InteractionKind::Disposition,
        InteractionKind::Survey,
    ];

    /// The name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::InboundCall => "inbound_call",
            InteractionKind::OutboundCall => "outbound_call",
            InteractionKind::Callback => "callback",
            InteractionKind::Note => "note",
            InteractionKind::Disposition => "disposition",
            InteractionKind::Survey => "survey",
        }
    }

    /// The kind of a name, if it is one.
    pub fn parse(name: &str) -> Option<InteractionKind> {
        InteractionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// An interaction to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInteraction {
    /// The customer, when known (a call from an unknown number has none until an agent links
    /// it).
    pub customer: Option<CustomerId>,
    /// When it happened (Unix milliseconds).
    pub at_ms: i64,
    /// What it was.
    pub kind: InteractionKind,
    /// Where it came from: "phone", "web_form", "wechat", "app" …
    pub channel: Option<String>,
    /// The agent, by name.
    pub agent: Option<String>,
    /// The queue, by name.
    pub queue: Option<String>,
    /// The routing contact, for a call.
    pub contact_id: Option<i64>,
    /// The event-log row it came from, if any.
    pub event_seq: Option<i64>,
    /// The outcome ("resolved", "ticket", "wrong_number" …).
    pub disposition: Option<String>,
    /// How long it lasted.
    pub duration_ms: Option<i64>,
    /// The agent's notes (personal data: sealed at rest).
    pub summary: Option<String>,
}

impl NewInteraction {
    /// An interaction of `kind` at `at_ms` with every other field empty.
    pub fn new(at_ms: i64, kind: InteractionKind) -> NewInteraction {
        NewInteraction {
            customer: None,
            at_ms,
            kind,
            channel: None,
            agent: None,
            queue: None,
            contact_id: None,
            event_seq: None,
            disposition: None,
            duration_ms: None,
            summary: None,
        }
    }

    /// Checks every limit.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, value) in [
            ("channel", &self.channel),
            ("queue", &self.queue),
            ("disposition", &self.disposition),
        ] {
            if let Some(value) = value {
                check_text(field, value, MAX_SHORT_TEXT_CHARS, false)?;
            }
        }
        if let Some(agent) = &self.agent {
            check_text("agent", agent, MAX_AGENT_CHARS, false)?;
        }
        if let Some(summary) = &self.summary {
            // Notes may hold line breaks and tabs.
            let chars = summary.chars().count();
            if chars > MAX_SUMMARY_CHARS {
                return Err(FieldError::new(
                    "summary",
                    format!("is {chars} characters long; the most is {MAX_SUMMARY_CHARS}"),
                ));
            }
        }
        if self.duration_ms.is_some_and(|d| d < 0) {
            return Err(FieldError::new("duration_ms", "must not be negative"));
        }
        if self.at_ms < 0 {
            return Err(FieldError::new("at_ms", "must not be negative"));
        }
        Ok(())
    }
}

/// An interaction as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// The store's id.
    pub id: i64,
    /// What was recorded; `summary` is `None` once retention removed it.
    pub record: NewInteraction,
    /// Retention removed the personal data of this interaction.
    pub redacted: bool,
}

/// One customer in a screen pop: the record and the latest interactions, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerCard {
    /// The customer.
    pub customer: Customer,
    /// Up to [`POP_RECENT_INTERACTIONS`] interactions, newest first.
    pub recent: Vec<Interaction>,
}

/// Who is calling: the customers whose numbers match the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScreenPop {
    /// The caller's number.
    pub number: PhoneNumber,
    /// No card: an unknown caller (the agent may create or pick a customer). One card: the
    /// caller. Several: the agent picks; at most [`POP_MAX_MATCHES`].
    pub cards: Vec<CustomerCard>,
    /// More customers share the number than the cards show.
    pub more_matches: bool,
}

/// The roles of users and API keys, from least to most allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Handles contacts: sees customers with phone numbers masked.
    Agent,
    /// Watches and steers a team: sees full numbers (audited).
    Supervisor,
    /// Configures the center and manages keys.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// The name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role of a name, if it is one.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// An API key as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The store's id.
    pub id: i64,
    /// Its unique name ("crm", "wechat-backend", "supervisor-li").
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The first characters of the secret.
    pub prefix: String,
    /// When it was made.
    pub created_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// One row of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its position.
    pub id: i64,
    /// When (Unix milliseconds).
    pub at_ms: i64,
    /// Who: an API key's or a user's name, or `system`.
    pub actor: String,
    /// What: `customer.read_unmasked`, `customer.create`, `keys.rotate` …
    pub action: String,
    /// Of what: `customer:42`.
    pub subject: String,
    /// More, as the action defines it (which fields were shown).
    pub detail: String,
}

/// A stored answer to a POST that carried an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotentAnswer {
    /// A hash of the request it answered: a retry with another body is a conflict.
    pub request_hash: Vec<u8>,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// What a re-seal under the active key changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Values that were sealed under another key and are now under the active one.
    pub resealed: u64,
    /// Values that were already under the active key.
    pub current: u64,
}
