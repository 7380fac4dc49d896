-- take_seats for a batch that may mix bookings and holds (p_kinds[i]
-- 'booking' or 'hold') and requests with an admission pass (p_tickets[i],
-- the ticket whose signature the service checked; NULL: no pass), judged in
-- arrival order (their position in the arrays) under one event lock:
--   * a pass is refused pass_invalid (not this user's, this event's, or not
--     issued), pass_used (used before, or earlier in this batch) or
--     pass_expired; a request without one is refused admission_required
--     while the event's waiting room is active (the gate of take_seats);
--   * the others take seats as take_seats_ungated judges them, in runs of
--     consecutive requests of one kind (each run sees the runs before it:
--     same transaction), and each pass among them is marked used with its
--     answer, whatever it was (a sold_out answer uses it too).
-- An error rolls back everything: a pass is never burned by a request that
-- committed nothing. Locks the event row until the caller's transaction
-- ends, and no ticket row before marking it used: a pass is used only here,
-- for its own event (pass_invalid otherwise), so the event's lock already
-- orders every use of it, and reading its ticket after that lock sees the
-- last use committed. (A row lock a ticket cost a WAL record and a dirtied
-- page each.) Nothing else writes a ticket whose pass is issued either
-- (queue_ticket_status issues a pass once, rank_early places a ticket
-- before it has one), so the row read after the lock is the row marked
-- used: by its address (ctid), not by a second index lookup of its ticket
-- (about 8 us a pass on this machine). Were the row to move all the same,
-- the marking would find it gone and the batch fails whole, never
-- leaving a used pass unmarked. Rows come in no particular order:
-- `ordinal` says whose.
-- enable_seqscan off: see held_seats.sql.
CREATE OR REPLACE FUNCTION take_seats_batch(p_event_id BIGINT, p_user_ids BIGINT[], p_quantities INTEGER[],
                                            p_kinds TEXT[], p_tickets TEXT[])
RETURNS TABLE (ordinal INTEGER, outcome TEXT, detail INTEGER, id BIGINT,
               created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off AS $$
DECLARE
    v_count      INTEGER := cardinality(p_user_ids);
    v_refusals   TEXT[];
    -- Each request's ticket row as read after the lock (NULL: no pass).
    v_rows       TID[];
    v_run        INTEGER[] := '{}';
    -- The requests of the run with a pass, and the ticket rows marked.
    v_run_passes INTEGER := 0;
    v_marked     INTEGER;
    v_ords       INTEGER[];
    v_outcomes   TEXT[];
    v_details    INTEGER[];
    v_ids        BIGINT[];
    v_created    TIMESTAMPTZ[];
    v_expires    TIMESTAMPTZ[];
    v_kind       TEXT;
    v_gated      BOOLEAN;
BEGIN
    IF cardinality(p_quantities) <> v_count OR cardinality(p_kinds) <> v_count
       OR cardinality(p_tickets) <> v_count THEN
        RAISE EXCEPTION 'take_seats_batch: bad arguments (% users, % quantities, % kinds, % tickets)',
              v_count, cardinality(p_quantities), cardinality(p_kinds), cardinality(p_tickets);
    END IF;
    v_gated := EXISTS (SELECT 1 FROM waiting_rooms w WHERE w.event_id = p_event_id AND w.active);
    PERFORM 1 FROM events e WHERE e.id = p_event_id FOR UPDATE;
    -- Read after the lock: each ticket as its last use committed it.
    SELECT array_agg(
               CASE WHEN r.ticket IS NULL THEN
                        CASE WHEN v_gated THEN 'admission_required' END
                    WHEN q.ticket IS NULL OR q.event_id <> p_event_id OR q.user_id <> r.user_id
                         OR q.pass_expires_at IS NULL THEN 'pass_invalid'
                    WHEN q.pass_used_at IS NOT NULL OR r.nth > 1 THEN 'pass_used'
                    WHEN q.pass_expires_at <= clock_timestamp() THEN 'pass_expired'
               END ORDER BY r.ord),
           array_agg(q.ctid ORDER BY r.ord)
      INTO v_refusals, v_rows
      FROM (SELECT u.ticket, u.user_id, u.ord,
                   row_number() OVER (PARTITION BY u.ticket ORDER BY u.ord) AS nth
              FROM unnest(p_tickets, p_user_ids) WITH ORDINALITY AS u(ticket, user_id, ord)) r
      -- One primary-key lookup a ticket, whatever the statistics say: as a
      -- join, the plan cached while the table was small hashed every ticket
      -- of the table in each batch (174 ms a batch with 200,000 tickets,
      -- pg_stat_statements). LIMIT 1 keeps the subquery from being
      -- flattened back into a join.
      LEFT JOIN LATERAL (
          SELECT t.ctid, t.ticket, t.event_id, t.user_id, t.pass_expires_at, t.pass_used_at
            FROM queue_tickets t WHERE t.ticket = r.ticket LIMIT 1
      ) q ON TRUE;

    FOR i IN 1 .. v_count + 1 LOOP
        -- A run ends before a request of the other kind, and after the last.
        IF cardinality(v_run) > 0 AND (i > v_count OR (v_refusals[i] IS NULL AND p_kinds[i] <> v_kind)) THEN
            SELECT array_agg(v_run[t.ordinal] ORDER BY t.ordinal), array_agg(t.outcome ORDER BY t.ordinal),
                   array_agg(t.detail ORDER BY t.ordinal), array_agg(t.id ORDER BY t.ordinal),
                   array_agg(t.created_at ORDER BY t.ordinal), array_agg(t.expires_at ORDER BY t.ordinal)
              INTO v_ords, v_outcomes, v_details, v_ids, v_created, v_expires
              FROM take_seats_ungated(p_event_id,
                                      ARRAY(SELECT p_user_ids[o] FROM unnest(v_run) AS o),
                                      ARRAY(SELECT p_quantities[o] FROM unnest(v_run) AS o),
                                      v_kind) t;
            IF v_run_passes > 0 THEN
                UPDATE queue_tickets q
                   SET pass_used_at = clock_timestamp(), pass_used_for = v_kind,
                       pass_outcome = u.outcome,
                       booking_id = CASE WHEN u.outcome = 'booked' THEN u.id END,
                       hold_id = CASE WHEN u.outcome = 'held' THEN u.id END
                  FROM unnest(v_ords, v_outcomes, v_ids) AS u(ord, outcome, id)
                 WHERE q.ctid = v_rows[u.ord];
                GET DIAGNOSTICS v_marked = ROW_COUNT;
                IF v_marked <> v_run_passes THEN
                    RAISE EXCEPTION 'take_seats_batch: % of % passes marked used (a ticket row changed under the event lock)',
                          v_marked, v_run_passes;
                END IF;
            END IF;
            RETURN QUERY SELECT * FROM unnest(v_ords, v_outcomes, v_details, v_ids, v_created, v_expires);
            v_run := '{}';
            v_run_passes := 0;
        END IF;
        EXIT WHEN i > v_count;
        IF v_refusals[i] IS NOT NULL THEN
            RETURN QUERY SELECT i, v_refusals[i], NULL::INTEGER, NULL::BIGINT,
                                NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ;
        ELSE
            v_kind := p_kinds[i];
            v_run := v_run || i;
            IF p_tickets[i] IS NOT NULL THEN
                v_run_passes := v_run_passes + 1;
            END IF;
        END IF;
    END LOOP;
END;
$$;
