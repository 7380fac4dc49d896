-- The booking and cancellation transactions, each one server-side function so
-- the event row's lock is held for a single client round trip (the call plus
-- its implicit commit) instead of four.
--
-- Why book_seat cannot oversell under READ COMMITTED:
--   * Every seat change (book_seat, cancel_booking) first takes
--     SELECT ... FOR UPDATE on the event row, so changes to one event run one
--     at a time, in lock order.
--   * FOR UPDATE waits for the previous holder to commit and then returns the
--     newest committed version of the row, so v_booked is the count after
--     every earlier booking, not the count of an older snapshot.
--   * The function is VOLATILE, so each statement after the lock takes a new
--     snapshot: the "already booked?" check sees every booking committed by
--     earlier lock holders. A count taken before the lock (the classic trap)
--     is only ever used to answer early, never to admit a buyer.
--   * The CHECK (booked BETWEEN 0 AND capacity) and the partial unique index
--     on (event_id, user_id) are a second line: a bug that got past the lock
--     would fail its transaction instead of overselling.

CREATE FUNCTION book_seat(p_event_id BIGINT, p_user_id BIGINT)
RETURNS TABLE (outcome TEXT, booking_id BIGINT, booked_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_capacity INTEGER;
    v_booked   INTEGER;
BEGIN
    -- Unlocked early answers. Each reads committed data, so the answer was
    -- true at the moment of the read: a request answered sold_out here is
    -- ordered just after the booking that filled the event.
    SELECT e.capacity, e.booked INTO v_capacity, v_booked
      FROM events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'event_not_found'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id) THEN
        RETURN QUERY SELECT 'user_not_found'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM bookings b
                WHERE b.event_id = p_event_id AND b.user_id = p_user_id
                  AND b.status = 'confirmed') THEN
        RETURN QUERY SELECT 'already_booked'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF v_booked >= v_capacity THEN
        RETURN QUERY SELECT 'sold_out'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;

    -- Locks the event row until the calling transaction commits or rolls back.
    SELECT e.capacity, e.booked INTO v_capacity, v_booked
      FROM events e WHERE e.id = p_event_id FOR UPDATE;

    -- New snapshot: sees bookings committed by every earlier lock holder.
    IF EXISTS (SELECT 1 FROM bookings b
                WHERE b.event_id = p_event_id AND b.user_id = p_user_id
                  AND b.status = 'confirmed') THEN
        RETURN QUERY SELECT 'already_booked'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF v_booked >= v_capacity THEN
        RETURN QUERY SELECT 'sold_out'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;

    RETURN QUERY
        INSERT INTO bookings (event_id, user_id)
        VALUES (p_event_id, p_user_id)
        RETURNING 'booked'::TEXT, bookings.id, bookings.created_at;
    UPDATE events SET booked = booked + 1 WHERE id = p_event_id;
END;
$$;

-- Cancels a confirmed booking and puts its seat back on sale. Cancelling a
-- cancelled booking changes nothing and returns it as it is. Returns no row
-- when the booking does not exist.
CREATE FUNCTION cancel_booking(p_booking_id BIGINT)
RETURNS SETOF bookings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
BEGIN
    SELECT b.event_id INTO v_event_id FROM bookings b WHERE b.id = p_booking_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    -- Locks the event row until commit. Taken before the booking row, the
    -- same order as book_seat, so a cancel and a re-booking cannot deadlock.
    PERFORM 1 FROM events e WHERE e.id = v_event_id FOR UPDATE;

    UPDATE bookings SET status = 'cancelled', cancelled_at = now()
     WHERE id = p_booking_id AND status = 'confirmed';
    IF FOUND THEN
        UPDATE events SET booked = booked - 1 WHERE id = v_event_id;
    END IF;

    RETURN QUERY SELECT * FROM bookings b WHERE b.id = p_booking_id;
END;
$$;
