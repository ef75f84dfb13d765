-- A list page's first statement reads its records' keys (id, version, updated_at: all the
-- page needs when their renderings are cached, see crud::list). These indexes hold the keys of
-- the live records, so that statement reads the index alone (an index-only scan: 4 buffers
-- instead of 36 for 50 activities by status, and half of PostgreSQL's CPU per page).
-- Every query by these columns asks for live records (`deleted_at IS NULL`); version and
-- updated_at change on every update, which is never a HOT update already (updated_at is indexed).

-- Unfiltered pages and the GET's version lookup, in key order.
CREATE INDEX projects_live_keys ON projects (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX activities_live_keys ON activities (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX memberships_live_keys ON memberships (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX evaluations_live_keys ON evaluations (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;

-- The filters by a kind of value, replaced by the same keys over live records.
DROP INDEX projects_status_id;
CREATE INDEX projects_status_id ON projects (status, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX projects_programme_id;
CREATE INDEX projects_programme_id ON projects (programme, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX projects_region_role_id;
CREATE INDEX projects_region_role_id ON projects (region_role, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX activities_status_id;
CREATE INDEX activities_status_id ON activities (status, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX activities_kind_id;
CREATE INDEX activities_kind_id ON activities (kind, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX memberships_status_id;
CREATE INDEX memberships_status_id ON memberships (status, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX memberships_kind_id;
CREATE INDEX memberships_kind_id ON memberships (kind, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
DROP INDEX evaluations_status_id;
CREATE INDEX evaluations_status_id ON evaluations (status, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
