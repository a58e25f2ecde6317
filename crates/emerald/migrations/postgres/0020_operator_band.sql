-- The company-wide operator band (GAP-14, issue #20): an ADMIN may give a company the lower edge
-- of a band below its BIOMETRY and COLLECTION thresholds, `[threshold_min, threshold)`, whose
-- scores need an operator (OPERATOR_REQUIRED). NULL: no band (the installation has none). A
-- BIOMETRY request's own `params.threshold_min` wins. Each analysis keeps the lower edge it was
-- created with (`analyses.threshold_min`, as `analyses.threshold`), so a later change never
-- re-decides or redraws old analyses; analyses from before this migration have NULL there and
-- fall back to their params. PostgreSQL twin of migrations/sqlite/0020_operator_band.sql.
ALTER TABLE companies ADD COLUMN threshold_biometry_min DOUBLE PRECISION;
ALTER TABLE companies ADD COLUMN threshold_collection_min DOUBLE PRECISION;
ALTER TABLE analyses ADD COLUMN threshold_min DOUBLE PRECISION;
