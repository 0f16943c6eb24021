//! What goes into the index and what comes out of a search.

use crate::{DEFAULT_LIMIT, MAX_LIMIT};

/// The language an article is written in. A query may be limited to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// Simplified Chinese (`zh`).
    Zh,
    /// English (`en`).
    En,
}

impl Language {
    /// The ISO 639-1 code: `"zh"` or `"en"`.
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// The language for an ISO 639-1 code (`"zh"`, `"en"`, any case), or `None`.
    pub fn from_code(code: &str) -> Option<Language> {
        if code.eq_ignore_ascii_case("zh") {
            Some(Language::Zh)
        } else if code.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }
}

/// One article as the index sees it: the current version from the article store.
///
/// Size limits: [`MAX_TITLE_CHARS`](crate::MAX_TITLE_CHARS),
/// [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES), [`MAX_CATEGORY_CHARS`](crate::MAX_CATEGORY_CHARS),
/// [`MAX_TAGS`](crate::MAX_TAGS) of at most [`MAX_TAG_CHARS`](crate::MAX_TAG_CHARS) each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleDoc {
    /// The article's id in the store; one indexed document per id.
    pub id: i64,
    /// The title; a match here weighs more than one in the body.
    pub title: String,
    /// The text, plain (no markup); snippets are cut from it.
    pub body: String,
    /// The category, matched exactly (ignoring ASCII case) by [`Query::category`].
    pub category: String,
    /// Need tags (`"信用卡"`, `"refund"`), matched exactly (ignoring case) by
    /// [`ArticleIndex::suggest_for_tags`](crate::ArticleIndex::suggest_for_tags) and searched as
    /// words by [`ArticleIndex::search`](crate::ArticleIndex::search).
    pub tags: Vec<String>,
    /// The language it is written in.
    pub language: Language,
    /// A one-click reply an agent may send as is.
    pub quick_reply: bool,
    /// Published; drafts are indexed but left out of searches unless asked for.
    pub published: bool,
}

/// A search of the knowledge base; build it with [`Query::new`] and change the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// What the agent or the customer typed, in either language; only its first
    /// [`MAX_QUERY_CHARS`](crate::MAX_QUERY_CHARS) characters count. It is not a query language:
    /// `AND`, quotes and brackets are words or punctuation like any other.
    pub text: String,
    /// Only articles in this language, or any.
    pub language: Option<Language>,
    /// Only articles in this category (exact, ignoring ASCII case), or any.
    pub category: Option<String>,
    /// Only published articles (the default).
    pub published_only: bool,
    /// Only quick replies.
    pub quick_replies_only: bool,
    /// At most this many hits; capped at [`MAX_LIMIT`]. Default [`DEFAULT_LIMIT`].
    pub limit: usize,
}

impl Query {
    /// A search for `text` over published articles in any language and category, at most
    /// [`DEFAULT_LIMIT`] hits.
    pub fn new(text: impl Into<String>) -> Query {
        Query {
            text: text.into(),
            language: None,
            category: None,
            published_only: true,
            quick_replies_only: false,
            limit: DEFAULT_LIMIT,
        }
    }

    /// The limit actually applied: [`Query::limit`] capped at [`MAX_LIMIT`].
    pub fn effective_limit(&self) -> usize {
        self.limit.min(MAX_LIMIT)
    }
}

impl Default for Query {
    /// An empty search ([`Query::new`] with no text); it finds nothing until given text.
    fn default() -> Query {
        Query::new("")
    }
}

/// One article found, best first in a result list.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The article's id.
    pub id: i64,
    /// The relevance score (BM25, title matches boosted); comparable only within one result.
    pub score: f32,
    /// The article's title.
    pub title: String,
    /// Up to [`SNIPPET_MAX_CHARS`](crate::SNIPPET_MAX_CHARS) characters of the body around the
    /// best match, or its beginning; `…` marks a cut.
    pub snippet: String,
}
