-- A buyer's held seats are looked up by user first. Led by the event, this
-- index also matched "every held hold of an event", and the plan PL/pgSQL
-- cached while holds was empty used it for held_seats()'s expired holds:
-- it read every held hold of the event, in every batch (14 ms with 53,000
-- holds, auto_explain), where holds_active_by_event_idx reads only the
-- expired ones. Led by the user, it fits only the per-buyer lookups.
DROP INDEX holds_active_by_user_idx;
CREATE INDEX holds_active_by_user_idx ON holds (user_id, event_id) WHERE status = 'held';
