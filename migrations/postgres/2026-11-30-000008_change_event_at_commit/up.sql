-- The change event is now written inside COMMIT, whole, by a deferred trigger on the audit
-- event the write path inserts (every change writes exactly one of each). Before, the service
-- inserted the change event with a placeholder seq and a deferred trigger on change_events
-- replaced it at commit: an UPDATE per write, a dead row and two index entries for one event.
-- The order guarantee is the same: the trigger takes the advisory lock before it draws the
-- seq and holds it to the end of the commit, so seq order is visibility order.
DROP TRIGGER change_events_in_commit_order ON change_events;
DROP FUNCTION change_events_in_commit_order();
ALTER TABLE change_events ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE change_events_pending;

CREATE FUNCTION change_event_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(727274002);
    INSERT INTO change_events (seq, at, resource_type, resource_id, op, version, data)
    VALUES (nextval('change_events_seq'), NEW.at, NEW.resource_type, NEW.resource_id,
            CASE NEW.action WHEN 'create' THEN 'created' WHEN 'delete' THEN 'deleted'
                            ELSE 'updated' END,
            NEW.resource_version, NEW.after_data);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER change_event_at_commit
    AFTER INSERT ON audit_events
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION change_event_at_commit();
