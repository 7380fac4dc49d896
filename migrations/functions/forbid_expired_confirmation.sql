-- A hold may only be confirmed before it expires, by the clock read under
-- the event lock (see V6__buyer_flow.sql's header).
CREATE OR REPLACE FUNCTION forbid_expired_confirmation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'confirmed' AND OLD.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'hold % expired at % and cannot be confirmed', OLD.id, OLD.expires_at
              USING ERRCODE = 'check_violation', CONSTRAINT = 'holds_confirm_before_expiry';
    END IF;
    RETURN NEW;
END;
$$;
