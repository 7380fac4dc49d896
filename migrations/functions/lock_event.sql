-- Locks the event row until the caller's transaction ends and returns its
-- seat state at the instant the lock was granted. No row: no such event.
CREATE OR REPLACE FUNCTION lock_event(p_event_id BIGINT)
RETURNS TABLE (capacity INTEGER, booked INTEGER, held INTEGER, max_per_user INTEGER,
               hold_seconds INTEGER, offer_seconds INTEGER, waiting BOOLEAN, locked_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_at TIMESTAMPTZ;
BEGIN
    -- Locks the event row until the calling transaction commits.
    PERFORM 1 FROM events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_at := clock_timestamp();
    RETURN QUERY
        SELECT e.capacity, e.booked, held_seats(e.id, v_at), e.max_per_user,
               e.hold_seconds, e.offer_seconds,
               EXISTS (SELECT 1 FROM waitlist_entries w
                        WHERE w.event_id = e.id AND w.status = 'waiting'),
               v_at
          FROM events e WHERE e.id = p_event_id;
END;
$$;
