-- The review queue and the console's status filter: folders by result, in time order. Without
-- it a rare result (OPERATOR_REQUIRED is about 1 % of folders, and an empty queue is the common
-- case) is found by walking every folder of the time index.
CREATE INDEX folders_result ON folders (system_resolution, time_created);
