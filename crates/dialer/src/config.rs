//! [`DialerConfig`], the `[dialer]` section as written, and [`DialerRules`], the same checked
//! and built.

use std::sync::Arc;

use hotline_calendar::{Calendar, CalendarError, CalendarSpec, WeeklySpec, DEFAULT_TIME_ZONE};
use serde::Deserialize;

use crate::duration::{parse_duration, show};
use crate::{
    ConfigError, E164Number, Outcome, APOLOGY_AFTER_MAX_MS, ASAP_HORIZON_MAX_MS,
    ASAP_PROMISE_MAX_MS, ATTEMPTS_MAX, ATTEMPTS_PER_DAY_MAX, DEFAULT_APOLOGY_AFTER_MS,
    DEFAULT_ASAP_HORIZON_MS, DEFAULT_ASAP_PROMISE_MS, DEFAULT_LEGAL_HOURS,
    DEFAULT_LEGAL_HOURS_NAME, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS_PER_DAY,
    DEFAULT_RETRY_BUSY_MS, DEFAULT_RETRY_NETWORK_FAILURE_MS, DEFAULT_RETRY_NO_ANSWER_MS,
    DEFAULT_RETRY_REJECTED_MS, E164_DIGITS_MAX, MAX_TASKS, REGIONS_MAX, RETRY_DELAY_MAX_MS,
};

/// The `[dialer]` section of the configuration. Every key may be left out; the defaults are
/// those of [`DialerConfig::default`].
///
/// ```toml
/// [dialer]
/// # When calls are allowed by law, in the local time of the number's region. Left out:
/// # 08:00-21:00 every day in Asia/Shanghai, no holidays.
/// legal_hours = { name = "mainland", weekly = { mon = "08:00-21:00", tue = "08:00-21:00", wed = "08:00-21:00", thu = "08:00-21:00", fri = "08:00-21:00", sat = "08:00-21:00", sun = "08:00-21:00" }, holidays = ["2026-10-01"] }
/// max_attempts = 6              # attempts per task in all
/// max_attempts_per_day = 3      # attempts per task on one local date of its legal hours
/// asap_promise = "30s"          # an ASAP callback is promised this long after it may start
/// apology_after = "5m"          # a first dial later than this after its promise: apologise
/// asap_horizon = "3d"           # an ASAP request not dialled within this long fails
/// max_tasks = 2000000
///
/// [dialer.retry]                # how long after each outcome the next attempt may start
/// busy = "5m"
/// no_answer = "20m"
/// rejected = "1h"
/// network_failure = "2m"
///
/// [[dialer.regions]]            # numbers beginning with the longest matching prefix
/// prefix = "+852"
/// legal_hours = { name = "hong_kong", time_zone = "Asia/Hong_Kong", weekly = { mon = "09:00-20:00", tue = "09:00-20:00", wed = "09:00-20:00", thu = "09:00-20:00", fri = "09:00-20:00" } }
/// ```
///
/// Durations are text: days of 24 hours, hours, minutes and seconds, in that order, each unit
/// at most once: `"30s"`, `"5m"`, `"1h30m"`, `"3d"` (the tickets section's form, with seconds
/// added). Counts are integers.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DialerConfig {
    /// The legal calling hours of numbers no region matches, as a calendar (weekly hours,
    /// holidays on which no call is allowed, make-up working days, time zone). Default:
    /// 08:00-21:00 every day in Asia/Shanghai.
    pub legal_hours: CalendarSpec,
    /// Other legal hours for numbers beginning with a prefix; the longest matching prefix
    /// applies.
    pub regions: Vec<RegionSpec>,
    /// The most attempts a task gets, 1 to [`ATTEMPTS_MAX`]. Default 6.
    pub max_attempts: i64,
    /// The most attempts a task gets on one local date of its legal hours' time zone, 1 to
    /// [`ATTEMPTS_PER_DAY_MAX`] and at most `max_attempts`. Default 3.
    pub max_attempts_per_day: i64,
    /// How long after a failed attempt the next may start, by outcome.
    pub retry: RetrySpec,
    /// How long after the instant a task may first be dialled the customer is promised the
    /// call, at most [`ASAP_PROMISE_MAX_MS`]. Default `"30s"`.
    pub asap_promise: String,
    /// How late after its promise a first dial may start before the customer is owed an
    /// apology ([`Event::PromiseMissed`](crate::Event::PromiseMissed)), at most
    /// [`APOLOGY_AFTER_MAX_MS`]. Default `"5m"`.
    pub apology_after: String,
    /// How long an ASAP request stays valid: its window is from the request to this much
    /// later, at most [`ASAP_HORIZON_MAX_MS`]. Default `"3d"`.
    pub asap_horizon: String,
    /// The most active tasks, 1 to [`MAX_TASKS`]. Default [`MAX_TASKS`].
    pub max_tasks: i64,
}

impl Default for DialerConfig {
    fn default() -> DialerConfig {
        DialerConfig {
            legal_hours: default_legal_hours(),
            regions: Vec::new(),
            max_attempts: i64::from(DEFAULT_MAX_ATTEMPTS),
            max_attempts_per_day: i64::from(DEFAULT_MAX_ATTEMPTS_PER_DAY),
            retry: RetrySpec::default(),
            asap_promise: show(DEFAULT_ASAP_PROMISE_MS),
            apology_after: show(DEFAULT_APOLOGY_AFTER_MS),
            asap_horizon: show(DEFAULT_ASAP_HORIZON_MS),
            max_tasks: MAX_TASKS as i64,
        }
    }
}

/// The default legal hours: [`DEFAULT_LEGAL_HOURS`] every day in
/// [`DEFAULT_TIME_ZONE`](hotline_calendar::DEFAULT_TIME_ZONE), no holidays.
fn default_legal_hours() -> CalendarSpec {
    let hours = || Some(DEFAULT_LEGAL_HOURS.to_owned());
    CalendarSpec {
        name: DEFAULT_LEGAL_HOURS_NAME.to_owned(),
        time_zone: Some(DEFAULT_TIME_ZONE.to_owned()),
        weekly: WeeklySpec {
            mon: hours(),
            tue: hours(),
            wed: hours(),
            thu: hours(),
            fri: hours(),
            sat: hours(),
            sun: hours(),
        },
        holidays: Vec::new(),
        workdays: Vec::new(),
    }
}

/// The delays before the next attempt, by the outcome of the last: the `[dialer.retry]` table.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySpec {
    /// After a busy line. Default `"5m"`.
    pub busy: String,
    /// After ringing unanswered. Default `"20m"`.
    pub no_answer: String,
    /// After the customer declined the call. Default `"1h"`.
    pub rejected: String,
    /// After the network failed the call (and after an attempt whose result was lost in a
    /// restart). Default `"2m"`.
    pub network_failure: String,
}

impl Default for RetrySpec {
    fn default() -> RetrySpec {
        RetrySpec {
            busy: show(DEFAULT_RETRY_BUSY_MS),
            no_answer: show(DEFAULT_RETRY_NO_ANSWER_MS),
            rejected: show(DEFAULT_RETRY_REJECTED_MS),
            network_failure: show(DEFAULT_RETRY_NETWORK_FAILURE_MS),
        }
    }
}

/// The legal hours of the numbers beginning with a prefix.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// `"+"` and 1 to [`E164_DIGITS_MAX`] digits, such as `"+852"`; unique in the list.
    pub prefix: String,
    /// The region's legal calling hours.
    pub legal_hours: CalendarSpec,
}

/// The retry delays in milliseconds, by outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryDelays {
    /// After [`Outcome::Busy`].
    pub busy_ms: u64,
    /// After [`Outcome::NoAnswer`].
    pub no_answer_ms: u64,
    /// After [`Outcome::Rejected`].
    pub rejected_ms: u64,
    /// After [`Outcome::NetworkFailure`] and [`Outcome::Unknown`].
    pub network_failure_ms: u64,
}

impl RetryDelays {
    /// The delay after `outcome`; `None` for the outcomes that end the task
    /// ([`Outcome::Connected`], [`Outcome::InvalidNumber`]).
    pub fn after(&self, outcome: Outcome) -> Option<u64> {
        match outcome {
            Outcome::Busy => Some(self.busy_ms),
            Outcome::NoAnswer => Some(self.no_answer_ms),
            Outcome::Rejected => Some(self.rejected_ms),
            Outcome::NetworkFailure | Outcome::Unknown => Some(self.network_failure_ms),
            Outcome::Connected | Outcome::InvalidNumber => None,
        }
    }
}

/// The checked `[dialer]` section: built by [`DialerRules::from_config`];
/// [`DialerRules::default`] is the section left out.
#[derive(Clone, Debug)]
pub struct DialerRules {
    /// The legal hours by region: the default first, then each of `prefixes`' calendars.
    legal_hours: Vec<Arc<Calendar>>,
    /// Each region's prefix and its index in `legal_hours`, longest prefix first.
    prefixes: Vec<(String, u16)>,
    max_attempts: u32,
    max_attempts_per_day: u32,
    retry: RetryDelays,
    asap_promise_ms: u64,
    apology_after_ms: u64,
    asap_horizon_ms: u64,
    max_tasks: usize,
}

impl Default for DialerRules {
    fn default() -> DialerRules {
        // The default section is checked by a test, so this never falls back; if it did, a
        // calendar that is always open in the same zone keeps the dialer working.
        DialerRules::from_config(&DialerConfig::default()).unwrap_or_else(|_| DialerRules {
            legal_hours: vec![Arc::new(Calendar::always_open())],
            prefixes: Vec::new(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_attempts_per_day: DEFAULT_MAX_ATTEMPTS_PER_DAY,
            retry: RetryDelays {
                busy_ms: DEFAULT_RETRY_BUSY_MS,
                no_answer_ms: DEFAULT_RETRY_NO_ANSWER_MS,
                rejected_ms: DEFAULT_RETRY_REJECTED_MS,
                network_failure_ms: DEFAULT_RETRY_NETWORK_FAILURE_MS,
            },
            asap_promise_ms: DEFAULT_ASAP_PROMISE_MS,
            apology_after_ms: DEFAULT_APOLOGY_AFTER_MS,
            asap_horizon_ms: DEFAULT_ASAP_HORIZON_MS,
            max_tasks: MAX_TASKS,
        })
    }
}

impl DialerRules {
    /// Checks the section as written and builds the rules. The error names the first field at
    /// fault.
    pub fn from_config(config: &DialerConfig) -> Result<DialerRules, ConfigError> {
        let default_hours = calendar(&config.legal_hours, "legal_hours")?;

        if config.regions.len() > REGIONS_MAX {
            return Err(ConfigError::new(
                "regions",
                format!("{} entries; at most {REGIONS_MAX}", config.regions.len()),
            ));
        }
        let mut legal_hours = Vec::with_capacity(1 + config.regions.len());
        legal_hours.push(Arc::new(default_hours));
        let mut prefixes: Vec<(String, u16)> = Vec::with_capacity(config.regions.len());
        for (index, region) in config.regions.iter().enumerate() {
            let field = format!("regions[{index}]");
            check_prefix(&region.prefix)
                .map_err(|message| ConfigError::new(format!("{field}.prefix"), message))?;
            if let Some(earlier) = config.regions[..index]
                .iter()
                .position(|earlier| earlier.prefix == region.prefix)
            {
                return Err(ConfigError::new(
                    format!("{field}.prefix"),
                    format!(
                        "{:?} is also the prefix of regions[{earlier}]; each prefix once",
                        region.prefix
                    ),
                ));
            }
            let hours = calendar(&region.legal_hours, &format!("{field}.legal_hours"))?;
            // At most REGIONS_MAX + 1 calendars, so the index fits.
            let calendar_index = u16::try_from(legal_hours.len()).unwrap_or(u16::MAX);
            legal_hours.push(Arc::new(hours));
            prefixes.push((region.prefix.clone(), calendar_index));
        }
        prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));

        let max_attempts = count(config.max_attempts, "max_attempts", ATTEMPTS_MAX)?;
        let max_attempts_per_day = count(
            config.max_attempts_per_day,
            "max_attempts_per_day",
            ATTEMPTS_PER_DAY_MAX,
        )?;
        if max_attempts_per_day > max_attempts {
            return Err(ConfigError::new(
                "max_attempts_per_day",
                format!(
                    "{max_attempts_per_day} is more than max_attempts ({max_attempts}); a task \
                     never gets more attempts in a day than in all"
                ),
            ));
        }

        let retry = RetryDelays {
            busy_ms: duration(&config.retry.busy, "retry.busy", RETRY_DELAY_MAX_MS)?,
            no_answer_ms: duration(
                &config.retry.no_answer,
                "retry.no_answer",
                RETRY_DELAY_MAX_MS,
            )?,
            rejected_ms: duration(&config.retry.rejected, "retry.rejected", RETRY_DELAY_MAX_MS)?,
            network_failure_ms: duration(
                &config.retry.network_failure,
                "retry.network_failure",
                RETRY_DELAY_MAX_MS,
            )?,
        };
        let asap_promise_ms = duration(&config.asap_promise, "asap_promise", ASAP_PROMISE_MAX_MS)?;
        let apology_after_ms =
            duration(&config.apology_after, "apology_after", APOLOGY_AFTER_MAX_MS)?;
        let asap_horizon_ms = duration(&config.asap_horizon, "asap_horizon", ASAP_HORIZON_MAX_MS)?;
        let max_tasks = usize::try_from(config.max_tasks)
            .ok()
            .filter(|max| (1..=MAX_TASKS).contains(max))
            .ok_or_else(|| {
                ConfigError::new(
                    "max_tasks",
                    format!(
                        "{} is out of range; expected 1 to {MAX_TASKS}",
                        config.max_tasks
                    ),
                )
            })?;

        Ok(DialerRules {
            legal_hours,
            prefixes,
            max_attempts,
            max_attempts_per_day,
            retry,
            asap_promise_ms,
            apology_after_ms,
            asap_horizon_ms,
            max_tasks,
        })
    }

    /// The legal hours that apply to `number`: those of the region with the longest prefix it
    /// begins with, else the default ones.
    pub fn legal_hours_for(&self, number: &E164Number) -> &Calendar {
        self.legal_hours(self.region_of(number))
    }

    /// The legal hours of numbers no region matches (their time zone is the center's, for
    /// showing promises to people).
    pub fn default_legal_hours(&self) -> &Calendar {
        self.legal_hours(0)
    }

    /// The index in `legal_hours` of the region of `number` (0: the default).
    pub(crate) fn region_of(&self, number: &E164Number) -> u16 {
        let text = number.as_str();
        self.prefixes
            .iter()
            .find(|(prefix, _)| text.starts_with(prefix.as_str()))
            .map_or(0, |&(_, index)| index)
    }

    /// The legal hours of a region index from [`DialerRules::region_of`].
    pub(crate) fn legal_hours(&self, region: u16) -> &Calendar {
        // Region indexes come from `region_of` on these rules, so the fallback is never taken.
        match self
            .legal_hours
            .get(usize::from(region))
            .or_else(|| self.legal_hours.first())
        {
            Some(calendar) => calendar,
            None => always_open_fallback(),
        }
    }

    /// The most attempts a task gets.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The most attempts a task gets on one local date.
    pub fn max_attempts_per_day(&self) -> u32 {
        self.max_attempts_per_day
    }

    /// The retry delays by outcome.
    pub fn retry(&self) -> RetryDelays {
        self.retry
    }

    /// How long after its first allowed instant a task is promised.
    pub fn asap_promise_ms(&self) -> u64 {
        self.asap_promise_ms
    }

    /// How late a first dial may start after its promise before an apology is owed.
    pub fn apology_after_ms(&self) -> u64 {
        self.apology_after_ms
    }

    /// How long an ASAP request stays valid.
    pub fn asap_horizon_ms(&self) -> u64 {
        self.asap_horizon_ms
    }

    /// The most active tasks.
    pub fn max_tasks(&self) -> usize {
        self.max_tasks
    }
}

/// A calendar open at every instant, for the one fallback of [`DialerRules::legal_hours`]
/// that cannot happen; built once.
fn always_open_fallback() -> &'static Calendar {
    static ALWAYS_OPEN: std::sync::OnceLock<Calendar> = std::sync::OnceLock::new();
    ALWAYS_OPEN.get_or_init(Calendar::always_open)
}

/// Builds a calendar, its errors prefixed with `field`.
fn calendar(spec: &CalendarSpec, field: &str) -> Result<Calendar, ConfigError> {
    Calendar::from_spec(spec).map_err(|error: CalendarError| {
        ConfigError::new(format!("{field}.{}", error.field()), error.message())
    })
}

/// A region prefix: `+` and 1 to [`E164_DIGITS_MAX`] digits, the first not zero.
fn check_prefix(prefix: &str) -> Result<(), String> {
    let expected = "expected \"+\" and the leading digits of the numbers, such as \"+852\"";
    let digits = prefix
        .strip_prefix('+')
        .ok_or_else(|| format!("{prefix:?} does not begin with \"+\"; {expected}"))?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("{prefix:?} is not a number prefix; {expected}"));
    }
    if digits.len() > E164_DIGITS_MAX {
        return Err(format!(
            "{prefix:?} has {} digits; numbers have at most {E164_DIGITS_MAX}",
            digits.len()
        ));
    }
    if digits.starts_with('0') {
        return Err(format!("{prefix:?} begins with 0; country codes do not"));
    }
    Ok(())
}

/// A count from 1 to `max`.
fn count(value: i64, field: &str, max: u32) -> Result<u32, ConfigError> {
    u32::try_from(value)
        .ok()
        .filter(|value| (1..=max).contains(value))
        .ok_or_else(|| {
            ConfigError::new(
                field,
                format!("{value} is out of range; expected 1 to {max}"),
            )
        })
}

/// A duration of the section, at most `max_ms`.
fn duration(text: &str, field: &str, max_ms: u64) -> Result<u64, ConfigError> {
    parse_duration(text, max_ms).map_err(|message| ConfigError::new(field, message))
}
