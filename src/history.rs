//! Route table history in D1: the row types and SQL text for versions, activations (every
//! transition of what serves, with its reason) and the shadow comparison report.
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

/// One transition of what serves (a row of `route_activations`). `previous → version` reads
/// as "traffic moves from → to"; see [`Action`] for what each names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Sequence number.
    pub id: i64,
    /// Environment.
    pub environment: String,
    /// The version the transition moves traffic (or the shadow) to.
    pub version: String,
    /// The version it moves from, if any.
    pub previous: Option<String>,
    /// What happened: one of [`Action`]'s names.
    pub action: String,
    /// Who did it ([`GATEWAY_AUTHOR`] for automatic canary transitions).
    pub author: String,
    /// When, RFC 3339 UTC.
    pub activated_at: String,
    /// Why, for people (`''` in rows older than the column).
    #[serde(default)]
    pub reason: String,
}

/// The author of transitions the gateway makes itself (canary steps, promotions, aborts).
pub const GATEWAY_AUTHOR: &str = "gateway";

/// What a transition did, and what its row's `previous → version` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new stable version: old stable → new.
    Publish,
    /// An earlier version made stable again: old stable → earlier.
    Rollback,
    /// A canary started: stable → candidate.
    Canary,
    /// The canary's share changed: stable → candidate (the reason says the share).
    Step,
    /// The candidate became stable: old stable → candidate.
    Promote,
    /// The canary was dropped: candidate → stable.
    Abort,
    /// A shadow started: previous shadow (or none) → shadow.
    Shadow,
    /// The shadow ended: shadow → stable.
    ShadowEnd,
}

impl Action {
    /// The name stored in `route_activations.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::Rollback => "rollback",
            Self::Canary => "canary",
            Self::Step => "step",
            Self::Promote => "promote",
            Self::Abort => "abort",
            Self::Shadow => "shadow",
            Self::ShadowEnd => "shadow_end",
        }
    }

    /// Whether the row's `version` is the new stable version (`routes/active`).
    pub fn sets_stable(self) -> bool {
        matches!(self, Self::Publish | Self::Rollback | Self::Promote)
    }

    /// The action stored as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Every action.
    pub const ALL: [Self; 8] = [
        Self::Publish,
        Self::Rollback,
        Self::Canary,
        Self::Step,
        Self::Promote,
        Self::Abort,
        Self::Shadow,
        Self::ShadowEnd,
    ];
}

/// The stable version per the newest activation that set it (`activations` newest first, as
/// [`SELECT_ACTIVATIONS`] returns them): canary, shadow and abort rows name other versions.
pub fn stable_version(activations: &[Activation]) -> Option<&str> {
    activations
        .iter()
        .find(|a| Action::from_name(&a.action).is_some_and(Action::sets_stable))
        .map(|a| a.version.as_str())
}

/// An activation to record, in the order of [`INSERT_ACTIVATION`]'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewActivation<'a> {
    /// Environment.
    pub environment: &'a str,
    /// See [`Action`] for what `previous → version` names.
    pub version: &'a str,
    /// See [`Action`].
    pub previous: Option<&'a str>,
    /// What happened.
    pub action: Action,
    /// Who ([`GATEWAY_AUTHOR`] for the gateway itself).
    pub author: &'a str,
    /// When, RFC 3339 UTC.
    pub activated_at: &'a str,
    /// Why, with the figures that decided it.
    pub reason: &'a str,
}

impl<'a> NewActivation<'a> {
    /// The values of `?1`…`?7` of [`INSERT_ACTIVATION`]; `None` binds NULL.
    pub fn params(&self) -> [Option<&'a str>; 7] {
        [
            Some(self.environment),
            Some(self.version),
            self.previous,
            Some(self.action.as_str()),
            Some(self.author),
            Some(self.activated_at),
            Some(self.reason),
        ]
    }
}

/// Records a version: ?1 version, ?2 checksum, ?3 environment, ?4 author, ?5 note,
/// ?6 route count, ?7 created at.
pub const INSERT_VERSION: &str = "INSERT INTO route_versions \
     (version, checksum, environment, author, note, route_count, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Records an activation: ?1 environment, ?2 version, ?3 previous, ?4 action, ?5 author,
/// ?6 activated at, ?7 reason — bind [`NewActivation::params`].
pub const INSERT_ACTIVATION: &str = "INSERT INTO route_activations \
     (environment, version, previous, action, author, activated_at, reason) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Versions of environment ?1, newest first, at most ?2.
pub const SELECT_VERSIONS: &str = "SELECT version, checksum, environment, author, note, \
     route_count, created_at FROM route_versions WHERE environment = ?1 \
     ORDER BY created_at DESC, version DESC LIMIT ?2";

/// Activations of environment ?1, newest first, at most ?2.
pub const SELECT_ACTIVATIONS: &str = "SELECT id, environment, version, previous, action, \
     author, activated_at, reason FROM route_activations WHERE environment = ?1 \
     ORDER BY id DESC LIMIT ?2";

/// The latest activation of environment ?1 that set the stable version (publish, rollback,
/// promote — see [`Action::sets_stable`]): its `version` is what `routes/active` should hold.
pub const SELECT_STABLE_ACTIVATION: &str = "SELECT id, environment, version, previous, \
     action, author, activated_at, reason FROM route_activations WHERE environment = ?1 \
     AND action IN ('publish', 'rollback', 'promote') ORDER BY id DESC LIMIT 1";

/// The latest activation of environment ?1 with action ?2.
pub const SELECT_LAST_ACTIVATION: &str = "SELECT id, environment, version, previous, action, \
     author, activated_at, reason FROM route_activations WHERE environment = ?1 \
     AND action = ?2 ORDER BY id DESC LIMIT 1";

/// One version of environment ?1 by id ?2.
pub const SELECT_VERSION: &str = "SELECT version, checksum, environment, author, note, \
     route_count, created_at FROM route_versions WHERE environment = ?1 AND version = ?2";

/// One kind of difference the shadow table showed (rows of `shadow_diffs` summed over windows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDiff {
    /// `route`, `upstream`, `path` or `status`.
    pub kind: String,
    /// The request method.
    pub method: String,
    /// What the serving table did: a route id, or 404/405.
    pub route: String,
    /// What the shadow table would have done.
    pub shadow_route: String,
    /// The serving table's target (e.g. `orders /orders/7`).
    pub active_target: String,
    /// The shadow table's target.
    pub shadow_target: String,
    /// Requests that showed it.
    pub requests: i64,
    /// The first request path that showed it.
    pub sample_path: String,
}

/// Differences of shadow version ?1 in windows starting at or after ?2 (ms since the epoch),
/// most frequent first; the sample is the earliest window's (SQLite takes a bare column from
/// the row `MIN` picked).
pub const SELECT_SHADOW_DIFFS: &str = "SELECT kind, method, route, shadow_route, \
     active_target, shadow_target, SUM(requests) AS requests, sample_path, \
     MIN(window_start) AS first_window FROM shadow_diffs \
     WHERE shadow = ?1 AND window_start >= ?2 \
     GROUP BY kind, method, route, shadow_route, active_target, shadow_target \
     ORDER BY requests DESC, kind, method, route LIMIT 200";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_match_the_schema() {
        let schema = include_str!("../migrations/0002_rollout.sql");
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.as_str()), Some(action));
            assert!(
                schema.contains(&format!("'{}'", action.as_str())),
                "{action:?}"
            );
            let in_stable_query =
                SELECT_STABLE_ACTIVATION.contains(&format!("'{}'", action.as_str()));
            assert_eq!(action.sets_stable(), in_stable_query, "{action:?}");
        }
    }

    #[test]
    fn activation_params_follow_the_statement() {
        let row = NewActivation {
            environment: "production",
            version: "V2",
            previous: None,
            action: Action::Step,
            author: GATEWAY_AUTHOR,
            activated_at: "2026-11-22T03:15:00.000Z",
            reason: "healthy",
        };
        assert_eq!(
            row.params(),
            [
                Some("production"),
                Some("V2"),
                None,
                Some("step"),
                Some("gateway"),
                Some("2026-11-22T03:15:00.000Z"),
                Some("healthy")
            ]
        );
        assert!(INSERT_ACTIVATION.contains("?7") && !INSERT_ACTIVATION.contains("?8"));
    }

    #[test]
    fn the_stable_version_skips_canary_shadow_and_abort_rows() {
        let row = |version: &str, action: &str| Activation {
            id: 0,
            environment: "local".into(),
            version: version.into(),
            previous: None,
            action: action.into(),
            author: "a".into(),
            activated_at: "t".into(),
            reason: String::new(),
        };
        let newest_first = [
            row("V1", "abort"),
            row("V3", "shadow"),
            row("V2", "step"),
            row("V2", "canary"),
            row("V1", "rollback"),
            row("V0", "publish"),
        ];
        assert_eq!(stable_version(&newest_first), Some("V1"));
        assert_eq!(stable_version(&newest_first[..4]), None);
        assert_eq!(Action::from_name("deploy"), None);
    }

    #[test]
    fn rows_without_a_reason_still_read() {
        let row = serde_json::json!({"id": 1, "environment": "local", "version": "V1",
            "previous": null, "action": "publish", "author": "a", "activated_at": "t"});
        let a: Activation = serde_json::from_value(row).unwrap();
        assert_eq!(a.reason, "");
    }
}
