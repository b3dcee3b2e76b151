-- Reverses migrations/0001_initial.sql. Apply with:
--   npx wrangler d1 execute edge-gateway --local --file migrations/down/0001_initial.sql
-- then delete its row from d1_migrations (the README shows the full command).
DROP TABLE IF EXISTS health_snapshots;
DROP TABLE IF EXISTS route_activations;
DROP TABLE IF EXISTS route_versions;
DELETE FROM d1_migrations WHERE name = '0001_initial.sql';
