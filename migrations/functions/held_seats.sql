-- Seats in the event's holds that are unexpired at p_at: the held seats'
-- count (events.held_open, count_open_held_seats) less the held holds
-- already past expires_at, which the sweeper has not marked yet (an index
-- range, usually empty). It runs in every seat change.
-- PL/pgSQL rather than SQL: a SQL function that is not inlined is planned
-- again at every call, while PL/pgSQL keeps its plan for the session. That
-- kept plan is why enable_seqscan is off here (and in the functions whose
-- comments point here): these statements look rows up by key, and a plan
-- made while a table was empty (just created, truncated, or analyzed so)
-- scans it whole, and keeps doing so as it grows: 8.3 ms a call with 50,000
-- holds, in every batch (pg_stat_statements).
CREATE OR REPLACE FUNCTION held_seats(p_event_id BIGINT, p_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN coalesce((SELECT e.held_open FROM events e WHERE e.id = p_event_id), 0)
         - (SELECT coalesce(sum(h.quantity), 0)::INTEGER FROM holds h
             WHERE h.event_id = p_event_id AND h.status = 'held' AND h.expires_at <= p_at);
END;
$$;
