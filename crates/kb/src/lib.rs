//! The knowledge-base search index: full-text search over articles in Simplified Chinese and
//! English, for the agent's desktop and the screen pop.
//!
//! The principal type is [`ArticleIndex`]. The article store (SQLite, with versions and publish
//! state) is the source of truth; this index is derived from it. The store [`upsert`]s an
//! article when it changes, [`remove`]s it when it is deleted, and [`commit`]s after a batch;
//! to rebuild, it [`clear`]s the index and upserts every article. Agents [`search`] with a
//! [`Query`], and the screen pop asks for [`suggest_for_tags`] with the caller's need tags.
//!
//! ```
//! use hotline_kb::{ArticleDoc, ArticleIndex, Language, Query};
//!
//! let index = ArticleIndex::in_memory()?;
//! index.upsert(&ArticleDoc {
//!     id: 1,
//!     title: "信用卡丢失或被盗如何挂失".into(),
//!     body: "发现信用卡丢失后，请立即拨打客服热线办理挂失，挂失后原卡立即停用。".into(),
//!     category: "银行卡".into(),
//!     tags: vec!["信用卡".into(), "挂失".into()],
//!     language: Language::Zh,
//!     quick_reply: false,
//!     published: true,
//! })?;
//! index.upsert(&ArticleDoc {
//!     id: 2,
//!     title: "Refund policy".into(),
//!     body: "Items can be returned within 30 days for a full refund.".into(),
//!     category: "refunds".into(),
//!     tags: vec!["refund".into()],
//!     language: Language::En,
//!     quick_reply: false,
//!     published: true,
//! })?;
//! index.commit()?;
//!
//! let hits = index.search(&Query::new("信用卡丢了怎么办"))?;
//! assert_eq!(hits[0].id, 1);
//! let hits = index.search(&Query::new("when am I refunded?"))?;
//! assert_eq!(hits[0].id, 2);
//! // The query text is never parsed as a query language.
//! assert!(index.search(&Query::new("AND OR (("))?.is_empty());
//! # Ok::<(), hotline_kb::KbError>(())
//! ```
//!
//! # Words
//!
//! One tokenizer reads both languages, in titles, bodies and queries alike: Chinese is
//! segmented by jieba in search mode (a long word is indexed whole and as the dictionary words
//! inside it), English words are lowercased and stemmed (`refunds`, `refunded` → `refund`),
//! full-width letters and digits count as ASCII, punctuation and a short list of stop words in
//! each language are dropped. A query matches an article if any of its words is in the title,
//! the tags or the body, and ranks by BM25 with title matches weighing most. The Chinese
//! dictionary is compiled in and loaded once per process, when the first index opens
//! ([`load_segmenter`] reports how long it took).
//!
//! # Limits
//!
//! Every size has a named maximum: the query ([`MAX_QUERY_CHARS`], [`MAX_QUERY_TERMS`]), the
//! result list ([`MAX_LIMIT`]), the article ([`MAX_TITLE_CHARS`], [`MAX_BODY_BYTES`],
//! [`MAX_CATEGORY_CHARS`], [`MAX_TAGS`], [`MAX_TAG_CHARS`]), the writer's memory
//! ([`WRITER_HEAP_BYTES`]), a word ([`MAX_TOKEN_BYTES`]) and a snippet ([`SNIPPET_MAX_CHARS`]).
//!
//! [`upsert`]: ArticleIndex::upsert
//! [`remove`]: ArticleIndex::remove
//! [`commit`]: ArticleIndex::commit
//! [`clear`]: ArticleIndex::clear
//! [`search`]: ArticleIndex::search
//! [`suggest_for_tags`]: ArticleIndex::suggest_for_tags

#![warn(missing_docs)]

mod article;
pub mod bench;
mod collector;
mod error;
mod index;
mod snippet;
mod tokenizer;

pub use article::{ArticleDoc, Hit, Language, Query};
pub use error::KbError;
pub use index::ArticleIndex;
pub use tokenizer::{load_segmenter, MAX_TOKEN_BYTES};

/// Query text beyond this many characters is ignored (a search box, not a document).
pub const MAX_QUERY_CHARS: usize = 200;

/// Distinct words of a query beyond this many are ignored; each word is three term lookups.
pub const MAX_QUERY_TERMS: usize = 32;

/// The number of hits [`Query::new`] asks for.
pub const DEFAULT_LIMIT: usize = 10;

/// The most hits one search returns, whatever [`Query::limit`] says.
pub const MAX_LIMIT: usize = 50;

/// The memory the index writer may fill before it writes a segment, shared by its
/// [`WRITER_THREADS`] threads (tantivy wants at least 15 MB per thread).
pub const WRITER_HEAP_BYTES: usize = 64 * 1024 * 1024;

/// The index writer's indexing threads (tokenizing is the costly part of indexing).
pub const WRITER_THREADS: usize = 2;

/// The most characters in an article's title.
pub const MAX_TITLE_CHARS: usize = 200;

/// The most bytes in an article's body (UTF-8); about 340,000 Chinese characters.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The most characters in an article's category.
pub const MAX_CATEGORY_CHARS: usize = 64;

/// The most tags on an article, and the most tags [`ArticleIndex::suggest_for_tags`] looks at.
pub const MAX_TAGS: usize = 32;

/// The most characters in one tag.
pub const MAX_TAG_CHARS: usize = 64;

/// The most characters in a hit's snippet, not counting the `…` marks.
pub const SNIPPET_MAX_CHARS: usize = 120;
