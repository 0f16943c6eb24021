//! Small value types as written in the files: durations, times of day, keywords, and the short
//! string forms (`"accounts:2"`, `"general:3:30s"`, `"80/20"`).

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// What a duration looks like, for error messages.
pub(crate) const DURATION_EXPECTED: &str =
    r#"a duration such as "90s", "4m", "1h30m" or a number of seconds"#;

/// What a time of day looks like, for error messages.
const CLOCK_EXPECTED: &str = r#"a time of day "HH:MM" such as "08:00" or "24:00""#;

/// The most hours a time of day may name: a scenario may run for a week.
const CLOCK_HOURS_MAX: u64 = 7 * 24;

/// A duration as written: `"90s"`, `"4m"`, `"1h30m"`, `"250ms"` or an integer number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dur(pub Duration);

/// Parses `"1h30m"`-style text. Units: `h`, `m`, `s`, `ms`, each at most once and from the
/// largest down, so that a slip such as `"1m30m"` is caught rather than added up.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("ms", 1), ("m", 60_000), ("s", 1_000)];
    // Rank of each unit from the largest down; "ms" is matched before "m" above but ranks last.
    fn rank(unit: &str) -> usize {
        match unit {
            "h" => 0,
            "m" => 1,
            "s" => 2,
            _ => 3,
        }
    }
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total_ms: u64 = 0;
    let mut next_rank = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, unit_ms) = UNITS.iter().find(|(unit, _)| rest.starts_with(unit))?;
        if rank(unit) < next_rank {
            return None;
        }
        next_rank = rank(unit) + 1;
        rest = &rest[unit.len()..];
        total_ms = total_ms.checked_add(number.checked_mul(*unit_ms)?)?;
    }
    Some(Duration::from_millis(total_ms))
}

struct DurVisitor;

impl Visitor<'_> for DurVisitor {
    type Value = Dur;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DURATION_EXPECTED)
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Dur, E> {
        Ok(Dur(Duration::from_secs(seconds)))
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Dur, E> {
        u64::try_from(seconds)
            .map(|s| Dur(Duration::from_secs(s)))
            .map_err(|_| E::custom(format!("a duration cannot be negative ({seconds})")))
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Dur, E> {
        Err(E::custom(format!(
            "invalid duration {seconds}; expected {DURATION_EXPECTED} (whole seconds, or \"ms\")"
        )))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Dur, E> {
        parse_duration(text).map(Dur).ok_or_else(|| {
            E::custom(format!(
                "invalid duration {text:?}; expected {DURATION_EXPECTED}"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dur, D::Error> {
        deserializer.deserialize_any(DurVisitor)
    }
}

/// How long to wait for a preferred agent: a duration or `"forever"` (a dedicated agent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Wait(pub Duration);

struct WaitVisitor;

impl Visitor<'_> for WaitVisitor {
    type Value = Wait;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DURATION_EXPECTED}, or \"forever\"")
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Wait, E> {
        DurVisitor.visit_u64(seconds).map(|d| Wait(d.0))
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Wait, E> {
        DurVisitor.visit_i64(seconds).map(|d| Wait(d.0))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Wait, E> {
        if text.trim() == "forever" {
            return Ok(Wait(Duration::MAX));
        }
        parse_duration(text).map(Wait).ok_or_else(|| {
            E::custom(format!(
                "invalid wait {text:?}; expected {DURATION_EXPECTED}, or \"forever\""
            ))
        })
    }
}

impl<'de> Deserialize<'de> for Wait {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Wait, D::Error> {
        deserializer.deserialize_any(WaitVisitor)
    }
}

/// A time of day as an offset from the start of the simulated day: `"08:00"`; `"24:00"` is the
/// end of the first day, and later hours name later days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClockTime(pub Duration);

/// Parses `"HH:MM"` (or `"HH:MM:00"`, which is how a bare TOML time comes through).
fn parse_clock(text: &str) -> Option<Duration> {
    let mut parts = text.trim().split(':');
    let hours = parts.next()?;
    let minutes = parts.next()?;
    let seconds = parts.next();
    if parts.next().is_some()
        || hours.is_empty()
        || hours.len() > 3
        || minutes.len() != 2
        || !hours
            .bytes()
            .chain(minutes.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Some(seconds) = seconds {
        // Only whole minutes: "08:00:00" is fine, "08:00:30" is not.
        if !(seconds == "00"
            || seconds.starts_with("00.") && seconds[3..].bytes().all(|b| b == b'0'))
        {
            return None;
        }
    }
    let hours: u64 = hours.parse().ok()?;
    let minutes: u64 = minutes.parse().ok()?;
    if minutes >= 60 || hours > CLOCK_HOURS_MAX || (hours == CLOCK_HOURS_MAX && minutes > 0) {
        return None;
    }
    Some(Duration::from_secs(hours * 3600 + minutes * 60))
}

struct ClockVisitor;

impl<'de> Visitor<'de> for ClockVisitor {
    type Value = ClockTime;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CLOCK_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<ClockTime, E> {
        parse_clock(text)
            .map(ClockTime)
            .ok_or_else(|| E::custom(format!("invalid time {text:?}; expected {CLOCK_EXPECTED}")))
    }

    /// A bare TOML local time (`start = 08:00`) arrives as toml's private datetime table;
    /// accept it rather than make the user quote it.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClockTime, A::Error> {
        let key: Option<String> = map.next_key()?;
        match key.as_deref() {
            Some("$__toml_private_datetime") => {
                let text: String = map.next_value()?;
                self.visit_str(&text)
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ClockTime, D::Error> {
        deserializer.deserialize_any(ClockVisitor)
    }
}

/// Writes a time of day back as `HH:MM`, for messages.
pub(crate) fn format_clock(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A keyword from a fixed list; the error names every allowed value.
pub(crate) trait Keyword: Sized + Copy + 'static {
    /// Each keyword and its value, in the order the error message lists them.
    const KEYWORDS: &'static [(&'static str, Self)];
}

struct KeywordVisitor<T>(PhantomData<T>);

impl<T: Keyword> KeywordVisitor<T> {
    fn allowed() -> String {
        T::KEYWORDS
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl<T: Keyword> Visitor<'_> for KeywordVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", Self::allowed())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        T::KEYWORDS
            .iter()
            .find(|(k, _)| *k == text)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                E::custom(format!(
                    "unknown value {text:?}; expected one of {}",
                    Self::allowed()
                ))
            })
    }
}

/// Declares an enum read from one of a fixed set of keywords.
macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl Keyword for $name {
            const KEYWORDS: &'static [(&'static str, $name)] = &[$(($text, $name::$variant)),+];
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                deserializer.deserialize_str(KeywordVisitor::<$name>(PhantomData))
            }
        }
    };
}

keyword_enum!(
    /// `selection` of a queue.
    Selection {
        LongestIdle = "longest_idle",
        BestProficiency = "best_proficiency",
        LeastOccupied = "least_occupied",
        RoundRobin = "round_robin",
    }
);

keyword_enum!(
    /// `kind` of a call type.
    Kind {
        Call = "call",
        Chat = "chat",
        Callback = "callback",
    }
);

keyword_enum!(
    /// `distribution` of handle time or patience.
    DistributionKind {
        Fixed = "fixed",
        Exponential = "exponential",
        LogNormal = "lognormal",
    }
);

/// A skill reference as written: `"accounts"` or `"accounts:2"`.
#[derive(Debug)]
pub(crate) struct SkillRef<'a> {
    pub name: &'a str,
    pub level: Option<u8>,
}

/// Splits `"skill"` / `"skill:level"`; the level must be 1 to 5.
pub(crate) fn parse_skill_ref(text: &str) -> Result<SkillRef<'_>, String> {
    let (name, level) = match text.split_once(':') {
        None => (text, None),
        Some((name, level)) => (name, Some(level)),
    };
    if name.is_empty() {
        return Err(format!(
            "invalid skill {text:?}; expected \"skill\" or \"skill:proficiency\""
        ));
    }
    let level = match level {
        None => None,
        Some(level) => match level.parse::<u8>() {
            Ok(l @ 1..=hotline_routing::MAX_PROFICIENCY) => Some(l),
            _ => {
                return Err(format!(
                    "proficiency must be 1 to {}, not {level:?} (in {text:?})",
                    hotline_routing::MAX_PROFICIENCY
                ))
            }
        },
    };
    Ok(SkillRef { name, level })
}

/// A routing-profile entry as written: `"queue"`, `"queue:priority"` or
/// `"queue:priority:delay"`.
#[derive(Debug)]
pub(crate) struct ProfileRef<'a> {
    pub queue: &'a str,
    pub priority: u8,
    pub delay: Duration,
}

/// Splits `"queue[:priority[:delay]]"`; priority 1 (the highest) or more, delay a duration.
pub(crate) fn parse_profile_ref(text: &str) -> Result<ProfileRef<'_>, String> {
    let expected =
        r#"expected "queue", "queue:priority" or "queue:priority:delay" such as "general:2:30s""#;
    let mut parts = text.splitn(3, ':');
    let queue = parts.next().unwrap_or_default();
    if queue.is_empty() {
        return Err(format!("invalid queue entry {text:?}; {expected}"));
    }
    let priority = match parts.next() {
        None => 1,
        Some(p) => match p.parse::<u8>() {
            Ok(p) if p >= 1 => p,
            _ => {
                return Err(format!(
                    "invalid priority {p:?} in {text:?}: a number from 1 (the highest) to 255"
                ))
            }
        },
    };
    let delay = match parts.next() {
        None => Duration::ZERO,
        Some(d) => parse_duration(d).ok_or_else(|| {
            format!("invalid delay {d:?} in {text:?}; expected {DURATION_EXPECTED}")
        })?,
    };
    Ok(ProfileRef {
        queue,
        priority,
        delay,
    })
}

/// A service level as written, `"80/20"`: the goal as a fraction and the threshold.
pub(crate) fn parse_service_level(text: &str) -> Result<(f64, Duration), String> {
    let fail = || {
        format!(
            "invalid service level {text:?}; expected \"PERCENT/SECONDS\" such as \"80/20\" \
             (80 % answered within 20 s)"
        )
    };
    let (percent, threshold) = text.split_once('/').ok_or_else(fail)?;
    let percent: f64 = percent.trim().parse().map_err(|_| fail())?;
    if !(0.0..=100.0).contains(&percent) {
        return Err(format!(
            "invalid service level {text:?}: the percentage must be 0 to 100"
        ));
    }
    let threshold = threshold.trim();
    let threshold = match threshold.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => parse_duration(threshold).ok_or_else(fail)?,
    };
    Ok((percent / 100.0, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let secs = |s: u64| Some(Duration::from_secs(s));
        assert_eq!(parse_duration("90s"), secs(90));
        assert_eq!(parse_duration("4m"), secs(240));
        assert_eq!(parse_duration("1h30m"), secs(5400));
        assert_eq!(parse_duration("2h"), secs(7200));
        assert_eq!(parse_duration("1m30s"), secs(90));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1s500ms"), Some(Duration::from_millis(1500)));
        for bad in [
            "", "90", "s", "1m30m", "30s1m", "1.5h", "-1s", "1 h", "1d", "1hh",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn clock_times() {
        let hm = |h: u64, m: u64| Some(Duration::from_secs(h * 3600 + m * 60));
        assert_eq!(parse_clock("08:00"), hm(8, 0));
        assert_eq!(parse_clock("8:30"), hm(8, 30));
        assert_eq!(parse_clock("24:00"), hm(24, 0));
        assert_eq!(parse_clock("30:15"), hm(30, 15));
        assert_eq!(parse_clock("08:00:00"), hm(8, 0));
        for bad in [
            "",
            "8",
            "08:60",
            "08:0",
            "08:00:30",
            "x8:00",
            "169:00",
            "08:00:00:00",
        ] {
            assert_eq!(parse_clock(bad), None, "{bad:?}");
        }
        assert_eq!(
            format_clock(Duration::from_secs(8 * 3600 + 5 * 60)),
            "08:05"
        );
    }

    #[test]
    fn short_forms() {
        let s = parse_skill_ref("accounts:2").unwrap();
        assert_eq!((s.name, s.level), ("accounts", Some(2)));
        assert_eq!(parse_skill_ref("zh").unwrap().level, None);
        assert!(parse_skill_ref("zh:7")
            .unwrap_err()
            .contains("proficiency must be 1 to 5"));
        assert!(parse_skill_ref(":2").is_err());

        let p = parse_profile_ref("general:3:30s").unwrap();
        assert_eq!(
            (p.queue, p.priority, p.delay),
            ("general", 3, Duration::from_secs(30))
        );
        let p = parse_profile_ref("loans").unwrap();
        assert_eq!((p.priority, p.delay), (1, Duration::ZERO));
        assert!(parse_profile_ref("loans:0").is_err());
        assert!(parse_profile_ref("loans:1:soon").is_err());

        assert_eq!(
            parse_service_level("80/20").unwrap(),
            (0.8, Duration::from_secs(20))
        );
        assert_eq!(
            parse_service_level("90/1m").unwrap(),
            (0.9, Duration::from_secs(60))
        );
        assert!(parse_service_level("80%").is_err());
        assert!(parse_service_level("120/20").is_err());
    }
}
