-- Status transitions the application may make; anything else is a bug and
-- fails its transaction.
CREATE OR REPLACE FUNCTION forbid_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status || '>' || NEW.status = ANY (TG_ARGV)) THEN
        RAISE EXCEPTION '%.status may not change from % to %', TG_TABLE_NAME, OLD.status, NEW.status
              USING ERRCODE = 'check_violation', CONSTRAINT = TG_TABLE_NAME || '_status_transition';
    END IF;
    RETURN NEW;
END;
$$;
