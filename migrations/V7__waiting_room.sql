-- The waiting room (issue 14, point 3): an opt-in line in front of an
-- event's holds and bookings. Buyers join and get a ticket and a place in
-- line; at time t the first floor((t - opens_at) * admission_per_second)
-- places are admitted. Every replica computes that from this table and the
-- database's clock, so admission runs at the event's rate across all
-- replicas with no coordinator. An admitted buyer gets a signed pass (the
-- signature is the service's; the pass's expiry and its single use are
-- here) and spends it on one POST /holds or POST /bookings.
--
-- FAIR PLACES. Who joins before opens_at gets a random draw; at opening the
-- early ones are ranked by their draws (places 1..early_joined), once, under
-- the room row's lock. Who joins later gets the next place in arrival order,
-- handed out under the same lock, so places are unique, gap-free and never
-- change once given (the early ones' until the opening, when they are fixed).
--
-- LOCKS. join_queue and rank_early lock the waiting_rooms row (never the
-- event row): joins of one event are serialised with each other, not with
-- its bookings. take_seats_with_pass locks the ticket row, then (through
-- take_seats) the event row; nothing locks a ticket row after an event row,
-- so the order cannot deadlock.

CREATE TABLE waiting_rooms (
    event_id             BIGINT      PRIMARY KEY REFERENCES events (id),
    -- DELETE /events/{id}/waiting-room turns it off; tickets and counts stay.
    active               BOOLEAN     NOT NULL DEFAULT TRUE,
    admission_per_second INTEGER     NOT NULL
                         CONSTRAINT waiting_rooms_rate_range CHECK (admission_per_second BETWEEN 1 AND 100000),
    pass_seconds         INTEGER     NOT NULL
                         CONSTRAINT waiting_rooms_pass_seconds_range CHECK (pass_seconds BETWEEN 1 AND 86400),
    opens_at             TIMESTAMPTZ NOT NULL,
    early_joined         INTEGER     NOT NULL DEFAULT 0,
    late_joined          INTEGER     NOT NULL DEFAULT 0,
    -- Set once, at the first join or status read at or after opens_at:
    -- the early ones have their places, and every later joiner is late.
    early_ranked         BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE queue_tickets (
    -- 128 random bits as hex (the service makes it): unguessable, not a count.
    ticket          TEXT        PRIMARY KEY,
    event_id        BIGINT      NOT NULL REFERENCES events (id),
    user_id         BIGINT      NOT NULL REFERENCES users (id),
    early           BOOLEAN     NOT NULL,
    -- The random draw of an early joiner; their order among the early ones.
    draw            DOUBLE PRECISION,
    -- 1 is first in line. Late joiners get it at join, early ones at opening.
    place           INTEGER,
    joined_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    -- The pass: issued (expiry set) at the first status read once admitted,
    -- used once, by the transaction that took (or was refused) the seats.
    pass_expires_at TIMESTAMPTZ,
    pass_used_at    TIMESTAMPTZ,
    pass_used_for   TEXT        CHECK (pass_used_for IN ('booking', 'hold')),
    -- What the pass's request got (booked, held, sold_out, ...), and the
    -- booking or hold it made: what `verify --queue` checks.
    pass_outcome    TEXT,
    booking_id      BIGINT      REFERENCES bookings (id),
    hold_id         BIGINT      REFERENCES holds (id),
    UNIQUE (event_id, user_id),
    CHECK (early = (draw IS NOT NULL)),
    CHECK (early OR place IS NOT NULL),
    CHECK (pass_used_at IS NULL OR pass_expires_at IS NOT NULL),
    CHECK ((pass_used_at IS NULL) = (pass_used_for IS NULL)),
    CHECK ((pass_used_at IS NULL) = (pass_outcome IS NULL))
);
-- One ticket per place: a second line-up of the same place is a bug.
CREATE UNIQUE INDEX queue_tickets_place_idx ON queue_tickets (event_id, place);
-- The early ones' provisional order before the opening.
CREATE INDEX queue_tickets_early_draw_idx ON queue_tickets (event_id, draw, ticket) WHERE early;

-- Places admitted at p_at: floor((p_at - opens_at) * rate), 0 before opening.
CREATE FUNCTION admitted_places(p_opens_at TIMESTAMPTZ, p_rate INTEGER, p_at TIMESTAMPTZ)
RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_at < p_opens_at THEN 0
                ELSE floor(extract(epoch FROM (p_at - p_opens_at)) * p_rate)::BIGINT END
$$;

-- Fixes the early joiners' places by their draws, once, at or after the
-- opening. Locks the room row until the caller's transaction ends.
CREATE FUNCTION rank_early(p_event_id BIGINT) RETURNS VOID
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

-- Puts a user in the event's line with the ticket p_ticket. Outcomes:
-- joined (out_ticket = p_ticket), already_queued (out_ticket = their
-- ticket), waiting_room_off, event_not_found, user_not_found.
-- Locks the room row until the caller's transaction ends.
CREATE FUNCTION join_queue(p_event_id BIGINT, p_user_id BIGINT, p_ticket TEXT)
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

-- Where a ticket stands now, by the database's clock: waiting (with its
-- position), admitted (the pass's expiry; issued here at the first read once
-- admitted, and the same on every read after), used, expired, or
-- waiting_room_off. No row: no such ticket.
CREATE FUNCTION queue_ticket_status(p_ticket TEXT)
RETURNS TABLE (out_event_id BIGINT, out_user_id BIGINT, out_status TEXT, out_position BIGINT,
               out_rate INTEGER, out_pass_expires_at TIMESTAMPTZ)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_ticket   queue_tickets;
    v_room     waiting_rooms;
    v_at       TIMESTAMPTZ;
    v_admitted BIGINT;
    v_expires  TIMESTAMPTZ;
BEGIN
    SELECT * INTO v_ticket FROM queue_tickets q WHERE q.ticket = p_ticket;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO v_room FROM waiting_rooms w WHERE w.event_id = v_ticket.event_id;
    v_at := clock_timestamp();
    IF v_ticket.pass_used_at IS NOT NULL THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'used'::TEXT, NULL::BIGINT,
                            v_room.admission_per_second, v_ticket.pass_expires_at;
        RETURN;
    END IF;
    IF NOT v_room.active THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting_room_off'::TEXT,
                            NULL::BIGINT, v_room.admission_per_second, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    IF v_ticket.pass_expires_at IS NOT NULL THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id,
                            CASE WHEN v_ticket.pass_expires_at <= v_at THEN 'expired'
                                 ELSE 'admitted' END,
                            NULL::BIGINT, v_room.admission_per_second, v_ticket.pass_expires_at;
        RETURN;
    END IF;
    IF v_ticket.place IS NULL AND v_at >= v_room.opens_at THEN
        PERFORM rank_early(v_ticket.event_id);
        SELECT q.place INTO v_ticket.place FROM queue_tickets q WHERE q.ticket = p_ticket;
    END IF;
    IF v_ticket.place IS NULL THEN
        -- Before the opening: the provisional rank among the early ones.
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting'::TEXT,
                            (SELECT count(*) FROM queue_tickets q
                              WHERE q.event_id = v_ticket.event_id AND q.early
                                AND (q.draw, q.ticket) <= (v_ticket.draw, v_ticket.ticket)),
                            v_room.admission_per_second, NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    v_admitted := admitted_places(v_room.opens_at, v_room.admission_per_second, v_at);
    IF v_ticket.place > v_admitted THEN
        RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'waiting'::TEXT,
                            v_ticket.place - v_admitted, v_room.admission_per_second,
                            NULL::TIMESTAMPTZ;
        RETURN;
    END IF;
    -- Admitted: issue the pass once; a concurrent read may have done so.
    UPDATE queue_tickets q SET pass_expires_at = v_at + make_interval(secs => v_room.pass_seconds)
     WHERE q.ticket = p_ticket AND q.pass_expires_at IS NULL
    RETURNING q.pass_expires_at INTO v_expires;
    IF NOT FOUND THEN
        SELECT q.pass_expires_at INTO v_expires FROM queue_tickets q WHERE q.ticket = p_ticket;
    END IF;
    RETURN QUERY SELECT v_ticket.event_id, v_ticket.user_id, 'admitted'::TEXT, NULL::BIGINT,
                        v_room.admission_per_second, v_expires;
END;
$$;

-- take_seats for one request that carries an admission pass (p_ticket's,
-- signature already checked by the service): refuses with pass_invalid,
-- pass_used or pass_expired, or takes the seats and marks the pass used in
-- the same transaction, whatever take_seats answered (a sold_out answer
-- uses it too). An error rolls back both: a pass is never burned by a
-- request that committed nothing. Locks the ticket row, then the event row,
-- until the caller's transaction ends.
CREATE FUNCTION take_seats_with_pass(p_event_id BIGINT, p_user_id BIGINT, p_quantity INTEGER,
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
    -- Locks the ticket row: a second use of the pass waits here, then sees it used.
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
      FROM take_seats(p_event_id, ARRAY[p_user_id], ARRAY[p_quantity], p_kind);
    UPDATE queue_tickets q
       SET pass_used_at = clock_timestamp(), pass_used_for = p_kind, pass_outcome = v_taken.outcome,
           booking_id = CASE WHEN v_taken.outcome = 'booked' THEN v_taken.id END,
           hold_id = CASE WHEN v_taken.outcome = 'held' THEN v_taken.id END
     WHERE q.ticket = p_ticket;
    RETURN QUERY SELECT v_taken.ordinal, v_taken.outcome, v_taken.detail, v_taken.id,
                        v_taken.created_at, v_taken.expires_at;
END;
$$;

COMMENT ON TABLE waiting_rooms IS
    'An event''s waiting room (opt-in): admission rate, pass lifetime, opening, and the join counts.';
COMMENT ON TABLE queue_tickets IS
    'One place in an event''s waiting room per user, and the use of its admission pass.';
