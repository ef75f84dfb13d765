-- The change feed's seq is handed out at commit, not at insert: a reader that has seen seq n
-- must never later find a committed event with a smaller seq. The service used to take an
-- advisory lock before inserting the event and hold it to the end of the transaction, so the
-- insert and the COMMIT round trips ran one writer at a time (1 200 writes/s). Now the event
-- goes in with a placeholder (negative, never visible: it is replaced before the commit
-- completes), and a deferred trigger, run inside COMMIT, takes the lock and gives it the next
-- seq. The lock is held from there to the end of the commit (after the WAL flush and after the
-- transaction becomes visible), so seq order is still visibility order, and writers queue only
-- for that last step.
ALTER TABLE change_events ALTER COLUMN seq DROP IDENTITY;
CREATE SEQUENCE change_events_seq AS BIGINT;
SELECT setval('change_events_seq', COALESCE((SELECT max(seq) FROM change_events), 0) + 1, false);
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
