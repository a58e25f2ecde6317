-- The gallery change feed: what each generation of gallery_state changed. A server whose
-- in-memory gallery is a few generations behind (another node enrolled someone, or the
-- `collections import` command ran) replays these rows instead of reloading every template;
-- one further behind than the feed reaches (it is pruned to the latest generations) reloads.
-- Written in the transaction that bumps the generation.
CREATE TABLE gallery_changes (
    generation BIGINT NOT NULL,
    -- 'insert' (ref_id = person_image_id), 'remove_image' (person_image_id), 'remove_person'
    kind       TEXT NOT NULL,
    ref_id     UUID NOT NULL
);
CREATE INDEX gallery_changes_generation ON gallery_changes (generation);

-- Which database this is: the gallery snapshot file is named after it, so that a data directory
-- pointed at another database never starts from the wrong snapshot.
ALTER TABLE gallery_state ADD COLUMN store_id TEXT NOT NULL DEFAULT '';
UPDATE gallery_state SET store_id = md5(random()::text || clock_timestamp()::text);
