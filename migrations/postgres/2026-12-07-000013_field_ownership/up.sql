-- Who owns a synced record's fields: the region's own notes and responsible unit beside the
-- source's fields, and the time the source last changed the record (out-of-order protection).
ALTER TABLE projects ADD COLUMN responsible_unit TEXT;
ALTER TABLE projects ADD COLUMN notes TEXT;
ALTER TABLE projects ADD COLUMN source_updated_at TIMESTAMP;
ALTER TABLE organisations ADD COLUMN notes TEXT;
ALTER TABLE organisations ADD COLUMN source_updated_at TIMESTAMP;
