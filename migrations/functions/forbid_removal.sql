-- Events and users are never deleted, nor their ids changed: bookings and
-- holds name them without foreign keys (check_seat_references), and no
-- part of flashbook removes either. Statement-level BEFORE triggers on both
-- tables (V11__seat_references_per_statement.sql).
CREATE OR REPLACE FUNCTION forbid_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are never deleted nor renumbered: bookings and holds name them', TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
END;
$$;
