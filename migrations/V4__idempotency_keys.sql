-- Outcomes of requests sent with an Idempotency-Key. A row is written in the
-- same transaction as the booking or cancellation it describes, so a crash
-- can never leave one without the other. Requests still in flight hold a
-- transaction-level advisory lock on the key instead of a row.
CREATE TABLE idempotency_keys (
    key                  TEXT        PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    -- Method, path and canonical body the key was first used with.
    request_fingerprint  TEXT        NOT NULL,
    response_status      SMALLINT    NOT NULL,
    response_body        TEXT        NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Lets the expiry sweep find old keys without scanning the table.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
