-- book_seats: books a batch of requests for one event under one lock
-- acquisition and one commit. The same guarantees as book_seat, per request:
--   * requests are judged in arrival order (their position in p_user_ids);
--   * an unknown user gets user_not_found, a user who already holds a seat
--     (or appears earlier in the batch) gets already_booked;
--   * of the rest, the first (capacity - booked) are booked, the others get
--     sold_out;
--   * everything commits together or nothing does: a failed batch books no one.
-- Correctness under READ COMMITTED rests on the same argument as book_seat
-- (V2): the FOR UPDATE returns the newest committed counter, and the
-- classifying statement runs after the lock with a fresh snapshot.

CREATE FUNCTION book_seats(p_event_id BIGINT, p_user_ids BIGINT[])
RETURNS TABLE (ordinal INTEGER, outcome TEXT, booking_id BIGINT, booked_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_capacity INTEGER;
    v_booked   INTEGER;
    v_free     INTEGER;
BEGIN
    -- Unlocked look: an event that is sold out right now answers the whole
    -- batch without queueing on the lock (see book_seat for why that is true).
    SELECT e.capacity, e.booked INTO v_capacity, v_booked
      FROM events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT r.ord::INTEGER, 'event_not_found'::TEXT, NULL::BIGINT, NULL::TIMESTAMPTZ
                       FROM unnest(p_user_ids) WITH ORDINALITY AS r(user_id, ord);
        RETURN;
    END IF;

    IF v_booked < v_capacity THEN
        -- Locks the event row until the calling transaction commits.
        SELECT e.capacity, e.booked INTO v_capacity, v_booked
          FROM events e WHERE e.id = p_event_id FOR UPDATE;
    END IF;
    v_free := greatest(v_capacity - v_booked, 0);

    RETURN QUERY
    WITH requests AS (
        SELECT r.user_id, r.ord::INTEGER AS ord
          FROM unnest(p_user_ids) WITH ORDINALITY AS r(user_id, ord)
    ),
    judged AS (
        SELECT q.ord, q.user_id,
               CASE
                   WHEN u.id IS NULL THEN 'user_not_found'
                   WHEN b.id IS NOT NULL THEN 'already_booked'
                   WHEN q.ord > min(q.ord) OVER (PARTITION BY q.user_id) THEN 'already_booked'
               END AS refusal
          FROM requests q
          LEFT JOIN users u ON u.id = q.user_id
          LEFT JOIN bookings b ON b.event_id = p_event_id AND b.user_id = q.user_id
                              AND b.status = 'confirmed'
    ),
    placed AS (
        SELECT j.*,
               CASE WHEN j.refusal IS NULL
                    THEN row_number() OVER (PARTITION BY j.refusal IS NULL ORDER BY j.ord)
               END AS place
          FROM judged j
    ),
    inserted AS (
        INSERT INTO bookings (event_id, user_id)
        SELECT p_event_id, p.user_id FROM placed p
         WHERE p.refusal IS NULL AND p.place <= v_free
         ORDER BY p.ord
        RETURNING bookings.id, bookings.user_id, bookings.created_at
    ),
    counted AS (
        UPDATE events SET booked = booked + (SELECT count(*) FROM inserted)
         WHERE id = p_event_id AND EXISTS (SELECT 1 FROM inserted)
    )
    SELECT p.ord,
           COALESCE(p.refusal, CASE WHEN p.place <= v_free THEN 'booked' ELSE 'sold_out' END),
           i.id,
           i.created_at
      FROM placed p
      LEFT JOIN inserted i ON i.user_id = p.user_id AND p.refusal IS NULL AND p.place <= v_free
     ORDER BY p.ord;
END;
$$;
