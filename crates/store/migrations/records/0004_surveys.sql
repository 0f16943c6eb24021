-- Satisfaction surveys (CSAT): one answer per contact and channel, 1 to 5.

CREATE TABLE survey_answers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          INTEGER NOT NULL,
    score          INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    -- 'ivr' (keys after the call), 'link' (a survey page), 'sms', 'wechat', 'app'.
    channel        TEXT    NOT NULL,
    customer_id    INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    interaction_id INTEGER REFERENCES interactions (id) ON DELETE SET NULL,
    contact_id     INTEGER,
    agent          TEXT,
    queue          TEXT,
    -- The customer's words may hold personal data: sealed.
    comment_sealed BLOB
) STRICT;

CREATE UNIQUE INDEX survey_answers_contact ON survey_answers (contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX survey_answers_at ON survey_answers (at_ms);

-- A survey names its call by contact id: find the call's interaction.
CREATE INDEX interactions_contact ON interactions (contact_id) WHERE contact_id IS NOT NULL;
