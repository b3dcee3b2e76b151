-- Route table versions (every publish), activations (publish and rollback history) and
-- health snapshots (scheduled probes). Reverse with migrations/down/0001_initial.sql.

CREATE TABLE route_versions (
  version      TEXT PRIMARY KEY,               -- e.g. 20261122T031500123Z-3f2a9c1b
  checksum     TEXT NOT NULL,                  -- hex SHA-256 of the table's content
  environment  TEXT NOT NULL,
  author       TEXT NOT NULL,
  note         TEXT NOT NULL DEFAULT '',
  route_count  INTEGER NOT NULL,
  created_at   TEXT NOT NULL                   -- RFC 3339, UTC
);
CREATE INDEX route_versions_checksum ON route_versions (environment, checksum);

CREATE TABLE route_activations (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  environment  TEXT NOT NULL,
  version      TEXT NOT NULL REFERENCES route_versions (version),
  previous     TEXT,                           -- the version it replaced, if any
  action       TEXT NOT NULL CHECK (action IN ('publish', 'rollback')),
  author       TEXT NOT NULL,
  activated_at TEXT NOT NULL
);
CREATE INDEX route_activations_env ON route_activations (environment, id);

CREATE TABLE health_snapshots (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  upstream     TEXT NOT NULL,
  origin       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
  http_status  INTEGER,                        -- NULL when no response arrived
  latency_ms   INTEGER NOT NULL,
  checked_at   INTEGER NOT NULL,               -- ms since the epoch
  detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX health_snapshots_origin ON health_snapshots (upstream, origin, checked_at);
CREATE INDEX health_snapshots_checked ON health_snapshots (checked_at);
