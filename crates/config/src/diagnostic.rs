//! Diagnostics: what is wrong, and where (file, line, column, field).

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// One problem in a configuration file.
///
/// Displayed on one line as `FILE:LINE:COL: FIELD: MESSAGE`, the form editors and terminals
/// turn into a link. `line` and `column` count from 1 (the column in characters); both are 0
/// when the problem is with the file as a whole (it could not be read).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The file, as the caller named it.
    pub file: String,
    /// Line of the offending value or entry, from 1; 0 for the file as a whole.
    pub line: usize,
    /// Column in characters, from 1; 0 for the file as a whole.
    pub column: usize,
    /// The field at fault as a path into the file, such as `routing.queues[1].selection` or
    /// `routing.agents[3] (acct-017).skills[0]`; `(syntax)` for a TOML syntax error and
    /// `(file)` when the file could not be read.
    pub field: String,
    /// What is wrong and what is expected, on one line.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

/// Every problem found in a file, in the order of the file (by line, then column).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts by position and drops exact repeats (a group of agents or a shift that covers
    /// many agents makes the same complaint once per agent).
    pub(crate) fn finish(mut list: Vec<Diagnostic>) -> Diagnostics {
        let mut seen = std::collections::HashSet::new();
        list.retain(|d| seen.insert(d.clone()));
        list.sort_by_key(|d| (d.line, d.column));
        Diagnostics(list)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

/// The text being read and its name, to turn byte offsets into lines and columns.
pub(crate) struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
    /// Byte offset of the start of each line, so that placing each of many diagnostics
    /// (one per agent of a large group) does not rescan the text.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    /// A source to place diagnostics in.
    pub fn new(file: &'a str, text: &'a str) -> Source<'a> {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file,
            text,
            line_starts,
        }
    }

    /// Line and column (from 1; the column in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        // The last line starting at or before the offset; line_starts[0] is 0.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = self.text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    /// A diagnostic at the start of `span`.
    pub fn at(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_column(span.start);
        Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }

    /// A diagnostic about the file as a whole.
    pub fn whole_file(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.to_string(),
            line: 0,
            column: 0,
            field: "(file)".into(),
            message: message.into(),
        }
    }

    /// A TOML syntax error.
    pub fn syntax(&self, error: &toml::de::Error) -> Diagnostic {
        let span = error.span().unwrap_or(0..0);
        self.at(span, "(syntax)", one_line(error.message()))
    }
}

/// Parses a TOML document, reporting every syntax error the parser can recover from.
pub(crate) fn parse_document<'i>(
    file: &str,
    text: &'i str,
) -> Result<Spanned<DeTable<'i>>, Diagnostics> {
    let src = Source::new(file, text);
    let (table, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(Diagnostics::finish(
            errors.iter().map(|e| src.syntax(e)).collect(),
        ))
    }
}

/// Deserializes one TOML value into `T`; `prefix` is the value's own path (`routing`), empty
/// for the document itself. The one error serde stops at becomes a diagnostic with the path
/// of the field at fault.
pub(crate) fn deserialize_value<'i, T: Deserialize<'i>>(
    src: &Source<'_>,
    prefix: &str,
    value: Spanned<DeValue<'i>>,
) -> Result<T, Diagnostic> {
    let whole = value.span();
    serde_path_to_error::deserialize(ValueDeserializer::from(value)).map_err(|error| {
        let path = join_path(prefix, &format_path(error.path()));
        let error = error.into_inner();
        let span = error.span().unwrap_or(whole);
        let message = one_line(error.message());
        // serde reports a missing key at its table; name the key in the field.
        if let Some(key) = between(&message, "missing field `", "`") {
            return src.at(span, join_path(&path, key), "required key is missing");
        }
        let field = if path.is_empty() {
            "(document)".to_string()
        } else {
            path
        };
        src.at(span, field, tidy_message(&message))
    })
}

/// `a` + `.` + `b`, leaving out the dot where either is empty.
pub(crate) fn join_path(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}.{b}"),
    }
}

/// The path serde_path_to_error recorded, without the private keys through which toml
/// delivers spans and datetimes.
fn format_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with("$__") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// The text between the first `start` and the next `end`, when `text` begins with `start`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(start)?;
    rest.find(end).map(|i| &rest[..i])
}

/// Collapses a message onto one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rewrites serde's stock messages into the words of the file format: tables, arrays, keys,
/// and integer ranges instead of Rust type names.
fn tidy_message(message: &str) -> String {
    if let Some(key) = between(message, "unknown field `", "`") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, e)| e)
            .unwrap_or_default();
        let expected = expected
            .trim_start_matches("one of ")
            .replace(" or ", ", ")
            .replace('`', "");
        return if message.ends_with("there are no fields") || expected.is_empty() {
            format!("unknown key {key:?}; this table takes no keys")
        } else {
            format!("unknown key {key:?}; expected one of {expected}")
        };
    }
    if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            return format!(
                "expected {}, found {}",
                rust_words(expected),
                rust_words(found).replace('`', "")
            );
        }
    }
    message.to_string()
}

/// What a Rust type name means in TOML.
fn rust_words(text: &str) -> String {
    let replaced = match text {
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "usize" => "an integer of zero or more",
        "i64" => "an integer",
        "f64" => "a number",
        "a sequence" => "an array",
        "sequence" => "an array",
        "a map" | "map" => "a table",
        "a boolean" | "boolean" => "true or false",
        _ if text.starts_with("struct ") => "a table",
        _ => return text.to_string(),
    };
    replaced.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let src = Source::new("f.toml", "a = 1\nbé = \"x\"\n");
        assert_eq!(src.line_column(0), (1, 1));
        assert_eq!(src.line_column(4), (1, 5));
        assert_eq!(src.line_column(6), (2, 1));
        // "é" is two bytes and one column.
        assert_eq!(src.line_column(11), (2, 5));
        assert_eq!(src.line_column(1000), (3, 1));
    }

    #[test]
    fn tidied_messages() {
        assert_eq!(
            tidy_message("unknown field `bogus`, expected one of `name`, `skills`"),
            r#"unknown key "bogus"; expected one of name, skills"#
        );
        assert_eq!(
            tidy_message("unknown field `x`, expected `a` or `b`"),
            r#"unknown key "x"; expected one of a, b"#
        );
        assert_eq!(
            tidy_message("invalid value: integer `-4`, expected u32"),
            "expected an integer from 0 to 4294967295, found integer -4"
        );
        assert_eq!(
            tidy_message("invalid type: string \"x\", expected struct RawQueue"),
            "expected a table, found string \"x\""
        );
    }

    #[test]
    fn display() {
        let d = Diagnostic {
            file: "a.toml".into(),
            line: 3,
            column: 9,
            field: "routing.queues[1].selection".into(),
            message: "unknown value".into(),
        };
        assert_eq!(
            d.to_string(),
            "a.toml:3:9: routing.queues[1].selection: unknown value"
        );
        let two = Diagnostics(vec![d.clone(), d]);
        assert_eq!(two.to_string().lines().count(), 2);
    }
}
