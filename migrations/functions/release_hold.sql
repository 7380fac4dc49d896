-- Releases a hold: its seats go back on sale (to the waiting list first, in
-- this transaction). Releasing a released or expired hold changes nothing.
-- Outcomes: released, expired (it had expired already), hold_confirmed,
-- hold_not_found (also another user's hold: nothing changes).
CREATE OR REPLACE FUNCTION release_hold(p_hold_id BIGINT, p_user_id BIGINT)
RETURNS TABLE (outcome TEXT, booking_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_hold     RECORD;
BEGIN
    SELECT h.event_id INTO v_event_id FROM holds h WHERE h.id = p_hold_id AND h.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'hold_not_found'::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT * INTO v_event FROM lock_event(v_event_id);
    SELECT h.* INTO v_hold FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
    IF v_hold.status = 'confirmed' THEN
        RETURN QUERY SELECT 'hold_confirmed'::TEXT, v_hold.booking_id;
    ELSIF v_hold.status = 'released' THEN
        RETURN QUERY SELECT 'released'::TEXT, NULL::BIGINT;
    ELSIF v_hold.status = 'expired' OR v_hold.expires_at <= v_event.locked_at THEN
        RETURN QUERY SELECT 'expired'::TEXT, NULL::BIGINT;
    ELSE
        UPDATE holds SET status = 'released', ended_at = v_event.locked_at WHERE id = p_hold_id;
        PERFORM make_offers(v_event_id);
        RETURN QUERY SELECT 'released'::TEXT, NULL::BIGINT;
    END IF;
END;
$$;
