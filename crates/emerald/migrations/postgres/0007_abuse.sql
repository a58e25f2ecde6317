-- Abuse resistance (issue #23): blocked users, login throttling, the auth audit, per-company
-- quotas and fair job claiming across companies.
-- PostgreSQL twin of migrations/sqlite/0007_abuse.sql: same tables and columns.
-- Numbered 0007 after 0010 existed: sqlx applies every migration it has not applied yet,
-- whatever its number, so a database that already ran 0010 runs this one on its next start.

-- A blocked user (false) can neither log in nor use the tokens it holds (code 211).
ALTER TABLE users ADD COLUMN is_active BOOLEAN NOT NULL DEFAULT TRUE;

-- Failed-login counters shared by every server on the database. `throttle_key` is
-- `account:<lower-cased email>` or `address:<client address>` (an IPv6 address by its /64).
CREATE TABLE login_throttle (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    -- Attempts are refused (code 101) until then.
    locked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_failure DOUBLE PRECISION NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure);

-- Logins, failures, throttles, blocks and token refreshes. Never passwords or tokens.
CREATE TABLE auth_events (
    event_id     UUID PRIMARY KEY,
    time_created DOUBLE PRECISION NOT NULL,
    -- login | refresh | block | unblock | throttle_clear
    event        TEXT NOT NULL,
    -- success | failure | throttled | blocked
    outcome      TEXT NOT NULL,
    -- The account concerned, when known.
    user_id      UUID NULL,
    company_id   UUID NULL,
    -- The login as typed (lower-cased), for failures of unknown accounts too.
    email        TEXT NULL,
    -- Who did it, when another user did (a block).
    actor_id     UUID NULL,
    client_addr  TEXT NULL
);
CREATE INDEX auth_events_time ON auth_events (time_created DESC, event_id DESC);
CREATE INDEX auth_events_user ON auth_events (user_id, time_created);

-- Per-company overrides of the global request quotas (requests per minute; NULL = global).
CREATE TABLE company_quotas (
    company_id            UUID PRIMARY KEY REFERENCES companies (company_id) ON DELETE CASCADE,
    requests_per_minute   INTEGER NULL,
    expensive_per_minute  INTEGER NULL
);

-- Fair claiming: the queue picks the company with the fewest running jobs first. NULL for
-- jobs of ADMIN/OPERATOR folders and webhooks (one shared lane).
ALTER TABLE jobs ADD COLUMN company_id UUID NULL;
CREATE INDEX jobs_company ON jobs (company_id, status);
