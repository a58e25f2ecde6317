-- Foundation: companies, users, sessions and the metadata search index.
-- PostgreSQL twin of migrations/sqlite/0001_foundation.sql: same tables and columns.

CREATE TABLE companies (
    company_id          UUID PRIMARY KEY,
    name                TEXT NOT NULL,
    meta_data           JSONB NOT NULL DEFAULT '{}',
    technical_meta_data JSONB NOT NULL DEFAULT '{}',
    time_created        DOUBLE PRECISION NOT NULL,
    time_updated        DOUBLE PRECISION NOT NULL
);
CREATE INDEX companies_name ON companies (lower(name));

CREATE TABLE users (
    user_id              UUID PRIMARY KEY,
    -- RESTRICT: a company with users cannot disappear under them.
    company_id           UUID NULL REFERENCES companies (company_id) ON DELETE RESTRICT,
    email                TEXT NOT NULL,
    -- Logins are case-insensitive; uniqueness is on the folded form.
    email_lower          TEXT NOT NULL UNIQUE,
    password_hash        TEXT NOT NULL,
    user_type            TEXT NOT NULL,
    first_name           TEXT NOT NULL DEFAULT '',
    last_name            TEXT NOT NULL DEFAULT '',
    middle_name          TEXT NULL,
    is_service           BOOLEAN NOT NULL DEFAULT FALSE,
    can_start_biometry   BOOLEAN NOT NULL DEFAULT TRUE,
    can_start_quality    BOOLEAN NOT NULL DEFAULT TRUE,
    can_start_collection BOOLEAN NOT NULL DEFAULT TRUE,
    can_start_documents  BOOLEAN NOT NULL DEFAULT TRUE,
    meta_data            JSONB NOT NULL DEFAULT '{}',
    technical_meta_data  JSONB NOT NULL DEFAULT '{}',
    time_created         DOUBLE PRECISION NOT NULL,
    time_updated         DOUBLE PRECISION NOT NULL
);
CREATE INDEX users_company ON users (company_id, time_created);

CREATE TABLE sessions (
    session_id        UUID PRIMARY KEY,
    user_id           UUID NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    -- SHA-256 of the tokens; the tokens themselves are never stored.
    access_hash       TEXT NOT NULL UNIQUE,
    expire_hash       TEXT NOT NULL UNIQUE,
    expires_at        DOUBLE PRECISION NOT NULL,
    parent_session_id UUID NULL,
    time_created      DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- One row per scalar leaf of an object's meta_data, rewritten with it, so that
-- `meta_data=key==value` is an index lookup on any key, on both backends.
CREATE TABLE meta_index (
    object_kind TEXT NOT NULL,
    object_id   UUID NOT NULL,
    path        TEXT NOT NULL,
    value_text  TEXT NULL,
    value_num   DOUBLE PRECISION NULL
);
CREATE INDEX meta_index_text ON meta_index (object_kind, path, value_text);
CREATE INDEX meta_index_num ON meta_index (object_kind, path, value_num) WHERE value_num IS NOT NULL;
CREATE INDEX meta_index_object ON meta_index (object_id);
