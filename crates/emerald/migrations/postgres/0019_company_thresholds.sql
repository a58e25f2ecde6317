-- Per-company decision thresholds (GAP-14, issue #20): an ADMIN may give a company its own
-- QUALITY, BIOMETRY and COLLECTION threshold; NULL follows the installation's setting
-- (`--quality-threshold`, `--biometry-threshold`, `--collection-threshold`). They are read when
-- an analysis is created for one of the company's folders, and the analysis keeps the value it
-- got (`analyses.threshold`), so a later change never re-decides old analyses. Columns on the
-- company rather than a table of their own: one row read per analysis request, and they go with
-- the company. PostgreSQL twin of migrations/sqlite/0019_company_thresholds.sql.
ALTER TABLE companies ADD COLUMN threshold_quality DOUBLE PRECISION;
ALTER TABLE companies ADD COLUMN threshold_biometry DOUBLE PRECISION;
ALTER TABLE companies ADD COLUMN threshold_collection DOUBLE PRECISION;
