//! [`E164Number`]: the number a task dials, held inline in 16 bytes.

use std::fmt;

use crate::{E164_DIGITS_MAX, E164_DIGITS_MIN};

/// A telephone number in E.164 form, `"+8613812345678"`: a plus sign and 3 to 15 digits, the
/// first not zero (the form `hotline-phone`'s `normalize` produces). The number is stored
/// inline (16 bytes, no allocation), since a million tasks each hold one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct E164Number {
    /// `+`, the digits, then zero bytes up to the end.
    bytes: [u8; 1 + E164_DIGITS_MAX],
}

impl E164Number {
    /// Checks `text` and stores it. The error says what is wrong, without the field.
    pub fn parse(text: &str) -> Result<E164Number, String> {
        let digits = text.strip_prefix('+').ok_or_else(|| {
            format!("{text:?} is not in E.164 form; expected \"+\" and the digits, such as \"+8613812345678\"")
        })?;
        if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!(
                "{text:?} is not in E.164 form; after \"+\" only the digits 0-9 may follow"
            ));
        }
        if !(E164_DIGITS_MIN..=E164_DIGITS_MAX).contains(&digits.len()) {
            return Err(format!(
                "{text:?} has {} digits; E.164 numbers have {E164_DIGITS_MIN} to {E164_DIGITS_MAX}",
                digits.len()
            ));
        }
        if digits.starts_with('0') {
            return Err(format!(
                "{text:?} is not in E.164 form; the country code does not begin with 0"
            ));
        }
        let mut bytes = [0; 1 + E164_DIGITS_MAX];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(E164Number { bytes })
    }

    /// The number as text, `"+8613812345678"`.
    pub fn as_str(&self) -> &str {
        let len = self
            .bytes
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(self.bytes.len());
        // Only ASCII is ever stored, so this never falls back.
        std::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }
}

impl fmt::Display for E164Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for E164Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164Number({:?})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for text in ["+8613812345678", "+85291234567", "+123", "+123456789012345"] {
            assert_eq!(
                E164Number::parse(text).map(|n| n.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn flawed_numbers() {
        for text in [
            "",
            "+",
            "13812345678",
            "+86 138",
            "+0861",
            "+12",
            "+1234567890123456",
            "+86１38",
            "++86",
        ] {
            assert!(E164Number::parse(text).is_err(), "{text}");
        }
    }
}
