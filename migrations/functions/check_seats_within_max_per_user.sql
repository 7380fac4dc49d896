-- The per-user limit, kept by the schema as well (a second line behind
-- take_seats and join_waitlist, which judge it under the event lock).
-- After every statement that writes bookings or holds, every buyer to whom
-- the statement gave a confirmed booking or a held hold must have, in that
-- event,
--     confirmed seats + seats in holds unexpired now <= max_per_user
-- (user_seats(); a 'held' hold past expires_at is free by the clock read
-- here, as everywhere: lazy reclaim needs no sweeper). Cancelled bookings,
-- and released, expired or confirmed holds, count nothing. A statement that
-- lowers an event's max_per_user must leave each of its buyers within it,
-- counting their waiting-list entries too, so that every offer still fits
-- when it is made. Otherwise the statement fails with check_violation and
-- constraint seats_within_max_per_user (DbError::OverMaxPerUser).
--
-- WHY IT HOLDS UNDER CONCURRENCY. The sums are read after the event row is
-- locked (FOR NO KEY UPDATE, until commit), and under READ COMMITTED each
-- statement of a trigger takes a new snapshot: two transactions adding
-- seats for one buyer take turns on the event row, and the second counts
-- the first's committed rows. take_seats and the other seat functions hold
-- the event row FOR UPDATE already, so there the lock costs nothing.
-- NO KEY UPDATE rather than UPDATE: a direct INSERT already holds the
-- foreign key's KEY SHARE lock on the event row, which NO KEY UPDATE does
-- not conflict with, so two such INSERTs wait for each other instead of
-- deadlocking. REPEATABLE READ is refused: its snapshot predates the lock
-- wait, so its sums would miss the rows of the transaction it waited for
-- (SERIALIZABLE detects that write skew itself).
--
-- LOCK ORDER. Through the seat functions the event row is locked first, as
-- everywhere. A direct statement on bookings or holds locks the event row
-- after the rows it wrote: new rows cannot be waited on, but rows it
-- updated can, so against a function working on the same rows PostgreSQL
-- may report a deadlock and fail one of the two. Never a wrong count.
--
-- Confirming a hold writes its booking and confirms the hold in one
-- statement (confirm_hold), so the check at that statement's end counts the
-- seats once. Statement-level triggers with transition tables: one call per
-- statement, however many rows (take_seats books a batch in one INSERT).
-- The sums are user_seats() written out as subqueries: calling it per buyer
-- ran two more statements each, and cost a batched seat ~14 us of
-- PostgreSQL CPU (bench/RESULTS.md).
CREATE OR REPLACE FUNCTION check_seats_within_max_per_user() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_at    TIMESTAMPTZ;
    v_event BIGINT;
    v_user  BIGINT;
BEGIN
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'bookings and holds cannot be written under REPEATABLE READ: '
                        'the per-user limit is checked under READ COMMITTED or SERIALIZABLE'
              USING ERRCODE = 'invalid_transaction_state';
    END IF;
    IF TG_TABLE_NAME = 'events' THEN
        -- A row trigger for a lowered max_per_user; the UPDATE holds the row.
        v_at := clock_timestamp();
        v_event := NEW.id;
        SELECT c.user_id INTO v_user FROM (
            SELECT b.user_id, b.quantity FROM bookings b
             WHERE b.event_id = NEW.id AND b.status = 'confirmed'
            UNION ALL
            SELECT h.user_id, h.quantity FROM holds h
             WHERE h.event_id = NEW.id AND h.status = 'held' AND h.expires_at > v_at
            UNION ALL
            SELECT w.user_id, w.quantity FROM waitlist_entries w
             WHERE w.event_id = NEW.id AND w.status = 'waiting'
        ) c GROUP BY c.user_id HAVING sum(c.quantity) > NEW.max_per_user LIMIT 1;
    ELSIF TG_TABLE_NAME = 'bookings' THEN
        -- Locks the events of the new confirmed bookings until commit.
        PERFORM 1 FROM events e
         WHERE e.id IN (SELECT c.event_id FROM changed c WHERE c.status = 'confirmed')
         ORDER BY e.id FOR NO KEY UPDATE;
        v_at := clock_timestamp();
        SELECT t.event_id, t.user_id INTO v_event, v_user
          FROM (SELECT c.event_id, c.user_id FROM changed c WHERE c.status = 'confirmed' GROUP BY 1, 2) t
          JOIN events e ON e.id = t.event_id
         WHERE (SELECT coalesce(sum(b.quantity), 0) FROM bookings b
                 WHERE b.event_id = t.event_id AND b.user_id = t.user_id AND b.status = 'confirmed')
             + (SELECT coalesce(sum(h.quantity), 0) FROM holds h
                 WHERE h.event_id = t.event_id AND h.user_id = t.user_id AND h.status = 'held'
                   AND h.expires_at > v_at) > e.max_per_user
         LIMIT 1;
    ELSE
        -- Locks the events of the new held holds until commit.
        PERFORM 1 FROM events e
         WHERE e.id IN (SELECT c.event_id FROM changed c WHERE c.status = 'held')
         ORDER BY e.id FOR NO KEY UPDATE;
        v_at := clock_timestamp();
        SELECT t.event_id, t.user_id INTO v_event, v_user
          FROM (SELECT c.event_id, c.user_id FROM changed c WHERE c.status = 'held' GROUP BY 1, 2) t
          JOIN events e ON e.id = t.event_id
         WHERE (SELECT coalesce(sum(b.quantity), 0) FROM bookings b
                 WHERE b.event_id = t.event_id AND b.user_id = t.user_id AND b.status = 'confirmed')
             + (SELECT coalesce(sum(h.quantity), 0) FROM holds h
                 WHERE h.event_id = t.event_id AND h.user_id = t.user_id AND h.status = 'held'
                   AND h.expires_at > v_at) > e.max_per_user
         LIMIT 1;
    END IF;
    IF v_user IS NOT NULL THEN
        RAISE EXCEPTION 'user % would have more seats of event % than its max_per_user', v_user, v_event
              USING ERRCODE = 'check_violation', CONSTRAINT = 'seats_within_max_per_user';
    END IF;
    RETURN NULL;
END;
$$;

-- The triggers that run it. Created here, not in a versioned migration: on a
-- fresh database those run before this file, when the function does not
-- exist yet. Created only when missing, so a start does not lock the three
-- tables (CREATE TRIGGER takes SHARE ROW EXCLUSIVE until commit, which would
-- stall a running sale); to change one, drop it in a versioned migration.
DO $$
DECLARE
    v_trigger TEXT[];
BEGIN
    FOREACH v_trigger SLICE 1 IN ARRAY ARRAY[
        ['bookings_within_max_per_user_on_insert',
         'AFTER INSERT ON bookings REFERENCING NEW TABLE AS changed FOR EACH STATEMENT'],
        ['bookings_within_max_per_user_on_update',
         'AFTER UPDATE ON bookings REFERENCING NEW TABLE AS changed FOR EACH STATEMENT'],
        ['holds_within_max_per_user_on_insert',
         'AFTER INSERT ON holds REFERENCING NEW TABLE AS changed FOR EACH STATEMENT'],
        ['holds_within_max_per_user_on_update',
         'AFTER UPDATE ON holds REFERENCING NEW TABLE AS changed FOR EACH STATEMENT'],
        ['events_max_per_user_within_seats',
         'AFTER UPDATE OF max_per_user ON events FOR EACH ROW'
         ' WHEN (NEW.max_per_user < OLD.max_per_user)']
    ] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgname = v_trigger[1]) THEN
            EXECUTE format('CREATE TRIGGER %I %s EXECUTE FUNCTION check_seats_within_max_per_user()',
                           v_trigger[1], v_trigger[2]);
        END IF;
    END LOOP;
END;
$$;
