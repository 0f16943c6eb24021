-- Outbound webhooks: where events go (signed with each webhook's secret), and every delivery
-- with its attempts. A webhook reads the event log from its cursor, so a delivery is made
-- at least once whatever happens to the process.

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,
    secret_sealed BLOB    NOT NULL,
    -- A JSON array of event kinds or prefixes ending in '.' ("ticket."); empty: every event.
    kinds         TEXT    NOT NULL,
    active        INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    -- The last event-log seq turned into deliveries.
    cursor_seq    INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    -- 'pending', 'delivered' or 'failed' (attempts used up).
    state           TEXT    NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_ms INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_ms      INTEGER NOT NULL,
    delivered_ms    INTEGER,
    UNIQUE (webhook_id, event_seq)
) STRICT;

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
