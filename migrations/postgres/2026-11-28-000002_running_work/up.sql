-- The board's running work: organisations, activities, projects, memberships, report-backs,
-- evaluations. Money is stored as minor units (BIGINT) with its currency; lists are child tables.

-- External ids (keep, kohesio, cordis, jems, ...) of organisations and projects: a scheme/value
-- pair names one live record of a type.
CREATE TABLE external_ids (
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    scheme TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_type, scheme, value)
);
CREATE INDEX external_ids_resource ON external_ids (resource_type, resource_id);

-- Ordered links from a record to others (goals, priority areas) or to codes (NUTS).
CREATE TABLE resource_links (
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    rel TEXT NOT NULL,
    target TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (resource_type, resource_id, rel, target)
);
CREATE INDEX resource_links_target ON resource_links (resource_type, rel, target, resource_id);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    short_name TEXT,
    kind TEXT NOT NULL,
    country TEXT,
    website TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX organisations_kind_id ON organisations (kind, id);
CREATE INDEX organisations_country_id ON organisations (country, id);
CREATE INDEX organisations_updated_at ON organisations (updated_at);

CREATE TABLE activities (
    id TEXT PRIMARY KEY NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    responsible_unit TEXT,
    prioritised BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    planned_start DATE,
    planned_end DATE,
    actual_start DATE,
    actual_end DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX activities_document_id ON activities (document_id, id);
CREATE INDEX activities_kind_id ON activities (kind, id);
CREATE INDEX activities_status_id ON activities (status, id);
CREATE INDEX activities_updated_at ON activities (updated_at);

CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    acronym TEXT,
    title TEXT NOT NULL,
    description TEXT,
    programme TEXT,
    programme_period TEXT,
    call TEXT,
    specific_objective TEXT,
    status TEXT NOT NULL,
    region_role TEXT NOT NULL,
    total_budget_minor BIGINT,
    total_budget_currency TEXT,
    eu_funding_minor BIGINT,
    eu_funding_currency TEXT,
    cofinancing_rate_bp INTEGER,
    planned_start DATE,
    planned_end DATE,
    actual_start DATE,
    actual_end DATE,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX projects_status_id ON projects (status, id);
CREATE INDEX projects_programme_id ON projects (programme, id);
CREATE INDEX projects_region_role_id ON projects (region_role, id);
CREATE INDEX projects_updated_at ON projects (updated_at);

CREATE TABLE project_partners (
    project_id TEXT NOT NULL REFERENCES projects(id),
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT NOT NULL,
    budget_minor BIGINT,
    budget_currency TEXT,
    position INTEGER NOT NULL,
    PRIMARY KEY (project_id, organisation_id)
);
CREATE INDEX project_partners_organisation ON project_partners (organisation_id, project_id);

CREATE TABLE memberships (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    role TEXT,
    representative TEXT,
    mandate TEXT,
    decision_body TEXT,
    decision_date DATE,
    decision_reference TEXT,
    start_date DATE,
    end_date DATE,
    annual_fee_minor BIGINT,
    annual_fee_currency TEXT,
    review_interval_months INTEGER NOT NULL,
    status TEXT NOT NULL,
    last_reviewed_on DATE,
    next_review_due DATE NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX memberships_organisation_id ON memberships (organisation_id, id);
CREATE INDEX memberships_status_id ON memberships (status, id);
CREATE INDEX memberships_kind_id ON memberships (kind, id);
CREATE INDEX memberships_next_review_due ON memberships (next_review_due);
CREATE INDEX memberships_updated_at ON memberships (updated_at);

CREATE TABLE report_backs (
    id TEXT PRIMARY KEY NOT NULL,
    membership_id TEXT NOT NULL REFERENCES memberships(id),
    date DATE NOT NULL,
    meeting TEXT NOT NULL,
    summary TEXT NOT NULL,
    reported_to TEXT NOT NULL,
    author TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX report_backs_membership_id ON report_backs (membership_id, id);
CREATE INDEX report_backs_updated_at ON report_backs (updated_at);

CREATE TABLE evaluations (
    id TEXT PRIMARY KEY NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    period_start DATE,
    period_end DATE,
    benefit_region INTEGER,
    benefit_organisation INTEGER,
    benefit_residents INTEGER,
    efficiency INTEGER,
    goal_fulfilment TEXT NOT NULL,
    findings TEXT,
    recommendation TEXT,
    status TEXT NOT NULL,
    decision_body TEXT,
    decision_date DATE,
    decision_reference TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX evaluations_subject ON evaluations (subject_type, subject_id, id);
CREATE INDEX evaluations_status_id ON evaluations (status, id);
CREATE INDEX evaluations_updated_at ON evaluations (updated_at);
