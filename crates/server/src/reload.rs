//! Reloading the configuration file while the center runs (`POST /api/v1/admin/reload`, or
//! SIGHUP to `hotline serve`): the file is read and checked whole, as at start; its routing
//! (queues, skills, agents and their profiles, policies) and its business-hours calendars are
//! run by the switch from then on without dropping a call ([`crate::switch::Switch::reconfigure`],
//! [`hotline_routing::Router::reconfigure`]), and the wall follows. So do the agents' SIP
//! accounts (`[[sip.accounts]]`: a new agent's phone registers at once, a removed account's
//! phone is logged out at once) and the dialled numbers (`[[sip.numbers]]`, `default_queue`,
//! `default_menu`; while `[media]` and so its menus are as at start), and the wrap-up's
//! outcomes (`[wrap_up]`). The other sections and
//! keys (the SIP listener, realm and trunks, media, menus, tickets, the dialer …) only a
//! restart applies: the report names those that differ from what the center started with.
//!
//! Queues, agents, skills and not-ready reasons keep their places: the new file may add them
//! at the end and change their properties, not remove, rename or reorder them (their places
//! are in the calls in progress and in the event log). Calendars keep their names and order
//! (numbers name them by place); their hours and holidays change. A file that breaks that, or
//! any rule of the configuration, changes nothing.
//!
//! A reload or an edit runs to its end in a task of its own, so a client that goes away
//! midway never leaves a half-done change (the file written but not run, or run but not
//! followed by the wall and the dialler).

use std::path::PathBuf;
use std::sync::Arc;

use hotline_config::Diagnostics;
use hotline_store::{EventWriter, NewEvent};
use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;

use crate::runtime::SwitchControl;
use crate::wall::WallMetrics;

/// The sections a reload applies; changes anywhere else wait for a restart.
pub const LIVE_SECTIONS: [&str; 3] = ["routing", "calendars", "wrap_up"];
/// The keys of `[sip]` a reload applies: the agents' accounts, and the numbers with where
/// unlisted ones go (those while `[media]` is as at start: they name its menus).
pub const LIVE_SIP_KEYS: [&str; 4] = ["accounts", "numbers", "default_queue", "default_menu"];
const SIP_NUMBER_KEYS: [&str; 3] = ["numbers", "default_queue", "default_menu"];
/// The longest reason a `config.refused` event keeps.
pub const MAX_LOGGED_REASON: usize = 2_000;

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReloadReport {
    /// The queues now.
    pub queues: usize,
    /// The agents now.
    pub agents: usize,
    /// The agents' SIP accounts now.
    pub phones: usize,
    /// Sections that differ from what the center started with and that only a restart
    /// applies (`sip`, `media`, `tickets` …); empty when the reload applied everything.
    pub restart_needed: Vec<String>,
}

/// Why a reload changed nothing.
#[derive(Debug)]
pub enum ReloadError {
    /// The file could not be read.
    Read(String),
    /// The file breaks the configuration's rules: each problem with its place.
    Invalid(Diagnostics),
    /// The switch refused it (a queue, agent, skill, reason or calendar removed, renamed or
    /// reordered; a number leading to a queue that is not there).
    Refused(String),
    /// The switch is stopped or busy.
    Unavailable,
    /// An edit of the admin page could not be made ([`crate::config_edit`]).
    Edit(crate::config_edit::EditError),
    /// The file could not be written; it is as it was.
    Write(String),
    /// The file changed since the edit's page read it (`If-Match`): nothing written.
    Stale,
    /// The switch refused an edit already written, and writing the file back failed: the
    /// file now differs from what runs.
    Restore {
        /// Why the switch refused the edit.
        refused: String,
        /// Why the old text could not be written back.
        restore: String,
    },
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Read(why) => write!(f, "cannot read the configuration file: {why}"),
            ReloadError::Invalid(diagnostics) => write!(f, "{diagnostics}"),
            ReloadError::Refused(why) => f.write_str(why),
            ReloadError::Unavailable => f.write_str("the switch is stopped or busy; try again"),
            ReloadError::Edit(error) => write!(f, "{error}"),
            ReloadError::Write(why) => write!(f, "cannot write the configuration file: {why}"),
            ReloadError::Stale => f.write_str(
                "the configuration file changed since this page read it (someone else saved, \
                 or it was edited by hand): load the page again and redo the change",
            ),
            ReloadError::Restore { refused, restore } => write!(
                f,
                "the edit was refused ({refused}) and the file could not be put back ({restore}): \
                 the file now differs from what runs; fix it before the next reload or restart"
            ),
        }
    }
}

impl std::error::Error for ReloadError {}

/// Reloads one configuration file into a running center.
pub struct Reloader {
    path: PathBuf,
    /// The file's text at start: what the sections a reload does not apply still run.
    started: String,
    switch: SwitchControl,
    wall: Option<WallMetrics>,
    events: Option<EventWriter>,
    outbound: Option<crate::outbound::Outbound>,
    dispositions: Option<crate::wrap_up::Dispositions>,
    /// One reload at a time.
    busy: Mutex<()>,
    /// The `[sip]` number keys ([`SIP_NUMBER_KEYS`]) of the text whose numbers run.
    numbers_running: std::sync::Mutex<Vec<Option<toml::Value>>>,
}

impl Reloader {
    /// A reloader for the center started from `path`, whose text was `started`.
    pub fn new(
        path: PathBuf,
        started: String,
        switch: SwitchControl,
        wall: Option<WallMetrics>,
        events: Option<EventWriter>,
    ) -> Reloader {
        Reloader {
            path,
            numbers_running: std::sync::Mutex::new(number_keys(&started)),
            started,
            switch,
            wall,
            events,
            outbound: None,
            dispositions: None,
            busy: Mutex::new(()),
        }
    }

    /// Also tells the outbound dialler the agents and queues of each reload.
    pub fn with_outbound(mut self, outbound: crate::outbound::Outbound) -> Reloader {
        self.outbound = Some(outbound);
        self
    }

    /// Also sets the wrap-up's outcomes (`[wrap_up]`) of each reload.
    pub fn with_dispositions(mut self, dispositions: crate::wrap_up::Dispositions) -> Reloader {
        self.dispositions = Some(dispositions);
        self
    }

    /// Reads the file again and runs its routing and calendars; appends `config.reloaded`
    /// (with `by`: who asked, a user or API key, or `SIGHUP`) to the event log. Runs to its
    /// end even if the caller stops waiting.
    pub async fn reload(self: &Arc<Self>, by: &str) -> Result<ReloadReport, ReloadError> {
        let by = by.to_owned();
        let this = self.clone();
        tokio::spawn(async move {
            let _one = this.busy.lock().await;
            let result = async {
                let text = this.read().await?;
                let config = this.parse(&text)?;
                this.apply(&text, config, &by).await
            }
            .await;
            this.log_refusal(&result, "reload", &by).await;
            result
        })
        .await
        .unwrap_or(Err(ReloadError::Unavailable))
    }

    /// Appends `config.refused` for a reload or edit that changed nothing (or, for
    /// [`ReloadError::Restore`], left the file differing from what runs): who, what and why.
    async fn log_refusal(&self, result: &Result<ReloadReport, ReloadError>, what: &str, by: &str) {
        let (Err(error), Some(events)) = (result, &self.events) else {
            return;
        };
        let mut why = logged_reason(error);
        if why.len() > MAX_LOGGED_REASON {
            let mut end = MAX_LOGGED_REASON;
            while !why.is_char_boundary(end) {
                end -= 1;
            }
            why.truncate(end);
        }
        let _ = events
            .append(NewEvent {
                at_ms: crate::api::now_ms(),
                kind: "config.refused".into(),
                contact_id: None,
                agent: None,
                queue: None,
                data: serde_json::json!({
                    "file": self.path.display().to_string(),
                    "what": what,
                    "by": by,
                    "why": why,
                }),
            })
            .await;
    }

    /// The file's queues, agents and calendars as written, for the admin page.
    pub async fn view(&self) -> Result<crate::config_edit::AdminView, ReloadError> {
        let text = self.read().await?;
        crate::config_edit::view(&text).map_err(ReloadError::Edit)
    }

    /// Changes the file with `change` ([`crate::config_edit`]) and runs it: the new text is
    /// checked whole before it is written (a bad one leaves the file alone), written in place
    /// of the old at once (a temporary file renamed), and put back if the switch refuses it.
    pub async fn edit(
        self: &Arc<Self>,
        by: &str,
        expected: Option<String>,
        change: impl FnOnce(&str) -> Result<String, crate::config_edit::EditError> + Send + 'static,
    ) -> Result<ReloadReport, ReloadError> {
        let this = self.clone();
        let by = by.to_owned();
        tokio::spawn(async move {
            let _one = this.busy.lock().await;
            let result = this.edit_now(&by, expected, change).await;
            this.log_refusal(&result, "edit", &by).await;
            result
        })
        .await
        .unwrap_or(Err(ReloadError::Unavailable))
    }

    async fn edit_now(
        &self,
        by: &str,
        expected: Option<String>,
        change: impl FnOnce(&str) -> Result<String, crate::config_edit::EditError>,
    ) -> Result<ReloadReport, ReloadError> {
        let before = self.read().await?;
        if expected.is_some_and(|v| v != crate::config_edit::version(&before)) {
            return Err(ReloadError::Stale);
        }
        let after = change(&before).map_err(ReloadError::Edit)?;
        // Checked whole before it is written: a bad text leaves the file alone.
        let config = self.parse(&after)?;
        self.write(&after).await?;
        match self.apply(&after, config, by).await {
            Ok(report) => Ok(report),
            Err(error) => match self.write(&before).await {
                Ok(()) => Err(error),
                Err(failed) => Err(ReloadError::Restore {
                    refused: error.to_string(),
                    restore: failed.to_string(),
                }),
            },
        }
    }

    async fn read(&self) -> Result<String, ReloadError> {
        tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|e| ReloadError::Read(format!("{}: {e}", self.path.display())))
    }

    /// Replaces the file's text at once: a new file beside it (the file's own permissions, so
    /// the passwords in it stay as private as they were), synced, renamed over the file (the
    /// one a symbolic link leads to), and the directory synced.
    async fn write(&self, text: &str) -> Result<(), ReloadError> {
        let path = self.path.clone();
        let text = text.to_owned();
        tokio::task::spawn_blocking(move || write_in_place(&path, &text))
            .await
            .map_err(|e| ReloadError::Write(e.to_string()))?
            .map_err(|e| ReloadError::Write(format!("{}: {e}", self.path.display())))
    }

    /// The file's text read as at start. The seed and secret only feed the parts a reload
    /// does not apply.
    fn parse(&self, text: &str) -> Result<crate::config::ServerConfig, ReloadError> {
        let file = self.path.display().to_string();
        crate::config::parse(&file, text, 0, [0; 32]).map_err(ReloadError::Invalid)
    }

    async fn apply(
        &self,
        text: &str,
        config: crate::config::ServerConfig,
        by: &str,
    ) -> Result<ReloadReport, ReloadError> {
        let file = self.path.display().to_string();
        let mut restart_needed = changed_sections(&self.started, text);
        if let Some(note) = tickets_calendar_waits(&self.started, text) {
            restart_needed.push(note);
        }
        let routing = config.routing;
        let (queues, agents) = (routing.queues.len(), routing.agents.len());
        // The event is dated when the switch is asked: what the new configuration does at
        // once (an offer to an agent just given a queue) comes after it in time.
        let at_ms = crate::api::now_ms();
        // The numbers may name menus by place: they follow the file only while its menus
        // are the ones that run (`[media]` as at start).
        let new_numbers = number_keys(text);
        let numbers_apply = section(&self.started, "media") == section(text, "media");
        let numbers = match numbers_apply {
            true => Some((config.switch.numbers, config.switch.default_target)),
            false => {
                let running = self.numbers_running.lock().expect("not poisoned");
                if *running != new_numbers {
                    restart_needed.push("sip.numbers (with the menus of [media])".into());
                }
                None
            }
        };
        let phones = config.switch.agents.len();
        let live = crate::switch::LiveConfig {
            routing: routing.clone(),
            calendars: config.switch.calendars,
            accounts: config.switch.agents,
            numbers,
        };
        match self.switch.reconfigure(live).await {
            None => return Err(ReloadError::Unavailable),
            Some(Err(why)) => return Err(ReloadError::Refused(why)),
            Some(Ok(())) => {}
        }
        if numbers_apply {
            *self.numbers_running.lock().expect("not poisoned") = new_numbers;
        }
        // The wall first, at once: the log's next rows may name what was just added.
        let agent_names = routing.agents.iter().map(|a| a.name.clone()).collect();
        let queue_names = routing.queues.iter().map(|q| q.name.clone()).collect();
        if let Some(wall) = &self.wall {
            wall.reconfigure(Arc::new(routing));
        }
        if let Some(outbound) = &self.outbound {
            outbound.set_names(agent_names, queue_names).await;
        }
        if let Some(dispositions) = &self.dispositions {
            dispositions.set(config.dispositions);
        }
        let report = ReloadReport {
            queues,
            agents,
            phones,
            restart_needed,
        };
        if let Some(events) = &self.events {
            let _ = events
                .append(NewEvent {
                    at_ms,
                    kind: "config.reloaded".into(),
                    contact_id: None,
                    agent: None,
                    queue: None,
                    data: serde_json::json!({
                        "file": file,
                        "by": by,
                        "queues": report.queues,
                        "agents": report.agents,
                        "phones": report.phones,
                        "restart_needed": report.restart_needed,
                    }),
                })
                .await;
        }
        Ok(report)
    }
}

fn table(text: &str) -> toml::Table {
    text.parse::<toml::Table>().unwrap_or_default()
}

/// A top-level section of a text of the file (already known to parse).
fn section(text: &str, name: &str) -> Option<toml::Value> {
    table(text).remove(name)
}

/// The values of `[sip]`'s number keys ([`SIP_NUMBER_KEYS`]).
fn number_keys(text: &str) -> Vec<Option<toml::Value>> {
    let mut sip = match section(text, "sip") {
        Some(toml::Value::Table(sip)) => sip,
        _ => toml::Table::new(),
    };
    SIP_NUMBER_KEYS.iter().map(|key| sip.remove(*key)).collect()
}

/// Why a reload or edit was refused, as the event log keeps it: what the answer says, except
/// what may quote the file's secrets (the phones' and trunks' passwords): problems in `[sip]`
/// and syntax errors keep their place and field only. The log goes to webhooks.
fn logged_reason(error: &ReloadError) -> String {
    const WITHHELD: &str = "(not logged: it may quote a password; the answer said it)";
    match error {
        ReloadError::Invalid(diagnostics) => diagnostics
            .0
            .iter()
            .map(|d| {
                if d.field.starts_with("sip") || d.field.starts_with('(') {
                    format!(
                        "{}:{}:{}: {}: {WITHHELD}",
                        d.file, d.line, d.column, d.field
                    )
                } else {
                    d.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
        ReloadError::Edit(crate::config_edit::EditError::Syntax(_)) => {
            format!("the configuration file does not parse {WITHHELD}")
        }
        ReloadError::Restore { restore, .. } => format!(
            "an edit was refused and the file could not be put back ({restore}): the file \
             now differs from what runs"
        ),
        other => other.to_string(),
    }
}

/// The top-level sections outside [`LIVE_SECTIONS`] whose values differ between two texts of
/// the file (both already known to parse), in name order; `[sip]` without its
/// [`LIVE_SIP_KEYS`].
pub fn changed_sections(before: &str, after: &str) -> Vec<String> {
    let without_live = |mut table: toml::Table| {
        if let Some(toml::Value::Table(sip)) = table.get_mut("sip") {
            for key in LIVE_SIP_KEYS {
                sip.remove(key);
            }
        }
        table
    };
    let (before, after) = (without_live(table(before)), without_live(table(after)));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| !LIVE_SECTIONS.contains(&name.as_str()))
        .filter(|name| before.get(*name) != after.get(*name))
        .cloned()
        .collect()
}

/// The tickets' SLA clock keeps the calendar it started with: when the calendar that
/// `[tickets] calendar` names changed, that waits for a restart.
fn tickets_calendar_waits(before: &str, after: &str) -> Option<String> {
    let (before, after) = (table(before), table(after));
    let named = after
        .get("tickets")
        .and_then(|t| t.get("calendar"))
        .and_then(toml::Value::as_str)?;
    let calendar = |t: &toml::Table| {
        t.get("calendars")
            .and_then(toml::Value::as_array)
            .and_then(|all| {
                all.iter()
                    .find(|c| c.get("name").and_then(toml::Value::as_str) == Some(named))
            })
            .cloned()
    };
    (calendar(&before) != calendar(&after))
        .then(|| format!("calendars ({named:?} for the tickets' SLA clock)"))
}

fn write_in_place(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let path = std::fs::canonicalize(path)?;
    let directory = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the file has no directory"))?;
    let permissions = std::fs::metadata(&path)?.permissions();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = directory.join(format!(".{name}.{}.writing", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    let written = (|| {
        file.set_permissions(permissions)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(directory)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_logged_without_what_may_quote_a_password() {
        let text = "[sip]\n[[sip.accounts]]\nagent = \"ann\"\npassword = 31415926\n\
                    [routing]\n[[routing.queues]]\nname = \"general\"\n\
                    [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n";
        let refused = |text: &str| match crate::config::parse("x.toml", text, 0, [0; 32]) {
            Err(diagnostics) => ReloadError::Invalid(diagnostics),
            Ok(_) => panic!("{text} is wrong"),
        };
        let error = refused(text);
        assert!(
            error.to_string().contains("31415926"),
            "the answer says it: {error}"
        );
        let logged = logged_reason(&error);
        assert!(!logged.contains("31415926"), "{logged}");
        assert!(logged.contains("x.toml:4:"), "the place stays: {logged}");
        // Problems elsewhere are logged as said.
        let elsewhere = refused(
            &text
                .replace("31415926", "\"31415926\"")
                .replace("[\"general\"]", "[\"general\", \"nowhere\"]"),
        );
        assert_eq!(logged_reason(&elsewhere), elsewhere.to_string());
        assert!(logged_reason(&elsewhere).contains("nowhere"));
        let broken = ReloadError::Edit(crate::config_edit::EditError::Syntax(
            "expected `\"` at password = \"hunter2".into(),
        ));
        assert!(!logged_reason(&broken).contains("hunter2"));
    }

    #[test]
    fn only_the_sections_a_reload_does_not_apply_are_named_and_only_when_they_differ() {
        let before = "[sip]\nrealm = \"a\"\n[routing]\nreasons = [\"break\"]\n\
                      [[calendars]]\nname = \"office\"\n[wall]\nlongest_wait_alert = 60\n";
        // Routing and calendars changed: applied live, nothing to restart for.
        let live = before
            .replace("[\"break\"]", "[\"break\", \"lunch\"]")
            .replace("\"office\"\n", "\"office\"\nmon = \"09:00-18:00\"\n");
        assert_eq!(changed_sections(before, &live), Vec::<String>::new());
        // The same table written another way is no change.
        let reordered = "[wall]\nlongest_wait_alert = 60\n[sip]\nrealm = \"a\"\n\
                         [routing]\nreasons = [\"break\"]\n[[calendars]]\nname = \"office\"\n";
        assert_eq!(changed_sections(before, reordered), Vec::<String>::new());
        let other = before
            .replace("realm = \"a\"", "realm = \"b\"")
            .replace("longest_wait_alert = 60", "")
            + "[tickets]\ncalendar = \"office\"\n";
        assert_eq!(changed_sections(before, &other), ["sip", "tickets", "wall"]);
        // The agents' accounts and the numbers are applied live; the rest of [sip] is not.
        let phones = before.replace(
            "realm = \"a\"\n",
            "realm = \"a\"\ndefault_queue = \"general\"\n\
             [[sip.accounts]]\nagent = \"ann\"\npassword = \"secret-1\"\n\
             [[sip.numbers]]\nnumber = \"95588\"\nqueue = \"general\"\n",
        );
        assert_eq!(changed_sections(before, &phones), Vec::<String>::new());
        assert_eq!(
            changed_sections(&phones, &phones.replace("realm = \"a\"", "realm = \"b\"")),
            ["sip"]
        );
        // New hours for a calendar the tickets count in: their SLA clock waits for a restart.
        let tickets = format!("{before}[tickets]\ncalendar = \"office\"\n");
        let new_hours = tickets.replace(
            "\"office\"\n[wall]",
            "\"office\"\nmon = \"09:00-18:00\"\n[wall]",
        );
        assert_eq!(tickets_calendar_waits(&tickets, &tickets), None);
        assert_eq!(
            tickets_calendar_waits(&tickets, &new_hours).as_deref(),
            Some("calendars (\"office\" for the tickets' SLA clock)")
        );
        assert_eq!(tickets_calendar_waits(before, &live), None);
    }
}
