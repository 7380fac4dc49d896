-- pgbench script: the batched booking transaction as the service runs it
-- (FLASHBOOK_BATCH_MAX > 1): one call of take_seats
-- (migrations/V6__buyer_flow.sql) with :batch new users of one seat each,
-- under one lock of the event row and one commit. bench/run.sh sets :batch
-- (-D batch=256).
SELECT count(*) FROM take_seats(1, ARRAY(SELECT nextval('bench_user_id') FROM generate_series(1, :batch::int)),
                                array_fill(1, ARRAY[:batch::int]), 'booking');
