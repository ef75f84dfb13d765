-- Positions (ställningstaganden): the board's political positions and other decisions in the
-- running international work that adopt no document. Each carries its decision (always the
-- board's), which the write path enters in the decision register; its goals are
-- resource_links (rel `goal`).
CREATE TABLE positions (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    decision_body TEXT NOT NULL,
    decision_date DATE NOT NULL,
    decision_reference TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX positions_live_keys ON positions (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX positions_updated_at ON positions (updated_at, id);
