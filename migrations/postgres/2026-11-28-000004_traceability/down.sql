DROP TABLE decisions;
DROP INDEX evaluations_subject_id;
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TRIGGER audit_events_append_only ON audit_events;
DROP FUNCTION refuse_rewrite();
DROP INDEX audit_events_at;
DROP INDEX audit_events_action_id;
DROP INDEX audit_events_actor_id;
DROP INDEX audit_events_type_id;
