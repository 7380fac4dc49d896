-- Marks the event's expired holds 'expired' and offers their seats to the
-- waiting list. Their seats were free already (see V6__buyer_flow.sql's header); this is the
-- sweeper's tidy-up. Returns the number of holds marked.
CREATE OR REPLACE FUNCTION expire_holds(p_event_id BIGINT) RETURNS INTEGER
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event   RECORD;
    v_expired INTEGER;
BEGIN
    SELECT * INTO v_event FROM lock_event(p_event_id);
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    UPDATE holds SET status = 'expired', ended_at = expires_at
     WHERE event_id = p_event_id AND status = 'held' AND expires_at <= v_event.locked_at;
    GET DIAGNOSTICS v_expired = ROW_COUNT;
    PERFORM make_offers(p_event_id);
    RETURN v_expired;
END;
$$;
