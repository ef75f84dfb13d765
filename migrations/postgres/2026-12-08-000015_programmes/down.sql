DROP INDEX projects_programme_id;
ALTER TABLE projects DROP COLUMN programme_id;
ALTER TABLE projects RENAME COLUMN legacy_programme_period TO programme_period;
ALTER TABLE projects RENAME COLUMN legacy_programme TO programme;
CREATE INDEX projects_programme_id ON projects (programme, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP TABLE programmes;
