-- The client's own X-Request-Id (a correlation hint), kept beside the service's request_id.
ALTER TABLE audit_events ADD COLUMN correlation_id TEXT;
