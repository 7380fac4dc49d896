-- pgbench: exactly the transaction the service runs for one booking
-- (book_seat: FOR UPDATE on the event row, checks, insert, counter), one
-- call in its own transaction, for a distinct user each time.
SELECT * FROM book_seat(1, nextval('bench_user_id'));
