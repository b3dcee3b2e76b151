//! The route table store of one environment: versions, the active pointer and the release
//! pointer in KV, history in D1 — all through wrangler.

use gateway::history::{self, Action, Activation, NewActivation, ShadowDiff, VersionRecord};
use gateway::rollout::release::{Effective, Release, RELEASE_KEY};
use gateway::table::{version_key, RouteDocument, ACTIVE_KEY};

use crate::sql::{bind, Param};
use crate::wrangler::Wrangler;

/// KV and D1 for one environment.
pub struct Store {
    /// How to reach them.
    pub wrangler: Wrangler,
    /// The environment (`local`, `production`, …).
    pub env: String,
}

impl Store {
    /// The version the KV pointer names, if any.
    pub fn active(&self) -> Result<Option<String>, String> {
        Ok(self
            .wrangler
            .kv_get(ACTIVE_KEY)?
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    }

    /// What serves: `routes/active` with `routes/release` if that is current (the worker's
    /// staleness rule); `None` when nothing is published.
    pub fn release(&self) -> Result<Option<Effective>, String> {
        let Some(active) = self.active()? else {
            return Ok(None);
        };
        let release = self.wrangler.kv_get(RELEASE_KEY)?;
        Release::effective(Some(&active), release.as_deref()).map(Some)
    }

    /// Writes the release pointer (see `publish::switch_stable` for the order of writes).
    pub fn set_release(&self, release: &Release) -> Result<(), String> {
        self.wrangler.kv_put(RELEASE_KEY, &release.to_json())
    }

    /// The document stored for `version`, if any (parsed, not yet validated).
    pub fn document(&self, version: &str) -> Result<Option<RouteDocument>, String> {
        let key = version_key(version);
        match self.wrangler.kv_get(&key)? {
            None => Ok(None),
            Some(text) => RouteDocument::from_json(&text)
                .map(Some)
                .map_err(|e| format!("{key} in KV is not a route document: {e}")),
        }
    }

    /// Uploads a version's document (its key is never reused).
    pub fn put_document(&self, doc: &RouteDocument) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("gatewayctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = dir.join("document.json");
        let written = std::fs::write(&file, doc.to_json())
            .map_err(|e| format!("{}: {e}", file.display()))
            .and_then(|()| self.wrangler.kv_put_file(&version_key(&doc.version), &file));
        let _ = std::fs::remove_dir_all(&dir);
        written
    }

    /// Points the gateway at `version`.
    pub fn set_active(&self, version: &str) -> Result<(), String> {
        self.wrangler.kv_put(ACTIVE_KEY, version)
    }

    /// Records a new version (if any) and activations, in one D1 call.
    pub fn record(
        &self,
        version: Option<&VersionRecord>,
        activations: &[NewActivation<'_>],
    ) -> Result<(), String> {
        let mut statements = Vec::new();
        if let Some(r) = version {
            statements.push(bind(
                history::INSERT_VERSION,
                &[
                    Param::Text(&r.version),
                    Param::Text(&r.checksum),
                    Param::Text(&r.environment),
                    Param::Text(&r.author),
                    Param::Text(&r.note),
                    Param::Int(r.route_count),
                    Param::Text(&r.created_at),
                ],
            )?);
        }
        for a in activations {
            let params = a.params().map(|p| p.map_or(Param::Null, Param::Text));
            statements.push(bind(history::INSERT_ACTIVATION, &params)?);
        }
        if statements.is_empty() {
            return Ok(());
        }
        self.wrangler.d1(&statements.join("; ")).map(drop)
    }

    /// Versions, newest first.
    pub fn versions(&self, limit: i64) -> Result<Vec<VersionRecord>, String> {
        self.rows(
            history::SELECT_VERSIONS,
            &[Param::Text(&self.env), Param::Int(limit)],
        )
    }

    /// One version's record.
    pub fn version(&self, version: &str) -> Result<Option<VersionRecord>, String> {
        let rows = self.rows(
            history::SELECT_VERSION,
            &[Param::Text(&self.env), Param::Text(version)],
        )?;
        Ok(rows.into_iter().next())
    }

    /// Activations, newest first.
    pub fn activations(&self, limit: i64) -> Result<Vec<Activation>, String> {
        self.rows(
            history::SELECT_ACTIVATIONS,
            &[Param::Text(&self.env), Param::Int(limit)],
        )
    }

    /// The latest activation that set the stable version.
    pub fn stable_activation(&self) -> Result<Option<Activation>, String> {
        let rows = self.rows(history::SELECT_STABLE_ACTIVATION, &[Param::Text(&self.env)])?;
        Ok(rows.into_iter().next())
    }

    /// The latest activation with `action`.
    pub fn last_activation(&self, action: Action) -> Result<Option<Activation>, String> {
        let rows = self.rows(
            history::SELECT_LAST_ACTIVATION,
            &[Param::Text(&self.env), Param::Text(action.as_str())],
        )?;
        Ok(rows.into_iter().next())
    }

    /// What shadow `version` showed in windows starting at or after `since_ms`.
    pub fn shadow_diffs(&self, version: &str, since_ms: i64) -> Result<Vec<ShadowDiff>, String> {
        self.rows(
            history::SELECT_SHADOW_DIFFS,
            &[Param::Text(version), Param::Int(since_ms)],
        )
    }

    fn rows<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<T>, String> {
        self.wrangler
            .d1(&bind(sql, params)?)?
            .into_iter()
            .map(|row| serde_json::from_value(row).map_err(|e| format!("unexpected D1 row: {e}")))
            .collect()
    }
}
