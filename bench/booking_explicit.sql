-- pgbench script: the locked part of take_seats (one seat) spelled out as separate
-- statements, one round trip each, as a client without the server-side
-- function would run it. The user id is drawn before the transaction.
SELECT nextval('bench_user_id') AS uid \gset
BEGIN;
-- Locks event 1's row until COMMIT (four more round trips).
SELECT capacity, booked FROM events WHERE id = 1 FOR UPDATE;
SELECT 1 FROM bookings WHERE event_id = 1 AND user_id = :uid AND status = 'confirmed';
INSERT INTO bookings (event_id, user_id) VALUES (1, :uid);
UPDATE events SET booked = booked + 1 WHERE id = 1;
COMMIT;
