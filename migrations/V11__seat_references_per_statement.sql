-- Bookings and holds name their event and user without foreign keys: one
-- check per statement (check_seat_references) replaces the foreign keys'
-- query and row locks per row, and events and users are never deleted nor
-- renumbered (forbid_removal), which is what the row locks protected
-- against. Why, and what it saved: the functions' reference texts in
-- migrations/functions/.
--
-- Events and users are locked first, then bookings and holds: the order in
-- which every seat function takes them.
LOCK TABLE events, users IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE bookings DROP CONSTRAINT bookings_event_id_fkey, DROP CONSTRAINT bookings_user_id_fkey;
ALTER TABLE holds DROP CONSTRAINT holds_event_id_fkey, DROP CONSTRAINT holds_user_id_fkey;

CREATE FUNCTION check_seat_references() RETURNS trigger
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

CREATE FUNCTION forbid_removal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are never deleted nor renumbered: bookings and holds name them', TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER bookings_references_on_insert AFTER INSERT ON bookings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_seat_references();
CREATE TRIGGER bookings_references_on_update AFTER UPDATE ON bookings
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_seat_references();
CREATE TRIGGER holds_references_on_insert AFTER INSERT ON holds
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_seat_references();
CREATE TRIGGER holds_references_on_update AFTER UPDATE ON holds
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_seat_references();
CREATE TRIGGER events_never_removed BEFORE DELETE OR UPDATE OF id ON events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_removal();
CREATE TRIGGER users_never_removed BEFORE DELETE OR UPDATE OF id ON users
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_removal();
