-- Keeps events.held_open: the seats of the event's holds whose status is
-- 'held', past their expires_at or not (the sweeper marks those 'expired'
-- later). held_seats() subtracts the few of them past expires_at, so the
-- seats held in an event cost a look at its expired but unswept holds, not
-- a sum over all its holds: that sum took 11 ms with 60,000 holds, in every
-- batch of a checkout sale (bench/RESULTS.md).
--
-- Statement-level triggers on holds run it (created by
-- V10__open_held_seats.sql, with the backfill, in one transaction): every
-- statement that writes holds, a seat function's or a direct one, adds its
-- difference per event in one UPDATE, however many rows it wrote. Exact
-- under concurrency: the UPDATE waits for the event row, which every seat
-- function holds already, and under READ COMMITTED it adds to the value
-- the transaction it waited for committed. TRUNCATE empties the holds, so
-- every event's count is zero.
CREATE OR REPLACE FUNCTION count_open_held_seats() RETURNS trigger
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
