//! Phone numbers as people, CRMs and carriers write them, normalised to E.164, with Chinese
//! forms first.
//!
//! The principal type is [`PhoneNumber`], made by [`normalize`] from text such as
//! `"138 0013 8000"`, `"(0755) 1234-5678 转 12"`, `"＋８６ １３８００１３８０００"` or
//! `"sip:+8613800138000@carrier"`, read with a [`NumberContext`] (the country, China by
//! default, and the area code that bare local numbers belong to). It answers:
//!
//! - [`PhoneNumber::e164`]: the lookup key, `"+8613800138000"`, the same whatever form the
//!   number was written in (the customer store's screen pop looks callers up by it);
//! - [`PhoneNumber::kind`]: mobile, landline, 400/800, service number or international;
//! - [`PhoneNumber::national`]: how it is dialled inside China, `"01012345678"`;
//! - [`PhoneNumber::display`] and [`PhoneNumber::masked`]: for people, `"138 0013 8000"` and
//!   `"138****8000"`.
//!
//! A refusal is a [`PhoneError`] whose message names the problem, such as
//! `a Chinese mobile number has 11 digits starting with 1; "1380013800" has 10`.
//!
//! The crate is pure: no IO, no dependencies, and work bounded by [`MAX_INPUT_LEN`].
//!
//! # What is understood
//!
//! Chinese numbers (country code 86) are checked against the national numbering plan:
//!
//! | kind | national form | E.164 |
//! |---|---|---|
//! | [`Mobile`](NumberKind::Mobile) | 11 digits `1[3-9]xxxxxxxxx` | `+86` and the 11 digits |
//! | [`Landline`](NumberKind::Landline) | trunk prefix `0`, area code, subscriber number | `+86`, area code, subscriber |
//! | [`TollFree`](NumberKind::TollFree) | 10 digits starting with `400` or `800` | `+86` and the 10 digits |
//! | [`Service`](NumberKind::Service) | 3 to 5 digits starting with `10`–`12` or `9` | none; see below |
//!
//! Area codes are `10` (Beijing) and `20`–`29` but not `26` (Guangzhou, Shanghai, Tianjin,
//! Chongqing, Shenyang, Nanjing, Wuhan, Chengdu, Xi'an), followed by 8 subscriber digits; or
//! three digits starting with `3` to `9` (`755` Shenzhen, `571` Hangzhou), followed by 7 or 8.
//! A subscriber number never starts with `0`; real ones start with 2 to 9, and a bare local
//! number starting with 1 is refused (more likely a mobile cut short), but after a written area
//! code one starting with 1 is accepted, for the placeholder numbers such as `010-12345678`
//! found in every CRM. Whether a three-digit area code is actually assigned is not checked.
//!
//! Numbers of other countries are checked only as ITU E.164 allows: a country code not
//! starting with 0, and [`INTERNATIONAL_DIGITS_MIN`] to [`INTERNATIONAL_DIGITS_MAX`] digits
//! with it. This is deliberately not libphonenumber: the contact center needs Chinese numbers
//! right and other countries' numbers kept intact, not every country's plan.
//!
//! ## Forms accepted
//!
//! - Separators anywhere in the number: space, `-`, `.`, `/`, `(`, `)`, their full-width
//!   forms, any Unicode space (no-break, ideographic U+3000) and invisible format characters
//!   (zero-width space, byte-order mark). Full-width digits `０`–`９` and `＋` are digits and `+`.
//! - Prefixes: `+86`, `0086`, and a bare `86` when 10 or more digits follow (so never on a
//!   national form, which has at most 12 digits and then starts with `0`). After `+86` a
//!   written trunk prefix is dropped: `+86 (0)10 …` and `+86 010 …`. In an international number
//!   a `(0)` after the country code is dropped too (`+44 (0)20 …`); any other `0` is kept.
//! - `013800138000`, a mobile with the extra leading `0` some PBXs send, is that mobile.
//!   `0400…` and `0800…` are the 400 and 800 numbers.
//! - IP-dialling prefixes `17951`, `17911`, `17909` and `12593` before a full national number.
//! - A bare local number of 7 or 8 digits takes [`NumberContext::area_code`], and without one
//!   is refused with [`PhoneError::NeedsAreaCode`].
//! - An extension after `转`, `分机`, `转分机`, `ext`, `ext.`, `extension`, `x`, `#`, one or
//!   more `,` (dialler pauses) or `;ext=`: 1 to [`MAX_EXTENSION_DIGITS`] digits. A landline
//!   written `010-12345678-8001`, too long as one number but complete without its last
//!   `-` group, has that group as its extension.
//! - URIs as they come in SIP headers: `tel:+86-10-1234-5678`, `sip:` and `sips:`, whose
//!   `@host` and `;parameters` are dropped except `;ext=`.
//!
//! With a [`NumberContext::country_code`] other than 86, only numbers written with their
//! country code (`+`, `00`) are accepted: no other country's national plan is known.
//!
//! ## Service numbers
//!
//! Short service numbers (`110`, `10086`, `12345`, `95588`) cannot be dialled from abroad and
//! have no E.164 form. Their [`PhoneNumber::e164`] is their national digits, `"95588"`: still
//! the one lookup key whatever form they came in, never a made-up `+8695588`. Their kind is
//! [`NumberKind::Service`], which is how to tell them from real E.164 numbers. `+86 95588`
//! is accepted as `95588`. Longer 95/96 numbers (six to eight digits, such as `95105xxx`) are
//! not recognised; with eight digits and an area code in the context they read as a landline.
//!
//! ## Masking
//!
//! [`PhoneNumber::masked`] hides the digits that identify a person and keeps what an agent
//! needs to recognise the number: a mobile keeps its first 3 and last 4 digits
//! (`138****8000`), a landline its area code and last 4 digits (`010-****5678`), a 400/800
//! number its first 3 and last 4 (`400***1234`), an international number its country code
//! and last 4 (`+44 ******0958`). Service numbers are public and shown whole. An extension is
//! shown whole (`010-****5678 转 8001`): it names a desk at a company, not a person.
//!
//! # Example
//!
//! ```
//! use hotline_phone::{normalize, NumberContext, NumberKind, PhoneNumber};
//!
//! let context = NumberContext::default();
//! let number = normalize("(010) 1234-5678 转 8001", &context)?;
//! assert_eq!(number.e164(), "+861012345678");
//! assert_eq!(number.extension(), Some("8001"));
//! assert_eq!(number.kind(), NumberKind::Landline);
//! assert_eq!(number.national(), "01012345678");
//! assert_eq!(number.masked(), "010-****5678 转 8001");
//! assert_eq!(number.display(), "010-1234 5678 转 8001");
//! assert_eq!(number.to_string(), "+861012345678;ext=8001");
//!
//! // The same caller, however the number arrives.
//! let from_carrier: PhoneNumber = "sip:+861012345678@carrier.example".parse()?;
//! assert_eq!(from_carrier.e164(), number.e164());
//!
//! let error = normalize("1380013800", &context).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "a Chinese mobile number has 11 digits starting with 1; \"1380013800\" has 10"
//! );
//! # Ok::<(), hotline_phone::PhoneError>(())
//! ```

#![warn(missing_docs)]

mod classify;
mod error;
mod number;
mod scan;

pub use error::PhoneError;
pub use number::{NumberKind, PhoneNumber};

/// The most characters an input may have. A longer input is refused as
/// [`PhoneError::TooLong`] after counting at most this many plus one, without being read.
pub const MAX_INPUT_LEN: usize = 64;

/// The most digits an extension may have.
pub const MAX_EXTENSION_DIGITS: usize = 6;

/// The fewest digits an international number may have, its country code included: Niue and
/// Tokelau have a 3-digit country code and 4-digit numbers.
pub const INTERNATIONAL_DIGITS_MIN: usize = 7;

/// The most digits an international number may have, its country code included (ITU E.164).
pub const INTERNATIONAL_DIGITS_MAX: usize = 15;

/// China's country code, the default of [`NumberContext::country_code`].
pub const CHINA_COUNTRY_CODE: u16 = 86;

/// Where a number was written: what fills in the parts people leave out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberContext {
    /// The country whose national forms are understood without a country code. Only
    /// [`CHINA_COUNTRY_CODE`] has a known national plan; with any other, numbers must be
    /// written with their country code.
    pub country_code: u16,
    /// The area code of bare local landline numbers (7 or 8 digits), such as `"10"` or
    /// `"755"`; a leading trunk `0` (`"0755"`) is allowed. `None` refuses them with
    /// [`PhoneError::NeedsAreaCode`].
    pub area_code: Option<String>,
}

impl NumberContext {
    /// China, with `area_code` for bare local numbers, such as `"755"` or `"0755"`.
    pub fn with_area_code(area_code: &str) -> NumberContext {
        NumberContext {
            area_code: Some(area_code.to_owned()),
            ..NumberContext::default()
        }
    }
}

impl Default for NumberContext {
    /// China, and no area code: bare local numbers are refused.
    fn default() -> NumberContext {
        NumberContext {
            country_code: CHINA_COUNTRY_CODE,
            area_code: None,
        }
    }
}

/// Reads a phone number written in any of the forms the [crate documentation](crate) lists.
///
/// Returns the number, or the first problem found: input too long, a character that does not
/// belong, a misplaced `+`, a malformed extension, and then what is wrong with the digits.
pub fn normalize(input: &str, context: &NumberContext) -> Result<PhoneNumber, PhoneError> {
    if input.chars().nth(MAX_INPUT_LEN).is_some() {
        return Err(PhoneError::TooLong { max: MAX_INPUT_LEN });
    }
    if input.trim().is_empty() {
        return Err(PhoneError::Empty);
    }
    let scanned = scan::scan(input)?;
    if scanned.digits.is_empty() {
        return Err(PhoneError::NoDigits);
    }
    match classify::classify(&scanned.digits, scanned.plus, context) {
        Ok(number) => Ok(number.with_extension(scanned.extension)),
        Err(error) => dash_extension(&scanned, context).ok_or(error),
    }
}

/// `010-12345678-8001`: a landline whose digits are one group too many, and complete without
/// the group after the last `-`, has that group as its extension. Only a landline written
/// with its area code qualifies, so that no other misread number is turned into one.
fn dash_extension(scanned: &scan::Scanned, context: &NumberContext) -> Option<PhoneNumber> {
    let start = scanned.last_dash_group?;
    let extension = &scanned.digits[start..];
    if scanned.extension.is_some()
        || start == 0
        || extension.is_empty()
        || extension.len() > MAX_EXTENSION_DIGITS
    {
        return None;
    }
    let without_area_code = NumberContext {
        area_code: None,
        ..context.clone()
    };
    let number =
        classify::classify(&scanned.digits[..start], scanned.plus, &without_area_code).ok()?;
    (number.kind() == NumberKind::Landline).then(|| number.with_extension(Some(extension.into())))
}
