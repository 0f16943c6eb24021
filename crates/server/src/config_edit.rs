//! The simple admin's edits of the configuration file (`/api/v1/admin/...`, the `/admin`
//! page): an agent's skills and queues, a queue's service level, size and wrap-up, a
//! calendar's weekly hours and holidays; new agents (with their phone's SIP account), queues
//! and skills, added after those written; an agent's phone password set, or their account
//! removed. Each edit changes the file's text in place with
//! `toml_edit`, which keeps every comment, order and layout the people who wrote the file
//! chose; [`crate::reload::Reloader::edit`] then checks the new text whole, writes it and runs
//! it without dropping a call, or puts the old text back.
//!
//! What the admin reads ([`AdminView`]) is the file as written (names, `"billing:3"`,
//! `"80/20"`, `"30s"`), so what it shows is what it writes back.

use serde::{Deserialize, Serialize};
use toml_edit::{Array, DocumentMut, Item, Table};
use utoipa::ToSchema;

/// Why an edit could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The file does not parse (it was changed by hand since the center started?).
    Syntax(String),
    /// No such agent, queue or calendar in the file.
    NotFound(String),
    /// The entry cannot be edited here (an agent of a `count` group).
    Conflict(String),
    /// A value is refused before it reaches the file: (field, why).
    Invalid(String, String),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Syntax(why) => write!(f, "the configuration file does not parse: {why}"),
            EditError::NotFound(what) | EditError::Conflict(what) => f.write_str(what),
            EditError::Invalid(field, why) => write!(f, "{field}: {why}"),
        }
    }
}

/// The most entries one list of an edit may hold (skills, queues, holidays).
pub const MAX_EDIT_ITEMS: usize = 64;
/// The longest text of one entry.
pub const MAX_EDIT_CHARS: usize = 100;

/// An agent's routing as the file writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentEdit {
    /// `"skill"` or `"skill:proficiency"` (1 to 5).
    pub skills: Vec<String>,
    /// `"queue"`, `"queue:priority"` or `"queue:priority:delay"` (`"general:2:30s"`).
    pub queues: Vec<String>,
}

/// A queue's settings the admin changes; those left out stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueEdit {
    /// `"80/20"`: 80 % answered within 20 s.
    pub service_level: Option<String>,
    /// How many contacts it may hold at once.
    pub max_waiting: Option<u32>,
    /// After-call work time, `"30s"`.
    pub wrap_up: Option<String>,
}

/// A calendar's hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarEdit {
    /// Per day (`mon` … `sun`): `"08:00-20:00"` or several ranges `"08:00-12:00,13:00-18:00"`;
    /// a day left out is closed.
    pub weekly: std::collections::BTreeMap<String, String>,
    /// `"2026-10-01"` or `"2026-10-01..2026-10-07"`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// An agent as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AgentRowView {
    /// The name (a group's name with `count`: its agents are `name-001` …).
    pub name: String,
    /// How many agents the entry makes (a group); `null` for one agent.
    pub count: Option<i64>,
    /// As written.
    pub skills: Vec<String>,
    /// As written.
    pub queues: Vec<String>,
    /// Whether `[[sip.accounts]]` has an account for this agent's phone.
    pub phone: bool,
}

/// A queue as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct QueueRowView {
    /// The name.
    pub name: String,
    /// Required skills, as written.
    pub skills: Vec<String>,
    /// `"80/20"`, as written; `null`: the default.
    pub service_level: Option<String>,
    /// `null`: the default.
    pub max_waiting: Option<i64>,
    /// `null`: the default.
    pub wrap_up: Option<String>,
}

/// A dialled number's route (`[[sip.numbers]]`): a queue or a menu, and optionally the hours
/// with where calls go when closed. Applied by the next call (while `[media]` is as at start).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberEdit {
    /// The queue its calls wait in (or a `menu`).
    pub queue: Option<String>,
    /// The IVR menu that answers it (or a `queue`).
    pub menu: Option<String>,
    /// A calendar's name: outside its hours calls go to `closed_queue` or `closed_menu`.
    pub hours: Option<String>,
    /// Where calls wait when closed.
    pub closed_queue: Option<String>,
    /// The menu that answers when closed (one that says the hours).
    pub closed_menu: Option<String>,
}

/// The keys of a number's route, in the order they are written.
const NUMBER_KEYS: [&str; 5] = ["queue", "menu", "hours", "closed_queue", "closed_menu"];

impl NumberEdit {
    fn values(&self) -> [&Option<String>; 5] {
        [
            &self.queue,
            &self.menu,
            &self.hours,
            &self.closed_queue,
            &self.closed_menu,
        ]
    }
}

/// A number as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct NumberRowView {
    /// As dialled.
    pub number: String,
    /// Its route, as written.
    #[serde(flatten)]
    pub route: NumberEdit,
}

/// A calendar as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct CalendarRowView {
    /// The name.
    pub name: String,
    /// Per day, as written.
    pub weekly: std::collections::BTreeMap<String, String>,
    /// As written.
    pub holidays: Vec<String>,
}

/// The file's queues, agents and calendars, as written.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AdminView {
    /// The file's version (a hash of its text): send it back as `If-Match` with an edit, so
    /// that an edit made on a stale page is refused rather than undoing another's.
    pub version: String,
    /// In the file's order.
    pub queues: Vec<QueueRowView>,
    /// In the file's order.
    pub agents: Vec<AgentRowView>,
    /// `[routing] skills`, in the file's order.
    pub skills: Vec<String>,
    /// `[[sip.numbers]]`, in the file's order.
    pub numbers: Vec<NumberRowView>,
    /// In the file's order.
    pub calendars: Vec<CalendarRowView>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn document(text: &str) -> Result<DocumentMut, EditError> {
    text.parse::<DocumentMut>()
        .map_err(|e| EditError::Syntax(e.to_string()))
}

/// A list's entries as text; dates written bare (`2026-10-01`, holidays) as dates.
fn strings(item: Option<&Item>) -> Vec<String> {
    item.and_then(Item::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| v.as_datetime().map(|d| d.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Sets `key` to `new`, keeping the old value's spacing and trailing comment.
fn replace(table: &mut Table, key: &str, new: impl Into<toml_edit::Value>) {
    let mut new = new.into();
    if let Some(old) = table.get(key).and_then(Item::as_value) {
        *new.decor_mut() = old.decor().clone();
    }
    table[key] = Item::Value(new);
}

fn text_of(item: Option<&Item>) -> Option<String> {
    item.and_then(Item::as_str).map(str::to_owned)
}

/// The `[[routing.<what>]]` tables.
fn routing_tables<'d>(doc: &'d DocumentMut, what: &str) -> Vec<&'d Table> {
    doc.get("routing")
        .and_then(|r| r.get(what))
        .and_then(Item::as_array_of_tables)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// What the admin page shows.
pub fn view(text: &str) -> Result<AdminView, EditError> {
    let doc = document(text)?;
    let queues = routing_tables(&doc, "queues")
        .into_iter()
        .map(|q| QueueRowView {
            name: text_of(q.get("name")).unwrap_or_default(),
            skills: strings(q.get("skills")),
            service_level: text_of(q.get("service_level")),
            max_waiting: q.get("max_waiting").and_then(Item::as_integer),
            wrap_up: q.get("wrap_up").and_then(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .or_else(|| i.as_integer().map(|n| format!("{n}s")))
            }),
        })
        .collect();
    let accounts: Vec<String> = doc
        .get("sip")
        .and_then(|sip| sip.get("accounts"))
        .and_then(Item::as_array_of_tables)
        .map(|a| a.iter().filter_map(|t| text_of(t.get("agent"))).collect())
        .unwrap_or_default();
    let agents = routing_tables(&doc, "agents")
        .into_iter()
        .map(|a| {
            let name = text_of(a.get("name")).unwrap_or_default();
            AgentRowView {
                phone: accounts.contains(&name),
                name,
                count: a.get("count").and_then(Item::as_integer),
                skills: strings(a.get("skills")),
                queues: strings(a.get("queues")),
            }
        })
        .collect();
    let skills = strings(doc.get("routing").and_then(|r| r.get("skills")));
    let numbers = doc
        .get("sip")
        .and_then(|sip| sip.get("numbers"))
        .and_then(Item::as_array_of_tables)
        .map(|all| {
            all.iter()
                .map(|n| {
                    let [queue, menu, hours, closed_queue, closed_menu] =
                        NUMBER_KEYS.map(|key| text_of(n.get(key)));
                    NumberRowView {
                        number: text_of(n.get("number")).unwrap_or_default(),
                        route: NumberEdit {
                            queue,
                            menu,
                            hours,
                            closed_queue,
                            closed_menu,
                        },
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let calendars = doc
        .get("calendars")
        .and_then(Item::as_array_of_tables)
        .map(|cals| {
            cals.iter()
                .map(|c| {
                    let weekly = c
                        .get("weekly")
                        .and_then(|w| w.as_table_like())
                        .map(|w| {
                            w.iter()
                                .filter_map(|(day, hours)| {
                                    Some((day.to_owned(), hours.as_str()?.to_owned()))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    CalendarRowView {
                        name: text_of(c.get("name")).unwrap_or_default(),
                        weekly,
                        holidays: strings(c.get("holidays")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(AdminView {
        version: version(text),
        queues,
        agents,
        skills,
        numbers,
        calendars,
    })
}

/// A text's version: the first 16 hex digits of its SHA-256.
pub fn version(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn check_list(field: &str, items: &[String]) -> Result<Array, EditError> {
    if items.len() > MAX_EDIT_ITEMS {
        return Err(EditError::Invalid(
            field.into(),
            format!("at most {MAX_EDIT_ITEMS} entries"),
        ));
    }
    let mut array = Array::new();
    for (i, item) in items.iter().enumerate() {
        let item = item.trim();
        if item.is_empty() || item.chars().count() > MAX_EDIT_CHARS || item.contains('\n') {
            return Err(EditError::Invalid(
                format!("{field}[{i}]"),
                format!("must be 1 to {MAX_EDIT_CHARS} characters on one line"),
            ));
        }
        array.push(item);
    }
    Ok(array)
}

/// Finds `[[routing.<what>]]` with `name`, for editing.
fn routing_table_mut<'d>(
    doc: &'d mut DocumentMut,
    what: &str,
    name: &str,
) -> Result<&'d mut Table, EditError> {
    let singular = what.trim_end_matches('s');
    doc.get_mut("routing")
        .and_then(|r| r.get_mut(what))
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|tables| {
            tables
                .iter_mut()
                .find(|t| t.get("name").and_then(Item::as_str) == Some(name))
        })
        .ok_or_else(|| {
            EditError::NotFound(format!(
                "no {singular} named {name:?} written in the configuration file"
            ))
        })
}

/// Sets an agent's skills and queues.
pub fn set_agent(text: &str, name: &str, edit: &AgentEdit) -> Result<String, EditError> {
    let skills = check_list("skills", &edit.skills)?;
    let queues = check_list("queues", &edit.queues)?;
    let mut doc = document(text)?;
    let table = routing_table_mut(&mut doc, "agents", name)?;
    if table.contains_key("count") {
        return Err(EditError::Conflict(format!(
            "{name:?} is a group of agents (count): edit the group in the file"
        )));
    }
    replace(table, "skills", skills);
    replace(table, "queues", queues);
    Ok(doc.to_string())
}

/// Changes a queue's service level, size or wrap-up.
pub fn set_queue(text: &str, name: &str, edit: &QueueEdit) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let table = routing_table_mut(&mut doc, "queues", name)?;
    edit_queue(table, edit)?;
    Ok(doc.to_string())
}

/// Writes a queue's settings that `edit` gives into its table.
fn edit_queue(table: &mut Table, edit: &QueueEdit) -> Result<(), EditError> {
    if let Some(level) = &edit.service_level {
        let level = level.trim();
        if level.is_empty() || level.len() > 20 {
            return Err(EditError::Invalid(
                "service_level".into(),
                "expected \"80/20\" (percent answered / within seconds)".into(),
            ));
        }
        replace(table, "service_level", level);
    }
    if let Some(max) = edit.max_waiting {
        replace(table, "max_waiting", i64::from(max));
    }
    if let Some(wrap_up) = &edit.wrap_up {
        let wrap_up = wrap_up.trim();
        if wrap_up.is_empty() || wrap_up.len() > 20 {
            return Err(EditError::Invalid(
                "wrap_up".into(),
                "expected a duration such as \"30s\"".into(),
            ));
        }
        replace(table, "wrap_up", wrap_up);
    }
    Ok(())
}

/// Sets a calendar's weekly hours and holidays.
pub fn set_calendar(text: &str, name: &str, edit: &CalendarEdit) -> Result<String, EditError> {
    for (day, hours) in &edit.weekly {
        if !DAYS.contains(&day.as_str()) {
            return Err(EditError::Invalid(
                format!("weekly.{day}"),
                format!("not a day; the days are {}", DAYS.join(", ")),
            ));
        }
        if hours.trim().is_empty() || hours.len() > MAX_EDIT_CHARS {
            return Err(EditError::Invalid(
                format!("weekly.{day}"),
                "expected hours such as \"08:00-20:00\" (leave the day out when closed)".into(),
            ));
        }
    }
    let holidays = check_list("holidays", &edit.holidays)?;
    let mut doc = document(text)?;
    let table = doc
        .get_mut("calendars")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|cals| {
            cals.iter_mut()
                .find(|c| c.get("name").and_then(Item::as_str) == Some(name))
        })
        .ok_or_else(|| EditError::NotFound(format!("no calendar named {name:?}")))?;
    let mut weekly = toml_edit::InlineTable::new();
    for day in DAYS {
        if let Some(hours) = edit.weekly.get(day) {
            weekly.insert(day, hours.trim().into());
        }
    }
    if table.get("weekly").is_some_and(Item::is_table) {
        // Written as its own [calendars.weekly] table: replaced by the inline form.
        table.remove("weekly");
    }
    replace(table, "weekly", weekly);
    if edit.holidays.is_empty() {
        table.remove("holidays");
    } else {
        replace(table, "holidays", holidays);
    }
    Ok(doc.to_string())
}

/// The longest name an added agent, queue or skill may have.
pub const MAX_NAME_CHARS: usize = 64;
/// The shortest and longest phone password.
pub const PHONE_PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=64;

/// A new agent: added after the others in `[[routing.agents]]`, with the SIP account of their
/// phone in `[[sip.accounts]]` (the agent's name is the phone's SIP user).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Letters, digits, `.`, `_` and `-` (a SIP user name), at most 64.
    pub name: String,
    /// `"skill"` or `"skill:proficiency"`.
    #[serde(default)]
    pub skills: Vec<String>,
    /// `"queue"`, `"queue:priority"` or `"queue:priority:delay"`.
    pub queues: Vec<String>,
    /// The phone's password (8 to 64 printable ASCII characters, no spaces); left out, one
    /// is made and given once in the answer.
    pub password: Option<String>,
}

/// A new queue, added after the others in `[[routing.queues]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQueue {
    /// No spaces, commas or `:`, at most 64 characters (Chinese is fine: `"售后"`).
    pub name: String,
    /// Skills a contact of this queue needs (`"billing"`, `"billing:3"`).
    #[serde(default)]
    pub skills: Vec<String>,
    /// Agents who take it (each written on its own, not a group): the queue is added to
    /// their `queues`. A queue nobody can serve is refused.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Its settings; those left out take the defaults.
    #[serde(flatten)]
    pub settings: QueueEdit,
}

/// A new skill, added at the end of `[routing] skills`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSkill {
    /// No spaces, commas or `:`, at most 64 characters.
    pub name: String,
}

/// An agent's phone account: a new password (left out: one is made).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneEdit {
    /// 8 to 64 printable ASCII characters, no spaces; left out, one is made and given once
    /// in the answer.
    pub password: Option<String>,
}

/// A name for a queue or a skill: what the admin page's lists can hold.
fn check_list_name(field: &str, name: &str) -> Result<(), EditError> {
    let bad = name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '，' | ':' | '"'));
    if bad {
        return Err(EditError::Invalid(
            field.into(),
            format!(
                "must be 1 to {MAX_NAME_CHARS} characters without spaces, commas, ':' or quotes"
            ),
        ));
    }
    Ok(())
}

/// An agent's name, which is also its phone's SIP user.
fn check_agent_name(name: &str) -> Result<(), EditError> {
    let good = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if good {
        Ok(())
    } else {
        Err(EditError::Invalid(
            "name".into(),
            format!(
                "must be 1 to {MAX_NAME_CHARS} letters, digits, '.', '_' or '-' (it is the \
                 phone's SIP user name)"
            ),
        ))
    }
}

/// A phone password given by the admin.
pub fn check_phone_password(password: &str) -> Result<(), EditError> {
    // What a phone's keypad or settings page can type: printable ASCII, no spaces.
    if !PHONE_PASSWORD_CHARS.contains(&password.len())
        || !password.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(EditError::Invalid(
            "password".into(),
            format!(
                "must be {} to {} letters, digits or ASCII signs, without spaces",
                PHONE_PASSWORD_CHARS.start(),
                PHONE_PASSWORD_CHARS.end()
            ),
        ));
    }
    Ok(())
}

/// The `[[routing.<what>]]` array, made when the file has none.
fn routing_array_mut<'d>(
    doc: &'d mut DocumentMut,
    what: &str,
) -> Result<&'d mut toml_edit::ArrayOfTables, EditError> {
    let routing = doc
        .entry("routing")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| EditError::Conflict("[routing] is not a table".into()))?;
    routing
        .entry(what)
        .or_insert_with(|| Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| EditError::Conflict(format!("routing.{what} is not a list of tables")))
}

/// The `[[sip.<key>]]` array (`accounts`, `numbers`), made (with `[sip]`) when the file has
/// none; written as an inline list, it cannot be edited here.
fn sip_array_mut<'d>(
    doc: &'d mut DocumentMut,
    key: &str,
) -> Result<&'d mut toml_edit::ArrayOfTables, EditError> {
    let sip = doc
        .entry("sip")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| EditError::Conflict("[sip] is not a table".into()))?;
    sip.entry(key)
        .or_insert_with(|| Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| {
            EditError::Conflict(format!(
                "sip.{key} is written as an inline list: write each entry as its own \
                 [[sip.{key}]] table to edit them here"
            ))
        })
}

fn named(table: &Table, key: &str, name: &str) -> bool {
    table.get(key).and_then(Item::as_str) == Some(name)
}

/// Adds an agent at the end of `[[routing.agents]]` and its phone's account with `password`
/// (already checked or made) to `[[sip.accounts]]`.
pub fn add_agent(text: &str, agent: &NewAgent, password: &str) -> Result<String, EditError> {
    let name = agent.name.trim();
    check_agent_name(name)?;
    check_phone_password(password)?;
    let skills = check_list("skills", &agent.skills)?;
    let queues = check_list("queues", &agent.queues)?;
    let mut doc = document(text)?;
    if routing_tables(&doc, "agents")
        .iter()
        .any(|t| named(t, "name", name))
    {
        return Err(EditError::Conflict(format!(
            "an agent named {name:?} is already in the configuration file"
        )));
    }
    let mut table = Table::new();
    table["name"] = toml_edit::value(name);
    if !skills.is_empty() {
        table["skills"] = toml_edit::value(skills);
    }
    table["queues"] = toml_edit::value(queues);
    routing_array_mut(&mut doc, "agents")?.push(table);
    let accounts = sip_array_mut(&mut doc, "accounts")?;
    if accounts.iter().any(|t| named(t, "agent", name)) {
        return Err(EditError::Conflict(format!(
            "[[sip.accounts]] already has an account for {name:?}: remove it first"
        )));
    }
    let mut account = Table::new();
    account["agent"] = toml_edit::value(name);
    account["password"] = toml_edit::value(password);
    accounts.push(account);
    Ok(doc.to_string())
}

/// Adds a queue at the end of `[[routing.queues]]`.
pub fn add_queue(text: &str, queue: &NewQueue) -> Result<String, EditError> {
    let name = queue.name.trim();
    check_list_name("name", name)?;
    let skills = check_list("skills", &queue.skills)?;
    let mut doc = document(text)?;
    if routing_tables(&doc, "queues")
        .iter()
        .any(|t| named(t, "name", name))
    {
        return Err(EditError::Conflict(format!(
            "a queue named {name:?} is already in the configuration file"
        )));
    }
    let mut table = Table::new();
    table["name"] = toml_edit::value(name);
    if !skills.is_empty() {
        table["skills"] = toml_edit::value(skills);
    }
    edit_queue(&mut table, &queue.settings)?;
    routing_array_mut(&mut doc, "queues")?.push(table);
    check_list("agents", &queue.agents)?;
    let mut takers: Vec<&str> = queue.agents.iter().map(|a| a.trim()).collect();
    takers.sort_unstable();
    takers.dedup();
    for agent in takers {
        let agent = routing_table_mut(&mut doc, "agents", agent)?;
        if agent.contains_key("count") {
            return Err(EditError::Conflict(format!(
                "{:?} is a group of agents (count): edit the group in the file",
                agent.get("name").and_then(Item::as_str).unwrap_or_default()
            )));
        }
        match agent.get_mut("queues").and_then(Item::as_array_mut) {
            Some(queues) => queues.push(name),
            None => agent["queues"] = toml_edit::value(Array::from_iter([name])),
        }
    }
    Ok(doc.to_string())
}

/// Adds a skill at the end of `[routing] skills`.
pub fn add_skill(text: &str, skill: &NewSkill) -> Result<String, EditError> {
    let name = skill.name.trim();
    check_list_name("name", name)?;
    let mut doc = document(text)?;
    let routing = doc
        .entry("routing")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| EditError::Conflict("[routing] is not a table".into()))?;
    let skills = routing
        .entry("skills")
        .or_insert_with(|| toml_edit::value(Array::new()))
        .as_array_mut()
        .ok_or_else(|| EditError::Conflict("routing.skills is not a list".into()))?;
    if skills.iter().any(|s| s.as_str() == Some(name)) {
        return Err(EditError::Conflict(format!(
            "skill {name:?} is already listed"
        )));
    }
    skills.push(name);
    Ok(doc.to_string())
}

/// Gives `agent`'s phone the password (already checked or made): the account's password or
/// HA1 is replaced, or an account is added.
pub fn set_phone(text: &str, agent: &str, password: &str) -> Result<String, EditError> {
    check_phone_password(password)?;
    let mut doc = document(text)?;
    let accounts = sip_array_mut(&mut doc, "accounts")?;
    let index = accounts.iter().position(|t| named(t, "agent", agent));
    if let Some(account) = index.and_then(|i| accounts.get_mut(i)) {
        account.remove("ha1_md5");
        account.remove("ha1_sha256");
        replace(account, "password", password);
    } else {
        let mut account = Table::new();
        account["agent"] = toml_edit::value(agent);
        account["password"] = toml_edit::value(password);
        accounts.push(account);
    }
    Ok(doc.to_string())
}

/// Removes `agent`'s phone account: the phone is logged out at once and cannot register
/// again. The agent stays in the routing (their history names them).
pub fn remove_phone(text: &str, agent: &str) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let accounts = sip_array_mut(&mut doc, "accounts")?;
    let index = accounts
        .iter()
        .position(|t| named(t, "agent", agent))
        .ok_or_else(|| EditError::NotFound(format!("{agent:?} has no phone account")))?;
    accounts.remove(index);
    Ok(doc.to_string())
}

/// The most characters of a dialled number.
pub const MAX_NUMBER_CHARS: usize = 32;

fn check_number(number: &str) -> Result<(), EditError> {
    let good = !number.is_empty()
        && number.len() <= MAX_NUMBER_CHARS
        && number
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'*' || b == b'#' || (b == b'+' && i == 0));
    if good {
        Ok(())
    } else {
        Err(EditError::Invalid(
            "number".into(),
            format!("1 to {MAX_NUMBER_CHARS} digits, * or #, with an optional leading +"),
        ))
    }
}

/// Routes a dialled number (`[[sip.numbers]]`): its entry's route is replaced (comments and
/// other keys kept), or an entry is added after the others.
pub fn set_number(text: &str, number: &str, edit: &NumberEdit) -> Result<String, EditError> {
    check_number(number)?;
    for (key, value) in NUMBER_KEYS.iter().zip(edit.values()) {
        if let Some(value) = value {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > MAX_NAME_CHARS || value.contains('\n') {
                return Err(EditError::Invalid(
                    (*key).into(),
                    format!("1 to {MAX_NAME_CHARS} characters on one line, or left out"),
                ));
            }
        }
    }
    let mut doc = document(text)?;
    let numbers = sip_array_mut(&mut doc, "numbers")?;
    let index = numbers.iter().position(|t| named(t, "number", number));
    let table = match index {
        Some(i) => numbers.get_mut(i).expect("found above"),
        None => {
            let mut table = Table::new();
            table["number"] = toml_edit::value(number);
            numbers.push(table);
            numbers.get_mut(numbers.len() - 1).expect("just pushed")
        }
    };
    for (key, value) in NUMBER_KEYS.iter().zip(edit.values()) {
        match value {
            Some(value) => replace(table, key, value.trim()),
            None => {
                table.remove(key);
            }
        }
    }
    Ok(doc.to_string())
}

/// Removes a dialled number's entry: its calls go where unlisted numbers go.
pub fn remove_number(text: &str, number: &str) -> Result<String, EditError> {
    let mut doc = document(text)?;
    let numbers = sip_array_mut(&mut doc, "numbers")?;
    let index = numbers
        .iter()
        .position(|t| named(t, "number", number))
        .ok_or_else(|| EditError::NotFound(format!("no number {number:?} in [[sip.numbers]]")))?;
    numbers.remove(index);
    Ok(doc.to_string())
}

/// A phone password made for the admin from 16 random bytes: 16 characters (about 79 bits)
/// of lower-case letters and digits, none easily mistaken for another when typed into a
/// phone (no `0 o 1 l i`).
pub fn make_phone_password(random: [u8; 16]) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let base = ALPHABET.len() as u128;
    let mut n = u128::from_le_bytes(random);
    (0..16)
        .map(|_| {
            let c = ALPHABET[(n % base) as usize] as char;
            n /= base;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"# The center's configuration (comments stay).
[[calendars]]
name = "office"
weekly = { mon = "09:00-18:00" }

[routing]
skills = ["billing", "zh"]

[[routing.queues]]
name = "general"   # the main line
service_level = "80/20"

[[routing.agents]]
name = "ann"
skills = ["billing:3"]   # certified in March
queues = ["general"]

[[routing.agents]]
name = "acct"
count = 3
queues = ["general"]
"#;

    #[test]
    fn an_agent_edit_changes_only_that_agent_and_keeps_the_comments() {
        let edited = set_agent(
            FILE,
            "ann",
            &AgentEdit {
                skills: vec!["billing:4".into(), " zh ".into()],
                queues: vec!["general:2".into()],
            },
        )
        .unwrap();
        assert!(edited.starts_with("# The center's configuration (comments stay)."));
        assert!(edited.contains("name = \"general\"   # the main line"));
        assert!(
            edited.contains("skills = [\"billing:4\", \"zh\"]   # certified in March"),
            "a replaced value keeps its comment: {edited}"
        );
        let view = view(&edited).unwrap();
        assert_eq!(view.agents[0].skills, ["billing:4", "zh"]);
        assert_eq!(view.agents[0].queues, ["general:2"]);
        assert_eq!(view.agents[1].count, Some(3));
        // A group is edited in the file; an unknown name is said.
        let group = set_agent(
            FILE,
            "acct",
            &AgentEdit {
                skills: vec![],
                queues: vec![],
            },
        );
        assert!(matches!(group, Err(EditError::Conflict(_))), "{group:?}");
        let unknown = set_agent(
            FILE,
            "zed",
            &AgentEdit {
                skills: vec![],
                queues: vec![],
            },
        );
        assert!(
            matches!(unknown, Err(EditError::NotFound(_))),
            "{unknown:?}"
        );
        let empty = AgentEdit {
            skills: vec!["".into()],
            queues: vec![],
        };
        assert_eq!(
            set_agent(FILE, "ann", &empty).unwrap_err(),
            EditError::Invalid(
                "skills[0]".into(),
                format!("must be 1 to {MAX_EDIT_CHARS} characters on one line")
            )
        );
    }

    #[test]
    fn a_queue_and_a_calendar_edit_write_what_the_view_reads_back() {
        let edited = set_queue(
            FILE,
            "general",
            &QueueEdit {
                service_level: Some("90/15".into()),
                max_waiting: Some(50),
                wrap_up: Some("45s".into()),
            },
        )
        .unwrap();
        let queue = &view(&edited).unwrap().queues[0];
        assert_eq!(queue.service_level.as_deref(), Some("90/15"));
        assert_eq!(queue.max_waiting, Some(50));
        assert_eq!(queue.wrap_up.as_deref(), Some("45s"));
        let edited = set_calendar(
            &edited,
            "office",
            &CalendarEdit {
                weekly: [("mon", "08:00-20:00"), ("sat", "09:00-12:00")]
                    .into_iter()
                    .map(|(d, h)| (d.to_string(), h.to_string()))
                    .collect(),
                holidays: vec!["2026-10-01..2026-10-07".into()],
            },
        )
        .unwrap();
        let calendar = &view(&edited).unwrap().calendars[0];
        assert_eq!(calendar.weekly["sat"], "09:00-12:00");
        assert_eq!(calendar.holidays, ["2026-10-01..2026-10-07"]);
        // Holidays written as bare dates are shown (and so kept when the page saves).
        let bare = FILE.replace(
            "weekly = { mon = \"09:00-18:00\" }",
            "weekly = { mon = \"09:00-18:00\" }\nholidays = [2026-10-01, \"2026-10-02..2026-10-07\"]",
        );
        assert_eq!(
            view(&bare).unwrap().calendars[0].holidays,
            ["2026-10-01", "2026-10-02..2026-10-07"]
        );
        let bad_day = CalendarEdit {
            weekly: [("someday".to_string(), "08:00-09:00".to_string())]
                .into_iter()
                .collect(),
            holidays: vec![],
        };
        assert!(matches!(
            set_calendar(FILE, "office", &bad_day),
            Err(EditError::Invalid(field, _)) if field == "weekly.someday"
        ));
    }

    #[test]
    fn a_new_agent_queue_and_skill_go_after_the_others_and_the_file_still_runs() {
        let text = add_skill(
            FILE,
            &NewSkill {
                name: "售后".into(),
            },
        )
        .unwrap();
        let text = add_queue(
            &text,
            &NewQueue {
                name: "after-sales".into(),
                skills: vec!["售后".into()],
                agents: vec!["ann".into(), " ann".into()],
                settings: QueueEdit {
                    service_level: Some("90/30".into()),
                    ..QueueEdit::default()
                },
            },
        )
        .unwrap();
        let agent = NewAgent {
            name: "dan.li".into(),
            skills: vec!["售后:4".into()],
            queues: vec!["after-sales".into(), "general:2".into()],
            password: None,
        };
        let text = add_agent(&text, &agent, "k3mwq8x2zt5hn7pa").unwrap();
        assert!(text.starts_with("# The center's configuration (comments stay)."));
        assert!(text.contains("skills = [\"billing:3\"]   # certified in March"));
        let view = view(&text).unwrap();
        assert_eq!(view.skills, ["billing", "zh", "售后"]);
        assert_eq!(view.queues.last().unwrap().name, "after-sales");
        assert_eq!(
            view.queues.last().unwrap().service_level.as_deref(),
            Some("90/30")
        );
        let dan = view.agents.last().unwrap();
        assert_eq!((dan.name.as_str(), dan.phone), ("dan.li", true));
        assert!(!view.agents[0].phone, "ann has no account in FILE");
        // The file runs: the new ones come last, as a reload requires.
        let config = crate::config::parse("x.toml", &text, 1, [0; 32]).unwrap();
        assert_eq!(config.routing.skills.last().unwrap(), "售后");
        assert_eq!(config.routing.queues.last().unwrap().name, "after-sales");
        assert_eq!(config.routing.agents.last().unwrap().name, "dan.li");
        assert_eq!(config.switch.agents[0].name, "dan.li");
        assert_eq!(view.agents[0].queues, ["general", "after-sales"]);

        // Twice is refused, and so are names the page or a phone cannot hold.
        assert!(matches!(
            add_agent(&text, &agent, "k3mwq8x2zt5hn7pa"),
            Err(EditError::Conflict(_))
        ));
        assert!(matches!(
            add_queue(
                &text,
                &NewQueue {
                    name: "general".into(),
                    skills: vec![],
                    agents: vec![],
                    settings: QueueEdit::default()
                }
            ),
            Err(EditError::Conflict(_))
        ));
        assert!(matches!(
            add_skill(&text, &NewSkill { name: "zh".into() }),
            Err(EditError::Conflict(_))
        ));
        for bad in ["", "dan li", "丹", "a:b", &"x".repeat(65)] {
            let named = NewAgent {
                name: bad.into(),
                ..agent.clone()
            };
            assert!(
                matches!(add_agent(FILE, &named, "k3mwq8x2zt5hn7pa"), Err(EditError::Invalid(f, _)) if f == "name"),
                "{bad:?}"
            );
        }
        for bad in ["", "a b", "a,b", "a:b"] {
            assert!(
                matches!(add_skill(FILE, &NewSkill { name: bad.into() }), Err(EditError::Invalid(f, _)) if f == "name"),
                "{bad:?}"
            );
        }
        for bad in [
            "short",
            "with space 123",
            &"p".repeat(65),
            "口令口令口令口令",
        ] {
            assert!(
                matches!(add_agent(FILE, &agent, bad), Err(EditError::Invalid(f, _)) if f == "password"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_phone_password_replaces_the_old_credentials_and_an_account_can_be_removed() {
        let with = format!(
            "[sip]\nrealm = \"hotline\"\n\n[[sip.accounts]]   # ann's desk phone\n\
             agent = \"ann\"\nha1_md5 = \"0123456789abcdef0123456789abcdef\"\n\n{FILE}"
        );
        let text = set_phone(&with, "ann", "n3w-pass-word").unwrap();
        assert!(
            text.contains("[[sip.accounts]]   # ann's desk phone"),
            "{text}"
        );
        let config = crate::config::parse("x.toml", &text, 1, [0; 32]).unwrap();
        assert!(matches!(
            &config.switch.agents[0].credentials,
            hotline_sip::Credentials::Password(p) if p == "n3w-pass-word"
        ));
        // An agent without one gets an account.
        let text = set_phone(FILE, "ann", "n3w-pass-word").unwrap();
        assert!(view(&text).unwrap().agents[0].phone);
        let removed = remove_phone(&with, "ann").unwrap();
        assert!(!view(&removed).unwrap().agents[0].phone);
        assert!(crate::config::parse("x.toml", &removed, 1, [0; 32]).is_ok());
        assert!(matches!(
            remove_phone(FILE, "ann"),
            Err(EditError::NotFound(_))
        ));
    }

    #[test]
    fn a_number_is_routed_rerouted_and_removed_and_the_file_still_runs() {
        let with = FILE.replace(
            "[routing]\n",
            "[sip]\n[[sip.numbers]]   # the main line\nnumber = \"95588\"\nqueue = \"general\"\n\n[routing]\n",
        );
        let edit = NumberEdit {
            queue: Some("general".into()),
            hours: Some("office".into()),
            closed_queue: Some("general".into()),
            ..NumberEdit::default()
        };
        let text = set_number(&with, "95588", &edit).unwrap();
        assert!(text.contains("[[sip.numbers]]   # the main line"), "{text}");
        let text = set_number(
            &text,
            "+864008123123",
            &NumberEdit {
                queue: Some("general".into()),
                ..NumberEdit::default()
            },
        )
        .unwrap();
        let view = view(&text).unwrap();
        assert_eq!(view.numbers.len(), 2);
        assert_eq!(view.numbers[0].route, edit);
        assert_eq!(view.numbers[1].number, "+864008123123");
        let config = crate::config::parse("x.toml", &text, 1, [0; 32]).unwrap();
        assert_eq!(config.switch.numbers.len(), 2);
        assert!(config.switch.numbers[0].hours.is_some());
        let removed = remove_number(&text, "95588").unwrap();
        assert_eq!(view_numbers(&removed), ["+864008123123"]);
        assert!(matches!(
            remove_number(&removed, "95588"),
            Err(EditError::NotFound(_))
        ));
        for bad in ["", "95 588", "1+2", &"9".repeat(33)] {
            assert!(
                matches!(set_number(FILE, bad, &edit), Err(EditError::Invalid(f, _)) if f == "number"),
                "{bad:?}"
            );
        }
    }

    fn view_numbers(text: &str) -> Vec<String> {
        view(text)
            .unwrap()
            .numbers
            .into_iter()
            .map(|n| n.number)
            .collect()
    }

    #[test]
    fn made_passwords_are_sixteen_unambiguous_characters_and_differ() {
        let a = make_phone_password([7; 16]);
        let b = make_phone_password([8; 16]);
        assert_eq!(a.chars().count(), 16);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() && !"0o1li".contains(c)),
            "{a}"
        );
        assert!(check_phone_password(&a).is_ok());
        // All-zero bytes give the first letter throughout: the mapping is not a hash.
        assert_eq!(make_phone_password([0; 16]), "a".repeat(16));
    }
}
