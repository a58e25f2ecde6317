-- Collections (blacklists, "1:N"), their persons and person images with face templates, the
-- COLLECTION-analysis match table, and the gallery generation counter (issue #4, spec §4.7, §12).
-- SQLite twin of migrations/postgres/0003_collections.sql: same tables and columns.
-- UUIDs are 16-byte BLOBs, JSON is TEXT, times are float UNIX seconds.

CREATE TABLE collections (
    collection_id       BLOB PRIMARY KEY NOT NULL,
    -- A collection always belongs to a company, which cannot be deleted while it has any.
    company_id          BLOB NOT NULL REFERENCES companies (company_id),
    alias               TEXT NOT NULL,
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
-- One alias per company, so that clients that pick "the blacklist" by alias find one.
CREATE UNIQUE INDEX collections_alias ON collections (company_id, alias);
CREATE INDEX collections_time ON collections (time_created);

CREATE TABLE persons (
    person_id           BLOB PRIMARY KEY NOT NULL,
    -- A collection is deleted only once it is empty (spec §12).
    collection_id       BLOB NOT NULL REFERENCES collections (collection_id),
    -- Copied from the collection so that scoping needs no join.
    company_id          BLOB NOT NULL,
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
CREATE INDEX persons_collection ON persons (collection_id, time_created);

-- One enrolled photo: the stored file (like a media file) and its face template.
CREATE TABLE person_images (
    person_image_id     BLOB PRIMARY KEY NOT NULL,
    -- The photo's media id: images are addressed by either id (spec §12 deletes by media_id).
    media_id            BLOB NOT NULL UNIQUE,
    person_id           BLOB NOT NULL REFERENCES persons (person_id) ON DELETE CASCADE,
    collection_id       BLOB NOT NULL,
    company_id          BLOB NOT NULL,
    original_name       TEXT NOT NULL,
    extension           TEXT NOT NULL,
    has_thumb           BOOLEAN NOT NULL DEFAULT 0,
    size_bytes          INTEGER NOT NULL,
    sha256              TEXT NOT NULL,
    upload_index        INTEGER NOT NULL DEFAULT 0,
    tags                TEXT NOT NULL DEFAULT '[]',
    meta_data           TEXT NOT NULL DEFAULT '{}',
    technical_meta_data TEXT NOT NULL DEFAULT '{}',
    -- The embedder that made the template; templates of different models are never compared.
    model_id            TEXT NOT NULL,
    -- The L2-normalised embedding: f32 values, little-endian, 4 bytes each.
    template            BLOB NOT NULL,
    time_created        REAL NOT NULL,
    time_updated        REAL NOT NULL
);
CREATE INDEX person_images_person ON person_images (person_id, time_created, upload_index);
CREATE INDEX person_images_collection ON person_images (collection_id);

-- Which persons (and photos) a COLLECTION analysis matched. Written by the analyses work;
-- a matched person or photo cannot be deleted until those analyses are (spec §12). The foreign
-- keys back the domain's check against races (NO ACTION, not RESTRICT: SQLite reports a
-- RESTRICT failure as a trigger error, which the store could not tell from others).
-- Deleting an analysis deletes its rows here.
CREATE TABLE collection_matches (
    analyse_id      BLOB NOT NULL,
    person_id       BLOB NOT NULL REFERENCES persons (person_id),
    person_image_id BLOB NULL REFERENCES person_images (person_image_id),
    collection_id   BLOB NOT NULL,
    company_id      BLOB NOT NULL
);
CREATE INDEX collection_matches_analyse ON collection_matches (analyse_id);
CREATE INDEX collection_matches_person ON collection_matches (person_id);
CREATE INDEX collection_matches_image ON collection_matches (person_image_id);
CREATE INDEX collection_matches_collection ON collection_matches (collection_id);

-- Bumped in every transaction that adds or removes templates. Each server keeps its in-memory
-- gallery at a generation; a search that finds the stored one moved (another node, or the
-- `collections import` command) reloads the gallery first.
CREATE TABLE gallery_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO gallery_state (id, generation) VALUES (1, 0);
