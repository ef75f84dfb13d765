-- Traceability: the decision register, indexes for reading the audit trail, and triggers that
-- make the audit trail and the register append-only in the database itself.

CREATE TABLE decisions (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    date DATE NOT NULL,
    year INTEGER NOT NULL,
    reference TEXT NOT NULL,
    summary TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_version BIGINT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX decisions_body_year_id ON decisions (body, year, id);
CREATE INDEX decisions_body_id ON decisions (body, id);
CREATE INDEX decisions_year_id ON decisions (year, id);
CREATE INDEX decisions_kind_id ON decisions (kind, id);
CREATE INDEX decisions_resource_id ON decisions (resource_id, id);

-- Evaluations of one record, whatever its type (the `subject_id` filter alone).
CREATE INDEX evaluations_subject_id ON evaluations (subject_id, id);

CREATE INDEX audit_events_type_id ON audit_events (resource_type, id);
CREATE INDEX audit_events_actor_id ON audit_events (actor_sub, id);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);

-- Decisions recorded before this register existed, from the records that carry them.
INSERT INTO decisions
SELECT id, 'adoption', decision_body, decision_date, CAST(substr(decision_date, 1, 4) AS INTEGER),
       decision_reference, 'adopted ' || kind || ' "' || title || '"',
       'document', id, version, updated_at
FROM documents WHERE decision_body IS NOT NULL AND deleted_at IS NULL;
INSERT INTO decisions
SELECT e.id, 'approval', e.decision_body, e.decision_date,
       CAST(substr(e.decision_date, 1, 4) AS INTEGER), e.decision_reference,
       'approved the evaluation of ' || e.subject_type || ' ' || e.subject_id
           || ': goal fulfilment ' || e.goal_fulfilment
           || COALESCE(', recommendation ' || e.recommendation, ''),
       'evaluation', e.id, e.version, e.updated_at
FROM evaluations e WHERE e.decision_body IS NOT NULL AND e.deleted_at IS NULL;
INSERT INTO decisions
SELECT m.id, CASE WHEN m.status = 'ended' THEN 'membership_end' ELSE 'membership_decision' END,
       m.decision_body, m.decision_date, CAST(substr(m.decision_date, 1, 4) AS INTEGER),
       m.decision_reference,
       CASE WHEN m.status = 'ended'
            THEN 'ended the ' || m.kind || ' in "' || o.name || '" from ' || COALESCE(m.end_date, m.decision_date)
            ELSE 'decided the ' || m.kind || ' in "' || o.name || '": status ' || m.status END,
       'membership', m.id, m.version, m.updated_at
FROM memberships m JOIN organisations o ON o.id = m.organisation_id
WHERE m.decision_body IS NOT NULL AND m.deleted_at IS NULL;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision register is append-only: UPDATE refused'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'the decision register is append-only: DELETE refused'); END;
