ALTER TABLE audit_events DROP COLUMN correlation_id;
