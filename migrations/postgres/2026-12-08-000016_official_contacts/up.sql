-- Official international contacts (visits, delegations, meetings) in the region's name. The
-- region's participants are named by role, a JSON list read and written with the contact; its
-- goals are resource_links (rel `goal`), as an activity's.
CREATE TABLE official_contacts (
    id TEXT PRIMARY KEY NOT NULL,
    date DATE NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations(id),
    counterpart TEXT,
    country TEXT,
    participants TEXT NOT NULL DEFAULT '[]',
    purpose TEXT,
    follow_up TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
CREATE INDEX official_contacts_live_keys ON official_contacts (id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX official_contacts_kind_id ON official_contacts (kind, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX official_contacts_organisation_id ON official_contacts (organisation_id, id) INCLUDE (version, updated_at) WHERE deleted_at IS NULL;
CREATE INDEX official_contacts_updated_at ON official_contacts (updated_at, id);
