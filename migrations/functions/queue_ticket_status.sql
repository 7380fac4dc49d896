-- Where a ticket stands now, by the database's clock: waiting (with its
-- position and the seconds until it is admitted: those until the opening,
-- then ceil(position / rate)), admitted (the pass's expiry; issued here at
-- the first read once admitted, and the same on every read after), used,
-- expired, or waiting_room_off. No row: no such ticket of user p_user_id
-- (another user's ticket is not found, and its pass is not issued).
-- p_issue_pass false (a HEAD request): an admitted ticket whose pass is not
-- issued yet is answered admitted without one, and stays so, so nobody but
-- the buyer's own GET starts the pass's clock.
CREATE OR REPLACE FUNCTION queue_ticket_status(p_ticket TEXT, p_user_id BIGINT, p_issue_pass BOOLEAN)
RETURNS TABLE (out_event_id BIGINT, out_user_id BIGINT, out_status TEXT, out_position BIGINT,
               out_wait_seconds BIGINT, out_pass_expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ticket   queue_tickets;
    v_room     waiting_rooms;
    v_at       TIMESTAMPTZ;
    v_admitted BIGINT;
    v_rank     BIGINT;
    v_expires  TIMESTAMPTZ;
BEGIN
    SELECT * INTO v_ticket FROM queue_tickets q WHERE q.ticket = p_ticket AND q.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO v_room FROM waiting_rooms w WHERE w.event_id = v_ticket.event_id;
    v_at := clock_timestamp();
    IF v_ticket.pass_used_at IS NOT NULL THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'used'::TEXT, NULL::BIGINT,
                            NULL::BIGINT, v_ticket.pass_expires_at;
        RETURN;
    END IF;
    IF NOT v_room.active THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting_room_off'::TEXT,
                            NULL::BIGINT, NULL::BIGINT, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF v_ticket.pass_expires_at IS NOT NULL THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id,
                            CASE WHEN v_ticket.pass_expires_at <= v_at THEN 'expired'
                                 ELSE 'admitted' END,
                            NULL::BIGINT, NULL::BIGINT, v_ticket.pass_expires_at;
        RETURN;
    END IF;
    IF v_ticket.place IS NULL AND v_at >= v_room.opens_at THEN
        PERFORM rank_early(v_ticket.event_id);
        SELECT q.place INTO v_ticket.place FROM queue_tickets q WHERE q.ticket = p_ticket AND q.user_id = p_user_id;
    END IF;
    IF v_ticket.place IS NULL THEN
        -- Before the opening: the provisional rank among the early ones,
        -- admitted rank / rate seconds after the opening.
        SELECT count(*) INTO v_rank FROM queue_tickets q
         WHERE q.event_id = v_ticket.event_id AND q.early
           AND (q.draw, q.ticket) <= (v_ticket.draw, v_ticket.ticket);
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting'::TEXT, v_rank,
                            ceil(extract(epoch FROM (v_room.opens_at - v_at))
                                 + v_rank::NUMERIC / v_room.admission_per_second)::BIGINT,
                            NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    v_admitted := admitted_places(v_room.opens_at, v_room.admission_per_second, v_at);
    IF v_ticket.place > v_admitted THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting'::TEXT,
                            v_ticket.place - v_admitted,
                            ceil((v_ticket.place - v_admitted)::NUMERIC / v_room.admission_per_second)::BIGINT,
                            NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    -- Admitted: issue the pass once; a concurrent read may have done so.
    IF p_issue_pass THEN
        UPDATE queue_tickets q SET pass_expires_at = v_at + make_interval(secs => v_room.pass_seconds)
         WHERE q.ticket = p_ticket AND q.pass_expires_at IS NULL
        RETURNING q.pass_expires_at INTO v_expires;
    END IF;
    IF v_expires IS NULL THEN
        SELECT q.pass_expires_at INTO v_expires FROM queue_tickets q WHERE q.ticket = p_ticket AND q.user_id = p_user_id;
    END IF;
    RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'admitted'::TEXT, NULL::BIGINT,
                        NULL::BIGINT, v_expires;
END;
$$;
