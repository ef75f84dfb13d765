-- Foundation: governing documents, their goals, the audit trail and the change feed.
CREATE TABLE app_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    document_number TEXT,
    document_version INTEGER,
    year INTEGER,
    applies_to TEXT,
    valid_from DATE,
    case_officer TEXT,
    reviewer TEXT,
    process_owner TEXT,
    decision_body TEXT,
    decision_date DATE,
    decision_reference TEXT,
    revision_of TEXT REFERENCES documents(id),
    superseded_by TEXT REFERENCES documents(id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX documents_kind_id ON documents (kind, id);
CREATE INDEX documents_status_id ON documents (status, id);
CREATE INDEX documents_year_id ON documents (year, id);
CREATE INDEX documents_updated_at ON documents (updated_at);
CREATE INDEX documents_revision_of ON documents (revision_of);

CREATE TABLE goals (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents(id),
    parent_id TEXT REFERENCES goals(id),
    kind TEXT NOT NULL,
    code TEXT,
    title TEXT NOT NULL,
    description TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX goals_document_id ON goals (document_id, id);
CREATE INDEX goals_parent_id ON goals (parent_id, id);
CREATE INDEX goals_kind_id ON goals (kind, id);
CREATE INDEX goals_updated_at ON goals (updated_at);

-- An action plan's sub-goal serves goals of the policy (lists are child tables on both backends).
CREATE TABLE goal_serves (
    goal_id TEXT NOT NULL REFERENCES goals(id),
    serves_goal_id TEXT NOT NULL REFERENCES goals(id),
    PRIMARY KEY (goal_id, serves_goal_id)
);
CREATE INDEX goal_serves_target ON goal_serves (serves_goal_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_roles TEXT NOT NULL,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_version BIGINT NOT NULL,
    before_data TEXT,
    after_data TEXT,
    request_id TEXT
);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, id);

CREATE TABLE change_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    op TEXT NOT NULL,
    version BIGINT NOT NULL,
    data TEXT
);
CREATE INDEX change_events_type_seq ON change_events (resource_type, seq);
