-- Why a user may not add p_quantity seats to an event: limit_exceeded, or
-- already_booked where max_per_user is 1 (the one-seat codes stay as they
-- were). NULL when within the limit.
CREATE OR REPLACE FUNCTION limit_refusal(p_max INTEGER, p_user_seats INTEGER, p_quantity INTEGER) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_user_seats + p_quantity <= p_max THEN NULL
        WHEN p_max = 1 AND p_user_seats >= 1 THEN 'already_booked'
        ELSE 'limit_exceeded'
    END
$$;
