-- Books (p_kind 'booking') or holds (p_kind 'hold') seats for a batch of
-- requests of one event under one lock acquisition and one commit. Requests
-- are judged in arrival order (their position in the arrays):
--   event_not_found, user_not_found; limit_exceeded / already_booked (the
--   user's confirmed plus held seats, including earlier requests of this
--   batch, would pass max_per_user); sold_out (no seat left, or the waiting
--   list has people in it: returned seats are theirs); not_enough_seats
--   (fewer than asked are left; detail = seats left). Otherwise 'booked' or
--   'held', all seats of the request or none.
-- An event that is sold out by its counter answers without taking the lock
-- (the counter was true when read: the request is ordered after the booking
-- that filled the event).
-- Past the waiting room's gate only: take_seats (the gate) and
-- take_seats_batch (checked passes, mixed kinds) are its only callers.
-- enable_seqscan off: see held_seats.sql.
CREATE OR REPLACE FUNCTION take_seats_ungated(p_event_id BIGINT, p_user_ids BIGINT[], p_quantities INTEGER[], p_kind TEXT)
RETURNS TABLE (ordinal INTEGER, outcome TEXT, detail INTEGER, id BIGINT,
               created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE
SET enable_seqscan = off AS $$
DECLARE
    v_capacity INTEGER;
    v_booked   INTEGER;
    v_event    RECORD;
    -- The event's hold_seconds, read with the lock (no lock, no seats).
    v_hold_for INTERVAL;
    v_locked   BOOLEAN := FALSE;
    v_at       TIMESTAMPTZ := clock_timestamp();
    v_max      INTEGER;
    v_free     INTEGER;
    v_taken    INTEGER := 0;
    v_user     BIGINT;
    v_quantity INTEGER;
    v_refusal  TEXT;
    v_known    BOOLEAN;
    v_seats    INTEGER;
    -- Whether any seats of the event may be held: unknown without the lock.
    v_holds    BOOLEAN := TRUE;
BEGIN
    IF p_kind NOT IN ('booking', 'hold') OR cardinality(p_user_ids) <> cardinality(p_quantities) THEN
        RAISE EXCEPTION 'take_seats: bad arguments (kind %, % users, % quantities)',
              p_kind, cardinality(p_user_ids), cardinality(p_quantities);
    END IF;
    -- Unlocked look: an unknown event, or one sold out by its counter.
    SELECT e.capacity, e.booked, e.max_per_user INTO v_capacity, v_booked, v_max
      FROM events e WHERE e.id = p_event_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT r.ord::INTEGER, 'event_not_found'::TEXT, NULL::INTEGER, NULL::BIGINT,
                            NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ
                       FROM unnest(p_user_ids) WITH ORDINALITY AS r(user_id, ord);
        RETURN;
    END IF;
    v_free := 0;
    IF v_booked < v_capacity THEN
        SELECT * INTO v_event FROM lock_event(p_event_id);
        v_locked := TRUE;
        v_at := v_event.locked_at;
        v_max := v_event.max_per_user;
        v_free := CASE WHEN v_event.waiting THEN 0
                       ELSE v_event.capacity - v_event.booked - v_event.held END;
        v_holds := v_event.held > 0 OR p_kind = 'hold';
        v_hold_for := make_interval(secs => v_event.hold_seconds);
    END IF;

    IF cardinality(p_user_ids) > 1
       AND (SELECT bool_and(q = 1) FROM unnest(p_quantities) AS q) THEN
        -- The flash-sale batch: one seat per request, booked or held. The same judgement as
        -- the loop below, set-based, because this is the path whose speed
        -- is the sale's: a user's n-th request in the batch is within the
        -- limit when their seats before the batch plus n do not pass it, and
        -- of the requests left the first v_free are booked. (A single
        -- request takes the loop: planning this query costs more than the
        -- loop's few statements.)
        RETURN QUERY
        WITH requests AS (
            SELECT r.user_id, r.ord::INTEGER AS ord,
                   row_number() OVER (PARTITION BY r.user_id ORDER BY r.ord)::INTEGER AS nth
              FROM unnest(p_user_ids) WITH ORDINALITY AS r(user_id, ord)
        ),
        -- Each request's buyer: known or not, and their seats before it
        -- (user_seats(), written out: a subquery runs in this statement's
        -- executor, a function call per request would run two more
        -- statements each, ~15 us a seat). MATERIALIZED: limit_refusal() is
        -- inlined and names its seats argument twice, so a sum written into
        -- its call ran two or three times a request.
        buyers AS MATERIALIZED (
            SELECT q.ord, q.user_id, q.nth, u.id IS NOT NULL AS known,
                   (SELECT coalesce(sum(b.quantity), 0)::INTEGER FROM bookings b
                     WHERE b.event_id = p_event_id AND b.user_id = q.user_id
                       AND b.status = 'confirmed')
                 + CASE WHEN v_holds THEN
                       (SELECT coalesce(sum(h.quantity), 0)::INTEGER FROM holds h
                         WHERE h.event_id = p_event_id AND h.user_id = q.user_id
                           AND h.status = 'held' AND h.expires_at > v_at)
                   ELSE 0 END AS seats
              FROM requests q LEFT JOIN users u ON u.id = q.user_id
        ),
        judged AS (
            SELECT c.ord, c.user_id,
                   CASE WHEN NOT c.known THEN 'user_not_found'
                        ELSE limit_refusal(v_max, c.seats + c.nth - 1, 1)
                   END AS refusal
              FROM buyers c
        ),
        placed AS (
            SELECT j.*,
                   CASE WHEN j.refusal IS NULL
                        THEN row_number() OVER (PARTITION BY j.refusal IS NULL ORDER BY j.ord)
                   END AS place
              FROM judged j
        ),
        inserted AS (
            INSERT INTO bookings (event_id, user_id, quantity, created_at)
            SELECT p_event_id, p.user_id, 1, v_at FROM placed p
             WHERE p_kind = 'booking' AND p.refusal IS NULL AND p.place <= v_free
             ORDER BY p.ord
            RETURNING bookings.id, bookings.created_at, NULL::TIMESTAMPTZ AS expires_at
        ),
        held AS (
            INSERT INTO holds (event_id, user_id, quantity, expires_at, created_at)
            SELECT p_event_id, p.user_id, 1, v_at + v_hold_for, v_at FROM placed p
             WHERE p_kind = 'hold' AND p.refusal IS NULL AND p.place <= v_free
             ORDER BY p.ord
            RETURNING holds.id, holds.created_at, holds.expires_at
        ),
        -- Rows are inserted, and their ids drawn, in the ORDER BY's order:
        -- the k-th id belongs to the k-th place (one of the two is empty).
        numbered AS (
            SELECT t.id, t.created_at, t.expires_at, row_number() OVER (ORDER BY t.id) AS place
              FROM (SELECT * FROM inserted UNION ALL SELECT * FROM held) t
        ),
        counted AS (
            UPDATE events e SET booked = e.booked + (SELECT count(*) FROM inserted)
             WHERE e.id = p_event_id AND EXISTS (SELECT 1 FROM inserted)
        )
        SELECT p.ord,
               COALESCE(p.refusal, CASE WHEN p.place > v_free THEN 'sold_out'
                                        WHEN p_kind = 'booking' THEN 'booked' ELSE 'held' END),
               CASE WHEN p.refusal = 'limit_exceeded' THEN v_max END,
               n.id, n.created_at, n.expires_at
          FROM placed p
          LEFT JOIN numbered n ON p.refusal IS NULL AND n.place = p.place
         ORDER BY p.ord;
        RETURN;
    END IF;

    FOR i IN 1 .. cardinality(p_user_ids) LOOP
        v_user := p_user_ids[i];
        v_quantity := p_quantities[i];
        ordinal := i;
        detail := NULL;
        id := NULL;
        created_at := NULL;
        expires_at := NULL;
        IF v_quantity IS NULL OR v_quantity < 1 THEN
            RAISE EXCEPTION 'take_seats: quantity % for request %', v_quantity, i;
        END IF;
        -- Whether the user exists and their confirmed seats, in one query;
        -- their held seats only when the event has any (user_seats() is
        -- the same sum with them). Sees this batch's earlier inserts: same
        -- transaction.
        SELECT EXISTS (SELECT 1 FROM users u WHERE u.id = v_user),
               (SELECT coalesce(sum(b.quantity), 0)::INTEGER FROM bookings b
                 WHERE b.event_id = p_event_id AND b.user_id = v_user AND b.status = 'confirmed')
          INTO v_known, v_seats;
        IF NOT v_known THEN
            v_refusal := 'user_not_found';
        ELSE
            IF v_holds THEN
                v_seats := user_seats(p_event_id, v_user, v_at);
            END IF;
            v_refusal := limit_refusal(v_max, v_seats, v_quantity);
            IF v_refusal = 'limit_exceeded' THEN
                detail := v_max;
            END IF;
        END IF;
        IF v_refusal IS NULL AND v_free < v_quantity THEN
            v_refusal := CASE WHEN v_free = 0 THEN 'sold_out' ELSE 'not_enough_seats' END;
            detail := CASE WHEN v_free = 0 THEN NULL ELSE v_free END;
        END IF;
        IF v_refusal IS NOT NULL THEN
            outcome := v_refusal;
        ELSIF p_kind = 'booking' THEN
            INSERT INTO bookings (event_id, user_id, quantity, created_at)
            VALUES (p_event_id, v_user, v_quantity, v_at)
            RETURNING bookings.id, bookings.created_at INTO id, created_at;
            outcome := 'booked';
            v_taken := v_taken + v_quantity;
            v_free := v_free - v_quantity;
        ELSE
            INSERT INTO holds (event_id, user_id, quantity, expires_at, created_at)
            VALUES (p_event_id, v_user, v_quantity,
                    v_at + v_hold_for, v_at)
            RETURNING holds.id, holds.created_at, holds.expires_at INTO id, created_at, expires_at;
            outcome := 'held';
            v_free := v_free - v_quantity;
        END IF;
        v_refusal := NULL;
        RETURN NEXT;
    END LOOP;
    IF v_taken > 0 THEN
        UPDATE events e SET booked = e.booked + v_taken WHERE e.id = p_event_id;
    END IF;
END;
$$;
