DROP TRIGGER change_events_in_commit_order ON change_events;
DROP FUNCTION change_events_in_commit_order();
ALTER TABLE change_events ALTER COLUMN seq DROP DEFAULT;
DROP SEQUENCE change_events_pending;
DROP SEQUENCE change_events_seq;
ALTER TABLE change_events ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('change_events', 'seq'),
              COALESCE((SELECT max(seq) FROM change_events), 0) + 1, false);
