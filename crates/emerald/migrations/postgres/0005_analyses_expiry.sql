-- Analyses still PROCESSING, oldest first: what the expiry beat scans every minute
-- (EMERALD_ANALYSIS_EXPIRE_TIMEOUT). Partial, so it stays as small as the backlog.
CREATE INDEX analyses_processing ON analyses (time_created) WHERE state = 'PROCESSING';
