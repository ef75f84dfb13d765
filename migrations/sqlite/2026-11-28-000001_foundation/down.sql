DROP TABLE change_events;
DROP TABLE audit_events;
DROP TABLE goal_serves;
DROP TABLE goals;
DROP TABLE documents;
DROP TABLE app_settings;
