-- One batch for every kind of seat request (issue 22): a request with an
-- admission pass is taken by take_seats_batch (migrations/functions/), alone
-- or beside the event's other requests, which checks and uses each pass in
-- the batch's transaction. The one-request version goes, so the pass has
-- one check.
DROP FUNCTION take_seats_with_pass(BIGINT, BIGINT, INTEGER, TEXT, TEXT);
