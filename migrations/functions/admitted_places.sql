-- Places admitted at p_at: floor((p_at - opens_at) * rate), 0 before opening.
CREATE OR REPLACE FUNCTION admitted_places(p_opens_at TIMESTAMPTZ, p_rate INTEGER, p_at TIMESTAMPTZ)
RETURNS BIGINT LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_at < p_opens_at THEN 0
                ELSE floor(extract(epoch FROM (p_at - p_opens_at)) * p_rate)::BIGINT END
$$;
