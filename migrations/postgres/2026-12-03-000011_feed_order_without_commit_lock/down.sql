DROP FUNCTION change_feed_floor();
CREATE OR REPLACE FUNCTION change_event_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
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
