//! [`ArticleIndex`]: the tantivy index, its one writer and its reader.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, EnableScoring, Occur, Query as TantivyQuery, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError, Term,
};

use crate::collector::{DocFilter, FilteredTopDocs};
use crate::snippet::{excerpt, snippet};
use crate::tokenizer::analyzer;
use crate::{
    ArticleDoc, Hit, KbError, Language, Query, MAX_BODY_BYTES, MAX_CATEGORY_CHARS, MAX_LIMIT,
    MAX_QUERY_CHARS, MAX_QUERY_TERMS, MAX_TAGS, MAX_TAG_CHARS, MAX_TITLE_CHARS, WRITER_HEAP_BYTES,
    WRITER_THREADS,
};

/// The name the mixed Chinese and English analyzer is registered under; the `title` and `text`
/// fields use it.
const MIXED_TOKENIZER: &str = "hotline_zh_en";

/// tantivy's built-in tokenizer that keeps a value whole; tags and categories are normalized by
/// [`normalize_label`] before they reach it.
const RAW_TOKENIZER: &str = "raw";

/// A word in the title scores this much on top of its score in the article's whole text (where
/// the title is included too).
const TITLE_BOOST: f32 = 2.0;

/// The names of the fast fields the search filter reads.
const PUBLISHED_FIELD: &str = "published";
const QUICK_REPLY_FIELD: &str = "quick_reply";
const LANGUAGE_FIELD: &str = "language";

/// A language as stored in its fast field.
fn language_value(language: Language) -> u64 {
    match language {
        Language::Zh => 0,
        Language::En => 1,
    }
}

/// The fields of the schema.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    /// The title, stored, and indexed as words for the title boost.
    title: Field,
    /// The body, stored for snippets; its words are indexed in `text`.
    body: Field,
    /// Title, tags and body as one text: the words a search scores. One field rather than
    /// three, so a word's rarity (its inverse document frequency) is counted over whole
    /// articles: in a small knowledge base, a common word that happens to be in one title
    /// would otherwise look as rare as a word found in one article only.
    text: Field,
    /// Tags as exact labels, for [`ArticleIndex::suggest_for_tags`].
    tags: Field,
    category: Field,
    language: Field,
    quick_reply: Field,
    published: Field,
}

fn schema() -> (Schema, Fields) {
    // Term frequencies but no positions: there are no phrase queries, and snippets re-tokenize
    // the stored body.
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(MIXED_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let label = |record| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(RAW_TOKENIZER)
                .set_index_option(record),
        )
    };
    let mut builder = Schema::builder();
    let fields = Fields {
        id: builder.add_i64_field("id", INDEXED | STORED),
        title: builder.add_text_field("title", words.clone().set_stored()),
        body: builder.add_text_field("body", TextOptions::default().set_stored()),
        text: builder.add_text_field("text", words),
        // With frequencies and field norms: an article with fewer tags that match ranks higher
        // than one that matches as many among many more.
        tags: builder.add_text_field("tags", label(IndexRecordOption::WithFreqs)),
        category: builder.add_text_field("category", label(IndexRecordOption::Basic)),
        // Fast fields: the search filter reads them for the few documents that score high
        // enough to be kept (see collector.rs).
        language: builder.add_u64_field(LANGUAGE_FIELD, FAST),
        quick_reply: builder.add_bool_field(QUICK_REPLY_FIELD, FAST),
        published: builder.add_bool_field(PUBLISHED_FIELD, FAST),
    };
    (builder.build(), fields)
}

/// A tag or a category as indexed and as looked up: trimmed and lowercased.
fn normalize_label(label: &str) -> String {
    label.trim().to_lowercase()
}

/// The knowledge-base search index: the articles of the store, searchable in Chinese and
/// English.
///
/// It has one writer inside, with a memory budget of [`WRITER_HEAP_BYTES`], and one reader.
/// Changes ([`upsert`](Self::upsert), [`remove`](Self::remove), [`clear`](Self::clear)) are
/// staged until [`commit`](Self::commit), which writes them and makes them visible to searches;
/// callers batch changes and commit once. All methods take `&self`, so one index can be shared
/// (in an `Arc`) between the code that keeps it current and the code that searches it.
///
/// The index is derived from the article store and can always be rebuilt from it:
/// [`clear`](Self::clear), [`upsert`](Self::upsert) every article, [`commit`](Self::commit).
pub struct ArticleIndex {
    fields: Fields,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    /// A configured copy of the mixed analyzer, cloned per search to tokenize the query and the
    /// snippets (cloning copies a pointer to the shared dictionary and an empty buffer).
    analyzer: TextAnalyzer,
}

impl fmt::Debug for ArticleIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArticleIndex")
            .field("visible_articles", &self.len())
            .finish_non_exhaustive()
    }
}

impl ArticleIndex {
    /// Opens the index in `path`, creating the directory and an empty index if there is none.
    ///
    /// Fails with [`KbError::SchemaChanged`] when the directory holds an index of another
    /// schema, and with [`KbError::Index`] when another process holds its writer lock.
    pub fn open_in_dir(path: impl AsRef<Path>) -> Result<ArticleIndex, KbError> {
        let path = path.as_ref();
        std::fs::create_dir_all(path).map_err(|source| KbError::CreateDirectory {
            path: path.to_path_buf(),
            source,
        })?;
        let directory = MmapDirectory::open(path).map_err(TantivyError::from)?;
        let (schema, fields) = schema();
        let index = match Index::open_or_create(directory, schema) {
            Ok(index) => index,
            Err(TantivyError::SchemaError(_)) => {
                return Err(KbError::SchemaChanged {
                    path: path.to_path_buf(),
                })
            }
            Err(error) => return Err(error.into()),
        };
        ArticleIndex::with_index(index, fields)
    }

    /// An empty index held in memory, for tests and small tools.
    pub fn in_memory() -> Result<ArticleIndex, KbError> {
        let (schema, fields) = schema();
        ArticleIndex::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<ArticleIndex, KbError> {
        // Tokenizers are not saved with the index: register them on every open.
        let analyzer = analyzer();
        index
            .tokenizers()
            .register(MIXED_TOKENIZER, analyzer.clone());
        let writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_HEAP_BYTES)?;
        // Reloaded by `commit` itself, so a search right after a commit sees it.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(ArticleIndex {
            fields,
            writer: Mutex::new(writer),
            reader,
            analyzer,
        })
    }

    fn writer(&self) -> MutexGuard<'_, IndexWriter> {
        // The lock guards no invariant of ours: a panic while it was held leaves at worst a
        // staged change, which the next commit writes; go on rather than fail every later call.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stages `article`, replacing the article with the same id if there is one.
    ///
    /// Fails with [`KbError::ArticleTooLarge`] if it breaks a size limit (then nothing is
    /// staged, and an older version stays in the index).
    pub fn upsert(&self, article: &ArticleDoc) -> Result<(), KbError> {
        check_limits(article)?;
        let fields = self.fields;
        let mut document = TantivyDocument::default();
        document.add_i64(fields.id, article.id);
        document.add_text(fields.title, &article.title);
        document.add_text(fields.body, &article.body);
        document.add_text(fields.text, &article.title);
        for tag in &article.tags {
            document.add_text(fields.tags, normalize_label(tag));
            document.add_text(fields.text, tag);
        }
        document.add_text(fields.text, &article.body);
        document.add_text(fields.category, normalize_label(&article.category));
        document.add_u64(fields.language, language_value(article.language));
        document.add_bool(fields.quick_reply, article.quick_reply);
        document.add_bool(fields.published, article.published);
        // Delete and add under one lock, so no commit can fall between them and show the
        // article missing.
        let writer = self.writer();
        writer.delete_term(Term::from_field_i64(fields.id, article.id));
        writer.add_document(document)?;
        Ok(())
    }

    /// Stages the removal of the article `id`; removing an absent id does nothing.
    pub fn remove(&self, id: i64) {
        self.writer()
            .delete_term(Term::from_field_i64(self.fields.id, id));
    }

    /// Stages the removal of every article, before a rebuild from the store.
    pub fn clear(&self) -> Result<(), KbError> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Writes the staged changes and makes them visible to searches.
    pub fn commit(&self) -> Result<(), KbError> {
        let mut writer = self.writer();
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The number of articles visible to searches (as of the last commit), published or not.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether no article is visible to searches.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The articles that best match `query`, best first, at most
    /// [`Query::effective_limit`] of them.
    ///
    /// The text is split into words the way articles are; an article matches if any word is in
    /// its title, tags or body (a title match weighs most). Text without a word (empty, only
    /// punctuation or stop words) finds nothing. Beyond [`MAX_QUERY_CHARS`] characters the text
    /// is ignored, and so is every distinct word beyond [`MAX_QUERY_TERMS`].
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, KbError> {
        let limit = query.effective_limit();
        let text = match query.text.char_indices().nth(MAX_QUERY_CHARS) {
            Some((cut, _)) => &query.text[..cut],
            None => query.text.as_str(),
        };
        let terms = self.query_terms(text);
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let fields = self.fields;
        let mut words: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::with_capacity(terms.len() * 2);
        for term in &terms {
            for (field, boost) in [(fields.text, 1.0), (fields.title, TITLE_BOOST)] {
                let term_query = TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                );
                words.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(term_query), boost)),
                ));
            }
        }
        let searcher = self.reader.searcher();
        let mut required_flags = Vec::new();
        if query.published_only {
            required_flags.push(PUBLISHED_FIELD);
        }
        if query.quick_replies_only {
            required_flags.push(QUICK_REPLY_FIELD);
        }
        let matching = match &query.category {
            Some(category) => {
                let term = Term::from_field_text(fields.category, &normalize_label(category));
                let weight = TermQuery::new(term, IndexRecordOption::Basic)
                    .weight(EnableScoring::disabled_from_searcher(&searcher))?;
                Some(weight)
            }
            None => None,
        };
        let filter = DocFilter {
            required_flags,
            required_value: query
                .language
                .map(|language| (LANGUAGE_FIELD, language_value(language))),
            matching,
        };
        let collector = FilteredTopDocs::new(limit, filter);
        let found = searcher.search(&BooleanQuery::new(words), &collector)?;
        let mut analyzer = self.analyzer.clone();
        found
            .into_iter()
            .map(|(score, address)| {
                let stored = StoredArticle::load(&searcher, fields, address)?;
                let snippet = snippet(&mut analyzer, &stored.body, &terms);
                Ok(Hit {
                    id: stored.id,
                    score,
                    title: stored.title,
                    snippet,
                })
            })
            .collect()
    }

    /// Published articles carrying any of `tags` (exact, ignoring case and surrounding spaces),
    /// those matching more of them first, at most `limit` (capped at [`MAX_LIMIT`]): the
    /// knowledge-base part of the screen pop, from the need tags of the caller's contact.
    ///
    /// Only the first [`MAX_TAGS`] distinct tags count; no tags find nothing. The snippet is the
    /// beginning of the body.
    pub fn suggest_for_tags(
        &self,
        tags: &[String],
        language: Option<Language>,
        limit: usize,
    ) -> Result<Vec<Hit>, KbError> {
        let limit = limit.min(MAX_LIMIT);
        let mut labels: Vec<String> = Vec::new();
        for tag in tags {
            let label = normalize_label(tag);
            if !label.is_empty() && !labels.contains(&label) {
                labels.push(label);
            }
            if labels.len() == MAX_TAGS {
                break;
            }
        }
        if labels.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let fields = self.fields;
        let clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = labels
            .iter()
            .map(|label| {
                let term = Term::from_field_text(fields.tags, label);
                let query: Box<dyn TantivyQuery> =
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                (Occur::Should, query)
            })
            .collect();
        let filter = DocFilter {
            required_flags: vec![PUBLISHED_FIELD],
            required_value: language.map(|language| (LANGUAGE_FIELD, language_value(language))),
            matching: None,
        };
        let searcher = self.reader.searcher();
        let collector = FilteredTopDocs::new(limit, filter);
        let found = searcher.search(&BooleanQuery::new(clauses), &collector)?;
        found
            .into_iter()
            .map(|(score, address)| {
                let stored = StoredArticle::load(&searcher, fields, address)?;
                Ok(Hit {
                    id: stored.id,
                    score,
                    snippet: excerpt(&stored.body, 0),
                    title: stored.title,
                })
            })
            .collect()
    }

    /// The distinct analyzed words of a query's text: the first [`MAX_QUERY_TERMS`] of them.
    fn query_terms(&self, text: &str) -> BTreeSet<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut terms = BTreeSet::new();
        while let Some(token) = stream.next() {
            if terms.len() == MAX_QUERY_TERMS {
                break;
            }
            terms.insert(token.text.clone());
        }
        terms
    }

    /// Closes the index after the segment merges that its commits started have finished, so
    /// the files on disk are the ones a later open finds (the benchmark measures them).
    pub(crate) fn close_after_merges(self) -> Result<(), KbError> {
        let writer = self
            .writer
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        writer.wait_merging_threads()?;
        Ok(())
    }
}

/// Checks an article against the size limits before it is indexed.
fn check_limits(article: &ArticleDoc) -> Result<(), KbError> {
    let too_large = |field, actual, limit| KbError::ArticleTooLarge {
        id: article.id,
        field,
        actual,
        limit,
    };
    let title_chars = article.title.chars().count();
    if title_chars > MAX_TITLE_CHARS {
        return Err(too_large("title (chars)", title_chars, MAX_TITLE_CHARS));
    }
    if article.body.len() > MAX_BODY_BYTES {
        return Err(too_large(
            "body (bytes)",
            article.body.len(),
            MAX_BODY_BYTES,
        ));
    }
    let category_chars = article.category.chars().count();
    if category_chars > MAX_CATEGORY_CHARS {
        return Err(too_large(
            "category (chars)",
            category_chars,
            MAX_CATEGORY_CHARS,
        ));
    }
    if article.tags.len() > MAX_TAGS {
        return Err(too_large("tags (count)", article.tags.len(), MAX_TAGS));
    }
    if let Some(tag_chars) = article
        .tags
        .iter()
        .map(|tag| tag.chars().count())
        .find(|&chars| chars > MAX_TAG_CHARS)
    {
        return Err(too_large("a tag (chars)", tag_chars, MAX_TAG_CHARS));
    }
    Ok(())
}

/// The stored fields of one hit.
struct StoredArticle {
    id: i64,
    title: String,
    body: String,
}

impl StoredArticle {
    fn load(
        searcher: &Searcher,
        fields: Fields,
        address: DocAddress,
    ) -> Result<StoredArticle, KbError> {
        let document: TantivyDocument = searcher.doc(address)?;
        let text = |field| {
            document
                .get_first(field)
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        // Every document this crate writes has an id; one without is a corrupt index.
        let id = document
            .get_first(fields.id)
            .and_then(|value| value.as_i64())
            .ok_or_else(|| {
                TantivyError::InternalError(format!("document {address:?} has no id"))
            })?;
        Ok(StoredArticle {
            id,
            title: text(fields.title),
            body: text(fields.body),
        })
    }
}
