-- Lists filtered by updated_since are ordered by (updated_at, id), the audit trail under since
-- by (at, id): these indexes answer them in that order (see keyset! in src/pagination.rs).
DROP INDEX documents_updated_at;
CREATE INDEX documents_updated_at ON documents (updated_at, id);
DROP INDEX goals_updated_at;
CREATE INDEX goals_updated_at ON goals (updated_at, id);
DROP INDEX organisations_updated_at;
CREATE INDEX organisations_updated_at ON organisations (updated_at, id);
DROP INDEX activities_updated_at;
CREATE INDEX activities_updated_at ON activities (updated_at, id);
DROP INDEX projects_updated_at;
CREATE INDEX projects_updated_at ON projects (updated_at, id);
DROP INDEX memberships_updated_at;
CREATE INDEX memberships_updated_at ON memberships (updated_at, id);
DROP INDEX report_backs_updated_at;
CREATE INDEX report_backs_updated_at ON report_backs (updated_at, id);
DROP INDEX evaluations_updated_at;
CREATE INDEX evaluations_updated_at ON evaluations (updated_at, id);
DROP INDEX audit_events_at;
CREATE INDEX audit_events_at ON audit_events (at, id);
