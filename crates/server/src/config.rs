//! The server's configuration file, and the demo configuration `hotline serve` runs when
//! given none.
//!
//! ```toml
//! [sip]
//! listen = "0.0.0.0:5060"        # UDP and TCP
//! realm = "hotline"              # digest realm and agents' domain
//! default_queue = "general"      # for dialled numbers not listed (omit: 404)
//! digest = ["SHA-256", "MD5"]    # challenges offered, in order (default)
//!
//! [[sip.accounts]]               # one per agent phone; the user is the routing agent's name
//! agent = "ann"
//! password = "change-me"         # or ha1_md5 / ha1_sha256 = "hex"
//!
//! [[sip.numbers]]
//! number = "95588"
//! queue = "general"
//! hours = "office"               # optional: a calendar; outside its hours the call goes to
//! closed_menu = "night"          # closed_menu or closed_queue (a menu saying the hours, say)
//!
//! [[calendars]]                  # business hours and holidays (crate hotline-calendar)
//! name = "office"
//! time_zone = "Asia/Shanghai"    # the default
//! weekly = { mon = "08:00-20:00", tue = "08:00-20:00", wed = "08:00-20:00", thu = "08:00-20:00", fri = "08:00-20:00", sat = "09:00-17:00" }
//! holidays = ["2026-10-01..2026-10-07"]
//! workdays = [{ date = "2026-09-27", hours = "08:00-20:00" }]   # make-up working days (调休)
//!
//! [[sip.trunks]]                 # who may send calls in
//! name = "carrier"
//! allow = ["203.0.113.0/24"]
//! address = "203.0.113.5:5060"   # where callbacks and transfers are dialled (UDP); omit:
//!                                # calls in only
//! username = "0108888"           # optional: answers the carrier's digest challenges (401/407)
//! password = "change-me"         #   to the calls hotline places through it
//!
//! [media]                        # anchored media (on by default)
//! address = "198.51.100.7"       # the address in our SDP (default: the listen address)
//! rtp_ports = "16384-32767"      # RTP on even ports, RTCP on the next (default: any free)
//! language = "zh-CN"             # or "en"; a menu's own language wins
//! announce_every = 30            # seconds between position/wait announcements
//! callback_digit = "1"           # "" offers no callback
//! record = "stereo"              # "off", "mono" or "stereo"
//! prompts = "/etc/hotline/prompts"   # WAV files replacing the built-in prompts
//! survey = 8                     # after the agent hangs up, ask the caller for 1-5 and wait
//!                                # this many seconds for the key (omit or 0: no survey)
//!
//! [[media.menus]]
//! name = "main"
//! prompts = ["zh/welcome_menu"]
//! options = { "1" = "queue:general", "3" = "play:zh/opening_hours", "4" = "transfer:4008123123" }
//! default = "hangup"             # when the repeats run out (timeout, repeats)
//!
//! [routing]                      # queues, agents, skills: the format `hotline sim` reads
//!
//! [tickets]                      # SLA policies, departments, follow-ups (crate hotline-tickets)
//! calendar = "office"            # business hours the SLA counts in (omit: always)
//! escalate_to = "shift-leads"    # who a breached ticket goes to
//! policies = [{ name = "complaints", category = "complaint/*", first_response = "1h", resolution = "8h" },
//!             { name = "urgent", priority = "urgent", first_response = "30m", resolution = "4h" }]
//! routes = [{ category = "complaint/*", department = "customer-care" }, { category = "*", department = "service" }]
//! follow_ups = [{ category = "complaint/*", after = "3d" }]   # 回访, moved into open hours
//!
//! [records]
//! retention_days = 365           # then interactions' notes and survey comments are removed
//!
//! [wrap_up]                      # the outcomes agents choose at the end of a contact
//! dispositions = [{ code = "resolved", zh = "已解决", en = "Resolved" }, "refund", "other"]
//!
//! [wall]
//! longest_wait_alert = 60        # seconds a caller may wait before the wall alerts
//! promise_alert = 120            # seconds before a callback's promise, if not dialled yet
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hotline_media::announce::Language;
use hotline_routing::QueueId;

use hotline_config::Diagnostics;
use hotline_routing::RoutingConfig;
use hotline_sip::{Credentials, TransactionConfig};
use serde::Deserialize;

use crate::switch::{
    Hours, IpNet, MediaSettings, Menu, MenuAction, NumberRoute, RecordMode, SipAgent, Survey,
    SwitchConfig, Target, Trunk, TrunkAuth, DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_MAX_CALLS,
};

/// A whole server configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Where to listen for SIP (UDP and TCP).
    pub listen: SocketAddr,
    /// The switch's settings (its `local` is `listen`, made concrete once bound).
    pub switch: SwitchConfig,
    /// Queues, agents, skills.
    pub routing: RoutingConfig,
    /// A directory of prompt files replacing the built-in ones (`<id>.wav`).
    pub prompts: Option<PathBuf>,
    /// Passwords of the demo's accounts, to print at start; empty for a configured server.
    pub demo_passwords: Vec<(String, String)>,
    /// Tickets' SLA policies, departments and follow-ups (`[tickets]`); always open with the
    /// default policy when left out.
    pub tickets: hotline_tickets::TicketRules,
    /// When callbacks may be dialled and how they are retried (`[dialer]`: legal hours,
    /// regions, attempts, retry delays, the promise); the defaults when left out.
    pub dialer: hotline_dialer::DialerRules,
    /// Days after which interactions' and survey answers' personal data is removed
    /// (`[records] retention_days`); kept until deleted when left out.
    pub retention_days: Option<u32>,
    /// The most outbound attempts under way at once (`[outbound] max_in_flight`, 1 to
    /// [`crate::switch::MAX_OUTBOUND_ATTEMPTS`]).
    pub outbound_in_flight: u32,
    /// What the outbound fallbacks' messages say and give (`[outbound]` links and benefit).
    pub notices: crate::notify::NoticeSettings,
    /// How callbacks are placed (`[outbound] mode`: `agent_first`, the default, or
    /// `automatic`).
    pub outbound_mode: crate::switch::OutboundMode,
    /// The wall's alert limits (`[wall]`); the queues' service-level goals are the routing
    /// configuration's.
    pub alert_rules: crate::alerts::AlertRules,
    /// The outcomes agents give contacts at the wrap-up (`[wrap_up] dispositions`; the
    /// defaults when left out).
    pub dispositions: Vec<crate::wrap_up::Disposition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapUpSection {
    dispositions: Vec<DispositionEntry>,
}

/// `"refund"`, or `{ code = "refund", zh = "退款", en = "Refund" }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum DispositionEntry {
    Code(String),
    Labelled {
        code: String,
        zh: Option<String>,
        en: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WallSection {
    /// Seconds a caller may wait before the wall raises `longest_wait`.
    longest_wait_alert: Option<i64>,
    /// Seconds before a callback's promise at which one not dialled raises
    /// `callback_promise`.
    promise_alert: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OutboundSection {
    queue: Option<String>,
    caller_id: Option<String>,
    max_in_flight: Option<i64>,
    chat_url: Option<String>,
    booking_url: Option<String>,
    apology_coupon: Option<String>,
    apology_tag: Option<String>,
    mode: Option<String>,
}

/// The most outbound attempts under way at once by default (`[outbound] max_in_flight`).
pub const DEFAULT_OUTBOUND_IN_FLIGHT: u32 = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsSection {
    retention_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SipSection {
    listen: Option<String>,
    realm: Option<String>,
    default_queue: Option<String>,
    default_menu: Option<String>,
    #[serde(default)]
    accounts: Vec<AccountSection>,
    #[serde(default)]
    numbers: Vec<NumberSection>,
    #[serde(default)]
    trunks: Vec<TrunkSection>,
    max_calls: Option<usize>,
    digest: Option<Vec<String>>,
    /// Seconds a customer's phone rings on a callback.
    dial_timeout: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSection {
    agent: String,
    password: Option<String>,
    ha1_md5: Option<String>,
    ha1_sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberSection {
    number: String,
    queue: Option<String>,
    menu: Option<String>,
    /// A calendar's name: outside its hours the call goes to `closed_queue` or `closed_menu`.
    hours: Option<String>,
    closed_queue: Option<String>,
    closed_menu: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct MediaSection {
    enabled: Option<bool>,
    address: Option<String>,
    prompts: Option<String>,
    language: Option<String>,
    announce_every: Option<u64>,
    callback_digit: Option<String>,
    record: Option<String>,
    rtp_ports: Option<String>,
    survey: Option<u64>,
    #[serde(default)]
    menus: Vec<MenuSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MenuSection {
    name: String,
    language: Option<String>,
    prompts: Vec<String>,
    timeout: Option<u64>,
    repeats: Option<u32>,
    default: Option<String>,
    #[serde(default)]
    options: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkSection {
    name: String,
    allow: Vec<String>,
    address: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The default SIP port.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:5060";

fn error(file: &str, field: &str, message: String) -> Diagnostics {
    Diagnostics::from(hotline_config::Diagnostic::at_span(
        file,
        "",
        0..0,
        field,
        message,
    ))
}

/// Reads a configuration from TOML text.
pub fn parse(
    file: &str,
    text: &str,
    seed: u64,
    secret: [u8; 32],
) -> Result<ServerConfig, Diagnostics> {
    let mut document = hotline_config::parse_document(file, text)?;
    let routing_section = document.get_mut().remove("routing");
    let sip_section = document.get_mut().remove("sip");
    let media_section = document.get_mut().remove("media");
    let calendars_section = document.get_mut().remove("calendars");
    let tickets_section = document.get_mut().remove("tickets");
    let records_section = document.get_mut().remove("records");
    let dialer_section = document.get_mut().remove("dialer");
    let outbound_section = document.get_mut().remove("outbound");
    let wall_section = document.get_mut().remove("wall");
    let wrap_up_section = document.get_mut().remove("wrap_up");
    if let Some(unknown) = document.get_ref().keys().next() {
        let unknown = unknown.get_ref().to_string();
        return Err(error(
            file,
            &unknown,
            format!(
                "unknown table [{unknown}]; the tables are [sip], [media], [[calendars]], \
                 [routing], [tickets], [records], [dialer], [outbound], [wall] and [wrap_up]"
            ),
        ));
    }
    let Some(routing_section) = routing_section else {
        return Err(error(
            file,
            "routing",
            "required table [routing] is missing".into(),
        ));
    };
    let routing = hotline_config::parse_routing_section(file, text, routing_section)?;
    let sip: SipSection = match sip_section {
        Some(section) => hotline_config::deserialize_section(file, text, "sip", section)?,
        None => return Err(error(file, "sip", "required table [sip] is missing".into())),
    };
    let listen_text = sip.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        error(
            file,
            "sip.listen",
            format!("{listen_text:?} is not an address:port"),
        )
    })?;
    let queue = |field: &str, name: &str| {
        routing
            .queue_id(name)
            .ok_or_else(|| error(file, field, format!("no queue named {name:?} in [routing]")))
    };
    let media: MediaSection = match media_section {
        Some(section) => hotline_config::deserialize_section(file, text, "media", section)?,
        None => MediaSection::default(),
    };
    let menu_names: Vec<&str> = media.menus.iter().map(|m| m.name.as_str()).collect();
    let menu = |field: &str, name: &str| {
        menu_names
            .iter()
            .position(|m| *m == name)
            .ok_or_else(|| error(file, field, format!("no menu named {name:?} in [media]")))
    };
    let target = |field: &str, queue_name: &Option<String>, menu_name: &Option<String>| match (
        queue_name, menu_name,
    ) {
        (Some(q), None) => Ok(Some(Target::Queue(queue(&format!("{field}queue"), q)?))),
        (None, Some(m)) => Ok(Some(Target::Menu(menu(&format!("{field}menu"), m)?))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(error(
            file,
            field.trim_end_matches(['.', '_']),
            "give a queue or a menu, not both".into(),
        )),
    };
    let default_target = target("sip.default_", &sip.default_queue, &sip.default_menu)?;
    let calendar_specs: Vec<hotline_calendar::CalendarSpec> = match calendars_section {
        Some(section) => hotline_config::deserialize_section(file, text, "calendars", section)?,
        None => Vec::new(),
    };
    let mut calendars: Vec<hotline_calendar::Calendar> = Vec::new();
    for (i, spec) in calendar_specs.iter().enumerate() {
        let calendar = hotline_calendar::Calendar::from_spec(spec).map_err(|e| {
            error(
                file,
                &format!("calendars[{i}].{}", e.field()),
                e.message().to_string(),
            )
        })?;
        if calendars.iter().any(|c| c.name() == calendar.name()) {
            return Err(error(
                file,
                &format!("calendars[{i}].name"),
                format!("a second calendar named {:?}", calendar.name()),
            ));
        }
        calendars.push(calendar);
    }
    let tickets = match tickets_section {
        Some(section) => {
            let spec: hotline_tickets::TicketsSpec =
                hotline_config::deserialize_section(file, text, "tickets", section)?;
            hotline_tickets::TicketRules::from_spec(&spec, |name| {
                calendars.iter().find(|c| c.name() == name).cloned()
            })
            .map_err(|e| {
                error(
                    file,
                    &format!("tickets.{}", e.field()),
                    e.message().to_string(),
                )
            })?
        }
        None => hotline_tickets::TicketRules::default(),
    };
    let dialer = match dialer_section {
        Some(section) => {
            let spec: hotline_dialer::DialerConfig =
                hotline_config::deserialize_section(file, text, "dialer", section)?;
            hotline_dialer::DialerRules::from_config(&spec).map_err(|e| {
                error(
                    file,
                    &format!("dialer.{}", e.field()),
                    e.message().to_string(),
                )
            })?
        }
        None => hotline_dialer::DialerRules::default(),
    };
    let retention_days = match records_section {
        Some(section) => {
            let records: RecordsSection =
                hotline_config::deserialize_section(file, text, "records", section)?;
            match records.retention_days {
                Some(days) if !(1..=crate::retention::MAX_RETENTION_DAYS).contains(&days) => {
                    return Err(error(
                        file,
                        "records.retention_days",
                        format!(
                            "{days} is not between 1 and {} days",
                            crate::retention::MAX_RETENTION_DAYS
                        ),
                    ));
                }
                days => days,
            }
        }
        None => None,
    };
    let dispositions = match wrap_up_section {
        None => crate::wrap_up::default_dispositions(),
        Some(section) => {
            let wrap_up: WrapUpSection =
                hotline_config::deserialize_section(file, text, "wrap_up", section)?;
            let list: Vec<crate::wrap_up::Disposition> = wrap_up
                .dispositions
                .into_iter()
                .map(|entry| match entry {
                    DispositionEntry::Code(code) => crate::wrap_up::Disposition {
                        zh: code.clone(),
                        en: code.clone(),
                        code,
                    },
                    DispositionEntry::Labelled { code, zh, en } => crate::wrap_up::Disposition {
                        zh: zh.unwrap_or_else(|| code.clone()),
                        en: en.unwrap_or_else(|| code.clone()),
                        code,
                    },
                })
                .collect();
            crate::wrap_up::check(&list).map_err(|(field, why)| error(file, &field, why))?;
            list
        }
    };
    let mut alert_rules = crate::alerts::AlertRules::default();
    if let Some(section) = wall_section {
        let wall: WallSection = hotline_config::deserialize_section(file, text, "wall", section)?;
        let max_s = crate::alerts::MAX_ALERT_LIMIT_MS / 1000;
        for (name, value, slot) in [
            (
                "wall.longest_wait_alert",
                wall.longest_wait_alert,
                &mut alert_rules.longest_wait_ms,
            ),
            (
                "wall.promise_alert",
                wall.promise_alert,
                &mut alert_rules.promise_within_ms,
            ),
        ] {
            match value {
                Some(s) if !(1..=max_s).contains(&s) => {
                    return Err(error(
                        file,
                        name,
                        format!("{s} is not between 1 and {max_s} seconds"),
                    ))
                }
                Some(s) => *slot = s * 1000,
                None => {}
            }
        }
    }
    let media_settings = media_settings(file, &media, &listen, &queue, &menu)?;
    let mut digest_algorithms = Vec::new();
    for (i, name) in sip.digest.iter().flatten().enumerate() {
        match hotline_sip::Algorithm::from_token(name) {
            Some(algorithm) if !algorithm.is_session() => digest_algorithms.push(algorithm),
            _ => {
                return Err(error(
                    file,
                    &format!("sip.digest[{i}]"),
                    format!("{name:?} is not a digest algorithm (\"SHA-256\" or \"MD5\")"),
                ))
            }
        }
    }
    if sip.digest.as_ref().is_some_and(|d| d.is_empty()) {
        return Err(error(
            file,
            "sip.digest",
            "name at least one algorithm".into(),
        ));
    }
    let mut agents = Vec::new();
    for (i, account) in sip.accounts.iter().enumerate() {
        let field = format!("sip.accounts[{i}]");
        if routing.agent_id(&account.agent).is_none() {
            return Err(error(
                file,
                &field,
                format!("no agent named {:?} in [routing]", account.agent),
            ));
        }
        let credentials = match (&account.password, &account.ha1_md5, &account.ha1_sha256) {
            (Some(p), None, None) => Credentials::Password(p.clone()),
            (None, Some(h), None) => Credentials::Ha1Md5(h.clone()),
            (None, None, Some(h)) => Credentials::Ha1Sha256(h.clone()),
            _ => {
                return Err(error(
                    file,
                    &field,
                    "give exactly one of password, ha1_md5, ha1_sha256".into(),
                ))
            }
        };
        agents.push(SipAgent {
            name: account.agent.clone(),
            credentials,
        });
    }
    let mut numbers = Vec::new();
    for (i, n) in sip.numbers.iter().enumerate() {
        let field = format!("sip.numbers[{i}]");
        let closed = target(&format!("{field}.closed_"), &n.closed_queue, &n.closed_menu)?;
        let Some(target) = target(&format!("{field}."), &n.queue, &n.menu)? else {
            return Err(error(file, &field, "give a queue or a menu".into()));
        };
        let hours = match (&n.hours, closed) {
            (None, None) => None,
            (Some(name), Some(closed)) => {
                let calendar =
                    calendars
                        .iter()
                        .position(|c| c.name() == name)
                        .ok_or_else(|| {
                            error(
                                file,
                                &format!("{field}.hours"),
                                format!("no calendar named {name:?} in [[calendars]]"),
                            )
                        })?;
                Some(Hours { calendar, closed })
            }
            (Some(_), None) => {
                return Err(error(
                    file,
                    &format!("{field}.hours"),
                    "say where calls go when closed: closed_queue or closed_menu".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(error(
                    file,
                    &field,
                    "closed_queue or closed_menu needs hours (a calendar's name)".into(),
                ))
            }
        };
        numbers.push(NumberRoute {
            number: n.number.clone(),
            target,
            hours,
        });
    }
    let mut trunks = Vec::new();
    for (i, t) in sip.trunks.iter().enumerate() {
        let mut allow = Vec::new();
        for (j, a) in t.allow.iter().enumerate() {
            allow.push(IpNet::parse(a).ok_or_else(|| {
                error(
                    file,
                    &format!("sip.trunks[{i}].allow[{j}]"),
                    format!("{a:?} is not an address or network (such as 10.0.0.0/8)"),
                )
            })?);
        }
        let address = match &t.address {
            None => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                error(
                    file,
                    &format!("sip.trunks[{i}].address"),
                    format!("{text:?} is not an address and port (such as 203.0.113.5:5060)"),
                )
            })?),
        };
        let auth = match (&t.username, &t.password) {
            (None, None) => None,
            (Some(username), Some(password)) if !username.is_empty() => Some(TrunkAuth {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => {
                return Err(error(
                    file,
                    &format!("sip.trunks[{i}].username"),
                    "give both username and password (digest towards the carrier), or neither"
                        .into(),
                ))
            }
        };
        trunks.push(Trunk {
            name: t.name.clone(),
            allow,
            address,
            auth,
        });
    }
    let outbound: OutboundSection = match outbound_section {
        Some(section) => hotline_config::deserialize_section(file, text, "outbound", section)?,
        None => OutboundSection::default(),
    };
    let outbound_queue = match &outbound.queue {
        Some(name) => Some(routing.queue_id(name).ok_or_else(|| {
            error(
                file,
                "outbound.queue",
                format!("no queue {name:?} in [routing]"),
            )
        })?),
        None => None,
    };
    let max_in_flight = outbound
        .max_in_flight
        .unwrap_or(i64::from(DEFAULT_OUTBOUND_IN_FLIGHT));
    if !(1..=crate::switch::MAX_OUTBOUND_ATTEMPTS as i64).contains(&max_in_flight) {
        return Err(error(
            file,
            "outbound.max_in_flight",
            format!(
                "{max_in_flight}: give 1 to {}",
                crate::switch::MAX_OUTBOUND_ATTEMPTS
            ),
        ));
    }
    let notices = crate::notify::NoticeSettings {
        chat_url: setting(file, "outbound.chat_url", outbound.chat_url, true)?,
        booking_url: setting(file, "outbound.booking_url", outbound.booking_url, true)?,
        apology_coupon: setting(
            file,
            "outbound.apology_coupon",
            outbound.apology_coupon,
            false,
        )?,
        apology_tag: setting(file, "outbound.apology_tag", outbound.apology_tag, false)?,
    };
    let outbound_mode = match outbound.mode.as_deref() {
        None | Some("agent_first") => crate::switch::OutboundMode::AgentFirst,
        Some("automatic") => crate::switch::OutboundMode::Automatic,
        Some("preview") => crate::switch::OutboundMode::Preview,
        Some(other) => {
            return Err(error(
                file,
                "outbound.mode",
                format!("{other:?}: agent_first, automatic or preview"),
            ))
        }
    };
    let caller_id = outbound.caller_id.unwrap_or_default();
    if !caller_id.chars().all(|c| c.is_ascii_digit() || c == '+') || caller_id.len() > 32 {
        return Err(error(
            file,
            "outbound.caller_id",
            format!("{caller_id:?}: digits (and a leading +), at most 32"),
        ));
    }
    Ok(ServerConfig {
        listen,
        switch: SwitchConfig {
            local: listen,
            realm: sip.realm.unwrap_or_else(|| "hotline".into()),
            secret,
            digest_algorithms,
            agents,
            numbers,
            default_target,
            calendars,
            media: media_settings,
            trunks,
            seed,
            transactions: TransactionConfig::default(),
            max_calls: sip.max_calls.unwrap_or(DEFAULT_MAX_CALLS),
            dial_timeout_ms: dial_timeout_ms(file, sip.dial_timeout)?,
            first_contact_id: 1,
            caller_lookup: None,
            outbound: crate::switch::OutboundSettings {
                queue: outbound_queue,
                caller_id,
            },
        },
        routing,
        prompts: media.prompts.map(PathBuf::from),
        demo_passwords: Vec::new(),
        tickets,
        dialer,
        retention_days,
        outbound_in_flight: max_in_flight as u32,
        notices,
        outbound_mode,
        alert_rules,
        dispositions,
    })
}

/// A text setting of the fallbacks' messages: trimmed, not empty, at most
/// [`crate::notify::MAX_SETTING_BYTES`], and an `http(s)://` link where `link` says so.
fn setting(
    file: &str,
    field: &str,
    value: Option<String>,
    link: bool,
) -> Result<Option<String>, Diagnostics> {
    let Some(value) = value else {
        return Ok(None);
    };
    let value = value.trim().to_string();
    let problem = if value.is_empty() {
        Some("empty: leave it out instead".to_string())
    } else if value.len() > crate::notify::MAX_SETTING_BYTES {
        Some(format!(
            "longer than {} bytes",
            crate::notify::MAX_SETTING_BYTES
        ))
    } else if link && !(value.starts_with("https://") || value.starts_with("http://")) {
        Some(format!(
            "{value:?}: a link starting with https:// or http://"
        ))
    } else if value.chars().any(char::is_control) {
        Some("control characters".to_string())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(error(file, field, problem)),
        None => Ok(Some(value)),
    }
}

/// The longest a callback may ring the customer, in seconds.
pub const MAX_DIAL_TIMEOUT_S: u64 = 300;

fn dial_timeout_ms(file: &str, seconds: Option<u64>) -> Result<u64, Diagnostics> {
    match seconds {
        None => Ok(DEFAULT_DIAL_TIMEOUT_MS),
        Some(s) if (1..=MAX_DIAL_TIMEOUT_S).contains(&s) => Ok(s * 1000),
        Some(s) => Err(error(
            file,
            "sip.dial_timeout",
            format!("{s} is not between 1 and {MAX_DIAL_TIMEOUT_S} seconds"),
        )),
    }
}

/// A language name: `zh-CN` (or `zh`) and `en`.
fn language(file: &str, field: &str, name: &str) -> Result<Language, Diagnostics> {
    match name {
        "zh-CN" | "zh" | "zh-Hans" => Ok(Language::ZhCn),
        "en" | "en-US" | "en-GB" => Ok(Language::En),
        _ => Err(error(
            file,
            field,
            format!("{name:?} is not a language (\"zh-CN\" or \"en\")"),
        )),
    }
}

type Lookup<'a> = &'a dyn Fn(&str, &str) -> Result<usize, Diagnostics>;

fn media_settings(
    file: &str,
    media: &MediaSection,
    listen: &SocketAddr,
    queue: &dyn Fn(&str, &str) -> Result<QueueId, Diagnostics>,
    menu: Lookup<'_>,
) -> Result<MediaSettings, Diagnostics> {
    let defaults = MediaSettings::default();
    let address = match &media.address {
        Some(text) => text.parse().map_err(|_| {
            error(
                file,
                "media.address",
                format!("{text:?} is not an IP address"),
            )
        })?,
        // An unspecified listen address cannot go in SDP: loopback until configured.
        None if listen.ip().is_unspecified() => defaults.address,
        None => listen.ip(),
    };
    let record = match media.record.as_deref() {
        None | Some("off") => None,
        Some("mono") => Some(RecordMode::Mono),
        Some("stereo") => Some(RecordMode::Stereo),
        Some(other) => {
            return Err(error(
                file,
                "media.record",
                format!("{other:?} is not \"off\", \"mono\" or \"stereo\""),
            ))
        }
    };
    let callback_digit = match media.callback_digit.as_deref() {
        None => defaults.callback_digit,
        Some("") => None,
        Some(key) => Some(digit(file, "media.callback_digit", key)?),
    };
    let action = |field: &str, text: &str| -> Result<MenuAction, Diagnostics> {
        let (kind, value) = text.split_once(':').unwrap_or((text, ""));
        match kind {
            "queue" => Ok(MenuAction::Queue(queue(field, value)?)),
            "menu" => Ok(MenuAction::Menu(menu(field, value)?)),
            "play" if !value.is_empty() => Ok(MenuAction::Play(
                value.split(',').map(|p| p.trim().to_string()).collect(),
            )),
            "hangup" => Ok(MenuAction::HangUp),
            "transfer" if crate::switch::valid_transfer_number(value) => {
                Ok(MenuAction::Transfer(value.to_string()))
            }
            "transfer" => Err(error(
                file,
                field,
                format!(
                    "{value:?} is not a number to transfer to (digits, * and #, an optional \
                     leading +, at most {} characters)",
                    crate::switch::MAX_TRANSFER_NUMBER
                ),
            )),
            _ => Err(error(
                file,
                field,
                format!(
                    "{text:?} is not an action (\"queue:NAME\", \"menu:NAME\", \
                     \"play:PROMPT,PROMPT\", \"transfer:NUMBER\" or \"hangup\")"
                ),
            )),
        }
    };
    let mut menus = Vec::new();
    for (i, m) in media.menus.iter().enumerate() {
        let field = format!("media.menus[{i}]");
        let mut options = Vec::new();
        for (key, text) in &m.options {
            let option_field = format!("{field}.options.{key}");
            options.push((
                digit(file, &option_field, key)?,
                action(&option_field, text)?,
            ));
        }
        let language = match &m.language {
            Some(name) => language(file, &format!("{field}.language"), name)?,
            None => media
                .language
                .as_deref()
                .map(|name| language(file, "media.language", name))
                .transpose()?
                .unwrap_or(defaults.language),
        };
        menus.push(Menu {
            name: m.name.clone(),
            language,
            prompts: m.prompts.clone(),
            options,
            timeout_ms: m.timeout.unwrap_or(6) * 1000,
            repeats: m.repeats.unwrap_or(2),
            default: match &m.default {
                Some(text) => action(&format!("{field}.default"), text)?,
                None => MenuAction::HangUp,
            },
        });
    }
    Ok(MediaSettings {
        enabled: media.enabled.unwrap_or(true),
        address,
        language: match &media.language {
            Some(name) => language(file, "media.language", name)?,
            None => defaults.language,
        },
        announce_every_ms: media.announce_every.unwrap_or(30) * 1000,
        callback_digit,
        record,
        rtp_ports: match &media.rtp_ports {
            Some(text) => Some(rtp_ports(text).ok_or_else(|| {
                error(
                    file,
                    "media.rtp_ports",
                    format!(
                        "{text:?} is not a port range \"FIRST-LAST\" with FIRST even, at \
                         least 1024, and room for {MIN_RTP_PORT_PAIRS} RTP/RTCP pairs"
                    ),
                )
            })?),
            None => None,
        },
        menus,
        survey: match media.survey {
            None | Some(0) => None,
            Some(seconds) if seconds <= MAX_SURVEY_WAIT_SECONDS => Some(Survey {
                timeout_ms: seconds * 1000,
            }),
            Some(seconds) => {
                return Err(error(
                    file,
                    "media.survey",
                    format!(
                        "{seconds} seconds is too long to wait for a survey key (at most \
                         {MAX_SURVEY_WAIT_SECONDS})"
                    ),
                ))
            }
        },
    })
}

/// The longest wait for a survey key that may be configured, in seconds.
pub const MAX_SURVEY_WAIT_SECONDS: u64 = 60;

/// The fewest RTP/RTCP port pairs a configured range may hold.
pub const MIN_RTP_PORT_PAIRS: u32 = 16;

/// `"FIRST-LAST"`: an even first port from 1024, room for [`MIN_RTP_PORT_PAIRS`] pairs.
fn rtp_ports(text: &str) -> Option<(u16, u16)> {
    let (first, last) = text.split_once('-')?;
    let first: u16 = first.trim().parse().ok()?;
    let last: u16 = last.trim().parse().ok()?;
    let pairs = (u32::from(last) + 1).checked_sub(u32::from(first))? / 2;
    (first >= 1024 && first.is_multiple_of(2) && pairs >= MIN_RTP_PORT_PAIRS)
        .then_some((first, last))
}

/// One key of a telephone keypad.
fn digit(file: &str, field: &str, text: &str) -> Result<char, Diagnostics> {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ ('0'..='9' | '*' | '#' | 'A'..='D')), None) => Ok(c),
        _ => Err(error(
            file,
            field,
            format!("{text:?} is not a key (0-9, *, #, A-D)"),
        )),
    }
}

/// Reads a configuration file.
pub fn load(path: &Path, seed: u64, secret: [u8; 32]) -> Result<ServerConfig, Diagnostics> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(&file, "", format!("cannot read the file: {e}")))?;
    parse(&file, &text, seed, secret)
}

/// The demo's numbers: 95588 answers with the IVR menu (Mandarin, 9 for English), every other
/// number goes straight to the queue.
const DEMO_NUMBERS_AND_MENUS: &str = r#"[[sip.numbers]]
number = "95588"
menu = "main"
[media]
announce_every = 20
[[media.menus]]
name = "main"
language = "zh-CN"
prompts = ["zh/welcome_menu", "en/for_english"]
default = "queue:general"
options = { "1" = "queue:general", "2" = "queue:general", "3" = "play:zh/opening_hours", "9" = "menu:english" }
[[media.menus]]
name = "english"
language = "en"
prompts = ["en/welcome_menu"]
default = "queue:general"
options = { "1" = "queue:general", "2" = "queue:general", "3" = "play:en/opening_hours" }
"#;

/// The demo: one queue, four agents `1001`–`1004` with passwords made from `seed`; 95588
/// answers with an IVR menu, every other number goes to the queue; calls accepted from
/// loopback only.
pub fn demo(listen: SocketAddr, seed: u64, secret: [u8; 32]) -> ServerConfig {
    let (text, passwords) = demo_text(seed);
    let mut config = parse("demo", &text, seed, secret).expect("the demo configuration is valid");
    config.listen = listen;
    config.switch.local = listen;
    config.demo_passwords = passwords;
    config
}

/// The demo's configuration file (its listening address apart) and its agents' passwords:
/// `hotline demo` writes it to its data directory, so that the admin page can edit it.
pub fn demo_text(seed: u64) -> (String, Vec<(String, String)>) {
    let mut state = seed;
    let passwords: Vec<(String, String)> = (1001..=1004)
        .map(|n| {
            let password = format!("{:010x}", hotline_sip::splitmix64(&mut state) >> 24);
            (n.to_string(), password)
        })
        .collect();
    let mut text = String::from(
        "[sip]\nrealm = \"hotline\"\ndefault_queue = \"general\"\n\
         [[sip.trunks]]\nname = \"loopback\"\nallow = [\"127.0.0.0/8\", \"::1\"]\n",
    );
    for (user, password) in &passwords {
        text.push_str(&format!(
            "[[sip.accounts]]\nagent = \"{user}\"\npassword = \"{password}\"\n"
        ));
    }
    text.push_str(DEMO_NUMBERS_AND_MENUS);
    text.push_str(
        "[routing]\n[routing.offers]\noffer_timeout = 15\n[[routing.queues]]\nname = \"general\"\n",
    );
    for (user, _) in &passwords {
        text.push_str(&format!(
            "[[routing.agents]]\nname = \"{user}\"\nqueues = [\"general\"]\n"
        ));
    }
    (text, passwords)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_parses() {
        let config = demo("127.0.0.1:5060".parse().unwrap(), 1, [0; 32]);
        assert_eq!(config.switch.agents.len(), 4);
        assert_eq!(config.demo_passwords.len(), 4);
        assert!(config.switch.default_target.is_some());
        assert!(config.switch.media.enabled);
        assert_eq!(config.switch.media.menus.len(), 2);
    }

    #[test]
    fn a_number_for_an_unknown_queue_is_refused_with_its_field() {
        let text = "[sip]\n[[sip.numbers]]\nnumber = \"1\"\nqueue = \"nope\"\n\
                    [routing]\n[[routing.queues]]\nname = \"general\"\n\
                    [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n";
        let error = parse("x.toml", text, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("sip.numbers[0].queue"), "{error}");
        assert!(error.contains("nope"), "{error}");
    }

    #[test]
    fn a_number_with_hours_goes_to_its_closed_target_and_calendar_errors_name_their_field() {
        let good = format!(
            "[sip]\n[[sip.numbers]]\nnumber = \"95588\"\nqueue = \"general\"\n\
             hours = \"office\"\nclosed_menu = \"night\"\n\
             [[calendars]]\nname = \"office\"\nweekly = {{ mon = \"09:00-18:00\" }}\n\
             holidays = [\"2026-10-01..2026-10-07\"]\n\
             [media]\n[[media.menus]]\nname = \"night\"\nprompts = [\"zh/opening_hours\"]\n{ONE_AGENT}"
        );
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        let hours = config.switch.numbers[0].hours.as_ref().unwrap();
        assert_eq!(hours.calendar, 0);
        assert_eq!(hours.closed, Target::Menu(0));
        assert_eq!(config.switch.calendars[0].name(), "office");
        let bad = good.replace("09:00-18:00", "09:00-25:00");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("calendars[0].weekly.mon"), "{error}");
        let unnamed = good.replace("hours = \"office\"", "hours = \"shop\"");
        let error = parse("x.toml", &unnamed, 1, [0; 32])
            .unwrap_err()
            .to_string();
        assert!(error.contains("sip.numbers[0].hours"), "{error}");
        assert!(error.contains("no calendar named \"shop\""), "{error}");
        let nowhere = good.replace("closed_menu = \"night\"\n", "");
        let error = parse("x.toml", &nowhere, 1, [0; 32])
            .unwrap_err()
            .to_string();
        assert!(error.contains("closed_queue or closed_menu"), "{error}");
    }

    #[test]
    fn tickets_count_in_a_named_calendar_and_their_errors_name_the_field() {
        let good = format!(
            "[sip]\n[[calendars]]\nname = \"office\"\nweekly = {{ mon = \"09:00-18:00\" }}\n\
             [tickets]\ncalendar = \"office\"\nroutes = [{{ category = \"*\", department = \"service\" }}]\n\
             policies = [{{ name = \"p\", first_response = \"1h\", resolution = \"8h\" }}]\n{ONE_AGENT}"
        );
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        assert_eq!(config.tickets.calendar().name(), "office");
        assert_eq!(config.tickets.department_for("billing"), Some("service"));
        let bad = good.replace("\"8h\"", "\"8x\"");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("tickets.policies[0].resolution"), "{error}");
        let unnamed = good.replace("calendar = \"office\"", "calendar = \"shop\"");
        let error = parse("x.toml", &unnamed, 1, [0; 32])
            .unwrap_err()
            .to_string();
        assert!(error.contains("tickets.calendar"), "{error}");
    }

    #[test]
    fn retention_is_a_bounded_number_of_days() {
        let good = format!("[sip]\n[records]\nretention_days = 365\n{ONE_AGENT}");
        assert_eq!(
            parse("x.toml", &good, 1, [0; 32]).unwrap().retention_days,
            Some(365)
        );
        let none = format!("[sip]\n{ONE_AGENT}");
        assert_eq!(
            parse("x.toml", &none, 1, [0; 32]).unwrap().retention_days,
            None
        );
        let bad = good.replace("365", "0");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("records.retention_days"), "{error}");
    }

    #[test]
    fn the_wrap_up_outcomes_are_the_centers_own_or_the_defaults() {
        let none = parse("x.toml", &format!("[sip]\n{ONE_AGENT}"), 1, [0; 32]).unwrap();
        assert_eq!(none.dispositions, crate::wrap_up::default_dispositions());
        let own = format!(
            "[sip]\n[wrap_up]\ndispositions = [{{ code = \"refund\", zh = \"退款\", en = \"Refund\" }}, \"other\"]\n{ONE_AGENT}"
        );
        let config = parse("x.toml", &own, 1, [0; 32]).unwrap();
        let codes: Vec<_> = config
            .dispositions
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert_eq!(codes, ["refund", "other"]);
        assert_eq!(config.dispositions[0].zh, "退款");
        assert_eq!(
            config.dispositions[1].en, "other",
            "a bare code is its own label"
        );
        let bad = own.replace("\"refund\", zh", "\"Refund!\", zh");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("wrap_up.dispositions[0].code"), "{error}");
        let unknown = format!("[sip]\n[wrapup]\n{ONE_AGENT}");
        let error = parse("x.toml", &unknown, 1, [0; 32])
            .unwrap_err()
            .to_string();
        assert!(error.contains("[wall] and [wrap_up]"), "{error}");
    }

    #[test]
    fn the_walls_alert_limits_are_bounded_seconds() {
        let good = format!("[sip]\n[wall]\nlongest_wait_alert = 30\n{ONE_AGENT}");
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        assert_eq!(config.alert_rules.longest_wait_ms, 30_000);
        assert_eq!(
            config.alert_rules.promise_within_ms,
            crate::alerts::DEFAULT_PROMISE_ALERT_MS
        );
        for bad in ["longest_wait_alert = 0", "promise_alert = 86401"] {
            let text = format!("[sip]\n[wall]\n{bad}\n{ONE_AGENT}");
            let error = parse("x.toml", &text, 1, [0; 32]).unwrap_err().to_string();
            assert!(error.contains("wall."), "{error}");
        }
    }

    #[test]
    fn an_unknown_table_is_refused_by_name() {
        let text = format!("[sip]\n[medai]\nenabled = false\n{ONE_AGENT}");
        let error = parse("x.toml", &text, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("unknown table [medai]"), "{error}");
    }

    const ONE_AGENT: &str = "[routing]\n[[routing.queues]]\nname = \"general\"\n\
                             [[routing.agents]]\nname = \"ann\"\nqueues = [\"general\"]\n";

    #[test]
    fn a_trunk_dials_out_through_its_address_and_a_bad_one_names_its_field() {
        let good = format!(
            "[sip]\ndial_timeout = 45\n[[sip.trunks]]\nname = \"carrier\"\n\
             allow = [\"203.0.113.0/24\"]\naddress = \"203.0.113.5:5060\"\n{ONE_AGENT}"
        );
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        assert_eq!(
            config.switch.trunks[0].address,
            Some("203.0.113.5:5060".parse().unwrap())
        );
        assert_eq!(config.switch.dial_timeout_ms, 45_000);
        assert_eq!(config.switch.media.callback_digit, Some('1'));
        let bad = good.replace("203.0.113.5:5060", "carrier.example");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("sip.trunks[0].address"), "{error}");
        let slow = good.replace("dial_timeout = 45", "dial_timeout = 0");
        let error = parse("x.toml", &slow, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("sip.dial_timeout"), "{error}");
    }

    #[test]
    fn a_menu_key_transfers_to_an_outside_number_and_a_bad_number_names_its_field() {
        let good = format!(
            "[sip]\n[[sip.trunks]]\nname = \"carrier\"\nallow = [\"203.0.113.0/24\"]\n\
             address = \"203.0.113.5:5060\"\n\
             [media]\n[[media.menus]]\nname = \"main\"\nprompts = [\"zh/welcome_menu\"]\n\
             options = {{ \"4\" = \"transfer:+864008123123\" }}\n{ONE_AGENT}"
        );
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        assert_eq!(
            config.switch.media.menus[0].options,
            vec![('4', MenuAction::Transfer("+864008123123".into()))]
        );
        let bad = good.replace("+864008123123", "400 812");
        let error = parse("x.toml", &bad, 1, [0; 32]).unwrap_err().to_string();
        assert!(error.contains("media.menus[0].options.4"), "{error}");
        assert!(error.contains("not a number to transfer to"), "{error}");
    }

    #[test]
    fn rtp_ports_are_an_even_first_port_and_room_for_sixteen_pairs() {
        let good = format!("[sip]\n[media]\nrtp_ports = \"16384-32767\"\n{ONE_AGENT}");
        let config = parse("x.toml", &good, 1, [0; 32]).unwrap();
        assert_eq!(config.switch.media.rtp_ports, Some((16_384, 32_767)));
        for bad in [
            "16385-32767",
            "2000-2010",
            "100-9000",
            "32767-16384",
            "many",
        ] {
            let text = good.replace("16384-32767", bad);
            let error = parse("x.toml", &text, 1, [0; 32]).unwrap_err().to_string();
            assert!(error.contains("media.rtp_ports"), "{bad}: {error}");
        }
    }
}
