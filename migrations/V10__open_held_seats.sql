-- events.held_open: the seats of each event's holds whose status is 'held',
-- kept by statement-level triggers on holds (the function's reference text,
-- and why the count stays exact: migrations/functions/count_open_held_seats.sql).
-- held_seats() reads it instead of summing every hold of the event.
--
-- One transaction, events locked first and then holds, the order of every
-- seat function: no hold is written between the backfill and the triggers.
ALTER TABLE events ADD COLUMN held_open INTEGER NOT NULL DEFAULT 0
    CONSTRAINT events_held_open_not_negative CHECK (held_open >= 0);
COMMENT ON COLUMN events.held_open IS
    'Seats in the event''s holds with status ''held'', expired by the clock or not (count_open_held_seats)';

CREATE FUNCTION count_open_held_seats() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE events SET held_open = 0 WHERE held_open <> 0;
    ELSIF TG_OP = 'INSERT' THEN
        UPDATE events e SET held_open = e.held_open + d.seats
          FROM (SELECT a.event_id, sum(a.quantity)::INTEGER AS seats FROM added a
                 WHERE a.status = 'held' GROUP BY a.event_id) d
         WHERE e.id = d.event_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE events e SET held_open = e.held_open - d.seats
          FROM (SELECT r.event_id, sum(r.quantity)::INTEGER AS seats FROM removed r
                 WHERE r.status = 'held' GROUP BY r.event_id) d
         WHERE e.id = d.event_id;
    ELSE
        UPDATE events e SET held_open = e.held_open + d.seats
          FROM (SELECT c.event_id, sum(c.seats)::INTEGER AS seats
                  FROM (SELECT a.event_id, a.quantity AS seats FROM added a WHERE a.status = 'held'
                        UNION ALL
                        SELECT r.event_id, -r.quantity FROM removed r WHERE r.status = 'held') c
                 GROUP BY c.event_id HAVING sum(c.seats) <> 0) d
         WHERE e.id = d.event_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER holds_open_seats_on_insert AFTER INSERT ON holds
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION count_open_held_seats();
CREATE TRIGGER holds_open_seats_on_update AFTER UPDATE ON holds
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION count_open_held_seats();
CREATE TRIGGER holds_open_seats_on_delete AFTER DELETE ON holds
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION count_open_held_seats();
CREATE TRIGGER holds_open_seats_on_truncate AFTER TRUNCATE ON holds
    FOR EACH STATEMENT EXECUTE FUNCTION count_open_held_seats();

UPDATE events e SET held_open = h.seats
  FROM (SELECT event_id, sum(quantity)::INTEGER AS seats FROM holds
         WHERE status = 'held' GROUP BY event_id) h
 WHERE e.id = h.event_id;
