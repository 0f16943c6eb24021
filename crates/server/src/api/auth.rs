//! Who is asking: API keys (`Authorization: Bearer hl_…`) and people's sessions (`Bearer
//! hs_…`, from `POST /api/v1/login`), their roles, and a rate limit per key or person. Also the JSON body reader whose errors name the field.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use hotline_store::Role;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::ApiState;

/// Requests per second each key may make, on average.
pub const RATE_PER_SECOND: f64 = 50.0;
/// Requests a key may make at once after a quiet spell.
pub const RATE_BURST: f64 = 200.0;
/// The most keys the rate limiter tracks; past it, the quietest are forgotten.
pub const MAX_RATE_BUCKETS: usize = 10_000;
/// The largest request body.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The authenticated caller of a request: an API key or a logged-in person.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key's or the person's name: the actor in the audit log.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

impl Caller {
    /// Refuses with 403 unless the caller's role is at least `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {} role; key {:?} has {}",
                role.as_str(),
                self.name,
                self.role.as_str()
            )))
        }
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let secret = match parts.headers.get(axum::http::header::AUTHORIZATION) {
            Some(header) => header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(|| {
                    ApiError::unauthorized("the Authorization header must be \"Bearer <API key>\"")
                })?
                .to_owned(),
            None => {
                // A browser's session: the cookie `POST /api/v1/login` set.
                let session = session_cookie(&parts.headers).ok_or_else(|| {
                    ApiError::unauthorized(
                        "send an API key or a session: Authorization: Bearer hl_… or hs_…, or \
                         log in for the session cookie",
                    )
                })?;
                // A browser sends cookies with requests other sites make it send; only our
                // own pages add this header (SameSite=Strict stops most of it already).
                if !parts.method.is_safe() && !parts.headers.contains_key(CSRF_HEADER) {
                    return Err(ApiError::forbidden(format!(
                        "a request made with the session cookie that changes something needs \
                         the {CSRF_HEADER} header"
                    )));
                }
                session
            }
        };
        let secret = secret.as_str();
        // A logged-in person's session, or an integration's API key.
        if secret.starts_with(hotline_store::SESSION_PREFIX) {
            let user = state
                .records
                .authenticate_session(secret, super::now_ms())
                .await?
                .ok_or_else(|| {
                    ApiError::unauthorized("the session has ended or is unknown: log in again")
                })?;
            state.limiter.check(&user.name, Instant::now())?;
            return Ok(Caller {
                name: user.name,
                role: user.role,
            });
        }
        let key = state
            .records
            .authenticate(secret)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
        state.limiter.check(&key.name, Instant::now())?;
        Ok(Caller {
            name: key.name,
            role: key.role,
        })
    }
}

/// The cookie that carries a browser's session.
pub const SESSION_COOKIE: &str = "hotline_session";
/// The header a browser's state-changing requests must carry besides the cookie (any value):
/// a page of another site cannot add it without the server's CORS consent, which hotline
/// never gives.
pub const CSRF_HEADER: &str = "x-hotline-csrf";

/// The session token of the request's `hotline_session` cookie, if it has one.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, token)| token.trim().to_owned())
        .filter(|token| token.starts_with(hotline_store::SESSION_PREFIX))
}

/// A token bucket per key.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes a token for `key`, or answers 429 with how long to wait.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_RATE_BUCKETS && !buckets.contains_key(key) {
            // Forget the buckets that have refilled: they hold no state worth keeping.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * RATE_PER_SECOND < RATE_BURST
            });
            if buckets.len() >= MAX_RATE_BUCKETS {
                return Err(ApiError::rate_limited(1));
            }
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((RATE_BURST, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * RATE_PER_SECOND).min(RATE_BURST);
        *at = now;
        if *tokens < 1.0 {
            let wait = ((1.0 - *tokens) / RATE_PER_SECOND).ceil().max(1.0) as u64;
            return Err(ApiError::rate_limited(wait));
        }
        *tokens -= 1.0;
        Ok(())
    }
}

/// A JSON body whose errors name the field at fault (`phones[0].number: invalid type …`),
/// and whose size is limited by [`MAX_BODY_BYTES`] (413).
#[derive(Debug)]
pub struct ApiJson<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::bad_request(
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(format!(
                    "the body is larger than the {MAX_BODY_BYTES} bytes a request may carry"
                ))
            } else {
                ApiError::bad_request(format!("the body could not be read: {e}"))
            }
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                ApiError::bad_request(format!("the body is not valid JSON: {inner}"))
            } else if path == "." {
                ApiError::invalid("body", inner.to_string())
            } else {
                ApiError::invalid(path, inner.to_string())
            }
        })?;
        Ok(ApiJson(value, bytes))
    }
}
