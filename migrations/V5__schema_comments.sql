-- Corrections to V1 and V2's comments, where psql (\d+, \df+) shows them.
-- Applied migrations are checksummed by refinery: editing V1 or V2 would make
-- every existing database refuse to start, so their text stays as applied and
-- what it got wrong is put right here.
--   * V1 says events.booked is kept by "the functions below": they are in V2
--     (book_seat, cancel_booking) and V3 (book_seats).
--   * V2 says the event lock is held for one client round trip. That is true
--     when the function is its own implicit transaction. Inside an idempotent
--     request's explicit transaction (src/idempotency) the lock is held until
--     that transaction commits: two more round trips (store the response,
--     COMMIT).

COMMENT ON COLUMN events.booked IS
    'Seats sold: kept equal to the event''s confirmed bookings by book_seat, '
    'cancel_booking (V2) and book_seats (V3), under the event row''s lock.';

COMMENT ON FUNCTION book_seat(BIGINT, BIGINT) IS
    'Books one seat under the event row''s lock (SELECT ... FOR UPDATE). The lock '
    'lasts until the calling transaction commits: one round trip when the call is '
    'its own transaction, longer inside an explicit one (idempotent requests).';

COMMENT ON FUNCTION cancel_booking(BIGINT) IS
    'Cancels a booking under the event row''s lock, then the booking row''s; '
    'the lock lasts until the calling transaction commits.';
