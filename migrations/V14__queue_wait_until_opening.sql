-- queue_ticket_status answers the seconds a waiting ticket has left
-- (out_wait_seconds, the opening's included) instead of the room's rate: a
-- new result type, which CREATE OR REPLACE cannot give an existing
-- function. Its reference text, migrations/functions/queue_ticket_status.sql,
-- creates it again at the same start, before any request
-- (src/db/migrations.rs). IF EXISTS: a new database has only the reference
-- texts' functions, created after the versioned migrations.
DROP FUNCTION IF EXISTS queue_ticket_status(TEXT, BIGINT);
-- A replica of an older build reads out_rate and fails its queue reads
-- until it is replaced: upgrade the replicas together (compose's `up` does).
