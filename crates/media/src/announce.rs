//! Queue announcements in Mandarin (zh-CN) and English: an [`Announcement`] (callers ahead,
//! expected wait) becomes a list of prompt ids to play one after another
//! ([`Announcement::prompts`]) and the sentence they speak ([`Announcement::text`]).
//!
//! [`prompt_texts`] lists every prompt id of a language with the words it must speak: the
//! words queue announcements are composed from, and the system prompts the switch plays
//! whole (IVR menu, invalid choice, please hold, callback offer and confirmation, goodbye,
//! opening hours). The prompt files (`prompts/<id>.wav` in the repository, listed in
//! `prompts/prompts.tsv`) are generated from these tables with espeak-ng by
//! `scripts/make-prompts`, or recorded by a voice talent.
//!
//! ```
//! use hotline_media::announce::{Announcement, Language};
//! let a = Announcement { callers_ahead: 2, wait_seconds: 170 };
//! assert_eq!(
//!     a.prompts(Language::ZhCn),
//!     ["zh/ahead_before", "zh/num/liang", "zh/ahead_after",
//!      "zh/wait_before", "zh/num/3", "zh/minutes"]
//! );
//! assert_eq!(a.text(Language::ZhCn), "您前面还有两位客户，预计等待三分钟。");
//! assert_eq!(
//!     a.text(Language::En),
//!     "There are two callers ahead of you; the expected wait is about three minutes."
//! );
//! ```
//!
//! **Rounding the wait** ([`round_wait`]): under 60 seconds we say "less than a minute"
//! (不到一分钟) rather than promise a number; up to 10 minutes, the nearest minute (half a
//! minute rounds up), which the word "about" (预计) covers; beyond that, the nearest 5 minutes,
//! because an estimate that far out is not good to the minute and saying "about 23 minutes"
//! would claim a precision it does not have.
//!
//! **Mandarin numbers** ([`number_prompts`]): composed from 零 一 二 … 九, 十, 百, 千 and 两.
//! 10 to 19 are read 十, 十一 … 十九 (no leading 一); 110 is 一百一十 and 1010 一千零一十 (the
//! 一 comes back after a higher unit). One 零 stands for any run of zeros inside a number
//! (1001 一千零一, 105 一百零五), none for trailing zeros (1100 一千一百). Every number we speak
//! stands before a measure word (位, 分钟), so 2 alone is 两 (两位客户, 两分钟), and a leading 2
//! before 千 or 百 is 两 too (两千, 两百), as people say it; 2 elsewhere stays 二 (十二, 二十,
//! 一千二百).
//!
//! **English numbers**: one … nineteen, twenty … ninety, hundred, thousand, without "and"
//! (one hundred five), so there is one prompt fewer to record and nothing sounds wrong in
//! either variety. Singular forms: "There is one caller ahead of you", "about one minute".
//!
//! Numbers above [`MAX_SPOKEN_NUMBER`] are spoken as that number; no real queue gets there.
//! No one ahead is "You are next" (您是下一位).

/// The largest number composed from prompts; larger ones are clamped to it.
pub const MAX_SPOKEN_NUMBER: u32 = 9999;
/// Above this many minutes the wait is rounded to 5 minutes.
pub const EXACT_MINUTES_MAX: u32 = 10;

/// A language we announce in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// Mandarin, simplified Chinese text.
    ZhCn,
    /// English.
    En,
}

impl Language {
    /// The prefix of this language's prompt ids (`zh`, `en`).
    pub fn prefix(self) -> &'static str {
        match self {
            Language::ZhCn => "zh",
            Language::En => "en",
        }
    }
}

/// Every Mandarin prompt with its text.
const ZH: &[(&str, &str)] = &[
    ("zh/ahead_before", "您前面还有"),
    ("zh/ahead_after", "位客户"),
    ("zh/you_are_next", "您是下一位"),
    ("zh/wait_before", "预计等待"),
    ("zh/minutes", "分钟"),
    ("zh/less_than_a_minute", "不到一分钟"),
    ("zh/num/0", "零"),
    ("zh/num/1", "一"),
    ("zh/num/2", "二"),
    ("zh/num/3", "三"),
    ("zh/num/4", "四"),
    ("zh/num/5", "五"),
    ("zh/num/6", "六"),
    ("zh/num/7", "七"),
    ("zh/num/8", "八"),
    ("zh/num/9", "九"),
    ("zh/num/liang", "两"),
    ("zh/num/10", "十"),
    ("zh/num/100", "百"),
    ("zh/num/1000", "千"),
    // System prompts, played whole.
    (
        "zh/welcome_menu",
        "您好，欢迎致电客户服务热线。查询订单请按1，售后服务请按2，服务时间请按3。",
    ),
    ("zh/invalid_choice", "输入有误，请重新选择。"),
    ("zh/please_hold", "正在为您转接客服，请稍候。"),
    (
        "zh/callback_offer",
        "如需保留排队位置，由我们给您回电，请按1。",
    ),
    (
        "zh/callback_confirmed",
        "好的，轮到您时我们会给您回电，再见。",
    ),
    (
        "zh/unavailable_goodbye",
        "很抱歉，现在无法为您接通，请稍后再拨，再见。",
    ),
    ("zh/callback_dialling", "正在为您回拨客户，请稍候。"),
    ("zh/transferring", "正在为您转接，请不要挂机。"),
    ("zh/transfer_failed", "很抱歉，转接未能接通。"),
    (
        "zh/opening_hours",
        "我们的服务时间是每天上午八点到晚上十点。",
    ),
    ("zh/survey_question", "本次通话已结束。请为我们的服务评分：非常满意请按5，满意请按4，一般请按3，不满意请按2，非常不满意请按1。"),
    ("zh/survey_thanks", "感谢您的评价，再见。"),
    (
        "zh/auto_callback",
        "您好，这里是客服中心，您申请的回电已为您接通。现在转接人工客服请按1，希望稍后再回电请按2。",
    ),
    (
        "zh/auto_later",
        "请选择回电时间：一小时后请按1，三小时后请按2，明天这个时间请按3。",
    ),
    ("zh/auto_later_confirmed", "好的，我们会在您选择的时间给您回电，再见。"),
    ("zh/campaign_sorry", "您好，现在没有空闲的客服，我们稍后再打给您，再见。"),
];

/// Every English prompt with its text.
const EN: &[(&str, &str)] = &[
    ("en/there_are", "There are"),
    ("en/there_is", "There is"),
    ("en/callers_ahead", "callers ahead of you"),
    ("en/caller_ahead", "caller ahead of you"),
    ("en/you_are_next", "You are next"),
    ("en/wait_about", "the expected wait is about"),
    ("en/minutes", "minutes"),
    ("en/minute", "minute"),
    (
        "en/wait_less_than_a_minute",
        "the expected wait is less than a minute",
    ),
    ("en/num/0", "zero"),
    ("en/num/1", "one"),
    ("en/num/2", "two"),
    ("en/num/3", "three"),
    ("en/num/4", "four"),
    ("en/num/5", "five"),
    ("en/num/6", "six"),
    ("en/num/7", "seven"),
    ("en/num/8", "eight"),
    ("en/num/9", "nine"),
    ("en/num/10", "ten"),
    ("en/num/11", "eleven"),
    ("en/num/12", "twelve"),
    ("en/num/13", "thirteen"),
    ("en/num/14", "fourteen"),
    ("en/num/15", "fifteen"),
    ("en/num/16", "sixteen"),
    ("en/num/17", "seventeen"),
    ("en/num/18", "eighteen"),
    ("en/num/19", "nineteen"),
    ("en/num/20", "twenty"),
    ("en/num/30", "thirty"),
    ("en/num/40", "forty"),
    ("en/num/50", "fifty"),
    ("en/num/60", "sixty"),
    ("en/num/70", "seventy"),
    ("en/num/80", "eighty"),
    ("en/num/90", "ninety"),
    ("en/num/hundred", "hundred"),
    ("en/num/thousand", "thousand"),
    // System prompts, played whole.
    (
        "en/welcome_menu",
        "Welcome to customer service. For orders, press 1. For after-sales service, press 2. \
         For our opening hours, press 3.",
    ),
    ("en/for_english", "For English, press 9."),
    ("en/invalid_choice", "Sorry, that is not a valid choice."),
    (
        "en/please_hold",
        "Please hold while we connect you to an agent.",
    ),
    (
        "en/callback_offer",
        "To keep your place in the queue and have us call you back, press 1.",
    ),
    (
        "en/callback_confirmed",
        "Thank you. We will call you back when it is your turn. Goodbye.",
    ),
    (
        "en/unavailable_goodbye",
        "Sorry, we cannot take your call now. Please call again later. Goodbye.",
    ),
    (
        "en/callback_dialling",
        "Calling the customer back for you. Please hold.",
    ),
    (
        "en/transferring",
        "Transferring your call. Please stay on the line.",
    ),
    (
        "en/transfer_failed",
        "Sorry, the transfer did not go through.",
    ),
    (
        "en/opening_hours",
        "We are open every day from eight in the morning to ten at night.",
    ),
    (
        "en/survey_question",
        "Your call has ended. Please rate our service from 1 to 5: press 5 if you were very satisfied, down to 1 if you were very dissatisfied.",
    ),
    ("en/survey_thanks", "Thank you for your feedback. Goodbye."),
    (
        "en/auto_callback",
        "Hello, this is customer service, calling you back as you asked. To talk to an agent now, press 1. To be called back later, press 2.",
    ),
    (
        "en/auto_later",
        "When should we call you back? In one hour, press 1. In three hours, press 2. Tomorrow at this time, press 3.",
    ),
    (
        "en/auto_later_confirmed",
        "Thank you. We will call you back at the time you chose. Goodbye.",
    ),
    (
        "en/campaign_sorry",
        "Sorry, no agent is free right now. We will call you again later. Goodbye.",
    ),
];

fn table(language: Language) -> &'static [(&'static str, &'static str)] {
    match language {
        Language::ZhCn => ZH,
        Language::En => EN,
    }
}

/// Every prompt id of a language with the words it must speak, for generating the files.
pub fn prompt_texts(language: Language) -> Vec<(&'static str, &'static str)> {
    table(language).to_vec()
}

/// The words of one prompt id, if it is one of ours.
pub fn prompt_text(id: &str) -> Option<&'static str> {
    ZH.iter()
        .chain(EN.iter())
        .find(|(i, _)| *i == id)
        .map(|(_, t)| *t)
}

/// The static id for a number prompt; every id returned is in the language's table.
fn num_id(language: Language, key: &str) -> &'static str {
    let prefix = language.prefix();
    table(language)
        .iter()
        .map(|(id, _)| *id)
        .find(|id| {
            id.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix("/num/"))
                == Some(key)
        })
        .expect("number prompt in table")
}

/// The prompts that read a number (clamped to [`MAX_SPOKEN_NUMBER`]) before a measure word
/// or noun; the rules are in the module documentation.
pub fn number_prompts(language: Language, n: u32) -> Vec<&'static str> {
    let n = n.min(MAX_SPOKEN_NUMBER);
    match language {
        Language::ZhCn => zh_number(n),
        Language::En => en_number(n),
    }
}

fn zh_number(n: u32) -> Vec<&'static str> {
    let id = |key: &str| num_id(Language::ZhCn, key);
    let digit = |d: u32| id(&d.to_string());
    if n == 0 {
        return vec![digit(0)];
    }
    if n == 2 {
        return vec![id("liang")];
    }
    if (10..20).contains(&n) {
        let mut out = vec![id("10")];
        if n > 10 {
            out.push(digit(n - 10));
        }
        return out;
    }
    let mut out = Vec::new();
    let mut started = false;
    let mut zero_pending = false;
    for (unit, unit_id) in [(1000, "1000"), (100, "100"), (10, "10"), (1, "")] {
        let d = n / unit % 10;
        if d == 0 {
            zero_pending |= started;
            continue;
        }
        if zero_pending {
            out.push(digit(0));
            zero_pending = false;
        }
        if d == 2 && !started && unit >= 100 {
            out.push(id("liang"));
        } else {
            out.push(digit(d));
        }
        if unit > 1 {
            out.push(id(unit_id));
        }
        started = true;
    }
    out
}

fn en_number(n: u32) -> Vec<&'static str> {
    let id = |key: &str| num_id(Language::En, key);
    if n == 0 {
        return vec![id("0")];
    }
    let mut out = Vec::new();
    if n >= 1000 {
        out.push(id(&(n / 1000).to_string()));
        out.push(id("thousand"));
    }
    if !(n / 100).is_multiple_of(10) {
        out.push(id(&(n / 100 % 10).to_string()));
        out.push(id("hundred"));
    }
    let rest = n % 100;
    if rest >= 20 {
        out.push(id(&(rest / 10 * 10).to_string()));
        if !rest.is_multiple_of(10) {
            out.push(id(&(rest % 10).to_string()));
        }
    } else if rest > 0 {
        out.push(id(&rest.to_string()));
    }
    out
}

/// How a wait is spoken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpokenWait {
    /// Under a minute.
    LessThanAMinute,
    /// About this many minutes.
    Minutes(u32),
}

/// Rounds an expected wait for speaking: under 60 s is "less than a minute"; up to
/// [`EXACT_MINUTES_MAX`] minutes the nearest minute (30 s rounds up); beyond, the nearest
/// 5 minutes; never more than [`MAX_SPOKEN_NUMBER`].
pub fn round_wait(wait_seconds: u64) -> SpokenWait {
    if wait_seconds < 60 {
        return SpokenWait::LessThanAMinute;
    }
    let minutes = (wait_seconds + 30) / 60;
    let minutes = if minutes > EXACT_MINUTES_MAX as u64 {
        (minutes + 2) / 5 * 5
    } else {
        minutes
    };
    SpokenWait::Minutes(minutes.min(MAX_SPOKEN_NUMBER as u64) as u32)
}

/// What to tell a waiting caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Announcement {
    /// Callers ahead of this one in the queue (0: next).
    pub callers_ahead: u32,
    /// The expected wait in seconds (from the routing core's estimate).
    pub wait_seconds: u64,
}

impl Announcement {
    /// The sentence as clauses of prompt ids.
    fn clauses(&self, language: Language) -> [Vec<&'static str>; 2] {
        let ahead = self.callers_ahead.min(MAX_SPOKEN_NUMBER);
        let wait = round_wait(self.wait_seconds);
        match language {
            Language::ZhCn => {
                let position = if ahead == 0 {
                    vec!["zh/you_are_next"]
                } else {
                    let mut p = vec!["zh/ahead_before"];
                    p.extend(number_prompts(language, ahead));
                    p.push("zh/ahead_after");
                    p
                };
                let mut w = vec!["zh/wait_before"];
                match wait {
                    SpokenWait::LessThanAMinute => w.push("zh/less_than_a_minute"),
                    SpokenWait::Minutes(m) => {
                        w.extend(number_prompts(language, m));
                        w.push("zh/minutes");
                    }
                }
                [position, w]
            }
            Language::En => {
                let position = match ahead {
                    0 => vec!["en/you_are_next"],
                    1 => vec!["en/there_is", "en/num/1", "en/caller_ahead"],
                    _ => {
                        let mut p = vec!["en/there_are"];
                        p.extend(number_prompts(language, ahead));
                        p.push("en/callers_ahead");
                        p
                    }
                };
                let w = match wait {
                    SpokenWait::LessThanAMinute => vec!["en/wait_less_than_a_minute"],
                    SpokenWait::Minutes(m) => {
                        let mut w = vec!["en/wait_about"];
                        w.extend(number_prompts(language, m));
                        w.push(if m == 1 { "en/minute" } else { "en/minutes" });
                        w
                    }
                };
                [position, w]
            }
        }
    }

    /// The prompt ids to play, in order.
    pub fn prompts(&self, language: Language) -> Vec<&'static str> {
        self.clauses(language).concat()
    }

    /// The sentence the prompts speak, built from the same prompt texts so the two cannot
    /// disagree: Mandarin without spaces, clauses joined by "，" and ended by "。"; English
    /// with spaces, clauses joined by "; " and ended by ".".
    pub fn text(&self, language: Language) -> String {
        let (word_sep, clause_sep, end) = match language {
            Language::ZhCn => ("", "，", "。"),
            Language::En => (" ", "; ", "."),
        };
        let clauses: Vec<String> = self
            .clauses(language)
            .iter()
            .map(|ids| {
                ids.iter()
                    .map(|id| prompt_text(id).expect("prompt in table"))
                    .collect::<Vec<_>>()
                    .join(word_sep)
            })
            .collect();
        clauses.join(clause_sep) + end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zh(n: u32) -> String {
        number_prompts(Language::ZhCn, n)
            .iter()
            .map(|id| prompt_text(id).unwrap())
            .collect()
    }

    fn en(n: u32) -> String {
        number_prompts(Language::En, n)
            .iter()
            .map(|id| prompt_text(id).unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn mandarin_numbers() {
        let cases = [
            (0, "零"),
            (1, "一"),
            (2, "两"),
            (3, "三"),
            (10, "十"),
            (11, "十一"),
            (12, "十二"),
            (19, "十九"),
            (20, "二十"),
            (22, "二十二"),
            (100, "一百"),
            (101, "一百零一"),
            (110, "一百一十"),
            (112, "一百一十二"),
            (200, "两百"),
            (222, "两百二十二"),
            (1000, "一千"),
            (1001, "一千零一"),
            (1010, "一千零一十"),
            (1100, "一千一百"),
            (1200, "一千二百"),
            (2000, "两千"),
            (2002, "两千零二"),
            (9999, "九千九百九十九"),
            (20000, "九千九百九十九"),
        ];
        for (n, text) in cases {
            assert_eq!(zh(n), text, "{n}");
        }
    }

    #[test]
    fn english_numbers() {
        let cases = [
            (0, "zero"),
            (1, "one"),
            (13, "thirteen"),
            (20, "twenty"),
            (21, "twenty one"),
            (100, "one hundred"),
            (105, "one hundred five"),
            (1000, "one thousand"),
            (1010, "one thousand ten"),
            (2345, "two thousand three hundred forty five"),
            (9999, "nine thousand nine hundred ninety nine"),
        ];
        for (n, text) in cases {
            assert_eq!(en(n), text, "{n}");
        }
    }

    #[test]
    fn every_number_uses_known_prompts() {
        for n in 0..=MAX_SPOKEN_NUMBER {
            for language in [Language::ZhCn, Language::En] {
                let ids = number_prompts(language, n);
                assert!(!ids.is_empty());
                assert!(ids.iter().all(|id| id.starts_with(language.prefix())));
            }
        }
    }

    #[test]
    fn wait_rounding() {
        assert_eq!(round_wait(0), SpokenWait::LessThanAMinute);
        assert_eq!(round_wait(59), SpokenWait::LessThanAMinute);
        assert_eq!(round_wait(60), SpokenWait::Minutes(1));
        assert_eq!(round_wait(89), SpokenWait::Minutes(1));
        assert_eq!(round_wait(90), SpokenWait::Minutes(2));
        assert_eq!(round_wait(629), SpokenWait::Minutes(10));
        assert_eq!(round_wait(11 * 60), SpokenWait::Minutes(10));
        assert_eq!(round_wait(13 * 60), SpokenWait::Minutes(15));
        assert_eq!(round_wait(23 * 60), SpokenWait::Minutes(25));
        assert_eq!(
            round_wait(u64::MAX / 2),
            SpokenWait::Minutes(MAX_SPOKEN_NUMBER)
        );
    }

    #[test]
    fn the_brief_examples() {
        let a = Announcement {
            callers_ahead: 2,
            wait_seconds: 180,
        };
        assert_eq!(
            a.prompts(Language::En),
            [
                "en/there_are",
                "en/num/2",
                "en/callers_ahead",
                "en/wait_about",
                "en/num/3",
                "en/minutes"
            ]
        );
        assert_eq!(
            a.text(Language::ZhCn),
            "您前面还有两位客户，预计等待三分钟。"
        );
    }

    #[test]
    fn singular_forms_and_short_waits() {
        let a = Announcement {
            callers_ahead: 1,
            wait_seconds: 70,
        };
        assert_eq!(
            a.text(Language::En),
            "There is one caller ahead of you; the expected wait is about one minute."
        );
        assert_eq!(
            a.text(Language::ZhCn),
            "您前面还有一位客户，预计等待一分钟。"
        );
        let a = Announcement {
            callers_ahead: 0,
            wait_seconds: 20,
        };
        assert_eq!(
            a.text(Language::En),
            "You are next; the expected wait is less than a minute."
        );
        assert_eq!(a.text(Language::ZhCn), "您是下一位，预计等待不到一分钟。");
        let a = Announcement {
            callers_ahead: 12,
            wait_seconds: 2 * 60,
        };
        assert_eq!(
            a.text(Language::ZhCn),
            "您前面还有十二位客户，预计等待两分钟。"
        );
        assert_eq!(
            a.prompts(Language::ZhCn),
            [
                "zh/ahead_before",
                "zh/num/10",
                "zh/num/2",
                "zh/ahead_after",
                "zh/wait_before",
                "zh/num/liang",
                "zh/minutes"
            ]
        );
    }

    #[test]
    fn prompt_tables_are_complete_and_unique() {
        for language in [Language::ZhCn, Language::En] {
            let texts = prompt_texts(language);
            let mut ids: Vec<&str> = texts.iter().map(|(id, _)| *id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), texts.len());
            assert!(texts.iter().all(|(_, t)| !t.is_empty()));
            for ahead in [0, 1, 2, 15, 101, 4321] {
                for wait in [0, 61, 100, 3600, 100_000] {
                    let a = Announcement {
                        callers_ahead: ahead,
                        wait_seconds: wait,
                    };
                    for id in a.prompts(language) {
                        assert!(ids.contains(&id), "{id}");
                    }
                }
            }
        }
    }
}
