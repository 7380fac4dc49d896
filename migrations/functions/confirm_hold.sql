-- Confirms a hold: its seats become a booking. No capacity check can fail:
-- the seats were reserved. Outcomes: confirmed (id = the new booking),
-- hold_not_found (also another user's hold: nothing changes), hold_expired,
-- hold_released, hold_confirmed (a repeat; id = the booking it became).
CREATE OR REPLACE FUNCTION confirm_hold(p_hold_id BIGINT, p_user_id BIGINT)
RETURNS TABLE (outcome TEXT, booking_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_hold     RECORD;
    v_booking  BIGINT;
BEGIN
    SELECT h.event_id INTO v_event_id FROM holds h WHERE h.id = p_hold_id AND h.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'hold_not_found'::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    -- The event row first, then the hold's (the lock order).
    SELECT * INTO v_event FROM lock_event(v_event_id);
    SELECT h.* INTO v_hold FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
    IF v_hold.status = 'confirmed' THEN
        RETURN QUERY SELECT 'hold_confirmed'::TEXT, v_hold.booking_id;
    ELSIF v_hold.status = 'released' THEN
        RETURN QUERY SELECT 'hold_released'::TEXT, NULL::BIGINT;
    ELSIF v_hold.status = 'expired' OR v_hold.expires_at <= v_event.locked_at THEN
        RETURN QUERY SELECT 'hold_expired'::TEXT, NULL::BIGINT;
    ELSE
        -- One statement: the per-user check at its end
        -- (check_seats_within_max_per_user) sees the seats as booked and the
        -- hold as confirmed, never both as taken.
        WITH booked AS (
            INSERT INTO bookings (event_id, user_id, quantity, created_at)
            VALUES (v_event_id, v_hold.user_id, v_hold.quantity, v_event.locked_at)
            RETURNING bookings.id
        )
        UPDATE holds h SET status = 'confirmed', booking_id = booked.id, ended_at = v_event.locked_at
          FROM booked
         WHERE h.id = p_hold_id
        RETURNING booked.id INTO v_booking;
        UPDATE events SET booked = booked + v_hold.quantity WHERE id = v_event_id;
        RETURN QUERY SELECT 'confirmed'::TEXT, v_booking;
    END IF;
END;
$$;
