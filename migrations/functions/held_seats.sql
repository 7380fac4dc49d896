-- Seats in the event's holds that are unexpired at p_at. PL/pgSQL rather
-- than SQL: an aggregate keeps a SQL function from being inlined, and a SQL
-- function that is not inlined is planned again at every call, while
-- PL/pgSQL keeps its plan for the session. These two run in every seat change.
CREATE OR REPLACE FUNCTION held_seats(p_event_id BIGINT, p_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(h.quantity), 0)::INTEGER FROM holds h
             WHERE h.event_id = p_event_id AND h.status = 'held' AND h.expires_at > p_at);
END;
$$;
