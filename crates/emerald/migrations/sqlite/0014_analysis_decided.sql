-- Who took an analysis's decision and when, as fields of the analysis (the console spec's
-- GAP-3/GAP-4: `decided_by`, `decided_at` in its API view); set in the decision's UPDATE.
-- Filled for decisions taken before, from the audit trail's latest `decision` event.
-- SQLite twin of migrations/postgres/0014_analysis_decided.sql: same columns.
ALTER TABLE analyses ADD COLUMN decided_by BLOB NULL;
ALTER TABLE analyses ADD COLUMN decided_at REAL NULL;
UPDATE analyses SET
    decided_by = (SELECT e.actor_id FROM auth_events e WHERE e.event = 'decision' AND e.object_id = analyses.analyse_id
                  ORDER BY e.time_created DESC LIMIT 1),
    decided_at = (SELECT e.time_created FROM auth_events e WHERE e.event = 'decision' AND e.object_id = analyses.analyse_id
                  ORDER BY e.time_created DESC LIMIT 1)
WHERE analyse_id IN (SELECT object_id FROM auth_events WHERE event = 'decision');
