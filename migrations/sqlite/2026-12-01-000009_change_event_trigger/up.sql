-- The change event is written by the database from the audit event the write path inserts
-- (every change writes exactly one of each), as PostgreSQL's change_event_at_commit does:
-- one mapping from audit action to feed op for both backends, and no backend branch in the
-- write path. SQLite has one writer at a time, so seq order (AUTOINCREMENT) is commit order
-- without the lock PostgreSQL's deferred trigger takes.
CREATE TRIGGER change_event_from_audit AFTER INSERT ON audit_events
BEGIN
    INSERT INTO change_events (at, resource_type, resource_id, op, version, data)
    VALUES (NEW.at, NEW.resource_type, NEW.resource_id,
            CASE NEW.action WHEN 'create' THEN 'created' WHEN 'delete' THEN 'deleted'
                            ELSE 'updated' END,
            NEW.resource_version, NEW.after_data);
END;
