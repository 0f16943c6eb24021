-- The knowledge base: articles in Chinese and English, every version kept. The full-text index
-- (crates/kb) is derived from these tables and rebuilt from them at start.

CREATE TABLE kb_articles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    -- A JSON array of strings.
    tags        TEXT    NOT NULL,
    -- 'zh' or 'en'.
    language    TEXT    NOT NULL,
    -- A standard answer (FAQ) an agent copies with one click.
    quick_reply INTEGER NOT NULL,
    published   INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    updated_by  TEXT    NOT NULL
) STRICT;

CREATE INDEX kb_articles_quick_replies ON kb_articles (category, id) WHERE quick_reply = 1 AND published = 1;

-- Every version of every article, as it was saved.
CREATE TABLE kb_article_versions (
    article_id  INTEGER NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    category    TEXT    NOT NULL,
    tags        TEXT    NOT NULL,
    language    TEXT    NOT NULL,
    quick_reply INTEGER NOT NULL,
    published   INTEGER NOT NULL,
    saved_ms    INTEGER NOT NULL,
    saved_by    TEXT    NOT NULL,
    PRIMARY KEY (article_id, version)
) STRICT;
