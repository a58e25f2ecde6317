-- Statistics bounded by their time window (issue #20): unique persons are counted from the
-- window's folders, each folder's value of the person key found by one lookup in this index
-- (covering: no table read). Joined the other way round, the count read the key's rows of
-- every folder ever (71 ms at 200k folders for a window of 4.2k). Its first column serves what
-- meta_index_object served (an object's rows, to replace or delete them), which goes.
-- SQLite twin of migrations/postgres/0018_meta_index_object_path.sql.
CREATE INDEX meta_index_object_path ON meta_index (object_id, path, object_kind, value_text);
DROP INDEX meta_index_object;
