-- Analyses, the durable job queue and webhook deliveries (issue #6).
-- SQLite twin of migrations/postgres/0004_analyses.sql: same tables and columns.
-- The `collection_matches` table that COLLECTION analyses write to belongs to the collections
-- migration (0003); this one does not touch it.

-- The analysis object in full (spec §4.6). `user_id` is the folder owner's, so analyses share
-- their folder's visibility. JSON columns hold what the wire shows.
ALTER TABLE analyses ADD COLUMN user_id BLOB NULL;
ALTER TABLE analyses ADD COLUMN resolution_comment TEXT NULL;
-- The decision threshold in force when the analysis was requested.
ALTER TABLE analyses ADD COLUMN threshold REAL NULL;
-- `params` as sent (the known ones are re-read from it).
ALTER TABLE analyses ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
-- Ids of the media the analysis covers, in folder order.
ALTER TABLE analyses ADD COLUMN source_media TEXT NOT NULL DEFAULT '[]';
ALTER TABLE analyses ADD COLUMN results_data TEXT NULL;
ALTER TABLE analyses ADD COLUMN results_media TEXT NOT NULL DEFAULT '[]';
-- `{"error_code", "error_message"}` of a FAILED analysis.
ALTER TABLE analyses ADD COLUMN error TEXT NULL;
ALTER TABLE analyses ADD COLUMN collection_alias TEXT NULL;
-- When it left PROCESSING: the folder result comes from the group that finished last.
ALTER TABLE analyses ADD COLUMN time_finished REAL NULL;
CREATE INDEX analyses_group ON analyses (group_id, state);
-- Global lists, newest first, per tenancy scope.
CREATE INDEX analyses_time ON analyses (time_created DESC, analyse_id DESC);
CREATE INDEX analyses_company ON analyses (company_id, time_created);

-- The job queue (docs/analyses.md). A job is claimable when queued and due, or when running
-- with an expired lease (its worker died); each claim counts an attempt. Finished jobs are
-- deleted: the outcome lives in the analysis or the delivery.
CREATE TABLE jobs (
    job_id       BLOB PRIMARY KEY NOT NULL,
    -- analysis | webhook
    kind         TEXT NOT NULL,
    -- The analysis or the webhook delivery.
    ref_id       BLOB NOT NULL,
    -- queued | running
    status       TEXT NOT NULL DEFAULT 'queued',
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_after    REAL NOT NULL,
    lease_until  REAL NULL,
    worker       TEXT NULL,
    last_error   TEXT NULL,
    time_created REAL NOT NULL,
    time_updated REAL NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_after);
CREATE INDEX jobs_lease ON jobs (status, lease_until);
CREATE INDEX jobs_ref ON jobs (ref_id);

-- Webhook deliveries (spec §11.2 [I]): one per folder completion with a resolution_endpoint.
-- The body is rendered when sent (the folder as it is then).
CREATE TABLE webhook_deliveries (
    delivery_id      BLOB PRIMARY KEY NOT NULL,
    folder_id        BLOB NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    -- pending | delivered | failed
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_http_status INTEGER NULL,
    last_error       TEXT NULL,
    time_created     REAL NOT NULL,
    time_updated     REAL NOT NULL
);
CREATE INDEX webhook_deliveries_folder ON webhook_deliveries (folder_id);
