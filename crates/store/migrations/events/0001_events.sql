-- The event log: every state change of the contact center, in the order it was accepted.
-- `seq` is the log position; AUTOINCREMENT guarantees that a seq is never handed out twice,
-- even if the newest rows were ever removed by hand. STRICT makes SQLite refuse values of the
-- wrong type instead of silently storing them.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    contact_id INTEGER,
    agent      TEXT,
    queue      TEXT,
    data       TEXT    NOT NULL
) STRICT;

-- Per-queue time windows (live wall, reports). SQLite appends the rowid (seq) to every index,
-- so this index also serves ORDER BY at_ms, seq.
CREATE INDEX events_queue_at_ms ON events (queue, at_ms);
-- The history of one contact (screen pop, CDRs).
CREATE INDEX events_contact_id ON events (contact_id);
-- Whole-center time windows.
CREATE INDEX events_at_ms ON events (at_ms);

-- The log is append-only: a correction is a new event, never an edit of an old one.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
