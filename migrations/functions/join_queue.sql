-- Puts a user in the event's line with the ticket p_ticket. Outcomes:
-- joined (out_ticket = p_ticket), already_queued (out_ticket = their
-- ticket), waiting_room_off, event_not_found, user_not_found.
-- Locks the room row until the caller's transaction ends.
CREATE OR REPLACE FUNCTION join_queue(p_event_id BIGINT, p_user_id BIGINT, p_ticket TEXT)
RETURNS TABLE (out_outcome TEXT, out_ticket TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_room     waiting_rooms;
    v_at       TIMESTAMPTZ;
    v_existing TEXT;
    v_place    INTEGER;
BEGIN
    SELECT * INTO v_room FROM waiting_rooms w WHERE w.event_id = p_event_id FOR UPDATE;
    IF NOT FOUND OR NOT v_room.active THEN
        IF EXISTS (SELECT 1 FROM events e WHERE e.id = p_event_id) THEN
            RETURN QUERY SELECT 'waiting_room_off'::TEXT, NULL::TEXT;
        ELSE
            RETURN QUERY SELECT 'event_not_found'::TEXT, NULL::TEXT;
        END IF;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id) THEN
        RETURN QUERY SELECT 'user_not_found'::TEXT, NULL::TEXT;
        RETURN;
    END IF;
    SELECT q.ticket INTO v_existing FROM queue_tickets q
     WHERE q.event_id = p_event_id AND q.user_id = p_user_id;
    IF FOUND THEN
        RETURN QUERY SELECT 'already_queued'::TEXT, v_existing;
        RETURN;
    END IF;
    -- Read under the lock: a join counted early precedes every late one.
    v_at := clock_timestamp();
    IF NOT v_room.early_ranked AND v_at < v_room.opens_at THEN
        INSERT INTO queue_tickets (ticket, event_id, user_id, early, draw, joined_at)
        VALUES (p_ticket, p_event_id, p_user_id, TRUE, random(), v_at);
        UPDATE waiting_rooms SET early_joined = early_joined + 1 WHERE event_id = p_event_id;
    ELSE
        PERFORM rank_early(p_event_id);
        UPDATE waiting_rooms SET late_joined = late_joined + 1 WHERE event_id = p_event_id
        RETURNING early_joined + late_joined INTO v_place;
        INSERT INTO queue_tickets (ticket, event_id, user_id, early, place, joined_at)
        VALUES (p_ticket, p_event_id, p_user_id, FALSE, v_place, v_at);
    END IF;
    RETURN QUERY SELECT 'joined'::TEXT, p_ticket;
END;
$$;
