-- A user's confirmed seats plus unexpired held seats in an event at p_at.
CREATE OR REPLACE FUNCTION user_seats(p_event_id BIGINT, p_user_id BIGINT, p_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(b.quantity), 0) FROM bookings b
             WHERE b.event_id = p_event_id AND b.user_id = p_user_id AND b.status = 'confirmed')::INTEGER
         + (SELECT coalesce(sum(h.quantity), 0) FROM holds h
             WHERE h.event_id = p_event_id AND h.user_id = p_user_id AND h.status = 'held'
               AND h.expires_at > p_at)::INTEGER;
END;
$$;
