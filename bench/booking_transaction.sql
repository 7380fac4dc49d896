-- pgbench script: the transaction the service runs for one booking, as the
-- service runs it (FLASHBOOK_BATCH_MAX=1): one call of take_seats
-- (migrations/V6__buyer_flow.sql: an unlocked look at the counter, then
-- SELECT ... FOR UPDATE on the event row, the checks, INSERT, counter + 1)
-- in autocommit, so the event row stays locked until the commit has been
-- flushed. Every call is by a new user: bench_user_id counts 1, 2, 3, ...
-- (bench/run.sh seeds enough users and restarts it before each step).
SELECT * FROM take_seats(1, ARRAY[nextval('bench_user_id')], ARRAY[1], 'booking');
