-- pgbench script: the transaction the service runs for one booking, as the
-- service runs it (FLASHBOOK_BATCH_MAX=1): one call of book_seat
-- (migrations/V2__booking_functions.sql: unlocked early checks, then
-- SELECT ... FOR UPDATE on the event row, re-check, INSERT, counter + 1) in
-- autocommit, so the event row stays locked until the commit has been
-- flushed. Every call is by a new user: bench_user_id counts 1, 2, 3, ...
-- (bench/run.sh seeds enough users and restarts it before each step).
SELECT * FROM book_seat(1, nextval('bench_user_id'));
