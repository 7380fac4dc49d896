-- Takes an entry off the waiting list. An open offer is released with it
-- (its seats go to the next entries). Leaving twice, or after the offer
-- ended, changes nothing.
-- Outcomes: left, entry_not_found (also another user's entry: nothing
-- changes).
CREATE OR REPLACE FUNCTION leave_waitlist(p_entry_id BIGINT, p_user_id BIGINT)
RETURNS TABLE (outcome TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_entry    RECORD;
BEGIN
    SELECT w.event_id INTO v_event_id FROM waitlist_entries w WHERE w.id = p_entry_id AND w.user_id = p_user_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'entry_not_found'::TEXT;
        RETURN;
    END IF;
    SELECT * INTO v_event FROM lock_event(v_event_id);
    SELECT w.* INTO v_entry FROM waitlist_entries w WHERE w.id = p_entry_id FOR UPDATE;
    -- An entry whose offer ended (confirmed, declined, expired) is finished:
    -- leaving it changes nothing, as leaving twice does.
    IF v_entry.status = 'waiting' THEN
        UPDATE waitlist_entries SET status = 'left', left_at = v_event.locked_at
         WHERE id = p_entry_id;
        PERFORM make_offers(v_event_id);
    ELSIF v_entry.status = 'offered' THEN
        UPDATE holds SET status = 'released', ended_at = v_event.locked_at
         WHERE id = v_entry.hold_id AND status = 'held' AND expires_at > v_event.locked_at;
        IF FOUND THEN
            UPDATE waitlist_entries SET status = 'left', left_at = v_event.locked_at
             WHERE id = p_entry_id;
            PERFORM make_offers(v_event_id);
        END IF;
    END IF;
    RETURN QUERY SELECT 'left'::TEXT;
END;
$$;
