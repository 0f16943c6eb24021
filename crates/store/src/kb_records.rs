//! Knowledge-base articles as the store keeps them: [`ArticleFields`], [`Article`] with its
//! version, and the saved versions. The full-text index is `hotline_kb`'s, built from these.

use crate::records::FieldError;

/// The longest title, in characters.
pub const MAX_ARTICLE_TITLE_CHARS: usize = 200;
/// The longest body, in bytes (1 MiB, as the index takes).
pub const MAX_ARTICLE_BODY_BYTES: usize = 1 << 20;
/// The longest category, in characters.
pub const MAX_ARTICLE_CATEGORY_CHARS: usize = 64;
/// The most tags on an article.
pub const MAX_ARTICLE_TAGS: usize = 32;
/// The longest tag, in characters.
pub const MAX_ARTICLE_TAG_CHARS: usize = 64;
/// The most articles one read returns.
pub const MAX_ARTICLES_PAGE: u32 = 1_000;
/// The languages an article may be written in.
pub const ARTICLE_LANGUAGES: [&str; 2] = ["zh", "en"];

/// What an author writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleFields {
    /// The title.
    pub title: String,
    /// The text (plain text or Markdown).
    pub body: String,
    /// The category (`"银行卡"`, `"refunds"`).
    pub category: String,
    /// Tags, matched against customers' need tags for the screen pop's suggestions.
    pub tags: Vec<String>,
    /// `zh` or `en`.
    pub language: String,
    /// A standard answer an agent copies with one click.
    pub quick_reply: bool,
    /// Agents see it (drafts are for editors only).
    pub published: bool,
}

impl ArticleFields {
    /// Checks every limit, naming the field at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        let chars = |text: &str| text.chars().count();
        if self.title.trim().is_empty() || chars(&self.title) > MAX_ARTICLE_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                format!("must be 1 to {MAX_ARTICLE_TITLE_CHARS} characters"),
            ));
        }
        if self.body.trim().is_empty() || self.body.len() > MAX_ARTICLE_BODY_BYTES {
            return Err(FieldError::new(
                "body",
                format!("must be 1 to {MAX_ARTICLE_BODY_BYTES} bytes"),
            ));
        }
        if self.category.trim().is_empty() || chars(&self.category) > MAX_ARTICLE_CATEGORY_CHARS {
            return Err(FieldError::new(
                "category",
                format!("must be 1 to {MAX_ARTICLE_CATEGORY_CHARS} characters"),
            ));
        }
        if self.tags.len() > MAX_ARTICLE_TAGS {
            return Err(FieldError::new(
                "tags",
                format!("at most {MAX_ARTICLE_TAGS} tags"),
            ));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || chars(tag) > MAX_ARTICLE_TAG_CHARS {
                return Err(FieldError::new(
                    format!("tags[{i}]"),
                    format!("must be 1 to {MAX_ARTICLE_TAG_CHARS} characters"),
                ));
            }
        }
        if !ARTICLE_LANGUAGES.contains(&self.language.as_str()) {
            return Err(FieldError::new(
                "language",
                format!("{:?} is not zh or en", self.language),
            ));
        }
        Ok(())
    }
}

/// A stored article (its latest version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    /// Its id.
    pub id: i64,
    /// Its content.
    pub fields: ArticleFields,
    /// 1 at creation, one more per save (If-Match).
    pub version: i64,
    /// Created, Unix milliseconds.
    pub created_ms: i64,
    /// Last saved.
    pub updated_ms: i64,
    /// Who saved it last.
    pub updated_by: String,
}
