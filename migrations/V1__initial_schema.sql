-- flashbook schema: venues host events, users book seats on events.
-- Every invariant a flash sale depends on is enforced here, not only in Rust,
-- so no code path (or psql session) can oversell or double-book.

CREATE TABLE venues (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    capacity    INTEGER     NOT NULL CHECK (capacity > 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue_id    BIGINT      NOT NULL REFERENCES venues (id),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    starts_at   TIMESTAMPTZ NOT NULL,
    capacity    INTEGER     NOT NULL CHECK (capacity > 0),
    -- Seats currently sold. Kept in step with the confirmed bookings by the
    -- booking and cancellation functions below, under this row's lock.
    booked      INTEGER     NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT events_booked_within_capacity CHECK (booked BETWEEN 0 AND capacity)
);
CREATE INDEX events_venue_id_idx ON events (venue_id);

CREATE TABLE users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE bookings (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      BIGINT      NOT NULL REFERENCES events (id),
    user_id       BIGINT      NOT NULL REFERENCES users (id),
    status        TEXT        NOT NULL DEFAULT 'confirmed'
                              CHECK (status IN ('confirmed', 'cancelled')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancelled_at  TIMESTAMPTZ,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
-- At most one active booking per user per event; cancelled ones may pile up.
CREATE UNIQUE INDEX bookings_one_active_per_user_and_event
    ON bookings (event_id, user_id) WHERE status = 'confirmed';
-- Foreign keys indexed; (fk, id) also serves the keyset-paginated listings.
CREATE INDEX bookings_event_id_idx ON bookings (event_id, id);
CREATE INDEX bookings_user_id_idx ON bookings (user_id, id);
