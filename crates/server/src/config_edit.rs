//! The simple admin's edits of the configuration file (`/api/v1/admin/...`, the `/admin`
//! page): an agent's skills and queues, a queue's service level, size and wrap-up, a
//! calendar's weekly hours and holidays. Each edit changes the file's text in place with
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
    let agents = routing_tables(&doc, "agents")
        .into_iter()
        .map(|a| AgentRowView {
            name: text_of(a.get("name")).unwrap_or_default(),
            count: a.get("count").and_then(Item::as_integer),
            skills: strings(a.get("skills")),
            queues: strings(a.get("queues")),
        })
        .collect();
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
    Ok(doc.to_string())
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
}
