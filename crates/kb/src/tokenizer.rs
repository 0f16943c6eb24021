//! The tokenizer for mixed Simplified Chinese and English text.
//!
//! One pass over a text, in this order:
//!
//! 1. full-width ASCII forms (`ＡＴＭ`, `１２３`, the ideographic space) count as their ASCII
//!    equivalents; token offsets still point into the original text;
//! 2. the text is cut into runs of Han characters, runs of other letters and digits, and
//!    everything else (spaces, punctuation, symbols), which is dropped;
//! 3. a run of other letters and digits is one word, lowercased (`e-mail` is `e` and `mail`,
//!    `2FA` is `2fa`);
//! 4. jieba segments a Han run in search mode (`cut_for_search`): a long word is indexed whole
//!    and also as the dictionary words inside it (`信用卡` as `信用卡` and `信用`), which helps
//!    recall when a customer writes a shorter word than the article;
//! 5. stop words of either language are dropped;
//! 6. after this tokenizer, the [`analyzer`] drops tokens over [`MAX_TOKEN_BYTES`] and stems
//!    English words (Porter2); the stemmer leaves Chinese words alone.
//!
//! The dictionary is loaded once per process, the first time a tokenizer is built.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use jieba_rs::Jieba;
use tantivy::tokenizer::{
    Language as StemLanguage, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream,
    Tokenizer,
};

/// Tokens longer than this (in bytes, after normalization) are dropped: they are base64 blobs,
/// hashes or long runs of digits, not words anybody searches for.
pub const MAX_TOKEN_BYTES: usize = 40;

/// Whether jieba guesses words missing from its dictionary with its hidden Markov model. Off:
/// a guessed word depends on its neighbours, so the same characters can be cut one way in an
/// article and another way in a query and then not match; unknown words are indexed as single
/// characters instead, which match wherever the characters occur.
const SEGMENT_WITH_HMM: bool = false;

/// Chinese function words, question words and single-character adverbs that say nothing about
/// an article's subject ("怎么办", "请问", "的", "还"): as query words they would match most
/// articles and rank them by noise. Kept short on purpose: "没有" ("not received") or "不" can
/// carry the meaning of a query. Sorted (by UTF-8 bytes).
#[rustfmt::skip] // a word list, kept dense
const CHINESE_STOP_WORDS: &[&str] = &[
    "一下", "一个", "与", "个", "为什么", "么", "之", "也", "了", "什么", "从", "他", "会", "但是",
    "你", "你们", "其", "再", "刚", "又", "及", "可以", "吗", "吧", "呀", "呗", "呢", "和", "哦",
    "哪里", "啊", "啦", "嘛", "因为", "在", "地", "太", "她", "好", "如何", "如果", "它", "对",
    "就", "就是", "已", "已经", "应该", "很", "得", "怎么", "怎么办", "怎样", "您", "想", "我",
    "我们", "我的", "或", "所以", "才", "把", "是", "有", "没", "然后", "的", "着", "给", "能",
    "被", "要", "该", "请", "请问", "过", "还", "还是", "这", "这个", "这样", "那", "那个", "那么",
    "都",
];

/// English function words, compared before stemming. Sorted.
#[rustfmt::skip] // a word list, kept dense
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "am", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did",
    "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it",
    "its", "me", "my", "of", "on", "or", "our", "please", "s", "should", "so", "t", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was",
    "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you",
    "your",
];

static SEGMENTER: OnceLock<(Jieba, Duration)> = OnceLock::new();

/// The process-wide jieba instance with its default dictionary, loaded on first use.
fn segmenter() -> &'static Jieba {
    &SEGMENTER
        .get_or_init(|| {
            let started = Instant::now();
            let jieba = Jieba::new();
            (jieba, started.elapsed())
        })
        .0
}

/// Loads the Chinese dictionary now, if this process has not yet, and returns how long loading
/// took (the same figure on every call). Every index loads it on open anyway; a server calls
/// this at start-up to log the figure or to move the cost off the first request.
pub fn load_segmenter() -> Duration {
    segmenter();
    SEGMENTER.get().map_or(Duration::ZERO, |(_, took)| *took)
}

/// The analyzer for titles, tags, bodies and query text: [`MixedTokenizer`], then tokens over
/// [`MAX_TOKEN_BYTES`] dropped, then English stemming.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(MixedTokenizer::new())
        // The filter keeps tokens shorter than its limit.
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
        .filter(Stemmer::new(StemLanguage::English))
        .build()
}

/// A tantivy tokenizer that segments Chinese with jieba and splits, lowercases and filters
/// everything else; see the module documentation.
#[derive(Clone)]
pub(crate) struct MixedTokenizer {
    jieba: &'static Jieba,
    /// The tokens of the current text are `tokens[..used]`; the rest are kept so that their
    /// `String`s are reused for the next text instead of allocated anew.
    tokens: Vec<Token>,
    used: usize,
    /// The current word run, normalized and lowercased.
    word: String,
}

impl MixedTokenizer {
    pub(crate) fn new() -> Self {
        MixedTokenizer {
            jieba: segmenter(),
            tokens: Vec::new(),
            used: 0,
            word: String::new(),
        }
    }
}

/// The full-width form of an ASCII character to its ASCII form, the ideographic space to a
/// space, ASCII upper case to lower case.
fn normalize_char(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(u32::from(c) - 0xFEE0).map_or(c, |ascii| ascii.to_ascii_lowercase())
        }
        _ => c.to_ascii_lowercase(),
    }
}

/// The most bytes in a stop word: each fits in a `u128` key.
const STOP_WORD_MAX_BYTES: usize = 16;

/// A word of at most [`STOP_WORD_MAX_BYTES`] as a number: its bytes, zero-padded (no word
/// contains a zero byte, so distinct words have distinct keys).
fn stop_word_key(word: &str) -> Option<u128> {
    let bytes = word.as_bytes();
    if bytes.len() > STOP_WORD_MAX_BYTES {
        return None;
    }
    let mut key = [0u8; STOP_WORD_MAX_BYTES];
    key[..bytes.len()].copy_from_slice(bytes);
    Some(u128::from_be_bytes(key))
}

/// Every token is looked up, so the look-up is a binary search over sorted integers rather
/// than strings (comparing strings was a third of the time to tokenize an English text).
fn is_stop_word(word: &str) -> bool {
    static KEYS: OnceLock<Vec<u128>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        let mut keys: Vec<u128> = CHINESE_STOP_WORDS
            .iter()
            .chain(ENGLISH_STOP_WORDS)
            .filter_map(|word| stop_word_key(word))
            .collect();
        keys.sort_unstable();
        keys
    });
    stop_word_key(word).is_some_and(|key| keys.binary_search(&key).is_ok())
}

/// What a character is to the tokenizer, after [`normalize_char`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum CharClass {
    /// A Han character: runs of them go to jieba.
    Han,
    /// A letter or digit of any other script: runs of them are words.
    Word,
    /// Anything else (spaces, punctuation, symbols): ends a run, never part of a token.
    Separator,
}

fn classify(c: char) -> CharClass {
    if is_han(c) {
        CharClass::Han
    } else if c.is_alphanumeric() {
        CharClass::Word
    } else {
        CharClass::Separator
    }
}

/// Whether `c` is a separator: never part of a token, and the tokenizer cuts there.
pub(crate) fn is_separator(c: char) -> bool {
    classify(normalize_char(c)) == CharClass::Separator
}

/// The CJK Unified Ideographs, their extension A, the compatibility ideographs and the
/// supplementary-plane extensions.
fn is_han(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x323AF
    )
}

impl MixedTokenizer {
    fn push_token(&mut self, offset_from: usize, offset_to: usize, text: &str) {
        if is_stop_word(text) {
            return;
        }
        if self.used == self.tokens.len() {
            self.tokens.push(Token::default());
        }
        let token = &mut self.tokens[self.used];
        token.offset_from = offset_from;
        token.offset_to = offset_to;
        token.position_length = 1;
        token.text.clear();
        token.text.push_str(text);
        self.used += 1;
    }

    /// Segments a run of Han characters starting at byte `start` of the text.
    fn push_han_run(&mut self, run: &str, start: usize) {
        let jieba = self.jieba;
        for piece in jieba.cut_for_search(run, SEGMENT_WITH_HMM) {
            self.push_token(start + piece.byte_start, start + piece.byte_end, piece.word);
        }
    }
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream<'a> {
        self.used = 0;
        // The text is cut into runs of one class. Only Han runs go through jieba: its
        // dictionary has nothing to say about English, and walking its trie over every ASCII
        // letter cost more than half the time of tokenizing an English text.
        let mut run_class = CharClass::Separator;
        let mut run_start = 0;
        let mut word = std::mem::take(&mut self.word);
        word.clear();
        for (byte, original) in text
            .char_indices()
            .chain(std::iter::once((text.len(), ' ')))
        {
            let c = normalize_char(original);
            let class = classify(c);
            if class != run_class || class == CharClass::Separator {
                match run_class {
                    CharClass::Han => self.push_han_run(&text[run_start..byte], run_start),
                    CharClass::Word => {
                        self.push_token(run_start, byte, &word);
                        word.clear();
                    }
                    CharClass::Separator => {}
                }
                run_class = class;
                run_start = byte;
            }
            if class == CharClass::Word {
                if c.is_ascii() {
                    word.push(c);
                } else {
                    word.extend(c.to_lowercase());
                }
            }
        }
        // Search mode puts a word's parts before the word and its two-character parts before its
        // three-character ones; in text order (start, then end) a consumer that walks offsets
        // forwards, such as a snippet window, never steps back.
        self.word = word;
        let tokens = &mut self.tokens[..self.used];
        tokens.sort_by_key(|token| (token.offset_from, token.offset_to));
        for (position, token) in tokens.iter_mut().enumerate() {
            token.position = position;
        }
        MixedTokenStream { tokens, next: 0 }
    }
}

/// The tokens of one text, produced all at once by [`MixedTokenizer`] and handed out in order.
pub(crate) struct MixedTokenStream<'a> {
    tokens: &'a mut [Token],
    /// The index of the token after the current one; 0 before the first `advance`.
    next: usize,
}

impl TokenStream for MixedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    fn offsets(text: &str) -> Vec<(String, &str)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push((
                token.text.clone(),
                &text[token.offset_from..token.offset_to],
            ));
        }
        out
    }

    #[test]
    fn chinese_is_segmented_with_the_parts_of_long_words() {
        let got = terms("信用卡丢失了怎么办？");
        assert!(got.contains(&"信用卡".to_owned()), "{got:?}");
        assert!(got.contains(&"信用".to_owned()), "{got:?}");
        assert!(got.contains(&"丢失".to_owned()), "{got:?}");
        assert!(
            !got.iter().any(|t| t == "了" || t == "怎么办" || t == "？"),
            "{got:?}"
        );
    }

    #[test]
    fn english_is_lowercased_and_stemmed_and_stop_words_dropped() {
        assert_eq!(terms("The Refunds were REFUNDED"), ["refund", "refund"]);
        assert_eq!(terms("How do I reset my password?"), ["reset", "password"]);
    }

    #[test]
    fn mixed_text_keeps_both_and_the_stemmer_leaves_chinese_alone() {
        let got = terms("退款 refunds 发票invoices");
        assert_eq!(got, ["退款", "refund", "发票", "invoic"]);
    }

    #[test]
    fn full_width_forms_match_ascii_and_offsets_point_into_the_original() {
        assert_eq!(terms("ＡＴＭ吞卡"), terms("ATM吞卡"));
        let got = offsets("ＡＴＭ吞卡");
        assert_eq!(got[0], ("atm".to_owned(), "ＡＴＭ"));
    }

    #[test]
    fn words_of_other_scripts_are_split_at_anything_but_letters_and_digits() {
        assert_eq!(terms("e-mail 2FA Straße"), ["e", "mail", "2fa", "straße"]);
        assert_eq!(terms("发票invoices（电子）"), ["发票", "invoic", "电子"]);
    }

    #[test]
    fn punctuation_and_query_syntax_produce_no_terms() {
        assert!(terms("***").is_empty());
        assert!(terms("AND OR ((").is_empty());
        assert!(terms("，。！？、“”（）").is_empty());
        assert!(terms("").is_empty());
    }

    #[test]
    fn tokens_come_in_text_order() {
        let mut analyzer = analyzer();
        let text = "中华人民共和国国际漫游资费说明 roaming";
        let mut stream = analyzer.token_stream(text);
        let mut last = (0, 0);
        while let Some(token) = stream.next() {
            let here = (token.offset_from, token.offset_to);
            assert!(here >= last, "{here:?} after {last:?}");
            last = here;
        }
    }

    #[test]
    fn the_stop_word_lists_are_sorted_and_short_enough_for_their_keys() {
        for list in [CHINESE_STOP_WORDS, ENGLISH_STOP_WORDS] {
            assert!(list.windows(2).all(|pair| pair[0] < pair[1]), "{list:?}");
            assert!(list.iter().all(|word| word.len() <= STOP_WORD_MAX_BYTES));
            assert!(list.iter().all(|word| is_stop_word(word)));
        }
        assert!(!is_stop_word("refund") && !is_stop_word("退款") && !is_stop_word(""));
        assert!(!is_stop_word(&"a".repeat(STOP_WORD_MAX_BYTES + 1)));
    }

    #[test]
    fn a_reused_tokenizer_forgets_the_previous_text() {
        let mut tokenizer = MixedTokenizer::new();
        let mut texts = Vec::new();
        for text in ["long text with many words in it", "退款", "short"] {
            let mut stream = tokenizer.token_stream(text);
            let mut got = Vec::new();
            while stream.advance() {
                got.push(stream.token().text.clone());
            }
            texts.push(got);
        }
        assert_eq!(texts[1], ["退款"]);
        assert_eq!(texts[2], ["short"]);
    }

    #[test]
    fn overlong_tokens_are_dropped() {
        let longest = "a".repeat(MAX_TOKEN_BYTES);
        let too_long = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(terms(&format!("{too_long} {longest}")), [longest]);
    }
}
