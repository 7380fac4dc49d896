-- A small checkout sale, made by calling the seat functions of
-- migrations/V6__buyer_flow.sql the way the service does, for
-- faults/scenarios/checkout_checker_self_test.sh. Needs a database seeded
-- with `seed --venue-capacity 10 --users 20 --max-per-user 4
-- --hold-seconds 1 --offer-seconds 1` (event 1: 10 seats, 4 per user, holds
-- and offers open 1 s). Each step asserts its outcome, so a change in the
-- functions' behaviour stops the script instead of producing another sale.
--
-- It ends sold out, with every case `verify --checkout` must not flag: a
-- hold that expired, an offer that expired and went to the next entry, an
-- earlier entry passed over because its quantity did not fit, and an
-- earlier entry that left before any offer was made.
\set ON_ERROR_STOP on

-- Users 1, 2, 3 hold all 10 seats (holds 1, 2, 3); user 4 finds none.
DO $$ BEGIN
    ASSERT (SELECT array_agg(outcome ORDER BY ordinal)
              FROM take_seats(1, ARRAY[1, 2, 3]::BIGINT[], ARRAY[4, 4, 2], 'hold'))
           = ARRAY['held', 'held', 'held'], 'three holds';
    ASSERT (SELECT outcome FROM take_seats(1, ARRAY[4]::BIGINT[], ARRAY[1], 'hold')) = 'sold_out',
           'no seat left';
END $$;

-- The waiting list: user 8 (1 seat) joins and leaves at once; then users
-- 4 (3 seats), 5 (1), 6 (2), 7 (1): entries 2, 3, 4, 5.
DO $$ BEGIN
    ASSERT (SELECT outcome FROM join_waitlist(1, 8, 1)) = 'joined', 'user 8 joins';
    ASSERT (SELECT outcome FROM leave_waitlist(1, 8)) = 'left', 'user 8 leaves';
    ASSERT (SELECT outcome FROM join_waitlist(1, 4, 3)) = 'joined', 'user 4 joins';
    ASSERT (SELECT outcome FROM join_waitlist(1, 5, 1)) = 'joined', 'user 5 joins';
    ASSERT (SELECT outcome FROM join_waitlist(1, 6, 2)) = 'joined', 'user 6 joins';
    ASSERT (SELECT outcome FROM join_waitlist(1, 7, 1)) = 'joined', 'user 7 joins';
END $$;

-- Users 1 and 3 pay; user 2 walks away.
DO $$ BEGIN
    ASSERT (SELECT outcome FROM confirm_hold(1, 1)) = 'confirmed', 'user 1 confirms';
    ASSERT (SELECT outcome FROM confirm_hold(3, 3)) = 'confirmed', 'user 3 confirms';
END $$;

-- Hold 2 expires: its 4 seats go to users 4 (3) and 5 (1), in list order.
DO $$ BEGIN PERFORM pg_sleep(1.2); END $$;
DO $$ BEGIN
    ASSERT (SELECT expire_holds(1)) = 1, 'hold 2 expired';
    ASSERT (SELECT array_agg(status ORDER BY id) FROM waitlist_entries)
           = ARRAY['left', 'offered', 'offered', 'waiting', 'waiting'], 'users 4 and 5 offered';
    -- User 4 takes the offer; user 5 lets it expire.
    ASSERT (SELECT outcome FROM confirm_hold((SELECT hold_id FROM waitlist_entries WHERE id = 2), 4))
           = 'confirmed', 'user 4 confirms the offer';
END $$;

-- User 5's offer expires: its seat skips user 6 (2 seats) for user 7 (1).
DO $$ BEGIN PERFORM pg_sleep(1.2); END $$;
DO $$ BEGIN
    ASSERT (SELECT expire_holds(1)) = 1, 'user 5''s offer expired';
    ASSERT (SELECT array_agg(status ORDER BY id) FROM waitlist_entries)
           = ARRAY['left', 'offered', 'offered', 'waiting', 'offered'], 'user 7 offered, user 6 waits';
    ASSERT (SELECT outcome FROM confirm_hold((SELECT hold_id FROM waitlist_entries WHERE id = 5), 7))
           = 'confirmed', 'user 7 confirms the offer';
    -- The sale is over; user 6 leaves the list.
    ASSERT (SELECT outcome FROM leave_waitlist(4, 6)) = 'left', 'user 6 leaves';
    ASSERT (SELECT booked FROM events WHERE id = 1) = 10, 'sold out';
END $$;
