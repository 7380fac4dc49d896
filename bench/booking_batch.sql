-- pgbench script: the batched booking transaction as the service runs it
-- (FLASHBOOK_BATCH_MAX > 1): one call of book_seats
-- (migrations/V3__batched_booking.sql) with :batch new users, under one lock
-- of the event row and one commit. bench/run.sh sets :batch (-D batch=256).
SELECT count(*) FROM book_seats(1, ARRAY(SELECT nextval('bench_user_id') FROM generate_series(1, :batch)));
