-- Cancels a confirmed booking of user p_user_id: its seats go back on sale
-- (to the waiting list first, in this transaction). Cancelling a cancelled
-- booking changes nothing. Another user's booking is not found: no row, and
-- nothing changes.
CREATE OR REPLACE FUNCTION cancel_booking(p_booking_id BIGINT, p_user_id BIGINT)
RETURNS SETOF bookings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_quantity INTEGER;
BEGIN
    SELECT b.event_id INTO v_event_id FROM bookings b WHERE b.id = p_booking_id AND b.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM lock_event(v_event_id);
    UPDATE bookings SET status = 'cancelled', cancelled_at = now()
     WHERE id = p_booking_id AND status = 'confirmed'
    RETURNING quantity INTO v_quantity;
    IF FOUND THEN
        UPDATE events SET booked = booked - v_quantity WHERE id = v_event_id;
        PERFORM make_offers(v_event_id);
    END IF;
    RETURN QUERY SELECT * FROM bookings b WHERE b.id = p_booking_id;
END;
$$;
