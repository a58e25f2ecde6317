-- Review claims (issue #20, the console spec's GAP-10): the operator who opened a case holds
-- it until the claim expires, so that "next case" sends others elsewhere.
-- SQLite twin of migrations/postgres/0016_folder_claims_stats.sql: same columns.
-- (Numbered 0016 to stay clear of the other branches of this session.)
CREATE TABLE folder_claims (
    folder_id    BLOB PRIMARY KEY NOT NULL REFERENCES folders (folder_id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL,
    time_created REAL NOT NULL,
    expires_at   REAL NOT NULL
);
