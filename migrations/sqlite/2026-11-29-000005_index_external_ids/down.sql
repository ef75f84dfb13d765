DROP INDEX external_ids_resource;
CREATE INDEX external_ids_resource ON external_ids (resource_type, resource_id);
