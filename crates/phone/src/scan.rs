//! From text to digits: drops URI schemes, separators and a written trunk `(0)`, and splits off
//! the extension. Knows nothing about which digit strings are numbers; see `classify`.

use crate::{PhoneError, MAX_EXTENSION_DIGITS};

/// An input read down to its digits.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// Whether the digits were written after a `+`.
    pub plus: bool,
    /// The number's digits in ASCII, the extension's excluded.
    pub digits: String,
    /// The extension's digits.
    pub extension: Option<String>,
    /// Where in `digits` the group after the last `-` starts, for `010-12345678-8001`.
    pub last_dash_group: Option<usize>,
}

/// One character of the input: where it was, what it was, and what it stands for.
#[derive(Clone, Copy, Debug)]
struct Char {
    /// Counted in characters from 1, for messages.
    position: usize,
    original: char,
    /// Full-width forms made ASCII, dashes made `-`, spaces made ` `, ASCII letters lowercase.
    mapped: char,
}

/// Words that introduce an extension, as `mapped` characters, longest first so that `ext`
/// is not read as `x`… and `转分机` not as `转` followed by letters.
const EXTENSION_MARKERS: [&str; 10] = [
    "extension",
    "转分机",
    "分机号",
    ";ext=",
    "分机",
    "ext",
    "转",
    "x",
    "#",
    ",",
];

fn map(c: char) -> char {
    match c {
        // Full-width ASCII: ０-９, ＋, （）, －, ．, ／, ＃, ，, letters.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        // Hyphens and dashes: ‐ ‑ ‒ – — ―, minus, small hyphen-minus.
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
        // Invisible format characters pasted from web pages and spreadsheets: zero-width
        // spaces and joiners, direction marks, word joiner, isolates, byte-order mark.
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => ' ',
        c if c.is_whitespace() => ' ',
        c => c.to_ascii_lowercase(),
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '/' | '(' | ')')
}

fn starts_with(chars: &[Char], text: &str) -> bool {
    let mut chars = chars.iter();
    text.chars()
        .all(|expected| chars.next().is_some_and(|c| c.mapped == expected))
}

/// Reads `input` (already known to be short and not blank) down to its digits.
pub(crate) fn scan(input: &str) -> Result<Scanned, PhoneError> {
    let chars: Vec<Char> = input
        .chars()
        .enumerate()
        .map(|(index, original)| Char {
            position: index + 1,
            original,
            mapped: map(original),
        })
        .collect();
    let start = chars.iter().take_while(|c| c.mapped == ' ').count();
    let chars = &chars[start..];
    let (main, extension_parameter) = if let Some(uri) = strip_scheme(chars) {
        split_uri(uri)
    } else {
        (chars, None)
    };
    let mut scanned = scan_main(main)?;
    if let (None, Some(parameter)) = (&scanned.extension, extension_parameter) {
        scanned.extension = Some(scan_extension(parameter, "ext=")?);
    }
    Ok(scanned)
}

/// The rest of a `tel:`, `sip:` or `sips:` URI, with the `@host` of a SIP URI dropped.
fn strip_scheme(chars: &[Char]) -> Option<&[Char]> {
    if starts_with(chars, "tel:") {
        return Some(&chars[4..]);
    }
    let user_and_host = if starts_with(chars, "sip:") {
        &chars[4..]
    } else if starts_with(chars, "sips:") {
        &chars[5..]
    } else {
        return None;
    };
    let at = user_and_host.iter().position(|c| c.mapped == '@');
    Some(&user_and_host[..at.unwrap_or(user_and_host.len())])
}

/// A URI's number and the value of its `ext=` parameter; other parameters
/// (`phone-context`, `isub`, `user`) are dropped.
fn split_uri(uri: &[Char]) -> (&[Char], Option<&[Char]>) {
    let Some(semicolon) = uri.iter().position(|c| c.mapped == ';') else {
        return (uri, None);
    };
    let extension = uri[semicolon + 1..]
        .split(|c| c.mapped == ';')
        .find(|parameter| starts_with(parameter, "ext="))
        .map(|parameter| &parameter[4..]);
    (&uri[..semicolon], extension)
}

fn scan_main(chars: &[Char]) -> Result<Scanned, PhoneError> {
    let mut scanned = Scanned {
        plus: false,
        digits: String::new(),
        extension: None,
        last_dash_group: None,
    };
    let mut open_parenthesis: Option<usize> = None;
    let mut index = 0;
    while let Some(c) = chars.get(index) {
        match c.mapped {
            '0'..='9' => scanned.digits.push(c.mapped),
            '+' if !scanned.plus && scanned.digits.is_empty() => scanned.plus = true,
            '+' => {
                return Err(PhoneError::MisplacedPlus {
                    position: c.position,
                })
            }
            '(' => open_parenthesis = Some(scanned.digits.len()),
            ')' => {
                if let Some(opened) = open_parenthesis.take() {
                    drop_written_trunk_prefix(&mut scanned, opened);
                }
            }
            '-' => scanned.last_dash_group = Some(scanned.digits.len()),
            mapped if is_separator(mapped) => {}
            _ => {
                let rest = &chars[index..];
                let Some(marker) = EXTENSION_MARKERS
                    .iter()
                    .find(|marker| starts_with(rest, marker))
                else {
                    return Err(PhoneError::InvalidCharacter {
                        ch: c.original,
                        position: c.position,
                    });
                };
                let marker_len = marker.chars().count();
                let written: String = rest[..marker_len].iter().map(|c| c.original).collect();
                scanned.extension = Some(scan_extension(&rest[marker_len..], &written)?);
                break;
            }
        }
        index += 1;
    }
    Ok(scanned)
}

/// `+86 (0)10 …`, `0086 (0)10 …`, `+44 (0)20 …`: a `0` alone in parentheses after a country
/// code is the trunk prefix, written for callers inside the country, and not part of the
/// international number. A `(0)` anywhere else is kept.
fn drop_written_trunk_prefix(scanned: &mut Scanned, opened: usize) {
    let before = &scanned.digits[..opened];
    let after_country_code =
        opened > 0 && (scanned.plus || before.starts_with("00") || before == "86");
    if after_country_code && &scanned.digits[opened..] == "0" {
        scanned.digits.truncate(opened);
    }
}

/// The digits after an extension marker: separators may come before and between them, spaces
/// after, nothing else.
fn scan_extension(chars: &[Char], marker: &str) -> Result<String, PhoneError> {
    let mut digits = String::new();
    for c in chars {
        match c.mapped {
            '0'..='9' => digits.push(c.mapped),
            ' ' | '-' | '.' | ':' | ',' | '=' => {}
            _ => {
                return Err(PhoneError::InvalidCharacter {
                    ch: c.original,
                    position: c.position,
                })
            }
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::ExtensionWithoutDigits {
            marker: marker.trim().to_owned(),
        });
    }
    if digits.len() > MAX_EXTENSION_DIGITS {
        return Err(PhoneError::ExtensionTooLong {
            digits,
            max: MAX_EXTENSION_DIGITS,
        });
    }
    Ok(digits)
}
