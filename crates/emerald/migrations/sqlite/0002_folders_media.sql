-- Folders, media and a minimal analyses table (issue #3).
-- SQLite twin of migrations/postgres/0002_folders_media.sql: same tables and columns.
-- UUIDs are 16-byte BLOBs, JSON is TEXT, times are float UNIX seconds.

-- No foreign keys to users/companies: a folder outlives the account that uploaded it (the
-- data belongs to the company; Oz keeps it), and tenancy is checked on every read anyway.
CREATE TABLE folders (
    folder_id           BLOB PRIMARY KEY NOT NULL,
    -- The creator's company; NULL for folders created by ADMIN/OPERATOR.
    company_id          BLOB NULL,
    user_id             BLOB NOT NULL,
    -- INITIAL | PROCESSING | FAILED | FINISHED (spec §8.6).
    resolution_status   TEXT NOT NULL DEFAULT 'INITIAL',
    -- SUCCESS | DECLINED | OPERATOR_REQUIRED | FAILED | PROCESSING, NULL before any result.
    system_resolution   TEXT NULL,
    resolution_comment  TEXT NULL,
    is_archive          BOOLEAN NOT NULL DEFAULT 0,
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
-- The default list order (newest first) and the two tenancy scopes, each time-ordered, so a
-- page of a million folders is an index range scan.
CREATE INDEX folders_time ON folders (time_created DESC, folder_id DESC);
CREATE INDEX folders_company ON folders (company_id, time_created);
CREATE INDEX folders_user ON folders (user_id, time_created);

CREATE TABLE media (
    media_id            BLOB PRIMARY KEY NOT NULL,
    folder_id           BLOB NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    -- Copied from the folder so media lists are scoped without a join.
    company_id          BLOB NULL,
    user_id             BLOB NOT NULL,
    -- IMAGE_FOLDER | VIDEO_FOLDER | SHOTS_SET_FOLDER, decided from the content.
    media_type          TEXT NOT NULL,
    original_name       TEXT NOT NULL,
    -- File extension of the stored original (`jpg`, `mp4`, `zip` …), from the content.
    extension           TEXT NOT NULL,
    has_thumb           BOOLEAN NOT NULL DEFAULT 0,
    size_bytes          INTEGER NOT NULL,
    sha256              TEXT NOT NULL,
    -- Position within its upload request, so media list in the order they were sent.
    upload_index        INTEGER NOT NULL DEFAULT 0,
    tags                TEXT NOT NULL DEFAULT '[]',
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
CREATE INDEX media_folder ON media (folder_id);
CREATE INDEX media_company ON media (company_id, time_created);
CREATE INDEX media_time ON media (time_created);

-- Kept small on purpose: just what folder filters (`analyse.type`), `with_analyses` and the
-- delete cascade need. The analyses work (issue #6) adds its columns in its own migration.
CREATE TABLE analyses (
    analyse_id          BLOB PRIMARY KEY NOT NULL,
    folder_id           BLOB NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    company_id          BLOB NULL,
    group_id            BLOB NOT NULL,
    type                TEXT NOT NULL,
    state               TEXT NOT NULL,
    resolution_status   TEXT NOT NULL,
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
CREATE INDEX analyses_folder ON analyses (folder_id, time_created);
CREATE INDEX analyses_type ON analyses (type, folder_id);
