//! From digits to a number: China's numbering plan, and E.164's lengths for the rest of the
//! world.

use crate::{
    NumberContext, PhoneError, PhoneNumber, CHINA_COUNTRY_CODE, INTERNATIONAL_DIGITS_MAX,
    INTERNATIONAL_DIGITS_MIN,
};

/// Carriers' IP-dialling prefixes, dialled before a national number for a cheaper long-distance
/// call: China Mobile's 17951 and 12593, China Unicom's 17911, China Telecom's 17909.
const IP_DIALLING_PREFIXES: [&str; 4] = ["17951", "17911", "17909", "12593"];

/// The most digits of a Chinese number written without a country code: the trunk `0`, a
/// 3-digit area code and an 8-digit subscriber number.
const NATIONAL_DIGITS_MAX: usize = 12;

/// What came before the national significant number, which decides what may follow.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `+86`, `0086` or `86`.
    CountryCode,
    /// The trunk prefix `0` of a national number.
    TrunkPrefix,
}

impl Origin {
    /// How the digits before the national significant number are written back in messages.
    fn written(self) -> &'static str {
        match self {
            Origin::CountryCode => "+86",
            Origin::TrunkPrefix => "0",
        }
    }
}

/// The number that `digits` (written after a `+` when `plus`) stand for.
pub(crate) fn classify(
    digits: &str,
    plus: bool,
    context: &NumberContext,
) -> Result<PhoneNumber, PhoneError> {
    if plus {
        return after_international_prefix(digits);
    }
    if let Some(rest) = digits.strip_prefix("00") {
        return after_international_prefix(rest);
    }
    if context.country_code != CHINA_COUNTRY_CODE {
        return Err(PhoneError::NeedsCountryCode {
            digits: digits.to_owned(),
            country_code: context.country_code,
        });
    }
    if let Some(rest) = strip_ip_dialling_prefix(digits) {
        return classify(rest, false, context);
    }
    // No national form has 12 digits or more and starts with 8: these are 86 and a national
    // significant number.
    if digits.len() >= NATIONAL_DIGITS_MAX {
        if let Some(significant) = digits.strip_prefix("86") {
            return national_significant(significant, Origin::CountryCode);
        }
    }
    national(digits, context)
}

/// An IP-dialling prefix is dropped only before a whole national number (a mobile, or `0` and
/// at least 10 digits), so that no 11-digit mobile starting 17951… is mistaken for one.
fn strip_ip_dialling_prefix(digits: &str) -> Option<&str> {
    let rest = IP_DIALLING_PREFIXES
        .iter()
        .find_map(|prefix| digits.strip_prefix(prefix))?;
    (rest.len() >= 11 && (rest.starts_with('0') || rest.starts_with('1'))).then_some(rest)
}

/// The digits after `+` or `00`: a country code and a number.
fn after_international_prefix(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if digits.starts_with('0') {
        return Err(PhoneError::CountryCodeStartsWithZero {
            digits: digits.to_owned(),
        });
    }
    if let Some(significant) = digits.strip_prefix("86") {
        return national_significant(significant, Origin::CountryCode);
    }
    if !(INTERNATIONAL_DIGITS_MIN..=INTERNATIONAL_DIGITS_MAX).contains(&digits.len()) {
        return Err(PhoneError::InternationalLength {
            digits: digits.to_owned(),
        });
    }
    Ok(PhoneNumber::international(digits, country_code_len(digits)))
}

/// How many of the leading digits are the country code. Country codes are a prefix code: the
/// ITU assigns 1 and 7 alone, the two-digit codes below, and three digits everywhere else.
fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|code| digits.starts_with(code)) {
        2
    } else {
        3
    }
}

/// A Chinese number without its country code or trunk prefix.
fn national_significant(digits: &str, origin: Origin) -> Result<PhoneNumber, PhoneError> {
    let written = || format!("{}{digits}", origin.written());
    let digits = match origin {
        // `+86 010 …`: the trunk prefix written after the country code, dropped.
        Origin::CountryCode => digits.strip_prefix('0').unwrap_or(digits),
        Origin::TrunkPrefix => digits,
    };
    if digits.len() < 3 {
        return Err(PhoneError::TooFewDigits { digits: written() });
    }
    if origin == Origin::CountryCode && is_service(digits) {
        return Ok(PhoneNumber::service(digits));
    }
    match digits.as_bytes() {
        [b'1', b'3'..=b'9', ..] => mobile(digits),
        [b'1', b'0', ..] => landline(digits, 2),
        [b'2', b'6', ..] => Err(PhoneError::UnknownAreaCode {
            area_code: "26".to_owned(),
        }),
        [b'2', ..] => landline(digits, 2),
        _ if is_toll_free_prefix(digits) => toll_free(digits),
        [b'3'..=b'9', ..] => landline(digits, 3),
        _ => Err(PhoneError::UnknownPrefix { digits: written() }),
    }
}

/// A Chinese number as written inside China, without a country code.
fn national(digits: &str, context: &NumberContext) -> Result<PhoneNumber, PhoneError> {
    let too_long = || {
        (digits.len() > NATIONAL_DIGITS_MAX).then(|| PhoneError::TooManyDigits {
            digits: digits.to_owned(),
            max: NATIONAL_DIGITS_MAX,
        })
    };
    let unknown = || PhoneError::UnknownPrefix {
        digits: digits.to_owned(),
    };
    if digits.len() < 3 {
        return Err(PhoneError::TooFewDigits {
            digits: digits.to_owned(),
        });
    }
    match digits.as_bytes() {
        [b'0', ..] => national_significant(&digits[1..], Origin::TrunkPrefix),
        [b'1', b'3'..=b'9', ..] => mobile(digits),
        _ if is_service(digits) => Ok(PhoneNumber::service(digits)),
        [b'1', ..] => Err(too_long().unwrap_or_else(unknown)),
        // `80012345` is a Beijing number, `8001234567` a toll-free one.
        _ if is_toll_free_prefix(digits) && !is_local_length(digits) => toll_free(digits),
        _ if is_local_length(digits) => local(digits, context),
        _ => Err(too_long().unwrap_or_else(unknown)),
    }
}

/// `110`, `10086`, `12345`, `95588`, `96166`: 3 to 5 digits starting with 10, 11, 12 or 9.
fn is_service(digits: &str) -> bool {
    (3..=5).contains(&digits.len())
        && matches!(digits.as_bytes(), [b'1', b'0'..=b'2', ..] | [b'9', ..])
}

fn is_toll_free_prefix(digits: &str) -> bool {
    digits.starts_with("400") || digits.starts_with("800")
}

/// The length of a bare subscriber number: 7 or 8 digits.
fn is_local_length(digits: &str) -> bool {
    (7..=8).contains(&digits.len())
}

fn mobile(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if digits.len() != 11 {
        return Err(PhoneError::MobileLength {
            digits: digits.to_owned(),
        });
    }
    Ok(PhoneNumber::mobile(digits))
}

fn toll_free(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if digits.len() != 10 {
        return Err(PhoneError::TollFreeLength {
            digits: digits.to_owned(),
        });
    }
    Ok(PhoneNumber::toll_free(digits))
}

/// An area code of `area_code_len` digits and a subscriber number: 8 digits after a 2-digit
/// area code, 7 or 8 after a 3-digit one, not starting with 0 (which would be a trunk prefix
/// or an area code typed twice). Real subscriber numbers start with 2 to 9; one starting with
/// 1 is let through here, after a written area code, because test and placeholder numbers such
/// as 010-12345678 are everywhere in CRM data. A bare one is refused by `national`.
fn landline(digits: &str, area_code_len: usize) -> Result<PhoneNumber, PhoneError> {
    let (area_code, subscriber) = digits.split_at(area_code_len);
    let lengths = if area_code_len == 2 { 8..=8 } else { 7..=8 };
    if !lengths.contains(&subscriber.len()) {
        return Err(PhoneError::LandlineLength {
            area_code: area_code.to_owned(),
            subscriber: subscriber.to_owned(),
        });
    }
    if subscriber.starts_with('0') {
        return Err(PhoneError::InvalidSubscriber {
            area_code: area_code.to_owned(),
            subscriber: subscriber.to_owned(),
        });
    }
    Ok(PhoneNumber::landline(digits, area_code_len))
}

/// A bare local number, in the context's area.
fn local(digits: &str, context: &NumberContext) -> Result<PhoneNumber, PhoneError> {
    let Some(area_code) = context.area_code.as_deref() else {
        return Err(PhoneError::NeedsAreaCode {
            digits: digits.to_owned(),
        });
    };
    let area_code = area_code.trim();
    let area_code = area_code.strip_prefix('0').unwrap_or(area_code);
    if !is_area_code(area_code) {
        return Err(PhoneError::UnknownAreaCode {
            area_code: area_code.to_owned(),
        });
    }
    landline(&format!("{area_code}{digits}"), area_code.len())
}

/// `10`, `20`–`29` but `26`, or three digits starting with 3 to 9 other than 400 and 800.
fn is_area_code(area_code: &str) -> bool {
    area_code.bytes().all(|b| b.is_ascii_digit())
        && match area_code.as_bytes() {
            [b'1', b'0'] => true,
            [b'2', second] => *second != b'6',
            [b'3'..=b'9', _, _] => !is_toll_free_prefix(area_code),
            _ => false,
        }
}
