//! [`PhoneError`]: why a text is not a phone number.

use std::fmt;

use crate::{INTERNATIONAL_DIGITS_MAX, INTERNATIONAL_DIGITS_MIN};

/// Why [`normalize`](crate::normalize) refused an input. Its `Display` is an English sentence
/// naming the problem and the digits at fault, fit to show a person who typed the number.
///
/// Digits in the fields are the input's digits, in ASCII, after separators were dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneError {
    /// The input is empty or only spaces.
    Empty,
    /// The input has more than `max` characters ([`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN)) and
    /// was not read.
    TooLong {
        /// The most characters allowed.
        max: usize,
    },
    /// A character that is neither a digit, a separator, a `+` nor part of an extension.
    InvalidCharacter {
        /// The character as it was in the input.
        ch: char,
        /// Its position in the input, counted in characters from 1.
        position: usize,
    },
    /// A `+` after the first digit, or a second `+`.
    MisplacedPlus {
        /// Its position in the input, counted in characters from 1.
        position: usize,
    },
    /// Separators, a `+` or an extension, but no digits before the extension.
    NoDigits,
    /// Fewer digits than the shortest number (a 3-digit service number) has.
    TooFewDigits {
        /// The digits.
        digits: String,
    },
    /// More digits than any Chinese number written without a country code has.
    TooManyDigits {
        /// The digits.
        digits: String,
        /// The most digits such a number has.
        max: usize,
    },
    /// Digits starting like a mobile number (`13` to `19`) but not 11 of them.
    MobileLength {
        /// The digits from the `1` on.
        digits: String,
    },
    /// A landline whose subscriber number (after the area code) has the wrong length.
    LandlineLength {
        /// The area code, without the trunk `0`.
        area_code: String,
        /// The digits after the area code.
        subscriber: String,
    },
    /// A landline whose subscriber number starts with `0`, which none does.
    InvalidSubscriber {
        /// The area code, without the trunk `0`.
        area_code: String,
        /// The digits after the area code.
        subscriber: String,
    },
    /// An area code that China does not have (`026`), also one given in the
    /// [`NumberContext`](crate::NumberContext).
    UnknownAreaCode {
        /// The area code as read, without the trunk `0`.
        area_code: String,
    },
    /// Digits starting with `400` or `800` but not 10 of them.
    TollFreeLength {
        /// The digits from the `4` or `8` on.
        digits: String,
    },
    /// Digits that start no kind of Chinese number at their length, such as `1112345678` or a
    /// landline written without its trunk `0`.
    UnknownPrefix {
        /// The digits, with `+86` in front where the input had a country code.
        digits: String,
    },
    /// A bare local landline number (7 or 8 digits) and no area code in the context.
    NeedsAreaCode {
        /// The digits.
        digits: String,
    },
    /// A number without a country code, read in a context whose country is not China.
    NeedsCountryCode {
        /// The digits.
        digits: String,
        /// The context's country code.
        country_code: u16,
    },
    /// An international number whose country code starts with `0`, as in `+0086`.
    CountryCodeStartsWithZero {
        /// The digits after the `+` or `00`.
        digits: String,
    },
    /// An international number with fewer than
    /// [`INTERNATIONAL_DIGITS_MIN`](crate::INTERNATIONAL_DIGITS_MIN) or more than
    /// [`INTERNATIONAL_DIGITS_MAX`](crate::INTERNATIONAL_DIGITS_MAX) digits.
    InternationalLength {
        /// The digits after the `+` or `00`.
        digits: String,
    },
    /// An extension marker (`转`, `ext`, `#`, …) with no digits after it.
    ExtensionWithoutDigits {
        /// The marker as it was in the input.
        marker: String,
    },
    /// An extension with more than `max` digits
    /// ([`MAX_EXTENSION_DIGITS`](crate::MAX_EXTENSION_DIGITS)).
    ExtensionTooLong {
        /// The extension's digits.
        digits: String,
        /// The most digits allowed.
        max: usize,
    },
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => write!(f, "the phone number is empty"),
            PhoneError::TooLong { max } => write!(
                f,
                "a phone number has at most {max} characters; this input has more and was not read"
            ),
            PhoneError::InvalidCharacter { ch, position } => write!(
                f,
                "{ch:?} at character {position} does not belong in a phone number: only digits, \
                 a leading '+', the separators space - . / ( ) and an extension such as \
                 \"转 8001\" or \"ext. 8001\" may appear"
            ),
            PhoneError::MisplacedPlus { position } => write!(
                f,
                "the '+' at character {position} is out of place: a number has at most one '+', \
                 before the country code"
            ),
            PhoneError::NoDigits => write!(f, "there are no digits in this phone number"),
            PhoneError::TooFewDigits { digits } => write!(
                f,
                "\"{digits}\" is too short for a phone number; the shortest, service numbers \
                 such as 110, have 3 digits"
            ),
            PhoneError::TooManyDigits { digits, max } => write!(
                f,
                "a Chinese number without a country code has at most {max} digits; \"{digits}\" \
                 has {}",
                digits.len()
            ),
            PhoneError::MobileLength { digits } => write!(
                f,
                "a Chinese mobile number has 11 digits starting with 1; \"{digits}\" has {}",
                digits.len()
            ),
            PhoneError::LandlineLength {
                area_code,
                subscriber,
            } => {
                let expected = if area_code.len() == 2 { "8" } else { "7 or 8" };
                write!(
                    f,
                    "a landline number in area 0{area_code} has {expected} digits after the area \
                     code; \"{subscriber}\" has {}",
                    subscriber.len()
                )
            }
            PhoneError::InvalidSubscriber {
                area_code,
                subscriber,
            } => write!(
                f,
                "a landline number does not start with 0 after its area code; \
                 \"{subscriber}\" in area 0{area_code} does"
            ),
            PhoneError::UnknownAreaCode { area_code } => write!(
                f,
                "there is no Chinese area code 0{area_code}; area codes are 010, 020 to 029 \
                 (not 026), or 0 and three digits starting with 3 to 9"
            ),
            PhoneError::TollFreeLength { digits } => write!(
                f,
                "a 400 or 800 number has 10 digits; \"{digits}\" has {}",
                digits.len()
            ),
            PhoneError::UnknownPrefix { digits } => write!(
                f,
                "\"{digits}\" is no Chinese number: mobile numbers have 11 digits starting with \
                 13 to 19, landlines start with 0 and an area code, 400 and 800 numbers have 10 \
                 digits, and service numbers 3 to 5 digits starting with 1 or 9"
            ),
            PhoneError::NeedsAreaCode { digits } => write!(
                f,
                "\"{digits}\" is a local landline number and no area code is known for it; \
                 write it with its area code, such as 0755-{digits}"
            ),
            PhoneError::NeedsCountryCode {
                digits,
                country_code,
            } => write!(
                f,
                "\"{digits}\" has no country code, and only Chinese numbers are understood \
                 without one; write it as +{country_code} and the national number"
            ),
            PhoneError::CountryCodeStartsWithZero { digits } => write!(
                f,
                "no country code starts with 0, as the one in \"+{digits}\" does"
            ),
            PhoneError::InternationalLength { digits } => write!(
                f,
                "an international number has {INTERNATIONAL_DIGITS_MIN} to \
                 {INTERNATIONAL_DIGITS_MAX} digits with its country code; \"+{digits}\" has {}",
                digits.len()
            ),
            PhoneError::ExtensionWithoutDigits { marker } => write!(
                f,
                "the extension marker \"{marker}\" is not followed by the extension's digits"
            ),
            PhoneError::ExtensionTooLong { digits, max } => write!(
                f,
                "an extension has at most {max} digits; \"{digits}\" has {}",
                digits.len()
            ),
        }
    }
}

impl std::error::Error for PhoneError {}
