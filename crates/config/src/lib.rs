//! hotline's configuration files: the `[routing]` table (skills, queues, agents, policies) and
//! scenario files for the simulator, read from TOML into the domain types ([`RoutingConfig`],
//! [`Scenario`]) with diagnostics that say where every problem is.
//!
//! The principal functions are [`parse_scenario`] / [`load_scenario`] (a simulated day),
//! [`parse_routing`] / [`load_routing`] (a file with a `[routing]` table, such as the
//! server's), and [`parse_routing_section`], the reusable part both are built on. They return
//! every problem found, not just the first, as [`Diagnostics`]: one [`Diagnostic`] per line,
//! `FILE:LINE:COL: FIELD: MESSAGE`.
//!
//! ```
//! let text = r#"
//! [routing]
//! skills = ["en"]
//! [[routing.queues]]
//! name = "support"
//! skills = ["en"]
//! [[routing.agents]]
//! name = "agent"
//! count = 5
//! skills = ["en:3"]
//! queues = ["support"]
//!
//! [[call_types]]
//! name = "support"
//! queue = "support"
//! rate = 30
//! handle_time = { distribution = "exponential", mean = "4m" }
//! "#;
//! let scenario = hotline_config::parse_scenario("support.toml", text).unwrap();
//! assert_eq!(scenario.routing.agents[4].name, "agent-005");
//!
//! let broken = text.replace(r#"queues = ["support"]"#, r#"queues = ["suport"]"#);
//! let problems = hotline_config::parse_scenario("support.toml", &broken).unwrap_err();
//! assert_eq!(
//!     problems.to_string(),
//!     r#"support.toml:11:11: routing.agents[0].queues[0]: unknown queue "suport"; known queues: support"#
//! );
//! ```
//!
//! This crate is the only one that knows the file format; the domain types do not derive
//! `Deserialize`. It does no IO except in the two `load_` functions.
//!
//! # The format
//!
//! A scenario file is a `[routing]` table, which is also what the server reads from its own
//! configuration file, plus the workload of the simulated day. Keys not listed here are
//! errors. A key with no default is required; "none" means the feature is off.
//!
//! **Durations** are strings of whole numbers with units from the largest down — `"90s"`,
//! `"4m"`, `"1h30m"`, `"2h"`, `"250ms"` — or an integer number of seconds (`90`).
//! **Names** of skills, queues, agents and tiers are how the file refers to them everywhere;
//! they are resolved to identifiers when the file is read.
//!
//! ## Top level (scenario files only)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | the file name without its extension | name for reports |
//! | `duration` | `"24h"` | length of the simulated day, at most `"168h"` |
//! | `interval` | `"30m"` | report interval, at least `"1m"` |
//! | `seed` | `1` | random seed; the same seed gives the same day |
//!
//! ## `[routing]`
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `skills` | none | skill names, such as `["accounts", "loans", "zh", "en"]`; no `:` in a name |
//! | `reasons` | none | not-ready reasons besides the built-in `logged_in`, `missed_offers` and `unreachable` |
//!
//! ### `[routing.priority]`: how customer attributes set a contact's place in its queue
//!
//! Contacts are ordered by class (higher first), then by seconds waited plus bonuses.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `urgency_bonus` | `0` | bonus per level of a segment's `urgency` |
//! | `prefer_human_bonus` | `0` | bonus for a segment with `prefer_human = true` |
//! | `high_value_threshold` | none | a segment's `value_score` at or above this earns `high_value_bonus` |
//! | `high_value_bonus` | `0` | |
//! | `tiers` | `[{ name = "standard" }]` | customer tiers, such as `[{ name = "standard" }, { name = "gold", bonus = "1m" }, { name = "vip", class = 1 }]`; each has a `name`, a `class` (default 0) and a `bonus` (default 0). Segments that name no tier get the first |
//!
//! ### `[routing.offers]`: offering a contact to an agent
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `offer_timeout` | `"20s"` | an offer not accepted within this is withdrawn and counts as missed |
//! | `max_missed_offers` | `2` | after this many missed offers in a row the agent is made not ready |
//! | `reoffer_after` | `"30s"` | an agent that rejected or missed a contact is not offered it again for this long |
//!
//! ### `[routing.callbacks]`: callbacks (virtual hold and requested callbacks)
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `max_attempts` | `3` | dials at most per callback |
//! | `retry_after_no_answer` | `"10m"` | wait before the next dial after no answer |
//! | `retry_after_busy` | `"5m"` | after a busy line |
//! | `retry_after_rejected` | `"30m"` | after the customer rejected the call |
//! | `retry_after_failure` | `"2m"` | after a network or trunk failure |
//!
//! ### `[routing.limits]`
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `max_contacts` | `1000000` | the most contacts held at once; further arrivals are refused |
//!
//! ### `[[routing.queues]]`: one per queue, at least one
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | | unique; no `:` in it |
//! | `skills` | none | skills every contact needs, `"skill"` or `"skill:min_proficiency"` (1 to 5, default 1); the first is the primary skill |
//! | `selection` | `"longest_idle"` | which ready agent gets a contact: `longest_idle`, `best_proficiency` (in the primary skill), `least_occupied` or `round_robin` |
//! | `max_waiting` | `1000` | the most contacts waiting at once |
//! | `wrap_up` | `0` | after-contact work time |
//! | `expected_handle_time` | `"3m"` | handle time assumed before any contact was handled, for wait estimates |
//! | `service_level` | `"80/20"` | `"PERCENT/SECONDS"`: the goal of answering PERCENT % of contacts within SECONDS |
//! | `short_abandon` | `"5s"` | callers hanging up within this are not counted against the service level |
//! | `max_wait` | none: wait until served or gone | `{ after = "10m", ... }` with exactly one of `overflow = "queue"` (move there, keeping the place in line), `leave = "voicemail"` (leave for a destination the server knows) or `callback = true` (become a callback) |
//!
//! ### `[[routing.queues.steps]]`: time steps of the queue above, in increasing `after`
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `after` | | time waited in the queue after which the step applies |
//! | `relax_proficiency` | `0` | lower every required proficiency by this much (never below 1) |
//! | `drop_skills` | none | names of skills no longer required |
//! | `add_skills` | none | skills required from now on, as in the queue's `skills` |
//! | `widen_to` | none | names of queues whose agents may take the contact too |
//! | `offer_callback` | `false` | offer the caller a callback that keeps its place |
//!
//! ### `[[routing.agents]]`: one per agent, or per group of identical agents
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | | the agent's name. With `count` above 1 the agents are named `NAME-001` to `NAME-COUNT`, the number zero-padded to the width of `count` and at least 3 digits (`acct-001` … `acct-040`) |
//! | `count` | `1` | how many identical agents; 0 leaves the entry out |
//! | `skills` | none | `"skill:proficiency"`, proficiency 1 (novice) to 5 (expert) |
//! | `queues` | none | the routing profile: `"queue"`, `"queue:priority"` or `"queue:priority:delay"`. Priority 1 (the default) is the highest; with a delay (default 0) the agent takes a contact only after it waited that long in the queue (backup agents) |
//! | `chat_capacity` | `0` | chats at once, at most 16; voice capacity is always 1 |
//!
//! ## The workload (scenario files only)
//!
//! ### `[agent_behaviour]`
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `answer_delay` | `"2s"` | time from an offer to the simulated agent answering |
//! | `breaks` | none | `{ every = "2h", length = "15m", reason = "break" }`: each logged-in agent goes not ready with that reason (one of `routing.reasons`) for `length` every `every`, staggered across agents; a conversation in progress is finished first |
//!
//! ### `[[shifts]]`: agents with no shift work the whole day
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `agents` | | a `[[routing.agents]]` entry's name (all of its agents), or one agent's name (`"acct-017"`) |
//! | `start` | | `"HH:MM"` from the start of the day; a bare TOML time (`08:00`) works too |
//! | `end` | | `"HH:MM"`, after `start`; `"24:00"` is the end of the first day, and later hours name later days |
//!
//! ### `[[call_types]]`: kinds of incoming contacts, at least one
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | | for reports; unique |
//! | `queue` | | the name of the queue the contacts join |
//! | `kind` | `"call"` | `call`, `chat` or `callback` (a requested callback) |
//! | `rate` | | calls per hour, all day |
//! | `arrivals` | | instead of `rate`: `{ period = "30m", per_hour = [10, 20, 40] }`, calls per hour in consecutive periods from the start of the day, the last rate holding after the list ends. Give exactly one of `rate` and `arrivals` |
//! | `handle_time` | | talk time (wrap-up comes from the queue), a distribution (below) |
//! | `patience` | none: callers never hang up | how long callers wait before hanging up, a distribution |
//! | `accepts_callback` | `0` | probability that a caller offered a callback takes it |
//! | `callback_answer_rate` | `0.8` | probability that a callback dial is answered |
//! | `callback_ring_time` | `"15s"` | ring time of a callback dial |
//!
//! **Distributions** are tables: `{ distribution = "fixed", value = "3m" }`,
//! `{ distribution = "exponential", mean = "3m" }` or
//! `{ distribution = "lognormal", mean = "4m", sd = "2m" }`.
//!
//! ### `[[call_types.segments]]`: shares of the call type above
//!
//! A call type without segments has one, `"all"`, with the defaults below.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `name` | | for reports; unique within the call type |
//! | `weight` | `1` | relative share of the call type's contacts |
//! | `tier` | the first tier | a tier name from `routing.priority.tiers` |
//! | `urgency` | `0` | urgency level, 0 to 255, each worth `urgency_bonus` |
//! | `prefer_human` | `false` | worth `prefer_human_bonus` |
//! | `value_score` | `0` | compared with `high_value_threshold` |
//! | `skills` | none | extra skills the segment needs, as in a queue's `skills` |
//! | `preferred_agent` | none | `{ agent = "vipdesk-001", wait = "45s" }`: callers wait this long for that agent first; `wait = "forever"` for a dedicated agent |
//!
//! # Diagnostics
//!
//! Each problem is one line, `FILE:LINE:COL: FIELD: MESSAGE`, such as
//! `payday.toml:41:13: routing.queues[1].selection: unknown value "fastest"; expected one of
//! longest_idle, best_proficiency, least_occupied, round_robin`. The line is that of the value
//! at fault, or of the entry (`[[routing.queues]]`) for a problem with the entry as a whole.
//!
//! - TOML syntax errors come all at once, as far as the parser can recover (field `(syntax)`).
//! - Otherwise `[routing]` and the workload are each read up to the first value of the wrong
//!   type or unknown key, so a file shows at most one such error for each.
//! - Once both are read, every unknown name and malformed value is reported, followed by the
//!   problems [`RoutingConfig::validate`] and [`Scenario::validate`] find. Whether every queue
//!   can be served by some agent is judged only on a configuration with no other routing
//!   problem.
//! - A problem with the agents of a `[[routing.agents]]` entry with a `count` names them in
//!   the field: `routing.agents[3] (acct-001…acct-040).chat_capacity`.
//! - A file that cannot be read is one diagnostic at line 0, field `(file)`.

#![warn(missing_docs)]

mod diagnostic;
mod locate;
mod routing;
mod scenario;
mod values;

use std::ops::Range;
use std::path::Path;

use hotline_routing::RoutingConfig;
use hotline_sim::Scenario;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use scenario::SHIFTS_MAX;

use diagnostic::Source;

/// Reads a scenario (routing configuration and workload) from `text`; `file` names it in
/// diagnostics. Returns every problem found, each at its line; the scenario returned has
/// passed [`Scenario::validate`].
pub fn parse_scenario(file: &str, text: &str) -> Result<Scenario, Diagnostics> {
    let document = diagnostic::parse_document(file, text)?;
    scenario::read_scenario(&Source::new(file, text), document)
}

/// Reads a scenario file; see [`parse_scenario`]. A file that cannot be read is one
/// diagnostic at line 0.
pub fn load_scenario(path: &Path) -> Result<Scenario, Diagnostics> {
    let (file, text) = read_file(path)?;
    parse_scenario(&file, &text)
}

/// Reads the `[routing]` table of a file, such as the server's configuration file; other
/// top-level keys belong to the caller and are not looked at. The configuration returned has
/// passed [`RoutingConfig::validate`].
pub fn parse_routing(file: &str, text: &str) -> Result<RoutingConfig, Diagnostics> {
    let mut document = diagnostic::parse_document(file, text)?;
    match document.get_mut().remove("routing") {
        Some(section) => parse_routing_section(file, text, section),
        None => Err(Source::new(file, text)
            .at(
                0..0,
                "routing",
                "required table [routing] is missing (skills, queues and agents)",
            )
            .into()),
    }
}

/// Reads a file with a `[routing]` table; see [`parse_routing`].
pub fn load_routing(path: &Path) -> Result<RoutingConfig, Diagnostics> {
    let (file, text) = read_file(path)?;
    parse_routing(&file, &text)
}

/// Reads a `[routing]` table taken from a document parsed with [`parse_document`] (`text` is
/// that document, `file` its name): the part of the format that scenario files and the
/// server's configuration share. Fields in diagnostics are named `routing.…`.
pub fn parse_routing_section(
    file: &str,
    text: &str,
    section: Spanned<DeValue<'_>>,
) -> Result<RoutingConfig, Diagnostics> {
    let src = Source::new(file, text);
    let mut resolved = routing::read_routing(&src, section)?;
    let diagnostics = resolved.check(&src);
    if diagnostics.is_empty() {
        Ok(resolved.config)
    } else {
        Err(Diagnostics::finish(diagnostics))
    }
}

/// Parses a TOML document, keeping the spans of its values, for a caller that reads some
/// tables itself and hands `[routing]` to [`parse_routing_section`]. Reports every syntax
/// error the parser can recover from.
pub fn parse_document<'i>(file: &str, text: &'i str) -> Result<Spanned<DeTable<'i>>, Diagnostics> {
    diagnostic::parse_document(file, text)
}

/// Deserializes one table (or any value) of a document parsed with [`parse_document`] into
/// the caller's own `T`, with a diagnostic like this crate's own on failure; `field` is the
/// value's path in the document (`"server"`), put in front of the path of the field at fault.
pub fn deserialize_section<'i, T: Deserialize<'i>>(
    file: &str,
    text: &str,
    field: &str,
    value: Spanned<DeValue<'i>>,
) -> Result<T, Diagnostics> {
    diagnostic::deserialize_value(&Source::new(file, text), field, value).map_err(Diagnostics::from)
}

impl Diagnostic {
    /// A diagnostic at the start of `span`, a byte range of `text` (such as the span of a
    /// [`toml::Spanned`] value), with its line and column worked out.
    pub fn at_span(
        file: &str,
        text: &str,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Source::new(file, text).at(span, field, message)
    }
}

/// The largest configuration file read; a larger one is refused rather than read into memory.
pub const FILE_BYTES_MAX: u64 = 32 * 1024 * 1024;

/// Reads a file as UTF-8 text, named by its path for diagnostics.
fn read_file(path: &Path) -> Result<(String, String), Diagnostics> {
    use std::io::Read;
    let file = path.display().to_string();
    let src = Source::new(&file, "");
    let cannot_read =
        |e: std::io::Error| Diagnostics::from(src.whole_file(format!("cannot read the file: {e}")));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(FILE_BYTES_MAX + 1).read_to_end(&mut bytes))
        .map_err(cannot_read)?;
    if bytes.len() as u64 > FILE_BYTES_MAX {
        return Err(src
            .whole_file(format!(
                "the file is larger than {} MiB",
                FILE_BYTES_MAX / (1024 * 1024)
            ))
            .into());
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostics::from(src.whole_file(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )))
    })?;
    Ok((file, text))
}
