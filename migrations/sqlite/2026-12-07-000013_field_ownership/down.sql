ALTER TABLE organisations DROP COLUMN source_updated_at;
ALTER TABLE organisations DROP COLUMN notes;
ALTER TABLE projects DROP COLUMN source_updated_at;
ALTER TABLE projects DROP COLUMN notes;
ALTER TABLE projects DROP COLUMN responsible_unit;
