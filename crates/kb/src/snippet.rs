//! The snippet of a hit: a short stretch of the body around the query's words.
//!
//! Written here rather than taken from tantivy's `SnippetGenerator`, which measures its window
//! in bytes (a Chinese character is three) and tokenizes the whole body of every hit; this one
//! counts characters and stops tokenizing once it has seen every query word. Tokenizing is most
//! of a search's time, so that matters.

use std::collections::BTreeSet;

use tantivy::tokenizer::TextAnalyzer;

use crate::tokenizer::is_separator;
use crate::SNIPPET_MAX_CHARS;

/// At most this many characters of context before the first matched word.
const SNIPPET_LEAD_CHARS: usize = 20;

/// Only this many bytes at the start of a body are searched for the query's words: the
/// snippet's cost stays bounded however long the article (tokenizing is most of it), and an
/// article that matches a query usually does so early.
const SNIPPET_SCAN_BYTES: usize = 4096;

/// The body is tokenized for a snippet in chunks of about this many bytes.
const SNIPPET_CHUNK_BYTES: usize = 512;

/// The largest character boundary of `text` at or before `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The end of the chunk starting at `start`: the first separator (a character no token
/// contains, where the tokenizer splits anyway) at or after [`SNIPPET_CHUNK_BYTES`] further on,
/// or `limit`.
fn chunk_end(text: &str, start: usize, limit: usize) -> usize {
    let from = floor_char_boundary(text, start + SNIPPET_CHUNK_BYTES).max(start);
    if from >= limit {
        return limit;
    }
    text[from..limit]
        .char_indices()
        .find(|&(_, c)| is_separator(c))
        .map_or(limit, |(offset, _)| from + offset)
}

/// Characters that end a sentence: the snippet starts after one rather than mid-sentence when
/// it can.
fn ends_sentence(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '\n' | '.' | '!' | '?' | ';')
}

/// The byte index `chars` characters after byte `start` of `text`, or its end.
fn byte_after_chars(text: &str, start: usize, chars: usize) -> usize {
    text[start..]
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(byte, _)| start + byte)
}

/// Up to [`SNIPPET_MAX_CHARS`] characters of `body` around the words of `terms` (analyzed terms,
/// as the index holds them), or its beginning when none occurs in its first
/// [`SNIPPET_SCAN_BYTES`].
pub(crate) fn snippet(analyzer: &mut TextAnalyzer, body: &str, terms: &BTreeSet<String>) -> String {
    let scan_end = floor_char_boundary(body, SNIPPET_SCAN_BYTES);
    let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
    // Each matched token: (start byte, start char, end char, index of its term), in text order
    // (the tokenizer sorts its tokens by start, and chunks come in order).
    let mut matches: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut seen = vec![false; terms.len()];
    let mut unseen = terms.len();
    let (mut counted_byte, mut counted_chars) = (0, 0);
    // Tokenizing is the cost, so the body is tokenized a chunk at a time, and no further once
    // every query word has been seen.
    let mut chunk_start = 0;
    while chunk_start < scan_end && unseen > 0 {
        let chunk_end = chunk_end(body, chunk_start, scan_end);
        let chunk = &body[chunk_start..chunk_end];
        let mut stream = analyzer.token_stream(chunk);
        while let Some(token) = stream.next() {
            let Ok(term) = terms.binary_search(&token.text.as_str()) else {
                continue;
            };
            let (from, to) = (
                chunk_start + token.offset_from,
                chunk_start + token.offset_to,
            );
            debug_assert!(from >= counted_byte, "tokens out of order");
            counted_chars += body[counted_byte..from].chars().count();
            counted_byte = from;
            let end_chars = counted_chars + body[from..to].chars().count();
            matches.push((from, counted_chars, end_chars, term));
            if !seen[term] {
                seen[term] = true;
                unseen -= 1;
            }
        }
        chunk_start = chunk_end;
    }
    if matches.is_empty() {
        return excerpt(body, 0);
    }
    // Slide a window of `window_chars` starting at each match; keep the one holding the most
    // distinct query words, the earliest of equals.
    let window_chars = SNIPPET_MAX_CHARS - SNIPPET_LEAD_CHARS;
    let mut in_window = vec![0usize; terms.len()];
    let mut distinct = 0;
    let mut end = 0;
    let mut best = (0, 0);
    for first in 0..matches.len() {
        let window_end_chars = matches[first].1 + window_chars;
        while end < matches.len() && matches[end].2 <= window_end_chars {
            let term = matches[end].3;
            if in_window[term] == 0 {
                distinct += 1;
            }
            in_window[term] += 1;
            end += 1;
        }
        if distinct > best.1 {
            best = (first, distinct);
        }
        if end > first {
            let term = matches[first].3;
            in_window[term] -= 1;
            if in_window[term] == 0 {
                distinct -= 1;
            }
        } else {
            // A match longer than the window (not possible with MAX_TOKEN_BYTES, but cheap to
            // keep right): the next window starts after it.
            end = first + 1;
        }
    }
    let match_start = matches[best.0].0;
    // Back up a little for context, but not past the start of the sentence.
    let mut start = match_start;
    for (byte, c) in body[..match_start]
        .char_indices()
        .rev()
        .take(SNIPPET_LEAD_CHARS)
    {
        if ends_sentence(c) {
            break;
        }
        start = byte;
    }
    // Not in the middle of an English word: move on to the word's end.
    if starts_mid_word(body, start) {
        if let Some(space) = body[start..match_start].find(char::is_whitespace) {
            start += space;
        } else {
            start = match_start;
        }
    }
    excerpt(body, start)
}

/// Whether byte `at` of `text` falls between two ASCII letters or digits.
fn starts_mid_word(text: &str, at: usize) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at..].chars().next();
    matches!((before, after), (Some(b), Some(a)) if b.is_ascii_alphanumeric() && a.is_ascii_alphanumeric())
}

/// Up to [`SNIPPET_MAX_CHARS`] characters of `text` from byte `start` (a character boundary),
/// runs of whitespace as one space, `…` where it was cut.
pub(crate) fn excerpt(text: &str, start: usize) -> String {
    let mut end = byte_after_chars(text, start, SNIPPET_MAX_CHARS);
    // Not in the middle of an English word: end before it, if that leaves something.
    if starts_mid_word(text, end) {
        if let Some(space) = text[start..end].rfind(char::is_whitespace) {
            end = start + space;
        }
    }
    let mut out = String::new();
    if !text[..start].trim().is_empty() {
        out.push('…');
    }
    for (index, word) in text[start..end].split_whitespace().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if !text[end..].trim().is_empty() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::analyzer;

    fn terms(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn a_short_body_is_the_snippet() {
        let got = snippet(&mut analyzer(), "Refunds take 5 days.", &terms(&["refund"]));
        assert_eq!(got, "Refunds take 5 days.");
    }

    #[test]
    fn the_window_moves_to_the_match_in_a_long_body() {
        let filler = "无关内容。".repeat(60);
        let body = format!("{filler}信用卡丢失后请立即致电挂失。{filler}");
        let got = snippet(&mut analyzer(), &body, &terms(&["挂失"]));
        assert!(got.starts_with('…') && got.ends_with('…'), "{got}");
        assert!(got.contains("信用卡丢失后请立即致电挂失"), "{got}");
        assert!(got.chars().count() <= SNIPPET_MAX_CHARS + 2, "{got}");
    }

    #[test]
    fn the_window_with_the_most_distinct_words_wins() {
        let body = format!(
            "Refund here. {} Refund and warranty together here. {}",
            "filler ".repeat(40),
            "filler ".repeat(40)
        );
        let got = snippet(&mut analyzer(), &body, &terms(&["refund", "warranti"]));
        assert!(
            got.starts_with("…filler filler Refund and warranty"),
            "{got}"
        );
        assert!(got.ends_with("filler…"), "{got}");
    }

    #[test]
    fn a_match_past_the_scanned_part_is_not_looked_for() {
        let body = format!("{} refund", "filler ".repeat(SNIPPET_SCAN_BYTES / 7 + 1));
        let got = snippet(&mut analyzer(), &body, &terms(&["refund"]));
        assert!(got.starts_with("filler filler"), "{got}");
    }

    #[test]
    fn chunks_give_the_tokens_of_the_whole_text() {
        // Matches in every chunk, across a long text of both languages.
        let body = "退款政策说明，refund policy。".repeat(100);
        let got = snippet(&mut analyzer(), &body, &terms(&["退款", "polici"]));
        assert!(got.starts_with("退款政策说明，refund policy"), "{got}");
        let mut start = 0;
        while start < body.len() {
            let end = chunk_end(&body, start, body.len());
            assert!(end > start && body.is_char_boundary(end));
            assert!(end == body.len() || is_separator(body[end..].chars().next().unwrap()));
            start = end;
        }
    }

    #[test]
    fn no_match_gives_the_beginning() {
        let body = "word ".repeat(100);
        let got = snippet(&mut analyzer(), &body, &terms(&["absent"]));
        assert!(got.starts_with("word word") && got.ends_with('…'), "{got}");
    }
}
