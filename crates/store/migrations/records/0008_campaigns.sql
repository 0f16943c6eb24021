-- Predictive campaigns (外呼活动): a list of numbers dialled for one routing queue by a pacer,
-- with a cap on the share of answered calls abandoned for want of an agent. A campaign's
-- numbers are callback tasks of channel 'campaign'; the answered and abandoned counts are kept
-- per minute so that a restart restores the rolling 24 h and 30 day abandonment windows.

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    -- The routing queue whose agents take the answered calls.
    queue       TEXT    NOT NULL,
    -- 'model', 'vicidial' or 'progressive'.
    pacer       TEXT    NOT NULL,
    -- The highest share of answered calls that may be abandoned, a fraction (0.03: 3 %).
    abandon_cap REAL    NOT NULL,
    -- 'running', 'paused' or 'stopped'.
    state       TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
) STRICT;

-- The campaign a task was loaded for, and how it is dialled: NULL for the center's default
-- mode, else 'agent_first', 'automatic', 'preview' or 'predictive'.
ALTER TABLE callback_tasks ADD COLUMN campaign_id INTEGER REFERENCES campaigns (id);
ALTER TABLE callback_tasks ADD COLUMN mode TEXT;

CREATE INDEX callback_tasks_campaign ON callback_tasks (campaign_id, state);

-- Answered and abandoned calls per campaign and UTC minute (minute_ms: the minute's start).
CREATE TABLE campaign_abandons (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    minute_ms   INTEGER NOT NULL,
    answered    INTEGER NOT NULL DEFAULT 0,
    abandoned   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, minute_ms)
) STRICT;
