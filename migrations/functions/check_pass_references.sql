-- Every used pass names a booking and a hold that exist (queue_tickets'
-- booking_id and hold_id, when set), checked once per statement
-- (statement-level triggers on queue_tickets, created by
-- V13__admission_passes_per_statement.sql) instead of by foreign keys,
-- which ran a query and locked the booking's row for every pass used.
--
-- That row lock kept a concurrent DELETE from removing the booking before
-- the ticket naming it committed. Here nothing can: a ticket names only the
-- booking or hold its own transaction made (take_seats_batch), which no
-- other transaction sees before that commit, and keep_pass_references
-- refuses to remove one a committed ticket names.
--
-- Refused as the foreign key refused: foreign_key_violation, under the
-- constraint name the foreign key had (queue_tickets_booking_id_fkey, ...).
CREATE OR REPLACE FUNCTION check_pass_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_column TEXT;
BEGIN
    -- One primary-key lookup a ticket (LATERAL ... LIMIT 1), whatever plan
    -- the session cached: written as NOT EXISTS, this check took the bench's
    -- admitted step from 21-28 to 46-51 us of PostgreSQL CPU a pass
    -- (bench/RESULTS.md).
    SELECT CASE WHEN c.booking_id IS NOT NULL AND b.id IS NULL THEN 'booking_id' ELSE 'hold_id' END
      INTO v_column
      FROM changed c
      LEFT JOIN LATERAL (SELECT b.id FROM bookings b WHERE b.id = c.booking_id LIMIT 1) b ON TRUE
      LEFT JOIN LATERAL (SELECT h.id FROM holds h WHERE h.id = c.hold_id LIMIT 1) h ON TRUE
     WHERE (c.booking_id IS NOT NULL AND b.id IS NULL) OR (c.hold_id IS NOT NULL AND h.id IS NULL)
     LIMIT 1;
    IF v_column IS NOT NULL THEN
        RAISE EXCEPTION 'insert or update on table "queue_tickets" names a % that does not exist', v_column
              USING ERRCODE = 'foreign_key_violation',
                    CONSTRAINT = format('queue_tickets_%s_fkey', v_column),
                    TABLE = 'queue_tickets';
    END IF;
    RETURN NULL;
END;
$$;
