//! People: `POST /api/v1/login` and `/logout`, `GET /api/v1/me`, and the administrators'
//! `/api/v1/users`. A login answers a session token used like an API key
//! (`Authorization: Bearer hs_…`), for a shift ([`hotline_store::SESSION_LIFETIME_MS`]), and
//! sets it as the `hotline_session` cookie (HttpOnly, SameSite=Strict) for the browser
//! desktop, whose requests that change something must also send the `X-Hotline-CSRF` header.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hotline_store::{Role, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{session_cookie, ApiJson, Caller, SESSION_COOKIE};
use super::error::{ApiError, ErrorBody};
use super::{now_ms, ApiState};

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// The user name (an agent's is their routing name).
    pub name: String,
    /// The password.
    pub password: String,
}

/// A person.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The login name.
    pub name: String,
    /// The name shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// Disabled (cannot log in).
    pub disabled: bool,
}

fn user_view(user: &User) -> UserView {
    UserView {
        name: user.name.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().to_owned(),
        disabled: user.disabled_ms.is_some(),
    }
}

/// A session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it ends (Unix milliseconds).
    pub expires_ms: i64,
    /// Who.
    pub user: UserView,
}

/// Logs in. A wrong name or password, a locked account (after 5 wrong passwords, for 15
/// minutes) and a disabled one all answer the same 401; the audit log keeps which.
#[utoipa::path(post, path = "/api/v1/login", tag = "users",
    request_body = LoginInput,
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
pub async fn login(
    State(state): State<ApiState>,
    ApiJson(input, _): ApiJson<LoginInput>,
) -> Result<Response, ApiError> {
    if input.name.chars().count() > 64 || input.password.len() > 256 {
        return Err(ApiError::unauthorized("wrong name or password"));
    }
    match state
        .records
        .login(&input.name, &input.password, now_ms())
        .await?
    {
        Ok((token, expires_ms, user)) => {
            // The same session as a cookie for the browser desktop: not readable by scripts,
            // never sent by other sites' pages, gone when the session ends.
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                hotline_store::SESSION_LIFETIME_MS / 1000
            );
            Ok((
                [(axum::http::header::SET_COOKIE, cookie)],
                Json(SessionView {
                    token,
                    expires_ms,
                    user: user_view(&user),
                }),
            )
                .into_response())
        }
        Err(_) => Err(ApiError::unauthorized(
            "wrong name or password, or the account is locked or disabled",
        )),
    }
}

/// Ends the session the request was made with.
#[utoipa::path(post, path = "/api/v1/logout", tag = "users",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn logout(
    State(state): State<ApiState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .or_else(|| session_cookie(&headers))
        .filter(|t| t.starts_with(hotline_store::SESSION_PREFIX))
        .ok_or_else(|| ApiError::bad_request("an API key has no session to end"))?;
    state.records.logout(&token, now_ms()).await?;
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        StatusCode::NO_CONTENT,
        [(axum::http::header::SET_COOKIE, expired)],
    )
        .into_response())
}

/// Who is asking.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The key's or the person's name.
    pub name: String,
    /// The role.
    pub role: String,
}

/// Who the request's key or session belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "users",
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn me(caller: Caller) -> Json<MeView> {
    Json(MeView {
        name: caller.name,
        role: caller.role.as_str().to_owned(),
    })
}

/// A person to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// The login name (for agents, their routing name).
    pub name: String,
    /// The name shown.
    pub display_name: Option<String>,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// At least 10 characters.
    pub password: String,
}

fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| {
        ApiError::invalid(
            "role",
            format!("{text:?} is not agent, supervisor or admin"),
        )
    })
}

/// Adds a person who logs in.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = UserInput,
    responses((status = 201, body = UserView), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn create_user(
    State(state): State<ApiState>,
    caller: Caller,
    ApiJson(input, _): ApiJson<UserInput>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    caller.require(Role::Admin)?;
    let role = parse_role(&input.role)?;
    let user = state
        .records
        .create_user(
            &input.name,
            input.display_name.as_deref(),
            role,
            &input.password,
            now_ms(),
            &caller.name,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user_view(&user))))
}

/// Everyone who logs in.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn list_users(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require(Role::Admin)?;
    let users = state.records.users().await?;
    Ok(Json(users.iter().map(user_view).collect()))
}

/// A change to a person.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChangeInput {
    /// A new role.
    pub role: Option<String>,
    /// A new password (ends their sessions).
    pub password: Option<String>,
    /// Disable (ends their sessions) or enable.
    pub disabled: Option<bool>,
}

/// Changes a person's role, password or disabled state.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users",
    request_body = UserChangeInput,
    params(("name" = String, Path, description = "The login name")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("api_key" = [])),
    description = "Role: admin.")]
pub async fn change_user(
    State(state): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(input, _): ApiJson<UserChangeInput>,
) -> Result<Json<UserView>, ApiError> {
    caller.require(Role::Admin)?;
    let role = input.role.as_deref().map(parse_role).transpose()?;
    let user = state
        .records
        .change_user(
            &name,
            role,
            input.password.as_deref(),
            input.disabled,
            now_ms(),
            &caller.name,
        )
        .await?;
    Ok(Json(user_view(&user)))
}
