-- The change feed's order, without a lock held through the commit. Until now the trigger that
-- writes the change event at COMMIT took one exclusive advisory lock for the rest of the commit,
-- so seq order was visibility order, but only one transaction at a time could flush its commit
-- to disk: no group commit, every writer queued behind the disk (at 1 000 000 projects most
-- writers were found waiting for that lock).
--
-- Now a writing transaction, before it draws its first seq, reads the value the sequence will
-- hand out next (its floor: every seq it draws is at least that) and takes a shared lock named
-- after it, held to the end of its commit, after the transaction is visible. The feed
-- (src/feed.rs) first asks change_feed_floor() below, then reads only the events below the
-- answer in a new statement, with a new snapshot. So a reader that has seen seq n can still never later find a committed
-- event with a smaller seq, and writers commit side by side. Shared locks never wait for each
-- other; a floor is one lock per transaction, however many events it writes.
--
-- This needs the sequence to hand out values in time order across sessions: CACHE 1 (its
-- default, as created in migration feed_commit_order).
--
-- Key: floor f is the bigint lock 2^62 + f, which pg_locks shows as classid = 2^30 + (f >> 32),
-- objid = f & (2^32 - 1); the service's other advisory locks (727274001, 727274002) are below.
-- Writer and reader of the key are both here.
CREATE OR REPLACE FUNCTION change_event_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('intl_api.feed_floor', true), '') = '' THEN
        PERFORM pg_advisory_xact_lock_shared(4611686018427387904 + last_value + is_called::int)
        FROM change_events_seq;
        PERFORM set_config('intl_api.feed_floor', 'held', true);
    END IF;
    INSERT INTO change_events (seq, at, resource_type, resource_id, op, version, data)
    VALUES (nextval('change_events_seq'), NEW.at, NEW.resource_type, NEW.resource_id,
            CASE NEW.action WHEN 'create' THEN 'created' WHEN 'delete' THEN 'deleted'
                            ELSE 'updated' END,
            NEW.resource_version, NEW.after_data);
    RETURN NULL;
END
$$;

-- The seq below which every event a reader can be shown is already visible or never will be:
-- the sequence's next value, read first (every seq below it has been drawn), and then the
-- lowest floor still held. A transaction that drew a seq below both and was still in flight
-- would hold a floor at most that seq, and so be read here. Two statements, in this order.
CREATE FUNCTION change_feed_floor() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    next bigint;
    held bigint;
BEGIN
    SELECT last_value + is_called::int INTO next FROM change_events_seq;
    SELECT min(((classid::bigint - 1073741824) << 32) | objid::bigint) INTO held
    FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 1 AND classid >= 1073741824
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database());
    RETURN least(next, held);
END
$$;
