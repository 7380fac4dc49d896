-- Fixes the early joiners' places by their draws, once, at or after the
-- opening. Locks the room row until the caller's transaction ends.
CREATE OR REPLACE FUNCTION rank_early(p_event_id BIGINT) RETURNS VOID
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_room waiting_rooms;
BEGIN
    SELECT * INTO v_room FROM waiting_rooms w WHERE w.event_id = p_event_id FOR UPDATE;
    IF NOT FOUND OR v_room.early_ranked OR clock_timestamp() < v_room.opens_at THEN
        RETURN;
    END IF;
    UPDATE queue_tickets q SET place = r.place
      FROM (SELECT t.ticket, row_number() OVER (ORDER BY t.draw, t.ticket)::INTEGER AS place
              FROM queue_tickets t WHERE t.event_id = p_event_id AND t.early) r
     WHERE q.ticket = r.ticket;
    UPDATE waiting_rooms SET early_ranked = TRUE WHERE event_id = p_event_id;
END;
$$;
