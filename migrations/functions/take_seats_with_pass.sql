-- take_seats_ungated for one request that carries an admission pass (p_ticket's,
-- signature already checked by the service): refuses with pass_invalid,
-- pass_used or pass_expired, or takes the seats and marks the pass used in
-- the same transaction, whatever it answered (a sold_out answer
-- uses it too). An error rolls back both: a pass is never burned by a
-- request that committed nothing. Locks the event row, then the ticket row,
-- until the caller's transaction ends.
CREATE OR REPLACE FUNCTION take_seats_with_pass(p_event_id BIGINT, p_user_id BIGINT, p_quantity INTEGER,
                                                p_kind TEXT, p_ticket TEXT)
RETURNS TABLE (ordinal INTEGER, outcome TEXT, detail INTEGER, id BIGINT,
               created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_ticket  queue_tickets;
    v_refusal TEXT;
    v_taken   RECORD;
BEGIN
    -- The lock order of every seat change: the event row first (until the
    -- caller's transaction ends; take_seats_ungated locks it again at no cost), then
    -- the ticket row. A second use of the pass waits here, then sees it used.
    PERFORM 1 FROM events e WHERE e.id = p_event_id FOR UPDATE;
    SELECT * INTO v_ticket FROM queue_tickets q WHERE q.ticket = p_ticket FOR UPDATE;
    IF NOT FOUND OR v_ticket.event_id <> p_event_id OR v_ticket.user_id <> p_user_id
       OR v_ticket.pass_expires_at IS NULL THEN
        v_refusal := 'pass_invalid';
    ELSIF v_ticket.pass_used_at IS NOT NULL THEN
        v_refusal := 'pass_used';
    ELSIF v_ticket.pass_expires_at <= clock_timestamp() THEN
        v_refusal := 'pass_expired';
    END IF;
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT 1, v_refusal, NULL::INTEGER, NULL::BIGINT,
                            NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    SELECT * INTO STRICT v_taken
      FROM take_seats_ungated(p_event_id, ARRAY[p_user_id], ARRAY[p_quantity], p_kind);
    UPDATE queue_tickets q
       SET pass_used_at = clock_timestamp(), pass_used_for = p_kind, pass_outcome = v_taken.outcome,
           booking_id = CASE WHEN v_taken.outcome = 'booked' THEN v_taken.id END,
           hold_id = CASE WHEN v_taken.outcome = 'held' THEN v_taken.id END
     WHERE q.ticket = p_ticket;
    RETURN QUERY SELECT v_taken.ordinal, v_taken.outcome, v_taken.detail, v_taken.id,
                        v_taken.created_at, v_taken.expires_at;
END;
$$;
