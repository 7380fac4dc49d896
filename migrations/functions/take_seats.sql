-- take_seats_ungated behind the waiting room's gate, which the database
-- keeps: while the event's room is active, every request without a pass is
-- answered admission_required (a pass goes through take_seats_batch,
-- which checks it and calls take_seats_ungated). Each replica also keeps the
-- set of active rooms in memory and answers from it without a round trip,
-- but reloads it only every second and keeps the old set when a reload
-- fails; this check is the one that holds (fail closed). It reads the room
-- before the event lock: a request whose check ran before a room's
-- activation committed is ordered before it.
CREATE OR REPLACE FUNCTION take_seats(p_event_id BIGINT, p_user_ids BIGINT[], p_quantities INTEGER[], p_kind TEXT)
RETURNS TABLE (ordinal INTEGER, outcome TEXT, detail INTEGER, id BIGINT,
               created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM waiting_rooms w WHERE w.event_id = p_event_id AND w.active) THEN
        RETURN QUERY SELECT r.ord::INTEGER, 'admission_required'::TEXT, NULL::INTEGER, NULL::BIGINT,
                            NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ
                       FROM unnest(p_user_ids) WITH ORDINALITY AS r(user_id, ord);
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM take_seats_ungated(p_event_id, p_user_ids, p_quantities, p_kind);
END;
$$;
