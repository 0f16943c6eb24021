-- Callback requests (回拨): a customer asked to be called back, from a web form, WeChat, an
-- app, an after-sales form, a ticket's follow-up or the API. The row is written before the
-- request is acknowledged; the dialer's scheduling state (crates/dialer) is kept with it as
-- a snapshot, written before each dial, so a restart loses no task and dials no attempt twice.

CREATE TABLE callback_tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id    INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    -- The number to call, sealed, and its blind index (the same as customer_phones').
    number_sealed  BLOB    NOT NULL,
    number_index   BLOB    NOT NULL,
    -- 'web_form', 'wechat', 'app', 'after_sales', 'follow_up' or 'api'.
    channel        TEXT    NOT NULL,
    reason         TEXT    NOT NULL,
    -- A JSON array of need tags.
    need_tags      TEXT    NOT NULL,
    -- The CRM's payload (order data …), shown on the screen pop; may hold personal data.
    payload_sealed BLOB,
    -- 'normal', 'high' or 'urgent'.
    priority       TEXT    NOT NULL,
    value_score    INTEGER NOT NULL,
    -- The requested window; ASAP requests have their start at creation.
    window_start_ms INTEGER NOT NULL,
    window_end_ms   INTEGER NOT NULL,
    promised_ms    INTEGER NOT NULL,
    -- 'pending', 'dialling', 'done', 'failed' or 'cancelled'.
    state          TEXT    NOT NULL,
    -- One active task per customer (or number) and reason.
    dedupe_key     TEXT    NOT NULL,
    ticket_id      INTEGER REFERENCES tickets (id) ON DELETE SET NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    outcome        TEXT,
    -- The dialer's state of the task (JSON), written before each dial.
    snapshot       TEXT,
    created_ms     INTEGER NOT NULL,
    updated_ms     INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX callback_tasks_active ON callback_tasks (dedupe_key)
    WHERE state IN ('pending', 'dialling');
CREATE INDEX callback_tasks_state ON callback_tasks (state, id);
CREATE INDEX callback_tasks_customer ON callback_tasks (customer_id, id);
