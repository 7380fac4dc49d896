-- Every booking and hold names an event and a user that exist, checked once
-- per statement (statement-level triggers on bookings and holds, created by
-- V11__seat_references_per_statement.sql) instead of by foreign keys, which
-- ran a query of their own and locked the event and user rows for every
-- row: 2.5 ms of an 8.7 ms batch of 128 bookings (bench/RESULTS.md).
--
-- A foreign key's row lock keeps a concurrent DELETE from removing the
-- event or user before the row that names it commits. Here nothing can:
-- events and users are never deleted nor renumbered (forbid_removal), so
-- what this check finds is still there at commit.
--
-- Refused as the foreign key refused: foreign_key_violation, under the
-- constraint name the foreign key had (bookings_user_id_fkey, ...).
CREATE OR REPLACE FUNCTION check_seat_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_column TEXT;
BEGIN
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM events e WHERE e.id = c.event_id)
                THEN 'event_id' ELSE 'user_id' END
      INTO v_column
      FROM changed c
     WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = c.event_id)
        OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
     LIMIT 1;
    IF v_column IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "%" names a % that does not exist',
                        TG_TABLE_NAME, v_column
              USING ERRCODE = 'foreign_key_violation',
                    CONSTRAINT = format('%s_%s_fkey', TG_TABLE_NAME, v_column),
                    TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END;
$$;
