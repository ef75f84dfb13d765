-- EU programmes (CCI code as an external id of scheme `cci`), and projects pointing at one.
-- A programme's priorities with their specific objectives are one JSON list: they are read and
-- written with the programme, never queried on their own.
CREATE TABLE programmes (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    fund TEXT,
    period TEXT,
    managing_authority TEXT,
    priorities TEXT NOT NULL DEFAULT '[]',
    notes TEXT,
    source_updated_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX programmes_live_keys ON programmes (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX programmes_fund_id ON programmes (fund, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX programmes_updated_at ON programmes (updated_at, id);

-- The free-text programme stays, renamed, until the service maps it to programmes through the
-- write path at start (seed.rs, `programmes_from_text`: audited, in the change feed); it is
-- then cleared.
DROP INDEX projects_programme_id;
ALTER TABLE projects RENAME COLUMN programme TO legacy_programme;
ALTER TABLE projects RENAME COLUMN programme_period TO legacy_programme_period;
ALTER TABLE projects ADD COLUMN programme_id TEXT REFERENCES programmes(id);
CREATE INDEX projects_programme_id ON projects (programme_id, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
