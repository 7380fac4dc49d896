-- A booking or hold that a used pass names (queue_tickets' booking_id or
-- hold_id) is neither deleted nor given another id: what the foreign keys
-- that check_pass_references replaced refused on this side. Row-level
-- BEFORE DELETE OR UPDATE OF id triggers on bookings and holds
-- (V13__admission_passes_per_statement.sql): neither happens in a sale, so
-- the lookup (queue_tickets has no index on either column, as under the
-- foreign keys) is paid only by the rare removal.
CREATE OR REPLACE FUNCTION keep_pass_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_column TEXT := CASE TG_TABLE_NAME WHEN 'bookings' THEN 'booking_id' ELSE 'hold_id' END;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF (TG_TABLE_NAME = 'bookings' AND EXISTS (SELECT 1 FROM queue_tickets q WHERE q.booking_id = OLD.id))
       OR (TG_TABLE_NAME = 'holds' AND EXISTS (SELECT 1 FROM queue_tickets q WHERE q.hold_id = OLD.id)) THEN
        RAISE EXCEPTION 'update or delete on table "%" removes a row that queue_tickets.% names', TG_TABLE_NAME, v_column
              USING ERRCODE = 'foreign_key_violation',
                    CONSTRAINT = format('queue_tickets_%s_fkey', v_column),
                    TABLE = TG_TABLE_NAME;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END;
$$;
