-- Buyer identity (issue 21): buyers sign up with a password and sign in for
-- a token (POST /users, POST /sessions); the token, not a request body, says
-- who the buyer is.
--
-- The password is stored as an argon2id PHC string (src/authentication/
-- passwords.rs). NULL: the user cannot sign in with a password (the seed's
-- users, who get tokens minted with the signing key; users of an external
-- identity provider).
ALTER TABLE users ADD COLUMN password_hash TEXT;

COMMENT ON COLUMN users.password_hash IS
    'argon2id PHC string of the password; NULL: no password sign-in (seeded users, external identity provider)';

-- Ownership in the same statement: the by-id actions take the acting user
-- and find only that user's row (migrations/functions/cancel_booking.sql,
-- confirm_hold.sql, release_hold.sql, leave_waitlist.sql, applied after
-- this). The one-argument versions go, so nothing can call them.
DROP FUNCTION cancel_booking(BIGINT);
DROP FUNCTION confirm_hold(BIGINT);
DROP FUNCTION release_hold(BIGINT);
DROP FUNCTION leave_waitlist(BIGINT);
-- A ticket's standing (and its pass) is shown only to its holder.
DROP FUNCTION queue_ticket_status(TEXT);

-- Idempotency keys per buyer: the key is (user, key), so two buyers who
-- both send `order-42` never meet (one cannot block or replay the other's
-- request). Stored answers whose fingerprint names their buyer (bookings,
-- holds, waiting-list joins: "user_id=N") keep it; the others (cancel,
-- confirm, release, leave, whose fingerprints named no user) are dropped:
-- retried, those requests run again, and each of them changes nothing the
-- second time.
ALTER TABLE idempotency_keys ADD COLUMN user_id BIGINT;
UPDATE idempotency_keys
   SET user_id = substring(request_fingerprint FROM 'user_id=([0-9]+)')::BIGINT;
DELETE FROM idempotency_keys WHERE user_id IS NULL;
ALTER TABLE idempotency_keys
    ALTER COLUMN user_id SET NOT NULL,
    DROP CONSTRAINT idempotency_keys_pkey,
    ADD PRIMARY KEY (user_id, key);
COMMENT ON COLUMN idempotency_keys.user_id IS
    'the buyer whose key it is (the bearer token''s user); part of the primary key';
