-- Offers the seats that are free to the waiting list, first come first
-- served: in list order, each waiting entry whose quantity fits what is
-- still free gets a hold of its own for offer_seconds. The caller holds the
-- event's lock (lock_event). Returns the number of offers made.
--
-- Sold out from memory (src/sold_out.rs): every replica remembers which
-- events are sold out and refuses their bookings and holds without asking
-- the database. It must forget an event as soon as seats of it may be free
-- again, on every replica. make_offers() is the one place every seat change
-- that can free seats passes through, in the transaction that frees them:
--   cancel_booking, release_hold, leave_waitlist (an entry left, or an open
--   offer released), join_waitlist, expire_holds (the sweeper, for holds and
--   offers that ran out), and a capacity change (db::events::update).
-- So make_offers() publishes the event id on the channel 'seats_freed'
-- whenever it finds seats free (before offering them: what is left after
-- the offers, and whether anyone still waits, is the database's to judge).
-- NOTIFY is transactional: listeners hear it at commit, never for a
-- rollback, and PostgreSQL delivers notifications in commit order.
--
-- What this does not cover, and how src/sold_out.rs bounds it: a hold frees
-- its seats by the clock at expires_at (V6__buyer_flow.sql's header), before the sweeper's
-- expire_holds() runs and notifies, within FLASHBOOK_HOLD_SWEEP_MS.
CREATE OR REPLACE FUNCTION make_offers(p_event_id BIGINT) RETURNS INTEGER
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event  RECORD;
    v_free   INTEGER;
    v_entry  RECORD;
    v_hold   BIGINT;
    v_offers INTEGER := 0;
BEGIN
    SELECT * INTO v_event FROM lock_event(p_event_id);
    v_free := v_event.capacity - v_event.booked - v_event.held;
    IF v_free > 0 THEN
        -- Heard by every replica at commit: forget the event's sold-out state.
        PERFORM pg_notify('seats_freed', p_event_id::TEXT);
    END IF;
    IF v_free <= 0 OR NOT v_event.waiting THEN
        RETURN 0;
    END IF;
    FOR v_entry IN
        SELECT w.id, w.user_id, w.quantity FROM waitlist_entries w
         WHERE w.event_id = p_event_id AND w.status = 'waiting' AND w.quantity <= v_free
         ORDER BY w.id
    LOOP
        CONTINUE WHEN v_entry.quantity > v_free;
        INSERT INTO holds (event_id, user_id, quantity, expires_at, created_at)
        VALUES (p_event_id, v_entry.user_id, v_entry.quantity,
                v_event.locked_at + make_interval(secs => v_event.offer_seconds), v_event.locked_at)
        RETURNING id INTO v_hold;
        UPDATE waitlist_entries SET status = 'offered', hold_id = v_hold WHERE id = v_entry.id;
        v_free := v_free - v_entry.quantity;
        v_offers := v_offers + 1;
        EXIT WHEN v_free = 0;
    END LOOP;
    RETURN v_offers;
END;
$$;
