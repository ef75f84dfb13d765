-- One project's external ids, in the order they are shown: (resource_type, resource_id) alone
-- let SQLite's planner prefer the primary key's (resource_type, ...) prefix and read every
-- record's ids of that type.
DROP INDEX external_ids_resource;
CREATE INDEX external_ids_resource ON external_ids (resource_type, resource_id, scheme);
