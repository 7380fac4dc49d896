-- The buyer flow: several seats per order up to a per-buyer limit, holds
-- that keep seats while the buyer pays, and a waiting list that gets
-- returned seats first.
--
-- THE INVARIANT. For every event, at every instant t:
--     booked + (seats in holds with status 'held' and expires_at > t) <= capacity
-- and every buyer's confirmed seats plus unexpired held seats <= max_per_user.
--
-- WHY NO INTERLEAVING BREAKS IT (READ COMMITTED):
--   * Every function below that changes seats first calls lock_event(), which
--     takes SELECT ... FOR UPDATE on the event row and only then reads the
--     clock (clock_timestamp(), not now()): the lock order of two
--     transactions is also the order of their clocks. Other rows (bookings,
--     holds, waiting-list entries) are locked after the event row, never
--     before, so no two seat changes can deadlock.
--   * A hold whose expires_at <= that clock counts as free. The classic race
--     (a new buyer and an expiring cart both taking the seat) cannot happen:
--     if the buyer's transaction got the lock first and saw the hold expired,
--     the confirm that comes after it reads a later clock and sees the hold
--     expired too (409 hold_expired). If the confirm came first, the seat is
--     booked and the buyer's count includes it. Expired holds need no sweeper
--     to free their seats; the sweeper (sweep_expired_holds in src/startup.rs) only marks them
--     'expired' and offers their seats to the waiting list.
--   * now() would be wrong here: it is the transaction's start time, taken
--     before the lock wait, so a transaction that waited for the lock would
--     judge expiry at an earlier instant than a transaction ordered before it.
--   * Nobody jumps the queue: while any entry of the event's waiting list is
--     'waiting', take_seats() refuses every new booking and hold (sold_out);
--     seats that come back are offered by make_offers() in the transaction
--     that frees them (cancel, release, leave, capacity change) or by the
--     sweeper's expire_holds() within its interval (2 s by default).
--   * The CHECKs and triggers below are a second line: a bug that got past the
--     lock fails its transaction instead of overselling.

ALTER TABLE events
    ADD COLUMN max_per_user  INTEGER NOT NULL DEFAULT 1
        CONSTRAINT events_max_per_user_range CHECK (max_per_user BETWEEN 1 AND 100),
    ADD COLUMN hold_seconds  INTEGER NOT NULL DEFAULT 600
        CONSTRAINT events_hold_seconds_range CHECK (hold_seconds BETWEEN 1 AND 86400),
    ADD COLUMN offer_seconds INTEGER NOT NULL DEFAULT 900
        CONSTRAINT events_offer_seconds_range CHECK (offer_seconds BETWEEN 1 AND 86400);

COMMENT ON COLUMN events.booked IS
    'Confirmed seats (the sum of the confirmed bookings'' quantities), kept by '
    'take_seats, confirm_hold and cancel_booking under the event row''s lock.';

-- A booking now carries several seats. A user may hold several bookings of
-- one event (up to max_per_user seats in all), so the one-active-booking
-- index gives way to a plain one for the per-user count under the lock.
ALTER TABLE bookings
    ADD COLUMN quantity INTEGER NOT NULL DEFAULT 1
        CONSTRAINT bookings_quantity_positive CHECK (quantity >= 1);
DROP INDEX bookings_one_active_per_user_and_event;
CREATE INDEX bookings_confirmed_by_user_idx
    ON bookings (event_id, user_id) WHERE status = 'confirmed';

CREATE TABLE holds (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    BIGINT      NOT NULL REFERENCES events (id),
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    quantity    INTEGER     NOT NULL CONSTRAINT holds_quantity_positive CHECK (quantity >= 1),
    -- 'held' past expires_at is expired already; the sweeper only writes it.
    status      TEXT        NOT NULL DEFAULT 'held'
                            CHECK (status IN ('held', 'confirmed', 'released', 'expired')),
    expires_at  TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    ended_at    TIMESTAMPTZ,
    -- The booking a confirmed hold became.
    booking_id  BIGINT      UNIQUE REFERENCES bookings (id),
    CHECK ((status = 'held') = (ended_at IS NULL)),
    CHECK ((status = 'confirmed') = (booking_id IS NOT NULL)),
    CHECK (expires_at > created_at)
);
-- Seats held in an event (summed under the lock), and a buyer's held seats.
CREATE INDEX holds_active_by_event_idx ON holds (event_id, expires_at)
    INCLUDE (quantity) WHERE status = 'held';
CREATE INDEX holds_active_by_user_idx ON holds (event_id, user_id)
    WHERE status = 'held';
-- The sweeper's search for holds that have expired, across events.
CREATE INDEX holds_active_by_expiry_idx ON holds (expires_at) WHERE status = 'held';
CREATE INDEX holds_user_id_idx ON holds (user_id, id);

CREATE TABLE waitlist_entries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id    BIGINT      NOT NULL REFERENCES events (id),
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    quantity    INTEGER     NOT NULL CONSTRAINT waitlist_quantity_positive CHECK (quantity >= 1),
    -- waiting -> offered (hold_id set) | left; offered -> left.
    -- What became of an offer is its hold's status.
    status      TEXT        NOT NULL DEFAULT 'waiting'
                            CHECK (status IN ('waiting', 'offered', 'left')),
    hold_id     BIGINT      UNIQUE REFERENCES holds (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    left_at     TIMESTAMPTZ,
    CHECK (status <> 'waiting' OR hold_id IS NULL),
    CHECK (status <> 'offered' OR hold_id IS NOT NULL),
    CHECK ((status = 'left') = (left_at IS NOT NULL))
);
-- One waiting entry per user and event (join_waitlist also refuses a user
-- whose offer is still open).
CREATE UNIQUE INDEX waitlist_one_waiting_per_user_idx
    ON waitlist_entries (event_id, user_id) WHERE status = 'waiting';
-- The list in order: ids are handed out in arrival order.
CREATE INDEX waitlist_waiting_idx ON waitlist_entries (event_id, id)
    INCLUDE (quantity) WHERE status = 'waiting';
CREATE INDEX waitlist_user_id_idx ON waitlist_entries (user_id, id);

-- Status transitions the application may make; anything else is a bug and
-- fails its transaction.
CREATE FUNCTION forbid_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status || '>' || NEW.status = ANY (TG_ARGV)) THEN
        RAISE EXCEPTION '%.status may not change from % to %', TG_TABLE_NAME, OLD.status, NEW.status
              USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_status_transition';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER bookings_status_transition BEFORE UPDATE OF status ON bookings
    FOR EACH ROW EXECUTE FUNCTION forbid_status_change('confirmed>cancelled');
CREATE TRIGGER holds_status_transition BEFORE UPDATE OF status ON holds
    FOR EACH ROW EXECUTE FUNCTION forbid_status_change('held>confirmed', 'held>released', 'held>expired');
CREATE TRIGGER waitlist_status_transition BEFORE UPDATE OF status ON waitlist_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_status_change('waiting>offered', 'waiting>left', 'offered>left');

-- A hold may only be confirmed before it expires, by the clock read under
-- the event lock (see the header).
CREATE FUNCTION forbid_expired_confirmation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'confirmed' AND OLD.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'hold % expired at % and cannot be confirmed', OLD.id, OLD.expires_at
              USING ERRCODE = 'check_violation', CONSTRAINT = 'holds_confirm_before_expiry';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER holds_confirm_before_expiry BEFORE UPDATE OF status ON holds
    FOR EACH ROW EXECUTE FUNCTION forbid_expired_confirmation();

-- Locks the event row until the caller's transaction ends and returns its
-- seat state at the instant the lock was granted. No row: no such event.
CREATE FUNCTION lock_event(p_event_id BIGINT)
RETURNS TABLE (capacity INTEGER, booked INTEGER, held INTEGER, max_per_user INTEGER,
               hold_seconds INTEGER, offer_seconds INTEGER, waiting BOOLEAN, locked_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_at TIMESTAMPTZ;
BEGIN
    -- Locks the event row until the calling transaction commits.
    PERFORM 1 FROM events e WHERE e.id = p_event_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_at := clock_timestamp();
    RETURN QUERY
        SELECT e.capacity, e.booked, held_seats(e.id, v_at), e.max_per_user,
               e.hold_seconds, e.offer_seconds,
               EXISTS (SELECT 1 FROM waitlist_entries w
                        WHERE w.event_id = e.id AND w.status = 'waiting'),
               v_at
          FROM events e WHERE e.id = p_event_id;
END;
$$;

-- Seats in the event's holds that are unexpired at p_at. PL/pgSQL rather
-- than SQL: an aggregate keeps a SQL function from being inlined, and a SQL
-- function that is not inlined is planned again at every call, while
-- PL/pgSQL keeps its plan for the session. These two run in every seat change.
CREATE FUNCTION held_seats(p_event_id BIGINT, p_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(h.quantity), 0)::INTEGER FROM holds h
             WHERE h.event_id = p_event_id AND h.status = 'held' AND h.expires_at > p_at);
END;
$$;

-- A user's confirmed seats plus unexpired held seats in an event at p_at.
CREATE FUNCTION user_seats(p_event_id BIGINT, p_user_id BIGINT, p_at TIMESTAMPTZ) RETURNS INTEGER
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(b.quantity), 0) FROM bookings b
             WHERE b.event_id = p_event_id AND b.user_id = p_user_id AND b.status = 'confirmed')::INTEGER
         + (SELECT coalesce(sum(h.quantity), 0) FROM holds h
             WHERE h.event_id = p_event_id AND h.user_id = p_user_id AND h.status = 'held'
               AND h.expires_at > p_at)::INTEGER;
END;
$$;

-- Why a user may not add p_quantity seats to an event: limit_exceeded, or
-- already_booked where max_per_user is 1 (the one-seat codes stay as they
-- were). NULL when within the limit.
CREATE FUNCTION limit_refusal(p_max INTEGER, p_user_seats INTEGER, p_quantity INTEGER) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_user_seats + p_quantity <= p_max THEN NULL
        WHEN p_max = 1 AND p_user_seats >= 1 THEN 'already_booked'
        ELSE 'limit_exceeded'
    END
$$;

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
-- its seats by the clock at expires_at (this file's header), before the sweeper's
-- expire_holds() runs and notifies, within FLASHBOOK_HOLD_SWEEP_MS.
CREATE FUNCTION make_offers(p_event_id BIGINT) RETURNS INTEGER
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
CREATE FUNCTION take_seats(p_event_id BIGINT, p_user_ids BIGINT[], p_quantities INTEGER[], p_kind TEXT)
RETURNS TABLE (ordinal INTEGER, outcome TEXT, detail INTEGER, id BIGINT,
               created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_capacity INTEGER;
    v_booked   INTEGER;
    v_event    RECORD;
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
    END IF;

    IF p_kind = 'booking' AND cardinality(p_user_ids) > 1
       AND (SELECT bool_and(q = 1) FROM unnest(p_quantities) AS q) THEN
        -- The flash-sale batch: one seat per request. The same judgement as
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
        judged AS (
            SELECT q.ord, q.user_id,
                   CASE WHEN u.id IS NULL THEN 'user_not_found'
                        ELSE limit_refusal(v_max, user_seats(p_event_id, q.user_id, v_at) + q.nth - 1, 1)
                   END AS refusal
              FROM requests q LEFT JOIN users u ON u.id = q.user_id
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
             WHERE p.refusal IS NULL AND p.place <= v_free
             ORDER BY p.ord
            RETURNING bookings.id, bookings.created_at
        ),
        -- Rows are inserted, and their ids drawn, in the ORDER BY's order:
        -- the k-th id belongs to the k-th place.
        numbered AS (
            SELECT i.id, i.created_at, row_number() OVER (ORDER BY i.id) AS place FROM inserted i
        ),
        counted AS (
            UPDATE events e SET booked = e.booked + (SELECT count(*) FROM inserted)
             WHERE e.id = p_event_id AND EXISTS (SELECT 1 FROM inserted)
        )
        SELECT p.ord,
               COALESCE(p.refusal, CASE WHEN p.place <= v_free THEN 'booked' ELSE 'sold_out' END),
               CASE WHEN p.refusal = 'limit_exceeded' THEN v_max END,
               n.id, n.created_at, NULL::TIMESTAMPTZ
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
                    v_at + make_interval(secs => v_event.hold_seconds), v_at)
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

-- Confirms a hold: its seats become a booking. No capacity check can fail:
-- the seats were reserved. Outcomes: confirmed (id = the new booking),
-- hold_not_found, hold_expired, hold_released, hold_confirmed (a repeat;
-- id = the booking it became).
CREATE FUNCTION confirm_hold(p_hold_id BIGINT)
RETURNS TABLE (outcome TEXT, booking_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_hold     RECORD;
    v_booking  BIGINT;
BEGIN
    SELECT h.event_id INTO v_event_id FROM holds h WHERE h.id = p_hold_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'hold_not_found'::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    -- The event row first, then the hold's (the lock order).
    SELECT * INTO v_event FROM lock_event(v_event_id);
    SELECT h.* INTO v_hold FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
    IF v_hold.status = 'confirmed' THEN
        RETURN QUERY SELECT 'hold_confirmed'::TEXT, v_hold.booking_id;
    ELSIF v_hold.status = 'released' THEN
        RETURN QUERY SELECT 'hold_released'::TEXT, NULL::BIGINT;
    ELSIF v_hold.status = 'expired' OR v_hold.expires_at <= v_event.locked_at THEN
        RETURN QUERY SELECT 'hold_expired'::TEXT, NULL::BIGINT;
    ELSE
        INSERT INTO bookings (event_id, user_id, quantity, created_at)
        VALUES (v_event_id, v_hold.user_id, v_hold.quantity, v_event.locked_at)
        RETURNING id INTO v_booking;
        UPDATE holds SET status = 'confirmed', booking_id = v_booking, ended_at = v_event.locked_at
         WHERE id = p_hold_id;
        UPDATE events SET booked = booked + v_hold.quantity WHERE id = v_event_id;
        RETURN QUERY SELECT 'confirmed'::TEXT, v_booking;
    END IF;
END;
$$;

-- Releases a hold: its seats go back on sale (to the waiting list first, in
-- this transaction). Releasing a released or expired hold changes nothing.
-- Outcomes: released, expired (it had expired already), hold_confirmed,
-- hold_not_found.
CREATE FUNCTION release_hold(p_hold_id BIGINT)
RETURNS TABLE (outcome TEXT, booking_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_hold     RECORD;
BEGIN
    SELECT h.event_id INTO v_event_id FROM holds h WHERE h.id = p_hold_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'hold_not_found'::TEXT, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT * INTO v_event FROM lock_event(v_event_id);
    SELECT h.* INTO v_hold FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
    IF v_hold.status = 'confirmed' THEN
        RETURN QUERY SELECT 'hold_confirmed'::TEXT, v_hold.booking_id;
    ELSIF v_hold.status = 'released' THEN
        RETURN QUERY SELECT 'released'::TEXT, NULL::BIGINT;
    ELSIF v_hold.status = 'expired' OR v_hold.expires_at <= v_event.locked_at THEN
        RETURN QUERY SELECT 'expired'::TEXT, NULL::BIGINT;
    ELSE
        UPDATE holds SET status = 'released', ended_at = v_event.locked_at WHERE id = p_hold_id;
        PERFORM make_offers(v_event_id);
        RETURN QUERY SELECT 'released'::TEXT, NULL::BIGINT;
    END IF;
END;
$$;

-- Marks the event's expired holds 'expired' and offers their seats to the
-- waiting list. Their seats were free already (see the header); this is the
-- sweeper's tidy-up. Returns the number of holds marked.
CREATE FUNCTION expire_holds(p_event_id BIGINT) RETURNS INTEGER
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

-- Cancels a confirmed booking: its seats go back on sale (to the waiting
-- list first, in this transaction). Cancelling a cancelled booking changes
-- nothing. Replaces V2's, which freed one seat.
CREATE OR REPLACE FUNCTION cancel_booking(p_booking_id BIGINT)
RETURNS SETOF bookings
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_quantity INTEGER;
BEGIN
    SELECT b.event_id INTO v_event_id FROM bookings b WHERE b.id = p_booking_id;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    PERFORM lock_event(v_event_id);
    UPDATE bookings SET status = 'cancelled', cancelled_at = now()
     WHERE id = p_booking_id AND status = 'confirmed'
    RETURNING quantity INTO v_quantity;
    IF FOUND THEN
        UPDATE events SET booked = booked - v_quantity WHERE id = v_event_id;
        PERFORM make_offers(v_event_id);
    END IF;
    RETURN QUERY SELECT * FROM bookings b WHERE b.id = p_booking_id;
END;
$$;

-- Puts a user on the event's waiting list. Outcomes: joined or offered (the
-- entry got seats at once: free seats the earlier entries did not fit),
-- event_not_found, user_not_found, limit_exceeded / already_booked,
-- already_waiting (detail: nothing; id = the entry), seats_available (the
-- user could book instead; detail = seats free).
CREATE FUNCTION join_waitlist(p_event_id BIGINT, p_user_id BIGINT, p_quantity INTEGER)
RETURNS TABLE (outcome TEXT, detail INTEGER, entry_id BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event   RECORD;
    v_free    INTEGER;
    v_refusal TEXT;
    v_entry   BIGINT;
BEGIN
    SELECT * INTO v_event FROM lock_event(p_event_id);
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'event_not_found'::TEXT, NULL::INTEGER, NULL::BIGINT;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p_user_id) THEN
        RETURN QUERY SELECT 'user_not_found'::TEXT, NULL::INTEGER, NULL::BIGINT;
        RETURN;
    END IF;
    SELECT w.id INTO v_entry FROM waitlist_entries w
      LEFT JOIN holds h ON h.id = w.hold_id
     WHERE w.event_id = p_event_id AND w.user_id = p_user_id
       AND (w.status = 'waiting'
            OR (w.status = 'offered' AND h.status = 'held' AND h.expires_at > v_event.locked_at));
    IF FOUND THEN
        RETURN QUERY SELECT 'already_waiting'::TEXT, NULL::INTEGER, v_entry;
        RETURN;
    END IF;
    v_refusal := limit_refusal(v_event.max_per_user,
                               user_seats(p_event_id, p_user_id, v_event.locked_at), p_quantity);
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT v_refusal, CASE WHEN v_refusal = 'limit_exceeded'
                                            THEN v_event.max_per_user END, NULL::BIGINT;
        RETURN;
    END IF;
    v_free := v_event.capacity - v_event.booked - v_event.held;
    IF NOT v_event.waiting AND v_free >= p_quantity THEN
        RETURN QUERY SELECT 'seats_available'::TEXT, v_free, NULL::BIGINT;
        RETURN;
    END IF;
    INSERT INTO waitlist_entries (event_id, user_id, quantity, created_at)
    VALUES (p_event_id, p_user_id, p_quantity, v_event.locked_at)
    RETURNING id INTO v_entry;
    -- Free seats no earlier entry fits may fit this one.
    PERFORM make_offers(p_event_id);
    RETURN QUERY SELECT 'joined'::TEXT, NULL::INTEGER, v_entry;
END;
$$;

-- Takes an entry off the waiting list. An open offer is released with it
-- (its seats go to the next entries). Leaving twice, or after the offer
-- ended, changes nothing.
-- Outcomes: left, entry_not_found.
CREATE FUNCTION leave_waitlist(p_entry_id BIGINT)
RETURNS TABLE (outcome TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_event_id BIGINT;
    v_event    RECORD;
    v_entry    RECORD;
BEGIN
    SELECT w.event_id INTO v_event_id FROM waitlist_entries w WHERE w.id = p_entry_id;
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

-- An event as GET /events/{id} shows it. clock_timestamp(), evaluated after
-- the statement's snapshot was taken, is later than every commit the
-- snapshot sees, so a hold replaced by a newer one is never counted twice.
CREATE VIEW event_seats AS
    SELECT e.id, e.venue_id, e.name, e.starts_at, e.capacity, e.booked,
           held_seats(e.id, clock_timestamp()) AS held,
           (SELECT coalesce(sum(w.quantity), 0)::INTEGER FROM waitlist_entries w
             WHERE w.event_id = e.id AND w.status = 'waiting') AS waiting,
           e.max_per_user, e.hold_seconds, e.offer_seconds, e.created_at
      FROM events e;

-- Holds as GET /holds/{id} shows them: one past expires_at is expired at
-- once, marked by the sweeper or not.
CREATE VIEW hold_states AS
    SELECT h.id, h.event_id, h.user_id, h.quantity,
           CASE WHEN h.status = 'held' AND h.expires_at <= clock_timestamp() THEN 'expired'
                ELSE h.status END AS status,
           h.expires_at, h.created_at, h.booking_id
      FROM holds h;

-- Waiting-list entries as GET /waitlist/{id} shows them: the position while
-- waiting (1 = next in line), and for an offer what became of it.
CREATE VIEW waitlist_states AS
    SELECT w.id, w.event_id, w.user_id, w.quantity, w.hold_id, w.created_at,
           CASE WHEN w.status IN ('waiting', 'left') THEN w.status
                WHEN h.status = 'confirmed' THEN 'confirmed'
                WHEN h.status = 'released' THEN 'declined'
                WHEN h.status = 'expired' OR h.expires_at <= clock_timestamp() THEN 'expired'
                ELSE 'offered' END AS status,
           CASE WHEN w.status = 'waiting' THEN
               (SELECT count(*) FROM waitlist_entries o
                 WHERE o.event_id = w.event_id AND o.status = 'waiting' AND o.id <= w.id)
           END AS position,
           h.expires_at AS offer_expires_at
      FROM waitlist_entries w LEFT JOIN holds h ON h.id = w.hold_id;

-- The single-request and V3 batch booking functions give way to take_seats.
DROP FUNCTION book_seat(BIGINT, BIGINT);
DROP FUNCTION book_seats(BIGINT, BIGINT[]);
