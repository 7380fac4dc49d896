-- Claims each (p_user_ids[i], p_keys[i]) for the caller's transaction, for
-- a request whose fingerprint is p_fingerprints[i], and answers, by
-- ordinal: in_progress (another transaction holds the key, or the same key
-- came earlier in these arrays), replay (a stored answer for the same
-- request, younger than p_ttl_seconds: its status and body), reused (a
-- stored answer for another request) or claimed (no answer yet: the key's
-- lock is the caller's until its transaction ends, and so is storing the
-- answer). The key's lock is an advisory lock on the key hashed with its
-- user, so another user's same key is another lock. The stored answers are
-- read by a statement that starts after the locks are taken: an answer
-- committed by the key's previous holder is always seen.
CREATE OR REPLACE FUNCTION claim_idempotency_keys(p_user_ids BIGINT[], p_keys TEXT[], p_fingerprints TEXT[],
                                                  p_ttl_seconds DOUBLE PRECISION)
RETURNS TABLE (ordinal INTEGER, claim TEXT, response_status SMALLINT, response_body TEXT)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_locked BOOLEAN[];
BEGIN
    SELECT array_agg(k.nth = 1 AND pg_try_advisory_xact_lock(hashtextextended(k.key, k.user_id))
                     ORDER BY k.ord)
      INTO v_locked
      FROM (SELECT u.user_id, u.key, u.ord,
                   row_number() OVER (PARTITION BY u.user_id, u.key ORDER BY u.ord) AS nth
              FROM unnest(p_user_ids, p_keys) WITH ORDINALITY AS u(user_id, key, ord)) k;
    RETURN QUERY
    SELECT k.ord::INTEGER,
           CASE WHEN NOT v_locked[k.ord] THEN 'in_progress'
                WHEN s.key IS NULL THEN 'claimed'
                WHEN s.request_fingerprint <> k.fingerprint THEN 'reused'
                ELSE 'replay' END,
           s.response_status, s.response_body
      FROM unnest(p_user_ids, p_keys, p_fingerprints) WITH ORDINALITY AS k(user_id, key, fingerprint, ord)
      -- One primary-key lookup a key, whatever the statistics say: as a
      -- join, the plan cached while the table was nearly empty read every
      -- key younger than the TTL by the created_at index and hashed them,
      -- in every batch (11 ms a batch with 30,000 keys, from auto_explain).
      -- LIMIT 1 keeps the subquery from being flattened back into a join.
      LEFT JOIN LATERAL (
          SELECT i.key, i.request_fingerprint, i.response_status, i.response_body
            FROM idempotency_keys i
           WHERE v_locked[k.ord] AND i.user_id = k.user_id AND i.key = k.key
             AND i.created_at > now() - make_interval(secs => p_ttl_seconds)
           LIMIT 1
      ) s ON TRUE;
END;
$$;
