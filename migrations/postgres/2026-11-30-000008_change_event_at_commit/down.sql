DROP TRIGGER change_event_at_commit ON audit_events;
DROP FUNCTION change_event_at_commit();
CREATE SEQUENCE change_events_pending AS BIGINT;
ALTER TABLE change_events ALTER COLUMN seq SET DEFAULT -nextval('change_events_pending');

CREATE FUNCTION change_events_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(727274002);
    UPDATE change_events SET seq = nextval('change_events_seq') WHERE seq = NEW.seq;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER change_events_in_commit_order
    AFTER INSERT ON change_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION change_events_in_commit_order();
