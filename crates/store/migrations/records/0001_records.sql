-- The records of the contact center: customers, their phone numbers and their interactions.
-- Personal fields are sealed (AES-256-GCM, see crypto.rs): the columns ending in `_sealed`
-- hold a key id, a nonce and the ciphertext, never the plain value. Phone numbers are found
-- by `number_index`, a keyed hash (HMAC-SHA-256) of the E.164 form: equal numbers have equal
-- indexes, and the index alone does not give the number back.

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The id of the customer in the company's CRM; not personal data.
    external_id   TEXT UNIQUE,
    name_sealed   BLOB,
    level         TEXT    NOT NULL,
    value_score   INTEGER NOT NULL,
    -- JSON arrays and objects, read and written only by the store.
    tags          TEXT    NOT NULL,
    preferences   TEXT    NOT NULL,
    consent       INTEGER NOT NULL,
    do_not_call   INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    -- Bumped by every update: optimistic concurrency for the API (If-Match).
    version       INTEGER NOT NULL
) STRICT;

CREATE TABLE customer_phones (
    customer_id   INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    number_sealed BLOB    NOT NULL,
    number_index  BLOB    NOT NULL,
    label         TEXT,
    PRIMARY KEY (customer_id, position)
) STRICT;

-- The screen pop: who is calling, from the caller's number.
CREATE INDEX customer_phones_number_index ON customer_phones (number_index);

CREATE TABLE interactions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id    INTEGER REFERENCES customers (id) ON DELETE CASCADE,
    at_ms          INTEGER NOT NULL,
    kind           TEXT    NOT NULL,
    channel        TEXT,
    agent          TEXT,
    queue          TEXT,
    -- The routing contact and the event-log row it came from, when it came from a call.
    contact_id     INTEGER,
    event_seq      INTEGER,
    disposition    TEXT,
    duration_ms    INTEGER,
    -- Free text written by agents may hold personal data: sealed like the rest.
    summary_sealed BLOB,
    -- Set when retention removed the personal data (the summary) of an old interaction.
    redacted       INTEGER NOT NULL DEFAULT 0
) STRICT;

-- The last interactions of a customer, newest first (screen pop, customer page).
CREATE INDEX interactions_customer_at ON interactions (customer_id, at_ms);
-- Retention sweeps by age.
CREATE INDEX interactions_at ON interactions (at_ms);

-- Every read of unmasked personal data, and every change of a record: who, when, what.
-- Append-only like the event log.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_subject ON audit_log (subject, at_ms);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- API keys of integrators and users of the REST API. Only a hash of the secret is kept:
-- the secret is shown once, when the key is made.
CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL,
    -- The first characters of the secret, to tell keys apart in lists and logs.
    prefix      TEXT    NOT NULL,
    secret_hash BLOB    NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
) STRICT;

-- The answers to POSTs that carried an Idempotency-Key, so that a retry gets the first
-- answer instead of doing the work twice.
CREATE TABLE idempotency_keys (
    actor        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash BLOB    NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) STRICT, WITHOUT ROWID;
