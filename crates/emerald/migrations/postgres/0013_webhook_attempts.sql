-- Every webhook delivery attempt (issue #20, the console spec's GAP-5): when, to which URL,
-- how long it took, what the endpoint answered or why no answer came. The delivery row keeps
-- only the latest of these; `GET /api/folders/{id}/webhook_deliveries` lists them all.
-- PostgreSQL twin of migrations/sqlite/0013_webhook_attempts.sql: same columns.
-- Numbered 0013, not 0012, so that it does not collide with another branch's 0012 (sqlx
-- applies every migration not applied yet, whatever its number).
CREATE TABLE webhook_attempts (
    attempt_id   UUID PRIMARY KEY NOT NULL,
    delivery_id  UUID NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    -- The folder, so that the health check lists recent failures without a join.
    folder_id    UUID NOT NULL,
    -- 1-based: the delivery job's claim count.
    attempt      INTEGER NOT NULL,
    url          TEXT NOT NULL,
    -- When the request was sent, and seconds until the answer (or the error).
    time_created DOUBLE PRECISION NOT NULL,
    duration     DOUBLE PRECISION NOT NULL,
    http_status  INTEGER NULL,
    error        TEXT NULL,
    -- delivered | retrying | failed
    outcome      TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, time_created);
-- Recent failures (the health check).
CREATE INDEX webhook_attempts_time ON webhook_attempts (time_created);
