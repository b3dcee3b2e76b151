-- Gradual migration: traffic statistics flushed by every isolate, shadow evaluation
-- disagreements, and activations that record canary steps, promotions, aborts and shadow
-- loads with their reason. Reverse with migrations/down/0002_rollout.sql.

-- Requests per window (WINDOW_MS, 10 s) × route table version × route × upstream: isolates add
-- their counts with an upsert every few seconds. Status classes and an 11-bucket latency
-- histogram (bounds in src/stats.rs `BUCKET_BOUNDS_MS`).
CREATE TABLE traffic_stats (
  window_start INTEGER NOT NULL,               -- ms since the epoch, a multiple of the window
  version      TEXT NOT NULL,                  -- '' when no table was loaded
  route        TEXT NOT NULL,                  -- '' for unrouted requests (404/405)
  upstream     TEXT NOT NULL,                  -- '' when no upstream was chosen
  requests     INTEGER NOT NULL DEFAULT 0,
  s1xx INTEGER NOT NULL DEFAULT 0, s2xx INTEGER NOT NULL DEFAULT 0, s3xx INTEGER NOT NULL DEFAULT 0,
  s4xx INTEGER NOT NULL DEFAULT 0, s5xx INTEGER NOT NULL DEFAULT 0,
  gateway_5xx  INTEGER NOT NULL DEFAULT 0,     -- 502/503/504 the gateway answered itself
  latency_sum_ms INTEGER NOT NULL DEFAULT 0,
  h0 INTEGER NOT NULL DEFAULT 0, h1 INTEGER NOT NULL DEFAULT 0, h2 INTEGER NOT NULL DEFAULT 0,
  h3 INTEGER NOT NULL DEFAULT 0, h4 INTEGER NOT NULL DEFAULT 0, h5 INTEGER NOT NULL DEFAULT 0,
  h6 INTEGER NOT NULL DEFAULT 0, h7 INTEGER NOT NULL DEFAULT 0, h8 INTEGER NOT NULL DEFAULT 0,
  h9 INTEGER NOT NULL DEFAULT 0, h10 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (window_start, version, route, upstream)
);
CREATE INDEX traffic_stats_version ON traffic_stats (version, window_start);

-- Requests the shadow table would serve differently, per window and kind of difference, with
-- one sample request each.
CREATE TABLE shadow_diffs (
  window_start INTEGER NOT NULL,
  version      TEXT NOT NULL,                  -- the active (serving) version
  shadow       TEXT NOT NULL,                  -- the version evaluated in the shadow
  method       TEXT NOT NULL,
  route        TEXT NOT NULL,                  -- what the active table did: a route id, or 404/405
  shadow_route TEXT NOT NULL,                  -- what the shadow table would do
  kind         TEXT NOT NULL,                  -- route, upstream, path, status
  active_target TEXT NOT NULL,                 -- e.g. `orders /orders/7`
  shadow_target TEXT NOT NULL,
  sample_path  TEXT NOT NULL,                  -- a request path that showed it (first seen)
  requests     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (window_start, version, shadow, method, route, shadow_route, kind, active_target, shadow_target)
);
CREATE INDEX shadow_diffs_shadow ON shadow_diffs (shadow, window_start);

-- Activations: every transition of the active pointer, with why (SQLite cannot widen a CHECK
-- constraint in place, so the table is rebuilt).
CREATE TABLE route_activations_new (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  environment  TEXT NOT NULL,
  version      TEXT NOT NULL REFERENCES route_versions (version),
  previous     TEXT,
  action       TEXT NOT NULL CHECK (action IN ('publish', 'rollback', 'canary', 'step', 'promote',
                                               'abort', 'shadow', 'shadow_end')),
  author       TEXT NOT NULL,                  -- `gateway` for automatic transitions
  activated_at TEXT NOT NULL,
  reason       TEXT NOT NULL DEFAULT ''
);
INSERT INTO route_activations_new (id, environment, version, previous, action, author, activated_at)
  SELECT id, environment, version, previous, action, author, activated_at FROM route_activations;
DROP TABLE route_activations;
ALTER TABLE route_activations_new RENAME TO route_activations;
CREATE INDEX route_activations_env ON route_activations (environment, id);
