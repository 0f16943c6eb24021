//! [`PhoneNumber`], a checked number, and the forms it is written back in.

use std::fmt;
use std::str::FromStr;

use crate::{normalize, NumberContext, PhoneError};

/// What kind of number a [`PhoneNumber`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// A Chinese mobile number: 11 digits starting with 13 to 19.
    Mobile,
    /// A Chinese fixed-line number: an area code and a subscriber number.
    Landline,
    /// A Chinese 400 or 800 number: 10 digits, the same from everywhere in China, paid for
    /// (wholly for 800, partly for 400) by the company called.
    TollFree,
    /// A Chinese short service number (`110`, `10086`, `12345`, `95588`): 3 to 5 digits, no
    /// E.164 form.
    Service,
    /// A number outside China: any country code but 86.
    International,
}

/// A phone number read by [`normalize`]: its canonical form, its kind and an extension.
///
/// Two numbers are equal when they are the same number with the same extension, whatever form
/// each was written in. `Display` writes the RFC 3966 form, [`e164`](Self::e164) followed by
/// `;ext=` and the extension where there is one (`+861012345678;ext=8001`), which `FromStr`
/// reads back.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    /// `+` and the E.164 digits; for a service number its national digits.
    key: String,
    kind: NumberKind,
    extension: Option<String>,
    /// The digits of the area code of a landline, or of the country code of an international
    /// number; 0 otherwise.
    prefix_len: usize,
}

impl PhoneNumber {
    pub(crate) fn mobile(digits: &str) -> PhoneNumber {
        PhoneNumber::chinese(digits, NumberKind::Mobile, 0)
    }

    pub(crate) fn landline(digits: &str, area_code_len: usize) -> PhoneNumber {
        PhoneNumber::chinese(digits, NumberKind::Landline, area_code_len)
    }

    pub(crate) fn toll_free(digits: &str) -> PhoneNumber {
        PhoneNumber::chinese(digits, NumberKind::TollFree, 0)
    }

    pub(crate) fn service(digits: &str) -> PhoneNumber {
        PhoneNumber {
            key: digits.to_owned(),
            kind: NumberKind::Service,
            extension: None,
            prefix_len: 0,
        }
    }

    pub(crate) fn international(digits: &str, country_code_len: usize) -> PhoneNumber {
        PhoneNumber {
            key: format!("+{digits}"),
            kind: NumberKind::International,
            extension: None,
            prefix_len: country_code_len,
        }
    }

    fn chinese(national_significant: &str, kind: NumberKind, prefix_len: usize) -> PhoneNumber {
        PhoneNumber {
            key: format!("+86{national_significant}"),
            kind,
            extension: None,
            prefix_len,
        }
    }

    pub(crate) fn with_extension(self, extension: Option<String>) -> PhoneNumber {
        PhoneNumber { extension, ..self }
    }

    /// The canonical form and lookup key, without the extension: E.164 (`"+8613800138000"`,
    /// `"+861012345678"`, `"+442079460958"`), or for a [`NumberKind::Service`] number, which
    /// has no E.164 form, its national digits (`"95588"`).
    pub fn e164(&self) -> &str {
        &self.key
    }

    /// The extension's digits, if the number had one.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }

    /// What kind of number this is.
    pub fn kind(&self) -> NumberKind {
        self.kind
    }

    /// The number as dialled inside China, without the extension: `"13800138000"`,
    /// `"01012345678"`, `"4008001234"`, `"95588"`, and for an international number the
    /// international prefix `00` and its E.164 digits, `"00442079460958"`.
    pub fn national(&self) -> String {
        match self.kind {
            NumberKind::Mobile | NumberKind::TollFree | NumberKind::Service => {
                self.national_significant().to_owned()
            }
            NumberKind::Landline => format!("0{}", self.national_significant()),
            NumberKind::International => format!("00{}", &self.key[1..]),
        }
    }

    /// The number for a screen that must not show it whole (see the
    /// [crate documentation](crate#masking)): `"138****8000"`, `"010-****5678"`,
    /// `"0571-***4567"`, `"400***1234"`, `"95588"`, `"+44 ******0958"`, with `" 转 "` and the
    /// extension where there is one.
    pub fn masked(&self) -> String {
        let digits = self.national_significant();
        let mut text = match self.kind {
            NumberKind::Mobile | NumberKind::TollFree => {
                format!("{}{}", &digits[..3], mask(&digits[3..], 4))
            }
            NumberKind::Landline => {
                let (area_code, subscriber) = digits.split_at(self.prefix_len);
                format!("0{area_code}-{}", mask(subscriber, 4))
            }
            NumberKind::Service => digits.to_owned(),
            NumberKind::International => {
                let (country_code, rest) = digits.split_at(self.prefix_len);
                // Short numbers (4 digits after the country code) keep half.
                format!("+{country_code} {}", mask(rest, (rest.len() / 2).min(4)))
            }
        };
        self.append_extension(&mut text);
        text
    }

    /// The number grouped for reading: `"138 0013 8000"`, `"010-1234 5678"`,
    /// `"0571-123 4567"`, `"400-800-1234"`, `"95588"`, `"+44 20 7946 0958"`,
    /// `"+1 212 555 0100"`, with `" 转 "` and the extension where there is one. It is read back
    /// by [`normalize`] as the same number.
    pub fn display(&self) -> String {
        let digits = self.national_significant();
        let mut text = match self.kind {
            NumberKind::Mobile => {
                format!("{} {} {}", &digits[..3], &digits[3..7], &digits[7..])
            }
            NumberKind::Landline => {
                let (area_code, subscriber) = digits.split_at(self.prefix_len);
                let (head, tail) = subscriber.split_at(subscriber.len() - 4);
                format!("0{area_code}-{head} {tail}")
            }
            NumberKind::TollFree => {
                format!("{}-{}-{}", &digits[..3], &digits[3..6], &digits[6..])
            }
            NumberKind::Service => digits.to_owned(),
            NumberKind::International => {
                let (country_code, rest) = digits.split_at(self.prefix_len);
                let groups = if country_code == "1" && rest.len() == 10 {
                    // The North American plan: area code, exchange, line.
                    format!("{} {} {}", &rest[..3], &rest[3..6], &rest[6..])
                } else {
                    group_by_four_from_the_end(rest)
                };
                format!("+{country_code} {groups}")
            }
        };
        self.append_extension(&mut text);
        text
    }

    /// The digits after `+86`; for a service number, its digits; for an international number,
    /// all its digits, country code included.
    fn national_significant(&self) -> &str {
        match self.kind {
            NumberKind::Mobile | NumberKind::Landline | NumberKind::TollFree => &self.key[3..],
            NumberKind::Service => &self.key,
            NumberKind::International => &self.key[1..],
        }
    }

    fn append_extension(&self, text: &mut String) {
        if let Some(extension) = &self.extension {
            text.push_str(" 转 ");
            text.push_str(extension);
        }
    }
}

/// `digits` with all but the last `keep` replaced by `*`.
fn mask(digits: &str, keep: usize) -> String {
    let hidden = digits.len().saturating_sub(keep);
    let mut text = "*".repeat(hidden);
    text.push_str(&digits[hidden..]);
    text
}

/// `2079460958` as `20 7946 0958`.
fn group_by_four_from_the_end(digits: &str) -> String {
    let head = match digits.len() % 4 {
        0 => 4,
        head => head,
    };
    let mut text = digits[..head.min(digits.len())].to_owned();
    let mut start = head;
    while start < digits.len() {
        text.push(' ');
        text.push_str(&digits[start..start + 4]);
        start += 4;
    }
    text
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)?;
        if let Some(extension) = &self.extension {
            write!(f, ";ext={extension}")?;
        }
        Ok(())
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    /// [`normalize`] in the default context: China, no area code.
    fn from_str(text: &str) -> Result<PhoneNumber, PhoneError> {
        normalize(text, &NumberContext::default())
    }
}
