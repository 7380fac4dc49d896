-- Using an admission pass costs one HOT update of its ticket: no row lock
-- (take_seats_batch.sql says why none is needed), no foreign key, and room
-- on the ticket's page for the new row version. bench/RESULTS.md has what
-- each saved.
--
-- Room on the page: an update that finds none writes the new version
-- elsewhere and a new entry in each of the table's indexes. Half of each
-- page is left free for the two updates a ticket gets (its pass issued,
-- then used); this applies to the pages written from now on.
ALTER TABLE queue_tickets SET (fillfactor = 50);

-- A used pass names the booking or hold it made through one check per
-- statement (check_pass_references) instead of two foreign keys, whose
-- check ran a query and took a row lock on the booking for each pass; a
-- booking or hold a ticket names keeps its id and stays
-- (keep_pass_references). The functions' reference texts, in
-- migrations/functions/, replace these bodies at the same start, before
-- any request: refinery runs first, then the reference texts
-- (src/db/migrations.rs).
LOCK TABLE bookings, holds IN SHARE ROW EXCLUSIVE MODE;
ALTER TABLE queue_tickets DROP CONSTRAINT queue_tickets_booking_id_fkey,
                          DROP CONSTRAINT queue_tickets_hold_id_fkey;
CREATE FUNCTION check_pass_references() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE FUNCTION keep_pass_references() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$;

CREATE TRIGGER queue_tickets_references_on_insert AFTER INSERT ON queue_tickets
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_pass_references();
CREATE TRIGGER queue_tickets_references_on_update AFTER UPDATE ON queue_tickets
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION check_pass_references();
CREATE TRIGGER bookings_kept_for_passes BEFORE DELETE OR UPDATE OF id ON bookings
    FOR EACH ROW EXECUTE FUNCTION keep_pass_references();
CREATE TRIGGER holds_kept_for_passes BEFORE DELETE OR UPDATE OF id ON holds
    FOR EACH ROW EXECUTE FUNCTION keep_pass_references();
