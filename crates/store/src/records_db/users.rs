//! People who log in, and their sessions.
//!
//! Passwords are hashed with Argon2id (the crate's defaults: 19 MiB, two passes) and only the
//! PHC string is kept. A login answers a session token (`hs_…`, 32 random bytes) whose
//! SHA-256 is kept; it lasts [`SESSION_LIFETIME_MS`] (a shift) unless logged out. After
//! [`MAX_FAILED_LOGINS`] wrong passwords in a row the account is locked for
//! [`LOCKOUT_MS`]; every login, failed or not, is in the audit log.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{audit, Records};
use crate::error::StoreError;
use crate::records::{FieldError, Role};

/// What every session token starts with.
pub const SESSION_PREFIX: &str = "hs_";
/// How long a session lasts: twelve hours, a long shift.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;
/// Wrong passwords in a row before the account is locked.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: i64 = 15 * 60_000;
/// The shortest password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password (Argon2 takes any length; the limit bounds the work).
pub const MAX_PASSWORD_BYTES: usize = 256;
/// The longest user name.
pub const MAX_USER_NAME_CHARS: usize = 64;
/// The most users.
pub const MAX_USERS: i64 = 100_000;

/// A person who logs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The store's id.
    pub id: i64,
    /// The login name; for agents, the routing agent's name (their pops, their tickets).
    pub name: String,
    /// The name shown.
    pub display_name: Option<String>,
    /// What they may do.
    pub role: Role,
    /// When the account was disabled, if it is.
    pub disabled_ms: Option<i64>,
}

/// Why a login was refused. The API answers all of them alike (401), so that a guesser does
/// not learn which names exist; the audit log keeps the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginRefused {
    /// No such user, or a wrong password.
    BadCredentials,
    /// Too many wrong passwords: locked until then.
    Locked(i64),
    /// The account is disabled.
    Disabled,
}

fn check_password(password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new(
            "password",
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes long"),
        ));
    }
    Ok(())
}

fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Invariant(format!("hashing a password: {e}")))
}

/// Argon2 takes tens of milliseconds of a core: off the async threads.
async fn hash_password_blocking(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| StoreError::Invariant(format!("hashing task: {e}")))?
}

/// Spends a password check on a hash nobody has, so that an unknown name takes as long as
/// a wrong password (the dummy hash is made once, off the async threads too).
async fn password_check_for_nobody(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let password = password.to_owned();
    let _ = tokio::task::spawn_blocking(move || {
        let dummy =
            DUMMY.get_or_init(|| hash_password("not a password at all").unwrap_or_default());
        password_matches(&password, dummy)
    })
    .await;
}

/// Writes a refused login to the audit log, commits, and answers the refusal.
async fn refuse(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    now_ms: i64,
    name: &str,
    detail: &str,
    refusal: LoginRefused,
) -> Result<Result<(String, i64, User), LoginRefused>, StoreError> {
    let subject = format!("user:{name}");
    audit(&mut tx, now_ms, name, "user.login_failed", &subject, detail).await?;
    tx.commit().await?;
    Ok(Err(refusal))
}

async fn password_matches_blocking(password: &str, stored: String) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password_matches(&password, &stored))
        .await
        .unwrap_or(false)
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn decode_user(row: &AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Invariant(format!("a stored user has role {role:?}")))?,
        disabled_ms: row.try_get("disabled_ms")?,
    })
}

const USER_COLUMNS: &str = "id, name, display_name, role, disabled_ms";

impl Records {
    /// Creates a user (the password hashed off the async threads).
    pub async fn create_user(
        &self,
        name: &str,
        display_name: Option<&str>,
        role: Role,
        password: &str,
        now_ms: i64,
        actor: &str,
    ) -> Result<User, StoreError> {
        if name.is_empty()
            || name.chars().count() > MAX_USER_NAME_CHARS
            || name.chars().any(char::is_whitespace)
        {
            return Err(FieldError::new(
                "name",
                format!("1 to {MAX_USER_NAME_CHARS} characters without spaces"),
            )
            .into());
        }
        check_password(password)?;
        let hash = hash_password_blocking(password).await?;
        let mut tx = self.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await?;
        if count >= MAX_USERS {
            return Err(StoreError::Conflict(format!(
                "there are {MAX_USERS} users already"
            )));
        }
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO users (name, display_name, role, password_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(display_name)
        .bind(role.as_str())
        .bind(&hash)
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(format!("a user named {name:?} exists"))
            }
            _ => StoreError::from(e),
        })?;
        audit(
            &mut tx,
            now_ms,
            actor,
            "user.create",
            &format!("user:{name}"),
            role.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(User {
            id,
            name: name.to_owned(),
            display_name: display_name.map(str::to_owned),
            role,
            disabled_ms: None,
        })
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(decode_user).collect()
    }

    /// Changes a user's role, password or disabled state; disabling or a new password ends
    /// their sessions. Answers the user as it is now.
    pub async fn change_user(
        &self,
        name: &str,
        role: Option<Role>,
        password: Option<&str>,
        disabled: Option<bool>,
        now_ms: i64,
        actor: &str,
    ) -> Result<User, StoreError> {
        if let Some(password) = password {
            check_password(password)?;
        }
        let hash = match password {
            Some(password) => Some(hash_password_blocking(password).await?),
            None => None,
        };
        let mut tx = self.begin().await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1"))
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "user",
                id: name.to_owned(),
            })?;
        let user = decode_user(&row)?;
        if let Some(role) = role {
            sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                .bind(role.as_str())
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(hash) = &hash {
            sqlx::query(
                "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until_ms = NULL \
                 WHERE id = $2",
            )
            .bind(hash)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(disabled) = disabled {
            sqlx::query("UPDATE users SET disabled_ms = $1 WHERE id = $2")
                .bind(disabled.then_some(now_ms))
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        if hash.is_some() || disabled == Some(true) {
            sqlx::query(
                "UPDATE sessions SET revoked_ms = $1 WHERE user_id = $2 AND revoked_ms IS NULL",
            )
            .bind(now_ms)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        }
        let detail = format!(
            "role={} password={} disabled={}",
            role.map_or("-", Role::as_str),
            if hash.is_some() { "changed" } else { "-" },
            disabled.map_or("-", |d| if d { "yes" } else { "no" })
        );
        audit(
            &mut tx,
            now_ms,
            actor,
            "user.change",
            &format!("user:{name}"),
            &detail,
        )
        .await?;
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
        let user = decode_user(&row)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Checks a name and password; answers a new session token and the user, or why not.
    /// Wrong passwords count towards the lockout; the outcome is audited either way.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<Result<(String, i64, User), LoginRefused>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, password_hash, failed_logins, locked_until_ms FROM users \
             WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else {
            password_check_for_nobody(password).await;
            let tx = self.begin().await?;
            return refuse(
                tx,
                now_ms,
                name,
                "no such user",
                LoginRefused::BadCredentials,
            )
            .await;
        };
        let user = decode_user(&row)?;
        let stored: String = row.try_get("password_hash")?;
        let locked_until: Option<i64> = row.try_get("locked_until_ms")?;
        // The password is checked before the write transaction: Argon2's tens of
        // milliseconds must not hold the records' one writer.
        let matches = user.disabled_ms.is_none()
            && locked_until.is_none_or(|until| until <= now_ms)
            && password_matches_blocking(password, stored).await;
        let mut tx = self.begin().await?;
        if user.disabled_ms.is_some() {
            return refuse(tx, now_ms, name, "disabled", LoginRefused::Disabled).await;
        }
        if let Some(until) = locked_until.filter(|&until| until > now_ms) {
            return refuse(tx, now_ms, name, "locked", LoginRefused::Locked(until)).await;
        }
        if !matches {
            let failed: i64 = sqlx::query_scalar(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 \
                 RETURNING failed_logins",
            )
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
            if failed >= MAX_FAILED_LOGINS {
                sqlx::query(
                    "UPDATE users SET failed_logins = 0, locked_until_ms = $1 WHERE id = $2",
                )
                .bind(now_ms + LOCKOUT_MS)
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
            }
            return refuse(
                tx,
                now_ms,
                name,
                "wrong password",
                LoginRefused::BadCredentials,
            )
            .await;
        }
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)
            .map_err(|e| StoreError::Invariant(format!("no random numbers: {e}")))?;
        let token = format!(
            "{SESSION_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        );
        let expires_ms = now_ms + SESSION_LIFETIME_MS;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&token_hash(&token)[..])
        .bind(user.id)
        .bind(now_ms)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            now_ms,
            name,
            "user.login",
            &format!("user:{name}"),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(Ok((token, expires_ms, user)))
    }

    /// The user of a live session token.
    pub async fn authenticate_session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<User>, StoreError> {
        if !token.starts_with(SESSION_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT u.id, u.name, u.display_name, u.role, u.disabled_ms FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.revoked_ms IS NULL \
             AND s.expires_ms > $2 AND u.disabled_ms IS NULL",
        )
        .bind(&token_hash(token)[..])
        .bind(now_ms)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(decode_user).transpose()
    }

    /// Ends a session (logout); answers whether it was live.
    pub async fn logout(&self, token: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_ms = $1 WHERE token_hash = $2 AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(&token_hash(token)[..])
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(ended)
    }
}
