-- Tickets (工单): the work a call leaves behind, with their SLA clocks, their history, and the
-- links that let a customer follow one. The rules (SLA targets, departments, follow-ups) are
-- configuration (crates/tickets); these tables keep the state.

CREATE TABLE tickets (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id           INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    interaction_id        INTEGER REFERENCES interactions (id) ON DELETE SET NULL,
    -- The title is shown on the customer's tracking page and in lists: not personal data.
    title                 TEXT    NOT NULL,
    -- The description may hold personal data: sealed.
    description_sealed    BLOB,
    category              TEXT    NOT NULL,
    priority              TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    department            TEXT,
    assignee              TEXT,
    created_ms            INTEGER NOT NULL,
    updated_ms            INTEGER NOT NULL,
    version               INTEGER NOT NULL,
    -- The SLA clock (hotline_tickets::SlaClock), one column per field.
    sla_policy            TEXT    NOT NULL,
    sla_started_ms        INTEGER NOT NULL,
    sla_running_since_ms  INTEGER NOT NULL,
    sla_used_ms           INTEGER NOT NULL,
    sla_paused_since_ms   INTEGER,
    sla_responded_ms      INTEGER,
    sla_resolved_ms       INTEGER,
    -- What the last check said of each target ('running', 'warning', 'breached' …), so each
    -- warning and breach is recorded once; and when to check next (NULL: only a change can
    -- alter the report).
    first_response_state  TEXT    NOT NULL,
    resolution_state      TEXT    NOT NULL,
    next_check_ms         INTEGER,
    escalated             INTEGER NOT NULL DEFAULT 0,
    -- The follow-up visit (回访) after resolution: when, and how it went.
    follow_up_due_ms      INTEGER,
    follow_up_state       TEXT,
    follow_up_outcome     TEXT
) STRICT;

CREATE INDEX tickets_status ON tickets (status, id);
CREATE INDEX tickets_customer ON tickets (customer_id, id);
CREATE INDEX tickets_assignee ON tickets (assignee, id);
CREATE INDEX tickets_next_check ON tickets (next_check_ms) WHERE next_check_ms IS NOT NULL;
CREATE INDEX tickets_follow_up ON tickets (follow_up_due_ms) WHERE follow_up_state = 'scheduled';

-- Every change of a ticket, oldest first; append-only.
CREATE TABLE ticket_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    from_value  TEXT,
    to_value    TEXT,
    note_sealed BLOB
) STRICT;

CREATE INDEX ticket_history_ticket ON ticket_history (ticket_id, id);

CREATE TRIGGER ticket_history_no_update BEFORE UPDATE ON ticket_history
BEGIN
    SELECT RAISE(ABORT, 'ticket history is append-only');
END;

-- Tracking links for customers (SMS, WeChat): signed tokens; a row per link so that one can
-- be revoked before it expires.
CREATE TABLE ticket_links (
    id          TEXT    PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
) STRICT;

CREATE INDEX ticket_links_ticket ON ticket_links (ticket_id);
