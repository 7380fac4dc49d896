-- Puts a user on the event's waiting list. Outcomes: joined or offered (the
-- entry got seats at once: free seats the earlier entries did not fit),
-- event_not_found, user_not_found, admission_required (the event's waiting
-- room is active and has not admitted the user), limit_exceeded / already_booked,
-- already_waiting (detail: nothing; id = the entry), seats_available (the
-- user could book instead; detail = seats free).
CREATE OR REPLACE FUNCTION join_waitlist(p_event_id BIGINT, p_user_id BIGINT, p_quantity INTEGER)
RETURNS TABLE (outcome TEXT, detail INTEGER, entry_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event   RECORD;
    v_free    INTEGER;
    v_refusal TEXT;
    v_entry   BIGINT;
BEGIN
    SELECT * INTO v_event FROM lock_event(p_event_id);
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'event_not_found'::TEXT, NULL::INTEGER, NULL::BIGINT;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id) THEN
        RETURN QUERY SELECT 'user_not_found'::TEXT, NULL::INTEGER, NULL::BIGINT;
        RETURN;
    END IF;
    -- The waiting room's gate (take_seats.sql): while the room is active,
    -- only a user it has admitted (issued a pass) may wait for returned seats.
    IF EXISTS (SELECT 1 FROM waiting_rooms w WHERE w.event_id = p_event_id AND w.active)
       AND NOT EXISTS (SELECT 1 FROM queue_tickets q
                        WHERE q.event_id = p_event_id AND q.user_id = p_user_id
                          AND q.pass_expires_at IS NOT NULL) THEN
        RETURN QUERY SELECT 'admission_required'::TEXT, NULL::INTEGER, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT w.id INTO v_entry FROM waitlist_entries w
      LEFT JOIN holds h ON h.id = w.hold_id
     WHERE w.event_id = p_event_id AND w.user_id = p_user_id
       AND (w.status = 'waiting'
            OR (w.status = 'offered' AND h.status = 'held' AND h.expires_at > v_event.locked_at));
    IF FOUND THEN
        RETURN QUERY SELECT 'already_waiting'::TEXT, NULL::INTEGER, v_entry;
        RETURN;
    END IF;
    v_refusal := limit_refusal(v_event.max_per_user,
                               user_seats(p_event_id, p_user_id, v_event.locked_at), p_quantity);
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT v_refusal, CASE WHEN v_refusal = 'limit_exceeded'
                                            THEN v_event.max_per_user END, NULL::BIGINT;
        RETURN;
    END IF;
    v_free := v_event.capacity - v_event.booked - v_event.held;
    IF NOT v_event.waiting AND v_free >= p_quantity THEN
        RETURN QUERY SELECT 'seats_available'::TEXT, v_free, NULL::BIGINT;
        RETURN;
    END IF;
    INSERT INTO waitlist_entries (event_id, user_id, quantity, created_at)
    VALUES (p_event_id, p_user_id, p_quantity, v_event.locked_at)
    RETURNING id INTO v_entry;
    -- Free seats no earlier entry fits may fit this one.
    PERFORM make_offers(p_event_id);
    RETURN QUERY SELECT 'joined'::TEXT, NULL::INTEGER, v_entry;
END;
$$;
