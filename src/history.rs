//! Route table history in D1: the row types and SQL text for versions and activations.
//!
//! Statements use numbered parameters (`?1`). The worker binds them through D1; `gatewayctl`
//! runs them through `wrangler d1 execute`, which has no parameters, so it substitutes quoted
//! literals in one audited place (`gatewayctl::sql`).

use serde::{Deserialize, Serialize};

/// One published version (a row of `route_versions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Version id.
    pub version: String,
    /// Content checksum.
    pub checksum: String,
    /// Environment it was compiled for.
    pub environment: String,
    /// Who published it.
    pub author: String,
    /// Why.
    pub note: String,
    /// How many routes it has.
    pub route_count: i64,
    /// When, RFC 3339 UTC.
    pub created_at: String,
}

/// One switch of the active pointer (a row of `route_activations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Sequence number.
    pub id: i64,
    /// Environment.
    pub environment: String,
    /// The version made active.
    pub version: String,
    /// The version it replaced, if any.
    pub previous: Option<String>,
    /// `publish` or `rollback`.
    pub action: String,
    /// Who did it.
    pub author: String,
    /// When, RFC 3339 UTC.
    pub activated_at: String,
}

/// Records a version: ?1 version, ?2 checksum, ?3 environment, ?4 author, ?5 note,
/// ?6 route count, ?7 created at.
pub const INSERT_VERSION: &str = "INSERT INTO route_versions \
     (version, checksum, environment, author, note, route_count, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Records an activation: ?1 environment, ?2 version, ?3 previous, ?4 action, ?5 author,
/// ?6 activated at.
pub const INSERT_ACTIVATION: &str = "INSERT INTO route_activations \
     (environment, version, previous, action, author, activated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Versions of environment ?1, newest first, at most ?2.
pub const SELECT_VERSIONS: &str = "SELECT version, checksum, environment, author, note, \
     route_count, created_at FROM route_versions WHERE environment = ?1 \
     ORDER BY created_at DESC, version DESC LIMIT ?2";

/// Activations of environment ?1, newest first, at most ?2.
pub const SELECT_ACTIVATIONS: &str = "SELECT id, environment, version, previous, action, \
     author, activated_at FROM route_activations WHERE environment = ?1 \
     ORDER BY id DESC LIMIT ?2";

/// One version of environment ?1 by id ?2.
pub const SELECT_VERSION: &str = "SELECT version, checksum, environment, author, note, \
     route_count, created_at FROM route_versions WHERE environment = ?1 AND version = ?2";
