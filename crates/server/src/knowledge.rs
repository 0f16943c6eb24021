//! The knowledge base at the agent's hand: the articles' search index
//! ([`hotline_kb::ArticleIndex`]) kept in step with the records.
//!
//! The records (`kb_articles`, every version kept) are the source of truth. The index lives
//! in memory and is built from them at start ([`Knowledge::load`]); each save through the API
//! updates it after the record's transaction committed. An index update that fails is counted
//! and repaired by the next start, so the index can lag the records but never holds an
//! article the records do not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hotline_kb::{ArticleDoc, ArticleIndex, Hit, KbError, Language, Query};
use hotline_store::{Article, Records, StoreError};

/// Articles read from the records per batch while building the index.
pub const LOAD_BATCH: u32 = 1_000;
/// The most articles suggested on a screen pop.
pub const POP_SUGGESTIONS: usize = 5;

/// The search index over the records' articles.
#[derive(Debug)]
pub struct Knowledge {
    index: ArticleIndex,
    index_failures: AtomicU64,
}

/// Why the knowledge base could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Reading the records failed.
    Store(StoreError),
    /// Building the index failed.
    Index(KbError),
    /// The indexing task died.
    Task(String),
}

impl std::error::Error for LoadError {}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Store(e) => write!(f, "reading the knowledge base: {e}"),
            LoadError::Index(e) => write!(f, "indexing the knowledge base: {e}"),
            LoadError::Task(e) => write!(f, "indexing the knowledge base: {e}"),
        }
    }
}

/// The index's form of an article.
pub fn article_doc(article: &Article) -> ArticleDoc {
    ArticleDoc {
        id: article.id,
        title: article.fields.title.clone(),
        body: article.fields.body.clone(),
        category: article.fields.category.clone(),
        tags: article.fields.tags.clone(),
        language: Language::from_code(&article.fields.language).unwrap_or(Language::Zh),
        quick_reply: article.fields.quick_reply,
        published: article.fields.published,
    }
}

impl Knowledge {
    /// An empty knowledge base (tests, or a server with no articles yet).
    pub fn empty() -> Result<Knowledge, KbError> {
        Ok(Knowledge {
            index: ArticleIndex::in_memory()?,
            index_failures: AtomicU64::new(0),
        })
    }

    /// Builds the index from every article in the records.
    pub async fn load(records: &Records) -> Result<Arc<Knowledge>, LoadError> {
        let knowledge = Arc::new(Knowledge::empty().map_err(LoadError::Index)?);
        let mut after = 0;
        loop {
            let articles = records
                .articles(after, LOAD_BATCH)
                .await
                .map_err(LoadError::Store)?;
            let Some(last) = articles.last() else {
                break;
            };
            after = last.id;
            let full = articles.len() as u32 == LOAD_BATCH;
            let building = knowledge.clone();
            tokio::task::spawn_blocking(move || {
                for article in &articles {
                    building.index.upsert(&article_doc(article))?;
                }
                Ok::<(), KbError>(())
            })
            .await
            .map_err(|e| LoadError::Task(e.to_string()))?
            .map_err(LoadError::Index)?;
            if !full {
                break;
            }
        }
        let building = knowledge.clone();
        tokio::task::spawn_blocking(move || building.index.commit())
            .await
            .map_err(|e| LoadError::Task(e.to_string()))?
            .map_err(LoadError::Index)?;
        Ok(knowledge)
    }

    /// Puts a saved article into the index (off the async threads: a commit writes segments).
    pub async fn index(self: &Arc<Self>, article: &Article) {
        let doc = article_doc(article);
        let knowledge = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            knowledge.index.upsert(&doc)?;
            knowledge.index.commit()
        })
        .await;
        if !matches!(result, Ok(Ok(()))) {
            self.index_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Searches the articles (about a millisecond at 100,000 articles: BENCHMARKS.md).
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, KbError> {
        self.index.search(query)
    }

    /// Published articles for a customer's need tags, best first.
    pub fn suggest(&self, tags: &[String]) -> Vec<Hit> {
        if tags.is_empty() {
            return Vec::new();
        }
        self.index
            .suggest_for_tags(tags, None, POP_SUGGESTIONS)
            .unwrap_or_default()
    }

    /// Articles in the index.
    pub fn len(&self) -> u64 {
        self.index.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Index updates that failed since start (the next start rebuilds the index).
    pub fn index_failures(&self) -> u64 {
        self.index_failures.load(Ordering::Relaxed)
    }
}
