-- Decisions in the audit trail (issue #20, the console spec's GAP-4): an event may concern an
-- object (an analysis decided by an operator) with its value before and after and a comment.
-- SQLite twin of migrations/postgres/0011_decision_audit.sql: same columns.
ALTER TABLE auth_events ADD COLUMN object_type TEXT NULL;
ALTER TABLE auth_events ADD COLUMN object_id BLOB NULL;
ALTER TABLE auth_events ADD COLUMN value_before TEXT NULL;
ALTER TABLE auth_events ADD COLUMN value_after TEXT NULL;
ALTER TABLE auth_events ADD COLUMN comment TEXT NULL;
-- The history of one object (an order page lists its analyses' decisions).
CREATE INDEX auth_events_object ON auth_events (object_id, time_created);
