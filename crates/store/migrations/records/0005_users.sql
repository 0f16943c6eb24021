-- People who log in (agents, supervisors, admins) and their sessions. Passwords are kept as
-- Argon2id hashes (PHC strings); session tokens as SHA-256 hashes, like API keys.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    display_name    TEXT,
    role            TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL,
    disabled_ms     INTEGER,
    -- Wrong passwords in a row, and until when the account is locked after too many.
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER
) STRICT;

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  BLOB    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);
