//! The one error type of the crate.

use std::path::PathBuf;

/// What can go wrong opening, changing or searching an [`ArticleIndex`](crate::ArticleIndex).
///
/// The index is derived from the article store, so every failure here can be repaired by
/// deleting the index directory and rebuilding it from the store.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// The index directory could not be created.
    #[error("cannot create the knowledge-base index directory {path}: {source}")]
    CreateDirectory {
        /// The directory given to [`ArticleIndex::open_in_dir`](crate::ArticleIndex::open_in_dir).
        path: PathBuf,
        /// Why the file system refused.
        source: std::io::Error,
    },
    /// The directory holds an index written with another schema (an older version of this
    /// crate); delete the directory and rebuild the index from the store.
    #[error(
        "the knowledge-base index in {path} has another schema; delete the directory and rebuild \
         it from the article store"
    )]
    SchemaChanged {
        /// The index directory.
        path: PathBuf,
    },
    /// An article breaks one of the crate's limits ([`MAX_TAGS`](crate::MAX_TAGS) and the
    /// `MAX_*_CHARS` and `MAX_BODY_BYTES` constants); it was not indexed.
    #[error("article {id}: {field} is {actual}, more than the limit of {limit}")]
    ArticleTooLarge {
        /// The article's id.
        id: i64,
        /// What is too large: `"title (chars)"`, `"tags (count)"`, and so on.
        field: &'static str,
        /// Its size.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// The search engine failed: an IO error on the index files, a writer lock held by another
    /// process, a corrupt segment.
    #[error("knowledge-base index: {0}")]
    Index(#[from] tantivy::TantivyError),
}
