//! `/api/v1/kb/…`: the knowledge base. Supervisors and admins write articles (every save is
//! a version); agents search the published ones, in Chinese or English, and copy quick
//! replies.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hotline_kb::{Hit, Language};
use hotline_store::{Article, ArticleFields, Role};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::{ApiJson, Caller};
use super::error::{ApiError, ErrorBody};
use super::{if_match, now_ms, ApiState};

/// The role that writes articles and reads drafts.
pub const EDITOR_ROLE: Role = Role::Supervisor;

/// An article as an editor writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
    /// The category.
    pub category: String,
    /// Tags (matched against customers' need tags for the screen pop).
    #[serde(default)]
    pub tags: Vec<String>,
    /// `zh` (when left out) or `en`.
    pub language: Option<String>,
    /// A one-click standard answer.
    #[serde(default)]
    pub quick_reply: bool,
    /// Visible to agents (false: a draft).
    #[serde(default)]
    pub published: bool,
}

impl ArticleInput {
    fn into_fields(self) -> ArticleFields {
        ArticleFields {
            title: self.title,
            body: self.body,
            category: self.category,
            tags: self.tags,
            language: self.language.unwrap_or_else(|| "zh".into()),
            quick_reply: self.quick_reply,
            published: self.published,
        }
    }
}

/// An article.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    /// Its id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `zh` or `en`.
    pub language: String,
    /// A one-click standard answer.
    pub quick_reply: bool,
    /// Visible to agents.
    pub published: bool,
    /// Send back in If-Match to save safely.
    pub version: i64,
    /// Last saved, Unix milliseconds.
    pub updated_ms: i64,
    /// By whom.
    pub updated_by: String,
}

fn article_view(article: &Article) -> ArticleView {
    ArticleView {
        id: article.id,
        title: article.fields.title.clone(),
        body: article.fields.body.clone(),
        category: article.fields.category.clone(),
        tags: article.fields.tags.clone(),
        language: article.fields.language.clone(),
        quick_reply: article.fields.quick_reply,
        published: article.fields.published,
        version: article.version,
        updated_ms: article.updated_ms,
        updated_by: article.updated_by.clone(),
    }
}

/// An article found.
#[derive(Debug, Serialize, ToSchema)]
pub struct HitView {
    /// The article's id.
    pub id: i64,
    /// Its title.
    pub title: String,
    /// The text around the match.
    pub snippet: String,
    /// Relevance, comparable within one answer.
    pub score: f32,
}

/// The view of a search hit.
pub fn hit_view(hit: &Hit) -> HitView {
    HitView {
        id: hit.id,
        title: hit.title.clone(),
        snippet: hit.snippet.clone(),
        score: hit.score,
    }
}

/// Writes an article (version 1).
#[utoipa::path(post, path = "/api/v1/kb/articles", tag = "knowledge base",
    request_body = ArticleInput,
    responses((status = 201, body = ArticleView), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn create_article(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(input, _): ApiJson<ArticleInput>,
) -> Result<(StatusCode, Json<ArticleView>), ApiError> {
    caller.require(EDITOR_ROLE)?;
    let article = state
        .records
        .create_article(&input.into_fields(), now_ms(), &caller.name)
        .await?;
    state.knowledge.index(&article).await;
    Ok((StatusCode::CREATED, Json(article_view(&article))))
}

/// Saves a new version of an article. `If-Match: <version>` refuses it (409) when someone
/// else saved since.
#[utoipa::path(put, path = "/api/v1/kb/articles/{id}", tag = "knowledge base",
    request_body = ArticleInput,
    params(("id" = i64, Path, description = "The article's id"),
           ("If-Match" = Option<i64>, Header, description = "The version the change is based on")),
    responses((status = 200, body = ArticleView), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn update_article(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
    headers: HeaderMap,
    ApiJson(input, _): ApiJson<ArticleInput>,
) -> Result<Json<ArticleView>, ApiError> {
    caller.require(EDITOR_ROLE)?;
    let expected = if_match(&headers, "the article's version")?;
    let article = state
        .records
        .update_article(id, &input.into_fields(), expected, now_ms(), &caller.name)
        .await?;
    state.knowledge.index(&article).await;
    Ok(Json(article_view(&article)))
}

/// Reads an article; a draft only for editors.
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", tag = "knowledge base",
    params(("id" = i64, Path, description = "The article's id")),
    responses((status = 200, body = ArticleView), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (drafts: supervisor or above).")]
pub async fn get_article(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ArticleView>, ApiError> {
    caller.require(Role::Agent)?;
    let article = state
        .records
        .article(id)
        .await?
        .filter(|a| a.fields.published || caller.role >= EDITOR_ROLE)
        .ok_or_else(|| ApiError::not_found(format!("no article {id}")))?;
    Ok(Json(article_view(&article)))
}

/// Every saved version of an article, newest first.
#[utoipa::path(get, path = "/api/v1/kb/articles/{id}/versions", tag = "knowledge base",
    params(("id" = i64, Path, description = "The article's id")),
    responses((status = 200, body = Vec<ArticleView>), (status = 404, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: supervisor or above.")]
pub async fn article_versions(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<ArticleView>>, ApiError> {
    caller.require(EDITOR_ROLE)?;
    let versions = state.records.article_versions(id).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no article {id}")));
    }
    Ok(Json(versions.iter().map(article_view).collect()))
}

/// A search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for, in Chinese or English (words, not a query language).
    pub q: String,
    /// Only `zh` or `en` articles.
    pub language: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only quick replies.
    #[serde(default)]
    pub quick_replies: bool,
    /// Drafts too (supervisor or above).
    #[serde(default)]
    pub drafts: bool,
    /// How many, 1 to 50 (10 when left out).
    pub limit: Option<usize>,
}

/// Searches the articles, best first.
#[utoipa::path(get, path = "/api/v1/kb/search", tag = "knowledge base",
    params(SearchQuery),
    responses((status = 200, body = Vec<HitView>), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above (drafts: supervisor or above).")]
pub async fn search(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<HitView>>, ApiError> {
    caller.require(Role::Agent)?;
    if query.drafts {
        caller.require(EDITOR_ROLE)?;
    }
    let language = query
        .language
        .as_deref()
        .map(|code| {
            Language::from_code(code)
                .ok_or_else(|| ApiError::invalid("language", format!("{code:?} is not zh or en")))
        })
        .transpose()?;
    let limit = query.limit.unwrap_or(hotline_kb::DEFAULT_LIMIT);
    if !(1..=hotline_kb::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            format!("must be 1 to {}", hotline_kb::MAX_LIMIT),
        ));
    }
    let mut search = hotline_kb::Query::new(query.q);
    search.language = language;
    search.category = query.category;
    search.quick_replies_only = query.quick_replies;
    search.published_only = !query.drafts;
    search.limit = limit;
    let hits = state
        .knowledge
        .search(&search)
        .map_err(|e| ApiError::internal(format!("search: {e}")))?;
    Ok(Json(hits.iter().map(hit_view).collect()))
}

/// Which quick replies.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuickReplyQuery {
    /// Only this category's.
    pub category: Option<String>,
    /// How many, 1 to 1000 (100 when left out).
    pub limit: Option<u32>,
}

/// The published quick replies (standard answers), by category.
#[utoipa::path(get, path = "/api/v1/kb/quick-replies", tag = "knowledge base",
    params(QuickReplyQuery),
    responses((status = 200, body = Vec<ArticleView>), (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: agent or above.")]
pub async fn quick_replies(
    State(state): State<ApiState>,
    caller: Caller,
    Query(query): Query<QuickReplyQuery>,
) -> Result<Json<Vec<ArticleView>>, ApiError> {
    caller.require(Role::Agent)?;
    let replies = state
        .records
        .quick_replies(query.category.as_deref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(replies.iter().map(article_view).collect()))
}
