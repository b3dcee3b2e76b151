-- Reverses migrations/0002_rollout.sql (canary, step, promote, abort and shadow activations
-- are dropped: the previous schema cannot hold them). Apply with:
--   npx wrangler d1 execute edge-gateway --local --file migrations/down/0002_rollout.sql
DROP TABLE IF EXISTS traffic_stats;
DROP TABLE IF EXISTS shadow_diffs;
CREATE TABLE route_activations_old (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  environment  TEXT NOT NULL,
  version      TEXT NOT NULL REFERENCES route_versions (version),
  previous     TEXT,
  action       TEXT NOT NULL CHECK (action IN ('publish', 'rollback')),
  author       TEXT NOT NULL,
  activated_at TEXT NOT NULL
);
INSERT INTO route_activations_old (id, environment, version, previous, action, author, activated_at)
  SELECT id, environment, version, previous, action, author, activated_at FROM route_activations
  WHERE action IN ('publish', 'rollback');
DROP TABLE route_activations;
ALTER TABLE route_activations_old RENAME TO route_activations;
CREATE INDEX route_activations_env ON route_activations (environment, id);
DELETE FROM d1_migrations WHERE name = '0002_rollout.sql';
