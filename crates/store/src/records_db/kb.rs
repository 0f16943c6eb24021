//! Knowledge-base articles on SQLite: every save is one transaction that writes the article
//! and its version row.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use sqlx::Row;

use super::{check_limit, flag, to_json, Records};
use crate::error::StoreError;
use crate::kb_records::{Article, ArticleFields, MAX_ARTICLES_PAGE};

const ARTICLE_COLUMNS: &str = "id, title, body, category, tags, language, quick_reply, \
    published, version, created_ms, updated_ms, updated_by";

impl Records {
    /// Creates an article (version 1).
    pub async fn create_article(
        &self,
        fields: &ArticleFields,
        now_ms: i64,
        actor: &str,
    ) -> Result<Article, StoreError> {
        fields.validate()?;
        let mut tx = self.begin().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO kb_articles (title, body, category, tags, language, quick_reply, \
             published, version, created_ms, updated_ms, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10) RETURNING id",
        )
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(&fields.category)
        .bind(to_json(&fields.tags)?)
        .bind(&fields.language)
        .bind(i64::from(fields.quick_reply))
        .bind(i64::from(fields.published))
        .bind(now_ms)
        .bind(now_ms)
        .bind(actor)
        .fetch_one(&mut *tx)
        .await?;
        save_version(&mut tx, id).await?;
        let article = read_article(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("a created article is gone".into()))?;
        tx.commit().await?;
        Ok(article)
    }

    /// Saves a new version of an article; with `if_version`, one saved since is a conflict.
    pub async fn update_article(
        &self,
        id: i64,
        fields: &ArticleFields,
        if_version: Option<i64>,
        now_ms: i64,
        actor: &str,
    ) -> Result<Article, StoreError> {
        fields.validate()?;
        let mut tx = self.begin().await?;
        let current = read_article(&mut tx, id)
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Some(expected) = if_version {
            if expected != current.version {
                return Err(StoreError::Conflict(format!(
                    "article {id} is at version {}, not {expected}",
                    current.version
                )));
            }
        }
        sqlx::query(
            "UPDATE kb_articles SET title = $1, body = $2, category = $3, tags = $4, language = $5, \
             quick_reply = $6, published = $7, version = version + 1, updated_ms = $8, \
             updated_by = $9 WHERE id = $10",
        )
        .bind(&fields.title)
        .bind(&fields.body)
        .bind(&fields.category)
        .bind(to_json(&fields.tags)?)
        .bind(&fields.language)
        .bind(i64::from(fields.quick_reply))
        .bind(i64::from(fields.published))
        .bind(now_ms)
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        save_version(&mut tx, id).await?;
        let article = read_article(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Invariant("an updated article is gone".into()))?;
        tx.commit().await?;
        Ok(article)
    }

    /// An article's latest version.
    pub async fn article(&self, id: i64) -> Result<Option<Article>, StoreError> {
        let mut connection = self.read.acquire().await?;
        read_article(&mut connection, id).await
    }

    /// Every saved version of an article, newest first.
    pub async fn article_versions(&self, id: i64) -> Result<Vec<Article>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.article_id AS id, v.title, v.body, v.category, v.tags, v.language, \
             v.quick_reply, v.published, v.version, a.created_ms, v.saved_ms AS updated_ms, \
             v.saved_by AS updated_by FROM kb_article_versions v \
             JOIN kb_articles a ON a.id = v.article_id \
             WHERE v.article_id = $1 ORDER BY v.version DESC LIMIT $2",
        )
        .bind(id)
        .bind(i64::from(MAX_ARTICLES_PAGE))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(article_from_row).collect()
    }

    /// Articles by id after `after_id`, published or not (to build the search index).
    pub async fn articles(&self, after_id: i64, limit: u32) -> Result<Vec<Article>, StoreError> {
        check_limit(limit, MAX_ARTICLES_PAGE)?;
        let rows = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(article_from_row).collect()
    }

    /// Published quick replies, by category then id; only `category`'s when given.
    pub async fn quick_replies(
        &self,
        category: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Article>, StoreError> {
        check_limit(limit, MAX_ARTICLES_PAGE)?;
        let rows = sqlx::query(&format!(
            "SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE quick_reply = 1 AND published = 1 \
             AND ($1 IS NULL OR category = $1) ORDER BY category, id LIMIT $2"
        ))
        .bind(category)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(article_from_row).collect()
    }
}

async fn save_version(tx: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kb_article_versions (article_id, version, title, body, category, tags, \
         language, quick_reply, published, saved_ms, saved_by) \
         SELECT id, version, title, body, category, tags, language, quick_reply, published, \
         updated_ms, updated_by FROM kb_articles WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn read_article(
    connection: &mut AnyConnection,
    id: i64,
) -> Result<Option<Article>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ARTICLE_COLUMNS} FROM kb_articles WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *connection)
    .await?;
    row.as_ref().map(article_from_row).transpose()
}

fn article_from_row(row: &AnyRow) -> Result<Article, StoreError> {
    let tags: String = row.try_get("tags")?;
    Ok(Article {
        id: row.try_get("id")?,
        fields: ArticleFields {
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            category: row.try_get("category")?,
            tags: serde_json::from_str(&tags)
                .map_err(|e| StoreError::Invariant(format!("stored article tags: {e}")))?,
            language: row.try_get("language")?,
            quick_reply: flag(row, "quick_reply")?,
            published: flag(row, "published")?,
        },
        version: row.try_get("version")?,
        created_ms: row.try_get("created_ms")?,
        updated_ms: row.try_get("updated_ms")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "article",
        id: id.to_string(),
    }
}
